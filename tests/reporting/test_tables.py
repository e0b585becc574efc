import json
import runpy
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from scipy import stats

from pipeline_lib.io import write_json, write_parquet
from pipeline_lib.metrics import ndcg_per_user, recall_per_user
from pipeline_lib.params import load_params
from pipeline_lib.paths import DatasetPaths
from pipeline_lib.reporting.results import load_paper_results
from pipeline_lib.reporting.tables import (
    TablesConfig,
    best_marks,
    build_tables,
    markdown_cell,
    relative_difference,
    render_latex,
    render_markdown,
    report_tables,
)

METRICS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10")
PARAMS = {
    "datasets": ["scientific", "demo"],
    "catalog": {
        "scientific": {"source": "benchmark", "category": "Industrial_and_Scientific", "alpha": 0.25, "bos_queries": 32},
        "demo": {"source": "demo", "alpha": 0.25, "bos_queries": 16},
    },
    "variants": ["tiger", "decor"],
    "tables": {"paper_columns": {"scientific": "Scientific"}, "significance_level": 0.05},
}


def write_run(root: Path, dataset: str, model: str, rank: list[int], utilization: list[float] | None = None) -> None:
    """Eval json (metrics computed from ``rank``) and the ranks parquet of one run."""
    paths = DatasetPaths(dataset, root)
    r = torch.tensor(rank)
    test = {}
    for k in (5, 10):
        test[f"recall@{k}"] = float(recall_per_user(r, k).mean())
        test[f"ndcg@{k}"] = float(ndcg_per_user(r, k).mean())
    report = {"model": model, "dataset": dataset, "test": test}
    if utilization is not None:
        report["utilization"] = {f"layer_{i + 1}": u for i, u in enumerate(utilization)}
    write_json(paths.eval_metrics(model), report)
    n = len(rank)
    write_parquet(paths.user_ranks(model), pd.DataFrame({"user_id": range(n), "target": range(n), "rank": rank}))


def make_repo(root: Path) -> None:
    """scientific: DECOR clearly ahead of SASRec/TIGER; demo: SASRec ties GRU4Rec, DECOR and the rest missing."""
    write_run(root, "scientific", "decor", [1] * 30 + [0] * 10, utilization=[0.5, 1.0, 1.0])
    write_run(root, "scientific", "sasrec", [1] * 10 + [0] * 30)
    write_run(root, "scientific", "tiger", [2] * 12 + [0] * 28, utilization=[0.2, 0.9, 1.0])
    scientific = DatasetPaths("scientific", root)
    write_json(scientific.tokenizer_metrics, {"utilization_l1": 0.266, "utilization_l2": 0.99, "utilization_l3": 1.0})
    write_json(scientific.dataset_stats, {"users": 50985, "items": 25848, "interactions": 400000, "sparsity": 0.99969})
    write_run(root, "demo", "sasrec", [1, 2, 0, 0])
    write_run(root, "demo", "gru4rec", [2, 1, 0, 0])
    write_run(root, "demo", "popularity", [0, 3, 0, 0])
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS))


@pytest.fixture
def tables(tmp_path):
    make_repo(tmp_path)
    return {t.name: t for t in report_tables(load_params(tmp_path / "params.yaml"), root=tmp_path)}


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
    assert by_method["DECOR"].values["Scientific"]["recall@5"] == 0.0301
    assert by_method["P5-SID"].values["Game"]["recall@10"] == 0.0693
    assert "recall@10" not in by_method["DECOR"].significant["Instrument"]
    assert by_method["DECOR"].significant["Game"] == set(METRICS)
    table2 = {r.run: r for r in paper.tables["table2"].rows}
    assert list(table2) == ["tiger", "tokcomp", "tokcomp_bos", "pretrained", "pretrained_tokcomp", "decor"]
    assert table2["pretrained_tokcomp"].values["Instrument"]["ndcg@10"] == 0.0324
    assert paper.tables["table3"].rows[0].values["Scientific"]["layer_1"] == 26.6
    assert paper.tables["table4"].rows[0].values["Game"] == {"users": 94762, "items": 25612, "interactions": 814586,
                                                             "sparsity": 99.966}


