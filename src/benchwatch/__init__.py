"""benchwatch: continuous benchmarking around asv."""

__version__ = "0.1.0"
