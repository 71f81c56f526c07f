/*
 * Loads the vendored mermaid (3.5 MB) only on pages that hold a diagram.
 *
 * mkdocs-material renders <pre class="mermaid"> blocks with window.mermaid, and fetches
 * mermaid from a CDN when it is not defined. Defining it on every page cost each page
 * about 2 s of parsing on a 2-core runner (scripts/chart_jank.py). This script runs
 * where mkdocs puts extra_javascript, at the end of <body>, so the page's blocks are
 * already parsed; document.write then inserts a blocking script that defines mermaid
 * before material's own code looks for it at DOMContentLoaded. Pages without a
 * diagram never download it.
 */
(function () {
  "use strict";
  if (!document.querySelector("pre.mermaid, div.mermaid")) return;
  var src = new URL("../vendor/mermaid/mermaid.min.js", document.currentScript.src).href;
  document.write('<script src="' + src.replace(/"/g, "%22") + '"><\/script>');
})();
