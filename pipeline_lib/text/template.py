"""The item text template: which metadata fields, in which order, cleaned of HTML.

An item's text is ``"<Label>: <value>. <Label>: <value>. …"`` over the configured fields in
order (default: title, brand, categories, features, description), skipping empty fields.
List fields are joined with "; " (categories with " > ", since they are a path). Each value is
reduced to the text a browser would show (see :func:`clean_text`); the whole text is cut at
``max_chars`` (the encoder truncates to its own token limit anyway; title and brand come first so
they survive).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from pipeline_lib.data.meta import ItemMeta

_LABELS = {
    "title": "Title",
    "brand": "Brand",
    "main_category": "Main category",
    "categories": "Categories",
    "features": "Features",
    "description": "Description",
    "details": "Details",
}
_SPACE = re.compile(r"\s+")
# Elements whose boundaries separate words on screen; other tags (b, i, span, a, …) join their text.
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br caption dd details div dl dt fieldset figcaption figure footer "
    "form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th thead "
    "tr ul".split()
)
_HIDDEN_TAGS = frozenset({"script", "style"})  # their content is code, not text


class _VisibleText(HTMLParser):
    """Collects the text a browser would show: character data with entities resolved, comments and
    script/style content dropped, a space at block-level tag boundaries. A ``<`` that does not start
    a tag (``< 0.5%``, ``a <= b``) is data, as in a browser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def clean_text(text: str) -> str:
    """The visible text of an HTML fragment (tags and comments removed, entities resolved, script and
    style content dropped, block-level tags separating words), whitespace collapsed."""
    parser = _VisibleText()
    parser.feed(text)
    parser.close()
    return _SPACE.sub(" ", "".join(parser.parts)).strip()


def _field_value(meta: ItemMeta, name: str) -> str:
    value = getattr(meta, name)
    if name == "details":
        parts = [f"{k}: {v}" for k, v in value.items() if v]
    elif isinstance(value, tuple):
        parts = list(value)
    else:
        parts = [value]
    cleaned = [clean_text(p) for p in parts]
    return (" > " if name == "categories" else "; ").join(p for p in cleaned if p)


def item_text(meta: ItemMeta, fields: list[str], max_chars: int) -> str:
    """Render one item's text from its metadata (see the module docstring for the template)."""
    parts = []
    for name in fields:
        value = _field_value(meta, name)
        if value:
            parts.append(f"{_LABELS[name]}: {value.rstrip('.')}.")
    return " ".join(parts)[:max_chars]
