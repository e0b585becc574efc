import json
import math
import runpy
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from scipy import stats

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import write_json, write_parquet
from pipeline_lib.metrics import ndcg_per_user, recall_per_user
from pipeline_lib.paths import DatasetPaths, run_name
from pipeline_lib.reporting.results import load_paper_results
from pipeline_lib.reporting.table_rendering import latex_cell, markdown_cell, render_latex, render_markdown
from pipeline_lib.reporting.table_vocabulary import MEASURED
from pipeline_lib.reporting.tables import _best_baseline, best_marks, build_tables, relative_difference, report_tables
from pipeline_lib.schema import TablesSection

METRICS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10")
SEEDS = [2025, 1]
PARAMS = {
    "datasets": ["scientific", "demo"],
    "catalog": {
        "scientific": {"source": "benchmark", "category": "Industrial_and_Scientific", "alpha": 0.25, "bos_queries": 32},
        "demo": {"source": "demo", "alpha": 0.25, "bos_queries": 16},
    },
    "variants": ["tiger", "decor"],
    "seeds": SEEDS,
    "protocol": "decor",
    "tables": {"paper_columns": {"scientific": "Scientific"}, "significance_level": 0.05},
}
SEQUENTIAL = {"sasrec", "gru4rec"}  # rank every item: no beam
DECOR_BEAM = {"protocol": "decor", "max_history": 20, "beam_size": 50}


def metrics_of(rank: list[int]) -> dict[str, float]:
    r = torch.tensor(rank)
    test = {}
    for k in (5, 10):
        test[f"recall@{k}"] = float(recall_per_user(r, k).mean())
        test[f"ndcg@{k}"] = float(ndcg_per_user(r, k).mean())
    return test


def write_run(
    root: Path, dataset: str, model: str, rank: list[int], utilization: list[float] | None = None,
    seed: int | None = 2025, protocol: dict | None = None,
) -> None:
    """Eval json (metrics computed from ``rank``) and the ranks parquet of one seed of a run (``seed=None``:
    the unseeded popularity floor); ``protocol`` as the eval json records it (default: DECOR's, no beam for
    the sequential baselines)."""
    paths = DatasetPaths(dataset, root)
    name = model if seed is None else run_name(model, seed)
    report = {"model": model, "dataset": dataset, "test": metrics_of(rank)}
    if seed is not None:
        protocol = dict(DECOR_BEAM if protocol is None else protocol)
        if model in SEQUENTIAL:
            protocol["beam_size"] = None
        report |= {"seed": seed, **protocol}
    if utilization is not None:
        report["utilization"] = {f"layer_{i + 1}": u for i, u in enumerate(utilization)}
    write_json(paths.eval_metrics(name), report)
    n = len(rank)
    write_parquet(paths.user_ranks(name), pd.DataFrame({"user_id": range(n), "target": range(n), "rank": rank}))


def make_repo(root: Path, protocol: dict | None = None) -> None:
    """scientific: DECOR clearly ahead of SASRec/TIGER on both seeds; demo: SASRec ties GRU4Rec (same ranks on
    both seeds), DECOR and the rest missing. Seed 1 hits two users fewer (DECOR) or more (the baselines)."""
    for seed, shift in ((2025, 0), (1, 2)):
        write_run(root, "scientific", "decor", [1] * (30 - shift) + [0] * (10 + shift), [0.5, 1.0, 1.0], seed, protocol)
        write_run(root, "scientific", "sasrec", [1] * (10 + shift) + [0] * (30 - shift), seed=seed, protocol=protocol)
        write_run(root, "scientific", "tiger", [2] * (12 + shift) + [0] * (28 - shift), [0.2, 0.9, 1.0], seed, protocol)
        write_run(root, "demo", "sasrec", [1, 2, 0, 0], seed=seed, protocol=protocol)
        write_run(root, "demo", "gru4rec", [2, 1, 0, 0], seed=seed, protocol=protocol)
    scientific = DatasetPaths("scientific", root)
    write_json(scientific.tokenizer_metrics, {"utilization_l1": 0.266, "utilization_l2": 0.99, "utilization_l3": 1.0})
    write_json(scientific.dataset_stats, {"users": 50985, "items": 25848, "interactions": 400000, "sparsity": 0.99969})
    write_run(root, "demo", "popularity", [0, 3, 0, 0], seed=None)


