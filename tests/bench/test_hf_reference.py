"""The Hugging Face reference of the benchmark (``--reference hf``): the T5 model, its trie constraint,
its decoder against ours with identical weights, the CLI end to end and its argument errors. Tiny sizes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from pipeline_lib.bench.__main__ import main
from pipeline_lib.bench.hf_reference import HFTrainer, load_plain_backbone, padded_train_batch
from pipeline_lib.bench.measure import HFOptions
from pipeline_lib.bench.synthetic import SyntheticSize, synthetic_split, synthetic_tokenizer
from pipeline_lib.cli import run_stage
from pipeline_lib.decoding.hf_generate import TrieConstraint, hf_rank
from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.evaluation import DecodeConfig, rank_generative
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.models.hf_t5 import hf_t5_config, hf_t5_model
from pipeline_lib.tokenizer.vocab import SemanticVocab, history_tokens
from pipeline_lib.training.config import OptimConfig
from pipeline_lib.training.generative import generative_data

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
TINY = dict(codebook_size=8, d_model=16, d_kv=4, num_heads=2, d_ff=32, encoder_layers=2, decoder_layers=2,
            code_dim=6, dropout=0.0)
CPU = torch.device("cpu")
CLI_TINY = ["--params", str(PARAMS), "--synthetic", "--users", "60", "--items", "45", "--interactions", "420",
            "--repeats", "1", "--warmup", "1", "--train-steps", "1", "--eval-users", "8", "--reference-users", "3",
            "--reference-items", "45"]


def tiny_catalogue(items: int = 40):
    split = synthetic_split(SyntheticSize(users=12, items=items, interactions=80), max_seq_len=5, seed=0)
    sids, codebooks = synthetic_tokenizer(items, levels=3, codebook_size=8, code_dim=6, seed=0)
    data, _ = generative_data(split, sids, 8, 5, CPU)
    return data, sids, codebooks


def plain_pair(codebooks: torch.Tensor) -> tuple[GenerativeRecommender, torch.nn.Module]:
    """Our TIGER model (head tied to its token table, as the HF model's) and its HF copy."""
    torch.manual_seed(0)
    config = GenRecConfig(**TINY)
    ours = GenerativeRecommender(config, codebooks).eval()
    hf = hf_t5_model(config, CPU, seed=1).eval()
    load_plain_backbone(hf, ours)
    return ours, hf


def test_config_has_our_backbone_sizes_and_token_ids():
    config = GenRecConfig(**TINY)
    t5 = hf_t5_config(config)
    vocab = SemanticVocab(config.levels, config.codebook_size)
    assert (t5.vocab_size, t5.d_model, t5.d_kv, t5.d_ff, t5.num_heads) == (vocab.size, 16, 4, 32, 2)
    assert (t5.num_layers, t5.num_decoder_layers, t5.dropout_rate, t5.feed_forward_proj) == (2, 2, 0.0, "relu")
    assert (t5.pad_token_id, t5.eos_token_id, t5.decoder_start_token_id) == (vocab.PAD, vocab.EOS, vocab.BOS)
    assert not t5.scale_decoder_outputs  # like ours: no d_model^-0.5 before lm_head
    with pytest.raises(ValueError, match="as many encoder as decoder layers"):
        hf_t5_config(GenRecConfig(**{**TINY, "decoder_layers": 1}))


def test_constraint_is_the_trie_as_token_prefixes():
    data, sids, _ = tiny_catalogue()
    constraint = TrieConstraint.from_trie(data.trie)
    vocab = SemanticVocab(4, 8)
    tokens = vocab.tokens(sids).tolist()
    assert constraint.items == {tuple(row): item for item, row in enumerate(tokens)}
    assert sorted(constraint.allowed[()]) == sorted({row[0] for row in tokens})
    for row in tokens:
        for p in range(1, 4):
            assert row[p] in constraint.allowed[tuple(row[:p])]
    bos = vocab.BOS
    assert constraint(0, torch.tensor([bos, *tokens[0][:2]])) == constraint.allowed[tuple(tokens[0][:2])]
    assert constraint(0, torch.tensor([bos, 0, 0])) == [vocab.PAD]  # off the trie: a dead end, never empty
    assert constraint.item(tokens[5]) == 5 and constraint.item([0, 0, 0, 0]) == -1


def test_constrained_generate_returns_only_catalogue_items():
    """A freshly initialised HF model, a trie over part of the catalogue: every list holds distinct items of it."""
    data, sids, _ = tiny_catalogue()
    subset = sids[:25]
    trie = SemanticIdTrie.from_semantic_ids(subset, 8)
    hf = hf_t5_model(GenRecConfig(**TINY), CPU, seed=3)
    for beam in (12, 20):
        ranked = hf_rank(hf, data.valid.histories, data.item_tokens, TrieConstraint.from_trie(trie), beam, 10, 5, False)
        assert ranked.shape == (12, 10)
        assert ranked.min() >= 0 and ranked.max() < 25
        assert all(len(set(row)) == 10 for row in ranked.tolist())


def test_with_identical_weights_generate_ranks_like_our_beam_search():
    data, _, codebooks = tiny_catalogue()
    ours, hf = plain_pair(codebooks)
    histories, targets = data.valid.histories, data.item_tokens[data.valid.targets]
    tokens = history_tokens(data.item_tokens, histories)
    hf_logits = hf(input_ids=tokens, attention_mask=(tokens != 0).long(), labels=targets).logits
    torch.testing.assert_close(hf_logits, ours(tokens, targets), rtol=1e-5, atol=1e-5)
    constraint = TrieConstraint.from_trie(data.trie)
    for beam in (10, 16):
        mine = rank_generative(ours, histories, data.item_tokens, data.trie, DecodeConfig(beam, 5, (5, 10)), False)
        theirs = hf_rank(hf, histories, data.item_tokens, constraint, beam, 10, 5, False)
        assert torch.equal(mine[:, 0], theirs[:, 0])  # top-1
        assert torch.equal(mine, theirs)  # and the whole top-10, in order


def test_only_a_plain_model_with_tied_head_loads():
    _, _, codebooks = tiny_catalogue()
    config = GenRecConfig(**TINY)
    hf = hf_t5_model(config, CPU, seed=0)
    with pytest.raises(ValueError, match="ties lm_head"):
        load_plain_backbone(hf, GenerativeRecommender(GenRecConfig(**TINY, tie_lm_head=False), codebooks))
    decor = GenerativeRecommender(GenRecConfig(**TINY, fusion=True, composition=True), codebooks)
    with pytest.raises(ValueError, match="plain T5"):
        load_plain_backbone(hf, decor)


def test_plain_loop_trains_on_padded_batches():
    data, _, _ = tiny_catalogue()
    index = torch.arange(8)
    input_ids, mask, labels = padded_train_batch(data, index)
    assert input_ids.shape == (8, 5 * 4) and labels.shape == (8, 4)
    assert torch.equal(mask.bool(), input_ids != 0) and torch.equal(labels, data.item_tokens[data.train.targets[:8]])
    trainer = HFTrainer(hf_t5_model(GenRecConfig(**TINY), CPU, seed=0), data, OptimConfig(batch_size=8, lr=1e-2))
    first = float(trainer.update(input_ids, mask, labels))
    for _ in range(5):
        last = float(trainer.update(input_ids, mask, labels))
    assert last < first


def test_options_need_three_repeats_and_beams_that_hold_the_lists():
    with pytest.raises(ValueError, match="3 interleaved"):
        HFOptions(repeats=2)
    with pytest.raises(ValueError, match="≥ the 10 items"):
        HFOptions(beams=(5, 20)).check_beams(10)


@pytest.mark.parametrize("variant", ["decor"])
def test_reference_mode_end_to_end_writes_ratios(variant, tmp_path, monkeypatch):
    argv = ["bench", "demo", variant, *CLI_TINY, "--out", str(tmp_path), "--reference", "hf",
            "--hf-train-steps", "1", "--hf-eval-users", "8", "--hf-beams", "10", "20"]
    monkeypatch.setattr(sys, "argv", argv)
    main()
    result = json.loads((tmp_path / f"cpu_demo-synthetic_{variant}.json").read_text())
    hf = result["hf_reference"]
    assert hf["repeats"] == 3 and hf["transformers"]
    assert set(hf["ratios"]) == {"train_samples_per_s", "train_peak_memory", "users_per_s_beam_10",
                                 "decode_peak_memory_beam_10", "users_per_s_beam_20", "decode_peak_memory_beam_20"}
    assert hf["ratios"]["train_samples_per_s"] > 0 and hf["ratios"]["users_per_s_beam_20"] > 0
    assert hf["ratios"]["train_peak_memory"] is None  # the CPU's resident set cannot be reset per call
    train, decode = hf["train"], hf["decode"]
    assert len(train["ours"]["samples_per_s_repeats"]) == len(train["reference"]["samples_per_s_repeats"]) == 3
    assert train["reference_history_tokens"] == 20 * 4 and decode["users"] == 8
    for beam in (10, 20):
        row = decode[f"beam_{beam}"]
        assert row["beam_size"] == beam and row["reference_valid_item_share"] == 1.0
        assert row["users_per_s_ratio"] == pytest.approx(hf["ratios"][f"users_per_s_beam_{beam}"])
    summary = (tmp_path / f"cpu_demo-synthetic_{variant}.md").read_text()
    assert "## Against the Hugging Face reference" in summary
    assert result["device_name"] in summary.split("## Against")[1] and "decoded users/s, beam 20" in summary


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--reference", "hf", "--hf-repeats", "2"], "3 interleaved repeats"),
        (["--reference", "hf", "--hf-beams", "4"], "beam sizes [4]"),
        (["--reference", "nope"], "invalid choice"),
        (["--reference", "hf", "--hf-eval-users", "x"], "invalid int value"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(extra, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the stage lock's folder
    monkeypatch.setattr(sys, "argv", ["bench", "demo", "tiger", *CLI_TINY, "--out", str(tmp_path), *extra])
    with pytest.raises(SystemExit) as exited:
        run_stage(main)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not list(tmp_path.glob("*.json"))
