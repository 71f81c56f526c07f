"""Benchmark suite configs: loading, validation, and merging into one resolved suite.

``configs/suites.yaml`` holds versioned benchmark suites (``"name:version"``), runner
environments, default parameters and gate thresholds; ``site/configs.md`` documents the
format. This module turns that file into frozen dataclasses and resolves one suite for
one environment (defaults <- entry parameters <- environment overrides).

Every problem is reported as ``path:line:column: message`` (1-based), all of them at
once, sorted by position. This module never runs asv or a benchmark; checking ``select``
regexes against real benchmark names is done with names from ``benchmarks_index``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import UserError

CATEGORIES = ("Allocation", "NeuralNetwork", "MemoryManagement", "Concurrency", "EndToEnd")
MIN_SAMPLE_SIZE = 10
MIN_LATENCY_NS = 1_000  # below 1 us a p99 threshold is timer noise, not a target

_SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class ConfigError(UserError):
    """All problems found in one config file, one ``path:line:col: message`` each."""

    def __init__(self, errors: Sequence[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Parameters:
    """Benchmark parameters; ``None`` means "not set at this layer"."""

    input_sizes: tuple[int, ...] | None = None
    batch_sizes: tuple[int, ...] | None = None
    concurrency_levels: tuple[int, ...] | None = None
    iteration_counts: tuple[int, ...] | None = None
    warm_up_iterations: int | None = None
    sample_size: int | None = None
    timeout_seconds: float | None = None

    def merged(self, override: Parameters | None) -> Parameters:
        """These parameters with every field that ``override`` sets replaced."""
        if override is None:
            return self
        return Parameters(**{
            f.name: getattr(override, f.name) if getattr(override, f.name) is not None
            else getattr(self, f.name)
            for f in fields(self)
        })

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class SuccessCriteria:
    """SLA thresholds: latency in ns, throughput in ops/s, memory in bytes, CPU in %."""

    max_latency_p50: int | None = None
    max_latency_p95: int | None = None
    max_latency_p99: int | None = None
    min_throughput: float | None = None
    max_memory_usage: int | None = None
    max_cpu_usage: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class BenchmarkEntry:
    name: str
    category: str
    select: str  # regex, re.search semantics over asv names (like ``asv run --bench``)
    description: str | None = None
    parameters: Parameters = Parameters()
    success_criteria: SuccessCriteria = SuccessCriteria()


@dataclass(frozen=True)
class Suite:
    name: str
    version: str
    description: str | None
    benchmarks: tuple[BenchmarkEntry, ...]

    @property
    def key(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class ResourceConstraints:
    max_memory_gb: float | None = None
    max_cpu_cores: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class Environment:
    name: str
    description: str | None = None
    resource_constraints: ResourceConstraints = ResourceConstraints()
    # (benchmark entry name, parameters it overrides), in file order
    parameter_overrides: tuple[tuple[str, Parameters], ...] = ()

    def override_for(self, entry_name: str) -> Parameters | None:
        for name, params in self.parameter_overrides:
            if name == entry_name:
                return params
        return None


@dataclass(frozen=True)
class Gates:
    """Regression thresholds in percent; ``min_success_rate`` is a fraction in [0, 1]."""

    latency_regression_pct: float = 10.0
    throughput_regression_pct: float = 10.0
    memory_regression_pct: float = 20.0
    min_success_rate: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class SuiteFile:
    path: Path
    suites: tuple[Suite, ...]
    environments: tuple[Environment, ...]
    default_parameters: Parameters
    gates: Gates

    def versions(self, name: str) -> list[str]:
        """The versions of suite ``name``, oldest first."""
        return sorted((s.version for s in self.suites if s.name == name), key=_semver_key)


@dataclass(frozen=True)
class ResolvedBenchmark:
    name: str
    category: str
    select: str
    description: str | None
    parameters: Parameters
    success_criteria: SuccessCriteria


@dataclass(frozen=True)
class ResolvedSuite:
    """One suite version, merged for one environment (or none): what a runner executes."""

    name: str
    version: str
    description: str | None
    environment: str | None
    resource_constraints: ResourceConstraints | None
    gates: Gates
    benchmarks: tuple[ResolvedBenchmark, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML types only; ``config show`` prints exactly this."""
        return {
            "suite": self.name,
            "version": self.version,
            "description": self.description,
            "environment": self.environment,
            "resource_constraints": (self.resource_constraints.to_dict()
                                     if self.resource_constraints else None),
            "gates": self.gates.to_dict(),
            "benchmarks": [
                {
                    "name": b.name,
                    "category": b.category,
                    "select": b.select,
                    "description": b.description,
                    "parameters": b.parameters.to_dict(),
                    "success_criteria": b.success_criteria.to_dict(),
                }
                for b in self.benchmarks
            ],
        }


