"""A small synthetic dataset in the raw Amazon Reviews 2023 file formats, for ``dvc repro`` on a laptop.

``generate_demo`` writes ``Demo.jsonl.gz`` (one review per line, like
``raw/review_categories/<Category>.jsonl.gz``) and ``meta_Demo.jsonl.gz`` (one item per line,
like ``raw/meta_categories/meta_<Category>.jsonl.gz``), so the demo runs through the same
parse → deduplicate → 5-core → text-embedding code as the real data.

The data carry structure a sequential recommender can learn and a popularity ranking cannot:

- items belong to a two-level category hierarchy (top category → subcategory); an item's title,
  features, description and store use its subcategory's own nouns, words and brands, so text
  embeddings cluster by category;
- each user prefers a few top categories (Dirichlet preferences) and moves between the
  subcategories of a top category along a Markov chain whose strongest edge is the next
  subcategory of a fixed chain (e.g. microscopes → slides → stains);
- every item has one co-purchase partner in the next subcategory, often bought right after it;
- within a subcategory, item popularity is Zipf-distributed;
- a fraction of steps are uniformly random items (noise).

And the noise real dumps have: HTML entities and ``<br>`` in descriptions, empty features and
descriptions, missing stores and categories, variant ``asin`` values, repeated (user, item)
reviews at later timestamps, timestamp ties within a user, users with fewer than five reviews
and rarely reviewed items (so iterative 5-core filtering needs more than one pass), and items
with metadata but no reviews. Output is byte-for-byte deterministic for a given ``DemoConfig``.
"""

from __future__ import annotations

import gzip
import json
import string
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline_lib.data.demo_words import (
    GENERIC_ADJECTIVES,
    MATERIALS,
    MONTHS,
    OTHER_MAIN_CATEGORIES,
    PACKS,
    REVIEW_OPENERS,
    REVIEW_TITLES,
    ROOT_CATEGORY,
    TAXONOMY,
    USES,
)
from pipeline_lib.data.sources import DEMO_CATEGORY
from pipeline_lib.declare import param
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import atomic_path

_ID_ALPHABET = np.array(list(string.ascii_uppercase + string.digits))
_DAY_MS = 86_400_000
_START_MS = int(datetime(2016, 1, 1, tzinfo=UTC).timestamp() * 1000)
_START_SPAN_MS = 5 * 365 * _DAY_MS
_MAX_SEQ_LEN = 60
_MAX_TRIES = 20


def _rate(default: float, description: str) -> float:
    return param(default, ge=0, le=1, description=description)


