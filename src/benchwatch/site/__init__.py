"""The history site: ``benchwatch site build|serve``.

- ``build``: the command; copies ``site/`` to a build directory, generates pages and
  data there, runs ``asv publish`` and ``mkdocs build --strict``.
- ``pages``: analysis objects (series, change points, trends, calibration, gate
  reports) -> the plain data the templates render.
- ``shards``: one JSON file per benchmark for the charts, fetched on demand.
- ``annotations``: ``configs/annotations.yaml``, acknowledged and expected regressions.

Nothing here parses asv JSON (``benchwatch.results`` does) or computes statistics
(``benchwatch.stats``, ``changes``, ``trends``, ``calibrate`` do).
"""