def build(root: Path, **changes) -> dict:
    """The four tables of the repo at ``root``, ``PARAMS`` updated with ``changes``, by name."""
    return {t.name: t for t in report_tables(PARAMS | changes, root=root)}


@pytest.fixture
def tables(tmp_path):
    make_repo(tmp_path)
    return build(tmp_path)


def sections(markdown: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part for part in markdown.split("\n## ")[1:]}


def row(section: str, method: str) -> list[str]:
    line = next(line for line in section.splitlines() if f"| {method} " in line)
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_paper_file_has_every_table1_cell():
    paper = load_paper_results()
    table1 = paper.tables["table1"]
    models = ["Caser", "GRU4Rec", "SASRec", "BERT4Rec", "FDSA", "S3Rec", "P5-SID", "P5-CID", "TIGER", "LETTER",
              "CoST", "ETEGRec", "DECOR"]
    assert [r.method for r in table1.rows] == models
    assert paper.datasets == ("Scientific", "Instrument", "Game")
    for r in table1.rows:
        for dataset in paper.datasets:
            assert set(r.values[dataset]) == set(METRICS)
            assert all(0 < v < 0.1 for v in r.values[dataset].values())
    by_method = {r.method: r for r in table1.rows}
    assert by_method["SASRec"].values["Instrument"]["ndcg@10"] == 0.0277
    assert by_method["DECOR"].values["Scientific"]["recall@5"] == 0.0309  # the camera-ready's (arXiv: 0.0301)
    assert by_method["P5-SID"].values["Game"]["recall@10"] == 0.0693
    assert "recall@10" in by_method["DECOR"].significant["Instrument"]  # the camera-ready's * (not the arXiv's)
    assert by_method["DECOR"].significant["Game"] == set(METRICS)
    table2 = {r.run: r for r in paper.tables["table2"].rows}
    assert list(table2) == ["tiger", "tokcomp", "tokcomp_bos", "pretrained", "pretrained_tokcomp", "decor"]
    assert table2["pretrained_tokcomp"].values["Instrument"]["ndcg@10"] == 0.0324
    assert paper.tables["table3"].rows[0].values["Scientific"]["layer_1"] == 26.6
    assert paper.tables["table4"].rows[0].values["Game"] == {"users": 94762, "items": 25612, "interactions": 814586,
                                                             "sparsity": 99.966}


def test_paper_rows_name_their_protocol():
    paper = load_paper_results()
    # Table 1: the baselines are the ETEGRec paper's numbers, DECOR its own
    assert {r.method: r.protocol for r in paper.tables["table1"].rows if r.protocol != "etegrec"} == {"DECOR": "decor"}
    # Table 2: DECOR's own ablation runs, but its Base (TIGER) row is Table 1's (= the ETEGRec paper's) TIGER row
    table2 = paper.tables["table2"].rows
    assert [r.protocol for r in table2] == ["etegrec"] + ["decor"] * 5
    tiger = next(r for r in paper.tables["table1"].rows if r.method == "TIGER")
    assert table2[0].values == tiger.values
    assert all(r.protocol is None for name in ("table3", "table4") for r in paper.tables[name].rows)


def test_marks_on_paper_only_columns_reproduce_the_papers_bold_and_underlines():
    table1 = build_tables(load_paper_results(), {}, ["demo"], [], TablesSection())[0]
    frame = table1.frame[table1.frame["paper_dataset"].notna()]
    assert set(frame.loc[frame["mark"] == "best", "method"]) == {"DECOR"}
    second = frame[frame["mark"] == "second"]
    scientific = second[second["dataset"] == "Scientific"]
    assert set(zip(scientific["method"], scientific["metric"])) == {  # LETTER and ETEGRec tie on R@10
        ("LETTER", "recall@5"), ("LETTER", "recall@10"), ("ETEGRec", "recall@10"),
        ("TIGER", "ndcg@5"), ("TIGER", "ndcg@10"),
    }
    assert set(second.loc[second["dataset"] != "Scientific", "method"]) == {"ETEGRec"}
    assert len(second) == 5 + 8


def test_best_marks_are_dense_and_shared_by_ties():
    assert best_marks([0.3, 0.5, None, 0.5, 0.1], 4) == ["second", "best", "", "best", ""]
    assert best_marks([0.12344, 0.12341, 0.1], 4) == ["best", "best", "second"]  # equal at display precision
    assert best_marks([None, None], 4) == ["", ""]


