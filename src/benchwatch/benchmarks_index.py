"""Static discovery of asv benchmark names, without running asv.

The suite config's ``select`` regexes are checked against these names, so a typo in a
config is caught before a runner spends an hour on an empty selection.

Discovery follows asv's own rules: the benchmark directory is imported as a package
(its parent goes on ``sys.path``), every module below it is imported by its dotted name,
and module-level functions and class methods whose names start with one of asv's
prefixes are benchmarks, named ``module.Class.method`` relative to the directory.

This module imports benchmark modules (their top-level code runs) but never calls a
``setup`` or a benchmark, and never imports asv. What the imports change in
``sys.path``, ``sys.modules`` and ``os.environ`` is undone afterwards: a benchmark
package may set variables such as ``NUMBA_NRT_STATS`` for its own runs.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from .errors import UserError

ASV_PREFIXES = ("time_", "timeraw_", "track_", "mem_", "peakmem_")


def discover(benchmark_dir: Path) -> list[str]:
    """The sorted asv benchmark names defined under ``benchmark_dir``.

    Raises ``UserError`` naming the module file (and line, when known) if a module
    cannot be imported.
    """
    shown = Path(benchmark_dir)
    root = shown.resolve()
    if not root.is_dir():
        raise UserError("benchmark directory not found", path=str(shown))
    package = root.name
    if not package.isidentifier():
        raise UserError(
            f"benchmark directory name {package!r} is not a Python identifier; "
            "asv imports it as a package", path=str(shown))

    names: list[str] = []
    with importable(root):
        for relname in _module_names(root):
            module = _import(package, relname, shown)
            names.extend(_benchmarks_in(module, relname))
    return sorted(set(names))


@contextlib.contextmanager
def importable(benchmark_dir: Path) -> Iterator[str]:
    """Make the benchmark directory importable as asv imports it (its parent on
    ``sys.path``), yield its package name, and undo afterwards what the imports changed
    in ``sys.path``, ``sys.modules`` and ``os.environ``.

    Another directory with the same basename (say, a test fixture named like the real
    one) may already be imported; it is set aside so each use sees its own files, and
    put back at the end.
    """
    root = Path(benchmark_dir).resolve()
    package = root.name
    saved = _pop_package(package)
    saved_environ = dict(os.environ)
    sys.path.insert(0, str(root.parent))
    importlib.invalidate_caches()
    try:
        yield package
    finally:
        try:
            sys.path.remove(str(root.parent))
        except ValueError:  # pragma: no cover - a benchmark module edited sys.path
            pass
        _pop_package(package)
        sys.modules.update(saved)
        _restore_environ(saved_environ)


def _pop_package(package: str) -> dict[str, ModuleType]:
    popped = {}
    for name in list(sys.modules):
        if name == package or name.startswith(package + "."):
            popped[name] = sys.modules.pop(name)
    return popped


def _restore_environ(saved: dict[str, str]) -> None:
    for name in set(os.environ) - set(saved):
        del os.environ[name]
    for name, value in saved.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def _module_names(root: Path) -> list[str]:
    """Dotted module names relative to ``root``; subpackages need an ``__init__.py``."""
    names = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if path.name == "__init__.py" or "__pycache__" in rel.parts:
            continue
        parents = rel.parts[:-1]
        if any(not (root.joinpath(*parents[: i + 1]) / "__init__.py").is_file()
               for i in range(len(parents))):
            continue
        names.append(".".join(rel.with_suffix("").parts))
    return names


def _import(package: str, relname: str, shown_root: Path) -> ModuleType:
    module_file = shown_root.joinpath(*relname.split(".")).with_suffix(".py")
    try:
        return importlib.import_module(f"{package}.{relname}")
    except SyntaxError as exc:
        where = f"{module_file}:{exc.lineno}:{exc.offset}" if exc.lineno else str(module_file)
        raise UserError(f"{where}: cannot import benchmark module {relname!r}: "
                        f"SyntaxError: {exc.msg}") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of user code
        line = _line_in(exc, module_file)
        raise UserError(
            f"cannot import benchmark module {relname!r}: {type(exc).__name__}: {exc}",
            path=str(module_file), line=line) from None


def _line_in(exc: BaseException, module_file: Path) -> int | None:
    """The deepest traceback line inside the benchmark module itself, if any."""
    target = module_file.resolve()
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            if Path(frame.filename).resolve() == target:
                line = frame.lineno
        except OSError:  # pragma: no cover - frames from odd loaders
            continue
    return line


def _benchmarks_in(module: ModuleType, relname: str) -> Iterator[str]:
    for attr, value in vars(module).items():
        if attr.startswith("_"):
            continue
        if inspect.isclass(value):
            if inspect.isabstract(value):
                continue
            for name, member in inspect.getmembers(value):
                if name.startswith(ASV_PREFIXES) and (
                        inspect.isfunction(member) or inspect.ismethod(member)):
                    yield f"{relname}.{attr}.{name}"
        elif inspect.isfunction(value) and attr.startswith(ASV_PREFIXES):
            yield f"{relname}.{attr}"
