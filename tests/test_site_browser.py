"""The history site in a real browser: Debian's headless chromium, driven by playwright.

The site is built (``benchwatch site build``) from a small generated history in a real git
repository: 30 commits, a step of +40 % at commit 20 in a benchmark named
``<img src=x onerror=alert(1)>`` (with raw samples), and a p99 latency and a throughput
benchmark at two parameter values each. It is served from a loopback HTTP server, and the
dashboard, that benchmark's page, the regressions page, a guide page with a mermaid diagram
and ``asv/index.html`` are loaded. The test asserts:

- no console error, no failed request, no uncaught exception, no dialog (the name must
  render as text: an ``alert`` would be XSS), no ``<img src="x">`` element, and the name
  shown verbatim;
- every chart has drawn the number of points the data holds (the chart script sets
  ``data-points`` on each chart element once drawn, on a uPlot canvas);
- no request left 127.0.0.1 (the site works offline; asv's CDN scripts are vendored);
- the mermaid diagram rendered without a network.

A second site holds one benchmark over 5,000 commits (``--no-asv``, no PDF, no git
repository); its page must draw all 5,000 trend points, and a hover over the trend chart
must read out a commit of that history. No timing is asserted: ``scripts/chart_jank.py``
measures draw time and frame intervals while hovering.

asv's own page pastes benchmark names into HTML (asv 0.6.6's summarygrid.js), so the
builder publishes a copy of the results whose names cannot carry markup
(``benchwatch.results.publishable_copy``); ``test_asv_site_renders_names_safely`` loads
asv's page with the hostile name and asserts no dialog and no console error.

Screenshots go to the test's temporary directory, and are copied to ``$ARTIFACTS_DIR``
when that variable is set (CI keeps them).

The browser is ``/usr/bin/chromium`` from Debian, never one downloaded by
``playwright install``. When it is missing the test fails (it does not skip): ``.ci/run``
installs it, and by hand it is ``apt-get install chromium``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from asvdata import Bench, entry, write_benchmarks, write_result

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
XSS = "<img src=x onerror=alert(1)>"
EXPERIMENTS = ROOT / "tests" / "data" / "experiments"  # crafted reports naming XSS
MACHINE = "browser-box"
N_COMMITS = 30
STEP_AT = 20  # first commit at the new level
N_SAMPLES = 12
P99 = "fam.Latency.track_latency_p99_ns"
THROUGHPUT = "fam.Latency.track_throughput_ops_s"
PARAMS = ["10", "100"]


# --------------------------------------------------------------------------- the history


def _commits(repo: Path, n: int, t0: int) -> list[str]:
    """``n`` commits on ``main``, a day apart from ``t0``, made by one ``git fast-import``."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    stream = []
    for i in range(n):
        data = f"{i}\n"
        stamp = f"t <t@example.org> {t0 + i * 86400} +0000"
        stream += ["commit refs/heads/main", f"mark :{i + 1}", f"author {stamp}",
                   f"committer {stamp}", f"data {len(f'c{i}')}", f"c{i}"]
        if i:
            stream.append(f"from :{i}")
        stream += ["M 100644 inline f.txt", f"data {len(data)}", data]
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, check=True, text=True,
                   input="\n".join(stream) + "\n")
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)
    out = subprocess.run(["git", "rev-list", "--reverse", "main"], cwd=repo, check=True,
                         text=True, capture_output=True).stdout.split()
    assert len(out) == n
    return out


