import torch

from pipeline_lib.decoding.beam_search import constrained_beam_search
from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.evaluation import DecodeConfig, composition_utilization, rank_generative
from pipeline_lib.models.generative import GenerativeRecommender, GenRecConfig
from pipeline_lib.models.vocab import SemanticVocab, history_tokens

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
