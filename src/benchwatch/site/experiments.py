"""Experiment reports (``abtest``, ``configs compare``, ``recommend`` JSON) -> the
Experiments page and its chart data.

The three commands write JSON documents with a ``kind`` field; ``benchwatch site
build --experiment FILE`` (repeatable) hands them to this module. Each document is
checked for the fields the page shows, so a wrong file is one clear error (exit 2)
naming the file and the field, never a template traceback. Like ``pages``, this
module computes no statistics: it arranges what the commands measured.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import UserError

KINDS = ("abtest", "configs", "recommend")
SPENDING_NAMES = {"obrien-fleming": "O'Brien-Fleming", "pocock": "Pocock"}
_NUM = (int, float)

# the fields each kind's page reads: name -> allowed JSON types (None: may be null)
_ABTEST = {"a": (dict,), "b": (dict,), "alpha": _NUM, "power": _NUM, "mde": _NUM,
           "looks": (int,), "spending": (str,), "design": (dict,), "results": (list,)}
_ABTEST_RESULT = {"benchmark": (str,), "params": (list,), "decision": (str,),
                  "winner": (str, None), "reason": (str,), "lift_pct": _NUM + (None,),
                  "ci_low_pct": _NUM + (None,), "ci_high_pct": _NUM + (None,),
                  "effect_size": _NUM + (None,), "achieved_power": _NUM + (None,),
                  "n_a": (int,), "n_b": (int,), "n_max": (int,), "looks": (list,)}
_LOOK = {"index": (int,), "n_a": (int,), "n_b": (int,), "z": _NUM + (None,),
         "boundary": _NUM, "lift_pct": _NUM + (None,)}
_CONFIGS = {"baseline": (str,), "variants": (list,), "families": (list,), "matrix": (list,),
            "ranking": (list,), "optimal": (dict,), "recommendations": (list,)}
_CELL = {"variant": (str,), "family": (str,), "change_pct": _NUM + (None,),
         "ci_low_pct": _NUM + (None,), "ci_high_pct": _NUM + (None,),
         "significant": (bool,), "better": (bool,)}
_RANK = {"variant": (str,), "score": _NUM + (None,), "ci_low": _NUM + (None,),
         "ci_high": _NUM + (None,), "rank": (int,)}
_RECOMMEND = {"recommendations": (list,)}
_FINDING = {"category": (str,), "priority": (str,), "title": (str,), "evidence": (list,),
            "action": (str,), "impact_low_pct": _NUM + (None,),
            "impact_high_pct": _NUM + (None,)}


def _check(obj: Any, fields: dict, path: str, where: str) -> dict:
    if not isinstance(obj, dict):
        raise UserError(f"{where} is not a JSON object", path=path)
    for name, types in fields.items():
        if name not in obj:
            raise UserError(f"{where} has no {name!r}", path=path)
        v = obj[name]
        ok = (v is None and None in types) or (
            v is not None and isinstance(v, tuple(t for t in types if t is not None))
            and not (isinstance(v, bool) and bool not in types))
        if not ok or (isinstance(v, float) and not math.isfinite(v)):
            raise UserError(f"{where}.{name} is {json.dumps(v)[:40]}, not a valid value",
                            path=path)
    return obj


def load(paths) -> tuple[tuple[str, dict], ...]:
    """(file name, document) per file, checked; ``UserError`` names the file and field."""
    out = []
    for p in paths:
        path = str(p)
        try:
            doc = json.loads(Path(p).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read experiment report ({exc})", path=path) from None
        except ValueError as exc:
            raise UserError(f"experiment report is not JSON ({exc})", path=path) from None
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind not in KINDS:
            raise UserError(f"not an experiment report: 'kind' is {json.dumps(kind)}, "
                            f"expected one of {', '.join(KINDS)}", path=path)
        if kind == "abtest":
            _check(doc, _ABTEST, path, "report")
            for i, r in enumerate(doc["results"]):
                _check(r, _ABTEST_RESULT, path, f"results[{i}]")
                for j, look in enumerate(r["looks"]):
                    _check(look, _LOOK, path, f"results[{i}].looks[{j}]")
            fractions = doc["design"].get("fractions")
            bounds = doc["design"].get("boundaries")
            if (not isinstance(fractions, list) or not isinstance(bounds, list)
                    or len(fractions) != len(bounds) or not fractions
                    or not all(isinstance(x, _NUM) for x in fractions + bounds)):
                raise UserError("design.fractions and design.boundaries must be equally "
                                "long lists of numbers", path=path)
        elif kind == "configs":
            _check(doc, _CONFIGS, path, "report")
            for i, c in enumerate(doc["matrix"]):
                _check(c, _CELL, path, f"matrix[{i}]")
            for i, r in enumerate(doc["ranking"]):
                _check(r, _RANK, path, f"ranking[{i}]")
        else:
            _check(doc, _RECOMMEND, path, "report")
            for i, r in enumerate(doc["recommendations"]):
                _check(r, _FINDING, path, f"recommendations[{i}]")
        out.append((Path(p).name, doc))
    return tuple(out)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.1f}%"


def _ci(lo: float | None, hi: float | None) -> str:
    return "" if lo is None or hi is None else f" [{lo:+.1f}%, {hi:+.1f}%]"


def _spec(arm: dict) -> str:
    return str(arm.get("spec") or arm.get("ref") or "?")


def page(docs) -> tuple[dict[str, Any], dict[str, Any]]:
    """(template context, chart data for ``data/experiments.json``)."""
    abtests, configs, recommends, charts = [], [], [], []
    for name, doc in docs:
        if doc["kind"] == "abtest":
            fractions, bounds = doc["design"]["fractions"], doc["design"]["boundaries"]
            rows = []
            for r in doc["results"]:
                label = (f"{r['benchmark']}({', '.join(map(str, r['params']))})"
                         if r["params"] else r["benchmark"])
                by_look = {look["index"]: look for look in r["looks"]}
                charts.append({
                    "label": label,
                    "n": [max(1, round(f * r["n_max"])) for f in fractions],
                    "z": [by_look[k]["z"] if k in by_look else None
                          for k in range(1, len(fractions) + 1)],
                    "lift": [by_look[k]["lift_pct"] if k in by_look else None
                             for k in range(1, len(fractions) + 1)],
                    "boundary": [float(b) for b in bounds]})
                rows.append({
                    "label": label, "chart": len(charts) - 1,
                    "winner": r["winner"] or "no decision",
                    "lift": _pct(r["lift_pct"]) + _ci(r["ci_low_pct"], r["ci_high_pct"]),
                    "d": "n/a" if r["effect_size"] is None else f"{r['effect_size']:.2f}",
                    "power": ("n/a" if r["achieved_power"] is None
                              else f"{r['achieved_power']:.2f}"),
                    "samples": f"{r['n_a']}+{r['n_b']} of {r['n_max']}+{r['n_max']}",
                    "reason": r["reason"], "looks": len(r["looks"])})
            abtests.append({"name": name, "a": _spec(doc["a"]), "b": _spec(doc["b"]),
                            "alpha": doc["alpha"], "power": doc["power"],
                            "mde": 100 * doc["mde"],
                            "spending": SPENDING_NAMES.get(doc["spending"], doc["spending"]),
                            "looks": doc["looks"], "machine": doc.get("machine") or "-",
                            "started": doc.get("started_at") or "-", "rows": rows})
        elif doc["kind"] == "configs":
            families = [str(f) for f in doc["families"]]
            variants = [str(v.get("name")) for v in doc["variants"] if isinstance(v, dict)]
            cells = {(c["variant"], c["family"]): c for c in doc["matrix"]}
            top = max((abs(c["change_pct"]) for c in doc["matrix"]
                       if c["significant"] and c["change_pct"] is not None), default=0.0)
            heat = []
            for v in variants:
                if v == doc["baseline"]:
                    continue
                row = []
                for f in families:
                    c = cells.get((v, f))
                    if c is None or c["change_pct"] is None:
                        row.append({"text": "-", "cls": "", "level": None})
                        continue
                    text = _pct(c["change_pct"]) + _ci(c["ci_low_pct"], c["ci_high_pct"])
                    if not c["significant"]:
                        row.append({"text": text + " n.s.", "cls": "", "level": None})
                    else:
                        row.append({"text": text,
                                    "cls": "bw-better" if c["better"] else "bw-worse",
                                    "level": round(abs(c["change_pct"]) / top, 3)
                                    if top else 0.0})
                heat.append({"variant": v, "cells": row})
            configs.append({
                "name": name, "baseline": doc["baseline"], "families": families, "heat": heat,
                "commit": str(doc.get("commit") or "-")[:8],
                "machine": doc.get("machine") or "-",
                "ranking": [{"rank": r["rank"], "variant": r["variant"],
                             "score": "n/a" if r["score"] is None else f"{r['score']:.3f}",
                             "ci": ("" if r["ci_low"] is None or r["ci_high"] is None
                                    else f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]")}
                            for r in sorted(doc["ranking"], key=lambda r: r["rank"])],
                "overall": doc["optimal"].get("overall") or "-",
                "by_family": sorted((str(k), str(v)) for k, v in
                                    (doc["optimal"].get("by_family") or {}).items()),
                "recommendations": [str(r.get("text", "")) for r in doc["recommendations"]
                                    if isinstance(r, dict)]})
        else:
            order = {"high": 0, "medium": 1, "low": 2}
            findings = sorted(doc["recommendations"],
                              key=lambda r: (order.get(r["priority"], 3), r["title"]))
            recommends.append({
                "name": name,
                "findings": [{
                    "priority": f["priority"], "category": f["category"], "title": f["title"],
                    "action": f["action"],
                    "impact": ("" if f["impact_low_pct"] is None or f["impact_high_pct"] is None
                               else f"{f['impact_low_pct']:.0f}% to {f['impact_high_pct']:.0f}%"),
                    "evidence": [_evidence(e) for e in f["evidence"]]} for f in findings]})
    return ({"abtests": abtests, "configs": configs, "recommends": recommends},
            {"abtests": charts})


def _evidence(e: Any) -> str:
    if not isinstance(e, dict):
        return str(e)
    name = str(e.get("benchmark") or "")
    params = e.get("params")
    if isinstance(params, list) and params:
        name += f"({', '.join(map(str, params))})"
    fig = e.get("figure")
    fig = f"{fig:.4g}" if isinstance(fig, _NUM) and not isinstance(fig, bool) else str(fig or "")
    parts = [p for p in (name, f"{fig} {e.get('unit') or ''}".strip(), str(e.get("note") or ""))
             if p]
    return ": ".join(parts[:2]) + (f" ({parts[2]})" if len(parts) > 2 else "")
