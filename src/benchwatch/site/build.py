"""``benchwatch site build|serve``: the history site from asv results and ``site/``.

1. The results are analysed (``history``, ``changes``, ``trends``, ``calibrate``,
   gate reports, ``configs/annotations.yaml``).
2. ``site/`` is copied to a temporary build directory; the generated pages (jinja2
   templates in ``templates/``), the per-benchmark JSON shards, the downloads and the
   Atom feed are written there. The tracked ``site/`` is never written.
3. ``mkdocs build --strict`` runs on a derived config that inherits ``mkdocs.yml`` and
   points ``docs_dir`` at the build copy (and adds the Guide tab when ``site/guide/``
   exists), into a staging directory next to ``--out``.
4. ``asv publish`` writes asv's own site into ``<out>/asv/`` (``--no-asv`` skips it).
5. The staging directory replaces ``--out``: a failed build leaves the old site.

It parses no asv JSON and computes no statistics of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError

MARKER = ".benchwatch-site"
TEMPLATES = Path(__file__).with_name("templates")
#: Preferred order of the hand-written guide pages; others follow by name.
GUIDE_ORDER = ("overview", "quick-start", "quickstart", "architecture", "benchmarks",
               "configuration", "sla-and-gates", "statistics", "methods", "action",
               "runner-setup", "best-practices", "interpreting", "troubleshooting",
               "json-formats")
#: Generated paths inside the docs copy; a tracked file of the same name is an error.
# benchmarks.md would share /benchmarks/ with the generated benchmarks/index.md, and mkdocs
# silently keeps only one of them
GENERATED = ("index.md", "benchmarks", "benchmarks.md", "regressions.md", "regressions.xml",
             "comparisons.md", "experiments.md", "noise.md", "downloads", "asv-site.md",
             "data")

EPILOG = """\
examples:
  benchwatch site build                                  results of ./asv.conf.json -> build/site
  benchwatch site build --results-dir results --no-asv --out /tmp/site
  benchwatch site build --report gate.json --suite production-comprehensive
  benchwatch site serve --port 8000                      build, then serve on localhost

exit codes:
  0  the site was built (and served until interrupted)
  2  usage, config or data error, or mkdocs/asv publish failed (their messages follow)

The generated pages, shard fields and options are documented in site/site-builder.md.
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "site", help="build or serve the history site (mkdocs-material + asv publish)",
        description="Build the static history site: generated dashboard, benchmark, "
                    "regression, comparison, noise and download pages plus per-benchmark "
                    "chart data, the hand-written docs in site/, and asv's own HTML.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="site_command", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="build the site into --out",
                       description="Generate the pages, run mkdocs build --strict and "
                                   "asv publish.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _options(b)
    b.set_defaults(func=run_build)
    s = sub.add_parser("serve", help="build, then serve the site on localhost",
                       description="Build the site, then serve --out over HTTP until "
                                   "interrupted (Ctrl-C).", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _options(s)
    s.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    s.add_argument("--bind", default="127.0.0.1", help="address (default: 127.0.0.1)")
    s.set_defaults(func=run_serve)


def _options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("results")
    g.add_argument("--results-dir", metavar="DIR", type=Path,
                   help="asv results directory (default: results_dir of ./asv.conf.json)")
    g.add_argument("--machine", metavar="NAME", help="only this asv machine (default: all)")
    g.add_argument("--repo", metavar="PATH", type=Path,
                   help="git repository for commit order and asv publish "
                        "(default: order by result date; asv publish uses the asv config's)")
    g.add_argument("--strict", action="store_true",
                   help="a bad result file is an error (exit 2) instead of a warning")
    s = p.add_argument_group("site")
    s.add_argument("--out", metavar="DIR", type=Path,
                   help="output directory (default: site_dir of mkdocs.yml, build/site)")
    s.add_argument("--config", metavar="FILE", type=Path,
                   help="mkdocs config (default: ./mkdocs.yml or the nearest above)")
    s.add_argument("--asv-config", metavar="FILE", type=Path,
                   help="asv config for asv publish and commit links (default: the nearest "
                        "asv.conf.json)")
    s.add_argument("--no-asv", action="store_true", help="skip asv publish")
    s.add_argument("--report", metavar="FILE", type=Path, action="append", default=[],
                   help="a gate/compare JSON report for the Comparisons page (repeatable)")
    s.add_argument("--experiment", metavar="FILE", type=Path, action="append", default=[],
                   help="an abtest, configs compare or recommend JSON report for the "
                        "Experiments page (repeatable)")
    s.add_argument("--annotations", metavar="FILE", type=Path,
                   help="acknowledged/expected regressions (default: configs/annotations.yaml "
                        "next to mkdocs.yml)")
    s.add_argument("--suite", metavar="NAME[:VERSION]",
                   help="draw this suite's SLA limits and use its gate thresholds")
    s.add_argument("--suite-config", metavar="FILE", type=Path,
                   help="suite config (default: configs/suites.yaml)")
    s.add_argument("--repo-url", metavar="URL",
                   help="repository URL for compare links (default: from the asv config's "
                        "show_commit_url)")
    s.add_argument("--trend-days", metavar="N", type=int, default=30,
                   help="trend window in days (default: 30)")
    s.add_argument("--pdf", choices=("auto", "yes", "no"), default="auto",
                   help="print downloads/report.pdf with headless Chromium: auto (when "
                        "chromium is found; $BENCHWATCH_CHROMIUM names one), yes (missing "
                        "chromium is an error), no (default: auto)")


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Options:
    """What ``build`` needs; tests build one directly instead of going through argparse."""

    results_dir: Path
    out: Path
    mkdocs_config: Path
    asv_config: Path | None = None
    publish_asv: bool = True
    machine: str | None = None
    repo: Path | None = None
    strict: bool = False
    reports: tuple[Path, ...] = ()
    annotations: Path | None = None
    suite: str | None = None
    suite_config: Path | None = None
    repo_url: str | None = None
    trend_days: int = 30
    pdf: str = "auto"  # auto | yes | no: print downloads/report.pdf with Chromium
    experiments: tuple[Path, ...] = ()  # abtest / configs / recommend JSON reports


@dataclass
class Timings:
    phases: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, start: float) -> float:
        now = time.perf_counter()
        self.phases[name] = self.phases.get(name, 0.0) + now - start
        return now


