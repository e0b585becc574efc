"""Item metadata normalised across sources (Amazon 2023 meta rows, LC-Rec item rows)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ItemMeta:
    """The text fields an item's embedding is built from; absent fields are empty."""

    title: str
    brand: str = ""
    main_category: str = ""
    categories: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    description: tuple[str, ...] = ()
    details: dict[str, str] = field(default_factory=dict)


# LC-Rec joins category levels with a bare "," while level names contain ", "
# ("Tapes, Adhesives & Sealants"), so only a comma not followed by a space separates levels.
_LCREC_LEVEL_SEPARATOR = re.compile(r",(?! )")


def _strings(value: Any) -> tuple[str, ...]:
    """A field that may be missing, a string or a list of strings → tuple of non-empty strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if v is not None and str(v).strip())
    return (str(value),)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def from_amazon2023(row: dict[str, Any]) -> ItemMeta:
    """Amazon Reviews 2023 meta row: brand is ``store``, else ``details['Brand']``."""
    details = row.get("details") if isinstance(row.get("details"), dict) else {}
    return ItemMeta(
        title=_text(row.get("title")),
        brand=_text(row.get("store")) or _text(details.get("Brand")),
        main_category=_text(row.get("main_category")),
        categories=_strings(row.get("categories")),
        features=_strings(row.get("features")),
        description=_strings(row.get("description")),
        details={str(k): _text(v) for k, v in details.items() if not isinstance(v, (dict, list))},
    )


def from_lcrec(row: dict[str, Any]) -> ItemMeta:
    """LC-Rec / LETTER ``*.item.json`` row: ``categories`` is one path whose levels are joined by a
    comma without a following space."""
    levels = _LCREC_LEVEL_SEPARATOR.split(_text(row.get("categories")))
    categories = tuple(c.strip() for c in levels if c.strip())
    return ItemMeta(
        title=_text(row.get("title")),
        brand=_text(row.get("brand")),
        main_category=categories[0] if categories else "",
        categories=categories,
        description=_strings(row.get("description")),
    )
