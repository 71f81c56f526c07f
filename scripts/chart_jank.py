#!/usr/bin/env python
"""Does a benchmark page with thousands of points render and hover without jank?

    .venv/bin/python scripts/chart_jank.py --points 5000 --runs 5

Writes an asv results directory for one time benchmark with ``--points`` commits (a
day apart, three raw samples each, a +30 % step at 60 % of the history) in a temporary
directory and builds the site from it (``benchwatch.site.build.build``, no asv publish,
no PDF, no git repository: commit order comes from the result dates). The site is served
on 127.0.0.1 and the benchmark's page is opened ``--runs`` times in Debian's headless
``/usr/bin/chromium`` (playwright), each time in a fresh browser context. Per run:

- **drawn**: ms from navigation start until charts.js sets ``data-points`` = N on the
  trend chart (a MutationObserver installed before the page's scripts stamps
  ``performance.now()``), and **painted**: the next animation frame after that; for
  context, when DOMContentLoaded ended (charts.js starts then) and the chart's shard
  (``data/benchmarks/<id>.json``) arrived;
- **hover**: the mouse crosses the trend chart's canvas in ``--steps`` moves while an
  in-page requestAnimationFrame loop records frame intervals (p50, p95, max, frames over
  50 ms) and a PerformanceObserver counts long tasks (> 50 ms) that start during the hover;
- the hover readout (``.bw-tooltip``) must name a commit of the history at half way and
  at the end, and the two must differ, or the run fails: the hover has to be real.

It prints every run and the medians (this machine is shared and noisy: single runs move),
then a verdict from the medians: "no jank" when the p95 frame interval is <= 50 ms (at
least 20 fps) and no long task during the hover is over 200 ms, else "jank".
Nothing here is asserted by tests; tests/test_site_browser.py checks the point count.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import os
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np
from asvdata import Bench, entry, write_benchmarks, write_result

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
BENCH = "jank.Suite.time_render"
MACHINE = "jank-box"
TREND = '.bw-chart[data-kind="trend"]'

# runs before the page's own scripts: stamp the moment the trend chart reports its points
# and the frame after it; collect long tasks from the start
INIT = """
window.__bw = {drawn: null, painted: null, longtasks: []};
new PerformanceObserver(l => { for (const e of l.getEntries())
  window.__bw.longtasks.push([e.startTime, e.duration]); })
  .observe({type: 'longtask', buffered: true});
