"""``benchwatch abtest``: a group-sequential A/B test of two variants of the engine.

A variant (``SPEC``) is a git ref, ``ENGINE_*``/``NUMBA_*`` settings, or both
(``parse_spec``). Each arm runs in one long-lived worker process
(``benchwatch._abtest_worker``) with the arm's settings in its environment and the
ref's exported sources first on ``PYTHONPATH``; the benchmark code is the current
checkout's for both arms, as with asv. Samples are taken with asv's own runner code
(``asv_runner``), one per request, in ABBA blocks whose first arm is drawn from a
seeded RNG, so slow drift of the machine hits both arms alike and the order cannot
favour one.

Before any test sample, a power analysis fixes each benchmark's sample size from its
*measured* noise (its CV from the asv history on this machine, else from a pilot) and
the smallest change worth finding (``--mde``), at ``alpha / m`` (Bonferroni over the
``m`` benchmark/parameter combinations) and the group-sequential design's inflation.
The test then looks at the data after every ABBA block; ``benchwatch.sequential``
decides at the pre-planned looks with alpha-spending boundaries, so stopping early
keeps the error rates. The statistics live in ``benchwatch.power`` and
``benchwatch.sequential``; this module plans, runs, and reports, and must not compute
a test statistic of its own. See site/abtest.md and site/abtest-methods.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import UserError

NAME_RE = re.compile(r"^(ENGINE|NUMBA)_[A-Z0-9_]+$")
VALUE_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
SPENDING_NAMES = {"obrien-fleming": "O'Brien-Fleming", "pocock": "Pocock"}
#: asv benchmark types that give one number per call; mem_/peakmem_ do not.
ALLOWED_TYPES = ("time", "timeraw", "track")
TIMED_TYPES = ("time", "timeraw")
DEFAULT_PILOT = 6
DEFAULT_LOOKS = 5
#: Samples per arm below which ``sequential.evaluate`` skips a look.
MIN_LOOK_SAMPLES = 3
#: Seconds a worker may take to start, list, or set up (compilation included).
SETUP_TIMEOUT_S = 900.0
#: Seconds one sample may take beyond the benchmark's own ``timeout`` (asv's 60 s default).
SAMPLE_GRACE_S = 60.0

_SPEC_HELP = "write REF, NAME=VALUE[,NAME=VALUE...] or REF+NAME=VALUE[,...]"


# --------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class Spec:
    """A parsed ``--a``/``--b`` value. ``ref`` is ``HEAD`` when the spec names none."""

    text: str
    ref: str
    env: tuple[tuple[str, str], ...]


def parse_spec(text: str, option: str = "--a") -> Spec:
    """``[REF][+NAME=VALUE[,NAME=VALUE...]]`` or ``NAME=VALUE[,...]`` -> ``Spec``.

    Names must be ``ENGINE_*`` or ``NUMBA_*`` (the knobs the engine and numba read);
    values are restricted to ``[A-Za-z0-9_.-]`` so a spec can never smuggle a second
    variable, a newline or shell syntax into a worker's environment. A ref holding
    ``+`` or ``=`` cannot be named this way; use its hash.
    """
    def fail(msg: str) -> UserError:
        return UserError(f"{option} {text!r}: {msg}")

    if not text or not text.strip():
        raise fail(f"empty spec; {_SPEC_HELP}")
    if "+" in text:
        ref, _, settings = text.partition("+")
        if not settings:
            raise fail(f"nothing after '+'; {_SPEC_HELP}")
    elif "=" in text:
        ref, settings = "", text
    else:
        ref, settings = text, ""
    ref = ref or "HEAD"
    if ref.startswith("-"):
        raise fail(f"a ref cannot start with '-': {ref!r}")
    if any(c.isspace() for c in ref):
        raise fail(f"a ref cannot hold whitespace: {ref!r}")
    env: list[tuple[str, str]] = []
    for item in settings.split(",") if settings else []:
        name, eq, value = item.partition("=")
        if not eq:
            raise fail(f"{item or 'an empty item'} has no value; write NAME=VALUE")
        if not NAME_RE.match(name):
            raise fail(f"{name or 'an empty name'} is not an ENGINE_* or NUMBA_* variable "
                       "(upper case letters, digits and '_')")
        if not VALUE_RE.match(value):
            raise fail(f"value {value!r} of {name} may only hold letters, digits, "
                       "'_', '.' and '-'")
        if any(n == name for n, _ in env):
            raise fail(f"{name} is set twice")
        env.append((name, value))
    return Spec(text, ref, tuple(env))


@dataclass(frozen=True)
class Variant:
    """One arm: its spec and the commit its ref resolved to."""

    arm: str  # "A" | "B"
    spec: Spec
    commit: str

    def describe(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.spec.env)
        return f"{self.spec.text} -> {self.commit[:12]}" + (f", {settings}" if settings else "")

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.text, "ref": self.spec.ref, "commit": self.commit,
                "env": dict(self.spec.env)}


def resolve(spec: Spec, repo: Path, arm: str) -> Variant:
    """Resolve the spec's ref with ``git rev-parse --verify REF^{commit}`` in ``repo``."""
    from .run import git_rev

    try:
        commit = git_rev(repo, spec.ref)
    except UserError:
        raise UserError(f"--{arm.lower()} {spec.text!r}: {spec.ref!r} is not a commit "
                        f"in {repo}") from None
    return Variant(arm, spec, commit)


# --------------------------------------------------------------------------- order