def _plain(obj: Any) -> dict[str, Any]:
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if value is not None:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def _semver_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


# --------------------------------------------------------------------------- resolve


def resolve(suite_file: SuiteFile, spec: str, env: str | None = None) -> ResolvedSuite:
    """Suite ``"name[:version]"`` (latest version if omitted), merged for ``env``."""
    name, _, version = spec.partition(":")
    available = sorted({s.name for s in suite_file.suites})
    if name not in available:
        raise UserError(f"unknown suite {name!r}; available: {', '.join(available) or 'none'}",
                        path=str(suite_file.path))
    versions = suite_file.versions(name)
    if not version:
        version = versions[-1]
    elif version not in versions:
        raise UserError(f"suite {name!r} has no version {version!r}; "
                        f"available: {', '.join(versions)}", path=str(suite_file.path))
    suite = next(s for s in suite_file.suites if s.name == name and s.version == version)

    environment = None
    if env is not None:
        names = [e.name for e in suite_file.environments]
        if env not in names:
            raise UserError(f"unknown environment {env!r}; available: "
                            f"{', '.join(names) or 'none'}", path=str(suite_file.path))
        environment = suite_file.environments[names.index(env)]

    benchmarks = []
    for entry in suite.benchmarks:
        params = suite_file.default_parameters.merged(entry.parameters)
        if environment is not None:
            params = params.merged(environment.override_for(entry.name))
        benchmarks.append(ResolvedBenchmark(entry.name, entry.category, entry.select,
                                            entry.description, params,
                                            entry.success_criteria))
    return ResolvedSuite(
        name=suite.name, version=suite.version, description=suite.description,
        environment=env,
        resource_constraints=environment.resource_constraints if environment else None,
        gates=suite_file.gates, benchmarks=tuple(benchmarks))


# --------------------------------------------------------------------------- load