@dataclass(frozen=True)
class DemoConfig:
    """Size and structure of the generated demo dataset (all rates are probabilities).

    Defaults give about 1,500 users, 400 items and 15,000 interactions after 5-core filtering.
    """

    n_users: int = param(1700, ge=1, description="users generated, before filtering")
    n_items: int = param(440, ge=1, description="reviewable items generated, before filtering")
    n_meta_only_items: int = param(12, ge=0, description="extra items with a metadata row but no review")
    n_top_categories: int = param(6, ge=1, description="top-level categories (at most the taxonomy's)")
    n_subcategories: int = param(5, ge=2, description="subcategories per top category")
    mean_seq_len: float = param(10.0, gt=5, description="mean reviews of a regular user (items; at least 5 each)")
    short_user_rate: float = _rate(0.1, "share of users with 1-4 reviews (removed by 5-core filtering)")
    rare_item_rate: float = _rate(0.1, "share of items reachable only through noise steps")
    noise_rate: float = _rate(0.1, "probability that a step picks a uniformly random item")
    short_user_noise_rate: float = _rate(0.5, "the same for short users: casual buyers reach the long tail")
    copurchase_rate: float = _rate(0.3, "probability that a step picks the previous item's partner")
    category_switch_rate: float = _rate(0.15, "probability that a step jumps to another top category")
    chain_rate: float = _rate(0.55, "probability that a subcategory transition follows the chain edge")
    zipf_exponent: float = param(1.0, ge=0, description="popularity skew within a subcategory")
    preference_concentration: float = param(
        0.3, gt=0, description="Dirichlet concentration of users' top-category preferences"
    )
    duplicate_rate: float = _rate(0.03, "share of users who review an earlier item again")
    tie_rate: float = _rate(0.03, "probability that a review shares the previous timestamp")
    seed: int = 2025  # params.yaml's demo.seed, or the top-level seed when that is null (demo_config)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            integral = isinstance(value, int) and not isinstance(value, bool)
            if f.type == "int" and not integral:
                raise PipelineInputError(None, f"expected an integer, got {value!r}", field=f.name)
            if f.type == "float" and not (integral or isinstance(value, float)):
                raise PipelineInputError(None, f"expected a number, got {value!r}", field=f.name)
        tops, subs = len(TAXONOMY), min(len(s) for s in TAXONOMY.values())
        checks = (
            ("n_top_categories", 1 <= self.n_top_categories <= tops, f"must be between 1 and {tops}"),
            ("n_subcategories", 2 <= self.n_subcategories <= subs, f"must be between 2 and {subs}"),
            ("n_users", self.n_users >= 1, "must be positive"),
            ("n_items", self.n_items >= 2 * self.n_top_categories * self.n_subcategories,
             "must be at least 2 per subcategory"),
            ("n_meta_only_items", self.n_meta_only_items >= 0, "must not be negative"),
            ("mean_seq_len", 5 < self.mean_seq_len <= _MAX_SEQ_LEN, f"must be above 5 and at most {_MAX_SEQ_LEN}"),
            ("noise_rate", self.noise_rate + self.copurchase_rate <= 1, "noise_rate + copurchase_rate must be at most 1"),
            ("short_user_noise_rate", self.short_user_noise_rate + self.copurchase_rate <= 1,
             "short_user_noise_rate + copurchase_rate must be at most 1"),
            ("zipf_exponent", self.zipf_exponent >= 0, "must not be negative"),
            ("preference_concentration", self.preference_concentration > 0, "must be positive"),
        )
        rates = ("short_user_rate", "rare_item_rate", "noise_rate", "short_user_noise_rate", "copurchase_rate",
                 "category_switch_rate", "chain_rate", "duplicate_rate", "tie_rate")
        for name in rates:
            if not 0 <= getattr(self, name) <= 1:
                raise PipelineInputError(None, "must be between 0 and 1", field=name)
        for name, ok, problem in checks:
            if not ok:
                raise PipelineInputError(None, problem, field=name)
        if self.rare_item_rate * self.n_items > self.n_items - 2 * self.n_top_categories * self.n_subcategories:
            raise PipelineInputError(None, "leaves fewer than 2 regular items per subcategory", field="rare_item_rate")


def demo_config(params: dict[str, Any], params_path: str | Path = "params.yaml") -> DemoConfig:
    """``DemoConfig`` from the ``demo`` section of params.yaml; an absent or null ``seed`` is the top-level seed."""
    section = dict(params.get("demo") or {})
    known = {f.name for f in fields(DemoConfig)}
    unknown = sorted(set(section) - known)
    if unknown:
        raise PipelineInputError(params_path, f"unknown key(s) {', '.join(unknown)}", field="demo")
    if section.get("seed") is None and params.get("seed") is not None:
        section["seed"] = params["seed"]
    try:
        return DemoConfig(**section)
    except PipelineInputError as err:
        raise PipelineInputError(params_path, err.problem, field=f"demo.{err.field}") from None


def demo_paths(out_dir: str | Path) -> dict[str, Path]:
    """Where ``generate_demo`` writes: ``reviews`` and ``meta``."""
    out_dir = Path(out_dir)
    return {"reviews": out_dir / f"{DEMO_CATEGORY}.jsonl.gz", "meta": out_dir / f"meta_{DEMO_CATEGORY}.jsonl.gz"}


@dataclass(frozen=True)
class _Subcategory:
    top: str
    name: str
    nouns: tuple[str, ...]
    words: tuple[str, ...]
    brands: tuple[str, ...]


@dataclass(frozen=True)
class _Catalog:
    """Items and the generative model of the sequences (indices are item positions)."""

    subcategories: tuple[_Subcategory, ...]
    item_subcategory: np.ndarray  # (n_items + n_meta_only_items,) global subcategory index
    members: tuple[np.ndarray, ...]  # per subcategory: its regular (non-rare) items
    popularity_cdf: tuple[np.ndarray, ...]  # per subcategory: cumulative Zipf probabilities of ``members``
    partner: np.ndarray  # (n_items,) co-purchase partner item
    transition_cdf: np.ndarray  # (n_sub, n_sub) subcategory Markov chain, cumulative along rows
    entry_cdf: np.ndarray  # (n_subcategories,) where a visit to a top category starts, cumulative
    n_subcategories: int


