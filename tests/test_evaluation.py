import pytest
import torch

from pipeline_lib.decoding.beam_search import constrained_beam_search
from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.evaluation import (
    DecodeConfig,
    composition_diagnostics,
    composition_report,
    composition_utilization,
    flat_diagnostics,
    mean_context,
    rank_constant_context,
    rank_generative,
)
from pipeline_lib.metrics import ranking_metrics
from pipeline_lib.models.composition_stats import (
    above_uniform_share,
    distinct_argmax,
    logit_variance_split,
    mean_entropy,
    mean_max_weight,
    mean_norm,
)
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.tokenizer.vocab import SemanticVocab, history_tokens

TINY = dict(codebook_size=8, d_model=16, d_kv=4, num_heads=2, d_ff=32, encoder_layers=1, decoder_layers=1,
            attention_dim=8, dropout=0.0)


def setup(**kw):
    torch.manual_seed(0)
    model = GenerativeRecommender(GenRecConfig(**TINY, **kw)).eval()
    sids = torch.unique(torch.randint(0, 8, (40, 4), generator=torch.Generator().manual_seed(1)), dim=0)
    item_tokens = SemanticVocab(4, 8).item_token_table(sids)
    histories = torch.full((7, 5), -1)
    for row, n in enumerate([5, 1, 3, 2, 5, 4, 1]):
        histories[row, 5 - n :] = torch.randint(0, len(sids), (n,))
    return model, sids, item_tokens, histories


def test_rank_generative_equals_untrimmed_per_user_search():
    model, sids, item_tokens, histories = setup(composition=True, alpha=0.5, bos_queries=3)
    trie = SemanticIdTrie.from_semantic_ids(sids, 8)
    ranked = rank_generative(model, histories, item_tokens, trie, DecodeConfig(beam_size=8, batch_size=3, ks=(5,)), False)
    with torch.no_grad():
        for row in range(len(histories)):
            tokens = history_tokens(item_tokens, histories[row : row + 1])
            expected, _ = constrained_beam_search(model.beam_step_fn(tokens), 1, trie, 8, 5, "cpu")
            assert ranked[row].tolist() == expected[0].tolist()


def test_composition_utilization_counts_above_uniform_codes():
    model, sids, item_tokens, histories = setup(composition=True, alpha=0.5)
    targets = torch.arange(len(histories))
    shares = composition_utilization(model, histories, targets, item_tokens, batch_size=2)
    with torch.no_grad():
        weights = model.composition_weights(history_tokens(item_tokens, histories), item_tokens[targets])
    assert shares == ((weights > 1 / 8).any(0).float().mean(1)).tolist()
    assert len(shares) == 3 and all(0 < s <= 1 for s in shares)


DECODE = DecodeConfig(beam_size=8, batch_size=3, ks=(5,))


def _ranked(model, sids, item_tokens, histories):
    return rank_generative(model, histories, item_tokens, SemanticIdTrie.from_semantic_ids(sids, 8), DECODE, False)


@pytest.mark.parametrize("kw", [dict(composition=True, alpha=0.0),
                                dict(composition=True, alpha=0.0, bos_queries=3, bos_residual=True)])
def test_constant_context_ranks_as_the_model_when_alpha_is_zero(kw):
    """With α = 0 (eq. 18) composition does not reach the decoder, so the context ablation changes nothing."""
    model, sids, item_tokens, histories = setup(**kw)
    targets = torch.arange(len(histories))
    normal = _ranked(model, sids, item_tokens, histories)
    trie = SemanticIdTrie.from_semantic_ids(sids, 8)
    constant = rank_constant_context(model, histories, targets, item_tokens, trie, DECODE, False)
    assert model.composition.context_override is None  # removed again
    assert torch.equal(constant, normal)
    report = composition_report(model, normal, constant, histories, targets, item_tokens, DECODE)
    assert report["test_constant_context"] == ranking_metrics(normal, targets, (5,))
    assert report["constant_context_gap"] == {"recall@5": 0.0, "ndcg@5": 0.0}


def test_context_override_makes_composition_the_same_for_every_user():
    model, sids, item_tokens, histories = setup(composition=True, alpha=0.5, bos_queries=3)
    targets = torch.arange(len(histories))
    tokens, target_tokens = history_tokens(item_tokens, histories), item_tokens[targets]
    with torch.no_grad():
        u = model.raw_contexts(tokens, target_tokens)
        mean = mean_context(model, histories, targets, item_tokens, batch_size=2)
        torch.testing.assert_close(mean, u.mean(0))
        before = model.composition_terms(tokens, target_tokens)
        model.composition.set_context_override(mean)
        after = model.composition_terms(tokens, target_tokens)
    for site, (_, _, logits) in after.items():
        torch.testing.assert_close(logits, logits[:1].expand_as(logits))
        assert not torch.allclose(before[site][2], before[site][2][:1].expand_as(logits)), site
    ranked = _ranked(model, sids, item_tokens, histories)
    model.composition.set_context_override(None)
    normal = _ranked(model, sids, item_tokens, histories)
    assert not torch.equal(ranked, normal)
    trie = SemanticIdTrie.from_semantic_ids(sids, 8)
    assert torch.equal(rank_constant_context(model, histories, targets, item_tokens, trie, DECODE, False), ranked)
    report = composition_report(model, normal, ranked, histories, targets, item_tokens, DECODE)
    assert set(report["composition"]) == {"bos", "layer_1", "layer_2", "layer_3"}
    full, constant = ranking_metrics(normal, targets, (5,)), ranking_metrics(ranked, targets, (5,))
    assert report["constant_context_gap"] == pytest.approx({k: full[k] - constant[k] for k in full})


def test_composition_diagnostics_are_the_statistics_of_the_teacher_forced_weights():
    model, sids, item_tokens, histories = setup(composition=True, alpha=0.5, bos_queries=3)
    targets = torch.arange(len(histories))
    got = composition_diagnostics(model, histories, targets, item_tokens, batch_size=2)
    assert list(got) == ["bos", "layer_1", "layer_2", "layer_3"]
    with torch.no_grad():
        terms = model.composition_terms(history_tokens(item_tokens, histories), item_tokens[targets])
    for site, (u, query, logits) in terms.items():
        weights = torch.softmax(logits.double(), -1)
        assert logits.shape == (7, 3 if site == "bos" else 8)
        assert got[site]["entropy"] == pytest.approx(mean_entropy(weights))
        assert got[site]["max_weight"] == pytest.approx(mean_max_weight(weights))
        assert got[site]["distinct_argmax"] == distinct_argmax(weights)
        assert got[site]["above_uniform_share"] == above_uniform_share(weights)
        assert (got[site]["logit_var_code"], got[site]["logit_var_context"]) == pytest.approx(logit_variance_split(logits))
        assert got[site]["u_norm"] == pytest.approx(mean_norm(u)) and got[site]["query_norm"] == pytest.approx(mean_norm(query))
    shares = composition_utilization(model, histories, targets, item_tokens, batch_size=2)
    assert [got[f"layer_{i}"]["above_uniform_share"] for i in (1, 2, 3)] == pytest.approx(shares)
    assert flat_diagnostics(got)["comp_layer_2_entropy"] == got["layer_2"]["entropy"]
