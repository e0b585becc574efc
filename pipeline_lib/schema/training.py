"""params.yaml's sections of the generative models and their training: ``model`` (and the T5 backbone
ETEGRec shares), ``train``, ``evaluate``; and of every trained model: ``cpu``, ``stopping``."""

from typing import Annotated, Self

from pydantic import Field, model_validator

from pipeline_lib.schema.base import BosQueryInit, BosStatic, Device, FeedForward, Float, Section, _dropout

# ---------------------------------------------------------------- generative models


class BackboneSection(Section):
    """The T5 encoder-decoder of a generative recommender (GenRecConfig's T5 keys); ``etegrec.backbone``."""

    d_model: int = Field(128, ge=1, description="hidden size")
    d_kv: int = Field(64, ge=1, description="size of each attention head")
    num_heads: int = Field(6, ge=1, description="attention heads")
    d_ff: int = Field(1024, ge=1, description="feed-forward hidden size")
    encoder_layers: int = Field(4, ge=1, description="encoder blocks")
    decoder_layers: int = Field(4, ge=1, description="decoder blocks")
    dropout: Float = _dropout(0.1)
    feed_forward_proj: FeedForward = Field("relu", description="T5 feed-forward activation")
    tie_lm_head: bool = Field(
        True, description="true = the token table (fused embeddings) is the prediction head (camera-ready §3.6)"
    )
    tied_head_scale: bool = Field(
        False, description="with tie_lm_head: decoder states × d_model^-0.5 before the head (T5's tied convention)"
    )


class ModelSection(BackboneSection):
    """``model``: the DECOR / TIGER backbone (TIGER's layers with DECOR's d_model 128, Table 5)."""

    fusion_dim: int = Field(128, ge=1, description="d' of eq. 10")
    attention_dim: int = Field(128, ge=1, description="d' of eq. 14")
    composition_scaled: bool = Field(False, description="true = eq. 16 logits × 1/√d; false = as printed")
    composition_center_context: bool = Field(
        False, description="true = u − ū before W_q (eq. 16): batch mean in training, running mean in evaluation"
    )
    composition_self_context: bool = Field(
        False, description="true = y_j's own embedding in its composition context (eq. 13); false = eq. 16–17"
    )
    bos_residual: bool = Field(False, description="true = ê_BOS = α·Φ(…) + (1 − α)·e_BOS; false = eq. 19 as printed")
    bos_query_init: BosQueryInit = Field(
        "normal", description="normal = N(0, 1) entries | token_scale = each ‖q‖ = the token table's mean row norm"
    )
    weight_decay_exclude: bool = Field(
        False, description="true = no AdamW decay on LayerNorm, biases, embedding tables, Q_BOS; false = decay all"
    )
    bos_static: BosStatic = Field(
        "zero", description="e_BOS in ê_BOS = Φ(e_BOS, u, Q_BOS): zero (camera-ready §3.4.1) | learned = the table's row"
    )
    alpha_trainable: bool = Field(False, description="true = α of eq. 18 learned; false = fixed (camera-ready)")


class TrainSection(Section):
    """``train``: optimisation of the generative variants (OptimConfig; DECOR Table 5)."""

    batch_size: int = Field(256, ge=1, description="training samples per step")
    lr: Float = Field(3e-3, gt=0, description="AdamW peak learning rate")
    weight_decay: Float = Field(0.05, ge=0, description="AdamW weight decay")
    warmup_steps: int = Field(10_000, ge=0, description="linear warmup, optimizer steps (then cosine decay)")
    warmup_epochs: Float | None = Field(
        None, gt=0, description="linear warmup, epochs; when set it replaces warmup_steps (the CPU profile: 1)"
    )
    max_epochs: int = Field(200, ge=1, description="epochs")
    patience: int = Field(20, ge=1, description="validations without a better NDCG@10 before stopping")
    eval_every: int = Field(1, ge=1, description="epochs between validation runs")
    grad_clip: Float = Field(1.0, gt=0, description="gradient norm clip")
    bf16: bool = Field(True, description="bf16 autocast on a GPU (CPU runs stay float32)")
    compile: bool = Field(False, description="torch.compile the training loss")
    cuda_graphs: bool = Field(
        False, description="compile in mode reduce-overhead: on CUDA one CUDA graph per bucket shape, replayed (implies compile)"
    )
    diagnostics_every: int = Field(
        0, ge=0, description="optimiser steps between composition diagnostics (reports/curves/<ds>/<variant>.steps.tsv); 0 = off"
    )
    time_budget_s: Float | None = Field(
        None, gt=0, description="seconds of training after which the first validation ends the run (best weights kept); null = no limit"
    )
    device: Device = Field("auto", description="auto = cuda when present")


class EvaluateSection(Section):
    """``evaluate``: trie-constrained beam search and the metric cut-offs (DecodeConfig)."""

    beam_size: int | None = Field(
        None, ge=1, description="beams per user; null = the protocol's (decor 50, etegrec 20); at least max(ks)"
    )
    batch_size: int = Field(256, ge=1, description="users per beam-search batch")
    ks: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [5, 10], min_length=1, description="Recall@k / NDCG@k cut-offs, items"
    )

    @model_validator(mode="after")
    def _beam_covers_ks(self) -> Self:
        if self.beam_size is not None and max(self.ks) > self.beam_size:
            raise ValueError(f"beam_size ({self.beam_size}) must be at least max(ks) ({max(self.ks)})")
        return self


# ---------------------------------------------------------------- every trained model


class CpuSection(Section):
    """``cpu``: how training runs use a CPU (pipeline_lib/parallel.py, CpuConfig); no effect on a GPU."""

    threads_per_run: int = Field(
        1, ge=1, description="torch threads of each training run (its numbers depend on it: part of its identity)"
    )
    parallel_runs: int | None = Field(
        None, ge=1, description="a stage's seed runs side by side, each in its own process; null = CPUs // threads_per_run"
    )


class StoppingSection(Section):
    """``stopping``: one early-stopping rule for every trained model (training.stopping.StoppingRule); null = each
    section's own value."""

    eval_every: int | None = Field(None, ge=1, description="epochs between validations, for every model")
    patience: int | None = Field(None, ge=1, description="validations without a better NDCG@10, for every model")
    max_epochs: int | None = Field(None, ge=1, description="epoch cap for every model; reaching it = not converged")
    valid_users: int | None = Field(
        None, ge=1, description="validate on a fixed subset of this many users (data seed); null = all"
    )
