"""Our side of the tables and Figure 3, read per training seed: pipeline_lib.reporting.results and .sweep."""

import copy
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import write_json, write_parquet
from pipeline_lib.paths import DatasetPaths, ResultFiles, run_name
from pipeline_lib.reporting import sweep
from pipeline_lib.reporting.results import (
    PAPER_RESULTS,
    EvalProtocol,
    Measured,
    collect_results,
    load_paper_results,
    read_results,
)

METRICS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10")
DECOR = {"protocol": "decor", "max_history": 20, "beam_size": 50}
FIXTURE = Path(__file__).parent / "fixtures" / "dvc_exp_show.json"


def write_eval(root: Path, model: str, seed: int | None, recall: float, protocol: dict | None = None,
               ranks: bool = True) -> Path:
    """One eval json of ``model`` on dataset ``ds`` (every metric = ``recall``) and, with ``ranks``, its ranks."""
    paths = DatasetPaths("ds", root)
    name = model if seed is None else run_name(model, seed)
    report = {"model": model, "dataset": "ds", "test": dict.fromkeys(METRICS, recall)}
    if seed is not None:
        report |= {"seed": seed, **(DECOR if protocol is None else protocol)}
    write_json(paths.eval_metrics(name), report)
    if ranks:
        write_parquet(paths.user_ranks(name), pd.DataFrame({"user_id": [0, 1], "target": [3, 4], "rank": [1, 0]}))
    return paths.eval_metrics(name)


def test_measured_mean_sd_and_n():
    two = Measured({2025: 0.03, 1: 0.02})
    assert (two.mean, two.n, two.seeded) == (pytest.approx(0.025), 2, True)
    assert two.sd == pytest.approx(math.sqrt(0.00005))  # sample sd: ((0.005² · 2) / (2 − 1)) ** 0.5
    assert Measured({1: 0.03}).sd is None and Measured({1: 0.03}).mean == 0.03
    unseeded = Measured({None: 0.25})
    assert (unseeded.seeded, unseeded.n, unseeded.sd) == (False, 1, None)


def test_collect_results_reads_the_configured_seeds_only(tmp_path):
    write_eval(tmp_path, "decor", 2025, 0.03)
    write_eval(tmp_path, "decor", 1, 0.02)
    write_eval(tmp_path, "decor", 7, 0.9)  # left by an older run with other seeds
    write_eval(tmp_path, "sasrec", 2025, 0.01, dict(DECOR, beam_size=None))
    write_eval(tmp_path, "popularity", None, 0.005)
    results = collect_results("ds", ["decor", "sasrec", "popularity", "tiger"], METRICS, tmp_path, [2025, 1])
    decor = results.values["decor"]["recall@10"]
    assert decor.per_seed == {2025: 0.03, 1: 0.02} and decor.mean == pytest.approx(0.025)
    assert results.values["popularity"]["ndcg@5"].per_seed == {None: 0.005}
    assert "tiger" not in results.values and "tiger" not in results.missing_evals  # nothing at all: missing run
    assert results.protocols["decor"] == EvalProtocol("decor", 20, 50)
    assert results.protocols["sasrec"] == EvalProtocol("decor", 20, None) and "popularity" not in results.protocols
    paths = DatasetPaths("ds", tmp_path)
    assert results.ranks["decor"] == {2025: paths.user_ranks("decor/seed_2025"), 1: paths.user_ranks("decor/seed_1")}
    assert results.ranks["popularity"] == {None: paths.user_ranks("popularity")}
    # sasrec has seed 2025 only: the absent file is named, relative to the repository root
    assert results.missing_evals == {"sasrec": (Path("reports/metrics/ds/eval/sasrec/seed_1.json"),)}


def test_collect_results_lists_missing_ranks_of_present_seeds(tmp_path):
    write_eval(tmp_path, "decor", 2025, 0.03)
    write_eval(tmp_path, "decor", 1, 0.02, ranks=False)
    results = collect_results("ds", ["decor"], METRICS, tmp_path, [2025, 1])
    assert list(results.ranks["decor"]) == [2025]
    assert results.missing_ranks == {"decor": (Path("data/ds/ranks/decor/seed_1.parquet"),)}


