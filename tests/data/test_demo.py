"""The demo dataset: real Amazon 2023 file formats, realistic noise, determinism, learnable structure."""

from __future__ import annotations

import gzip
import itertools
import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from pipeline_lib.data.demo import DemoConfig, demo_config, generate_demo
from pipeline_lib.errors import PipelineInputError

REVIEW_TYPES = {
    "rating": float, "title": str, "text": str, "images": list, "asin": str, "parent_asin": str,
    "user_id": str, "timestamp": int, "helpful_vote": int, "verified_purchase": bool,
}
META_FIELDS = (
    "main_category", "title", "average_rating", "rating_number", "features", "description", "price", "images",
    "videos", "store", "categories", "details", "parent_asin", "bought_together",
)


def read_jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_demo(tmp_path_factory.mktemp("demo"), DemoConfig())


@pytest.fixture(scope="module")
def reviews(demo: dict[str, Path]) -> list[dict]:
    return read_jsonl_gz(demo["reviews"])


@pytest.fixture(scope="module")
def meta(demo: dict[str, Path]) -> list[dict]:
    return read_jsonl_gz(demo["meta"])


def five_core(reviews: list[dict], k: int = 5) -> tuple[dict[str, list[str]], int]:
    """Deduplicate (earliest review wins), sort each user chronologically (stable), iterate k-core.

    Returns the users' item sequences and the number of passes that removed something.
    """
    first: dict[tuple[str, str], int] = {}
    for r in reviews:
        key = (r["user_id"], r["parent_asin"])
        first[key] = min(first.get(key, r["timestamp"]), r["timestamp"])
    events = defaultdict(list)
    for r in reviews:
        key = (r["user_id"], r["parent_asin"])
        if first.pop(key, None) is not None:
            events[r["user_id"]].append((r["timestamp"], r["parent_asin"]))
    sequences = {u: [item for _, item in sorted(ev, key=lambda e: e[0])] for u, ev in events.items()}
    passes = 0
    while True:
        item_counts = Counter(item for seq in sequences.values() for item in seq)
        kept = {u: [i for i in seq if item_counts[i] >= k] for u, seq in sequences.items()}
        kept = {u: seq for u, seq in kept.items() if len(seq) >= k}
        if kept == sequences:
            return sequences, passes
        sequences, passes = kept, passes + 1


def top10_metrics(rankings: list[list[str]], targets: list[str]) -> tuple[float, float]:
    """Recall@10 and NDCG@10 with one target per user."""
    recall = ndcg = 0.0
    for ranking, target in zip(rankings, targets):
        if target in ranking[:10]:
            recall += 1
            ndcg += 1 / math.log2(ranking.index(target) + 2)
    return recall / len(targets), ndcg / len(targets)


def baselines(sequences: dict[str, list[str]]) -> dict[str, tuple[float, float]]:
    """Leave-one-out: train on seq[:-2], test target seq[-1] after history seq[:-1].

    ``popularity`` ranks by training counts; ``transition`` ranks by item→next-item training counts
    from the last history item, ties and the rest by popularity.
    """
    popularity: Counter[str] = Counter()
    follows: dict[str, Counter[str]] = defaultdict(Counter)
    for seq in sequences.values():
        train = seq[:-2]
        popularity.update(train)
        for a, b in itertools.pairwise(train):
            follows[a][b] += 1
    by_popularity = sorted(popularity, key=lambda i: (-popularity[i], i))
    targets = [seq[-1] for seq in sequences.values()]
    transition_rankings = []
    for seq in sequences.values():
        nxt = follows[seq[-2]]
        transition_rankings.append(sorted(popularity, key=lambda i: (-nxt[i], -popularity[i], i))[:10])
    return {
        "popularity": top10_metrics([by_popularity[:10]] * len(targets), targets),
        "transition": top10_metrics(transition_rankings, targets),
    }


def test_reviews_have_the_real_fields_and_types(reviews: list[dict]) -> None:
    assert len(reviews) > 10_000
    for r in reviews:
        assert list(r) == list(REVIEW_TYPES)
        for name, kind in REVIEW_TYPES.items():
            assert type(r[name]) is kind, (name, r[name])
        assert re.fullmatch(r"A[A-Z0-9]{27}", r["user_id"])
        assert re.fullmatch(r"B0[A-Z0-9]{8}", r["parent_asin"]) and re.fullmatch(r"B0[A-Z0-9]{8}", r["asin"])
        assert r["rating"] in (1.0, 2.0, 3.0, 4.0, 5.0)
        assert 1_400_000_000_000 < r["timestamp"] < 1_800_000_000_000  # milliseconds
        assert r["images"] == [] and r["title"] and r["text"] and r["helpful_vote"] >= 0
    assert any(r["asin"] != r["parent_asin"] for r in reviews)


def test_meta_rows_have_the_real_fields_and_types(meta: list[dict], reviews: list[dict]) -> None:
    for m in meta:
        assert list(m) == list(META_FIELDS)
        assert isinstance(m["title"], str) and m["title"]
        assert isinstance(m["average_rating"], float) and isinstance(m["rating_number"], int)
        for name in ("features", "description", "categories"):
            assert isinstance(m[name], list) and all(isinstance(v, str) for v in m[name])
        assert m["price"] is None or isinstance(m["price"], float)
        assert m["store"] is None or isinstance(m["store"], str)
        assert isinstance(m["details"], dict) and m["images"] == [] and m["videos"] == []
        assert m["bought_together"] is None
        assert m["categories"] == [] or len(m["categories"]) == 3
    asins = [m["parent_asin"] for m in meta]
    assert len(set(asins)) == len(asins)
    reviewed = {r["parent_asin"] for r in reviews}
    assert reviewed <= set(asins)
    assert set(asins) - reviewed, "some items should have metadata but no review"


