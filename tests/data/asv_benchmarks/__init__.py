"""Fixture asv benchmark directory for tests/test_suite_config.py."""
