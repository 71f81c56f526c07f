"""Renderers: one module per output format, shared by every command.

Analysis modules build plain objects; these turn tables of cells into text,
markdown, CSV, HTML or JSON. Escaping lives here and only here, so no benchmark
name can inject markdown or HTML into a PR comment or the site.
"""
