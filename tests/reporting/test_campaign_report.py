"""The campaign report: plan, runs, means ± sd, named comparisons and the curves' plot, from a folder's files."""

from pathlib import Path

import pandas as pd
import yaml

from pipeline_lib.io import write_json
from pipeline_lib.reporting.campaign_report import PLOT_NAME, campaign_report


def make_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "reports" / "camp"
    folder.mkdir(parents=True)
    jobs = {"dataset": "ds", "runs": [{"stage": "train", "model": "tiger", "seeds": [1, 2]},
                                      {"stage": "train", "model": "tiger_hf", "seeds": [1, 2]}],
            "compare": [["tiger", "tiger_hf"]]}
    (folder / "jobs.yaml").write_text(yaml.safe_dump(jobs))
    (folder / "notes.md").write_text("## Settings\n\nhand-written\n")
    rows = ["model\tseed\tfingerprint\tstage\twall_s\tfinished_utc\tcommit"]
    for model, base in (("tiger", 0.040), ("tiger_hf", 0.030)):
        for seed in (1, 2):
            test = {m: base + 0.001 * seed for m in ("recall@5", "recall@10", "ndcg@5", "ndcg@10")}
            write_json(folder / "metrics" / "eval" / model / f"seed_{seed}.json", {"test": test})
            stopped = "max_epochs" if (model, seed) == ("tiger_hf", 2) else "patience"
            write_json(folder / "metrics" / "train" / model / f"seed_{seed}.json",
                       {"best_epoch": 9, "epochs": 20, "stopped_by": stopped, "valid": {"ndcg@10": 0.05}})
            write_json(folder / "timings" / model / f"seed_{seed}.json", {"seconds_per_epoch": 14.2})
            curve = pd.DataFrame({"epoch": [0, 1, 2, 3], "valid_ndcg@10": [None, 0.01, None, 0.02]})
            (folder / "curves" / model).mkdir(parents=True, exist_ok=True)
            curve.to_csv(folder / "curves" / model / f"seed_{seed}.tsv", sep="\t", index=False)
            if (model, seed) != ("tiger_hf", 2):
                rows.append(f"{model}\t{seed}\tf{seed}{model}\ttrain\t600\tnow\tabc")
    (folder / "runs.tsv").write_text("\n".join(rows) + "\n")
    return folder


def test_report_holds_plan_notes_runs_means_comparison_and_plot(tmp_path, monkeypatch):
    make_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    text = campaign_report(Path("reports/camp"))
    assert "3 of 4 planned runs done; left: tiger_hf seed 2 — about 0.1 h at 2 runs at once" in text
    assert "hand-written" in text
    assert "| tiger_hf |      2 |" in text and "max_epochs" in text
    assert "0.0415 ± 0.0007" in text  # tiger N@10 over seeds 1, 2: 0.041, 0.042
    assert "tiger vs tiger_hf, ndcg@10: 0.0415 vs 0.0315 (+0.0100; Welch p = " in text
    assert (tmp_path / "reports" / "camp" / PLOT_NAME).stat().st_size > 1000


def test_report_compares_model_by_model_with_a_reference_folder(tmp_path, monkeypatch):
    folder = make_folder(tmp_path)
    earlier = tmp_path / "reports" / "before"
    for seed, value in ((1, 0.03), (2, 0.032)):
        test = {m: value for m in ("recall@5", "recall@10", "ndcg@5", "ndcg@10")}
        write_json(earlier / "metrics" / "eval" / "tiger" / f"seed_{seed}.json", {"test": test})
        write_json(earlier / "metrics" / "train" / "tiger" / f"seed_{seed}.json", {"best_epoch": 7})
    jobs = yaml.safe_load((folder / "jobs.yaml").read_text()) | {"reference": "reports/before"}
    (folder / "jobs.yaml").write_text(yaml.safe_dump(jobs))
    monkeypatch.chdir(tmp_path)
    text = campaign_report(Path("reports/camp"))
    assert "## Against `reports/before`" in text
    assert "| tiger   | 0.0310 (n=2) |     0.0415 |" in text and "tiger_hf |" not in text.split("## Against")[1].split("##")[0]
