"""The Downloads page's single-file report of the latest run, and its PDF.

``report.html`` is one file a maintainer can attach to a release issue or mail: inline
CSS, no script, no image, no link it needs to load. It holds the newest commit's run
(suite duration, every series' value there against its previous result, trend), the
open regressions and the gate reports given to the build. ``report.pdf`` is the same
page printed by headless Chromium (Debian's ``chromium``), so the two never disagree.

Like ``pages``, it computes no statistics: it arranges finished analysis objects.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..errors import UserError

#: Environment variable naming the Chromium binary (else ``chromium`` on PATH).
CHROMIUM_ENV = "BENCHWATCH_CHROMIUM"
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT_S = 120


def latest_rows(ctx) -> tuple[str | None, list[dict[str, Any]], int]:
    """(newest commit, one row per series measured there, series not measured there).

    Each row has the series' value at the newest commit, its previous finite value and
    the change between them in % (a plain ratio, not a verdict: verdicts are the gate's
    and the change-point analysis's).
    """
    from ..report import fmt_pct, fmt_value
    from .pages import label

    if not ctx.order:
        return None, [], 0
    newest = ctx.order[-1]
    trend = {(t.benchmark, t.params, t.machine, t.env, t.version): t for t in ctx.trends}
    rows, missing = [], 0
    for s in ctx.series:
        at = [i for i, c in enumerate(s.commits) if c == newest]
        if not at:
            missing += 1
            continue
        row = s.rows[at[-1]]
        prev = next((r for r in reversed(s.rows[:at[-1]]) if r.ok), None)
        change = None
        if row.ok and prev is not None and prev.value:
            change = 100.0 * (row.value / prev.value - 1.0)
        tr = trend.get(ctx.series_key(s))
        rows.append({"name": label(s.benchmark, s.params), "machine": s.machine,
                     "env": s.env, "value": fmt_value(row.value, s.unit),
                     "previous": fmt_value(prev.value, s.unit) if prev else "-",
                     "change": fmt_pct(change) if change is not None else "-",
                     "trend": tr.direction if tr else "-"})
    return newest, rows, missing


def render(ctx, html_env) -> str:
    """The report page (``templates/report.html.j2``, autoescaped)."""
    from ..report import fmt_change, fmt_p, fmt_value
    from .pages import cards, change_rows, day, label, newest_change_ids, status_of

    newest, rows, missing = latest_rows(ctx)
    newest_ids = newest_change_ids(ctx.changes)
    open_regressions = [
        {"date": day(c.date), "name": label(c.benchmark, c.params), "machine": c.machine,
         "commits": f"{c.previous_commit[:8]}...{c.commit[:8]}",
         "before": fmt_value(c.before, c.unit), "after": fmt_value(c.after, c.unit),
         "change": r["change"], "p": r["p"]}
        for c, r in zip(ctx.changes, change_rows(ctx, ctx.changes))
        if status_of(c, ctx.annotations, id(c) in newest_ids) == "open"]
    reports = []
    for name, rep in ctx.reports:
        # every series but the unchanged ones: those are the bulk and say nothing
        shown = [x for x in rep.comparisons if x.status != "unchanged"]
        reports.append({
            "name": name, "kind": rep.kind, "verdict": rep.verdict or "-",
            "base": rep.base[:8], "head": rep.head[:8],
            "counts": _counts(x.status for x in rep.comparisons),
            "rows": [{"name": x.label(), "machine": x.machine, "status": x.status,
                      "before": fmt_value(x.before, x.unit), "after": fmt_value(x.after, x.unit),
                      "change": fmt_change(x), "p": fmt_p(x.p_value)} for x in shown],
            "sla": [{"entry": c.entry, "criterion": c.criterion, "where": c.where or "-",
                     "limit": f"{c.limit:.6g} {c.unit}",
                     "observed": "-" if c.observed is None else f"{c.observed:.6g} {c.unit}",
                     "status": c.status} for c in rep.sla]})
    return html_env.get_template("report.html.j2").render(
        newest=newest or "-", date=day(ctx.dates.get(newest)) if newest else "-",
        cards=cards(ctx), rows=rows, missing=missing, regressions=open_regressions,
        reports=reports, machines=sorted({s.machine for s in ctx.series}))


def _counts(statuses) -> str:
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no series"


def find_chromium() -> str | None:
    """``$BENCHWATCH_CHROMIUM``, else the first Chromium on PATH; ``None`` when none."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    return next((p for p in map(shutil.which, _CANDIDATES) if p), None)


def print_pdf(html: Path, pdf: Path, chromium: str) -> None:
    """Print ``html`` to ``pdf`` with headless Chromium.

    The page is our own escaped HTML, and its Content-Security-Policy allows no script
    and no fetch (Chromium 156 cannot print with ``--blink-settings=scriptEnabled=false``,
    so the policy is what keeps scripts off). The browser gets a throwaway profile. As
    root Chromium refuses to start without ``--no-sandbox``, so that flag is added only
    then.
    """
    with tempfile.TemporaryDirectory(prefix="benchwatch-chromium-") as profile:
        tmp = pdf.with_name(f".{pdf.name}.tmp")
        cmd = [chromium, "--headless", "--disable-gpu", "--no-first-run",
               "--no-pdf-header-footer",
               f"--user-data-dir={profile}", f"--print-to-pdf={tmp}",
               html.resolve().as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                                  timeout=PDF_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            tmp.unlink(missing_ok=True)
            raise UserError(f"chromium did not print the report within {PDF_TIMEOUT_S} s",
                            path=str(html)) from None
        except OSError as exc:
            raise UserError(f"cannot run chromium ({exc.strerror})", path=chromium) from None
        ok = tmp.is_file() and tmp.read_bytes()[:5] == b"%PDF-"
        if proc.returncode != 0 or not ok:
            tmp.unlink(missing_ok=True)
            tail = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()][-3:]
            raise UserError("chromium could not print the report to PDF:\n  "
                            + "\n  ".join(tail or [f"exit {proc.returncode}"]),
                            path=str(html))
        os.replace(tmp, pdf)
