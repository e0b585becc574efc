"""Loss-term records in metrics files (pipeline_lib.reporting.loss_terms): found wherever they sit, bad ones named,
the ratio of the weighted terms over the non-zero weights only."""

import pytest

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import write_json
from pipeline_lib.loss_terms import epoch_entry
from pipeline_lib.reporting.loss_terms import read_loss_terms, weighted_spread

RECORD = {"first_epoch": epoch_entry(1, {"a": 1.0}, {"a": 1.0}), "last_epoch": epoch_entry(2, {"a": 0.5}, {"a": 1.0})}


def test_records_are_found_at_the_top_and_under_phases_and_kinds(tmp_path):
    write_json(tmp_path / "top.json", {"loss_terms": RECORD})
    write_json(tmp_path / "nested.json", {"pretraining": {"epochs": 2, "loss_terms": RECORD},
                                          "alternation": {"loss_terms": {"tokenizer": RECORD, "joint": None}},
                                          "finetune": {"loss_terms": RECORD}})
    write_json(tmp_path / "none.json", {"test": {}})
    assert list(read_loss_terms(tmp_path / "top.json")) == [""]
    assert sorted(read_loss_terms(tmp_path / "nested.json")) == ["alternation/tokenizer", "finetune", "pretraining"]
    assert read_loss_terms(tmp_path / "top.json")[""]["last_epoch"]["a"] == {"raw": 0.5, "weight": 1.0, "weighted": 0.5}
    assert read_loss_terms(tmp_path / "none.json") == {}


@pytest.mark.parametrize(("content", "field"), [
    ({"loss_terms": {"first_epoch": RECORD["first_epoch"]}}, "loss_terms"),
    ({"loss_terms": {"first_epoch": {"terms": {"a": {"raw": "big", "weight": 1, "weighted": 1}}},
                     "last_epoch": RECORD["last_epoch"]}}, "loss_terms.first_epoch.terms.a"),
    ({"finetune": {"loss_terms": {"kind": {"first_epoch": {}, "last": {}}}}}, "finetune.loss_terms.kind"),
    ({"loss_terms": 3}, "loss_terms"),
])
def test_a_malformed_record_names_the_file_and_key(tmp_path, content, field):
    write_json(tmp_path / "bad.json", content)
    with pytest.raises(PipelineInputError, match="bad.json") as err:
        read_loss_terms(tmp_path / "bad.json")
    assert err.value.field == field


def test_the_spread_counts_only_terms_with_a_weight():
    terms = {"cf": {"raw": 0.0, "weight": 0.1, "weighted": 0.0}, "div": {"raw": 2.0, "weight": 1.0, "weighted": 2.0},
             "recon": {"raw": 9.0, "weight": 0.0, "weighted": 0.0}}
    assert weighted_spread(terms) == ("div", "cf", float("inf"))
    assert weighted_spread({"rec": {"raw": 1.0, "weight": 1.0, "weighted": 1.0}}) is None
