"""Refusing YAML alias bombs ("billion laughs") before a config loader builds a tree.

An alias is a reference, so a ten-line document whose anchors each repeat the
previous one nine times loads instantly as a shared structure; the harm comes
later, when a validator walks it, an error message ``repr``s it or a key is
hashed: 9**9 nodes. The config loaders (suites, variants, annotations) allow
ordinary anchors and merge keys, so instead of banning aliases this counts how
many nodes they would add when expanded and refuses the document past a budget
no hand-written config comes near. ``baselines.yaml`` bans anchors outright
(an edit must change one entry).
"""

from __future__ import annotations

from typing import Any

from .errors import UserError

#: Nodes that aliases may add when expanded. The shipped configs use none; a
#: config that repeats a block through a few aliases stays far below it.
ALIAS_BUDGET = 10_000


#: Open ``[``/``{`` at once. ruamel's scanner is superlinear in flow nesting ("[" * 2000
#: takes 12 s, "[" * 5000 nearly a minute); a config nests a few levels.
MAX_FLOW_DEPTH = 64


def refuse_alias_bombs(text: str, path: str, budget: int = ALIAS_BUDGET) -> None:
    """Raise ``UserError`` (naming ``path`` and the line) when the aliases in ``text``
    expand to more than ``budget`` nodes, or its flow collections nest too deeply."""
    found = flow_too_deep(text) or alias_bomb(text, budget)
    if found is not None:
        raise UserError(found[1], path=path, line=found[0])


def flow_too_deep(text: str, limit: int = MAX_FLOW_DEPTH) -> tuple[int, str] | None:
    """``(line, reason)`` where more than ``limit`` flow collections are open, else None.

    A linear count of brackets before any parsing; brackets inside quoted strings are
    counted too, which only matters for a string with dozens of unbalanced ones.
    """
    depth = 0
    for i, c in enumerate(text):
        if c in "[{":
            depth += 1
            if depth > limit:
                reason = (f"flow collections ('[', '{{') nested more than {limit} deep; "
                          "refused before parsing")
                return text.count("\n", 0, i) + 1, reason
        elif c in "]}" and depth:
            depth -= 1
    return None


def alias_bomb(text: str, budget: int = ALIAS_BUDGET) -> tuple[int, str] | None:
    """``(line, reason)`` of the alias that takes the expansion past ``budget``, else None.

    Works on ruamel's event stream, so nothing is expanded: each anchored node's
    size is counted once, and each alias adds that size. A document that does not
    parse is left to the loader, which reports the YAML error with its position.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        ScalarEvent,
    )

    sizes: dict[Any, int] = {}
    stack: list[list[Any]] = []  # [nodes so far, anchor] per open collection
    added = 0
    try:
        for event in YAML(typ="rt", pure=True).parse(text):
            if isinstance(event, AliasEvent):
                size = sizes.get(event.anchor, 1)
                added += size
                if added > budget:
                    line = event.start_mark.line + 1 if event.start_mark else 1
                    return line, (f"YAML aliases expand to more than {budget:,} nodes "
                                  f"(alias *{event.anchor}); an alias bomb is refused, "
                                  "write the values out")
            elif isinstance(event, ScalarEvent):
                size = 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, CollectionStartEvent):
                stack.append([1, event.anchor])
                continue
            elif isinstance(event, CollectionEndEvent):
                size, anchor = stack.pop()
                if anchor:
                    sizes[anchor] = size
            else:
                continue
            if stack:
                stack[-1][0] += size
    except (YAMLError, AssertionError, RecursionError):
        pass  # ruamel's scanner asserts on some comment layouts: the loader reports it
    return None


def unmarked_error(exc: BaseException, text: str) -> tuple[int, str]:
    """``(line, one-line reason)`` for a ruamel error without a problem mark.

    ruamel's ``ReaderError`` (a control character, say) carries a character offset,
    not a mark, and its text spans two lines; other errors (a list used as a key
    raises ``TypeError``) carry nothing. Every loader names file:line on one line.
    """
    position = getattr(exc, "position", None)
    line = text.count("\n", 0, position) + 1 if isinstance(position, int) else 1
    character, reason = getattr(exc, "character", None), getattr(exc, "reason", None)
    if reason is not None and character is not None:
        code = ord(character) if isinstance(character, str) else character
        return line, f"unacceptable character #x{code:04x}: {reason}"
    if isinstance(exc, AssertionError):  # ruamel's scanner, e.g. '| #' between comments
        return line, "ruamel.yaml cannot parse this file (it failed an internal check)"
    if isinstance(exc, RecursionError):
        return line, "nested too deeply"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return line, f"{type(exc).__name__}: {first}" if first else type(exc).__name__
