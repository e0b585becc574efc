"""params.yaml's ``baselines`` (the sequential baselines, one section per model) and ``etegrec`` sections,
assembled from the configs' declarations (:mod:`pipeline_lib.models.config`, :mod:`pipeline_lib.training.config`)."""

from pydantic import Field

from pipeline_lib.models.config import (
    AlignmentConfig,
    BERT4RecConfig,
    CaserConfig,
    FDSAConfig,
    GRU4RecConfig,
    S3RecConfig,
    SASRecConfig,
)
from pipeline_lib.schema.base import Float, device_key, section
from pipeline_lib.schema.tokenizer import RQVAESection, TokenizerTrainSection
from pipeline_lib.schema.training import BackboneSection
from pipeline_lib.training.config import BaselineConfig, JointOptimConfig


def _own_lr(model: str) -> dict[str, tuple[object, object]]:
    """The ``lr`` key every model section has (read by stage baseline, not by the model's config)."""
    return {"lr": (Float | None, Field(None, gt=0, description=f"{model}'s own learning rate; null = baselines.lr"))}


SASRecSection = section(SASRecConfig, "SASRecSection", "``baselines.sasrec`` (SASRecConfig).", extra=_own_lr("SASRec"))
GRU4RecSection = section(
    GRU4RecConfig, "GRU4RecSection", "``baselines.gru4rec`` (GRU4RecConfig).", extra=_own_lr("GRU4Rec")
)
BERT4RecSection = section(
    BERT4RecConfig, "BERT4RecSection", "``baselines.bert4rec`` (BERT4RecConfig).", extra=_own_lr("BERT4Rec")
)
CaserSection = section(CaserConfig, "CaserSection", "``baselines.caser`` (CaserConfig).", extra=_own_lr("Caser"))
FDSASection = section(
    FDSAConfig, "FDSASection", "``baselines.fdsa`` (FDSAConfig): item- and feature-level streams.", extra=_own_lr("FDSA")
)
S3RecSection = section(
    S3RecConfig, "S3RecSection", "``baselines.s3rec`` (S3RecConfig): encoder and pre-training; ``lr`` fine-tunes.",
    extra=_own_lr("S3Rec"),
)

BaselinesSection = section(
    BaselineConfig, "BaselinesSection",
    "``baselines``: sequential baselines (stage baseline; BaselineConfig + one section per model).",
    extra={"device": device_key()},
    nested={"sasrec": SASRecSection, "gru4rec": GRU4RecSection, "bert4rec": BERT4RecSection,
            "caser": CaserSection, "fdsa": FDSASection, "s3rec": S3RecSection},
)
EtegrecSection = section(
    (JointOptimConfig, AlignmentConfig), "EtegrecSection",
    "``etegrec``: ETEGRec's tokenizer + recommender and their alternating optimisation (stage etegrec).",
    extra={"device": device_key()},
    nested={"rqvae": RQVAESection, "pretrain": TokenizerTrainSection, "backbone": BackboneSection},
)