def test_seeds_of_a_run_must_agree_on_the_protocol(tmp_path):
    write_eval(tmp_path, "decor", 2025, 0.03)
    second = write_eval(tmp_path, "decor", 1, 0.02, dict(DECOR, beam_size=20))
    with pytest.raises(PipelineInputError, match="beam 20.*beam 50") as info:
        collect_results("ds", ["decor"], METRICS, tmp_path, [2025, 1])
    assert info.value.path == str(second) and info.value.field == "protocol"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"seed": 1}, "seed"), ({"protocol": "tiger"}, "protocol"), ({"max_history": None}, "max_history"),
     ({"beam_size": "50"}, "beam_size"), ({"beam_size": 0}, "beam_size")],
)
def test_a_malformed_protocol_names_the_file_and_field(tmp_path, change, field):
    path = write_eval(tmp_path, "decor", 2025, 0.03, DECOR)
    write_json(path, json.loads(path.read_text()) | change)
    with pytest.raises(PipelineInputError) as info:
        collect_results("ds", ["decor"], METRICS, tmp_path, [2025])
    assert (info.value.path, info.value.field) == (str(path), field)


def test_effective_setting_needs_the_protocols_history_and_beam():
    assert EvalProtocol("decor", 20, 50).setting == "decor"
    assert EvalProtocol("decor", 20, 20).setting == "custom"  # the CPU profile's beam override
    assert EvalProtocol("etegrec", 50, None).setting == "etegrec"  # a sequential model: no beam to compare
    assert EvalProtocol("etegrec", 20, 20).setting == "custom"
    assert EvalProtocol("decor", 20, 20).describe() == "decor (history \u2264 20, beam 20)"
    assert EvalProtocol("etegrec", 50, None).describe() == "etegrec (history \u2264 50, full ranking)"


def test_paper_rows_with_an_unknown_protocol_are_rejected(tmp_path):
    text = PAPER_RESULTS.read_text().replace("protocol: decor", "protocol: decr", 1)
    (tmp_path / "paper.yaml").write_text(text)
    with pytest.raises(PipelineInputError, match="unknown protocol 'decr'") as info:
        load_paper_results(tmp_path / "paper.yaml")
    assert info.value.field == "table1.rows[12].protocol"


# ---- Figure 3: DECOR's points averaged over each experiment's seeds ------------------------------

@pytest.fixture
def doc():
    return json.loads(FIXTURE.read_text())


def points_of(doc, experiment: str) -> dict[str, sweep.SweepPoint]:
    return {p.dataset: p for p in sweep.sweep_points(doc) if p.experiment == experiment}


def test_sweep_points_average_the_seeds_of_each_experiment(doc):
    master = points_of(doc, "master")["scientific"]
    assert master.n_seeds == 2  # seed 2025: R@10 0.0536, N@10 0.0268; seed 1: 0.0651, 0.0316
    assert (master.recall_at_10, master.ndcg_at_10) == (pytest.approx(0.05935), pytest.approx(0.0292))
    assert {p.n_seeds for p in points_of(doc, "umber-unit").values()} == {1}  # its seed 1 has no DECOR metrics


def test_sweep_ignores_seeds_outside_the_experiments_params(doc):
    # goosy-self also has a stale seed_7.json of DECOR with R@10 0.9
    goosy = next(r for e in doc[1]["experiments"] for r in e["revs"] if r["name"] == "goosy-self")
    assert "reports/metrics/demo/eval/decor/seed_7.json" in goosy["data"]["metrics"]
    point = points_of(doc, "goosy-self")["demo"]
    seed = goosy["data"]["metrics"]["reports/metrics/demo/eval/decor/seed_2025.json"]["data"]["test"]
    assert (point.n_seeds, point.recall_at_10) == (2, pytest.approx(seed["recall@10"]))
    without = copy.deepcopy(doc)
    for run in (without[1], *[r for e in without[1]["experiments"] for r in e["revs"]]):
        run["data"]["params"]["params.yaml"]["data"].pop("seeds")
    assert sweep.sweep_points(without) == []  # no `seeds`: no per-seed metrics to read