def abba_blocks(rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    """Endless ABBA blocks: ``A B B A`` or ``B A A B``, the first arm drawn from ``rng``.

    Within a block each arm is measured twice, once early and once late, so a linear
    drift over the block cancels; the random first arm keeps the order from being
    predictable (and from lining up with a periodic disturbance).
    """
    while True:
        yield ("A", "B", "B", "A") if rng.random() < 0.5 else ("B", "A", "A", "B")


def abba_schedule(blocks: int, seed: int) -> list[str]:
    """The first ``blocks`` ABBA blocks for ``seed``, flattened: what a run with
    ``--seed`` does (pilots first, then the test, from one RNG)."""
    gen = abba_blocks(random.Random(seed))
    return [arm for _ in range(blocks) for arm in next(gen)]


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Plan:
    """The sample size of one benchmark's test, fixed before its first test sample.

    ``n_fixed`` is the fixed-design t-test's n per arm; ``n_max`` the group-sequential
    maximum, ``ceil(n_fixed * inflation)``, or ``--max-samples`` when that is smaller
    (``capped``); ``planned_power`` the power at ``n_max`` (the target unless capped).
    """

    cv: float
    cv_source: str
    n_fixed: int
    n_max: int
    capped: bool
    planned_power: float
    seconds_per_sample: float
    pilot_a: tuple[float, ...] = ()  # the pilot's samples (not used by the test)
    pilot_b: tuple[float, ...] = ()

    @property
    def expected_duration_s(self) -> float:
        return self.seconds_per_sample * 2 * self.n_max


def make_plan(cv: float, mde: float, design: Any, *, max_samples: int | None = None,
              cv_source: str = "", seconds_per_sample: float = math.nan,
              pilot: tuple[Sequence[float], Sequence[float]] = ((), ())) -> Plan:
    """The sample size for ``design`` (a ``sequential.Design`` at alpha / m and the
    target power): ``power.sample_size_for_mde`` for the fixed design, and
    ``sequential.max_sample_size`` (that times the design's inflation, rounded up) for
    the sequential maximum.

    With a cap, the power is that of a fixed design with ``n_max / inflation`` samples
    per arm: the sequential design spends ``inflation`` times the fixed design's
    samples for the same power, so that is what ``n_max`` buys.
    """
    from . import power, sequential

    n_fixed = power.sample_size_for_mde(cv, mde, design.alpha, design.power)
    n_max = sequential.max_sample_size(design, cv, mde)
    capped = max_samples is not None and n_max > max_samples
    if capped:
        assert max_samples is not None
        n_max = max_samples
        n_eq = max(2, math.floor(n_max / design.inflation))
        planned = power.achieved_power(n_eq, n_eq, cv, mde, design.alpha)
    else:
        planned = float(design.power)
    return Plan(cv, cv_source, n_fixed, n_max, capped, planned, seconds_per_sample,
                tuple(pilot[0]), tuple(pilot[1]))


def pooled_cv(a: Sequence[float], b: Sequence[float]) -> float:
    """The CV of one sample as the test sees it: the coefficient of variation of the
    lognormal whose log SD is the two arms' pooled SD of log samples.

    The test works on logs, and ``power`` turns a CV back into a log SD
    (``cv_to_log_sd``), so this round-trips exactly to the noise the test meets. The
    plain CV of the raw samples would not: one 10x outlier among single-call timings of
    a few microseconds lifts it to 100 % and more, while the logs barely move. Pooled
    within arms, so a real difference between A and B is not counted as noise.
    """
    import numpy as np

    if min(list(a) + list(b), default=0.0) <= 0:
        return math.nan
    la = np.log(np.asarray(a, dtype=float))
    lb = np.log(np.asarray(b, dtype=float))
    if la.size < 2 or lb.size < 2 or not (np.all(np.isfinite(la)) and np.all(np.isfinite(lb))):
        return math.nan
    var = (((la.size - 1) * la.var(ddof=1) + (lb.size - 1) * lb.var(ddof=1))
           / (la.size + lb.size - 2))
    return math.sqrt(math.expm1(var))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Combination:
    """One benchmark at one parameter combination, as asv names it."""

    benchmark: str
    params: tuple[str, ...]
    param_idx: int | None
    type: str
    unit: str

    def label(self) -> str:
        return f"{self.benchmark}({', '.join(self.params)})" if self.params else self.benchmark


@dataclass(frozen=True)
class Result:
    """One combination's test. ``decision`` is the sequential outcome's (``b_higher``,
    ``b_lower``, ``no_difference``) or ``planned`` (dry run), ``untestable`` (samples that
    do not vary), ``skipped`` (the benchmark's setup skipped it) or ``failed``."""

    combination: Combination
    higher_is_better: bool
    plan: Plan | None
    decision: str
    winner: str | None
    reason: str
    outcome: Any = None  # sequential.Outcome when the test ran
    achieved_power: float = math.nan
    duration_s: float = math.nan
    number_a: int | None = None
    number_b: int | None = None
    samples_a: tuple[float, ...] = ()
    samples_b: tuple[float, ...] = ()


@dataclass(frozen=True)
class Experiment:
    """What was compared and how: everything in the JSON document but the results."""

    a: Variant
    b: Variant
    bench: tuple[str, ...]
    alpha: float
    power: float
    mde: float
    looks: int
    spending: str
    seed: int
    pilot: int
    max_samples: int | None
    machine: str
    started_at: str
    comparisons: int
    alpha_each: float
    design: Any  # sequential.Design
    base_env: dict[str, str] = field(default_factory=dict)
    worker_start_s: float = math.nan
    dry_run: bool = False
    duration_s: float = math.nan


def winner_of(decision: str, higher_is_better: bool) -> str | None:
    """``b_higher``/``b_lower`` -> "A" or "B" by the benchmark's direction."""
    if decision == "b_higher":
        return "B" if higher_is_better else "A"
    if decision == "b_lower":
        return "A" if higher_is_better else "B"
    return None


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 9) if math.isfinite(v) else None
    if isinstance(v, tuple):
        return [_clean(x) for x in v]
    return v


def result_to_dict(r: Result) -> dict[str, Any]:
    c, p, o = r.combination, r.plan, r.outcome
    looks = [{"index": lk.index, "n_a": lk.n_a, "n_b": lk.n_b, "z": _clean(float(lk.z)),
              "boundary": _clean(float(lk.boundary)), "lift_pct": _clean(float(lk.lift_pct))}
             for lk in (o.looks if o is not None else ())]

    def out(name: str) -> Any:
        return _clean(float(getattr(o, name))) if o is not None else None

    return {
        "benchmark": c.benchmark, "params": list(c.params), "type": c.type, "unit": c.unit,
        "higher_is_better": r.higher_is_better,
        "cv": _clean(p.cv) if p else None, "cv_source": p.cv_source if p else None,
        "n_fixed": p.n_fixed if p else None, "n_max": p.n_max if p else None,
        "capped": p.capped if p else None,
        "planned_power": _clean(p.planned_power) if p else None,
        "seconds_per_sample": _clean(p.seconds_per_sample) if p else None,
        "expected_duration_s": _clean(p.expected_duration_s) if p else None,
        "pilot_samples_a": [_clean(x) for x in p.pilot_a] if p else [],
        "pilot_samples_b": [_clean(x) for x in p.pilot_b] if p else [],
        "decision": r.decision, "winner": r.winner, "reason": r.reason,
        "lift_pct": out("lift_pct"), "ci_low_pct": out("ci_low_pct"),
        "ci_high_pct": out("ci_high_pct"), "effect_size": out("effect_size"),
        "cliffs_delta": out("cliffs_delta"), "p_value": out("p_value"),
        "achieved_power": _clean(r.achieved_power),
        "n_a": o.n_a if o is not None else None, "n_b": o.n_b if o is not None else None,
        "number_a": r.number_a, "number_b": r.number_b,
        "duration_s": _clean(r.duration_s), "looks": looks,
        "samples_a": [_clean(x) for x in r.samples_a],
        "samples_b": [_clean(x) for x in r.samples_b],
    }