def load(path: Path | str, benchmark_names: Iterable[str] | None = None, *,
         names_from: str | None = None) -> SuiteFile:
    """Read and validate a suite config file.

    With ``benchmark_names`` (from ``benchmarks_index.discover``) every ``select`` must
    match at least one of them; ``names_from`` (say, the benchmark directory) is named in
    that message. Raises ``ConfigError`` listing every problem found.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError("config file not found", path=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read config file: {exc.strerror}", path=str(path)) from None
    v = _Validator(str(path), None if benchmark_names is None else list(benchmark_names),
                   names_from)
    text = v.decode(raw)
    if text is not None:
        v.check_tabs(text)
    if v.errors:
        raise ConfigError(v.sorted_errors())
    data = v.parse(text)
    if v.errors:
        raise ConfigError(v.sorted_errors())
    result = v.top(data, path)
    if v.errors:
        raise ConfigError(v.sorted_errors())
    assert result is not None
    return result


_Pos = tuple[int, int]


class _Validator:
    """Walks the ruamel round-trip tree, collecting located errors."""

    def __init__(self, path: str, benchmark_names: list[str] | None, names_from: str | None):
        self.path = path
        self.benchmark_names = benchmark_names
        self.names_from = f" in {names_from}" if names_from else ""
        self.errors: list[tuple[_Pos, int, str]] = []

    # ---- plumbing

    def err(self, pos: _Pos, message: str) -> None:
        self.errors.append((pos, len(self.errors), message))

    def sorted_errors(self) -> list[str]:
        return [f"{self.path}:{line}:{col}: {msg}"
                for (line, col), _, msg in sorted(self.errors)]

    def decode(self, raw: bytes) -> str | None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            self.err((line, col), f"file is not UTF-8 (byte 0x{raw[exc.start]:02x}); "
                                  "save it as UTF-8")
            return None
        return text.removeprefix("\ufeff")

    def check_tabs(self, text: str) -> None:
        for lineno, line in enumerate(text.splitlines(), 1):
            col = line.find("\t")
            if col >= 0:
                self.err((lineno, col + 1), "tab character; indent and separate with spaces")

    def parse(self, text: str) -> Any:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import MarkedYAMLError

        from .yamlguard import alias_bomb, flow_too_deep, unmarked_error

        bomb = flow_too_deep(text) or alias_bomb(text)
        if bomb is not None:
            self.err((bomb[0], 1), bomb[1])
            return None
        try:
            return YAML(typ="rt", pure=True).load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            pos = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            problem = exc.problem or exc.context or "invalid YAML"
            if type(exc).__name__ == "DuplicateKeyError":
                problem = problem.replace('found duplicate key "', "duplicate key '")
                problem = re.sub(r'" with value .*$', "'", problem)
                if exc.context_mark is not None:
                    problem += f" (first defined on line {exc.context_mark.line + 1})"
            self.err(pos, f"YAML: {problem}")
        except Exception as exc:  # noqa: BLE001 - ruamel raises unmarked kinds; none may escape
            line, problem = unmarked_error(exc, text)
            self.err((line, 1), f"YAML: {problem}")
        return None

    @staticmethod
    def key_pos(node: Any, key: Any) -> _Pos:
        try:
            line, col = node.lc.key(key)
            return line + 1, col + 1
        except (KeyError, IndexError, TypeError, AttributeError):
            # merged (<<) keys carry no position of their own
            return _Validator.node_pos(node)

    @staticmethod
    def value_pos(node: Any, key: Any) -> _Pos:
        try:
            if isinstance(key, int) and not isinstance(node, dict):
                line, col = node.lc.item(key)
            else:
                line, col = node.lc.value(key)
            return line + 1, col + 1
        except (KeyError, IndexError, TypeError, AttributeError):
            return _Validator.node_pos(node)

    @staticmethod
    def node_pos(node: Any) -> _Pos:
        lc = getattr(node, "lc", None)
        if lc is not None and lc.line is not None:
            return lc.line + 1, lc.col + 1
        return 1, 1

    # ---- typed accessors; each returns None after recording an error

    def mapping(self, value: Any, pos: _Pos, where: str) -> dict | None:
        if isinstance(value, dict):
            return value
        self.err(pos, f"{where}: expected a mapping, got {_kind(value)}")
        return None

    def keys(self, node: dict, where: str, allowed: Sequence[str],
             required: Sequence[str] = ()) -> None:
        for key in node:
            if not isinstance(key, str):
                self.err(self.key_pos(node, key), f"{where}: keys must be strings, got "
                                                  f"{_kind(key)} {key!r}")
            elif key not in allowed:
                self.err(self.key_pos(node, key),
                         f"{where}: unknown key {key!r}; expected one of: "
                         f"{', '.join(allowed)}")
        for key in required:
            if key not in node:
                self.err(self.node_pos(node), f"{where}: missing required key {key!r}")

    def string(self, node: dict, key: str, where: str) -> str | None:
        value = node[key]
        if isinstance(value, str):
            return str(value)
        self.err(self.value_pos(node, key), f"{where}: expected a string, got {_kind(value)}")
        return None

    def integer(self, node: dict, key: str, where: str, minimum: int) -> int | None:
        value = node[key]
        pos = self.value_pos(node, key)
        if not isinstance(value, int) or isinstance(value, bool):
            self.err(pos, f"{where}: expected an integer, got {_kind(value)}")
            return None
        if value < minimum:
            self.err(pos, f"{where}: must be at least {minimum}, got {value}")
            return None
        return int(value)

    def number(self, node: dict, key: str, where: str, *, low: float = 0.0,
               high: float | None = None, low_inclusive: bool = False) -> float | None:
        value = node[key]
        pos = self.value_pos(node, key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            self.err(pos, f"{where}: expected a number, got {_kind(value)}")
            return None
        value = float(value)
        if not math.isfinite(value):
            self.err(pos, f"{where}: must be a finite number, got {value}")
            return None
        too_low = value < low if low_inclusive else value <= low
        if too_low or (high is not None and value > high):
            bound = f"{'at least' if low_inclusive else 'greater than'} {low:g}"
            if high is not None:
                bound += f" and at most {high:g}"
            self.err(pos, f"{where}: must be {bound}, got {value:g}")
            return None
        return value

    def int_list(self, node: dict, key: str, where: str) -> tuple[int, ...] | None:
        value = node[key]
        pos = self.value_pos(node, key)
        if not isinstance(value, list):
            self.err(pos, f"{where}: expected a list of integers, got {_kind(value)}")
            return None
        if not value:
            self.err(pos, f"{where}: must not be empty")
            return None
        ok = True
        for i, item in enumerate(value):
            if not isinstance(item, int) or isinstance(item, bool) or item < 1:
                self.err(self.value_pos(value, i),
                         f"{where}[{i}]: expected a positive integer, got {item!r}")
                ok = False
        return tuple(int(item) for item in value) if ok else None

    # ---- the schema

    def top(self, data: Any, path: Path) -> SuiteFile | None:
        if data is None:
            self.err((1, 1), "config file is empty; expected a mapping with 'configs'")
            return None
        root = self.mapping(data, self.node_pos(data), "top level")
        if root is None:
            return None
        self.keys(root, "top level",
                  ("configs", "environments", "default_parameters", "gates"), ("configs",))

        suites: list[Suite] = []
        if "configs" in root:
            configs = self.mapping(root["configs"], self.value_pos(root, "configs"), "configs")
            if configs is not None:
                if not configs:
                    self.err(self.value_pos(root, "configs"), "configs: no suites defined")
                for key in configs:
                    suite = self.suite(configs, key)
                    if suite is not None:
                        suites.append(suite)

        default_parameters = Parameters()
        if "default_parameters" in root:
            default_parameters = self.parameters(root, "default_parameters",
                                                 "default_parameters") or Parameters()

        gates = Gates()
        if "gates" in root:
            gates = self.gates(root) or Gates()

        entry_names = {b.name for s in suites for b in s.benchmarks}
        environments: list[Environment] = []
        if "environments" in root:
            envs = self.mapping(root["environments"], self.value_pos(root, "environments"),
                                "environments")
            for name in envs or ():
                env = self.environment(envs, name, entry_names)
                if env is not None:
                    environments.append(env)

        return SuiteFile(path=path, suites=tuple(suites), environments=tuple(environments),
                         default_parameters=default_parameters, gates=gates)

    def suite(self, configs: dict, key: Any) -> Suite | None:
        where = f"configs[{key!r}]"
        if not isinstance(key, str):
            self.err(self.key_pos(configs, key), f"{where}: suite keys must be strings "
                                                 "'name:version'")
            return None
        node = self.mapping(configs[key], self.value_pos(configs, key), where)
        if node is None:
            return None
        self.keys(node, where, ("name", "version", "description", "benchmarks"),
                  ("name", "version", "benchmarks"))
        name = version = description = None
        if "name" in node:
            name = self.string(node, "name", f"{where}.name")
            if name is not None and not _NAME.fullmatch(name):
                self.err(self.value_pos(node, "name"),
                         f"{where}.name: {name!r} is not a valid suite name (letters, digits, "
                         "'_', '.', '-'; no ':')")
                name = None
        if "version" in node:
            version = self.semver(node, "version", f"{where}.version")
        if "description" in node:
            description = self.string(node, "description", f"{where}.description")
        if name is not None and version is not None and key != f"{name}:{version}":
            self.err(self.key_pos(configs, key),
                     f"{where}: key does not match its fields; expected "
                     f"'{name}:{version}' from name {name!r} and version {version!r}")
        entries = self.entries(node, where) if "benchmarks" in node else None
        if name is None or version is None or entries is None:
            return None
        return Suite(name=name, version=version, description=description, benchmarks=entries)

    def semver(self, node: dict, key: str, where: str) -> str | None:
        value = node[key]
        pos = self.value_pos(node, key)
        if not isinstance(value, str):
            self.err(pos, f"{where}: expected a version string like \"1.0.0\" (quote it), "
                          f"got {_kind(value)}")
            return None
        if not _SEMVER.fullmatch(value):
            self.err(pos, f"{where}: {str(value)!r} is not a semantic version "
                          "MAJOR.MINOR.PATCH, like \"1.0.0\"")
            return None
        return str(value)

    def entries(self, suite: dict, where: str) -> tuple[BenchmarkEntry, ...] | None:
        value = suite["benchmarks"]
        pos = self.value_pos(suite, "benchmarks")
        where = f"{where}.benchmarks"
        if not isinstance(value, list):
            self.err(pos, f"{where}: expected a list of benchmark entries, got {_kind(value)}")
            return None
        if not value:
            self.err(pos, f"{where}: must list at least one benchmark entry")
            return None
        out: list[BenchmarkEntry] = []
        seen: dict[str, int] = {}
        ok = True
        for i, item in enumerate(value):
            entry = self.entry(value, i, f"{where}[{i}]")
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name in seen:
                self.err(self.value_pos(item, "name"),
                         f"{where}[{i}].name: duplicate entry name {name!r} "
                         f"(also {where}[{seen[name]}])")
                ok = False
            elif isinstance(name, str):
                seen[name] = i
            if entry is None:
                ok = False
            else:
                out.append(entry)
        return tuple(out) if ok else None

    def entry(self, seq: list, index: int, where: str) -> BenchmarkEntry | None:
        node = self.mapping(seq[index], self.value_pos(seq, index), where)
        if node is None:
            return None
        self.keys(node, where, ("name", "category", "select", "description", "parameters",
                                "success_criteria"), ("name", "category", "select"))
        name = category = select = description = None
        if "name" in node:
            name = self.string(node, "name", f"{where}.name")
            if name is not None and not _NAME.fullmatch(name):
                self.err(self.value_pos(node, "name"),
                         f"{where}.name: {name!r} is not a valid entry name (letters, digits, "
                         "'_', '.', '-')")
                name = None
        if "category" in node:
            category = self.string(node, "category", f"{where}.category")
            if category is not None and category not in CATEGORIES:
                self.err(self.value_pos(node, "category"),
                         f"{where}.category: unknown category {category!r}; expected one of: "
                         f"{', '.join(CATEGORIES)}")
                category = None
        if "select" in node:
            select = self.select(node, f"{where}.select")
        if "description" in node:
            description = self.string(node, "description", f"{where}.description")
        parameters: Parameters | None = Parameters()
        if "parameters" in node:
            parameters = self.parameters(node, "parameters", f"{where}.parameters")
        criteria: SuccessCriteria | None = SuccessCriteria()
        if "success_criteria" in node:
            criteria = self.success_criteria(node, f"{where}.success_criteria")
        if None in (name, category, select, parameters, criteria):
            return None
        return BenchmarkEntry(name=name, category=category, select=select,  # type: ignore[arg-type]
                              description=description, parameters=parameters,  # type: ignore[arg-type]
                              success_criteria=criteria)  # type: ignore[arg-type]

    def select(self, node: dict, where: str) -> str | None:
        pattern = self.string(node, "select", where)
        if pattern is None:
            return None
        pos = self.value_pos(node, "select")
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            self.err(pos, f"{where}: invalid regular expression {pattern!r}: {exc}")
            return None
        if self.benchmark_names is not None and not any(
                regex.search(name) for name in self.benchmark_names):
            self.err(pos, f"{where}: {pattern!r} matches none of the "
                          f"{len(self.benchmark_names)} asv benchmarks found{self.names_from}")
            return None
        return pattern

    def parameters(self, parent: dict, key: str, where: str) -> Parameters | None:
        node = self.mapping(parent[key], self.value_pos(parent, key), where)
        if node is None:
            return None
        lists = ("input_sizes", "batch_sizes", "concurrency_levels", "iteration_counts")
        scalars = ("warm_up_iterations", "sample_size", "timeout_seconds")
        self.keys(node, where, lists + scalars)
        values: dict[str, Any] = {}
        ok = True
        for name in lists:
            if name in node:
                values[name] = self.int_list(node, name, f"{where}.{name}")
                ok &= values[name] is not None
        if "warm_up_iterations" in node:
            values["warm_up_iterations"] = self.integer(node, "warm_up_iterations",
                                                        f"{where}.warm_up_iterations", 0)
            ok &= values["warm_up_iterations"] is not None
        if "sample_size" in node:
            values["sample_size"] = self.integer(node, "sample_size", f"{where}.sample_size",
                                                 MIN_SAMPLE_SIZE)
            ok &= values["sample_size"] is not None
        if "timeout_seconds" in node:
            values["timeout_seconds"] = self.number(node, "timeout_seconds",
                                                    f"{where}.timeout_seconds")
            ok &= values["timeout_seconds"] is not None
        ok &= all(isinstance(k, str) and k in lists + scalars for k in node)
        return Parameters(**values) if ok else None

    def success_criteria(self, parent: dict, where: str) -> SuccessCriteria | None:
        node = self.mapping(parent["success_criteria"],
                            self.value_pos(parent, "success_criteria"), where)
        if node is None:
            return None
        latencies = ("max_latency_p50", "max_latency_p95", "max_latency_p99")
        allowed = latencies + ("min_throughput", "max_memory_usage", "max_cpu_usage")
        self.keys(node, where, allowed)
        values: dict[str, Any] = {}
        for name in latencies:
            if name in node:
                value = node[name]
                if isinstance(value, int) and not isinstance(value, bool) \
                        and 0 <= value < MIN_LATENCY_NS:
                    self.err(self.value_pos(node, name),
                             f"{where}.{name}: {value} ns is below 1 us ({MIN_LATENCY_NS} ns); "
                             "latency thresholds are in nanoseconds")
                    values[name] = None
                else:
                    values[name] = self.integer(node, name, f"{where}.{name}", MIN_LATENCY_NS)
        if "min_throughput" in node:
            values["min_throughput"] = self.number(node, "min_throughput",
                                                   f"{where}.min_throughput")
        if "max_memory_usage" in node:
            values["max_memory_usage"] = self.integer(node, "max_memory_usage",
                                                      f"{where}.max_memory_usage", 1)
        if "max_cpu_usage" in node:
            values["max_cpu_usage"] = self.number(node, "max_cpu_usage",
                                                  f"{where}.max_cpu_usage", high=100.0)
        if any(v is None for v in values.values()) or any(
                not isinstance(k, str) or k not in allowed for k in node):
            return None
        return SuccessCriteria(**values)

    def gates(self, root: dict) -> Gates | None:
        node = self.mapping(root["gates"], self.value_pos(root, "gates"), "gates")
        if node is None:
            return None
        pcts = ("latency_regression_pct", "throughput_regression_pct", "memory_regression_pct")
        self.keys(node, "gates", pcts + ("min_success_rate",))
        values: dict[str, Any] = {}
        for name in pcts:
            if name in node:
                values[name] = self.number(node, name, f"gates.{name}")
        if "min_success_rate" in node:
            values["min_success_rate"] = self.number(node, "min_success_rate",
                                                     "gates.min_success_rate", high=1.0,
                                                     low_inclusive=True)
        if any(v is None for v in values.values()):
            return None
        return Gates(**values)

    def environment(self, envs: dict, name: Any, entry_names: set[str]) -> Environment | None:
        where = f"environments[{name!r}]"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            self.err(self.key_pos(envs, name),
                     f"{where}: environment names are strings of letters, digits, '_', '.', '-'")
            return None
        node = self.mapping(envs[name], self.value_pos(envs, name), where)
        if node is None:
            return None
        self.keys(node, where, ("description", "resource_constraints", "parameter_overrides"))
        description = None
        if "description" in node:
            description = self.string(node, "description", f"{where}.description")
        constraints: ResourceConstraints | None = ResourceConstraints()
        if "resource_constraints" in node:
            constraints = self.constraints(node, f"{where}.resource_constraints")
        overrides: list[tuple[str, Parameters]] = []
        ok = constraints is not None
        if "parameter_overrides" in node:
            o_where = f"{where}.parameter_overrides"
            onode = self.mapping(node["parameter_overrides"],
                                 self.value_pos(node, "parameter_overrides"), o_where)
            ok &= onode is not None
            for entry in onode or ():
                if not isinstance(entry, str) or entry not in entry_names:
                    known = ", ".join(sorted(entry_names)) or "none"
                    self.err(self.key_pos(onode, entry),
                             f"{o_where}: no benchmark entry named {entry!r} in any suite; "
                             f"known entries: {known}")
                    ok = False
                    continue
                params = self.parameters(onode, entry, f"{o_where}[{entry!r}]")
                if params is None:
                    ok = False
                else:
                    overrides.append((entry, params))
        if not ok:
            return None
        return Environment(name=str(name), description=description,
                           resource_constraints=constraints,  # type: ignore[arg-type]
                           parameter_overrides=tuple(overrides))

    def constraints(self, parent: dict, where: str) -> ResourceConstraints | None:
        node = self.mapping(parent["resource_constraints"],
                            self.value_pos(parent, "resource_constraints"), where)
        if node is None:
            return None
        self.keys(node, where, ("max_memory_gb", "max_cpu_cores"))
        values: dict[str, Any] = {}
        if "max_memory_gb" in node:
            values["max_memory_gb"] = self.number(node, "max_memory_gb",
                                                  f"{where}.max_memory_gb")
        if "max_cpu_cores" in node:
            values["max_cpu_cores"] = self.integer(node, "max_cpu_cores",
                                                   f"{where}.max_cpu_cores", 1)
        if any(v is None for v in values.values()):
            return None
        return ResourceConstraints(**values)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