def test_marks_on_paper_only_columns_reproduce_the_papers_bold_and_underlines():
    table1 = build_tables(load_paper_results(), {}, ["demo"], [], TablesConfig())[0]
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


def test_relative_difference():
    assert relative_difference(0.0287, 0.0301) == pytest.approx(-0.0465116, rel=1e-5)
    assert relative_difference(0.05, 0.04) == pytest.approx(0.25)
    assert relative_difference(0.01, 0.0) is None
    cell = pd.Series({"metric": "ndcg@10", "mark": "", "status": "measured", "ours": 0.0287, "paper": 0.0301,
                      "rel_diff": relative_difference(0.0287, 0.0301), "paper_significant": False,
                      "significant": None})
    assert markdown_cell(cell) == "0.0287 (paper 0.0301, \u22124.7%)"


def test_measured_cells_sit_beside_the_paper_with_significance(tables):
    md = sections(render_markdown(tables["table1"]))
    scientific = md["Scientific"]
    assert scientific.startswith("Scientific (ours: `scientific`)")
    # DECOR R@5 = 30/40 against TIGER's 12/40 (the best measured baseline on recall) over 40 users
    assert row(scientific, "DECOR")[2] == "**0.7500**\\* (paper 0.0301\\*, +2391.7%)"
    assert row(scientific, "SASRec")[3] == "0.2500 (paper 0.0406, +515.8%)"
    assert row(scientific, "Caser")[2] == "0.0172 (reported)"
    assert row(scientific, "ETEGRec")[2] == "missing (paper 0.0272)"
    assert row(md["Instrument"], "DECOR")[3] == "**0.0610** (reported)"  # no * in the paper
    frame = tables["table1"].frame
    decor = frame[(frame["dataset"] == "Scientific") & (frame["run"] == "decor")].set_index("metric")
    # the best baseline is chosen per metric: TIGER hits more users at rank 2, SASRec has the higher NDCG
    assert decor["compared_to"].to_dict() == {
        "recall@5": "TIGER", "recall@10": "TIGER", "ndcg@5": "SASRec", "ndcg@10": "SASRec"
    }
    expected = stats.ttest_rel([1.0] * 30 + [0.0] * 10, [1.0] * 12 + [0.0] * 28).pvalue
    assert decor.loc["recall@5", "p_value"] == pytest.approx(expected)
    assert decor["significant"].tolist() == [True] * 4
    assert frame.loc[frame["run"] != "decor", "significant"].isna().all()
    assert any(note.startswith("Scientific, DECOR vs best baseline over 40 users") for note in tables["table1"].notes)


def test_missing_runs_and_ties(tables):
    demo = sections(render_markdown(tables["table1"]))["demo"]
    assert demo.startswith("demo (ours only: no paper column)")
    # SASRec ranks (1, 2, -, -) and GRU4Rec (2, 1, -, -): equal on every metric, so both bold
    tied = ["**0.5000**", "**0.5000**", "**0.4077**", "**0.4077**"]
    assert row(demo, "SASRec")[2:] == row(demo, "GRU4Rec")[2:] == tied
    assert row(demo, "Popularity")[2:] == ["_0.2500_", "_0.2500_", "_0.1250_", "_0.1250_"]
    assert row(demo, "DECOR")[2:] == ["missing"] * 4
    assert row(demo, "TIGER")[2:] == ["missing"] * 4
    assert row(demo, "Caser")[2:] == ["\u2014"] * 4
    tex = render_latex(tables["table1"])
    assert tex.count("\\textbf{0.5000}") == 4
    popularity = next(line for line in tex.splitlines() if "Popularity" in line)
    cells = popularity.removesuffix(" \\\\").split(" & ")[2:]
    assert cells[-4:] == ["\\underline{0.2500}"] * 2 + ["\\underline{0.1250}"] * 2
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "\\multicolumn{4}{c}{Scientific}" in tex
    frame = tables["table1"].frame
    missing = frame[(frame["our_dataset"] == "demo") & (frame["run"] == "decor")]
    assert (missing["status"] == "missing").all() and missing["ours"].isna().all()