def cell(**changes) -> pd.Series:
    """A measured Table 1 cell: ours 0.0287 ± 0.0012 over 2 seeds against the paper's 0.0301, same protocol."""
    values = {"metric": "ndcg@10", "mark": "", "status": "measured", "ours": 0.0287, "ours_sd": 0.0012, "n_seeds": 2,
              "not_converged": 0, "paper": 0.0301, "rel_diff": relative_difference(0.0287, 0.0301), "paper_protocol": "decor",
              "setting": "decor", "paper_significant": False, "significant_seeds": None, "significant_users": None}
    return pd.Series(values | changes)


def test_relative_difference():
    assert relative_difference(0.0287, 0.0301) == pytest.approx(-0.0465116, rel=1e-5)
    assert relative_difference(0.05, 0.04) == pytest.approx(0.25)
    assert relative_difference(0.01, 0.0) is None
    assert markdown_cell(cell()) == "0.0287 \u00b1 0.0012 (paper 0.0301, \u22124.7%)"
    assert latex_cell(cell()) == "0.0287 $\\pm$ 0.0012 {\\scriptsize (0.0301, $-4.7\\%$)}"


def test_cells_mark_runs_stopped_by_the_cap_as_not_converged():
    capped = cell(not_converged=1)
    assert markdown_cell(capped) == "0.0287 \u00b1 0.0012 (not converged 1/2; paper 0.0301, \u22124.7%)"
    assert "not converged 1/2" in latex_cell(capped)


def test_cells_show_one_seed_without_sd_and_unseeded_values_plainly():
    one = cell(ours_sd=float("nan"), n_seeds=1)
    assert markdown_cell(one) == "0.0287 (n=1; paper 0.0301, \u22124.7%)"
    assert latex_cell(one) == "0.0287 {\\scriptsize (n=1; 0.0301, $-4.7\\%$)}"
    floor = cell(ours=0.25, ours_sd=float("nan"), n_seeds=pd.NA, paper=float("nan"), rel_diff=float("nan"),
                 paper_protocol=None, setting=None, mark="second")
    assert markdown_cell(floor) == "_0.2500_"
    assert latex_cell(floor) == "\\underline{0.2500}"


def test_paper_numbers_of_another_protocol_get_a_tag_and_no_difference():
    other = cell(paper_protocol="etegrec", rel_diff=float("nan"))
    assert markdown_cell(other) == "0.0287 \u00b1 0.0012 (paper 0.0301 [E])"
    assert latex_cell(other) == "0.0287 $\\pm$ 0.0012 {\\scriptsize (0.0301 [E])}"
    custom = cell(paper_protocol="decor", setting="custom", rel_diff=float("nan"), n_seeds=1, ours_sd=float("nan"))
    assert markdown_cell(custom) == "0.0287 (n=1; paper 0.0301 [D])"


def test_significance_marks_name_their_test():
    both = cell(mark="best", significant_seeds=True, significant_users=True, paper_significant=True)
    assert markdown_cell(both) == "**0.0287 \u00b1 0.0012**\\*S\\*U (paper 0.0301\\*, \u22124.7%)"
    assert latex_cell(both) == (
        "\\textbf{0.0287 $\\pm$ 0.0012}$^{*S,*U}$ {\\scriptsize (0.0301$^{*}$, $-4.7\\%$)}"
    )
    users = cell(significant_seeds=False, significant_users=True)
    assert markdown_cell(users) == "0.0287 \u00b1 0.0012\\*U (paper 0.0301, \u22124.7%)"
    seeds_only = cell(significant_seeds=True, significant_users=float("nan"))  # the test over users not run
    assert latex_cell(seeds_only).startswith("0.0287 $\\pm$ 0.0012$^{*S}$ ")


def user_mean(hits: int, halves: int, n: int = 40) -> list[float]:
    """Per-user recall of a model whose two seeds agree on ``hits`` users and one of them hits ``halves`` more."""
    return [1.0] * hits + [0.5] * halves + [0.0] * (n - hits - halves)