@dataclass(frozen=True)
class Result:
    out: Path
    pages: int  # generated markdown pages
    shards: int
    series: int
    change_points: int
    asv_published: bool
    timings: dict[str, float]
    pdf: bool = False  # downloads/report.pdf was printed


def _read_asv_conf(path: Path) -> dict:
    from ..run import read_asv_conf

    return read_asv_conf(path)


def repo_url_of(conf: dict) -> str | None:
    """The repository's web URL from asv's ``show_commit_url`` (``.../commit/``)."""
    url = conf.get("show_commit_url")
    if isinstance(url, str) and re.search(r"/commits?/?$", url):
        return re.sub(r"/commits?/?$", "", url)
    return None


def load_reports(paths) -> tuple:
    from ..report import from_dict

    out = []
    for path in paths:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read report ({exc})", path=str(path)) from None
        except ValueError as exc:
            raise UserError(f"report is not JSON ({exc})", path=str(path)) from None
        out.append((Path(path).name, from_dict(doc, str(path))))
    return tuple(out)


def sla_lines(series, suite: str | None, suite_config: Path | None,
              axes: dict | None = None) -> tuple[dict, dict | None]:
    """(series key -> ((label, limit), ...), gate thresholds) of ``suite``.

    A limit applies to a series exactly when ``benchwatch run`` would check it against
    that limit: the entry selects the benchmark and its parameter combination
    (``run.select``, with the suite's ``input_sizes``/``batch_sizes``/... restrictions
    mapped onto asv params by name), and the method qualifies for the criterion
    (``run.CRITERIA``). ``axes`` gives each benchmark's param names and values
    (``results.param_axes``); a benchmark missing from it is not restricted.
    """
    if not suite:
        return {}, None
    from .. import suite_config as sc
    from ..cli_config import find_config
    from ..compare import thresholds_of
    from ..run import CRITERIA, BenchParams, _qualifies, select

    resolved = sc.resolve(sc.load(suite_config or find_config()), suite)
    known: dict[str, BenchParams] = {}
    for s in series:
        if s.benchmark in known:
            continue
        names, values = (axes or {}).get(s.benchmark, ((), ()))
        if len(names) != len(s.params):  # unknown to benchmarks.json: no restriction
            names = tuple(f"param{i + 1}" for i in range(len(s.params)))
            values = tuple(tuple(sorted({x.params[i] for x in series
                                         if x.benchmark == s.benchmark
                                         and len(x.params) == len(names)}))
                           for i in range(len(names)))
        known[s.benchmark] = BenchParams(names, values)
    selections = select(resolved, known)
    entries = {e.name: e for e in resolved.benchmarks}
    out: dict[tuple, list] = {}
    for s in series:
        meth = s.benchmark.rpartition(".")[2]
        for sel in selections:
            if sel.benchmark != s.benchmark or not sel.matches(s.params):
                continue
            criteria = entries[sel.entry].success_criteria.to_dict()
            for criterion, (_, qual, unit) in CRITERIA.items():
                limit = criteria.get(criterion)
                if limit is None or not _qualifies(meth, qual):
                    continue
                key = (s.benchmark, s.params, s.machine, s.env, s.version)
                out.setdefault(key, []).append(
                    (f"{sel.entry}: {criterion} {float(limit):.12g} {unit}", float(limit)))
    return {k: tuple(v) for k, v in out.items()}, thresholds_of(resolved.gates)


