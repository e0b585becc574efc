"""Which parameters AdamW decays (``model.weight_decay_exclude``).

DECOR's Table 5 gives AdamW with weight decay 0.05 and no exclusions; by default every parameter is
decayed. With ``exclude`` the common transformer practice applies: no decay for LayerNorm weights
(T5's RMS norms and the fusion's LayerNorms), biases, embedding tables (token tables, T5's relative
position buckets) and the BOS queries Q_BOS (eq. 19) — they are not projection matrices, and decay
pulls them towards 0 rather than regularising a mapping.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from pipeline_lib.models.composition import BOSQueries


def _no_decay_module(module: nn.Module) -> bool:
    return isinstance(module, nn.Embedding | nn.LayerNorm | BOSQueries) or "LayerNorm" in type(module).__name__


def no_decay_names(model: nn.Module) -> set[str]:
    """Names of the parameters ``exclude`` leaves undecayed: LayerNorm weights, biases, embeddings, Q_BOS."""
    names = set()
    for module_name, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            if name == "bias" or _no_decay_module(module):
                names.add(f"{module_name}.{name}" if module_name else name)
    return names


def param_groups(model: nn.Module, weight_decay: float, exclude: bool) -> list[dict[str, Any]]:
    """AdamW parameter groups: one group decayed by ``weight_decay`` (all trainable parameters unless
    ``exclude``), plus with ``exclude`` a group with decay 0 (``no_decay_names``)."""
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not exclude:
        return [{"params": [p for _, p in trainable], "weight_decay": weight_decay}]
    skip = no_decay_names(model)
    return [
        {"params": [p for name, p in trainable if name not in skip], "weight_decay": weight_decay},
        {"params": [p for name, p in trainable if name in skip], "weight_decay": 0.0},
    ]
