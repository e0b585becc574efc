"""The RQ-VAE item tokenizer (DECOR eq. 2–5; ETEGRec eq. 3–7) and its one-file safetensors format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from torch import Tensor, nn

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import write_tensors
from pipeline_lib.tokenizer.config import RQVAEConfig
from pipeline_lib.tokenizer.quantizer import Quantized, ResidualQuantizer

FORMAT = "decor-repro/rqvae/v1"
CODEBOOKS_KEY = "quantizer.codebooks"


def mlp(dims: list[int]) -> nn.Sequential:
    """Linear layers between consecutive ``dims`` with ReLU in between (none after the last)."""
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(d_in, d_out))
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class RQVAEOutput:
    latent: Tensor  # z_0 = Encoder(x) [n, d] (eq. 2)
    quant: Quantized  # codes, residuals, distances and code vectors per level (eq. 3–4)
    recon: Tensor  # x̃ = Decoder(r̃) [n, input_dim] (eq. 5), r̃ passed straight-through to the encoder


class RQVAE(nn.Module):
    """MLP encoder → residual quantizer → MLP decoder."""

    def __init__(self, config: RQVAEConfig):
        super().__init__()
        self.config = config
        dims = [config.input_dim, *config.hidden_dims, config.code_dim]
        self.encoder = mlp(dims)
        self.quantizer = ResidualQuantizer(config.levels, config.codebook_size, config.code_dim)
        self.decoder = mlp(dims[::-1])

    def forward(self, x: Tensor) -> RQVAEOutput:
        """Encode, quantize, decode. The decoder sees ``z_0 + sg[r̃ − z_0]`` (straight-through estimator)."""
        z = self.encoder(x)
        quant = self.quantizer(z)
        straight_through = z + (quant.quantized - z).detach()
        return RQVAEOutput(latent=z, quant=quant, recon=self.decoder(straight_through))

    @torch.no_grad()
    def encode(self, x: Tensor, batch_size: int = 8192) -> Tensor:
        """Semantic codes [n, L] (without the collision token) of embeddings ``x`` [n, input_dim]."""
        return torch.cat([self.quantizer(self.encoder(xb)).codes for xb in x.split(batch_size)])


def save_rqvae(model: RQVAE, path: str | Path) -> None:
    """Write the whole tokenizer — every weight plus the config as JSON metadata — as one safetensors file."""
    write_tensors(path, dict(model.state_dict()), metadata={"format": FORMAT, "config": model.config.to_json()})


def load_rqvae(path: str | Path, device: str | torch.device = "cpu") -> RQVAE:
    """Rebuild an RQ-VAE written by :func:`save_rqvae`; a file that is not one raises ``PipelineInputError``."""
    path = Path(path)
    if not path.is_file():
        raise PipelineInputError(path, "tokenizer file not found; run the tokenize stage first")
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except SafetensorError as err:
        raise PipelineInputError(path, f"not a readable safetensors file ({err})") from None
    if metadata.get("format") != FORMAT or "config" not in metadata:
        raise PipelineInputError(path, f"not an RQ-VAE tokenizer file (metadata format must be {FORMAT!r})")
    try:
        model = RQVAE(RQVAEConfig.from_json(metadata["config"])).to(device)
        model.load_state_dict(tensors)
    except (TypeError, ValueError, RuntimeError) as err:
        raise PipelineInputError(path, f"weights do not match the stored config: {err}") from None
    return model


def load_codebooks(path: str | Path) -> Tensor:
    """Just the trained codebooks [L, K, d] of a tokenizer file (DECOR's frozen pretrained embeddings, eq. 9)."""
    return load_rqvae(path).quantizer.codebooks.detach()
