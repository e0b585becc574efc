"""DECOR Figure 4: prefix ambiguity — static vs contextually composed prefix embeddings, by t-SNE.

What is plotted, for one trained model with token composition (the ``decor`` variant):

1. The prefix: among length-``p`` semantic-ID prefixes that at least two different next codes
   continue in the catalogue (an ambiguous prefix), the one most test targets start with
   (the paper's ``(1, 276)`` is such a prefix with p = 2).
2. The test users whose target item starts with that prefix (at most ``max_users``, in order).
3. Three kinds of vectors in the model's token-embedding space (d = d_model):
   - *static prefix*: the embedding-table row of the prefix's last token, e^static (with fusion,
     the fused embedding of eq. 11) — the one decoder input every user gets without composition;
   - *composed prefix*, one per user: e_final of eq. 18 for that same decoder input, composed
     over its codebook level with the user's context (history + earlier prefix tokens, eq. 13–17),
     exactly what the model feeds its decoder (``GenerativeRecommender.decoder_embeddings``);
   - *candidates*: the static embeddings of the level-p tokens that continue the prefix to a
     real item (the paper's red triangles).
4. One t-SNE (scikit-learn, PCA init, fixed seed, the same layout on any CPU) of all of them together; two panels share its
   coordinates: left the static prefix with the candidates, right the composed prefixes coloured
   by each user's true next code (its candidate drawn in the same colour). Each panel's title
   gives the mean cosine similarity, in the original space, between the prefix embedding a user
   gets and the static embedding of that user's true next token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.reporting.figures import save_png
from pipeline_lib.tokenizer.vocab import history_tokens


@dataclass(frozen=True)
class PrefixCase:
    """Figure 4's vectors for one prefix (see the module docstring)."""

    prefix: tuple[int, ...]  # codes of levels 0 … p-1
    candidates: tuple[int, ...]  # level-p codes continuing the prefix to an item, ascending
    next_codes: torch.Tensor  # [U] each user's true level-p code
    static_prefix: torch.Tensor  # [d]
    composed_prefix: torch.Tensor  # [U, d]
    candidate_embeddings: torch.Tensor  # [C, d]

    def alignment(self) -> tuple[float, float]:
        """Mean cosine similarity to each user's true next-token embedding: (static, composed) prefix."""
        index = torch.searchsorted(torch.tensor(self.candidates), self.next_codes)
        true_next = self.candidate_embeddings[index]
        static = F.cosine_similarity(self.static_prefix[None], true_next).mean()
        composed = F.cosine_similarity(self.composed_prefix, true_next).mean()
        return float(static), float(composed)


def ambiguous_prefix(sids: torch.Tensor, targets: torch.Tensor, prefix_length: int) -> tuple[int, ...]:
    """The length-p prefix most ``targets`` start with, among those ≥ 2 distinct next codes continue."""
    continued = torch.unique(sids[:, : prefix_length + 1], dim=0)
    prefixes, n_next = torch.unique(continued[:, :prefix_length], dim=0, return_counts=True)
    ambiguous = prefixes[n_next >= 2]
    seen, counts = torch.unique(sids[targets, :prefix_length], dim=0, return_counts=True)
    eligible = (seen[:, None, :] == ambiguous[None]).all(-1).any(-1)
    if not eligible.any():
        raise ValueError(f"no test target starts with a length-{prefix_length} prefix that two items' codes continue")
    return tuple(seen[torch.where(eligible, counts, 0).argmax()].tolist())


@torch.no_grad()
def prefix_case(
    model: GenerativeRecommender,
    sids: torch.Tensor,
    histories: torch.Tensor,
    targets: torch.Tensor,
    prefix_length: int = 2,
    max_users: int = 300,
) -> PrefixCase:
    """Static and composed (eq. 18) embeddings of the most shared ambiguous prefix's last token.

    ``sids`` [n_items, levels] codes; ``histories`` [U, max_len] right-aligned item ids (−1 pads);
    ``targets`` [U] item ids — the test split as ``evaluation_samples`` builds it.
    """
    if model.composition is None:
        raise ValueError("Figure 4 needs a variant with token composition")
    if not 1 <= prefix_length < model.config.levels:
        raise ValueError(f"prefix_length must lie in [1, {model.config.levels - 1}], got {prefix_length}")
    model.eval()
    prefix = ambiguous_prefix(sids, targets, prefix_length)
    users = (sids[targets, :prefix_length] == torch.tensor(prefix)).all(dim=1).nonzero().squeeze(1)[:max_users]
    item_tokens = model.vocab.item_token_table(sids)
    table = model.embed.table()
    history = model.encode(history_tokens(item_tokens, histories[users]), table)
    prefix_tokens = item_tokens[targets[users], :prefix_length]
    composed = model.decoder_embeddings(table, history, prefix_tokens)[:, prefix_length]  # [BOS, y_0 … y_{p-1}]
    continues = (sids[:, :prefix_length] == torch.tensor(prefix)).all(dim=1)
    candidates = torch.unique(sids[continues, prefix_length])
    return PrefixCase(
        prefix=prefix,
        candidates=tuple(candidates.tolist()),
        next_codes=sids[targets[users], prefix_length],
        static_prefix=table[prefix_tokens[0, -1]],
        composed_prefix=composed,
        candidate_embeddings=table[model.vocab.level_offset(prefix_length) + candidates],
    )


