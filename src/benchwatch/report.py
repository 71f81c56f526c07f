"""The comparison report of ``compare`` and ``gate`` in every output format.

One ``Report`` object, one function per format, each built on ``benchwatch.render``.
The JSON document is the contract (documented in site/gate.md): the fields of every
``Comparison`` plus, for the gate, the verdict, the SLA checks and the series the
confirm stage should rerun. The markdown is the PR comment and job summary body.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .compare import Comparison
from .render import csv as rcsv
from .render import html as rhtml
from .render import markdown as md
from .render import text as rtext

SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Report:
    kind: str  # compare | gate
    base: str
    head: str
    comparisons: tuple[Comparison, ...]
    verdict: str | None = None  # gate: pass | fail
    suite: str | None = None
    sla: tuple = ()  # benchwatch.run.Check, one per (suite entry, criterion)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def with_status(self, *statuses: str) -> list[Comparison]:
        return [c for c in self.comparisons if c.status in statuses]

    @property
    def inconclusive(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.inconclusive]


FIELDS = ("benchmark", "params", "machine", "env", "unit", "before", "after", "ratio",
          "change_pct", "ci_low_pct", "ci_high_pct", "p_value", "effect_size", "method",
          "status", "severity", "threshold_pct", "noise_floor_pct", "mde_pct", "noise_source",
          "inconclusive", "n_before", "n_after", "higher_is_better", "history")

STATUSES = ("regression", "improvement", "unchanged", "noisy", "failed", "missing", "new",
            "removed", "incomparable")


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, tuple):
        return [_clean(x) for x in v]
    return v


def to_dict(doc: Report) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": doc.kind}
    if doc.verdict is not None:
        out["verdict"] = doc.verdict
    out.update(base=doc.base, head=doc.head)
    if doc.suite:
        out["suite"] = doc.suite
    counts: dict[str, int] = {}
    for c in doc.comparisons:
        counts[c.status] = counts.get(c.status, 0) + 1
    out["counts"] = dict(sorted(counts.items()))
    out["results"] = [{f: _clean(getattr(c, f)) for f in FIELDS} for c in doc.comparisons]
    if doc.kind == "gate":
        out["sla"] = [{"entry": s.entry, "criterion": s.criterion, "limit": s.limit,
                       "unit": s.unit, "observed": _clean(s.observed), "benchmark": s.where,
                       "status": s.status} for s in doc.sla]
        out["confirm"] = [{"benchmark": c.benchmark, "params": list(c.params),
                           "machine": c.machine, "env": c.env} for c in doc.inconclusive]
    if doc.notes:
        out["notes"] = list(doc.notes)
    return out


def fmt_pct(v: float, signed: bool = True) -> str:
    if not math.isfinite(v):
        return "n/a"
    return f"{v:+.1f}%" if signed else f"{v:.1f}%"


def fmt_change(c: Comparison) -> str:
    """``+12.3% [+8.1%, +16.9%]``: the estimate and its 95 % interval."""
    if not math.isfinite(c.change_pct):
        return "n/a"
    if not math.isfinite(c.ci_low_pct):
        return fmt_pct(c.change_pct)
    return f"{fmt_pct(c.change_pct)} [{fmt_pct(c.ci_low_pct)}, {fmt_pct(c.ci_high_pct)}]"


def fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_value(v: float | None, unit: str | None) -> str:
    if v is None:
        return "failed"
    if not math.isfinite(v):
        return "n/a"
    if unit == "seconds":
        for scale, name in ((1, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
            if abs(v) >= scale or scale == 1e-9:
                return f"{v / scale:.3g} {name}"
    if unit == "bytes":
        for scale, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "B")):
            if abs(v) >= scale or scale == 1:
                return f"{v / scale:.3g} {name}"
    return f"{v:.4g}" + (f" {unit}" if unit and unit not in ("unit",) else "")


def sparkline(values: tuple[float, ...]) -> str:
    v = [x for x in values if math.isfinite(x)]
    if len(v) < 2:
        return ""
    lo, hi = min(v), max(v)
    if hi == lo:
        return SPARKS[3] * len(v)
    return "".join(SPARKS[min(7, int((x - lo) / (hi - lo) * 8))] for x in v)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def headline(doc: Report) -> str:
    """The one-line verdict: ``❌ Performance gate failed: 2 regressions (1 critical; worst
    +61.0%) · ✅ 3 improvements · 41 unchanged (46 series, base ..., head ...)``.

    Plain text (the check run's title too): only our words, counts and hex hashes.
    """
    return f"{_verdict_lead(doc)}{_counts(doc.comparisons, doc.sla)} " \
           f"({len(doc.comparisons)} series, base {doc.base[:8]}, head {doc.head[:8]})"


def _verdict_lead(doc: Report) -> str:
    if doc.kind != "gate":
        return "Compared: "
    if doc.verdict == "fail":
        return "❌ Performance gate failed: "
    return "✅ Performance gate passed: "


def _counts(comps, sla=()) -> str:
    by: dict[str, int] = {}
    for c in comps:
        by[c.status] = by.get(c.status, 0) + 1
    reg = [c for c in comps if c.status == "regression"]
    part = _plural(len(reg), "regression")
    sev = [f"{n} {name}" for name in ("critical", "major", "minor")
           if (n := sum(c.severity == name for c in reg))]
    if reg:
        worst = max((c.worse_pct for c in reg), default=math.nan)
        detail = ", ".join(sev)
        if math.isfinite(worst):
            detail += ("; " if detail else "") + f"worst {fmt_pct(worst)}"
        part += f" ({detail})" if detail else ""
    parts = [part]
    n_imp = by.get("improvement", 0)
    parts.append(("✅ " if n_imp else "") + _plural(n_imp, "improvement"))
    parts.append(f"{by.get('unchanged', 0)} unchanged")
    if by.get("noisy"):
        parts.append(f"⚠️ {by['noisy']} too noisy to judge")
    if by.get("failed"):
        parts.append(f"💥 {by['failed']} failed")
    if by.get("missing"):
        parts.append(f"❌ {by['missing']} missing at HEAD")
    for status in ("new", "removed", "incomparable"):
        if by.get(status):
            parts.append(f"{by[status]} {status}")
    n_sla = sum(s.status != "pass" for s in sla)
    if n_sla:
        parts.append(f"{_plural(n_sla, 'SLA check')} not met")
    return " · ".join(parts)


# --------------------------------------------------------------------------- reading back

_STR, _NUM, _BOOL, _INT = "string", "number", "boolean", "integer"
_RESULT_TYPES: dict[str, tuple[str, bool]] = {  # field -> (type, may be null)
    "benchmark": (_STR, False), "machine": (_STR, False), "env": (_STR, False),
    "unit": (_STR, True), "before": (_NUM, True), "after": (_NUM, True),
    "ratio": (_NUM, True), "change_pct": (_NUM, True), "ci_low_pct": (_NUM, True),
    "ci_high_pct": (_NUM, True), "p_value": (_NUM, True), "effect_size": (_NUM, True),
    "method": (_STR, False), "status": (_STR, False), "severity": (_STR, True),
    "threshold_pct": (_NUM, False), "noise_floor_pct": (_NUM, True), "mde_pct": (_NUM, True),
    "noise_source": (_STR, False), "inconclusive": (_BOOL, False), "n_before": (_INT, False),
    "n_after": (_INT, False), "higher_is_better": (_BOOL, False),
}


def _check(value: Any, kind: str, nullable: bool, where: str, path: str | None = None) -> Any:
    from .errors import UserError

    if value is None and nullable:
        return None
    ok = {_STR: isinstance(value, str),
          _NUM: isinstance(value, (int, float)) and not isinstance(value, bool),
          _BOOL: isinstance(value, bool),
          _INT: isinstance(value, int) and not isinstance(value, bool)}[kind]
    if not ok:
        raise UserError(f"report field {where} is not a {kind}", path=path)
    return value


def from_dict(doc: Any, path: str = "report") -> Report:
    """A ``Report`` from its JSON document, every field type-checked.

    The comment workflow receives the report from an untrusted run as an artifact:
    it re-renders from these checked values instead of trusting any markdown.
    """
    from .errors import UserError
    from .run import Check

    def fail(msg: str) -> UserError:
        return UserError(msg, path=path)

    def check(value: Any, kind: str, nullable: bool, where: str) -> Any:
        return _check(value, kind, nullable, where, path)

    if not isinstance(doc, dict):
        raise fail("report is not a JSON object")
    kind = doc.get("kind")
    if kind not in ("gate", "compare"):
        raise fail("report 'kind' must be 'gate' or 'compare'")
    for key in ("base", "head"):
        if not isinstance(doc.get(key), str) or not doc[key] or \
                not all(ch in "0123456789abcdef" for ch in doc[key]):
            raise fail(f"report '{key}' must be a hex commit hash")
    verdict = doc.get("verdict")
    if kind == "gate" and verdict not in ("pass", "fail"):
        raise fail("report 'verdict' must be 'pass' or 'fail'")
    if not isinstance(doc.get("results"), list):
        raise fail("report 'results' must be a list")
    comps = []
    for i, r in enumerate(doc["results"]):
        if not isinstance(r, dict):
            raise fail(f"results[{i}] is not an object")
        vals = {f: check(r.get(f), t, null, f"results[{i}].{f}")
                for f, (t, null) in _RESULT_TYPES.items()}
        for key, allowed in (("status", STATUSES), ("severity", (None, "minor", "major",
                                                                  "critical")),
                             ("method", ("bootstrap", "asv-ci", "values", "none")),
                             ("noise_source", ("history", "run", "samples", "aa", "none"))):
            if vals[key] not in allowed:
                raise fail(f"results[{i}].{key} {vals[key]!r} is unknown")
        params = r.get("params")
        history = r.get("history", [])
        if not (isinstance(params, list) and all(isinstance(x, str) for x in params)):
            raise fail(f"results[{i}].params must be a list of strings")
        if not (isinstance(history, list) and all(
                x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))
                for x in history)):
            raise fail(f"results[{i}].history must be a list of numbers")
        nan = math.nan
        num = {k: (nan if vals[k] is None else float(vals[k])) for k in
               ("ratio", "change_pct", "ci_low_pct", "ci_high_pct", "p_value", "effect_size",
                "noise_floor_pct", "mde_pct")}
        comps.append(Comparison(
            benchmark=vals["benchmark"], params=tuple(params), machine=vals["machine"],
            env=vals["env"], unit=vals["unit"], higher_is_better=vals["higher_is_better"],
            before=vals["before"], after=vals["after"], method=vals["method"],
            status=vals["status"], severity=vals["severity"],
            threshold_pct=float(vals["threshold_pct"]), noise_source=vals["noise_source"],
            inconclusive=vals["inconclusive"], n_before=vals["n_before"],
            n_after=vals["n_after"],
            history=tuple(nan if x is None else float(x) for x in history[-20:]), **num))
    sla = []
    for i, c in enumerate(doc.get("sla") or []):
        if not isinstance(c, dict) or c.get("status") not in ("pass", "fail", "missing"):
            raise fail(f"sla[{i}] is not a check with status pass, fail or missing")
        sla.append(Check(
            entry=check(c.get("entry"), _STR, False, f"sla[{i}].entry"),
            criterion=check(c.get("criterion"), _STR, False, f"sla[{i}].criterion"),
            limit=float(check(c.get("limit"), _NUM, False, f"sla[{i}].limit")),
            unit=check(c.get("unit"), _STR, False, f"sla[{i}].unit"),
            observed=check(c.get("observed"), _NUM, True, f"sla[{i}].observed"),
            where=check(c.get("benchmark"), _STR, True, f"sla[{i}].benchmark"),
            status=c["status"]))
    suite = doc.get("suite")
    return Report(kind=kind, base=doc["base"], head=doc["head"], comparisons=tuple(comps),
                  verdict=verdict if kind == "gate" else None,
                  suite=suite if isinstance(suite, str) else None, sla=tuple(sla))


# --------------------------------------------------------------------------- formats

def render(doc: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_dict(doc), indent=2, allow_nan=False) + "\n"
    if fmt == "markdown":
        return render_markdown(doc)
    if fmt == "csv":
        fields = [f for f in FIELDS if f != "history"]  # one value per cell
        rows = [[_csv_cell(getattr(c, f)) for f in fields] for c in doc.comparisons]
        return rcsv.table(fields, rows)
    if fmt == "html":
        return render_html(doc)
    return render_text(doc)


def _csv_cell(v: Any) -> Any:
    v = _clean(v)
    if isinstance(v, list):
        return ", ".join(v)
    return "" if v is None else v


def _row_cells(c: Comparison, name) -> list[str]:
    return [name(c), fmt_value(c.before, c.unit), fmt_value(c.after, c.unit), fmt_change(c),
            fmt_p(c.p_value), c.status + (f" ({c.severity})" if c.severity else "")]


HEAD = ["benchmark", "before", "after", "change [95% CI]", "p", "status"]


def render_text(doc: Report) -> str:
    out = [headline(doc), ""]
    order = {"regression": 0, "noisy": 1, "failed": 2, "improvement": 3}
    comps = sorted(doc.comparisons, key=lambda c: (order.get(c.status, 9), c.label()))
    out.append(rtext.table(HEAD, [_row_cells(c, Comparison.label) for c in comps],
                           "lrrrrl"))
    if doc.sla:
        out.append("SLA checks at HEAD:")
        out.append(rtext.table(["entry", "criterion", "benchmark", "limit", "observed", "status"],
                               [[s.entry, s.criterion, _sla_name(s), f"{s.limit:g}",
                                 "-" if s.observed is None else f"{s.observed:.4g}", s.status]
                                for s in doc.sla], "lllrrl"))
    if doc.inconclusive:
        out.append(f"{len(doc.inconclusive)} series are inconclusive; "
                   "'benchwatch gate --confirm' lists them for a rerun with more rounds.")
    return "\n".join(out)


def _sla_name(s) -> str:
    return s.where or "-"


_PY = re.compile(r"py(?:thon)?-?(\d+(?:\.\d+)*)")
_NUMBA = re.compile(r"numba[-_=]?(\d+(?:\.\d+)*)")


def benchmark_url(site_url: str, benchmark: str) -> str | None:
    """``<site-url>/benchmarks/<benchmark name>/``: a benchmark's page on the history site.

    The name is percent-encoded whole (dots stay), so it cannot add a path segment, a
    query or leave the markdown link.
    """
    from urllib.parse import quote

    if benchmark in (".", ".."):
        return None
    return f"{site_url.rstrip('/')}/benchmarks/{quote(benchmark, safe='')}/"


def _md_value(v: float | None, unit: str | None) -> str:
    # the unit comes from the report (untrusted): escaped unless it is one fmt_value knows
    return fmt_value(v, unit if unit in (None, "seconds", "bytes") else md.escape(unit))


def _md_values(c: Comparison) -> list[str]:
    """before and after; a side that does not exist is a dash, not "failed"."""
    return ["-" if c.status == "new" else _md_value(c.before, c.unit),
            "-" if c.status in ("removed", "missing") else _md_value(c.after, c.unit)]


def _md_name(c: Comparison, site_url: str | None) -> str:
    name = md.escape(c.label())  # names are untrusted (a PR can add any benchmark)
    url = benchmark_url(site_url, c.benchmark) if site_url else None
    return f"[{name}]({url})" if url else name


def _machine_section(comps: list[Comparison], site_url: str | None) -> list[str]:
    out = []
    flagged = [c for c in comps if c.status in ("regression", "improvement")]
    if flagged:
        rows = []
        for c in sorted(flagged, key=lambda c: (c.status != "regression", -abs(c.worse_pct))):
            sev = f" ({md.escape(c.severity)})" if c.severity else ""
            rows.append([_md_name(c, site_url), *_md_values(c), fmt_change(c),
                         fmt_p(c.p_value),
                         c.status + sev,
                         sparkline(c.history + ((c.after,) if c.after else ()))])
        out.append(md.table(HEAD + ["history"], rows, "lrrrrll"))
    noisy = [c for c in comps if c.status == "noisy"]
    if noisy:
        out.append("**⚠️ Too noisy to judge.** The smallest change these series can reveal "
                   "is above their threshold, so this run can neither pass nor fail them "
                   "(benchwatch calibrate says what would fix it):\n")
        for c in noisy:
            out.append(f"- {_md_name(c, site_url)}: change {fmt_change(c)}; detectable from "
                       f"{fmt_pct(c.mde_pct, signed=False)} (noise floor "
                       f"{fmt_pct(c.noise_floor_pct, signed=False)}), threshold "
                       f"{fmt_pct(c.threshold_pct, signed=False)}")
        out.append("")
    failed = [c for c in comps if c.status == "failed"]
    if failed:
        out.append("**💥 Failed at head** (the benchmark raised or timed out): "
                   + ", ".join(_md_name(c, site_url) for c in failed) + "\n")
    rest = [c for c in comps if c.status not in ("regression", "improvement")]
    if rest:
        rows = [[_md_name(c, site_url), *_md_values(c), fmt_change(c), fmt_p(c.p_value),
                 c.status,
                 fmt_pct(c.noise_floor_pct, signed=False)] for c in rest]
        out.append(md.details(f"{len(rest)} other series",
                              md.table(HEAD + ["noise floor"], rows, "lrrrrlr")))
    return out


def _environment(doc: Report) -> str:
    envs: dict[tuple[str, str], int] = {}
    for c in doc.comparisons:
        envs[(c.machine, c.env)] = envs.get((c.machine, c.env), 0) + 1
    rows = []
    for (machine, env), n in sorted(envs.items()):
        py, nb = _PY.search(env), _NUMBA.search(env)
        rows.append([md.escape(machine), md.escape(env), md.escape(py.group(1)) if py else "",
                     md.escape(nb.group(1)) if nb else "", str(n)])
    body = md.table(["machine", "environment", "Python", "numba", "series"], rows, "llllr")
    body += f"\nbase `{doc.base}` · head `{doc.head}`"  # hex, checked by from_dict
    if doc.suite:
        body += f" · suite {md.escape(doc.suite)}"
    return md.details("Machines, environments and commits", body + "\n")


def render_markdown(doc: Report, site_url: str | None = None) -> str:
    """The PR comment and job summary: headline, changes, noisy, SLAs, the rest folded.

    Every name, unit and environment is escaped: the report may come from an untrusted
    PR run. ``site_url`` links each benchmark to ``benchmark_url`` on the history site.
    Several machines get one section each.
    """
    out = [f"**{headline(doc)}**", ""]  # our own words and hex hashes only
    machines = sorted({c.machine for c in doc.comparisons})
    for machine in machines:
        comps = [c for c in doc.comparisons if c.machine == machine]
        if len(machines) > 1:
            out.append(f"### {md.escape(machine)}\n\n{_counts(comps)}\n")
        out.extend(_machine_section(comps, site_url))
    sla_fail = [s for s in doc.sla if s.status != "pass"]
    if sla_fail:
        out.append("**SLA checks not met at head:**\n")
        out.append(md.table(["entry", "SLA", "benchmark", "limit", "observed", "status"],
                            [[md.escape(s.entry), md.escape(s.criterion),
                              md.escape(_sla_name(s)), f"{s.limit:g} {md.escape(s.unit)}",
                              "-" if s.observed is None else f"{s.observed:.4g}", s.status]
                             for s in sla_fail], "lllrrl"))
    if doc.comparisons:
        out.append(_environment(doc))
    return "\n".join(out)


def render_html(doc: Report) -> str:
    rows = [_row_cells(c, Comparison.label) for c in doc.comparisons]
    return rhtml.page(f"benchwatch {doc.kind} {doc.base[:8]}..{doc.head[:8]}", HEAD, rows,
                      summary=headline(doc), align="lrrrrl")
