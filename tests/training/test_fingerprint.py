"""A checkpoint is resumed only by the run that wrote it.

The helper's unit tests, then each training stage (generative ``train``, the ``baseline`` SASRec /
GRU4Rec, ``etegrec``) run in-process on a tiny dataset: interrupted right after its first epoch's
checkpoint, then re-run unchanged (it must resume) or with other training sequences over the same
items, or another history length (it must train from scratch).
"""

from __future__ import annotations

import runpy
import sys
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from safetensors.torch import save_file

from pipeline_lib.bench.synthetic import SyntheticSize, synthetic_split, synthetic_tokenizer
from pipeline_lib.data.split import SplitData, leave_one_out
from pipeline_lib.data.store import write_split
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import write_parquet
from pipeline_lib.paths import DatasetPaths, run_name
from pipeline_lib.tokenizer.config import RQVAEConfig
from pipeline_lib.tokenizer.rqvae import RQVAE, save_rqvae
from pipeline_lib.tokenizer.semantic_ids import semantic_id_frame
from pipeline_lib.training import loop
from pipeline_lib.training.fingerprint import run_fingerprint


@dataclass(frozen=True)
class Settings:
    lr: float
    ks: tuple[int, ...]


def test_same_inputs_give_the_same_fingerprint_whatever_the_key_order(tmp_path):
    data = tmp_path / "train.parquet"
    data.write_bytes(b"sequences")
    first = run_fingerprint({"seed": 1, "train": Settings(0.1, (5, 10))}, [data], {"ids": torch.arange(4)})
    data.write_bytes(b"sequences")  # rewritten with the same bytes: same run
    again = run_fingerprint({"train": {"ks": [5, 10], "lr": 0.1}, "seed": 1}, [data], {"ids": torch.arange(4)})
    assert first == again and len(first) == 64


