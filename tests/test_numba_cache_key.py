"""benchmarks/_numba_cache.py: a commit is never timed with another commit's cached code."""

import os
import subprocess
import sys
from pathlib import Path

from benchmarks import _numba_cache

KERN = ("import numba\nfrom .helper import scale\n\n"
        "@numba.njit(cache=True)\ndef run(x):\n    return scale(x) + 1\n")


def make_pkg(site: Path, factor: int) -> Path:
    pkg = site / "pkg"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "kern.py").write_text(KERN)
    (pkg / "helper.py").write_text(
        f"import numba\n\n@numba.njit(cache=True)\ndef scale(x):\n    return x * {factor}\n")
    return pkg


def run_kernel(site: Path, cache: str | None) -> int:
    """``run(10)`` in a fresh interpreter, numba's cache where ``cache`` says."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    code = "import sys; sys.path.insert(0, sys.argv[1]); from pkg.kern import run; print(run(10))"
    return int(subprocess.run([sys.executable, "-c", code, str(site)], env=env, check=True,
                              capture_output=True, text=True).stdout)


def test_digest_covers_every_file(tmp_path):
    a, b = make_pkg(tmp_path / "a", 2), make_pkg(tmp_path / "b", 2)
    assert _numba_cache.source_digest(a) == _numba_cache.source_digest(b)
    c = make_pkg(tmp_path / "c", 3)
    assert _numba_cache.source_digest(c) != _numba_cache.source_digest(a)
    (b / "extra.py").write_text("")
    assert _numba_cache.source_digest(b) != _numba_cache.source_digest(a)


def test_numba_alone_serves_stale_code_and_the_keyed_cache_does_not(tmp_path):
    site = tmp_path / "site"
    pkg = make_pkg(site, 2)
    assert run_kernel(site, None) == 21
    make_pkg(site, 3)  # "the next commit": only the callee's module changed
    # numba's own check hashes kern.py alone, so the old machine code comes back
    assert run_kernel(site, None) == 21
    # keyed by the whole package, the next commit compiles afresh
    base = tmp_path / "keyed"
    make_pkg(site, 2)
    assert run_kernel(site, str(base / _numba_cache.source_digest(pkg)[:16])) == 21
    make_pkg(site, 3)
    keyed = base / _numba_cache.source_digest(pkg)[:16]
    assert not keyed.exists()
    assert run_kernel(site, str(keyed)) == 31


def test_cache_dir_names_the_installed_engine(tmp_path):
    where = _numba_cache.cache_dir(base=tmp_path)
    import engine

    root = Path(engine.__file__).parent
    assert where == tmp_path / f"engine-{_numba_cache.source_digest(root)[:16]}"
    assert _numba_cache.cache_dir("no_such_package_xyz", base=tmp_path) is None
