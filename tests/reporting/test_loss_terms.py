"""Loss-term records (pipeline_lib.reporting.loss_terms): their two shapes, bad ones named, which terms are weighted."""

import pytest

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import write_json
from pipeline_lib.reporting.loss_terms import is_weighted, read_loss_terms, weighted_spread

EPOCHS = {"first_epoch": {"a": 1.0}, "last_epoch": {"a": 0.5}}


def test_flat_and_per_phase_records_read_the_same_way(tmp_path):
    write_json(tmp_path / "flat.json", {"loss_terms": EPOCHS})
    write_json(tmp_path / "phases.json", {"loss_terms": {"alternation": EPOCHS, "finetune": EPOCHS}})
    write_json(tmp_path / "none.json", {"test": {}})
    assert read_loss_terms(tmp_path / "flat.json") == {"": EPOCHS}
    assert list(read_loss_terms(tmp_path / "phases.json")) == ["alternation", "finetune"]
    assert read_loss_terms(tmp_path / "none.json") == {}


@pytest.mark.parametrize(("loss_terms", "field"), [
    ({"first_epoch": {"a": 1.0}}, "loss_terms"),
    ({"first_epoch": {"a": "big"}, "last_epoch": {}}, "loss_terms.first_epoch.a"),
    ({"finetune": {"first_epoch": {}, "last": {}}}, "loss_terms.finetune"),
])
def test_a_malformed_record_names_the_file_and_key(tmp_path, loss_terms, field):
    write_json(tmp_path / "bad.json", {"loss_terms": loss_terms})
    with pytest.raises(PipelineInputError, match="bad.json") as err:
        read_loss_terms(tmp_path / "bad.json")
    assert err.value.field == field


def test_weighted_terms_show_their_weight_and_totals_are_none():
    assert [is_weighted(t) for t in ("α·L_CF", "0.2*aap", "weighted_cf", "cf_weighted", "L_CF", "cf_loss")] == [
        True, True, True, True, False, False]
    assert not is_weighted("weighted_total") and not is_weighted("loss")
    assert weighted_spread({"α·L_CF": 0.0, "β·L_Div": -2.0, "L_CF": 9.0}) == ("β·L_Div", "α·L_CF", float("inf"))
    assert weighted_spread({"α·L_CF": 1.0, "L_Div": 3.0}) is None