def test_measured_cells_sit_beside_the_paper_with_significance(tables):
    md = sections(render_markdown(tables["table1"]))
    scientific = md["Scientific"]
    assert scientific.startswith("Scientific (ours: `scientific`)")
    # DECOR R@5 = 30/40 and 28/40 over the two seeds, mean 0.725, sd 0.0354; the paper's DECOR row is `decor`
    assert row(scientific, "DECOR")[2] == "**0.7250 \u00b1 0.0354**\\*S\\*U (paper 0.0309\\*, +2246.3%)"
    # SASRec (10/40, 12/40) is ours under `decor`, the paper's SASRec row the ETEGRec paper's: no difference
    assert row(scientific, "SASRec")[3] == "0.2750 \u00b1 0.0354 (paper 0.0406 [E])"
    assert row(scientific, "FDSA")[2] == "missing (paper 0.0261)"  # run by the pipeline, no metrics here
    assert row(scientific, "P5-SID")[2].endswith("(reported)")  # not run by the pipeline, and the notes say why
    assert "- P5-SID and P5-CID are the paper's numbers (reported), not run here" in render_markdown(tables["table1"])
    assert row(scientific, "Caser")[2] == "missing (paper 0.0172)"  # run by dvc.yaml, not in this repo
    assert row(scientific, "ETEGRec")[2] == "missing (paper 0.0272)"
    assert row(md["Instrument"], "DECOR")[3] == "**0.0617\\*** (reported)"  # camera-ready (arXiv: 0.0610, no *)
    frame = tables["table1"].frame
    decor = frame[(frame["dataset"] == "Scientific") & (frame["run"] == "decor")].set_index("metric")
    # the best other model is chosen per metric by mean: TIGER hits more users at rank 2, SASRec has the higher NDCG
    assert decor["compared_to"].to_dict() == {
        "recall@5": "TIGER", "recall@10": "TIGER", "ndcg@5": "SASRec", "ndcg@10": "SASRec"
    }
    # over seeds: Welch on (0.75, 0.70) vs TIGER's (0.30, 0.35): t = 0.4 / sqrt(2 * 0.00125 / 2), df = 2
    t = 0.4 / math.sqrt(0.00125)
    assert decor.loc["recall@5", "p_seeds"] == pytest.approx(2 * stats.t.sf(t, 2))
    assert decor.loc["recall@5", "p_seeds"] == pytest.approx(
        stats.ttest_ind([0.75, 0.70], [0.30, 0.35], equal_var=False).pvalue
    )
    # over users: each user's recall averaged over the two seeds, then paired with TIGER's
    expected = stats.ttest_rel(user_mean(28, 2), user_mean(12, 2)).pvalue
    assert decor.loc["recall@5", "p_users"] == pytest.approx(expected)
    assert decor["significant_seeds"].tolist() == [True] * 4 and decor["significant_users"].tolist() == [True] * 4
    others = frame[frame["run"] != "decor"]
    assert others[["p_seeds", "significant_seeds", "p_users", "significant_users"]].isna().all().all()
    note = next(n for n in tables["table1"].notes if n.startswith("Scientific, DECOR vs the best other model"))
    assert (f"R@5 vs TIGER: DECOR +0.4000, p_seeds {2 * stats.t.sf(t, 2):.3g} (2 vs 2 seeds), "
            f"p_users {expected:.3g} (40 users)") in note


def test_cells_keep_mean_sd_and_every_seed(tables):
    frame = tables["table1"].frame
    sasrec = frame[(frame["dataset"] == "Scientific") & (frame["run"] == "sasrec")].set_index("metric")
    assert sasrec.loc["recall@10", ["seed_2025", "seed_1"]].tolist() == pytest.approx([0.25, 0.30])
    assert sasrec.loc["recall@10", "ours"] == pytest.approx(0.275)
    assert sasrec.loc["recall@10", "ours_sd"] == pytest.approx(math.sqrt(2 * 0.025**2))  # ddof = 1
    assert sasrec.loc["recall@10", "n_seeds"] == 2
    assert sasrec.loc["recall@10", "protocol"] == "decor (history \u2264 20, full ranking)"
    assert (sasrec.loc["recall@10", "setting"], sasrec.loc["recall@10", "paper_protocol"]) == ("decor", "etegrec")
    assert pd.isna(sasrec.loc["recall@10", "rel_diff"])
    popularity = frame[(frame["dataset"] == "demo") & (frame["run"] == "popularity")].iloc[0]
    assert popularity["ours"] == 0.25 and pd.isna(popularity["n_seeds"]) and pd.isna(popularity["ours_sd"])
    assert popularity[["seed_2025", "seed_1"]].isna().all() and pd.isna(popularity["protocol"])