# --------------------------------------------------------------------------- writing


def _json(obj: Any) -> str:
    """Compact JSON whose text never holds ``<``, ``>`` or ``&`` (so no name in it can
    read as markup even if a file is opened as HTML)."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _envs():
    import jinja2
    from markupsafe import Markup

    from ..render import html
    from .pages import text

    loader = jinja2.FileSystemLoader(str(TEMPLATES))

    def finalize(v: Any) -> Any:
        # markdown templates: every value is escaped unless it is already Markup
        return v if isinstance(v, Markup) else text(v)

    md_env = jinja2.Environment(loader=loader, autoescape=False, finalize=finalize,
                                trim_blocks=True, lstrip_blocks=True,
                                keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    html_env = jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True,
                                  lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                                  finalize=html.finalize)
    return md_env, html_env


def _safe_title(name: str) -> str:
    """A page title with no markup characters: mkdocs themes print titles unescaped."""
    return re.sub(r"[^\w.,:()\[\] +=-]", "_", name)[:200]


def generate(ctx, docs: Path, timings: Timings,
             chromium: str | None = None) -> tuple[int, int, bool]:
    """Write the generated pages and data into the docs copy; (pages, shards, whether
    the PDF report was printed, which needs ``chromium``)."""
    from markupsafe import Markup

    from .. import changes as changes_mod
    from ..report import fmt_value
    from . import pages, shards, standalone

    t = time.perf_counter()
    md_env, html_env = _envs()
    written = 0

    def put(rel: str, text: str) -> None:
        path = docs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def page(rel: str, template: str, **kw: Any) -> None:
        nonlocal written
        put(rel, md_env.get_template(template).render(**kw))
        written += 1

    rank = {c: i for i, c in enumerate(ctx.order)}
    by_bench: dict[str, list] = {}
    for s in ctx.series:
        by_bench.setdefault(s.benchmark, []).append(s)
    changes_by_key: dict[tuple, list] = {}
    for c in ctx.changes:
        changes_by_key.setdefault((c.benchmark, c.params, c.machine, c.env, c.version),
                                  []).append(c)
    trend_by_key = {(x.benchmark, x.params, x.machine, x.env, x.version): x
                    for x in ctx.trends}
    calib_by_key = {(x.benchmark, x.params, x.machine, x.env): x for x in ctx.calibration}
    t = timings.add("pages: index", t)

    # -- one shard and one page per benchmark
    index_rows = []
    for name in sorted(by_bench):
        group = by_bench[name]
        shard = shards.benchmark_shard(
            name, group, rank, lambda s: changes_by_key.get(ctx.series_key(s), ()),
            lambda s: ctx.sla.get(ctx.series_key(s), ()), ctx.commit_url)
        put(shards.shard_path(name), _json(shard))
        t = timings.add("shards", t)
        stem = pages.page_stem(name)
        depth = stem.count("/") + 1  # benchmarks/<stem>.md -> benchmarks/<stem>/
        shard_rel = shards.shard_path(name)
        trend_rows, sections = [], []
        for i, s in enumerate(group):
            key = ctx.series_key(s)
            tr = trend_by_key.get(key)
            cal = calib_by_key.get(key[:4])
            lab = shards.series_label(s) or "(all)"
            trend_rows.append([lab, str(tr.points) if tr else "0",
                               tr.direction if tr else "no results in the window",
                               _pct(tr.theil_sen_pct_per_30d if tr else None),
                               _p(tr.mann_kendall_p if tr else None),
                               cal.verdict if cal else "-"])
            latest = pages.latest_value(s)
            summary = (f"{len(s.rows)} commits; latest {fmt_value(latest, s.unit)}"
                       if latest is not None else f"{len(s.rows)} commits; no finite result")
            if ctx.sla.get(key):
                summary += "; SLA: " + "; ".join(lbl for lbl, _ in ctx.sla[key])
            samp = next((r for r in reversed(s.rows) if r.ok), None)
            sections.append({
                "index": i, "label": lab, "summary": summary,
                "samples": (f"{len(samp.samples)} samples at {samp.commit[:8]}"
                            if samp is not None and samp.samples else None)})
        bench_changes = [c for s in group for c in changes_by_key.get(ctx.series_key(s), ())]
        bench_changes.sort(key=lambda c: -(c.date or 0))
        page(f"benchmarks/{stem}.md", "benchmark.md.j2",
             title_yaml=Markup(_safe_title(name)), name=name,
             kind=group[0].kind, unit=group[0].unit or "-", n_series=len(group),
             shard=Markup(shard_rel),
             shard_link=Markup(("../" * (depth - 1)) + "../" + shard_rel),
             trend_table=pages.md_table(
                 ["series", "points", "trend", "Theil-Sen %/30d", "Mann-Kendall p",
                  "calibration"], trend_rows, "lrlrrl"),
             series=sections, changes=bench_changes,
             changes_table=_changes_table(pages.change_rows(ctx, bench_changes, "benchmarks"),
                                          with_benchmark=False))
        index_rows.append([pages.link(name, pages.page_link(name, "benchmarks")),
                           group[0].kind, group[0].unit or "-", str(len(group)),
                           str(sum(len(changes_by_key.get(ctx.series_key(s), ()))
                                   for s in group))])
        t = timings.add("pages: benchmarks", t)
    page("benchmarks/index.md", "benchmarks_index.md.j2", count=len(by_bench),
         n_series=len(ctx.series),
         table=pages.md_table(["benchmark", "kind", "unit", "series", "change points"],
                              index_rows, "lllrr"))

    # -- dashboard
    rows_all = pages.change_rows(ctx, ctx.changes)
    p99 = pages.bars(ctx, lambda s: pages.method(s.benchmark) == pages.P99_METHOD)
    thr = pages.bars(ctx, lambda s: pages.method(s.benchmark) == pages.THROUGHPUT_METHOD)
    dash = {"p99": p99, "throughput": thr, "index": pages.performance_index(ctx),
            "commit_url": ctx.commit_url}
    put("data/dashboard.json", _json(dash))
    heat = pages.heatmap(ctx)
    reg = sum(c.direction == "regression" for c in ctx.changes)
    summary = (f"{len(ctx.series)} series of {len(by_bench)} benchmarks over "
               f"{len(ctx.order)} commits; {len(ctx.changes)} change points "
               f"({reg} regressions, {len(ctx.changes) - reg} improvements).")
    page("index.md", "home.md.j2",
         cards_html=Markup(html_env.get_template("cards.html.j2").render(
             cards=pages.cards(ctx))),
         summary=summary, latest=rows_all[:pages.LATEST_CHANGES],
         p99=bool(p99["values"]), throughput=bool(thr["values"]),
         heatmap_html=Markup(html_env.get_template("heatmap.html.j2").render(heatmap=heat))
         if heat["rows"] else "")

    # -- regressions, feed
    page("regressions.md", "regressions.md.j2",
         headline=changes_mod.headline(ctx.changes, len(ctx.series)),
         rows=rows_all, table=_changes_table(rows_all, with_benchmark=True))
    put("regressions.xml", _feed(ctx))

    # -- comparisons
    from ..report import render_markdown

    page("comparisons.md", "comparisons.md.j2",
         reports=[{"name": name, "body": Markup(_demote(render_markdown(rep)))}
                  for name, rep in ctx.reports])

    # -- experiments
    from . import experiments

    exp, exp_charts = experiments.page(ctx.experiments)
    put("data/experiments.json", _json(exp_charts))
    for test in exp["abtests"]:
        test["table"] = pages.md_table(
            ["benchmark", "winner", "lift [CI]", "effect d", "power", "samples", "looks"],
            [[r["label"], r["winner"], r["lift"], r["d"], r["power"], r["samples"],
              str(r["looks"])] for r in test["rows"]], "llrrrrr")
    for c in exp["configs"]:
        c["heat_html"] = Markup(html_env.get_template("config_heatmap.html.j2").render(
            families=c["families"], rows=c["heat"]))
        c["ranking_table"] = pages.md_table(
            ["rank", "variant", "score", "95% CI"],
            [[str(r["rank"]), r["variant"], r["score"], r["ci"]] for r in c["ranking"]],
            "rlrl")
    page("experiments.md", "experiments.md.j2", **exp)

    # -- noise
    cal_rows = [[pages.link(c.benchmark, pages.page_link(c.benchmark)),
                 ", ".join(c.params) or "-", c.machine, str(c.points), _num(c.cv_pct),
                 _num(c.noise_floor_pct), _num(c.mde_pct), _num(c.threshold_pct),
                 c.verdict + (f": {c.recommendation}" if c.recommendation else "")]
                for c in ctx.calibration]
    counts: dict[str, int] = {}
    for c in ctx.calibration:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    page("noise.md", "noise.md.j2",
         headline=(", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                   or "no series") + f" ({len(ctx.calibration)} series).",
         rows=cal_rows,
         table=pages.md_table(["benchmark", "params", "machine", "points", "cv %",
                               "floor %", "mde %", "threshold %", "verdict"], cal_rows,
                              "lllrrrrrl"))

    # -- downloads
    tables = [("changes", "Change points (with annotation status)", pages.changes_table(ctx)),
              ("latest", "Latest value of every series", pages.latest_table(ctx)),
              ("trends", f"Trends over {ctx.trend_days} days", pages.trends_table(ctx)),
              ("calibration", "Noise and calibration", pages.calibration_table(ctx))]
    listed = []
    for name, title, (head, rows) in tables:
        for fname, text in pages.table_files(name, head, rows).items():
            put(f"downloads/{fname}", text)
        listed.append({"name": Markup(name), "title": title})
    from ..report import FIELDS, to_dict

    for i, (fname, rep) in enumerate(ctx.reports, 1):
        head = [f for f in FIELDS if f != "history"]
        rows = [[r[f] if f != "params" else ", ".join(r[f]) for f in head]
                for r in to_dict(rep)["results"]]
        for out_name, text in pages.table_files(f"comparison-{i}", head, rows).items():
            put(f"downloads/{out_name}", text)
        listed.append({"name": Markup(f"comparison-{i}"), "title": f"Comparison: {fname}"})
    put("downloads/metrics.txt", pages.metrics_text(ctx))
    put("downloads/report.html", standalone.render(ctx, html_env))
    t = timings.add("pages: other", t)
    if chromium is not None:
        standalone.print_pdf(docs / "downloads" / "report.html",
                             docs / "downloads" / "report.pdf", chromium)
        t = timings.add("pdf", t)
    page("downloads/index.md", "downloads.md.j2", tables=listed, pdf=chromium is not None)
    page("asv-site.md", "asv.md.j2", published=ctx.asv_published)
    timings.add("pages: other", t)
    return written, len(by_bench), chromium is not None


def _changes_table(rows, with_benchmark: bool):
    from . import pages

    head = (["date"] + (["benchmark"] if with_benchmark else ["params"])
            + ["machine", "commits", "before", "after", "change", "p", "direction", "status"])
    cells = [[r["date"]] + ([r["benchmark"]] if with_benchmark else [r["series"]])
             + [r["machine"], r["commits"], r["before"], r["after"], r["change"], r["p"],
                r["direction"], r["status"]] for r in rows]
    return pages.md_table(head, cells, "llllrrrrll")


def _demote(markdown: str) -> str:
    """A PR-comment body (GitHub markdown) as part of a site page: headings one level
    down under the report's own heading, ``<details>`` rendered as markdown (md_in_html),
    and the backslashes Python-Markdown would show dropped (``pages.text``)."""
    from .pages import _NOT_ESCAPABLE

    out = re.sub(r"^(#{1,5}) ", r"#\1 ", markdown, flags=re.M)
    out = out.replace("<details>", '<details markdown="1">')
    return _NOT_ESCAPABLE.sub(r"\1", out)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.2f}%"


def _p(v: float | None) -> str:
    from ..report import fmt_p

    return "-" if v is None else fmt_p(v)


def _num(v: float) -> str:
    import math

    return f"{v:.2f}" if math.isfinite(v) else "n/a"


def _feed(ctx) -> str:
    """The Atom feed of regressions, without the acknowledged and expected ones: like
    asv's "ignore", an annotation takes a regression out of what subscribers are told."""
    from .. import changes as changes_mod
    from .annotations import find

    points = tuple(c for c in ctx.changes if find(ctx.annotations, c) is None)
    analysis = changes_mod.Analysis(points, len(ctx.series), 0, 0, 0,
                                    max((d for d in ctx.dates.values() if d is not None),
                                        default=None))
    return changes_mod.to_atom(points, analysis, None)