new MutationObserver(() => {
  const c = document.querySelector('.bw-chart[data-kind="trend"][data-points]');
  if (c && window.__bw.drawn === null) {
    window.__bw.drawn = performance.now();
    requestAnimationFrame(() => { window.__bw.painted = performance.now(); });
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-points']});
"""
START_FRAMES = """() => { const f = window.__bw.frames = []; window.__bw.hoverStart = performance.now();
  window.__bw.loop = true; let last = performance.now();
  const tick = t => { f.push(t - last); last = t; if (window.__bw.loop) requestAnimationFrame(tick); };
  requestAnimationFrame(tick); }"""
STOP_FRAMES = """() => { window.__bw.loop = false; const s = window.__bw.hoverStart;
  return {frames: window.__bw.frames.slice(1),
          longtasks: window.__bw.longtasks.filter(e => e[0] >= s).map(e => e[1])}; }"""


def make_history(results: Path, n: int, samples: int = 3) -> list[str]:
    """``n`` commits of one time benchmark with raw samples; their hashes, oldest first."""
    results.mkdir(parents=True)
    write_benchmarks(results, [Bench(BENCH, unit="seconds")])
    rng = np.random.default_rng(11)
    t0 = 1_600_000_000_000
    commits = [hashlib.sha1(f"commit {i}".encode()).hexdigest() for i in range(n)]
    noise = np.exp(rng.normal(0, 0.02, (n, samples)))
    for i, commit in enumerate(commits):
        s = [float(x) for x in 2e-3 * (1.3 if i >= int(n * 0.6) else 1.0) * noise[i]]
        write_result(results, MACHINE, commit, t0 + i * 86_400_000,
                     {BENCH: entry([float(np.median(s))], samples=[s])})
    return commits


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def one_run(browser, url: str, n: int, steps: int, commits: set[str]) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script(INIT)
        page.goto(url, wait_until="commit")
        page.wait_for_function(f"n => {{ const c = document.querySelector('{TREND}');"
                               " return c && c.dataset.points == String(n); }", arg=n,
                               timeout=60_000)
        page.wait_for_function("() => window.__bw.painted !== null", timeout=10_000)
        page.wait_for_load_state("load")
        dcl, shard, drawn, painted = page.evaluate(
            "() => [performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,"
            " Math.max(...performance.getEntriesByType('resource').filter("
            "e => e.name.includes('/data/benchmarks/')).map(e => e.responseEnd)),"
            " window.__bw.drawn, window.__bw.painted]")
        over = page.locator(f"{TREND} .u-over")
        over.scroll_into_view_if_needed()
        page.wait_for_timeout(300)  # settle after the scroll
        box = over.bounding_box()
        assert box, "no trend canvas"
        y = box["y"] + box["height"] / 2
        x0, x1 = box["x"] + 2, box["x"] + box["width"] - 2
        tip = page.locator(f"{TREND} .bw-tooltip")
        page.mouse.move(x0, y)
        page.evaluate(START_FRAMES)
        page.mouse.move((x0 + x1) / 2, y, steps=steps // 2)
        half = tip.inner_text()
        page.mouse.move(x1, y, steps=steps - steps // 2)
        end = tip.inner_text()
        page.wait_for_timeout(100)  # a few frames after the last move
        got = page.evaluate(STOP_FRAMES)
        for text in (half, end):
            if text.split(" ")[0] not in {c[:10] for c in commits}:
                raise SystemExit(f"hover readout names no commit of the history: {text!r}")
        if half == end:
            raise SystemExit(f"hover readout did not change: {half!r}")
        if errors:
            raise SystemExit(f"console errors: {errors}")
        frames = got["frames"]
        return {"DOMContentLoaded ms": dcl, "shard fetched ms": shard, "drawn ms": drawn, "painted ms": painted,
                "frames": len(frames), "frame p50 ms": pct(frames, 50),
                "frame p95 ms": pct(frames, 95), "frame max ms": max(frames),
                "long frames (>50 ms)": sum(f > 50 for f in frames),
                "long tasks": len(got["longtasks"]),
                "longest task ms": max(got["longtasks"], default=0.0)}
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--points", type=int, default=5000, help="commits in the history")
    p.add_argument("--runs", type=int, default=5, help="page loads; medians are reported")
    p.add_argument("--steps", type=int, default=200, help="mouse moves across the chart")
    args = p.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")

    with tempfile.TemporaryDirectory(prefix="chart-jank-") as tmp:
        base = Path(tmp)
        os.environ["BENCHWATCH_CACHE_DIR"] = str(base / "cache")
        from playwright.sync_api import sync_playwright

        from benchwatch.site.build import Options, build

        commits = make_history(base / "results", args.points)
        res = build(Options(results_dir=base / "results", out=base / "site",
                            mkdocs_config=ROOT / "mkdocs.yml", publish_asv=False, pdf="no"),
                    log=lambda *a, **k: None)
        print(f"built {args.points} commits x 1 benchmark in "
              f"{sum(res.timings.values()):.1f} s ({res.change_points} change points)")
        handler = functools.partial(_Quiet, directory=str(base / "site"))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/benchmarks/{quote(BENCH, safe='')}/"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS, chromium_sandbox=False)
                try:
                    runs = [one_run(browser, url, args.points, args.steps, set(commits))
                            for _ in range(args.runs)]
                finally:
                    browser.close()
        finally:
            httpd.shutdown()
            httpd.server_close()

    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"\n{args.points} points, {args.runs} runs, {args.steps} mouse moves; medians on a "
          "noisy shared machine, single runs move")
    print(f"{'metric':22s}" + "".join(f"{'run ' + str(i + 1):>9s}" for i in range(len(runs)))
          + f"{'median':>9s}")
    for k, m in med.items():
        print(f"{k:22s}" + "".join(f"{r[k]:9.1f}" for r in runs) + f"{m:9.1f}")
    smooth = med["frame p95 ms"] <= 50 and med["longest task ms"] <= 200
    print(f"\nverdict ({args.points} points): {'no jank' if smooth else 'jank'} "
          f"(median p95 frame {med['frame p95 ms']:.1f} ms, median longest hover task "
          f"{med['longest task ms']:.0f} ms; limits 50 ms and 200 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
