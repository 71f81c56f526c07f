"""The variants file of a configuration experiment (``configs/variants.yaml``).

A variant is a name for a set of ``ENGINE_*`` and ``NUMBA_*`` environment settings;
one of them is the baseline every other is compared with::

    baseline: default
    variants:
      default:
        description: asv.conf.json's matrix values
      fastmath:
        description: LLVM fastmath in every engine kernel
        env:
          ENGINE_FASTMATH: "1"

A variant's ``env`` holds only what it changes: ``benchwatch configs compare``
starts from the single values of asv.conf.json's ``matrix`` and applies it. Values
are strings (a bare integer is taken as its digits); a YAML boolean or float is
refused, since ``true`` and ``1.0`` would reach the engine as ``True`` and ``1.0``.

The file is read with ruamel.yaml's composer, so every node keeps its position and
a duplicate key is still visible (a plain load keeps one of the two silently). Each
problem is a ``UserError`` ``file:line: cause`` (exit 2). This module knows nothing
of asv; ``benchwatch.configs_compare`` turns variants into asv environments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

DEFAULT_PATH = Path("configs") / "variants.yaml"

#: Variant names: they become JSON keys, report headings and parts of file names.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: The settings a variant may change: the engine's own and numba's.
SETTING_PATTERN = re.compile(r"(?:ENGINE|NUMBA)_[A-Z0-9_]+")

_TOP_KEYS = ("baseline", "variants")
_VARIANT_KEYS = ("description", "env")
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"


@dataclass(frozen=True)
class Variant:
    """One named configuration: ``env`` is what it changes, as ``(name, value)``
    pairs in file order; ``line`` is where its name stands in the file."""

    name: str
    description: str
    env: tuple[tuple[str, str], ...]
    line: int

    def env_dict(self) -> dict[str, str]:
        return dict(self.env)


@dataclass(frozen=True)
class Variants:
    """A loaded variants file; ``variants`` in file order, the baseline among them."""

    path: str
    baseline: str
    variants: tuple[Variant, ...]

    def get(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variants)


def load(path: Path | str) -> Variants:
    """Read and check a variants file; the first problem raises ``UserError``."""
    path = Path(path)
    p = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError("variants file not found", path=p) from None
    except OSError as exc:
        raise UserError(f"cannot read variants file: {exc.strerror}", path=p) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"file is not UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
                        path=p, line=raw.count(b"\n", 0, exc.start) + 1) from None
    for lineno, line_text in enumerate(text.splitlines(), 1):
        if "\t" in line_text:
            raise UserError("tab character; indent and separate with spaces", path=p,
                            line=lineno)
    return _check(_compose(text, p), p)


def _compose(text: str, p: str) -> Any:
    """The YAML node tree (positions kept, duplicate keys kept) or a located error."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from .yamlguard import refuse_alias_bombs

    refuse_alias_bombs(text, p)
    try:
        return YAML(typ="rt", pure=True).compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise UserError(f"YAML: {problem}", path=p,
                        line=mark.line + 1 if mark is not None else None) from None
    except (YAMLError, AssertionError, RecursionError) as exc:  # ruamel asserts on odd input
        from .yamlguard import unmarked_error

        line, problem = unmarked_error(exc, text)
        raise UserError(f"YAML: {problem}", path=p, line=line) from None


def _line(node: Any) -> int:
    return node.start_mark.line + 1


def _kind(node: Any) -> str:
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, ScalarNode):
        tag = node.tag.value if hasattr(node.tag, "value") else str(node.tag)
        return {"tag:yaml.org,2002:null": "nothing", "tag:yaml.org,2002:bool": "a boolean",
                _INT: "a number", "tag:yaml.org,2002:float": "a number",
                _STR: "a string"}.get(tag, f"a {tag.rsplit(':', 1)[-1]}")
    return type(node).__name__


def _tag(node: Any) -> str:
    return node.tag.value if hasattr(node.tag, "value") else str(node.tag)