# --------------------------------------------------------------------------- mkdocs


class _Loader:
    """A YAML loader for mkdocs.yml that keeps ``!!python/name:`` and ``!ENV`` tags
    as opaque values: the builder only reads the nav."""

    @staticmethod
    def load(text: str) -> Any:
        import yaml

        class L(yaml.SafeLoader):
            pass

        L.add_multi_constructor("tag:yaml.org,2002:python/", lambda *a: None)
        L.add_multi_constructor("!", lambda *a: None)
        return yaml.load(text, Loader=L)


def derived_nav(mkdocs_yml: Path, docs: Path) -> list:
    """mkdocs.yml's nav with a "Guide" tab listing ``guide/*.md`` when there are any."""
    try:
        conf = _Loader.load(mkdocs_yml.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read mkdocs config ({exc})", path=str(mkdocs_yml)) from None
    nav = list((conf or {}).get("nav") or [])
    guide = sorted((p.relative_to(docs).as_posix() for p in (docs / "guide").glob("*.md")),
                   key=lambda p: (_guide_rank(p), p))
    nav = [item for item in nav if not (isinstance(item, dict) and "Guide" in item)]
    if guide:
        nav.insert(1, {"Guide": guide})
    return nav


def _guide_rank(path: str) -> int:
    stem = Path(path).stem
    if stem == "index":
        return -1
    return GUIDE_ORDER.index(stem) if stem in GUIDE_ORDER else len(GUIDE_ORDER)


def run_mkdocs(mkdocs_yml: Path, docs: Path, site_dir: Path, work: Path) -> None:
    import yaml

    derived = {"INHERIT": str(mkdocs_yml.resolve()), "docs_dir": str(docs),
               "site_dir": str(site_dir), "nav": derived_nav(mkdocs_yml, docs)}
    path = work / "mkdocs.yml"
    path.write_text(yaml.safe_dump(derived, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--config-file", str(path)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        important = [ln for ln in lines if "WARNING" in ln or "ERROR" in ln] or lines[-5:]
        if any(ln.startswith("Traceback") for ln in lines):
            important = lines[-1:]  # mkdocs crashed (a full disk): the exception says why
        raise UserError("mkdocs build --strict failed:\n  " + "\n  ".join(important[:20]),
                        path=str(mkdocs_yml))


# --------------------------------------------------------------------------- asv


def run_asv_publish(asv_conf_path: Path, conf: dict, results_dir: Path, html_dir: Path,
                    repo: Path | None, work: Path) -> None:
    """``asv publish`` of ``results_dir`` into ``html_dir`` with a derived asv config."""
    from ..run import asv_executable

    root = asv_conf_path.parent
    derived = dict(conf)
    repo_setting = str(repo.resolve()) if repo else conf.get("repo", ".")
    if "://" not in repo_setting and not repo_setting.startswith("git@"):
        repo_setting = str((root / repo_setting).resolve())
    derived.update(repo=repo_setting, results_dir=str(results_dir.resolve()),
                   html_dir=str(html_dir.resolve()),
                   benchmark_dir=str((root / conf.get("benchmark_dir", "benchmarks")).resolve()),
                   env_dir=str((work / "asv-env").resolve()))
    path = work / "asv.conf.json"
    path.write_text(json.dumps(derived, indent=2), encoding="utf-8")
    proc = subprocess.run([asv_executable(), "publish", "--no-pull", "--config", str(path)],
                          capture_output=True, text=True, check=False, cwd=str(work))
    if proc.returncode != 0:
        tail = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()][-5:]
        raise UserError("asv publish failed:\n  " + "\n  ".join(tail), path=str(asv_conf_path))


#: asv's pages load these from CDNs; the site serves vendored copies instead
#: (``site/assets/vendor/asv/``, licences in ``site/assets/LICENSES.md``).
ASV_VENDORED = {
    "jquery-3.3.1.min.js": "jquery.min.js",
    "jquery.flot.min.js": "jquery.flot.js",
    "jquery.flot.time.min.js": "jquery.flot.time.js",
    "jquery.flot.selection.min.js": "jquery.flot.selection.js",
    "jquery.flot.categories.min.js": "jquery.flot.categories.js",
    "jquery.flot.orderBars.js": "jquery.flot.orderBars.js",
    "stupidtable.min.js": "stupidtable.min.js",
    "md5.min.js": "md5.min.js",
    "bootstrap.min.js": "bootstrap/js/bootstrap.min.js",
    "bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
}
_SRI = re.compile(r'\s(?:integrity|crossorigin|referrerpolicy)(?:="[^"]*")?')
_CDN_TAG = re.compile(r"""<(script|link)\b([^>]*?)\b(src|href)="(https?:)?//[^"]*/([^"/]+)"([^>]*)>""")


def localise_asv(html_dir: Path, log=print) -> int:
    """Point asv's pages at the vendored copies of its CDN scripts and stylesheet.

    Returns how many tags were rewritten; an external tag with no vendored copy is
    left as it is and named in a warning (a newer asv may add one).
    """
    count = 0
    for page in html_dir.glob("*.html"):
        text = page.read_text(encoding="utf-8")

        def swap(m: re.Match) -> str:
            nonlocal count
            tag, before, attr, _, name, after = m.groups()
            local = ASV_VENDORED.get(name)
            if local is None:
                log(f"benchwatch: warning: {page.name} loads {name} from another host and "
                    "the site has no copy of it", file=sys.stderr)
                return m.group(0)
            count += 1
            keep = _SRI.sub("", before + after)
            return f'<{tag}{keep.rstrip()} {attr}="../assets/vendor/asv/{local}">' \
                if tag == "link" else f'<{tag} {attr}="../assets/vendor/asv/{local}"{keep}>'

        new = _CDN_TAG.sub(swap, text)
        if new != text:
            page.write_text(new, encoding="utf-8")
    return count


# --------------------------------------------------------------------------- build


def _check_out(out: Path, docs_src: Path) -> None:
    out = out.resolve()
    if out == docs_src.resolve() or docs_src.resolve() in out.parents:
        raise UserError("--out must not be inside the docs sources", path=str(out))
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                               and not (out / MARKER).exists())):
        raise UserError("--out exists and is not a site this command built; choose an empty "
                        "or new directory", path=str(out))