@dataclass(frozen=True)
class _Review:
    user: int
    item: int
    timestamp: int


def _subcategories(config: DemoConfig) -> tuple[_Subcategory, ...]:
    """The first ``n_subcategories`` of each of the first ``n_top_categories``, top by top."""
    return tuple(
        _Subcategory(top, name, *(tuple(part.split("|")) for part in parts))
        for top in list(TAXONOMY)[: config.n_top_categories]
        for name, parts in list(TAXONOMY[top].items())[: config.n_subcategories]
    )


def _build_catalog(rng: np.random.Generator, config: DemoConfig) -> _Catalog:
    subcategories = _subcategories(config)
    n_sub, per_top = len(subcategories), config.n_subcategories
    item_subcategory = np.r_[rng.permutation(np.arange(config.n_items) % n_sub),
                             rng.integers(n_sub, size=config.n_meta_only_items)]
    rare = np.zeros(config.n_items, dtype=bool)
    n_rare = int(round(config.rare_item_rate * config.n_items))
    for item in rng.permutation(config.n_items):
        if n_rare == 0:
            break
        if (item_subcategory[: config.n_items][~rare] == item_subcategory[item]).sum() > 2:
            rare[item] = True
            n_rare -= 1
    members, popularity = [], []
    for sub in range(n_sub):
        regular = rng.permutation(np.flatnonzero((item_subcategory[: config.n_items] == sub) & ~rare))
        weights = 1.0 / np.arange(1, len(regular) + 1) ** config.zipf_exponent
        members.append(regular)
        popularity.append(np.cumsum(weights / weights.sum()))
    transition = np.zeros((n_sub, n_sub))
    for sub in range(n_sub):
        first = sub - sub % per_top
        transition[sub, first : first + per_top] = (1 - config.chain_rate) * rng.dirichlet(np.ones(per_top))
        transition[sub, _chain_next(sub, per_top)] += config.chain_rate
    partner = np.array([
        rng.choice(members[_chain_next(int(item_subcategory[item]), per_top)]) for item in range(config.n_items)
    ])
    entry = np.r_[2.0, np.ones(per_top - 1)]
    return _Catalog(subcategories, item_subcategory, tuple(members), tuple(popularity), partner,
                    np.cumsum(transition, axis=1), np.cumsum(entry / entry.sum()), per_top)


def _chain_next(sub: int, per_top: int) -> int:
    """The subcategory after ``sub`` in its top category's chain (the last one wraps to the first)."""
    first = sub - sub % per_top
    return first + (sub - first + 1) % per_top


def _draw(rng: np.random.Generator, cdf: np.ndarray) -> int:
    """An index drawn from the distribution with cumulative probabilities ``cdf``."""
    return min(int(cdf.searchsorted(rng.random(), side="right")), len(cdf) - 1)


def _next_item(rng: np.random.Generator, cat: _Catalog, preference_cdf: np.ndarray, previous: int | None,
               seen: set[int], noise_rate: float, config: DemoConfig) -> int:
    """One step of a user's walk: noise, co-purchase partner, or a Zipf draw from the next subcategory."""
    for _ in range(_MAX_TRIES):
        r = rng.random()
        if r < noise_rate:
            candidate = int(rng.integers(config.n_items))
        elif previous is not None and r < noise_rate + config.copurchase_rate:
            candidate = int(cat.partner[previous])
        else:
            if previous is None or rng.random() < config.category_switch_rate:
                sub = _draw(rng, preference_cdf) * cat.n_subcategories + _draw(rng, cat.entry_cdf)
            else:
                sub = _draw(rng, cat.transition_cdf[cat.item_subcategory[previous]])
            candidate = int(cat.members[sub][_draw(rng, cat.popularity_cdf[sub])])
        if candidate not in seen:
            return candidate
    return int(rng.choice(sorted(set(range(config.n_items)) - seen)))


