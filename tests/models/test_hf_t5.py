"""Variant ``tiger_hf``: TIGER on Hugging Face's T5, trained by our trainer and decoded by ``generate`` (tiny data)."""

from __future__ import annotations

import pytest
import torch
from tiny_genrec import TINY

from pipeline_lib.bench.hf_reference import load_plain_backbone
from pipeline_lib.bench.synthetic import SyntheticSize, synthetic_split, synthetic_tokenizer
from pipeline_lib.evaluation import DecodeConfig, rank_generative
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.models.hf_t5 import HFTiger
from pipeline_lib.models.store import load_generative, save_generative
from pipeline_lib.models.variants import VARIANTS, build_generative
from pipeline_lib.tokenizer.vocab import history_tokens
from pipeline_lib.training.config import OptimConfig
from pipeline_lib.training.generative import GenerativeTrainer, generative_data

CPU = torch.device("cpu")
PLAIN = {**TINY, "decoder_layers": 1}


def tiny_data():
    split = synthetic_split(SyntheticSize(users=12, items=40, interactions=80), max_seq_len=5, seed=0)
    sids, codebooks = synthetic_tokenizer(40, levels=3, codebook_size=8, code_dim=6, seed=0)
    data, _ = generative_data(split, sids, 8, 5, CPU)
    return data, codebooks


def test_variant_builds_the_hugging_face_model_and_refuses_decor_modules():
    assert VARIANTS["tiger_hf"].hf and not VARIANTS["tiger"].hf
    assert isinstance(build_generative("tiger_hf", GenRecConfig(**PLAIN), torch.randn(3, 8, 6)), HFTiger)
    with pytest.raises(ValueError, match="plain T5"):
        HFTiger(GenRecConfig(**PLAIN, fusion=True))
    with pytest.raises(ValueError, match="tie_lm_head"):
        HFTiger(GenRecConfig(**PLAIN, tie_lm_head=False))


@pytest.mark.parametrize("scaled", [False, True])
def test_same_weights_same_loss_and_same_ranking_as_ours(scaled):
    """With our TIGER's weights copied in, the HF path gives our loss and, by generate, our beam search's lists
    (also with T5's d_model^-0.5 scaling of the tied head, ``tied_head_scale``)."""
    data, codebooks = tiny_data()
    torch.manual_seed(0)
    config = GenRecConfig(**PLAIN, tied_head_scale=scaled)
    ours = GenerativeRecommender(config, codebooks).eval()
    hf = HFTiger(config).eval()
    load_plain_backbone(hf.t5, ours)
    batch = data.train.select(torch.arange(6))
    tokens, targets = history_tokens(data.item_tokens, batch.histories), data.item_tokens[batch.targets]
    torch.testing.assert_close(hf.loss(tokens, targets), ours.loss(tokens, targets), rtol=1e-5, atol=1e-5)
    decode = DecodeConfig(12, 5, (5, 10))
    mine = rank_generative(ours, data.valid.histories, data.item_tokens, data.trie, decode, False)
    theirs = rank_generative(hf, data.valid.histories, data.item_tokens, data.trie, decode, False)
    assert torch.equal(mine, theirs)


def test_our_trainer_trains_it_and_the_store_reloads_it(tmp_path):
    data, codebooks = tiny_data()
    torch.manual_seed(0)
    model = build_generative("tiger_hf", GenRecConfig(**PLAIN), codebooks)
    trainer = GenerativeTrainer(model, data, OptimConfig(batch_size=8, lr=1e-2, warmup_steps=1, max_epochs=5), seed=0)
    first = trainer.run_epoch(0)["train_loss"]
    for epoch in range(1, 5):
        last = trainer.run_epoch(epoch)["train_loss"]
    assert last < first
    save_generative(tmp_path / "m.safetensors", tmp_path / "c.json", model, "tiger_hf")
    loaded = load_generative(tmp_path / "m.safetensors", codebooks, CPU)
    assert isinstance(loaded, HFTiger)
    decode = DecodeConfig(12, 5, (5, 10))
    before = rank_generative(model, data.valid.histories, data.item_tokens, data.trie, decode, False)
    assert torch.equal(before, rank_generative(loaded, data.valid.histories, data.item_tokens, data.trie, decode, False))


def test_the_epoch_loop_checkpoints_and_resumes_the_tied_hugging_face_model(tmp_path):
    """Its tied tables share memory: the per-epoch checkpoint must still be written, and a resumed run must end
    exactly where an uninterrupted one does."""
    from pipeline_lib.evaluation import DecodeConfig
    from pipeline_lib.training.generative import train_generative

    data, codebooks = tiny_data()
    optim = OptimConfig(batch_size=8, lr=1e-2, warmup_steps=1, max_epochs=2, eval_every=1, patience=5)
    decode = DecodeConfig(12, 5, (5, 10))

    def run(checkpoint, curve):
        torch.manual_seed(0)
        model = build_generative("tiger_hf", GenRecConfig(**PLAIN), codebooks)
        return model, train_generative(model, data, optim, decode, 0, checkpoint, "fp", curve, tmp_path / "s.tsv")

    model, result = run(tmp_path / "a.safetensors", tmp_path / "a.tsv")
    assert (tmp_path / "a.safetensors").is_file() and result.epochs_run == 2
    _, again = run(tmp_path / "a.safetensors", tmp_path / "b.tsv")  # resumes after the last epoch: nothing to train
    for key, value in result.best_weights["model"].items():
        torch.testing.assert_close(again.best_weights["model"][key], value)