def test_files_of_other_seeds_are_ignored(tmp_path):
    make_repo(tmp_path)
    write_run(tmp_path, "scientific", "decor", [0] * 40, [0.5, 1.0, 1.0], seed=7)  # an older run's seed
    frame = build(tmp_path)["table1"].frame
    decor = frame[(frame["dataset"] == "Scientific") & (frame["run"] == "decor")].set_index("metric")
    assert decor.loc["recall@5", "ours"] == pytest.approx(0.725) and decor.loc["recall@5", "n_seeds"] == 2
    assert "seed_7" not in frame.columns
    only = build(tmp_path, seeds=[2025])["table1"].frame
    decor = only[(only["dataset"] == "Scientific") & (only["run"] == "decor")].set_index("metric")
    assert decor.loc["recall@5", "ours"] == 0.75 and decor.loc["recall@5", "n_seeds"] == 1
    assert pd.isna(decor.loc["recall@5", "ours_sd"]) and "seed_1" not in only.columns


def test_a_run_missing_some_seeds_uses_the_rest_and_says_so(tmp_path):
    make_repo(tmp_path)
    DatasetPaths("scientific", tmp_path).eval_metrics(run_name("decor", 1)).unlink()
    tables = build(tmp_path)
    scientific = sections(render_markdown(tables["table1"]))["Scientific"]
    # one seed: no sd and no test over seeds; the test over users uses the seed whose eval json exists
    assert row(scientific, "DECOR")[2] == "**0.7500**\\*U (n=1; paper 0.0309\\*, +2327.2%)"
    decor = tables["table1"].frame.query("dataset == 'Scientific' and run == 'decor'").set_index("metric")
    assert decor["p_seeds"].isna().all() and decor["significant_seeds"].isna().all()
    expected = stats.ttest_rel([1.0] * 30 + [0.0] * 10, user_mean(12, 2)).pvalue
    assert decor.loc["recall@5", "p_users"] == pytest.approx(expected)
    note = "Scientific, decor: mean over the seeds present; missing reports/metrics/scientific/eval/decor/seed_1.json."
    for name in ("table1", "table2", "table3"):
        assert note in tables[name].notes
    assert "R@5 vs TIGER: DECOR +0.4250, p_seeds not tested (1 vs 2 seeds)" in " ".join(tables["table1"].notes)


def test_protocol_decides_which_paper_numbers_get_a_difference(tmp_path):
    make_repo(tmp_path, protocol={"protocol": "etegrec", "max_history": 50, "beam_size": 20})
    tables = build(tmp_path, protocol="etegrec")
    scientific = sections(render_markdown(tables["table1"]))["Scientific"]
    assert row(scientific, "SASRec")[3] == "0.2750 \u00b1 0.0354 (paper 0.0406, +577.3%)"
    assert row(scientific, "DECOR")[2] == "**0.7250 \u00b1 0.0354**\\*S\\*U (paper 0.0309\\* [D])"
    table2 = sections(render_markdown(tables["table2"]))["Scientific"]
    assert row(table2, "Base (TIGER)")[1] == "_0.3250 \u00b1 0.0354_ (paper 0.0275, +1081.8%)"
    assert row(table2, "DECOR (Full)")[1].endswith("(paper 0.0301 [D])")
    notes = " ".join(tables["table1"].notes)
    assert "etegrec (history \u2264 50, beam 20) = `etegrec` (TIGER, DECOR): relative differences" in notes


def test_a_custom_beam_compares_with_no_paper_row(tmp_path):
    make_repo(tmp_path, protocol={"protocol": "decor", "max_history": 20, "beam_size": 20})  # the CPU profile
    tables = build(tmp_path)
    frame = tables["table2"].frame
    ours = frame[(frame["dataset"] == "Scientific") & (frame["status"] == "measured")]
    assert set(ours["setting"]) == {"custom"} and ours["rel_diff"].isna().all()
    assert set(ours["protocol"]) == {"decor (history \u2264 20, beam 20)"}
    table1 = sections(render_markdown(tables["table1"]))["Scientific"]
    assert row(table1, "TIGER")[2] == "_0.3250 \u00b1 0.0354_ (paper 0.0275 [E])"
    assert row(table1, "DECOR")[2].endswith("(paper 0.0309\\* [D])")
    assert (
        "Scientific, evaluated with decor (history \u2264 20, full ranking) = `decor` (SASRec): relative differences "
        "to the paper's `decor` rows only; decor (history \u2264 20, beam 20) = `custom` (TIGER, DECOR): no relative "
        "differences (the paper's rows use a named protocol)."
    ) in tables["table1"].notes