def build(opts: Options, log=print) -> Result:
    """Build the site described by ``opts``; see the module docstring for the steps."""
    from .. import calibrate, changepoint, changes, history, results, trends
    from ..paths import cache_key, cache_root
    from . import annotations as ann
    from .pages import Context

    timings = Timings()
    t = time.perf_counter()
    mkdocs_yml = opts.mkdocs_config.resolve()
    docs_src = mkdocs_yml.parent / "site"
    try:
        conf_docs = _Loader.load(mkdocs_yml.read_text(encoding="utf-8")).get("docs_dir")
    except (OSError, AttributeError) as exc:
        raise UserError(f"cannot read mkdocs config ({exc})", path=str(mkdocs_yml)) from None
    if conf_docs:
        docs_src = (mkdocs_yml.parent / conf_docs).resolve()
    _check_out(opts.out, docs_src)
    for name in GENERATED:
        if (docs_src / name).exists():
            raise UserError(f"{name} is generated by the site builder; rename the tracked "
                            "file", path=str(docs_src / name))
    asv_conf = _read_asv_conf(opts.asv_config) if opts.asv_config else {}
    commit_url = asv_conf.get("show_commit_url") if isinstance(
        asv_conf.get("show_commit_url"), str) else None
    annotations = ann.load(opts.annotations) if opts.annotations else ()
    reports = load_reports(opts.reports)
    from . import experiments

    experiment_docs = experiments.load(opts.experiments)
    chromium = None
    if opts.pdf != "no":
        from .standalone import CHROMIUM_ENV, find_chromium

        chromium = find_chromium()
        found = f"no chromium found (install Debian's chromium, or set {CHROMIUM_ENV})"
        if chromium is None and opts.pdf == "yes":
            raise UserError(f"--pdf yes: {found}; --pdf no builds without report.pdf")
        if chromium is None:
            log(f"benchwatch: warning: {found}; downloads/report.pdf is not printed",
                file=sys.stderr)

    loaded = results.load(opts.results_dir, machine=opts.machine, strict=opts.strict)
    for problem in loaded.problems:
        log(f"benchwatch: warning: {problem}", file=sys.stderr)
    if not loaded.rows:
        raise UserError("no asv results", path=str(opts.results_dir))
    t = timings.add("load", t)
    order = history.commit_order(loaded.rows, opts.repo)
    series = history.build(loaded.rows, order=order)
    dates: dict[str, int | None] = {}
    for commit, date in loaded.rows.commit_dates():
        if date is not None and (dates.get(commit) is None or date < dates[commit]):
            dates[commit] = date
        dates.setdefault(commit, date)
    t = timings.add("history", t)
    sla, thresholds = sla_lines(series, opts.suite, opts.suite_config,
                                results.param_axes(opts.results_dir))
    cache = changes.Cache(cache_root() / f"changes-{cache_key(Path(opts.results_dir))}.json",
                          changepoint.DEFAULT_CONFIG.fingerprint())
    analysis = changes.analyse(series, cache=cache)
    cache.save()
    t = timings.add("changes", t)
    try:
        trend_report = trends.analyse(series, opts.trend_days).trends
    except UserError:
        trend_report = ()  # no dates: no trends
    t = timings.add("trends", t)
    calib = tuple(calibrate.calibrate(series, thresholds=thresholds))
    t = timings.add("calibrate", t)

    out = opts.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="benchwatch-site-") as tmp:
        work = Path(tmp)
        docs = work / "docs"
        shutil.copytree(docs_src, docs)
        t = timings.add("copy docs", t)
        ctx = Context(series=tuple(series), order=tuple(order), dates=dates,
                       changes=analysis.change_points, trends=tuple(trend_report),
                       calibration=calib, reports=reports, annotations=annotations,
                       repo_url=opts.repo_url or repo_url_of(asv_conf),
                       commit_url=commit_url, asv_published=opts.publish_asv, sla=sla,
                       trend_days=opts.trend_days, runs=loaded.runs,
                       experiments=experiment_docs)
        n_pages, n_shards, pdf = generate(ctx, docs, timings, chromium)
        t = time.perf_counter()
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        except OSError as exc:  # a read-only or full parent: the old site stays
            raise UserError(f"cannot create the new site beside --out: {exc.strerror}",
                            path=str(out.parent)) from None
        try:
            run_mkdocs(mkdocs_yml, docs, staging, work)
            t = timings.add("mkdocs", t)
            if opts.publish_asv:
                if opts.asv_config is None:
                    raise UserError("asv publish needs an asv config: pass --asv-config or "
                                    "--no-asv")
                # asv's own pages paste benchmark names into HTML: publish a copy whose
                # names cannot carry markup (benchwatch.results.publishable_copy)
                renamed = results.publishable_copy(Path(opts.results_dir),
                                                   work / "asv-results")
                for original, safe in sorted(renamed.items()):
                    log(f"benchwatch: warning: asv's pages show benchmark {original!r} as "
                        f"{safe!r}: asv pastes names into HTML", file=sys.stderr)
                run_asv_publish(opts.asv_config.resolve(), asv_conf,
                                work / "asv-results", staging / "asv", opts.repo, work)
                localise_asv(staging / "asv", log)
                t = timings.add("asv publish", t)
            (staging / MARKER).write_text("built by benchwatch site build\n", encoding="utf-8")
            if out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
                os.replace(out, old / "site")
                try:
                    os.replace(staging, out)
                except OSError:
                    os.replace(old / "site", out)  # put the previous site back
                    shutil.rmtree(old, ignore_errors=True)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, out)
        except OSError as exc:
            raise UserError(f"cannot write the site: {exc.strerror}", path=str(out)) from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    timings.add("swap", t)
    return Result(out, n_pages, n_shards, len(series), len(analysis.change_points),
                  opts.publish_asv, dict(timings.phases), pdf)