def test_utilization_and_dataset_statistics(tables):
    md = sections(render_markdown(tables["table3"]))
    assert row(md["Scientific"], "TIGER")[1] == "26.60% (paper 26.60%, +0.0%)"
    assert row(md["Scientific"], "Ours")[1] == "50.00% (paper 51.06%, \u22122.1%)"
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


def test_missing_ranks_give_no_marker_but_a_note(tmp_path):
    make_repo(tmp_path)
    DatasetPaths("scientific", tmp_path).user_ranks("decor").unlink()
    table1 = report_tables(load_params(tmp_path / "params.yaml"), root=tmp_path)[0]
    assert table1.frame["significant"].isna().all()
    assert "Scientific N@10: no significance test, data/scientific/ranks/decor.parquet missing." in table1.notes


def run_stage(root: Path, monkeypatch) -> None:
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
    assert (sasrec["ours"], sasrec["paper"], sasrec["status"]) == (0.25, 0.0406, "measured")
    assert sasrec["rel_diff"] == pytest.approx(0.25 / 0.0406 - 1)
    assert "wrote 12 files to reports/tables" in capsys.readouterr().out


def test_stage_reports_a_bad_metrics_file_in_one_line(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    write_json(DatasetPaths("demo", tmp_path).eval_metrics("sasrec"), {"test": {"recall@5": "high"}})
    with pytest.raises(SystemExit) as exit_info:
        run_stage(tmp_path, monkeypatch)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: reports/metrics/demo/eval/sasrec.json, field 'test.recall@5': expected a number, got 'high'"
    assert not (tmp_path / "reports" / "tables").exists()


def test_composition_statistics_and_context_ablation_columns(tmp_path):
    make_repo(tmp_path)
    path = DatasetPaths("scientific", tmp_path).eval_metrics("decor")
    report = json.loads(path.read_text())
    layer = {"entropy": 2.5, "max_weight": 0.125, "distinct_argmax": 7, "above_uniform_share": 0.5}
    report["composition"] = {"bos": dict(layer), **{f"layer_{i}": dict(layer, entropy=float(i)) for i in (1, 2, 3)}}
    report["test_constant_context"] = {k: v / 2 for k, v in report["test"].items()}
    write_json(path, report)
    tables = {t.name: t for t in report_tables(load_params(tmp_path / "params.yaml"), root=tmp_path)}
    md2 = sections(render_markdown(tables["table2"]))
    header = next(line for line in md2["Scientific"].splitlines() if line.startswith("| Method"))
    assert "R@10 const. u" in header and "N@10 const. u" in header
    frame = tables["table2"].frame
    cells = frame[(frame["run"] == "decor") & (frame["dataset"] == "Scientific")].set_index("metric")
    assert cells.loc["const_recall@10", "ours"] == pytest.approx(cells.loc["recall@10", "ours"] / 2)
    assert cells.loc["const_ndcg@10", "status"] == "measured" and cells.loc["const_ndcg@10", "mark"] == ""
    tiger = frame[(frame["run"] == "tiger") & (frame["dataset"] == "Scientific")].set_index("metric")
    assert tiger.loc["const_recall@10", "status"] == "not run"  # the tiger json has no ablation
    full = row(md2["Scientific"], "DECOR (Full)")
    assert full[-2:] == [f"{cells.loc[m, 'ours']:.4f}" for m in ("const_recall@10", "const_ndcg@10")]
    assert row(md2["Scientific"], "w/ Token Comp. and BOS Queries")[-2:] == ["\u2014"] * 2
    md3 = sections(render_markdown(tables["table3"]))
    ours = row(md3["Scientific"], "Ours")
    assert ours[1] == "50.00% (paper 51.06%, \u22122.1%)"
    assert ours[4:] == ["1.00", "0.125", "7", "2.00", "0.125", "7", "3.00", "0.125", "7"]
    assert row(md3["Scientific"], "TIGER")[4:] == ["\u2014"] * 9
