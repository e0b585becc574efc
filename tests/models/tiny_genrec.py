"""A tiny generative recommender and a batch for it, shared by the model tests (8 codes × 3 levels, d 16)."""

import torch

from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender

TINY = dict(codebook_size=8, d_model=16, d_kv=4, num_heads=2, d_ff=32, encoder_layers=1, decoder_layers=2,
            code_dim=6, fusion_dim=12, attention_dim=10, dropout=0.0)


def model(**kw) -> GenerativeRecommender:
    torch.manual_seed(0)
    return GenerativeRecommender(GenRecConfig(**TINY, **kw), codebooks=torch.randn(3, 8, 6)).eval()


def batch(m: GenerativeRecommender, n: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Histories [n, 12] (3 items; users 1.. have only the first two) and targets [n, 4], as tokens."""
    g = torch.Generator().manual_seed(3)
    hist = m.vocab.tokens(torch.randint(0, 8, (n, 3, 4), generator=g)).flatten(1)
    hist[1:, 8:] = m.vocab.PAD
    return hist, m.vocab.tokens(torch.randint(0, 8, (n, 4), generator=g))