def make_history(root: Path) -> dict:
    """A git repository with N_COMMITS commits and asv results for each."""
    repo = root / "proj"
    t0 = 1_767_225_600  # 2026-01-01T00:00:00Z
    commits = _commits(repo, N_COMMITS, t0)
    dates = [(t0 + i * 86400) * 1000 for i in range(N_COMMITS)]
    (repo / "asv.conf.json").write_text(json.dumps({
        "version": 1, "project": "proj", "project_url": "https://example.org/proj",
        "show_commit_url": "https://example.org/proj/commit/", "repo": ".",
        "branches": ["main"], "environment_type": "virtualenv", "pythons": ["3.11"],
        "results_dir": "results", "html_dir": "html"}))

    results = repo / "results"
    results.mkdir()
    write_benchmarks(results, [Bench(XSS, unit="seconds"),
                               Bench(P99, unit="ns", params=[PARAMS]),
                               Bench(THROUGHPUT, unit="ops/s", params=[PARAMS])])
    rng = np.random.default_rng(7)
    for i, (commit, date) in enumerate(zip(commits, dates)):
        level = 1.0e-3 * (1.4 if i >= STEP_AT else 1.0)
        samples = list(level * np.exp(rng.normal(0, 0.01, N_SAMPLES)))
        p99 = [50_000.0 * (1 + 0.005 * rng.standard_normal()), 80_000.0]
        ops = [20_000.0 * (1 + 0.005 * rng.standard_normal()), 12_000.0]
        write_result(results, MACHINE, commit, date, {
            XSS: entry([float(np.median(samples))], samples=[samples]),
            P99: entry(p99, params=[PARAMS]),
            THROUGHPUT: entry(ops, params=[PARAMS]),
        })
    return {"repo": repo, "results": results, "commits": commits}


# --------------------------------------------------------------------------- the site


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("site")
    hist = make_history(root)
    out = root / "out"
    from benchwatch.cli import main

    code = main(["site", "build", "--config", str(ROOT / "mkdocs.yml"),
                 "--results-dir", str(hist["results"]),
                 "--asv-config", str(hist["repo"] / "asv.conf.json"),
                 "--repo", str(hist["repo"]), "--out", str(out),
                 *[a for k in ("abtest", "configs", "recommend")
                   for a in ("--experiment", str(EXPERIMENTS / f"{k}.json"))]])
    assert code == 0
    return {**hist, "out": out}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@contextlib.contextmanager
def _serving(directory: Path):
    """A loopback HTTP server for ``directory``; yields its base URL."""
    handler = functools.partial(_Quiet, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def server(site):
    with _serving(site["out"]) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(apt-get install chromium; .ci/run does it). This test never downloads "
                    "a browser.", pytrace=False)
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            chromium_sandbox=False, viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


class Visit:
    """One page load with everything the page reported."""

    def __init__(self, context, url: str, shots: Path, name: str):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.foreign: list[str] = []
        self.missing: list[str] = []
        page = context.new_page()
        page.on("console", lambda m: self.console_errors.append(m.text)
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("dialog", self._dialog)
        page.on("request", lambda r: self.foreign.append(r.url)
                if not r.url.startswith(("http://127.0.0.1:", "data:", "blob:")) else None)
        page.on("response", lambda r: self.missing.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)
        self.page = page
        self.response = page.goto(url, wait_until="load")
        self.shots = shots
        self.name = name

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def charts(self) -> list[tuple[str, int]]:
        """(kind, data-points) of every chart, once each has drawn (or failed)."""
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('.bw-chart')].every("
            "e => e.hasAttribute('data-points') || e.hasAttribute('data-error'))",
            timeout=10_000)
        errors = self.page.eval_on_selector_all(
            ".bw-chart[data-error]", "els => els.map(e => e.dataset.error)")
        assert errors == [], f"{self.name}: charts failed: {errors}"
        # each chart is a uPlot canvas of non-zero size, not just an attribute
        sizes = self.page.eval_on_selector_all(
            ".bw-chart", "els => els.map(e => { const c = e.querySelector('canvas');"
            " return c ? c.width * c.height : 0; })")
        assert all(sizes), f"{self.name}: a chart has no canvas: {sizes}"
        drawn = self.page.eval_on_selector_all(
            ".bw-chart", "els => els.map(e => [e.dataset.kind, Number(e.dataset.points)])")
        return [tuple(d) for d in drawn]

    def screenshot(self) -> None:
        path = self.shots / f"{self.name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        target = os.environ.get("ARTIFACTS_DIR")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, Path(target) / path.name)

    def check_safe(self) -> None:
        """Loaded, and nothing from the data ran: no dialog, no script error, no <img>."""
        assert self.response is not None and self.response.ok, self.name
        assert self.dialogs == [], f"{self.name}: a dialog opened (XSS?): {self.dialogs}"
        assert self.page_errors == [], f"{self.name}: uncaught errors: {self.page_errors}"
        assert self.page.locator('img[src="x"]').count() == 0, self.name

    def check_clean(self) -> None:
        """No console error and no request off the loopback (the site works offline)."""
        assert self.foreign == [], f"{self.name}: requests off the loopback: {self.foreign}"
        assert self.missing == [], f"{self.name}: failed requests: {self.missing}"
        assert self.console_errors == [], f"{self.name}: console errors: {self.console_errors}"

    def finish(self) -> None:
        self.screenshot()
        self.check_safe()
        self.check_clean()
        self.page.close()


