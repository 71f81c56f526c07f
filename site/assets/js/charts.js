/*
 * benchwatch chart glue: draws every <div class="bw-chart"> of a page with uPlot from
 * the JSON file its data-src names (one shard per benchmark, fetched on demand).
 *
 * Data never becomes markup: names, commits and values reach the page through
 * textContent or canvas text only, never innerHTML. After drawing, each chart
 * element carries data-points="N" (points drawn) so a browser test can check it;
 * a chart that fails carries data-error instead.
 *
 * data-kind: trend (one series of a benchmark: data-series=i), dist (the latest
 * samples of that series as a histogram), bars (dashboard.json[data-key]),
 * index (the dashboard's performance trend) and sequential (an A/B test's z path
 * against its group-sequential boundaries: experiments.json's abtests[data-index]).
 */
(function () {
  "use strict";

  var cache = {};

  function siteBase() {
    var node = document.getElementById("__config");
    try {
      return (node && JSON.parse(node.textContent).base) || ".";
    } catch (e) {
      return ".";
    }
  }

  function load(src) {
    var url = siteBase().replace(/\/+$/, "") + "/" + src;
    if (!cache[url]) {
      cache[url] = fetch(url).then(function (r) {
        if (!r.ok) throw new Error(src + ": HTTP " + r.status);
        return r.json();
      });
    }
    return cache[url];
  }

  function cssVar(name, fallback) {
    var v = getComputedStyle(document.body).getPropertyValue(name);
    return (v && v.trim()) || fallback;
  }

  function fmtDate(ms) {
    if (ms === null || ms === undefined) return "no date";
    return new Date(ms).toISOString().slice(0, 10);
  }

  function fmtValue(v, unit) {
    if (v === null || v === undefined || !isFinite(v)) return "n/a";
    var a = Math.abs(v);
    if (unit === "seconds") {
      var s = [[1, "s"], [1e-3, "ms"], [1e-6, "us"], [1e-9, "ns"]];
      for (var i = 0; i < s.length; i++) {
        if (a >= s[i][0] || i === s.length - 1) return (v / s[i][0]).toPrecision(3) + " " + s[i][1];
      }
    }
    if (unit === "bytes") {
      var b = [[1073741824, "GiB"], [1048576, "MiB"], [1024, "KiB"], [1, "B"]];
      for (var j = 0; j < b.length; j++) {
        if (a >= b[j][0] || j === b.length - 1) return (v / b[j][0]).toPrecision(3) + " " + b[j][1];
      }
    }
    var n = Number(v.toPrecision(4));
    var text = n !== 0 && (Math.abs(n) >= 1e7 || Math.abs(n) < 1e-3)
      ? n.toExponential(2) : n.toLocaleString("en-US", {maximumFractionDigits: 4});
    return text + (unit ? " " + unit : "");
  }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function width(node) {
    return Math.max(280, Math.floor(node.clientWidth || 640));
  }

  function axes(xValues, unit) {
    var fg = cssVar("--md-default-fg-color--light", "#666");
    var grid = cssVar("--md-default-fg-color--lightest", "#ddd");
    return [
      {stroke: fg, grid: {stroke: grid, width: 1}, ticks: {stroke: grid}, space: 90,
        values: xValues},
      {stroke: fg, grid: {stroke: grid, width: 1}, ticks: {stroke: grid}, size: 80,
        values: function (u, vals) { return vals.map(function (v) { return fmtValue(v, unit); }); }}
    ];
  }

  function finite(a) {
    var n = 0;
    for (var i = 0; i < a.length; i++) if (a[i] !== null && isFinite(a[i])) n++;
    return n;
  }

  function done(node, points) {
    node.setAttribute("data-points", String(points));
  }

  // --- one series of a benchmark over commits -------------------------------------

  function trend(node, shard) {
    var s = shard.series[Number(node.getAttribute("data-series"))];
    if (!s) throw new Error("no series " + node.getAttribute("data-series"));
    var dateAt = {};
    for (var i = 0; i < s.x.length; i++) dateAt[s.x[i]] = s.dates[i];
    var regress = cssVar("--bw-regression", "#d32f2f");
    var improve = cssVar("--bw-improvement", "#2e7d32");
    var line = cssVar("--md-primary-fg-color", "#3f51b5");
    var tip = el("div", "bw-tooltip");
    tip.hidden = true;
    var caption = el("div", "bw-caption",
      "hover a point for its commit; click to open the commit" +
      (s.changes.length ? "; dashed lines are change points" : "") +
      (s.sla.length ? "; dotted lines are SLA limits" : ""));
    var data = [s.x, s.y, s.lo, s.hi];
    var opts = {
      width: width(node), height: 260,
      legend: {show: false},
      cursor: {points: {size: 8}, drag: {x: true, y: false}},
      scales: {x: {time: false}},
      axes: axes(function (u, vals) {
        return vals.map(function (v) { return dateAt[v] !== undefined ? fmtDate(dateAt[v]) : ""; });
      }, s.unit),
      series: [
        {},
        {label: "value", stroke: line, width: 1.5, spanGaps: true,
          points: {show: s.x.length <= 400, size: 4}},
        {label: "CI low", stroke: line, width: 0.5, dash: [2, 3], spanGaps: true, points: {show: false}},
        {label: "CI high", stroke: line, width: 0.5, dash: [2, 3], spanGaps: true, points: {show: false}}
      ],
      hooks: {
        draw: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          ctx.lineWidth = 1.5 * devicePixelRatio;
          s.changes.forEach(function (c) {
            var x = Math.round(u.valToPos(s.x[c.i], "x", true));
            ctx.strokeStyle = c.direction === "regression" ? regress : improve;
            ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          });
          s.sla.forEach(function (l) {
            var y = Math.round(u.valToPos(l.value, "y", true));
            if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) return;
            ctx.strokeStyle = regress;
            ctx.setLineDash([2 * devicePixelRatio, 3 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            ctx.fillStyle = regress;
            ctx.font = (11 * devicePixelRatio) + "px sans-serif";
            ctx.fillText(l.label, u.bbox.left + 4, y - 4);
          });
          ctx.restore();
        }],
        setCursor: [function (u) {
          var i = u.cursor.idx;
          if (i === null || i === undefined || s.y[i] === null) { tip.hidden = true; return; }
          var ci = s.lo[i] !== null && s.hi[i] !== null
            ? " (99% CI " + fmtValue(s.lo[i], s.unit) + " .. " + fmtValue(s.hi[i], s.unit) + ")" : "";
          tip.textContent = s.commits[i].slice(0, 10) + " · " + fmtDate(s.dates[i]) + " · " +
            fmtValue(s.y[i], s.unit) + ci;
          tip.hidden = false;
        }]
      }
    };
    if (s.sla.length) {
      var lo = Infinity, hi = -Infinity;
      s.y.concat(s.sla.map(function (l) { return l.value; })).forEach(function (v) {
        if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      });
      if (isFinite(lo)) opts.scales.y = {range: [Math.min(0, lo), hi * 1.05]};
    }
    node.textContent = "";
    var u = new uPlot(opts, data, node);
    node.appendChild(tip);
    node.appendChild(caption);
    u.over.addEventListener("click", function () {
      var i = u.cursor.idx;
      if (i === null || i === undefined || !shard.commit_url) return;
      window.open(shard.commit_url + encodeURIComponent(s.commits[i]), "_blank", "noopener");
    });
    return finite(s.y);
  }

  // --- histogram of the newest samples ---------------------------------------------

  function dist(node, shard) {
    var s = shard.series[Number(node.getAttribute("data-series"))];
    var v = (s && s.samples) || [];
    if (!v.length) throw new Error("no samples");
    var lo = Math.min.apply(null, v), hi = Math.max.apply(null, v);
    var bins = Math.max(1, Math.ceil(Math.log2(v.length) + 1));
    var step = (hi - lo) / bins || 1;
    var xs = [], ys = [];
    for (var b = 0; b < bins; b++) { xs.push(lo + (b + 0.5) * step); ys.push(0); }
    v.forEach(function (x) { ys[Math.min(bins - 1, Math.floor((x - lo) / step))]++; });
    node.textContent = "";
    new uPlot({
      width: width(node), height: 160, legend: {show: false},
      scales: {x: {time: false}},
      axes: [
        {stroke: cssVar("--md-default-fg-color--light", "#666"),
          values: function (u, vals) { return vals.map(function (x) { return fmtValue(x, s.unit); }); }},
        {stroke: cssVar("--md-default-fg-color--light", "#666"), size: 40}
      ],
      series: [{}, {label: "samples", fill: cssVar("--md-primary-fg-color--transparent", "rgba(63,81,181,.3)"),
        stroke: cssVar("--md-primary-fg-color", "#3f51b5"), paths: uPlot.paths.bars({size: [0.9]}),
        points: {show: false}}]
    }, [xs, ys], node);
    node.appendChild(el("div", "bw-caption", v.length + " samples at " +
      (s.samples_commit || "").slice(0, 10)));
    return v.length;
  }

  // --- dashboard ----------------------------------------------------------------------

  function bars(node, dash) {
    var d = dash[node.getAttribute("data-key")];
    if (!d || !d.values.length) throw new Error("no data");
    var xs = d.values.map(function (_, i) { return i; });
    var tip = el("div", "bw-tooltip");
    tip.hidden = true;
    node.textContent = "";
    new uPlot({
      width: width(node), height: 280, legend: {show: false},
      scales: {x: {time: false, range: [-0.5, d.values.length - 0.5]}},
      axes: axes(function (u, vals) {
        return vals.map(function (v) { return Number.isInteger(v) && d.labels[v] !== undefined ? String(v + 1) : ""; });
      }, d.unit),
      series: [{}, {label: "latest", fill: cssVar("--md-primary-fg-color--transparent", "rgba(63,81,181,.3)"),
        stroke: cssVar("--md-primary-fg-color", "#3f51b5"), paths: uPlot.paths.bars({size: [0.7]}),
        points: {show: false}}],
      hooks: {setCursor: [function (u) {
        var i = u.cursor.idx;
        if (i === null || i === undefined) { tip.hidden = true; return; }
        tip.textContent = "#" + (i + 1) + " " + d.labels[i] + ": " + fmtValue(d.values[i], d.unit);
        tip.hidden = false;
      }]}
    }, [xs, d.values], node);
    node.appendChild(tip);
    var list = el("ol", "bw-bar-labels");
    d.labels.forEach(function (name, i) {
      list.appendChild(el("li", null, name + ": " + fmtValue(d.values[i], d.unit)));
    });
    var more = el("details", "bw-bar-legend");
    more.appendChild(el("summary", null, "bar numbers"));
    more.appendChild(list);
    node.appendChild(more);
    return d.values.length;
  }

  function perfIndex(node, dash) {
    var d = dash.index;
    if (!d || !d.y.length) throw new Error("no data");
    var dateAt = {};
    d.x.forEach(function (x, i) { dateAt[x] = d.dates[i]; });
    var tip = el("div", "bw-tooltip");
    tip.hidden = true;
    node.textContent = "";
    var u = new uPlot({
      width: width(node), height: 240, legend: {show: false},
      scales: {x: {time: false}},
      axes: axes(function (u, vals) {
        return vals.map(function (v) { return dateAt[v] !== undefined ? fmtDate(dateAt[v]) : ""; });
      }, "x"),
      series: [{}, {label: "index", stroke: cssVar("--md-primary-fg-color", "#3f51b5"), width: 1.5,
        points: {show: d.y.length <= 400, size: 4}}],
      hooks: {setCursor: [function (u) {
        var i = u.cursor.idx;
        if (i === null || i === undefined) { tip.hidden = true; return; }
        tip.textContent = d.commits[i].slice(0, 10) + " · " + fmtDate(d.dates[i]) + " · " + d.y[i].toFixed(3);
        tip.hidden = false;
      }]}
    }, [d.x, d.y], node);
    node.appendChild(tip);
    u.over.addEventListener("click", function () {
      var i = u.cursor.idx;
      if (i === null || i === undefined || !dash.commit_url) return;
      window.open(dash.commit_url + encodeURIComponent(d.commits[i]), "_blank", "noopener");
    });
    return d.y.length;
  }

  // --- an A/B test: the z statistic at each look against the stopping boundaries ----

  function sequential(node, doc) {
    var t = doc.abtests[Number(node.getAttribute("data-index"))];
    if (!t) throw new Error("no A/B result " + node.getAttribute("data-index"));
    var bound = cssVar("--bw-regression", "#d32f2f");
    var tip = el("div", "bw-tooltip");
    tip.hidden = true;
    node.textContent = "";
    var lower = t.boundary.map(function (b) { return -b; });
    new uPlot({
      width: width(node), height: 240, legend: {show: false},
      scales: {x: {time: false}},
      axes: axes(function (u, vals) {
        return vals.map(function (v) { return Number.isInteger(v) ? String(v) : ""; });
      }, ""),
      series: [{},
        {label: "z", stroke: cssVar("--md-primary-fg-color", "#3f51b5"), width: 2,
          points: {show: true, size: 6}},
        {label: "upper boundary", stroke: bound, dash: [6, 4], width: 1.5, points: {show: true, size: 4}},
        {label: "lower boundary", stroke: bound, dash: [6, 4], width: 1.5, points: {show: true, size: 4}}],
      hooks: {setCursor: [function (u) {
        var i = u.cursor.idx;
        if (i === null || i === undefined) { tip.hidden = true; return; }
        tip.textContent = t.z[i] === null
          ? "look " + (i + 1) + " (not reached) · n=" + t.n[i] + " per arm · boundary ±" + t.boundary[i].toFixed(2)
          : "look " + (i + 1) + " · n=" + t.n[i] + " per arm · z=" + t.z[i].toFixed(2) +
            " · boundary ±" + t.boundary[i].toFixed(2) + " · lift " + t.lift[i].toFixed(1) + "%";
        tip.hidden = false;
      }]}
    }, [t.n, t.z, t.boundary, lower], node);
    node.appendChild(tip);
    return finite(t.z);
  }

  var KINDS = {trend: trend, dist: dist, bars: bars, index: perfIndex, sequential: sequential};

  function draw(node) {
    var kind = KINDS[node.getAttribute("data-kind")];
    var src = node.getAttribute("data-src");
    if (!kind || !src) return;
    node.textContent = "loading chart data...";
    load(src).then(function (data) {
      done(node, kind(node, data));
    }).catch(function (err) {
      node.setAttribute("data-error", String(err && err.message || err));
      node.textContent = "chart unavailable: " + (err && err.message || err);
    });
  }

  // --- table filters -------------------------------------------------------------

  function filters() {
    Array.prototype.forEach.call(document.querySelectorAll("input.bw-filter"), function (input) {
      var tables = document.querySelectorAll("table");
      var table = null;
      for (var i = 0; i < tables.length && !table; i++) {
        if (input.compareDocumentPosition(tables[i]) & Node.DOCUMENT_POSITION_FOLLOWING) table = tables[i];
      }
      if (!table) return;
      input.addEventListener("input", function () {
        var q = input.value.trim().toLowerCase();
        Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
          row.hidden = q !== "" && row.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
    });
  }

  function init() {
    if (typeof uPlot === "undefined") return;
    Array.prototype.forEach.call(document.querySelectorAll(".bw-chart"), draw);
    filters();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
