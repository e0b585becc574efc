import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from safetensors.torch import save_file

from pipeline_lib.paths import DatasetPaths
from pipeline_lib.tokenizer.rqvae import load_rqvae

REPO = Path(__file__).resolve().parents[2]
STAGE = REPO / "stages" / "tokenize.py"
PARAMS = {
    "seed": 1,
    "catalog": {"demo": {"source": "demo", "alpha": 0.4, "bos_queries": 16}},
    "tokenize": {
        "model": {"hidden_dims": [32], "code_dim": 8, "levels": 3, "codebook_size": 16, "beta": 0.25},
        "train": {"epochs": 5, "batch_size": 32, "lr": 0.001, "weight_decay": 0.0001, "kmeans_init": True},
        "device": "cpu",
    },
}


def lay_out(tmp_path: Path, x: torch.Tensor, params: dict) -> DatasetPaths:
    """Write the embed stage's outputs for embeddings ``x`` and a params file under ``tmp_path``."""
    paths = DatasetPaths("demo", tmp_path)
    paths.filtered.mkdir(parents=True)
    paths.embedded.mkdir(parents=True)
    items = pd.DataFrame({"item_id": range(len(x)), "parent_asin": [f"B{i:04d}" for i in range(len(x))]})
    items.to_parquet(paths.items)
    save_file({"embeddings": x}, str(paths.item_embeddings))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return paths


def test_stage_writes_unique_ids_tokenizer_and_metrics(tmp_path):
    x = torch.randn(64, 24, generator=torch.Generator().manual_seed(0))
    paths = lay_out(tmp_path, x, PARAMS)
    # A real process, run as dvc.yaml runs it: as a module, so stages/tokenize.py cannot shadow the stdlib `tokenize`.
    done = subprocess.run(
        [sys.executable, "-m", "stages.tokenize", "demo", "--params", "params.yaml"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "tokenize demo on cpu: n_items=64" in done.stdout

    ids = pd.read_parquet(paths.semantic_ids)
    assert list(ids.columns) == ["item_id", "sid_0", "sid_1", "sid_2", "sid_3"]
    assert ids["item_id"].tolist() == list(range(64))
    tokens = ids[["sid_0", "sid_1", "sid_2", "sid_3"]]
    assert not tokens.duplicated().any()
    assert tokens.to_numpy().min() >= 0 and tokens.to_numpy().max() < 16

    model = load_rqvae(paths.rqvae)
    assert model.encode(x).tolist() == ids[["sid_0", "sid_1", "sid_2"]].to_numpy().tolist()

    metrics = json.loads(paths.tokenizer_metrics.read_text())
    assert set(metrics) == {"n_items", "recon_mse", "collision_rate", "max_collision_group", "loss_terms"} | {
        f"utilization_l{level}" for level in (1, 2, 3)
    }
    assert set(metrics["loss_terms"]["last_epoch"]["terms"]) == {"recon", "rq"}  # the shared tokenizer's L_SQ
    assert metrics["n_items"] == 64
    assert metrics["collision_rate"] == pytest.approx((ids["sid_3"] > 0).mean())
    assert 0 < metrics["utilization_l1"] <= 1


def bad_run(tmp_path, monkeypatch, capsys, x, params=PARAMS) -> str:
    """Run the stage in-process on bad input: exit code 2, nothing written, the one-line message returned."""
    paths = lay_out(tmp_path, x, params)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(STAGE), "demo", "--params", "params.yaml"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(STAGE), run_name="__main__")
    assert exit_info.value.code == 2
    assert not paths.tokenizer.exists() and not paths.metrics.exists()
    err = capsys.readouterr().err  # the progress bar may come first; the error is one line, without traceback
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ")
    return last


def test_nan_row_stops_the_stage_with_one_line_and_no_outputs(tmp_path, monkeypatch, capsys):
    x = torch.randn(64, 24)
    x[10, 3] = float("nan")
    err = bad_run(tmp_path, monkeypatch, capsys, x)
    assert "item_embeddings.safetensors, row 10" in err and "NaN" in err


def test_outgrowing_the_collision_token_stops_the_stage(tmp_path, monkeypatch, capsys):
    collapsed = {"hidden_dims": [8], "levels": 1, "codebook_size": 2}
    params = {**PARAMS, "tokenize": {**PARAMS["tokenize"], "model": collapsed}}
    err = bad_run(tmp_path, monkeypatch, capsys, torch.randn(64, 24), params)
    assert "items share the codes" in err and "more than the 2 values of the collision token" in err


def test_bad_params_name_the_field(tmp_path, monkeypatch, capsys):
    params = {**PARAMS, "tokenize": {**PARAMS["tokenize"], "train": {"epochs": 0}}}
    err = bad_run(tmp_path, monkeypatch, capsys, torch.randn(64, 24), params)
    assert "field 'tokenize.train.epochs': must be ≥ 1, got 0" in err


def run_in_process(tmp_path, monkeypatch, *args: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(STAGE), "demo", *args, "--params", "params.yaml"])
    runpy.run_path(str(STAGE), run_name="__main__")