def _simulate(rng: np.random.Generator, cat: _Catalog, config: DemoConfig) -> list[_Review]:
    """Every user's reviews, including the repeated ones, with millisecond timestamps."""
    n_top = config.n_top_categories
    reviews: list[_Review] = []
    for user in range(config.n_users):
        if rng.random() < config.short_user_rate:
            length, noise_rate = int(rng.integers(1, 5)), config.short_user_noise_rate
        else:
            length = min(_MAX_SEQ_LEN, 4 + int(rng.geometric(1 / (config.mean_seq_len - 4))))
            noise_rate = config.noise_rate
        preference_cdf = np.cumsum(rng.dirichlet(np.full(n_top, config.preference_concentration)))
        stamp = _START_MS + int(rng.integers(_START_SPAN_MS))
        seen: set[int] = set()
        previous: int | None = None
        stamps: list[int] = []
        for step in range(length):
            previous = _next_item(rng, cat, preference_cdf, previous, seen, noise_rate, config)
            seen.add(previous)
            if step and rng.random() >= config.tie_rate:
                stamp += 1 + int(rng.exponential(20 * _DAY_MS))
            stamps.append(stamp)
            reviews.append(_Review(user, previous, stamp))
        if length > 1 and rng.random() < config.duplicate_rate:
            first = int(rng.integers(length - 1))
            again = stamps[first] + 1 + int(rng.exponential(60 * _DAY_MS))
            reviews.append(_Review(user, reviews[-length + first].item, again))
    return reviews


def _random_ids(rng: np.random.Generator, count: int, prefix: str, width: int) -> list[str]:
    ids: list[str] = []
    taken: set[str] = set()
    while len(ids) < count:
        candidate = prefix + "".join(rng.choice(_ID_ALPHABET, width))
        if candidate not in taken:
            taken.add(candidate)
            ids.append(candidate)
    return ids


def _capitalized(words: str) -> str:
    """Upper-case each word's first letter, leaving mixed-case words such as "pH" alone."""
    return " ".join(w if w[1:] != w[1:].lower() else w[:1].upper() + w[1:] for w in words.split())


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _item_text(rng: np.random.Generator, sub: _Subcategory) -> dict[str, Any]:
    """Title, features, description, store and details, all written in the subcategory's vocabulary."""
    brand, noun = _pick(rng, sub.brands), _pick(rng, sub.nouns)
    word, word2 = (sub.words[i] for i in rng.choice(len(sub.words), 2, replace=False))
    model = "".join(rng.choice(_ID_ALPHABET[:26], 2)) + "-" + str(int(rng.integers(100, 9999)))
    title = f"{brand} {model} {_pick(rng, GENERIC_ADJECTIVES)} {_capitalized(word)} {_capitalized(noun)} with {word2}"
    title += _pick(rng, PACKS)
    features = [
        f"{_capitalized(word)} {noun} built for {_pick(rng, USES)}",
        f"{_capitalized(word2)}: dependable results every time",
        f"Made by {brand}, trusted for {sub.name}",
        f"Includes {_pick(rng, sub.words)} for everyday use",
    ][: int(rng.integers(1, 5))]
    sentences = [
        f"The {brand} {noun} combines {word} and {word2} for {_pick(rng, USES)}.",
        f"A {_pick(rng, sub.words)} choice among {sub.top.lower()} & {sub.name.lower()} products.",
    ]
    if rng.random() < 0.2:
        description = ["<br>".join(sentences).replace(" & ", " &amp; ")]
    else:
        description = sentences[: int(rng.integers(1, 3))]
    if rng.random() < 0.1:
        features = []
    if rng.random() < 0.1:
        description = []
    first_available = (f"{MONTHS[int(rng.integers(12))]} {int(rng.integers(1, 29))}, "
                       f"{int(rng.integers(2008, 2021))}")
    details = {
        "Brand": brand,
        "Material": _pick(rng, MATERIALS),
        "Item Weight": f"{round(float(rng.uniform(0.1, 40)), 1)} ounces",
        "Manufacturer": f"{brand} Inc.",
        "Item model number": model,
        "Date First Available": first_available,
    }
    kept = rng.random(len(details)) < 0.7
    return {
        "title": title,
        "features": features,
        "description": description,
        "store": None if rng.random() < 0.08 else brand,
        "details": {key: value for (key, value), keep in zip(details.items(), kept) if keep or key == "Brand"},
    }