# --------------------------------------------------------------------------- commands


def options_from_args(args: argparse.Namespace) -> Options:
    from ..cli_results import default_results_dir
    from ..paths import find_upwards
    from ..run import find_asv_conf

    mkdocs_yml = args.config or find_upwards("mkdocs.yml", None)
    if mkdocs_yml is None:
        raise UserError("no mkdocs.yml here or above; pass --config FILE")
    mkdocs_yml = Path(mkdocs_yml).resolve()
    asv_config = args.asv_config
    if asv_config is None:
        try:
            asv_config = find_asv_conf()
        except UserError:
            if not args.no_asv:
                raise
    out = args.out or mkdocs_yml.parent / "build" / "site"
    annotations = args.annotations or mkdocs_yml.parent / "configs" / "annotations.yaml"
    if args.trend_days <= 0:
        raise UserError(f"--trend-days must be positive, got {args.trend_days}")
    return Options(results_dir=args.results_dir or default_results_dir(),
                   out=Path(out), mkdocs_config=mkdocs_yml, asv_config=asv_config,
                   publish_asv=not args.no_asv, machine=args.machine, repo=args.repo,
                   strict=args.strict, reports=tuple(args.report), annotations=annotations,
                   suite=args.suite, suite_config=args.suite_config, repo_url=args.repo_url,
                   trend_days=args.trend_days, pdf=args.pdf,
                   experiments=tuple(args.experiment))


def _summary(res: Result) -> str:
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in res.timings.items())
    return (f"benchwatch site: {res.pages} pages, {res.shards} chart shards, {res.series} "
            f"series, {res.change_points} change points"
            f"{'' if res.asv_published else ' (asv publish skipped)'} -> {res.out}\n"
            f"  {phases}\n")


def run_build(args: argparse.Namespace) -> int:
    res = build(options_from_args(args), log=print)
    sys.stdout.write(_summary(res))
    sys.stdout.write(f"open {res.out / 'index.html'}\n")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import functools
    import http.server

    res = build(options_from_args(args), log=print)
    sys.stdout.write(_summary(res))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(res.out))
    try:
        server = http.server.ThreadingHTTPServer((args.bind, args.port), handler)
    except OSError as exc:
        raise UserError(f"cannot listen on {args.bind}:{args.port} ({exc.strerror})") from None
    print(f"serving {res.out} at http://{args.bind}:{server.server_port}/ (Ctrl-C stops)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
