from pipeline_lib.training.etegrec_result import JointResult, combined_stop, row_phase
from pipeline_lib.training.loop import LoopResult


def tokenizer_row(epoch: int) -> dict[str, float]:
    return {"epoch": epoch, "trains_tokenizer": 1.0, "sq_loss": 0.5, "sia_loss": 2.0, "mu": 1e-4, "lam": 3e-4,
            "train_loss": 0.5002, "lr_tokenizer": 1e-4}


def recommender_row(epoch: int, valid: float | None = None) -> dict[str, float]:
    row = {"epoch": epoch, "trains_tokenizer": 0.0, "rec_loss": 3.0 - epoch / 10, "train_loss": 3.0 - epoch / 10}
    return row if valid is None else {**row, "valid_ndcg@10": valid}


ALTERNATION = LoopResult(
    best_epoch=1, best_metrics={"ndcg@10": 0.2}, best_weights={},
    curve=[tokenizer_row(0), recommender_row(1, 0.2), tokenizer_row(2), recommender_row(3, 0.1)],
    epochs_run=4, stopped_by="patience",
)
FINETUNE = LoopResult(
    best_epoch=0, best_metrics={"ndcg@10": 0.3}, best_weights={},
    curve=[recommender_row(0, 0.3), recommender_row(1, 0.25)], epochs_run=2, stopped_by="max_epochs",
)


def test_the_run_is_at_its_plateau_only_when_every_phase_is():
    assert combined_stop(["patience", "patience"]) == "patience"
    assert combined_stop(["patience", "max_epochs"]) == "max_epochs"
    assert combined_stop(["max_epochs", "patience"]) == "max_epochs"
    assert row_phase(tokenizer_row(0)) == "tokenizer" and row_phase(recommender_row(1)) == "recommender"
    assert row_phase({**tokenizer_row(0), "rec_loss": 1.0}) == "joint"


def test_overall_numbers_the_fine_tuning_after_the_alternation_and_reports_what_is_tested():
    result = JointResult(ALTERNATION, 2, 15, FINETUNE, 1, 10)
    overall = result.overall()
    assert (overall.best_epoch, overall.epochs_run, overall.stopped_by) == (4, 6, "max_epochs")
    assert overall.best_metrics == {"ndcg@10": 0.3}
    assert [row["epoch"] for row in overall.curve] == [0, 1, 2, 3, 4, 5]
    assert [row["finetune"] for row in overall.curve] == [0.0] * 4 + [1.0] * 2
    alone = JointResult(ALTERNATION, 2, 15, None, 1, 10).overall()
    assert (alone.best_epoch, alone.epochs_run, alone.stopped_by) == (1, 4, "patience")


def test_phases_say_what_each_did_with_the_loss_terms_of_their_first_and_last_epoch():
    phases = JointResult(ALTERNATION, 2, 15, FINETUNE, 1, 10).phases()
    alternation, finetune = phases["alternation"], phases["finetune"]
    assert (alternation["best_epoch"], alternation["epochs"], alternation["stopped_by"]) == (1, 4, "patience")
    assert (alternation["eval_every"], alternation["patience"]) == (2, 15)
    assert (finetune["best_epoch"], finetune["epochs"], finetune["stopped_by"]) == (0, 2, "max_epochs")
    tokenizer = alternation["loss_terms"]["tokenizer"]
    assert tokenizer["first_epoch"] == {"epoch": 0, "total": 0.5002, "terms": {
        "sq": {"raw": 0.5, "weight": 1.0, "weighted": 0.5},
        "sia": {"raw": 2.0, "weight": 1e-4, "weighted": 2e-4}}}  # μ as the epoch had it
    assert tokenizer["last_epoch"]["epoch"] == 2
    recommender = alternation["loss_terms"]["recommender"]["last_epoch"]
    assert recommender == {"epoch": 3, "total": 2.7, "terms": {"rec": {"raw": 2.7, "weight": 1.0, "weighted": 2.7}}}
    assert finetune["loss_terms"]["last_epoch"]["epoch"] == 1  # counted within the fine-tuning
    assert JointResult(ALTERNATION, 2, 15, None, 1, 10).phases()["finetune"] is None