SIGNIFICANT_DIGITS = 9  # t-SNE's inputs are rounded to this many significant digits (see tsne_layout)


def tsne_layout(case: PrefixCase, perplexity: float = 30.0, seed: int = 2025) -> np.ndarray:
    """2-D t-SNE of [static prefix; candidates; composed prefixes] (rows in that order): [n, 2].

    scikit-learn's t-SNE with its PCA initialisation (scaled to std 1e-4 as scikit-learn scales it) and
    squared Euclidean distances, both computed here and rounded to ``SIGNIFICANT_DIGITS`` before the
    optimisation: t-SNE amplifies last-bit differences, and BLAS gives different last bits on different
    CPUs (OpenBLAS picks its kernels per CPU), so without the rounding a clean clone on another machine
    drew another layout. With the rounding, the layout is the same under every OpenBLAS kernel set tried
    (Haswell, Sandybridge, Nehalem, Prescott, SkylakeX, Zen; the test checks two).
    """
    points = torch.cat([case.static_prefix[None], case.candidate_embeddings, case.composed_prefix])
    x = points.double().cpu().numpy()
    distances = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    init = PCA(n_components=2, svd_solver="full").fit_transform(x)
    init = init / init[:, 0].std() * 1e-4
    perplexity = min(perplexity, (len(points) - 1) / 3)  # scikit-learn needs perplexity < n_samples
    tsne = TSNE(n_components=2, perplexity=perplexity, metric="precomputed", init=round_significant(init),
                random_state=seed)
    return tsne.fit_transform(round_significant(distances))


def round_significant(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to ``SIGNIFICANT_DIGITS`` significant digits relative to its largest magnitude."""
    largest = np.abs(values).max()
    if largest == 0:
        return values
    scale = 10.0 ** (np.floor(np.log10(largest)) - SIGNIFICANT_DIGITS + 1)
    return np.round(values / scale) * scale


def plot_prefix_case(case: PrefixCase, layout: np.ndarray, dataset: str, path: Path) -> None:
    """Figure 4: static prefix (left) vs composed prefixes (right) among the candidates, one t-SNE."""
    n_candidates = len(case.candidates)
    static, candidates, composed = layout[0], layout[1 : 1 + n_candidates], layout[1 + n_candidates :]
    colours = plt.get_cmap("tab10" if n_candidates <= 10 else "tab20")
    colour_of = {code: colours(i % colours.N) for i, code in enumerate(case.candidates)}
    align_static, align_composed = case.alignment()
    prefix = "(" + ", ".join(map(str, case.prefix)) + ")"
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 5), sharex=True, sharey=True, layout="constrained")
    right.scatter(*composed.T, s=14, alpha=0.7, c=[colour_of[int(c)] for c in case.next_codes],
                  label=f"composed prefix, one per user ({len(composed)})")
    for ax in (left, right):
        ax.scatter(*candidates.T, marker="^", s=110, c=[colour_of[c] for c in case.candidates],
                   edgecolors="black", label="valid next tokens (static)")
        for (x, y), code in zip(candidates, case.candidates):
            ax.annotate(str(code), (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
        ax.set(xlabel="t-SNE 1", ylabel="t-SNE 2")
    left.scatter(*static, marker="X", s=200, c="black", label=f"static prefix {prefix} (every user)")
    right.scatter(*static, marker="X", s=120, c="lightgrey", edgecolors="grey", label="static prefix")
    left.set_title(f"Static tokenization — mean cos to true next token {align_static:.3f}")
    right.set_title(f"DECOR composition (eq. 18) — mean cos to true next token {align_composed:.3f}")
    left.legend(loc="best", fontsize=8)
    right.legend(loc="best", fontsize=8)
    figure.suptitle(f"{dataset}: prefix {prefix}, users coloured by their true next token (Figure 4)")
    save_png(figure, path)