def test_any_changed_input_changes_the_fingerprint(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    base = run_fingerprint({"max_seq_len": 20}, [a, b], {"ids": torch.arange(4)})
    others = [
        run_fingerprint({"max_seq_len": 50}, [a, b], {"ids": torch.arange(4)}),
        run_fingerprint({"max_seq_len": 20}, [b, a], {"ids": torch.arange(4)}),
        run_fingerprint({"max_seq_len": 20}, [a], {"ids": torch.arange(4)}),
        run_fingerprint({"max_seq_len": 20}, [a, b], {"ids": torch.arange(4).flip(0)}),
        run_fingerprint({"max_seq_len": 20}, [a, b], {"ids": torch.arange(4).reshape(2, 2)}),
        run_fingerprint({"max_seq_len": 20}, [a, b], {"ids": torch.arange(4, dtype=torch.int32)}),
    ]
    b.write_bytes(b"tw0")
    others.append(run_fingerprint({"max_seq_len": 20}, [a, b], {"ids": torch.arange(4)}))
    assert len({base, *others}) == len(others) + 1


def test_unstable_values_and_missing_files_are_refused(tmp_path):
    with pytest.raises(TypeError, match="object"):
        run_fingerprint({"callback": object()})
    with pytest.raises(PipelineInputError, match="not found"):
        run_fingerprint({}, [tmp_path / "absent.parquet"])


# ---- each training stage, interrupted after one epoch and re-run ----

N_ITEMS, LEVELS, K, CODE_DIM, MAX_LEN = 24, 3, 8, 6, 5
BACKBONE = {"d_model": 16, "d_kv": 4, "num_heads": 2, "d_ff": 32, "encoder_layers": 1, "decoder_layers": 1,
            "dropout": 0.0}
PARAMS = {
    "seed": 3,
    "seeds": [3],
    "catalog": {"demo": {"source": "demo", "alpha": 0.5, "bos_queries": 2}},
    "evaluate": {"beam_size": 10, "batch_size": 64, "ks": [5, 10]},
    "model": {**BACKBONE, "fusion_dim": 8, "attention_dim": 8},
    "train": {"batch_size": 32, "lr": 0.01, "warmup_steps": 2, "max_epochs": 2, "patience": 2, "bf16": False,
              "device": "cpu"},
    "baselines": {"batch_size": 32, "lr": 0.01, "max_epochs": 2, "patience": 2, "device": "cpu",
                  "gru4rec": {"embedding_dim": 16, "hidden_size": 16}},  # no max_len: only the protocol's history tells
    "etegrec": {"cycle_epochs": 2, "max_epochs": 2, "patience": 2, "batch_size": 32, "finetune_epochs": 0,
                "recommender_warmup_steps": 2, "tokenizer_warmup_steps": 1, "bf16": False, "device": "cpu",
                "rqvae": {"hidden_dims": [16], "code_dim": CODE_DIM, "levels": LEVELS, "codebook_size": K},
                "pretrain": {"epochs": 5, "batch_size": 32}, "backbone": BACKBONE},
}


@dataclass(frozen=True)
class Stage:
    argv: list[str]  # ``python -m stages.<argv[0]> <argv[1:]>``
    model: str  # its checkpoint's name: the model's run of the first (only) seed


def set_protocol(params: dict) -> None:
    """The ETEGRec protocol: histories of at most 50 items instead of 20 (the run's identity changes)."""
    params["protocol"] = "etegrec"


STAGES = {
    "generative": Stage(["train", "demo", "tiger"], run_name("tiger", 3)),
    "gru4rec": Stage(["baseline", "demo", "gru4rec"], run_name("gru4rec", 3)),
    "etegrec": Stage(["etegrec", "demo"], run_name("etegrec", 3)),
}


def write_sequences(paths: DatasetPaths, users: pd.DataFrame, items: pd.DataFrame, sequences: pd.DataFrame) -> None:
    """The filter stage's tables of these sequences."""
    write_split(paths, SplitData(users, items, sequences, *leave_one_out(sequences, MAX_LEN)))


def lay_out(root: Path) -> DatasetPaths:
    """The filter, tokenize and SASRec outputs the three stages read, and params.yaml."""
    paths = DatasetPaths("demo", root)
    split = synthetic_split(SyntheticSize(users=40, items=N_ITEMS, interactions=320), MAX_LEN, seed=0)
    write_sequences(paths, split.users, split.items, split.sequences)
    torch.manual_seed(0)
    save_rqvae(RQVAE(RQVAEConfig(input_dim=8, hidden_dims=(16,), code_dim=CODE_DIM, levels=LEVELS, codebook_size=K)),
               paths.rqvae)
    sids, _ = synthetic_tokenizer(N_ITEMS, LEVELS, K, CODE_DIM, seed=0)
    write_parquet(paths.semantic_ids, semantic_id_frame(sids))
    paths.model_dir(run_name("sasrec", 3)).mkdir(parents=True)
    save_file({"embeddings": torch.randn(N_ITEMS, 8, generator=torch.Generator().manual_seed(1))},
              str(paths.item_embeddings_of(run_name("sasrec", 3))))
    write_params(root, PARAMS)
    return paths


def write_params(root: Path, params: dict) -> None:
    (root / "params.yaml").write_text(yaml.safe_dump(params))


def reverse_sequences(paths: DatasetPaths) -> None:
    """Every user's items in the opposite order: other training sequences over the same items and semantic IDs."""
    sequences = pd.read_parquet(paths.sequences)
    sequences["item_ids"] = sequences["item_ids"].map(lambda items: list(items)[::-1])
    write_sequences(paths, pd.read_parquet(paths.users), pd.read_parquet(paths.items), sequences)


class Interrupted(Exception):
    """Stands for a kill right after a checkpoint was written."""


def run_stage(stage: Stage, monkeypatch, capsys, interrupt: bool = False) -> str:
    """Run the stage in-process as ``python -m stages.<name> …`` from the current directory; its stdout."""
    monkeypatch.setattr(sys, "argv", [*stage.argv, "--params", "params.yaml"])
    with monkeypatch.context() as patch:
        if interrupt:
            save_state = loop.save_state

            def save_then_stop(path: Path, state: dict) -> None:
                save_state(path, state)
                raise Interrupted

            patch.setattr(loop, "save_state", save_then_stop)
            with pytest.raises(Interrupted):
                runpy.run_module(f"stages.{stage.argv[0]}", run_name="__main__")
        else:
            runpy.run_module(f"stages.{stage.argv[0]}", run_name="__main__")
    return capsys.readouterr().out


@pytest.mark.parametrize("name", list(STAGES))
def test_a_stage_resumes_only_the_same_run(name, tmp_path, monkeypatch, capsys):
    """Each re-run but the last is interrupted after its first epoch too, leaving the checkpoint the next one meets."""
    stage = STAGES[name]
    paths = lay_out(tmp_path)
    checkpoint = paths.checkpoint(stage.model)
    resuming, fresh = f"resuming from {checkpoint.relative_to(tmp_path)} after epoch 0", "from another run"
    monkeypatch.chdir(tmp_path)
    out = run_stage(stage, monkeypatch, capsys, interrupt=True)
    assert checkpoint.is_file() and resuming not in out and fresh not in out

    out = run_stage(stage, monkeypatch, capsys, interrupt=True)  # unchanged: trains epoch 1
    assert resuming in out and fresh not in out
    assert pd.read_csv(paths.curve(stage.model), sep="\t")["epoch"].tolist() == [0, 1]

    reverse_sequences(paths)
    out = run_stage(stage, monkeypatch, capsys, interrupt=True)
    assert fresh in out and "resuming" not in out
    assert pd.read_csv(paths.curve(stage.model), sep="\t")["epoch"].tolist() == [0]

    params = deepcopy(PARAMS)
    set_protocol(params)
    write_params(tmp_path, params)
    out = run_stage(stage, monkeypatch, capsys)
    assert fresh in out and "resuming" not in out
    assert pd.read_csv(paths.curve(stage.model), sep="\t")["epoch"].tolist() == [0, 1] and not checkpoint.exists()
