from pathlib import Path

import pytest

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.params import bos_query_count, composition_alpha, dataset_spec, stage_section
from pipeline_lib.schema import load_params

PARAMS = {
    "alpha": None,
    "bos_queries": None,
    "train": {"lr": 0.003, "max_epochs": 200},
    "profiles": {"cpu": {"train": {"max_epochs": 5, "lr": 0.005}}},
    "catalog": {
        "demo": {"source": "demo", "alpha": 0.4, "bos_queries": 16, "overrides": {"train": {"max_epochs": 8}}},
        "odd": {"source": "ftp", "alpha": 0.1, "bos_queries": 1},
        "small": {"source": "demo", "alpha": 0.4, "bos_queries": 16, "profile": "cpu"},
        "tuned": {"source": "demo", "alpha": 0.4, "bos_queries": 16, "profile": "cpu",
                  "overrides": {"train": {"max_epochs": 9}}},
        "typo": {"source": "demo", "alpha": 0.4, "bos_queries": 16, "profile": "gpu"},
    },
}


def test_dataset_defaults_and_top_level_override():
    spec = dataset_spec(PARAMS, "demo")
    assert composition_alpha(PARAMS, spec) == 0.4 and bos_query_count(PARAMS, spec) == 16
    swept = {**PARAMS, "alpha": 0.55, "bos_queries": 0}
    assert composition_alpha(swept, spec) == 0.55 and bos_query_count(swept, spec) == 0


def test_stage_section_applies_dataset_overrides():
    assert stage_section(PARAMS, dataset_spec(PARAMS, "demo"), "train") == {"lr": 0.003, "max_epochs": 8}


def test_profile_overrides_sit_between_section_and_dataset_overrides():
    assert stage_section(PARAMS, dataset_spec(PARAMS, "small"), "train") == {"lr": 0.005, "max_epochs": 5}
    assert stage_section(PARAMS, dataset_spec(PARAMS, "tuned"), "train") == {"lr": 0.005, "max_epochs": 9}
    with pytest.raises(PipelineInputError, match="unknown profile 'gpu' \\(known: cpu\\)"):
        dataset_spec(PARAMS, "typo")


def test_bad_catalog_entries():
    with pytest.raises(PipelineInputError, match="dataset 'nope' is not in catalog"):
        dataset_spec(PARAMS, "nope")
    with pytest.raises(PipelineInputError, match="catalog.odd.source"):
        dataset_spec(PARAMS, "odd")


def test_load_params_errors(tmp_path):
    with pytest.raises(PipelineInputError, match="params file not found"):
        load_params(tmp_path / "missing.yaml")
    (tmp_path / "p.yaml").write_text("a: [1,\n")
    with pytest.raises(PipelineInputError, match="not valid YAML"):
        load_params(tmp_path / "p.yaml")


def test_repository_params_parse():
    params = load_params(Path(__file__).parents[1] / "params.yaml")
    for name in params["catalog"]:
        dataset_spec(params, name)
    assert "alpha" in params and params["datasets"]


def test_a_list_of_profiles_merges_in_order_then_the_dataset_overrides():
    params = {**PARAMS, "profiles": {**PARAMS["profiles"], "converge": {"train": {"max_epochs": 100, "patience": 5}}}}
    entry = {"source": "demo", "alpha": 0.4, "bos_queries": 16}
    params["catalog"] = {"both": {**entry, "profile": ["cpu", "converge"]},
                         "first_wins_not": {**entry, "profile": ["converge", "cpu"]},
                         "typo": {**entry, "profile": ["cpu", "gpu"]}}
    assert stage_section(params, dataset_spec(params, "both"), "train") == {"lr": 0.005, "max_epochs": 100, "patience": 5}
    assert stage_section(params, dataset_spec(params, "first_wins_not"), "train")["max_epochs"] == 5
    with pytest.raises(PipelineInputError, match=r"catalog\.typo\.profile\[1\].*unknown profile 'gpu'"):
        dataset_spec(params, "typo")