def test_sweep_csv_and_output_report_the_seed_count(doc, tmp_path, capsys):
    sweep.main(["--json", str(FIXTURE), "--out", str(tmp_path)])
    table = pd.read_csv(tmp_path / "figure3_points.csv")
    assert table.set_index(["experiment", "dataset"]).loc[("umber-unit", "demo"), "n_seeds"] == 1
    assert set(table["n_seeds"]) == {1, 2}
    assert "seeds per point [1, 2]" in capsys.readouterr().out


def test_collect_results_lists_the_seeds_stopped_by_the_cap(tmp_path):
    paths = DatasetPaths("ds", tmp_path)
    for seed, stopped in ((2025, "patience"), (1, "max_epochs"), (2, "time_budget"), (3, None)):
        write_eval(tmp_path, "decor", seed, 0.03)
        if stopped is not None:  # seed 3: no train metrics, unknown
            write_json(paths.train_metrics(run_name("decor", seed)), {"stopped_by": stopped, "best_epoch": 4})
    results = collect_results("ds", ["decor"], METRICS, tmp_path, [2025, 1, 2, 3])
    assert results.not_converged == {"decor": (1, 2)}


def test_one_reader_serves_a_dataset_and_a_campaign_folder(tmp_path):
    """The same files under reports/metrics/<ds> and under a campaign folder's metrics/ read the same; the campaign
    keeps no ranks, so none are read or listed as missing."""
    paths = DatasetPaths("ds", tmp_path)
    for seed, stopped in ((2025, "patience"), (1, "max_epochs")):
        write_eval(tmp_path, "decor", seed, 0.03 + seed / 1e5)
        write_json(paths.train_metrics(run_name("decor", seed)), {"stopped_by": stopped})
    write_json(paths.tokenizer_metrics, {f"utilization_l{i}": 0.5 for i in (1, 2, 3)})
    folder = tmp_path / "reports" / "camp" / "metrics"
    for source in (paths.metrics / "eval", paths.metrics / "train", paths.tokenizer_metrics):
        target = folder / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, target)
    expected = {"decor": [2025, 1, 2]}
    dataset = read_results("ds", paths.results, expected, METRICS)
    campaign = read_results("ds", ResultFiles.of_campaign(folder.parent), expected, METRICS)
    assert campaign.values == dataset.values and campaign.values["tokenizer"]["layer_1"].mean == 50.0
    assert campaign.protocols == dataset.protocols == {"decor": EvalProtocol("decor", 20, 50)}
    assert campaign.not_converged == dataset.not_converged == {"decor": (1,)}
    assert campaign.missing_evals == {"decor": (folder / "eval" / "decor" / "seed_2.json",)}
    assert list(dataset.ranks["decor"]) == [2025, 1] and campaign.ranks == {} and campaign.missing_ranks == {}


def test_paper_numbers_follow_the_chosen_version():
    """DECOR's SIGIR'26 camera-ready raised its Scientific / Instrument rows and changed Instrument ablation rows."""
    from pipeline_lib.reporting.results import load_paper_results

    camera, arxiv = load_paper_results(version="camera_ready"), load_paper_results(version="arxiv")

    def row(paper, table, run):
        return next(r for r in paper.tables[table].rows if r.run == run)

    assert row(camera, "table1", "decor").values["Scientific"]["ndcg@10"] == 0.0257
    assert row(arxiv, "table1", "decor").values["Scientific"]["ndcg@10"] == 0.0256
    assert "recall@10" in row(camera, "table1", "decor").significant["Instrument"]
    assert "recall@10" not in row(arxiv, "table1", "decor").significant["Instrument"]
    assert row(camera, "table2", "pretrained").values["Instrument"]["recall@10"] == 0.0583
    assert row(arxiv, "table2", "pretrained").values["Instrument"]["recall@10"] == 0.0595
    assert row(camera, "table2", "decor").values["Scientific"]["ndcg@10"] == 0.0256  # its ablation kept the old row
    assert row(camera, "table1", "sasrec").values == row(arxiv, "table1", "sasrec").values
    with pytest.raises(ValueError, match="unknown paper version"):
        load_paper_results(version="preprint")