@pytest.fixture
def visit(browser, server, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def go(path: str, name: str) -> Visit:
        return Visit(browser, f"{server}/{path}", shots, name)

    return go


# --------------------------------------------------------------------------- the pages

BENCH_PAGE = f"benchmarks/{quote(XSS, safe='')}/"


def test_dashboard_draws_every_chart(visit):
    v = visit("", "dashboard")
    # the performance index has one point per commit; each bar chart (newest p99, newest
    # throughput) one bar per series, here one per parameter value
    assert sorted(v.charts()) == sorted([("index", N_COMMITS), ("bars", len(PARAMS)),
                                         ("bars", len(PARAMS))])
    assert XSS in v.page.inner_text("article")  # verbatim text in "Latest changes"
    v.finish()


def test_benchmark_page_draws_trend_and_distribution(visit):
    v = visit(BENCH_PAGE, "benchmark")
    # one trend point per commit, one histogram entry per sample of the newest commit
    assert sorted(v.charts()) == sorted([("trend", N_COMMITS), ("dist", N_SAMPLES)])
    assert XSS in v.page.inner_text("article")  # shown verbatim, not parsed into a tag
    v.finish()


def test_regressions_page_lists_the_step(visit, site):
    v = visit("regressions/", "regressions")
    text = v.page.inner_text("article")
    previous, first = site["commits"][STEP_AT - 1], site["commits"][STEP_AT]
    assert first[:8] in text and previous[:8] in text
    assert "+40" in text  # the planted step, +40 %
    assert XSS in text
    v.finish()


def test_asv_site_loads_offline(visit):
    v = visit("asv/index.html", "asv-offline")
    v.page.wait_for_selector(".benchmark-container", timeout=10_000)  # asv's grid drew
    v.screenshot()
    assert v.response is not None and v.response.ok
    assert v.foreign == [], f"asv: requests off the loopback: {v.foreign}"
    v.page.close()


def test_asv_site_renders_names_safely(visit):
    v = visit("asv/index.html", "asv")
    v.page.wait_for_selector(".benchmark-container", timeout=10_000)
    v.page.wait_for_timeout(300)  # let the grid's graphs load
    v.screenshot()
    v.check_safe()
    v.check_clean()
    v.page.close()


def test_guide_diagram_renders_offline(visit):
    v = visit("guide/architecture/", "guide-architecture")
    # mkdocs-material swaps each <pre class="mermaid"> for a <div class="mermaid"> holding
    # the rendered SVG in a closed shadow root; the source block is gone once drawn
    v.page.wait_for_function(
        "() => !document.querySelector('pre.mermaid') && document.querySelector('div.mermaid')",
        timeout=10_000)
    height = v.page.eval_on_selector("div.mermaid", "e => e.getBoundingClientRect().height")
    assert height > 100
    v.finish()


def test_standalone_report_is_safe_and_self_contained(visit):
    v = visit("downloads/report.html", "report")
    text = v.page.inner_text("body")
    assert XSS in text  # the hostile name is a row of the latest run, shown as text
    assert "Open regressions (1)" in text  # the planted step is the newest change
    v.finish()  # no dialog, no console error, no request at all beyond the page itself


# --------------------------------------------------------------------------- a long history

BIG_N = 5000
BIG_BENCH = "big.Suite.time_many_commits"


@pytest.fixture(scope="module")
def big_site(tmp_path_factory) -> dict:
    """One time benchmark over BIG_N commits (three samples each, a step at 3/5), built
    without asv, a git repository or a PDF: commit order comes from the result dates."""
    from benchwatch.site.build import Options, build

    root = tmp_path_factory.mktemp("big-site")
    results = root / "results"
    results.mkdir()
    write_benchmarks(results, [Bench(BIG_BENCH, unit="seconds")])
    commits = [hashlib.sha1(f"big {i}".encode()).hexdigest() for i in range(BIG_N)]
    noise = np.exp(np.random.default_rng(3).normal(0, 0.02, (BIG_N, 3)))
    for i, commit in enumerate(commits):
        samples = [float(x) for x in 1e-3 * (1.3 if i >= BIG_N * 3 // 5 else 1.0) * noise[i]]
        write_result(results, MACHINE, commit, (1_600_000_000 + i * 86400) * 1000,
                     {BIG_BENCH: entry([float(np.median(samples))], samples=[samples])})
    build(Options(results_dir=results, out=root / "out", mkdocs_config=ROOT / "mkdocs.yml",
                  publish_asv=False, pdf="no"), log=lambda *a, **k: None)
    with _serving(root / "out") as url:
        yield {"url": url, "commits": commits}


def test_benchmark_page_draws_five_thousand_points(browser, big_site, tmp_path):
    """Every one of 5,000 commits is a trend point, and hovering reads out a real commit.

    Correctness only: how fast it draws and hovers is scripts/chart_jank.py's job.
    """
    v = Visit(browser, f"{big_site['url']}/benchmarks/{quote(BIG_BENCH, safe='')}/",
              tmp_path, "benchmark-5000")
    assert sorted(v.charts()) == [("dist", 3), ("trend", BIG_N)]
    over = v.page.locator('.bw-chart[data-kind="trend"] .u-over')
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    assert box is not None
    v.page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    tip = v.page.locator('.bw-chart[data-kind="trend"] .bw-tooltip')
    tip.wait_for(state="visible", timeout=5_000)
    shown = tip.inner_text().split(" ")[0]
    # the readout starts with the hovered commit's first 10 hex digits; 30 % of the way
    # across is in the first 60 %, before the step
    index = {c[:10]: i for i, c in enumerate(big_site["commits"])}
    assert shown in index, f"hover readout names no commit of the history: {tip.inner_text()!r}"
    assert 0 < index[shown] < BIG_N * 3 // 5
    v.finish()


def test_experiments_page_draws_the_boundary_plots(visit):
    v = visit("experiments/", "experiments")
    # one chart per A/B result; points drawn = looks reached (3 and 5 in abtest.json)
    assert v.charts() == [("sequential", 3), ("sequential", 5)]
    text = v.page.inner_text("article")
    assert XSS in text  # a benchmark, a variant and a finding carry the hostile name
    v.finish()


def test_filter_boxes_hide_rows_that_do_not_match(visit, site):
    v = visit("benchmarks/", "filter-benchmarks")
    rows = v.page.locator("article table tbody tr")
    total = rows.count()
    v.page.fill("input.bw-filter", "P99")  # case-insensitive
    visible = [r for r in rows.all() if r.is_visible()]
    assert total == 3 and [r.inner_text().split()[0] for r in visible] == [P99]
    v.page.fill("input.bw-filter", "")
    assert sum(r.is_visible() for r in rows.all()) == total
    v.finish()
    v = visit("regressions/", "filter-regressions")
    rows = v.page.locator("article table tbody tr")
    total = rows.count()
    v.page.fill("input.bw-filter", "no-such-benchmark")
    assert total > 0 and sum(r.is_visible() for r in rows.all()) == 0
    v.page.fill("input.bw-filter", XSS)  # typed data is matched as text, never parsed
    shown = [r.inner_text() for r in rows.all() if r.is_visible()]
    assert shown and all(XSS in t for t in shown)
    v.finish()