def _meta_rows(rng: np.random.Generator, cat: _Catalog, asins: list[str], quality: np.ndarray,
               review_counts: np.ndarray) -> list[dict[str, Any]]:
    """One metadata row per item (reviewed or not), in the field order of the real dump."""
    base_price = {sub.name: float(rng.lognormal(3.0, 0.8)) for sub in cat.subcategories}
    rows = []
    for item, asin in enumerate(asins):
        sub = cat.subcategories[int(cat.item_subcategory[item])]
        text = _item_text(rng, sub)
        price = None if rng.random() < 0.15 else round(base_price[sub.name] * float(rng.lognormal(0, 0.3)), 2)
        main = _pick(rng, OTHER_MAIN_CATEGORIES) if rng.random() < 0.05 else ROOT_CATEGORY
        rows.append({
            "main_category": main,
            "title": text["title"],
            "average_rating": round(float(quality[item]), 1),
            "rating_number": int(review_counts[item] + rng.integers(0, 60)),
            "features": text["features"],
            "description": text["description"],
            "price": price,
            "images": [],
            "videos": [],
            "store": text["store"],
            "categories": [] if rng.random() < 0.04 else [ROOT_CATEGORY, sub.top, sub.name],
            "details": text["details"],
            "parent_asin": asin,
            "bought_together": None,
        })
    return rows


def _review_rows(rng: np.random.Generator, cat: _Catalog, reviews: list[_Review], asins: list[str],
                 variants: dict[int, list[str]], quality: np.ndarray, config: DemoConfig) -> list[dict[str, Any]]:
    user_ids = _random_ids(rng, config.n_users, "A", 27)
    rows = []
    for review in reviews:
        sub = cat.subcategories[int(cat.item_subcategory[review.item])]
        noun, word = _pick(rng, sub.nouns), _pick(rng, sub.words)
        rating = min(5, max(1, round(float(quality[review.item] + rng.normal(0, 0.9)))))
        asin_options = [asins[review.item], *variants.get(review.item, [])]
        rows.append({
            "rating": float(rating),
            "title": _pick(rng, REVIEW_TITLES[rating]).format(noun=noun, word=word),
            "text": f"{REVIEW_OPENERS[rating].format(noun=noun)} The {word} is what I bought it for.",
            "images": [],
            "asin": asin_options[int(rng.integers(len(asin_options)))],
            "parent_asin": asins[review.item],
            "user_id": user_ids[review.user],
            "timestamp": review.timestamp,
            "helpful_vote": int(rng.geometric(0.6)) - 1,
            "verified_purchase": bool(rng.random() < 0.9),
        })
    return rows


def _write_jsonl_gz(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Gzipped JSON lines, atomically, with a fixed header (no file name, mtime 0) for identical bytes."""
    with atomic_path(path) as tmp, open(tmp, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        for row in rows:
            gz.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")


def generate_demo(out_dir: str | Path, config: DemoConfig = DemoConfig()) -> dict[str, Path]:
    """Write ``Demo.jsonl.gz`` and ``meta_Demo.jsonl.gz`` into ``out_dir``; return them by role."""
    rng = np.random.default_rng(config.seed)
    cat = _build_catalog(rng, config)
    reviews = _simulate(rng, cat, config)
    n_all = len(cat.item_subcategory)
    n_variants = rng.integers(1, 3, size=n_all) * (rng.random(n_all) < 0.15)
    ids = _random_ids(rng, n_all + int(n_variants.sum()), "B0", 8)
    asins, variant_ids = ids[:n_all], iter(ids[n_all:])
    variants = {item: [next(variant_ids) for _ in range(n)] for item, n in enumerate(n_variants.tolist()) if n}
    quality = np.clip(rng.normal(4.2, 0.4, n_all), 2.5, 4.9)
    review_counts = np.bincount([r.item for r in reviews], minlength=n_all)
    review_rows = _review_rows(rng, cat, reviews, asins, variants, quality, config)
    meta_rows = _meta_rows(rng, cat, asins, quality, review_counts)
    paths = demo_paths(out_dir)
    _write_jsonl_gz(paths["reviews"], (review_rows[i] for i in rng.permutation(len(review_rows))))
    _write_jsonl_gz(paths["meta"], (meta_rows[i] for i in rng.permutation(len(meta_rows))))
    return paths