def to_dict(exp: Experiment, results: Sequence[Result]) -> dict[str, Any]:
    d = exp.design
    return {
        "kind": "abtest", "version": 1,
        "a": exp.a.to_dict(), "b": exp.b.to_dict(),
        "bench": list(exp.bench),
        "alpha": exp.alpha, "power": exp.power, "mde": exp.mde,
        "looks": exp.looks, "spending": exp.spending, "seed": exp.seed,
        "pilot": exp.pilot, "max_samples": exp.max_samples,
        "comparisons": exp.comparisons, "alpha_per_test": _clean(exp.alpha_each),
        "machine": exp.machine, "started_at": exp.started_at, "dry_run": exp.dry_run,
        "base_env": dict(exp.base_env),
        "worker_start_s": _clean(exp.worker_start_s), "duration_s": _clean(exp.duration_s),
        "design": {"fractions": _clean(tuple(d.fractions)),
                   "boundaries": _clean(tuple(d.boundaries)),
                   "alpha_spent": _clean(tuple(d.alpha_spent)),
                   "inflation": _clean(float(d.inflation))},
        "results": [result_to_dict(r) for r in results],
    }


# --------------------------------------------------------------------------- wording


def fmt_duration(seconds: float) -> str:
    """``850 ms``, ``12.3 s``, ``4 min 05 s``, ``1 h 02 min``."""
    if not math.isfinite(seconds):
        return "n/a"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(round(seconds), 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def _pct(v: float) -> str:
    return f"{v:.1f}%" if math.isfinite(v) else "n/a"


def change_phrase(r: Result) -> str:
    """``B faster by 12.3% [8.1%, 16.2%]``: B's change relative to A and its interval,
    in the benchmark's own direction words (faster/slower for times)."""
    o = r.outcome
    lift, lo, hi = float(o.lift_pct), float(o.ci_low_pct), float(o.ci_high_pct)
    timed = r.combination.type in TIMED_TYPES
    if lift >= 0:
        word = "slower" if timed else "higher"
        size, lo_, hi_ = lift, lo, hi
    else:
        word = "faster" if timed else "lower"
        size, lo_, hi_ = -lift, -hi, -lo
    text = f"B {word} by {_pct(size)} [{_pct(lo_)}, {_pct(hi_)}]"
    if not timed and r.winner is not None:
        text += " (better)" if r.winner == "B" else " (worse)"
    return text


def _stop_phrase(r: Result, looks: int, spending: str) -> str:
    o = r.outcome
    if r.decision in ("b_higher", "b_lower") and o.looks:
        last = o.looks[-1]
        return (f"stopped at look {last.index}/{looks}: crossed the "
                f"{SPENDING_NAMES.get(spending, spending)} boundary "
                f"(|z| {abs(float(last.z)):.2f} >= {float(last.boundary):.2f})")
    return r.reason


def result_line(r: Result, looks: int, spending: str) -> str:
    """One line per result, criterion.rs style: estimate, interval, verdict, why."""
    label = r.combination.label()
    if r.outcome is None:
        if r.decision == "planned" and r.plan is not None:
            p = r.plan
            return (f"{label}: planned {p.n_max}+{p.n_max} samples at most "
                    f"(CV {_pct(100 * p.cv)} from {p.cv_source}), "
                    f"expected {fmt_duration(p.expected_duration_s)}")
        return f"{label}: {r.decision}: {r.reason}"
    o = r.outcome
    details = (f"d={abs(float(o.effect_size)):.2g}, power {r.achieved_power:.2f}, "
               f"{o.n_a}+{o.n_b} samples, {_stop_phrase(r, looks, spending)}")
    if r.winner is not None:
        return f"{label}: {change_phrase(r)} ({details})"
    lift = float(o.lift_pct)
    interval = (f"{lift:+.1f}% [{float(o.ci_low_pct):+.1f}%, {float(o.ci_high_pct):+.1f}%]"
                if math.isfinite(lift) else "n/a")
    return f"{label}: no decision, B {interval} ({details})"


def _design_line(exp: Experiment) -> str:
    d = exp.design
    fr = ", ".join(f"{100 * f:.0f}%" for f in d.fractions)
    bd = ", ".join(f"{b:.2f}" for b in d.boundaries)
    return (f"{SPENDING_NAMES.get(exp.spending, exp.spending)} spending, {exp.looks} looks "
            f"at {fr} of n_max; |z| boundaries {bd}; inflation {float(d.inflation):.3f}")


def _alpha_line(exp: Experiment) -> str:
    if exp.comparisons > 1:
        each = (f"Bonferroni over {exp.comparisons} benchmark/parameter combinations: "
                f"{exp.alpha_each:.4g} each")
    else:
        each = "one comparison"
    return (f"alpha {exp.alpha:g} ({each}), power {exp.power:g}, "
            f"mde {100 * exp.mde:g}%")


def _plan_rows(results: Sequence[Result]) -> list[list[str]]:
    rows = []
    for r in results:
        p = r.plan
        if p is None:
            rows.append([r.combination.label(), "", "", "", "", "", r.decision])
            continue
        rows.append([r.combination.label(), _pct(100 * p.cv), p.cv_source, str(p.n_fixed),
                     str(p.n_max) + (" (cap)" if p.capped else ""), f"{p.planned_power:.2f}",
                     fmt_duration(p.expected_duration_s)])
    return rows


PLAN_HEAD = ["benchmark", "cv", "cv from", "n fixed", "n max", "power", "expected"]


def plan_total(exp: Experiment, results: Sequence[Result]) -> float:
    """Expected wall time: two arms x n_max samples each, plus the workers' start."""
    parts = [r.plan.expected_duration_s for r in results
             if r.plan is not None and math.isfinite(r.plan.expected_duration_s)]
    return sum(parts) + (exp.worker_start_s if math.isfinite(exp.worker_start_s) else 0.0)


def render_plan_text(exp: Experiment, results: Sequence[Result]) -> str:
    from .render import text

    return (text.table(PLAN_HEAD, _plan_rows(results), "lrlrrrr")
            + f"expected duration: {fmt_duration(plan_total(exp, results))} "
              f"(the workers took {fmt_duration(exp.worker_start_s)} to start)\n")


def render_text(exp: Experiment, results: Sequence[Result]) -> str:
    head = [f"A/B test on {exp.machine}, seed {exp.seed}" + (" (dry run)" if exp.dry_run else ""),
            f"  A: {exp.a.describe()}",
            f"  B: {exp.b.describe()}",
            f"  {_alpha_line(exp)}",
            f"  {_design_line(exp)}", ""]
    body = ["plan:", render_plan_text(exp, results).rstrip("\n")]
    if not exp.dry_run:
        body += ["", f"results ({fmt_duration(exp.duration_s)}):"]
        body += [result_line(r, exp.looks, exp.spending) for r in results]
    return "\n".join(head + body) + "\n"


def render_markdown(exp: Experiment, results: Sequence[Result]) -> str:
    from .render import markdown as md

    e = md.escape
    lines = [f"### A/B test{' plan (dry run)' if exp.dry_run else ''}", "",
             f"- **A**: `{exp.a.spec.text}` ({exp.a.commit[:12]}"
             + "".join(f", {e(k)}={e(v)}" for k, v in exp.a.spec.env) + ")",
             f"- **B**: `{exp.b.spec.text}` ({exp.b.commit[:12]}"
             + "".join(f", {e(k)}={e(v)}" for k, v in exp.b.spec.env) + ")",
             f"- {e(_alpha_line(exp))}",
             f"- {e(_design_line(exp))}",
             f"- machine {e(exp.machine)}, seed {exp.seed}", ""]
    if not exp.dry_run:
        rows = []
        for r in results:
            o = r.outcome
            if o is None:
                rows.append([e(r.combination.label()), e(r.decision), "", "", "", "", e(r.reason)])
                continue
            verdict = change_phrase(r) if r.winner else "no decision"
            rows.append([e(r.combination.label()),
                         f"**{r.winner} wins**" if r.winner else "no decision",
                         e(verdict if r.winner else
                           f"{float(o.lift_pct):+.1f}% [{float(o.ci_low_pct):+.1f}%, "
                           f"{float(o.ci_high_pct):+.1f}%]"),
                         f"{abs(float(o.effect_size)):.2g}", f"{r.achieved_power:.2f}",
                         f"{o.n_a}+{o.n_b}", e(_stop_phrase(r, exp.looks, exp.spending))])
        lines += [md.table(["benchmark", "result", "B vs A [CI]", "d", "power", "samples",
                            "why it stopped"], rows, "lllrrrl"), ""]
    plan_rows = [[e(c) for c in row] for row in _plan_rows(results)]
    lines += [md.details("Plan" if not exp.dry_run else "Plan (dry run)",
                         md.table(PLAN_HEAD, plan_rows, "lrlrrrr")
                         + f"\nExpected duration {e(fmt_duration(plan_total(exp, results)))}.")]
    return "\n".join(lines).rstrip("\n") + "\n"


def render(exp: Experiment, results: Sequence[Result], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_dict(exp, results), indent=2, allow_nan=False) + "\n"
    if fmt == "markdown":
        return render_markdown(exp, results)
    return render_text(exp, results)


# --------------------------------------------------------------------------- workers


class WorkerError(Exception):
    """A request the worker answered with an error (the benchmark raised)."""

    def __init__(self, arm: str, message: str):
        super().__init__(message)
        self.arm = arm


class _Arm:
    """One arm's worker process and its JSON-lines channel."""

    def __init__(self, variant: Variant, src: Path, benchmark_dir: Path, env: dict[str, str],
                 workdir: Path):
        self.variant = variant
        self.src = src
        self.benchmark_dir = benchmark_dir
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / "worker.log"
        self.proc: subprocess.Popen | None = None
        self._buf = b""

    def start(self) -> None:
        worker = Path(__file__).with_name("_abtest_worker.py")
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:  # the child keeps its own descriptor
            # -P: the worker's own directory must not go on sys.path (it holds the
            # toolkit's modules); PYTHONPATH alone decides whose sources are imported
            self.proc = subprocess.Popen(
                [sys.executable, "-P", str(worker), str(self.benchmark_dir)],
                cwd=self.workdir, env=self.env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, bufsize=0)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def _dead(self, what: str) -> UserError:
        tail = self._log_tail()
        if tail:
            print(f"benchwatch: arm {self.variant.arm} worker's last output:\n{tail}",
                  file=sys.stderr)
        return UserError(f"arm {self.variant.arm} ({self.variant.spec.text}): {what}")

    def request(self, timeout: float, **req: Any) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        assert self.proc.stdout is not None
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._dead(f"the worker exited (code {self.proc.poll()})") from None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise self._dead(f"no answer to {req.get('op')} of {req.get('name', '')} "
                                 f"within {timeout:.0f} s; the worker was stopped")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    code = self.proc.wait()
                    raise self._dead(f"the worker exited (code {code}) during "
                                     f"{req.get('op')} {req.get('name', '')}".rstrip())
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerError(self.variant.arm, reply["error"])
        return reply

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.request(30.0, op="quit")
                self.proc.wait(timeout=30)
            except (UserError, WorkerError, subprocess.TimeoutExpired, OSError, ValueError):
                pass
        self.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def export_tree(repo: Path, commit: str, dest: Path) -> Path:
    """``git archive COMMIT`` extracted into ``dest``; the importable source root
    (``dest/src`` when the tree has one, else ``dest``)."""
    import tarfile

    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(["git", "-C", str(repo), "archive", "--format=tar", commit],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            tar.extractall(dest, filter="data")
    except tarfile.TarError as exc:
        proc.kill()
        raise UserError(f"cannot export {commit[:12]} from {repo}: {exc}") from None
    finally:
        proc.stdout.close()
    err = proc.stderr.read().decode(errors="replace").strip()
    proc.stderr.close()
    if proc.wait() != 0:
        raise UserError(f"git archive {commit[:12]} failed in {repo}: "
                        f"{(err.splitlines() or ['no message'])[-1]}")
    return dest / "src" if (dest / "src").is_dir() else dest


def _source_digest_function(benchmark_dir: Path) -> Callable[[Path], str] | None:
    """``source_digest`` of the engine suite's ``benchmarks/_numba_cache.py`` (this
    repository's, else the project's), loaded by path: it is the one definition of the
    numba cache key and lives with the benchmarks, not in the toolkit."""
    import importlib.util

    candidates = [Path(__file__).resolve().parents[2] / "benchmarks" / "_numba_cache.py",
                  benchmark_dir / "_numba_cache.py"]
    for path in candidates:
        if path.is_file():
            spec = importlib.util.spec_from_file_location("_benchwatch_numba_cache", path)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.source_digest
    return None


def numba_cache_dir(src: Path, env: dict[str, str], digest: Callable[[Path], str] | None,
                    fallback: Path) -> Path:
    """Per-arm ``NUMBA_CACHE_DIR``: keyed by the arm's whole source tree and its
    settings, so an arm never loads machine code compiled from other sources (numba
    checks only a kernel's own file) or under other flags. Without the digest
    function, a fresh directory for this run (correct, only slower)."""
    import hashlib

    if digest is None:
        return fallback
    from .paths import cache_root

    settings = hashlib.sha256(json.dumps(sorted(env.items())).encode()).hexdigest()[:8]
    return cache_root() / "abtest-numba" / f"src-{digest(src)[:16]}-env-{settings}"


def base_environment(conf: dict[str, Any]) -> dict[str, str]:
    """The first value of each ``matrix.env``/``matrix.env_nobuild`` entry of
    asv.conf.json: the settings of asv's default environment, the arms' baseline."""
    matrix = conf.get("matrix") or {}
    out: dict[str, str] = {}
    for key in ("env", "env_nobuild"):
        entries = matrix.get(key) or {}
        if not isinstance(entries, dict):
            continue
        for name, values in entries.items():
            if isinstance(values, list):
                if values and values[0] is not None:
                    out[str(name)] = str(values[0])
            elif values is not None:
                out[str(name)] = str(values)
    return out


def arm_environment(base: dict[str, str], spec: Spec, src: Path) -> dict[str, str]:
    """The worker's environment: ours without inherited ``ENGINE_*``/``NUMBA_*`` and
    ``PYTHONPATH`` (an arm is defined by asv.conf.json and its spec, not by the shell),
    then asv's baseline settings, then the spec's."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ENGINE_", "NUMBA_")) and k != "PYTHONPATH"}
    env.update(base)
    env.update(dict(spec.env))
    env["PYTHONPATH"] = str(src)
    return env


# --------------------------------------------------------------------------- selection


def select_combinations(listing: Sequence[dict[str, Any]],
                        regexes: Sequence[re.Pattern]) -> list[Combination]:
    """Combinations matched as ``asv run --bench`` matches: a plain benchmark by its
    name, a parameterised one by ``name(p0, p1)`` per combination. Only time_,
    timeraw_ and track_ benchmarks; raises ``UserError`` listing a few names when
    nothing matches."""
    out: list[Combination] = []
    matched_other: list[str] = []
    for b in sorted(listing, key=lambda b: b["name"]):
        name = b["name"]
        params = [list(axis) for axis in b.get("params") or []]
        if params:
            labels = [(i, tuple(ps)) for i, ps in enumerate(itertools.product(*params))]
        else:
            labels = [(None, ())]
        for idx, ps in labels:
            label = f"{name}({', '.join(ps)})" if ps else name
            if not any(rx.search(label) for rx in regexes):
                continue
            if b.get("type") not in ALLOWED_TYPES:
                if name not in matched_other:
                    matched_other.append(name)
                continue
            out.append(Combination(name, ps, idx, b["type"], b.get("unit") or "unit"))
    if not out:
        pattern = " | ".join(rx.pattern for rx in regexes)
        if matched_other:
            raise UserError(f"--bench {pattern!r} matches only benchmarks that give no "
                            f"per-call sample ({', '.join(matched_other[:4])}); abtest "
                            "takes time_, timeraw_ and track_ benchmarks")
        names = sorted(b["name"] for b in listing if b.get("type") in ALLOWED_TYPES)
        few = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise UserError(f"--bench {pattern!r} matches no benchmark; there are "
                        f"{len(names)}, e.g. {few or 'none'}")
    return out


# --------------------------------------------------------------------------- history


def history_cvs(results_dir: Path, machine: str) -> dict[tuple[str, tuple[str, ...]],
                                                          tuple[float, str]]:
    """(benchmark, params) -> (CV of one sample, where it came from) from the asv
    results on ``machine``: ``calibrate.within_run_cv`` (median over commits of the
    samples' CV, or of asv's quartiles without samples) of the series with the newest
    result. Empty when the directory holds nothing for this machine."""
    from . import calibrate, history, results

    if not results_dir.is_dir():
        return {}
    loaded = results.load(results_dir, machine=machine)
    for problem in loaded.problems:
        print(f"benchwatch: warning: {problem}", file=sys.stderr)
    best: dict[tuple[str, tuple[str, ...]], tuple[int, float, str]] = {}
    for s in history.build(loaded.rows):
        cv, _ = calibrate.within_run_cv(s)
        if not (math.isfinite(cv) and cv > 0):
            continue
        newest = max((r.date or 0) for r in s.rows)
        used = sum(1 for r in s.rows if r.ok and (r.samples or r.quartiles))
        key = (s.benchmark, s.params)
        if key not in best or newest > best[key][0]:
            best[key] = (newest, cv, f"history ({used} commits)")
    return {k: (cv, src) for k, (_, cv, src) in best.items()}


# --------------------------------------------------------------------------- running


def _progress(msg: str) -> None:
    print(f"abtest: {msg}", file=sys.stderr, flush=True)


@dataclass
class _Session:
    """The two running arms and the shared ABBA order."""

    arms: dict[str, _Arm]
    blocks: Iterator[tuple[str, str, str, str]]

    def prepare(self, c: Combination) -> dict[str, dict[str, Any]]:
        return {name: arm.request(SETUP_TIMEOUT_S, op="prepare", name=c.benchmark,
                                  param_idx=c.param_idx)
                for name, arm in self.arms.items()}

    def release(self, c: Combination) -> None:
        for arm in self.arms.values():
            try:
                arm.request(SETUP_TIMEOUT_S, op="release", name=c.benchmark,
                            param_idx=c.param_idx)
            except WorkerError:
                pass

    def sample(self, arm: str, c: Combination, timeout: float) -> tuple[float, float]:
        """(value, wall seconds of the request)."""
        t0 = time.perf_counter()
        reply = self.arms[arm].request(timeout, op="sample", name=c.benchmark,
                                       param_idx=c.param_idx)
        return float(reply["value"]), time.perf_counter() - t0

    def run_blocks(self, c: Combination, per_arm: int, timeout: float,
                   after_block: Callable[[list[float], list[float]], bool] | None = None
                   ) -> tuple[list[float], list[float], list[float]]:
        """Up to ``per_arm`` samples per arm in ABBA blocks (a half block ``AB``/``BA``
        when one sample per arm is left); ``after_block`` returning True stops early."""
        got: dict[str, list[float]] = {"A": [], "B": []}
        walls: list[float] = []
        while len(got["A"]) < per_arm:
            block = next(self.blocks)
            if per_arm - len(got["A"]) == 1:
                block = block[:2]  # type: ignore[assignment]
            for arm in block:
                value, wall = self.sample(arm, c, timeout)
                got[arm].append(value)
                walls.append(wall)
            if after_block is not None and after_block(got["A"], got["B"]):
                break
        return got["A"], got["B"], walls


def _sample_timeout(prepared: dict[str, dict[str, Any]]) -> float:
    own = max((p.get("timeout") or 60.0) for p in prepared.values())
    return float(own) + SAMPLE_GRACE_S


@dataclass(frozen=True)
class Settings:
    """Everything ``run_abtest`` needs, as ``run_cli`` checked it."""

    spec_a: Spec
    spec_b: Spec
    bench: tuple[str, ...]
    repo: Path
    benchmark_dir: Path
    base_env: dict[str, str]
    alpha: float = 0.05
    power: float = 0.8
    mde: float = 0.05
    looks: int = DEFAULT_LOOKS
    spending: str = "obrien-fleming"
    pilot: int = DEFAULT_PILOT
    max_samples: int | None = None
    seed: int = 0
    machine: str = ""
    results_dir: Path | None = None
    dry_run: bool = False


def run_abtest(s: Settings) -> tuple[Experiment, list[Result]]:
    """Resolve the variants, start the arms, plan every combination, run the tests."""
    from datetime import UTC, datetime

    from . import sequential

    regexes = []
    for text in s.bench:
        try:
            regexes.append(re.compile(text))
        except re.error as exc:
            raise UserError(f"--bench {text!r} is not a regular expression: {exc}") from None
    va, vb = resolve(s.spec_a, s.repo, "A"), resolve(s.spec_b, s.repo, "B")
    if not s.benchmark_dir.is_dir():
        raise UserError("benchmark directory not found", path=str(s.benchmark_dir))
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    t_start = time.monotonic()
    if va.commit == vb.commit and dict(va.spec.env) == dict(vb.spec.env):
        _progress("A and B are the same variant: this is an A/A test")

    with tempfile.TemporaryDirectory(prefix="benchwatch-abtest-") as tmp_name:
        tmp = Path(tmp_name)
        digest = _source_digest_function(s.benchmark_dir)
        sources: dict[str, Path] = {}
        arms: dict[str, _Arm] = {}
        try:
            for v in (va, vb):
                if v.commit not in sources:
                    _progress(f"exporting {v.spec.ref} ({v.commit[:12]})")
                    sources[v.commit] = export_tree(s.repo, v.commit, tmp / f"src-{v.commit}")
                src = sources[v.commit]
                env = arm_environment(s.base_env, v.spec, src)
                if "NUMBA_CACHE_DIR" not in dict(v.spec.env):  # a spec's own setting wins
                    knobs = {k: x for k, x in env.items() if k.startswith(("ENGINE_", "NUMBA_"))}
                    env["NUMBA_CACHE_DIR"] = str(numba_cache_dir(src, knobs, digest,
                                                                 tmp / f"numba-{v.arm}"))
                arms[v.arm] = _Arm(v, src, s.benchmark_dir, env, tmp / f"arm-{v.arm}")
            t0 = time.monotonic()
            for arm in arms.values():
                arm.start()
            listings = {name: arm.request(SETUP_TIMEOUT_S, op="list")["benchmarks"]
                        for name, arm in arms.items()}
            worker_start = time.monotonic() - t0
            _progress(f"workers ready in {fmt_duration(worker_start)}")
        except WorkerError as exc:
            for arm in arms.values():
                arm.close()
            raise UserError(f"the benchmarks cannot be listed: {exc}") from None
        except BaseException:
            for arm in arms.values():
                arm.close()
            raise
        try:
            combos = select_combinations(listings["A"], regexes)
            m = len(combos)
            alpha_each = s.alpha / m
            design = sequential.design(s.looks, alpha_each, s.spending, s.power)
            exp = Experiment(va, vb, s.bench, s.alpha, s.power, s.mde, s.looks, s.spending,
                             s.seed, s.pilot, s.max_samples, s.machine, started_at, m,
                             alpha_each, design, dict(s.base_env), worker_start, s.dry_run)
            session = _Session(arms, abba_blocks(random.Random(s.seed)))
            hist = history_cvs(s.results_dir, s.machine) if s.results_dir else {}
            planned = [_plan_one(session, c, hist, s, exp) for c in combos]
            _progress("plan (" + _alpha_line(exp) + "):\n" + render_plan_text(exp, planned))
            if s.dry_run:
                results = planned
            else:
                results = [_test_one(session, r, s, exp) if r.decision == "planned" else r
                           for r in planned]
        finally:
            for arm in arms.values():
                arm.close()
    exp = replace(exp, duration_s=time.monotonic() - t_start)
    return exp, results


def _failed(c: Combination, hib: bool, plan: Plan | None, exc: WorkerError) -> Result:
    return Result(c, hib, plan, "failed", None, f"failed in arm {exc.arm}: {exc}")


def _plan_one(session: _Session, c: Combination, hist: dict, s: Settings,
              exp: Experiment) -> Result:
    """Prepare both arms, find the CV (history, else a pilot), and size the test.

    The pilot's samples are not reused in the test: the sample size is chosen from
    them, and a test that also counts them would be judging the data that set its own
    length, which the design's error rates do not allow for (an internal pilot needs a
    correction this module does not make). They cost ``--pilot`` samples per arm.
    """
    from .history import higher_is_better

    hib = higher_is_better(c.benchmark, c.unit)
    label = c.label()
    try:
        prepared = session.prepare(c)
    except WorkerError as exc:
        session.release(c)
        return _failed(c, hib, None, exc)
    if any(p.get("skipped") for p in prepared.values()):
        which = " and ".join(a for a, p in prepared.items() if p.get("skipped"))
        session.release(c)
        return Result(c, hib, None, "skipped", None,
                      f"the benchmark's setup skipped this combination in arm {which}")
    unit = prepared["A"].get("unit") or c.unit
    if unit != c.unit:
        c = Combination(c.benchmark, c.params, c.param_idx, c.type, unit)
        hib = higher_is_better(c.benchmark, c.unit)
    timeout = _sample_timeout(prepared)
    pilot: tuple[Sequence[float], Sequence[float]] = ((), ())
    try:
        if (c.benchmark, c.params) in hist:
            cv, source = hist[(c.benchmark, c.params)]
            # one sample per arm only to time a sample for the duration estimate
            walls = [session.sample(arm, c, timeout)[1] for arm in ("A", "B")]
        else:
            per_arm = 2 * math.ceil(s.pilot / 2)
            a, b, walls = session.run_blocks(c, per_arm, timeout)
            pilot = (a, b)
            cv = pooled_cv(a, b)
            source = f"pilot ({len(a)}+{len(b)})"
            why = None
            if min(a + b) <= 0:
                why = "samples must be positive, as the test compares their logs"
            elif not (math.isfinite(cv) and cv > 0):
                why = ("the pilot's samples do not vary, so there is no noise to test "
                       "against; compare the values directly")
            if why is not None:
                session.release(c)
                return Result(c, hib, None, "untestable", None,
                              f"{why} (A: {_values(a, c.unit)}; B: {_values(b, c.unit)})",
                              samples_a=tuple(a), samples_b=tuple(b))
            _progress(f"{label}: pilot {len(a)}+{len(b)} samples, CV {100 * cv:.2f}%")
    except WorkerError as exc:
        session.release(c)
        return _failed(c, hib, None, exc)
    session.release(c)
    plan = make_plan(cv, s.mde, exp.design, max_samples=s.max_samples, cv_source=source,
                     seconds_per_sample=sum(walls) / len(walls), pilot=pilot)
    return Result(c, hib, plan, "planned", None, "planned; not run (--dry-run)")


def _values(samples: Sequence[float], unit: str) -> str:
    from .report import fmt_value

    distinct = sorted(set(samples))
    shown = ", ".join(fmt_value(v, unit) for v in distinct[:3])
    return shown + (", ..." if len(distinct) > 3 else "")


def _test_one(session: _Session, planned: Result, s: Settings, exp: Experiment) -> Result:
    """The sequential test of one combination: ABBA blocks until a look decides."""
    from . import sequential
    from .power import achieved_power

    c, plan = planned.combination, planned.plan
    assert plan is not None
    label = c.label()
    _progress(f"{label}: testing, at most {plan.n_max} samples per arm "
              f"(expected {fmt_duration(plan.expected_duration_s)})")
    try:
        prepared = session.prepare(c)
    except WorkerError as exc:
        session.release(c)
        return _failed(c, planned.higher_is_better, plan, exc)
    if any(p.get("skipped") for p in prepared.values()):
        session.release(c)
        return Result(c, planned.higher_is_better, plan, "skipped", None,
                      "the benchmark's setup skipped this combination")
    timeout = _sample_timeout(prepared)
    state: dict[str, Any] = {"outcome": None, "shown": 0}

    def look(a: list[float], b: list[float]) -> bool:
        if min(a[-2:] + b[-2:]) <= 0:
            state["bad"] = True  # a history CV let a non-positive track_ value this far
            return True
        if min(len(a), len(b)) < MIN_LOOK_SAMPLES:
            return False  # no look can use fewer (the contract skips such looks)
        outcome = sequential.evaluate(a, b, exp.design, plan.n_max)
        for lk in outcome.looks[state["shown"]:]:
            _progress(f"{label}: look {lk.index}/{exp.looks}: n={lk.n_a} per arm, "
                      f"z={float(lk.z):.2f} (boundary {float(lk.boundary):.2f}), "
                      f"lift {float(lk.lift_pct):+.1f}%")
        state["shown"] = len(outcome.looks)
        state["outcome"] = outcome
        return outcome.decision != "continue"

    t0 = time.monotonic()
    try:
        a, b, _ = session.run_blocks(c, plan.n_max, timeout, after_block=look)
    except WorkerError as exc:
        session.release(c)
        return _failed(c, planned.higher_is_better, plan, exc)
    duration = time.monotonic() - t0
    session.release(c)
    if state.get("bad"):
        return Result(c, planned.higher_is_better, plan, "untestable", None,
                      "samples must be positive, as the test compares their logs "
                      f"(A: {_values(a, c.unit)}; B: {_values(b, c.unit)})",
                      duration_s=duration, samples_a=tuple(a), samples_b=tuple(b))
    outcome = state["outcome"]
    if outcome is None or outcome.decision == "continue":
        raise RuntimeError(f"sequential.evaluate did not decide at n_max={plan.n_max}")
    used_a, used_b = a[:outcome.n_a], b[:outcome.n_b]
    cv_obs = pooled_cv(used_a, used_b)
    power_now = (achieved_power(outcome.n_a, outcome.n_b, cv_obs, s.mde, exp.alpha_each)
                 if math.isfinite(cv_obs) and cv_obs > 0 else math.nan)
    winner = winner_of(outcome.decision, planned.higher_is_better)
    result = Result(c, planned.higher_is_better, plan, outcome.decision, winner,
                    outcome.reason, outcome, power_now, duration,
                    prepared["A"].get("number"), prepared["B"].get("number"),
                    tuple(a), tuple(b))
    _progress(result_line(result, exp.looks, exp.spending))
    return result


# --------------------------------------------------------------------------- command

EPILOG = """\
SPEC is a variant: a git ref, ENGINE_*/NUMBA_* settings, or both:
  main                          the engine at main, asv.conf.json's default settings
  HEAD+ENGINE_FASTMATH=1        HEAD with fastmath on
  ENGINE_FASTMATH=1,ENGINE_PARALLEL=0   HEAD with two settings changed

How it runs: one worker process per arm (the ref's sources on PYTHONPATH, its
settings in the environment; the benchmarks from this checkout), samples taken
with asv's own runner code in ABBA blocks whose order comes from --seed. The
sample size comes from a power analysis with each benchmark's measured CV (asv
history on this machine, else a pilot of --pilot samples per arm) at alpha / m
(Bonferroni over the m matched benchmark/parameter combinations). The test looks
at the data after every block and stops at the first group-sequential boundary
crossed (O'Brien-Fleming or Pocock alpha spending), or at n_max: no decision.
See site/abtest.md.

examples:
  benchwatch abtest --a main --b HEAD --bench 'neural.InferTime'
  benchwatch abtest --a HEAD --b HEAD+ENGINE_FASTMATH=1 --bench 'simd.*time_' --max-samples 40
  benchwatch abtest --a HEAD --b ENGINE_PARALLEL=0 --bench allocation.AllocateTime --dry-run
  benchwatch abtest --a v1.2 --b HEAD --bench time_ --format json --output ab.json

exit codes:
  0  the test ran (whatever the outcome: a winner, no decision, a failed benchmark)
  2  usage or input error: a bad SPEC, ref, regex or option, no matching benchmark,
     or a worker that died or hung
"""


def _int_at_least(low: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{what} must be at least {low}, got {value}")
        return value

    return parse


def _float_in(lo: float, hi: float, what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (lo < value < hi):
            raise argparse.ArgumentTypeError(f"{what} must be between {lo:g} and {hi:g} "
                                             f"(exclusive), got {text}")
        return value

    return parse


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "abtest", help="A/B test two variants (refs and/or ENGINE_* settings) with a "
                       "group-sequential design",
        description="Run benchmarks for variants A and B in randomised ABBA order, sized "
                    "by a power analysis of each benchmark's measured noise, and stop as "
                    "soon as a group-sequential boundary is crossed. Reports the winner "
                    "(or no decision), the lift with its confidence interval, the effect "
                    "size, the achieved power, the samples used and why it stopped.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--a", required=True, metavar="SPEC", help="variant A (the baseline)")
    p.add_argument("--b", required=True, metavar="SPEC", help="variant B (the candidate)")
    p.add_argument("--bench", required=True, action="append", metavar="REGEX",
                   help="benchmarks to test, matched like asv run --bench against "
                        "'name' or 'name(p0, p1)'; repeatable")
    p.add_argument("--alpha", type=_float_in(0, 1, "--alpha"), default=0.05, metavar="P",
                   help="overall false-positive rate, split over the combinations "
                        "(default: 0.05)")
    p.add_argument("--power", type=_float_in(0, 1, "--power"), default=0.8, metavar="P",
                   help="chance to detect a change of --mde (default: 0.8)")
    p.add_argument("--mde", type=_float_in(0, math.inf, "--mde"), default=0.05,
                   metavar="FRACTION", help="smallest relative change worth detecting, "
                                            "0.05 = 5%% (default: 0.05)")
    p.add_argument("--looks", type=_int_at_least(1, "--looks"), default=DEFAULT_LOOKS,
                   metavar="K", help=f"interim analyses, equally spaced (default: {DEFAULT_LOOKS})")
    p.add_argument("--spending", choices=tuple(SPENDING_NAMES), default="obrien-fleming",
                   help="alpha-spending function (default: obrien-fleming)")
    p.add_argument("--pilot", type=_int_at_least(2, "--pilot"), default=DEFAULT_PILOT,
                   metavar="N", help="pilot samples per arm when the history gives no CV, "
                                     f"rounded up to whole ABBA blocks (default: {DEFAULT_PILOT})")
    p.add_argument("--max-samples", type=_int_at_least(3, "--max-samples"), metavar="N",
                   help="cap on samples per arm; the plan then shows the power at the cap")
    p.add_argument("--seed", type=_int_at_least(0, "--seed"), metavar="N",
                   help="seed of the ABBA order (default: from the clock; printed)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan and exit; runs the pilot where no history gives a CV")
    g = p.add_argument_group("project")
    g.add_argument("--asv-config", metavar="PATH", type=Path,
                   help="asv.conf.json (default: the nearest one upwards)")
    g.add_argument("--repo", metavar="PATH", type=Path,
                   help="git repository of the refs (default: asv.conf.json's repo)")
    g.add_argument("--results-dir", metavar="DIR", type=Path,
                   help="asv results with the history CVs (default: asv.conf.json's "
                        "results_dir)")
    g.add_argument("--machine", metavar="NAME",
                   help="asv machine whose history gives CVs (default: this host's name)")
    o = p.add_argument_group("output")
    o.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                   help="output format (default: text)")
    o.add_argument("--output", metavar="FILE", type=Path,
                   help="write to FILE atomically instead of stdout")
    p.set_defaults(func=run_cli)


def _read_asv_conf(path: Path) -> dict[str, Any]:
    from .run import read_asv_conf

    return read_asv_conf(path)


def run_cli(args: argparse.Namespace) -> int:
    from .output import emit
    from .run import find_asv_conf

    spec_a, spec_b = parse_spec(args.a, "--a"), parse_spec(args.b, "--b")
    conf_path = (args.asv_config or find_asv_conf()).resolve()
    conf = _read_asv_conf(conf_path)
    root = conf_path.parent
    repo = (args.repo or root / conf.get("repo", ".")).resolve()
    results_dir = args.results_dir or root / conf.get("results_dir", ".asv/results")
    if args.results_dir is not None and not args.results_dir.is_dir():
        raise UserError("results directory not found", path=str(args.results_dir))
    seed = args.seed if args.seed is not None else time.time_ns() % 1_000_000
    _progress(f"seed {seed} (--seed {seed} repeats this order)")
    settings = Settings(
        spec_a=spec_a, spec_b=spec_b, bench=tuple(args.bench), repo=repo,
        benchmark_dir=(root / conf.get("benchmark_dir", "benchmarks")).resolve(),
        base_env=base_environment(conf), alpha=args.alpha, power=args.power, mde=args.mde,
        looks=args.looks, spending=args.spending, pilot=args.pilot,
        max_samples=args.max_samples, seed=seed,
        machine=args.machine or socket.gethostname(), results_dir=Path(results_dir),
        dry_run=args.dry_run)
    exp, results = run_abtest(settings)
    emit(render(exp, results, args.format), args.output)
    return 0