def test_captions_and_notes_say_where_the_papers_numbers_come_from(tables):
    assert tables["table1"].caption.endswith(
        "The DECOR paper's baseline rows (every method but DECOR) are copied from the ETEGRec paper: "
        "history \u2264 50, beam 20; DECOR's own rows use history \u2264 20, beam 50."
    )
    assert "history $\\leq$ 50, beam 20" in render_latex(tables["table1"])
    assert "demo, evaluated with decor (history \u2264 20, full ranking) = `decor` (GRU4Rec, SASRec)" in " ".join(
        tables["table1"].notes
    )
    # the Figure 3 vs Table 2 note quotes Table 2's N@10 on Scientific without BOS queries
    table2 = {r.method: r.values["Scientific"]["ndcg@10"] for r in load_paper_results().tables["table2"].rows}
    assert (table2["w/ Token Comp."], table2["w/ Pretrained + Token Comp."]) == (0.0247, 0.0250)
    note = next(n for n in tables["table2"].notes if "Figure 3" in n)
    assert "1.17% at 0 BOS queries" in note and "2.47% (w/ Token Comp.)" in note
    assert "2.50% (w/ Pretrained + Token Comp." in note and note.endswith("compares against Table 2.")
    assert "\\*S / \\*U" in render_markdown(tables["table1"]) and "$^{*S}$ / $^{*U}$" in render_latex(tables["table1"])


def test_params_need_training_seeds(tmp_path):
    with pytest.raises(PipelineInputError, match="field 'seeds'"):
        report_tables({k: v for k, v in PARAMS.items() if k != "seeds"}, root=tmp_path)
    with pytest.raises(PipelineInputError, match="field 'seeds'"):
        report_tables(PARAMS | {"seeds": ["2025"]}, root=tmp_path)


def test_missing_runs_and_ties(tables):
    demo = sections(render_markdown(tables["table1"]))["demo"]
    assert demo.startswith("demo (ours only: no paper column)")
    # SASRec ranks (1, 2, -, -) and GRU4Rec (2, 1, -, -) on both seeds: equal on every metric, so both bold
    tied = [f"**{v} \u00b1 0.0000**" for v in ("0.5000", "0.5000", "0.4077", "0.4077")]
    assert row(demo, "SASRec")[2:] == row(demo, "GRU4Rec")[2:] == tied
    assert row(demo, "Popularity")[2:] == ["0.2500", "0.2500", "0.1250", "0.1250"]  # unseeded; a floor: no mark
    assert row(demo, "DECOR")[2:] == ["missing"] * 4
    assert row(demo, "TIGER")[2:] == ["missing"] * 4
    assert row(demo, "FDSA")[2:] == ["missing"] * 4
    assert row(demo, "P5-SID")[2:] == ["\u2014"] * 4  # not run: needs a pretrained T5 language model
    assert row(demo, "BERT4Rec")[2:] == ["missing"] * 4
    tex = render_latex(tables["table1"])
    assert tex.count("\\textbf{0.5000 $\\pm$ 0.0000}") == 4
    popularity = next(line for line in tex.splitlines() if "Popularity" in line)
    cells = popularity.removesuffix(" \\\\").split(" & ")[2:]
    assert cells[-4:] == ["0.2500"] * 2 + ["0.1250"] * 2
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "\\multicolumn{4}{c}{Scientific}" in tex
    frame = tables["table1"].frame
    missing = frame[(frame["our_dataset"] == "demo") & (frame["run"] == "decor")]
    assert (missing["status"] == "missing").all() and missing["ours"].isna().all()


