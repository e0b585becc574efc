"""Data-parallel training and sharded evaluation give the one-process results.

The two-process run is real: ``torch.multiprocessing`` spawns two CPU ranks that join a gloo
group through ``pipeline_lib.distributed.start`` (an ``accelerate.Accelerator``), exactly as under
``accelerate launch``. The tiny data set is cut so that the shards are unequal and the last
training batch (one sample) leaves rank 1 empty-handed.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from pipeline_lib.bench.synthetic import SyntheticSize, synthetic_split, synthetic_tokenizer
from pipeline_lib.distributed import Distributed, start
from pipeline_lib.evaluation import DecodeConfig, rank_generative
from pipeline_lib.io import read_tensors, write_json, write_tensors
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.training.config import OptimConfig
from pipeline_lib.training.generative import TrainData, generative_data, train_generative
from pipeline_lib.training.loop import LoopConfig, fit

SEED = 7
K = 8
BATCH = 11  # odd: the two ranks get 6 and 5 samples
TINY = dict(codebook_size=K, d_model=16, d_kv=4, num_heads=2, d_ff=32, encoder_layers=1, decoder_layers=1,
            code_dim=6, fusion_dim=8, attention_dim=8, dropout=0.0, composition=True, alpha=0.5, bos_queries=3,
            fusion=True)
OPTIM = OptimConfig(batch_size=BATCH, lr=0.01, warmup_steps=2, max_epochs=2, patience=5, bf16=False)
DECODE = DecodeConfig(beam_size=10, batch_size=7, ks=(5, 10))  # 40 users → batches of 7,7,7,7,7,5


def setup() -> tuple[GenerativeRecommender, TrainData]:
    split = synthetic_split(SyntheticSize(users=40, items=30, interactions=240), max_seq_len=5, seed=SEED)
    sids, codebooks = synthetic_tokenizer(30, levels=3, codebook_size=K, code_dim=6, seed=SEED)
    data, _ = generative_data(split, sids, K, 5, torch.device("cpu"))
    keep = torch.arange(3 * BATCH + 1)  # the last batch holds one sample
    data = TrainData(data.train.select(keep), data.valid, data.item_tokens, data.trie)
    torch.manual_seed(SEED)
    return GenerativeRecommender(GenRecConfig(**TINY), codebooks), data


def run(dist: Distributed | None, out: Path) -> dict:
    """Rank fixed weights, then train two epochs (validating after each); save what to compare."""
    model, data = setup()
    ranked = rank_generative(model, data.valid.histories, data.item_tokens, data.trie, DECODE, False, dist)
    checkpoint = out / "checkpoint.safetensors"
    result = train_generative(model, data, OPTIM, DECODE, SEED, checkpoint, "tiny run", out / "curve.tsv",
                              out / "steps.tsv", dist)
    return {"ranked": ranked, "weights": model.state_dict(), "curve": result.curve}


def worker(rank: int, world_size: int, port: int, out: str) -> None:
    """One rank, with the environment ``accelerate launch`` / ``torchrun`` would give it."""
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size), "LOCAL_WORLD_SIZE": str(world_size)})
    torch.set_num_threads(1)
    dist = start("cpu")
    assert (dist.rank, dist.world_size, dist.device) == (rank, world_size, torch.device("cpu"))
    outcome = run(dist, Path(out))
    tensors = {"ranked": outcome["ranked"], **{f"weights.{k}": v for k, v in outcome["weights"].items()}}
    write_tensors(Path(out) / f"rank{rank}.safetensors", tensors)
    write_json(Path(out) / f"rank{rank}.json", outcome["curve"])
    dist.finish()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("two_processes")
    mp.spawn(worker, args=(2, free_port(), str(out)), nprocs=2, join=True)
    return out


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the workers: the same kernels, the same float results
    try:
        return run(None, tmp_path_factory.mktemp("one_process"))
    finally:
        torch.set_num_threads(threads)


def test_sharded_evaluation_of_fixed_weights_equals_one_process(two_processes, one_process):
    for rank in range(2):
        ranked = read_tensors(two_processes / f"rank{rank}.safetensors")["ranked"]
        assert torch.equal(ranked, one_process["ranked"])


def test_two_process_training_matches_one_process(two_processes, one_process):
    """Same global batches, gradients summed over ranks: the same run up to float summation order
    (each rank averages its own shard, and the all-reduce adds the two partial gradients)."""
    curves = [json.loads((two_processes / f"rank{rank}.json").read_text()) for rank in range(2)]
    untimed = [[{k: v for k, v in row.items() if not k.endswith("_seconds")} for row in curve] for curve in curves]
    assert untimed[0] == untimed[1]
    assert len(untimed[0]) == len(one_process["curve"]) == OPTIM.max_epochs
    for two, one in zip(untimed[0], one_process["curve"]):
        assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-5)
        ranking = lambda row: {k: v for k, v in row.items() if k.startswith("valid_") and "_comp_" not in k}  # noqa: E731
        assert ranking(two) == ranking(one)
        # composition diagnostics (eq. 16) are continuous in the weights, which differ by summation order
        diagnostics = lambda row: {k: v for k, v in row.items() if k.startswith("valid_comp_")}  # noqa: E731
        assert diagnostics(two) == pytest.approx(diagnostics(one), rel=1e-4, abs=1e-6) and diagnostics(one)
    weights = [read_tensors(two_processes / f"rank{rank}.safetensors") for rank in range(2)]
    for name, expected in one_process["weights"].items():
        assert torch.equal(weights[0][f"weights.{name}"], weights[1][f"weights.{name}"]), name
        torch.testing.assert_close(weights[0][f"weights.{name}"], expected, rtol=1e-5, atol=1e-6)


def test_only_rank_zero_writes_the_checkpoint_and_curve(two_processes):
    assert (two_processes / "checkpoint.safetensors").is_file() and (two_processes / "curve.tsv").is_file()


def test_a_non_main_process_writes_nothing(tmp_path):
    model = torch.nn.Linear(2, 2)
    config = LoopConfig(max_epochs=2, patience=5)
    result = fit(config, {"model": model}, {}, lambda epoch: {"train_loss": 1.0}, lambda: {"ndcg@10": 0.5},
                 tmp_path / "checkpoint.safetensors", "run", tmp_path / "curve.tsv", main_process=False)
    assert result.epochs_run == 2 and list(tmp_path.iterdir()) == []


def test_shards_split_a_batch_and_weigh_each_part_by_its_size():
    index = torch.arange(10, 15)
    parts = [Distributed(torch.device("cpu"), rank, 2).shard(index) for rank in range(2)]
    assert [part.tolist() for part, _ in parts] == [[10, 11, 12], [13, 14]]
    assert [weight for _, weight in parts] == [0.6, 0.4]
    assert Distributed(torch.device("cpu")).shard(index) == (index, 1.0)


def test_a_rank_without_samples_gets_a_zero_weight_stand_in():
    part, weight = Distributed(torch.device("cpu"), rank=1, world_size=2).shard(torch.tensor([4]))
    assert part.tolist() == [4] and weight == 0.0


def test_alone_start_keeps_the_resolved_device(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert start("cpu") == Distributed(torch.device("cpu"), 0, 1)
