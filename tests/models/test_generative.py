import pytest
import torch
from tiny_genrec import batch, model

from pipeline_lib.decoding.beam_search import constrained_beam_search
from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.embeddings import pretrained_token_table
from pipeline_lib.models.generative import IncrementalBeamDecoder
from pipeline_lib.tokenizer.vocab import SemanticVocab

VARIANTS = {
    "tiger": {},
    "tokcomp": dict(composition=True, alpha=0.5),
    "tokcomp_bos": dict(composition=True, alpha=0.5, bos_queries=4),
    "pretrained": dict(fusion=True),
    "pretrained_tokcomp": dict(fusion=True, composition=True, alpha=0.5),
    "decor": dict(fusion=True, composition=True, alpha=0.5, bos_queries=4),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_future_target_token_leaks(variant):
    m = model(**VARIANTS[variant])
    hist, target = batch(m)
    logits = m(hist, target)
    assert logits.shape == (5, 4, m.vocab.size)
    for k in range(4):
        changed = target.clone()
        changed[:, k] = m.vocab.tokens(torch.full((5, 4), 7))[:, k] - (target[:, k] == m.vocab.level_offset(k) + 7).long()
        assert (changed[:, k] != target[:, k]).all()
        out = m(hist, changed)
        torch.testing.assert_close(out[:, : k + 1], logits[:, : k + 1])  # positions predicting y_0..y_k
        if k < 3:
            assert not torch.allclose(out[:, k + 1 :], logits[:, k + 1 :])


@pytest.mark.parametrize("variant", VARIANTS)
def test_history_padding_is_ignored(variant):
    m = model(**VARIANTS[variant])
    hist, target = batch(m)
    longer = torch.cat([hist, torch.full((5, 4), m.vocab.PAD)], dim=1)
    torch.testing.assert_close(m(longer, target), m(hist, target))


@pytest.mark.parametrize("variant", VARIANTS)
def test_beam_step_matches_teacher_forcing(variant):
    m = model(**VARIANTS[variant])
    hist, target = batch(m)
    full = torch.log_softmax(m(hist, target), dim=-1)
    step = m.beam_step_fn(hist)
    codes = target - m.vocab.tokens(torch.zeros_like(target))
    for p in range(4):
        out = step(codes[:, None, :p].expand(5, 3, p))
        assert out.shape == (5, 3, 8)
        torch.testing.assert_close(out[:, 1], full[:, p, m.vocab.level_slice(p)])


def test_alpha_zero_gives_static_decoder_embeddings():
    m = model(composition=True, alpha=0.0, fusion=True)
    hist, target = batch(m)
    table = m.embed.table()
    inputs = m.decoder_embeddings(table, m.encode(hist, table), target[:, :-1])
    bos = torch.full((5, 1), m.vocab.BOS)
    torch.testing.assert_close(inputs, table[torch.cat([bos, target[:, :-1]], 1)])


def test_composition_weights_are_per_level_distributions():
    m = model(composition=True, alpha=0.5)
    weights = m.composition_weights(*batch(m))
    assert weights.shape == (5, 3, 8)
    torch.testing.assert_close(weights.sum(-1), torch.ones(5, 3))


def test_fusion_keeps_codebooks_frozen_and_trains_the_rest():
    m = model(fusion=True)
    assert "embed.pretrained" not in dict(m.named_parameters())
    before = m.embed.pretrained.clone()
    m.train()
    m.loss(*batch(m)).backward()
    grads = {n for n, p in m.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert {"embed.collaborative.weight", "embed.project_pre.weight", "embed.fuse.weight"} <= grads
    torch.testing.assert_close(m.embed.pretrained, before)


def test_pretrained_table_layout():
    vocab = SemanticVocab(levels=4, codebook_size=8)
    codebooks = torch.randn(3, 8, 6)
    table = pretrained_token_table(codebooks, vocab)
    assert table.shape == (vocab.size, 6)
    torch.testing.assert_close(table[vocab.level_offset(1) + 5], codebooks[1, 5])
    assert table[: vocab.N_SPECIAL].abs().sum() == 0 and table[vocab.level_slice(3)].abs().sum() == 0


def test_bos_queries_need_composition():
    with pytest.raises(ValueError, match="composition"):
        GenRecConfig(bos_queries=4)


@pytest.mark.parametrize("variant", ["tiger", "decor"])
def test_incremental_decoder_matches_stateless_beam_search(variant):
    m = model(**VARIANTS[variant])
    hist, _ = batch(m)
    g = torch.Generator().manual_seed(5)
    sids = torch.unique(torch.randint(0, 8, (60, 4), generator=g), dim=0)
    trie = SemanticIdTrie.from_semantic_ids(sids, 8)
    with torch.no_grad():
        slow = constrained_beam_search(m.beam_step_fn(hist), 5, trie, beam_size=6, top_k=6, device="cpu")
        stepper = IncrementalBeamDecoder(m, hist)
        fast = constrained_beam_search(stepper, 5, trie, beam_size=6, top_k=6, device="cpu", on_select=stepper.select)
    assert torch.equal(fast[0], slow[0])
    torch.testing.assert_close(fast[1], slow[1])