def _pairs(node: Any, p: str, what: str, key_line: int | None = None
           ) -> list[tuple[str, Any, Any]]:
    """(key, key node, value node) of a mapping node; keys must be unique strings.

    A value that is not a mapping is reported on its key's line (``key_line``): an
    empty value's own mark is on the line after it."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode

    if not isinstance(node, MappingNode):
        raise UserError(f"{what} must be a mapping, got {_kind(node)}", path=p,
                        line=_line(node) if key_line is None else key_line)
    seen: dict[str, int] = {}
    out = []
    for knode, vnode in node.value:
        if not isinstance(knode, ScalarNode) or _tag(knode) not in (_STR, _INT):
            raw = getattr(knode, "value", None)
            shown = f"key {raw!r} reads as {_kind(knode)}" if isinstance(raw, str) \
                else f"a key is {_kind(knode)}"
            raise UserError(f"{what}: {shown}, not a name; quote it", path=p,
                            line=_line(knode))
        key = str(knode.value)
        if key in seen:
            raise UserError(f"{what}: duplicate key {key!r} (first on line {seen[key]})",
                            path=p, line=_line(knode))
        seen[key] = _line(knode)
        out.append((key, knode, vnode))
    return out


def _string(node: Any, p: str, what: str) -> str:
    from ruamel.yaml.nodes import ScalarNode

    if not isinstance(node, ScalarNode) or _tag(node) != _STR:
        raise UserError(f"{what} must be a string, got {_kind(node)}", path=p, line=_line(node))
    return str(node.value)


def _check(root: Any, p: str) -> Variants:
    if root is None:
        raise UserError("empty variants file; expected 'baseline' and 'variants'", path=p,
                        line=1)
    top = _pairs(root, p, "the top level")
    for key, knode, _ in top:
        if key not in _TOP_KEYS:
            raise UserError(f"unknown top-level key {key!r}; expected 'baseline' and "
                            "'variants'", path=p, line=_line(knode))
    nodes = {key: (knode, vnode) for key, knode, vnode in top}
    if "variants" not in nodes:
        raise UserError("missing 'variants' (a mapping of variant names)", path=p,
                        line=_line(root))
    if "baseline" not in nodes:
        raise UserError("missing 'baseline' (the name of the variant the others are "
                        "compared with)", path=p, line=_line(root))
    variants = tuple(_variant(name, knode, vnode, p)
                     for name, knode, vnode in _pairs(nodes["variants"][1], p, "'variants'",
                                                         _line(nodes["variants"][0])))
    if len(variants) < 2:
        raise UserError(f"'variants' has {len(variants)} variant"
                        f"{'' if len(variants) == 1 else 's'}; an experiment needs the "
                        "baseline and at least one other", path=p,
                        line=_line(nodes["variants"][1]))
    bnode = nodes["baseline"][1]
    baseline = _string(bnode, p, "'baseline'")
    if baseline not in {v.name for v in variants}:
        raise UserError(f"baseline {baseline!r} is not a variant; define it under "
                        f"'variants' (have: {', '.join(v.name for v in variants)})",
                        path=p, line=_line(bnode))
    by_env: dict[tuple, Variant] = {}
    for v in variants:
        key = tuple(sorted(v.env))
        if key in by_env:
            first = by_env[key]
            raise UserError(f"variant {v.name!r} sets exactly what {first.name!r} (line "
                            f"{first.line}) sets; they would be one asv environment",
                            path=p, line=v.line)
        by_env[key] = v
    return Variants(p, baseline, variants)


def _variant(name: str, knode: Any, vnode: Any, p: str) -> Variant:
    line = _line(knode)
    if not NAME_PATTERN.fullmatch(name):
        raise UserError(f"variant name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit", path=p, line=line)
    what = f"variant {name!r}"
    description, env = "", []
    for key, kn, vn in _pairs(vnode, p, what, line):
        if key not in _VARIANT_KEYS:
            raise UserError(f"{what}: unknown key {key!r}; expected 'description' and 'env'",
                            path=p, line=_line(kn))
        if key == "description":
            description = _string(vn, p, f"{what}: 'description'")
        else:
            env = _settings(vn, p, what, _line(kn))
    return Variant(name, description, tuple(env), line)


def _settings(node: Any, p: str, what: str, key_line: int) -> list[tuple[str, str]]:
    from ruamel.yaml.nodes import ScalarNode

    out = []
    for key, kn, vn in _pairs(node, p, f"{what}: 'env'", key_line):
        if not SETTING_PATTERN.fullmatch(key):
            raise UserError(f"{what}: {key!r} is not an ENGINE_* or NUMBA_* setting "
                            "(upper-case letters, digits and '_' after the prefix)",
                            path=p, line=_line(kn))
        if not isinstance(vn, ScalarNode) or _tag(vn) not in (_STR, _INT):
            raise UserError(f"{what}: {key} must be a string, got {_kind(vn)}; quote it, "
                            f"e.g. {key}: \"1\"", path=p, line=_line(vn))
        out.append((key, str(vn.value)))
    return out
