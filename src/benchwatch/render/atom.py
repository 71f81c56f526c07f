"""Atom 1.0 feeds (RFC 4287), for the site's "regressions" subscription.

Built with ``xml.etree`` so every text node and attribute is escaped by the XML
writer; characters XML 1.0 cannot carry at all (control characters) are replaced
by spaces first, so no benchmark name can make the feed unparseable. Ids and dates
come from the caller: a feed reader tells entries apart by id, so an id must stay
the same across runs for the same event (see ``entry_id``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

NS = "http://www.w3.org/2005/Atom"

#: Namespace for benchwatch's name-based (version 5) UUIDs.
BENCHWATCH_UUID_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/benchwatch")

# Not allowed anywhere in an XML 1.0 document (even escaped).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Entry:
    id: str  # an IRI, e.g. from ``entry_id``
    title: str
    updated: datetime  # timezone-aware
    summary: str
    content: str | None = None  # longer plain text
    link: str | None = None
    categories: tuple[str, ...] = ()


def entry_id(*parts: str) -> str:
    """A stable ``urn:uuid:`` id from the parts that name an event."""
    return f"urn:uuid:{uuid.uuid5(BENCHWATCH_UUID_NS, chr(31).join(parts))}"


def timestamp(when: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as Atom requires."""
    if when.tzinfo is None:
        raise ValueError("Atom dates need a timezone; pass an aware datetime")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{NS}}}{tag}")
    el.text = _INVALID_XML.sub(" ", text)
    return el


def feed(*, feed_id: str, title: str, updated: datetime, entries: Sequence[Entry],
         author: str = "benchwatch", subtitle: str | None = None,
         link: str | None = None) -> str:
    """A complete Atom document. ``updated`` should come from the data (the newest
    entry), not the clock, so the same data gives the same bytes."""
    ET.register_namespace("", NS)
    root = ET.Element(f"{{{NS}}}feed")
    _text(root, "id", feed_id)
    _text(root, "title", title)
    if subtitle:
        _text(root, "subtitle", subtitle)
    _text(root, "updated", timestamp(updated))
    _text(ET.SubElement(root, f"{{{NS}}}author"), "name", author)
    _text(root, "generator", "benchwatch")
    if link:
        ET.SubElement(root, f"{{{NS}}}link", href=_INVALID_XML.sub(" ", link), rel="alternate")
    for e in entries:
        el = ET.SubElement(root, f"{{{NS}}}entry")
        _text(el, "id", e.id)
        _text(el, "title", e.title)
        _text(el, "updated", timestamp(e.updated))
        if e.link:
            ET.SubElement(el, f"{{{NS}}}link", href=_INVALID_XML.sub(" ", e.link),
                          rel="alternate")
        for term in e.categories:
            ET.SubElement(el, f"{{{NS}}}category", term=_INVALID_XML.sub(" ", term))
        _text(el, "summary", e.summary).set("type", "text")
        if e.content is not None:
            _text(el, "content", e.content).set("type", "text")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