def test_letter_writes_its_own_tokenizer_from_the_first_seeds_sasrec(tmp_path, monkeypatch, capsys):
    x = torch.randn(64, 24, generator=torch.Generator().manual_seed(0))
    paths = lay_out(tmp_path, x, {**PARAMS, "seeds": [7, 8]})
    sasrec = paths.item_embeddings_of("sasrec/seed_7")
    sasrec.parent.mkdir(parents=True)
    save_file({"embeddings": torch.randn(64, 6)}, str(sasrec))  # 6-d: ≠ code_dim 8, a learnt map in between
    run_in_process(tmp_path, monkeypatch, "letter")
    assert "tokenize demo letter on cpu: n_items=64" in capsys.readouterr().out
    assert not paths.tokenizer.exists() and not paths.tokenizer_metrics.exists()  # the shared one is not touched
    ids = pd.read_parquet(paths.semantic_ids_of("letter"))
    assert not ids[["sid_0", "sid_1", "sid_2", "sid_3"]].duplicated().any()
    model = load_rqvae(paths.rqvae_of("letter"))
    assert model.encode(x).tolist() == ids[["sid_0", "sid_1", "sid_2"]].to_numpy().tolist()
    written = paths.tokenizer_metrics_of("letter").read_bytes()
    metrics = json.loads(written)
    assert metrics["n_items"] == 64
    terms = metrics["loss_terms"]["last_epoch"]["terms"]
    assert set(terms) == {"sem_recon", "sem_rq", "cf", "div"} and metrics["loss_terms"]["last_epoch"]["epoch"] == 5
    assert terms["cf"]["weight"] == 0.01 and terms["cf"]["weighted"] == 0.01 * terms["cf"]["raw"]  # α, the default
    run_in_process(tmp_path, monkeypatch, "letter")
    assert paths.tokenizer_metrics_of("letter").read_bytes() == written  # same seed, same bytes


def test_letter_without_sasrec_embeddings_names_the_missing_file(tmp_path, monkeypatch, capsys):
    lay_out(tmp_path, torch.randn(64, 24), {**PARAMS, "seeds": [7]})
    with pytest.raises(SystemExit):
        run_in_process(tmp_path, monkeypatch, "letter")
    assert "models/sasrec/seed_7/item_embeddings.safetensors: not found" in capsys.readouterr().err


def test_cost_as_the_shared_method_writes_the_shared_tokenizer_and_letter_is_refused(tmp_path, monkeypatch, capsys):
    x = torch.randn(64, 24, generator=torch.Generator().manual_seed(0))
    paths = lay_out(tmp_path, x, {**PARAMS, "tokenize": {**PARAMS["tokenize"], "method": "cost"}})
    run_in_process(tmp_path, monkeypatch)
    assert "(cost, " in capsys.readouterr().out and paths.semantic_ids.is_file()
    params = {**PARAMS, "tokenize": {**PARAMS["tokenize"], "method": "letter"}}
    err = bad_run(tmp_path / "letter", monkeypatch, capsys, x, params)
    assert "field 'tokenize.method'" in err and "tokenize_letter" in err
