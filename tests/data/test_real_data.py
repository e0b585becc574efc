"""The filter on real data in ../shared/data (skipped where that folder does not hold it)."""

from pathlib import Path

import pytest

from pipeline_lib.data import amazon
from pipeline_lib.data.interactions import deduplicate, k_core
from pipeline_lib.data.sources import load_interactions, load_item_meta, source_files
from pipeline_lib.data.split import dataset_stats, split_dataset
from pipeline_lib.params import dataset_spec
from pipeline_lib.schema import load_params

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PARAMS = load_params(Path(__file__).resolve().parents[2] / "params.yaml")


def filtered_stats(frame):
    return dataset_stats(split_dataset(k_core(deduplicate(frame), 5), 20))


@pytest.mark.skipif(not (SHARED / "amazon2018-scientific").is_dir(), reason="LC-Rec Scientific data not present")
def test_lcrec_scientific_is_kept_whole_by_the_5_core_filter():
    spec = dataset_spec(PARAMS, "scientific2018")
    folder = SHARED / "amazon2018-scientific"
    frame, _ = load_interactions(spec, folder)
    stats = filtered_stats(frame)
    assert (stats["users"], stats["items"], stats["interactions"]) == (8317, 4344, 58492)
    assert stats["train_interactions"] == 58492 - 2 * 8317
    items = set(frame["item"])
    meta = load_item_meta(spec, folder, items, require_title=True)
    assert len(meta) == 4344 and all(m.title for m in meta.values())
    assert set(source_files(spec).values()) == set(spec.sha256)


# Official Amazon Reviews 2023 counts (DECOR Table 4), when the real files are present.
TABLE4 = {
    "Industrial_and_Scientific": (50985, 25848, 412947),
    "Musical_Instruments": (57439, 24587, 511836),
    "Video_Games": (94762, 25612, 814586),
}


def _amazon_file(category: str, folder: str, name: str) -> Path | None:
    for root in (SHARED / "amazon2023", SHARED / "amazon_2023"):
        for candidate in (root / folder / name, root / name):
            if candidate.is_file():
                return candidate
    return None


@pytest.mark.parametrize("category", TABLE4)
@pytest.mark.parametrize("source", ["benchmark", "raw"])
def test_amazon2023_table4_counts(category, source):
    if source == "benchmark":
        path = _amazon_file(category, "benchmark/5core/rating_only", f"{category}.csv.gz")
    else:
        path = _amazon_file(category, "raw/review_categories", f"{category}.jsonl.gz")
    if path is None:
        pytest.skip(f"Amazon Reviews 2023 {category} ({source}) not present in {SHARED}")
    frame = amazon.read_benchmark_csv(path) if source == "benchmark" else amazon.read_reviews_jsonl(path)
    stats = filtered_stats(frame)
    assert (stats["users"], stats["items"], stats["interactions"]) == TABLE4[category]


@pytest.mark.skipif(not (SHARED / "amazon2018-scientific").is_dir(), reason="LC-Rec Scientific data not present")
def test_lcrec_scientific_category_levels_with_inner_commas_stay_whole():
    spec = dataset_spec(PARAMS, "scientific2018")
    folder = SHARED / "amazon2018-scientific"
    frame, _ = load_interactions(spec, folder)
    meta = load_item_meta(spec, folder, set(frame["item"]), require_title=True)
    levels = [level for m in meta.values() for level in m.categories]
    assert "Tapes, Adhesives & Sealants" in levels and "Adhesives & Sealants" not in levels
    assert not any(level.startswith(",") or level.endswith(",") for level in levels)
    # 1,123 of the 4,344 items have a level whose name holds ", " (a bare-comma split cut it in two)
    assert sum(any(", " in level for level in m.categories) for m in meta.values()) == 1123
