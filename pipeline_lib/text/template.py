"""The item text template: which metadata fields, in which order, cleaned of HTML.

An item's text is ``"<Label>: <value>. <Label>: <value>. …"`` over the configured fields in
order (default: title, brand, categories, features, description), skipping empty fields.
List fields are joined with "; " (categories with " > ", since they are a path). HTML tags are
removed and entities unescaped; whitespace is collapsed; the whole text is cut at ``max_chars``
(the encoder truncates to its own token limit anyway; title and brand come first so they survive).
"""

from __future__ import annotations

import html
import re

from pipeline_lib.data.meta import ItemMeta

FIELDS = ("title", "brand", "main_category", "categories", "features", "description", "details")
_LABELS = {
    "title": "Title",
    "brand": "Brand",
    "main_category": "Main category",
    "categories": "Categories",
    "features": "Features",
    "description": "Description",
    "details": "Details",
}
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Strip HTML tags, unescape entities, collapse whitespace."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


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


def validate_fields(fields: list[str]) -> None:
    unknown = [f for f in fields if f not in FIELDS]
    if unknown or not fields:
        raise ValueError(f"text fields must be a non-empty subset of {', '.join(FIELDS)}; got {fields}")


def item_text(meta: ItemMeta, fields: list[str], max_chars: int) -> str:
    """Render one item's text from its metadata (see the module docstring for the template)."""
    parts = []
    for name in fields:
        value = _field_value(meta, name)
        if value:
            parts.append(f"{_LABELS[name]}: {value.rstrip('.')}.")
    return " ".join(parts)[:max_chars]
