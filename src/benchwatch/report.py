"""The comparison report of ``compare`` and ``gate`` in every output format.

One ``Report`` object, one function per format, each built on ``benchwatch.render``.
The JSON document is the contract (documented in site/gate.md): the fields of every
``Comparison`` plus, for the gate, the verdict, the SLA checks and the series the
confirm stage should rerun. The markdown is the PR comment and job summary body.
"""

from __future__ import annotations

import json
import math
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

STATUSES = ("regression", "improvement", "unchanged", "noisy", "failed", "new", "removed",
            "incomparable")


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


def headline(doc: Report) -> str:
    """The one-line verdict."""
    reg = doc.with_status("regression")
    imp = doc.with_status("improvement")
    noisy = doc.with_status("noisy")
    sla_fail = [s for s in doc.sla if s.status != "pass"]
    if doc.kind == "gate":
        worst = max((c.worse_pct for c in reg), default=math.nan)
        if doc.verdict == "fail":
            parts = []
            if reg:
                parts.append(f"{len(reg)} regression{'s' * (len(reg) != 1)} "
                             f"(worst {fmt_pct(worst)})")
            if sla_fail:
                parts.append(f"{len(sla_fail)} SLA check{'s' * (len(sla_fail) != 1)} not met")
            lead = "❌ Performance gate failed: " + ", ".join(parts)
        else:
            lead = "✅ Performance gate passed: no regression beyond its threshold"
    else:
        lead = f"{len(reg)} regressions, {len(imp)} improvements"
    tail = f"; {len(noisy)} too noisy to judge" if noisy else ""
    return (f"{lead}{tail} ({len(doc.comparisons)} series, base {doc.base[:8]}, "
            f"head {doc.head[:8]})")


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


def _check(value: Any, kind: str, nullable: bool, where: str) -> Any:
    from .errors import UserError

    if value is None and nullable:
        return None
    ok = {_STR: isinstance(value, str),
          _NUM: isinstance(value, (int, float)) and not isinstance(value, bool),
          _BOOL: isinstance(value, bool),
          _INT: isinstance(value, int) and not isinstance(value, bool)}[kind]
    if not ok:
        raise UserError(f"report field {where} is not a {kind}")
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
        vals = {f: _check(r.get(f), t, null, f"results[{i}].{f}")
                for f, (t, null) in _RESULT_TYPES.items()}
        if vals["status"] not in STATUSES:
            raise fail(f"results[{i}].status {vals['status']!r} is unknown")
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
            entry=_check(c.get("entry"), _STR, False, f"sla[{i}].entry"),
            criterion=_check(c.get("criterion"), _STR, False, f"sla[{i}].criterion"),
            limit=float(_check(c.get("limit"), _NUM, False, f"sla[{i}].limit")),
            unit=_check(c.get("unit"), _STR, False, f"sla[{i}].unit"),
            observed=_check(c.get("observed"), _NUM, True, f"sla[{i}].observed"),
            where=_check(c.get("benchmark"), _STR, True, f"sla[{i}].benchmark"),
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


def render_markdown(doc: Report) -> str:
    out = [f"**{headline(doc)}**", ""]  # our own words and hex hashes only
    flagged = doc.with_status("regression", "improvement")
    if flagged:
        rows = []
        for c in sorted(flagged, key=lambda c: (c.status != "regression", -abs(c.worse_pct))):
            # names are untrusted (a PR can add any benchmark); the figures are ours
            rows.append([md.escape(c.label()), fmt_value(c.before, c.unit),
                         fmt_value(c.after, c.unit), fmt_change(c), fmt_p(c.p_value),
                         c.status + (f" ({c.severity})" if c.severity else ""),
                         sparkline(c.history + ((c.after,) if c.after else ()))])
        out.append(md.table(HEAD + ["history"], rows, "lrrrrll"))
    sla_fail = [s for s in doc.sla if s.status != "pass"]
    if sla_fail:
        out.append(md.table(["SLA", "benchmark", "limit", "observed", "status"],
                            [[s.criterion, md.escape(_sla_name(s)), f"{s.limit:g}",
                              "-" if s.observed is None else f"{s.observed:.4g}", s.status]
                             for s in sla_fail], "llrrl"))
    rest = [c for c in doc.comparisons if c.status not in ("regression", "improvement")]
    if rest:
        rows = [[md.escape(c.label()), fmt_value(c.before, c.unit), fmt_value(c.after, c.unit),
                 fmt_change(c), fmt_p(c.p_value), c.status,
                 fmt_pct(c.noise_floor_pct, signed=False)] for c in rest]
        out.append(md.details(f"{len(rest)} other series",
                              md.table(HEAD + ["noise floor"], rows, "lrrrrlr")))
    return "\n".join(out)


def render_html(doc: Report) -> str:
    rows = [_row_cells(c, Comparison.label) for c in doc.comparisons]
    return rhtml.page(f"benchwatch {doc.kind} {doc.base[:8]}..{doc.head[:8]}", HEAD, rows,
                      summary=headline(doc), align="lrrrrl")
