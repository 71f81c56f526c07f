"""Property-based fuzzing of what reads untrusted input and what renders it.

- the results loader on mutated asv result files: tolerant, it never raises and
  names the file in every problem; strict, it raises nothing but ``UserError``;
- the config loaders (suites, baselines, variants, annotations) on random YAML text
  and on mutations of the shipped files: nothing but ``UserError``, naming file:line;
- the markdown and HTML renderers on random text with markup characters: no
  unescaped ``<``, and the text shown back verbatim.

The properties are plain functions (no pytest fixtures), so ``scripts/fuzz_inputs.py``
runs the same ones with thousands of examples; here the conftest profile bounds them.
``OUTCOMES`` counts what the examples exercised (the script prints it).
"""

from __future__ import annotations

import collections
import copy
import html
import json
import re
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from benchwatch import baselines, results, suite_config, variants
from benchwatch.errors import UserError
from benchwatch.render import html as render_html
from benchwatch.render import markdown as render_md
from benchwatch.site import annotations, pages

ROOT = Path(__file__).resolve().parent.parent
GOOD = json.loads((Path(__file__).parent / "data" / "bad_results" / "box" / "good.json")
                  .read_text(encoding="utf-8"))
OUTCOMES: collections.Counter[str] = collections.Counter()
# the profile (tests/conftest.py) sets max_examples; tmp dirs are made per example
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.data_too_large])

# ----------------------------------------------------------------- results loader

json_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)


def _paths(doc, prefix=()):
    """Every location in a JSON document, as a tuple of keys/indices."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


GOOD_PATHS = list(_paths(GOOD))


@st.composite
def mutated_result(draw):
    """good.json with 1-4 locations replaced by random JSON, or deleted."""
    doc = copy.deepcopy(GOOD)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(GOOD_PATHS))
        if not where:
            doc = draw(json_values)
            continue
        parent = doc
        try:
            for key in where[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(where[-1], None)
            else:
                parent[where[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the path
    return doc


def _load_both(text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "results"
        (root / "box").mkdir(parents=True)
        (root / "box" / "machine.json").write_text(
            json.dumps({"machine": "box", "version": 1}), encoding="utf-8")
        path = root / "box" / "0001c0ff-virtualenv-py3.12.json"
        if isinstance(text, str):
            path.write_text(text, encoding="utf-8")
        else:
            path.write_bytes(text)
        loaded = results.load(root, cache=False)  # tolerant: never raises
        assert all(p.startswith(f"{path}: ") for p in loaded.problems), loaded.problems
        assert all(isinstance(r.benchmark, str) for r in loaded.rows)
        OUTCOMES["results: " + ("problems" if loaded.problems else "clean")] += 1
        try:
            strict = results.load(root, cache=False, strict=True)
        except UserError as exc:
            assert str(exc).startswith(f"{path}"), exc
            assert "\n" not in str(exc)
            OUTCOMES["results strict: UserError"] += 1
        else:
            assert not loaded.problems and strict.rows == loaded.rows
        # and the cache's pickles round-trip what the parser made
        cached = results.load(root, cache=True, cache_dir=Path(tmp) / "cache")
        again = results.load(root, cache=True, cache_dir=Path(tmp) / "cache")
        assert cached.problems == again.problems == loaded.problems
        assert len(cached.rows) == len(again.rows) == len(loaded.rows)


@FUZZ
@given(mutated_result())
def test_results_loader_on_mutated_files(doc):
    _load_both(json.dumps(doc))


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_results_loader_on_random_bytes(raw):
    _load_both(raw)


# ----------------------------------------------------------------- config loaders

LOADERS = {
    "suites.yaml": suite_config.load,
    "baselines.yaml": baselines.load,
    "variants.yaml": variants.load,
    "annotations.yaml": annotations.load,
}
SHIPPED = {name: (ROOT / "configs" / name).read_text(encoding="utf-8") for name in LOADERS}
SHIPPED["baselines.yaml"] = SHIPPED["baselines.yaml"].replace(
    "baselines: {}", "baselines:\n  v1.0.0:\n    commit: " + "a" * 40 + "\n    note: first")
SHIPPED["annotations.yaml"] = SHIPPED["annotations.yaml"].replace(
    "annotations: []", "annotations:\n  - benchmark: a.b.time_c\n    commit: abcdef0\n"
    "    status: expected\n    note: known\n")


def test_shipped_configs_load():
    for name, text in SHIPPED.items():
        assert _located(name, text) == "loaded", name


YAML_BITS = ["\t", ": ", "- ", "&a ", "*a", "<<: *a", "? ", "{", "}", "[", "]", "'", '"',
             "#", "!!python/object:os.system", "!!binary", "%YAML 1.1\n", "---\n", "...\n",
             "\ufeff", "\x00", "\udcff", "\u202e", "\n", "  ", "~", "null", "1e400", "0x1F",
             "-.inf", ".nan", "yes", "2026-01-01", "|\n", ">\n"]


@st.composite
def mutated_config(draw):
    name = draw(st.sampled_from(sorted(LOADERS)))
    lines = SHIPPED[name].splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        op = draw(st.sampled_from(["drop", "dup", "insert", "replace", "indent"]))
        if not lines:
            break
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = draw(st.sampled_from(["", " ", "  ", "    ", "\t"])) + lines[i].lstrip()
        else:
            bit = draw(st.sampled_from(YAML_BITS) | st.text(max_size=6))
            at = draw(st.integers(0, len(lines[i])))
            end = at if op == "insert" else draw(st.integers(at, len(lines[i])))
            lines[i] = lines[i][:at] + bit + lines[i][end:]
    return name, "".join(lines)


def _located(name: str, text: str | bytes) -> str:
    """Load ``text`` as ``name``: it loads, or a ``UserError`` names the file and line."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if isinstance(text, str):
            try:
                path.write_text(text, encoding="utf-8")
            except UnicodeEncodeError:
                path.write_bytes(text.encode("utf-8", "surrogateescape"))
        else:
            path.write_bytes(text)
        try:
            LOADERS[name](path)
        except suite_config.ConfigError as exc:
            assert exc.errors
            for line in exc.errors:
                assert re.match(rf"{re.escape(str(path))}:\d+:\d+: \S", line), line
            OUTCOMES[f"{name}: error"] += 1
            return "error"
        except UserError as exc:
            message = str(exc)
            assert re.match(rf"{re.escape(str(path))}:\d+: \S", message), message
            assert "\n" not in message
            OUTCOMES[f"{name}: error"] += 1
            return "error"
        OUTCOMES[f"{name}: loaded"] += 1
        return "loaded"