def test_meta_carries_realistic_noise(meta: list[dict]) -> None:
    descriptions = [" ".join(m["description"]) for m in meta]
    assert any("<br>" in d for d in descriptions) and any("&amp;" in d for d in descriptions)
    assert any(not m["features"] for m in meta) and any(not m["description"] for m in meta)
    assert any(m["store"] is None for m in meta) and any(not m["categories"] for m in meta)
    assert sum(m["store"] is None for m in meta) < len(meta) / 4


def test_reviews_carry_duplicates_ties_and_sparse_users(reviews: list[dict]) -> None:
    by_pair = defaultdict(list)
    by_user = defaultdict(list)
    for r in reviews:
        by_pair[(r["user_id"], r["parent_asin"])].append(r["timestamp"])
        by_user[r["user_id"]].append(r["timestamp"])
    repeated = [stamps for stamps in by_pair.values() if len(stamps) > 1]
    assert repeated and all(len(set(stamps)) == len(stamps) for stamps in repeated)  # later, not the same time
    assert any(len(stamps) != len(set(stamps)) for stamps in by_user.values())  # ties within a user
    assert sum(len(stamps) < 5 for stamps in by_user.values()) > 50


def test_five_core_filtering_removes_users_and_items_over_several_passes(reviews: list[dict]) -> None:
    sequences, passes = five_core(reviews)
    users = {r["user_id"] for r in reviews}
    items = {r["parent_asin"] for r in reviews}
    kept_items = {i for seq in sequences.values() for i in seq}
    assert passes >= 2
    assert 1300 <= len(sequences) < len(users)
    assert 350 <= len(kept_items) < len(items)
    assert 12_000 <= sum(map(len, sequences.values())) <= 18_000


def test_item_transitions_beat_popularity(reviews: list[dict]) -> None:
    """The honest check that the demo has sequential structure: Recall@10 at least doubles."""
    sequences, _ = five_core(reviews)
    scores = baselines(sequences)
    (pop_recall, pop_ndcg), (trans_recall, trans_ndcg) = scores["popularity"], scores["transition"]
    assert pop_recall > 0.01
    assert trans_recall >= 2 * pop_recall and trans_ndcg >= 2 * pop_ndcg


def test_baselines_score_a_hand_built_case() -> None:
    sequences = {f"u{n}": ["a", "b", "c", "a", "b"] for n in range(3)} | {"v": ["c", "c2", "c3", "c", "a"]}
    scores = baselines(sequences)
    # training counts from seq[:-2]: c 4, a 3, b 3 (ties by id), c2 1, c3 1; targets b (x3) and a
    assert scores["popularity"][0] == 1.0
    assert scores["popularity"][1] == pytest.approx((3 / math.log2(4) + 1 / math.log2(3)) / 4)
    # "a" was always followed by "b" (rank 1); "c" only by "c2", so "a" comes third after c2, c
    assert scores["transition"][0] == 1.0
    assert scores["transition"][1] == pytest.approx((3 + 1 / math.log2(4)) / 4)


def test_titles_share_words_within_a_subcategory(meta: list[dict]) -> None:
    """Text reflects category: a title's most similar other title (word Jaccard) is nearly always a sibling."""
    rows = [(m["categories"][-1], set(re.findall(r"[a-z0-9]+", m["title"].lower()))) for m in meta if m["categories"]]

    def jaccard(a: set[str], b: set[str]) -> float:
        return len(a & b) / len(a | b)

    assert len({label for label, _ in rows}) == 30
    same = [
        label == max((other for other in rows if other[1] is not words), key=lambda o: jaccard(words, o[1]))[0]
        for label, words in rows
    ]
    within = [jaccard(a[1], b[1]) for a, b in itertools.combinations(rows, 2) if a[0] == b[0]]
    across = [jaccard(a[1], b[1]) for a, b in itertools.combinations(rows, 2) if a[0] != b[0]]
    assert sum(same) / len(same) > 0.9
    assert sum(within) / len(within) > 2 * sum(across) / len(across)


def test_same_config_gives_identical_bytes_and_seed_matters(tmp_path: Path, demo: dict[str, Path]) -> None:
    again = generate_demo(tmp_path / "again", DemoConfig())
    for role in ("reviews", "meta"):
        assert again[role].read_bytes() == demo[role].read_bytes()
        assert demo[role].read_bytes()[4:8] == bytes(4)  # gzip header mtime: fixed, not the clock
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == ["Demo.jsonl.gz", "meta_Demo.jsonl.gz"]
    other = generate_demo(tmp_path / "other", DemoConfig(n_users=50, n_items=80, seed=7))
    small = generate_demo(tmp_path / "small", DemoConfig(n_users=50, n_items=80))
    assert other["reviews"].read_bytes() != small["reviews"].read_bytes()


def test_config_from_params_and_its_errors() -> None:
    assert demo_config({"seed": 11}).seed == 11
    assert demo_config({"seed": 11, "demo": {"seed": 3, "n_users": 40}}) == DemoConfig(seed=3, n_users=40)
    with pytest.raises(PipelineInputError, match=r"params.yaml, field 'demo': unknown key\(s\) n_user"):
        demo_config({"demo": {"n_user": 10}})
    with pytest.raises(PipelineInputError, match=r"field 'demo.n_users': expected an integer"):
        demo_config({"demo": {"n_users": "many"}})
    with pytest.raises(PipelineInputError, match=r"field 'demo.n_top_categories'"):
        demo_config({"demo": {"n_top_categories": 99}})
    with pytest.raises(PipelineInputError, match="field 'noise_rate'"):
        DemoConfig(noise_rate=0.8, copurchase_rate=0.5)