def test_baselines_outside_baseline_models_are_not_run_even_with_files(tmp_path):
    """``baseline_models: [sasrec]`` (the quick first run of reports/bench/summary.md): GRU4Rec's metrics files, present from an earlier
    full run, are not shown; the runs that always run (popularity) still are."""
    make_repo(tmp_path)
    demo = sections(render_markdown(build(tmp_path, baseline_models=["sasrec"])["table1"]))["demo"]
    assert row(demo, "GRU4Rec")[2:] == ["\u2014"] * 4 and row(demo, "BERT4Rec")[2:] == ["\u2014"] * 4
    assert row(demo, "SASRec")[2:] == [f"**{v} \u00b1 0.0000**" for v in ("0.5000", "0.5000", "0.4077", "0.4077")]
    assert row(demo, "Popularity")[2:] == ["0.2500", "0.2500", "0.1250", "0.1250"]


def test_utilization_and_dataset_statistics(tables):
    md = sections(render_markdown(tables["table3"]))
    assert row(md["Scientific"], "TIGER")[1] == "26.60% (paper 26.60%, +0.0%)"  # the tokenizer: unseeded
    # both DECOR seeds use 50% of layer 1; Table 3 does not depend on the protocol: always a difference
    assert row(md["Scientific"], "Ours")[1] == "50.00% \u00b1 0.00% (paper 51.06%, \u22122.1%)"
    assert row(md["demo"], "TIGER")[1:4] == ["missing"] * 3  # demo has no tokenizer.json
    assert row(md["demo"], "TIGER")[4:] == ["\u2014"] * 9  # composition statistics: ours only, decor only
    tex = render_latex(tables["table3"]).split("\\midrule\n")[1].splitlines()
    assert [line.split(" & ")[:2] for line in tex[:3]] == [["Scientific", "TIGER"], ["", "Ours"], ["Instrument", "TIGER"]]
    table4 = render_markdown(tables["table4"])
    assert row(table4, "Scientific")[1:] == [
        "50,985 (paper 50,985, +0.0%)", "25,848 (paper 25,848, +0.0%)", "400,000 (paper 412,947, \u22123.1%)",
        "99.969% (paper 99.969%, +0.0%)",
    ]
    assert row(table4, "Game")[1] == "94,762 (reported)"
    assert row(table4, "demo")[1:] == ["missing"] * 4


def test_missing_ranks_narrow_or_skip_the_test_over_users_with_a_note(tmp_path):
    make_repo(tmp_path)
    DatasetPaths("scientific", tmp_path).user_ranks(run_name("decor", 1)).unlink()
    table1 = build(tmp_path)["table1"]
    decor = table1.frame.query("dataset == 'Scientific' and run == 'decor'").set_index("metric")
    expected = stats.ttest_rel([1.0] * 30 + [0.0] * 10, user_mean(12, 2)).pvalue  # DECOR's seed 2025 only
    assert decor.loc["recall@5", "p_users"] == pytest.approx(expected)
    assert decor.loc["recall@5", "p_seeds"] == pytest.approx(
        stats.ttest_ind([0.75, 0.70], [0.30, 0.35], equal_var=False).pvalue
    )
    assert (
        "Scientific: ranks files missing, so the test over users averages the other seeds (none: not tested): "
        "data/scientific/ranks/decor/seed_1.parquet." in table1.notes
    )
    DatasetPaths("scientific", tmp_path).user_ranks(run_name("decor", 2025)).unlink()
    table1 = build(tmp_path)["table1"]
    decor = table1.frame.query("dataset == 'Scientific' and run == 'decor'")
    assert decor["p_users"].isna().all() and decor["significant_users"].isna().all()
    assert decor["significant_seeds"].tolist() == [True] * 4
    assert "p_users not tested (no ranks files)" in " ".join(table1.notes)
    assert row(sections(render_markdown(table1))["Scientific"], "DECOR")[2].startswith("**0.7250 \u00b1 0.0354**\\*S (")


def run_stage(root: Path, monkeypatch) -> None:
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "argv", ["stages/tables.py", "--params", "params.yaml"])
    runpy.run_module("stages.tables", run_name="__main__")