@FUZZ
@given(mutated_config())
def test_config_loaders_on_mutated_shipped_files(case):
    _located(*case)


@FUZZ
@given(st.sampled_from(sorted(LOADERS)),
       st.lists(st.sampled_from(YAML_BITS) | st.text(max_size=5), max_size=25).map("".join))
def test_config_loaders_on_random_yaml_text(name, text):
    assume(text.strip())  # an empty file is fine for some loaders, an error for others
    _located(name, text)


@FUZZ
@given(st.sampled_from(sorted(LOADERS)), st.binary(min_size=1, max_size=200))
def test_config_loaders_on_random_bytes(name, raw):
    assume(raw.strip())
    _located(name, raw)


# ----------------------------------------------------------------- renderers

hostile_text = st.lists(
    st.characters(codec="utf-8") | st.sampled_from(list("<>&\"'`*_[]()!|#\\\n\r\t\u202e\u2066")
                                                   + ["</script>", "<img src=x>", "&lt;",
                                                      "javascript:", "@user", "\\<", "]("]),
    max_size=20).map("".join)
_BIDI = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@FUZZ
@given(hostile_text)
def test_markdown_escape_shows_text_verbatim_in_commonmark(raw):
    """A PR comment: GitHub renders CommonMark with raw HTML on. An escaped string is
    one paragraph of text (or nothing) with no tag, and shows the input with control
    and bidi characters as spaces."""
    from markdown_it import MarkdownIt

    escaped = render_md.escape(raw)
    assert "<" not in escaped and ">" not in escaped and "\n" not in escaped
    out = MarkdownIt("commonmark").render("x" + escaped + "x")
    assert out.startswith("<p>") and out.endswith("</p>\n")
    body = out[3:-5]
    assert "<" not in body
    assert html.unescape(body) == "x" + _BIDI.sub(" ", raw) + "x"
    OUTCOMES["markdown escape"] += 1


@FUZZ
@given(st.lists(hostile_text, min_size=1, max_size=4))
def test_markdown_table_cells_never_split(cells):
    from markdown_it import MarkdownIt

    headers = [f"h{i}" for i in range(len(cells))]
    table = render_md.table(headers, [[render_md.escape(c) for c in cells]])
    out = MarkdownIt("commonmark").enable("table").render(table)
    got = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", out, flags=re.DOTALL)]
    assert [g.strip() for g in got] == [_BIDI.sub(" ", c).strip() for c in cells]  # trimmed
    OUTCOMES["markdown table"] += 1


@FUZZ
@given(hostile_text, st.lists(hostile_text, min_size=1, max_size=3))
def test_html_page_escapes_every_cell(title, cells):
    headers = [f"h{i}" for i in range(len(cells))]
    page = render_html.page(title, headers, [cells], summary=title)
    plain = "t" if title else ""  # an empty summary leaves out its <p>
    skeleton = render_html.page(plain, headers, [["c"] * len(cells)], summary=plain)
    # every '<' in the page is one of the template's own tags
    assert page.count("<") == skeleton.count("<")
    got = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", page, flags=re.DOTALL)]
    assert got == [_shown_in_html(c) for c in cells]
    OUTCOMES["html page"] += 1


def _shown_in_html(text: str) -> str:
    """The long way: each control character (Unicode category Cc: C0, DEL, C1) and
    bidi mark, override or isolate as Python's escape of it, the rest as it is."""
    bidi = {"\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)),
            *map(chr, range(0x2066, 0x206A))}
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(ch) == "Cc" or ch in bidi else ch for ch in text)


@FUZZ
@given(hostile_text)
def test_site_text_renders_verbatim_in_python_markdown(raw):
    """The site's markdown (mkdocs: Python-Markdown) shows untrusted text as given
    (control and bidi characters as spaces)."""
    import markdown

    out = markdown.markdown("x" + pages.text(raw) + "x",
                            extensions=["tables", "attr_list", "md_in_html"])
    assert out.startswith("<p>") and out.endswith("</p>")
    assert "<" not in out[3:-4]
    OUTCOMES["site text"] += 1
    assert html.unescape(out[3:-4]) == "x" + _BIDI.sub(" ", raw) + "x"


# found by scripts/fuzz_inputs.py: ruamel's scanner fails an internal assert on a '|'
# line between comments, and deep nesting exhausted the recursion limit; both escaped
# some loaders as tracebacks
PARSER_FAILURES = {"assert": "# a\n| # b\n# c\nversion: 1\n", "nesting": "[" * 5000}


def test_parser_failures_are_located_user_errors():
    for name in sorted(LOADERS):
        for text in PARSER_FAILURES.values():
            assert _located(name, text) == "error", (name, text[:20])
