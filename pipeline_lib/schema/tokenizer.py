"""params.yaml's ``tokenize`` section: the semantic-ID tokenizers (RQ-VAE, LETTER, CoST) and the RQ-VAE
shape and training ETEGRec shares; assembled from the configs' declarations (:mod:`pipeline_lib.tokenizer.config`)."""

from pydantic import Field

from pipeline_lib.schema.base import Device, Section, device_key, section
from pipeline_lib.tokenizer.config import CostConfig, LetterConfig, RQVAEConfig, TokenizerMethod, TrainConfig

RQVAESection = section(
    RQVAEConfig, "RQVAESection",
    "An RQ-VAE's shape (RQVAEConfig; ``input_dim`` is the embeddings' width): ``tokenize.model``, ``etegrec.rqvae``.",
)
TokenizerTrainSection = section(TrainConfig, "TokenizerTrainSection", "RQ-VAE training (TrainConfig): ``tokenize.train``, ``etegrec.pretrain``.")
LetterSection = section(LetterConfig, "LetterSection", "``tokenize.letter`` (LetterConfig): L_Sem + α·L_CF + β·L_Div.")
CostSection = section(CostConfig, "CostSection", "``tokenize.cost`` (CostConfig): α·L_CL + L_RQ.")


class TokenizeSection(Section):
    """``tokenize``: the semantic-ID tokenizers (stages tokenize, tokenize_letter, tokenize_cost; DECOR eq. 2–8)."""

    method: TokenizerMethod = Field(
        "rqvae",
        description="the shared tokenizer's loss (stage tokenize): rqvae | cost; letter needs stage tokenize_letter",
    )
    device: Device = device_key()[1]
    model: RQVAESection = Field(default_factory=RQVAESection)
    train: TokenizerTrainSection = Field(default_factory=TokenizerTrainSection)
    letter: LetterSection = Field(default_factory=LetterSection)
    cost: CostSection = Field(default_factory=CostSection)