def test_stage_writes_all_twelve_files(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    run_stage(tmp_path, monkeypatch)
    out = tmp_path / "reports" / "tables"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"table{i}.{fmt}" for i in range(1, 5) for fmt in ("md", "tex", "csv")
    )
    csv = pd.read_csv(out / "table1.csv")
    assert len(csv) == 14 * 4 * 4  # 13 paper rows + popularity, 4 dataset columns, 4 metrics
    sasrec = csv[(csv["dataset"] == "Scientific") & (csv["run"] == "sasrec") & (csv["metric"] == "recall@10")].iloc[0]
    assert (sasrec["seed_2025"], sasrec["seed_1"], sasrec["n_seeds"]) == (0.25, pytest.approx(0.30), 2)
    assert (sasrec["ours"], sasrec["paper"], sasrec["status"]) == (pytest.approx(0.275), 0.0406, "measured")
    assert pd.isna(sasrec["rel_diff"]) and sasrec["paper_protocol"] == "etegrec"
    assert "wrote 12 files to reports/tables" in capsys.readouterr().out


def test_stage_reports_a_bad_metrics_file_in_one_line(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    write_json(DatasetPaths("demo", tmp_path).eval_metrics(run_name("sasrec", 1)), {"test": {"recall@5": "high"}})
    with pytest.raises(SystemExit) as exit_info:
        run_stage(tmp_path, monkeypatch)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    path = "reports/metrics/demo/eval/sasrec/seed_1.json"
    assert err == f"error: {path}, field 'test.recall@5': expected a number, got 'high'"
    assert not (tmp_path / "reports" / "tables").exists()


def test_composition_statistics_and_context_ablation_columns(tmp_path):
    make_repo(tmp_path)
    for seed, extra in ((2025, 0.0), (1, 1.0)):
        path = DatasetPaths("scientific", tmp_path).eval_metrics(run_name("decor", seed))
        report = json.loads(path.read_text())
        layer = {"entropy": 2.5, "max_weight": 0.125, "distinct_argmax": 7, "above_uniform_share": 0.5}
        report["composition"] = {
            "bos": dict(layer), **{f"layer_{i}": dict(layer, entropy=i + extra) for i in (1, 2, 3)}
        }
        report["test_constant_context"] = {k: v / 2 for k, v in report["test"].items()}
        write_json(path, report)
    tables = build(tmp_path)
    md2 = sections(render_markdown(tables["table2"]))
    header = next(line for line in md2["Scientific"].splitlines() if line.startswith("| Method"))
    assert "R@10 const. u" in header and "N@10 const. u" in header
    frame = tables["table2"].frame
    cells = frame[(frame["run"] == "decor") & (frame["dataset"] == "Scientific")].set_index("metric")
    assert cells.loc["const_recall@10", "ours"] == pytest.approx(cells.loc["recall@10", "ours"] / 2)
    assert cells.loc["const_recall@10", ["seed_2025", "seed_1"]].tolist() == pytest.approx([0.375, 0.35])
    assert cells.loc["const_ndcg@10", "status"] == "measured" and cells.loc["const_ndcg@10", "mark"] == ""
    tiger = frame[(frame["run"] == "tiger") & (frame["dataset"] == "Scientific")].set_index("metric")
    assert tiger.loc["const_recall@10", "status"] == "not run"  # the tiger json has no ablation
    full = row(md2["Scientific"], "DECOR (Full)")
    assert full[-2:] == ["0.3625 \u00b1 0.0177", "0.3625 \u00b1 0.0177"]
    assert row(md2["Scientific"], "w/ Token Comp. and BOS Queries")[-2:] == ["\u2014"] * 2
    md3 = sections(render_markdown(tables["table3"]))
    ours = row(md3["Scientific"], "Ours")
    assert ours[1] == "50.00% \u00b1 0.00% (paper 51.06%, \u22122.1%)"
    # entropy i and i + 1 over the seeds: mean i + 0.5, sd 0.71; max weight and argmax codes equal
    assert ours[4:7] == ["1.50 \u00b1 0.71", "0.125 \u00b1 0.000", "7 \u00b1 0"]
    assert ours[10] == "3.50 \u00b1 0.71"
    assert row(md3["Scientific"], "TIGER")[4:] == ["\u2014"] * 9


def test_the_floor_is_never_decors_rival():
    cells = pd.DataFrame({"run": ["sasrec", "popularity", "decor"], "status": [MEASURED] * 3, "ours": [0.1, 0.5, 0.9]})
    assert _best_baseline(cells)["run"] == "sasrec"
    assert _best_baseline(cells[cells["run"] != "sasrec"]) is None
