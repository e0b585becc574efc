"""params.yaml's sections of the generative models and their training: ``model`` (and the T5 backbone
ETEGRec shares), ``train``, ``evaluate``; and of every trained model: ``cpu``, ``stopping``. Each is assembled
from its config's declarations (:func:`pipeline_lib.schema.base.section`)."""

from pipeline_lib.models.config import BACKBONE_KEYS, GenRecConfig
from pipeline_lib.parallel import CpuConfig
from pipeline_lib.protocol import DecodeConfig
from pipeline_lib.schema.base import device_key, section
from pipeline_lib.training.config import OptimConfig, StoppingRule

BackboneSection = section(
    GenRecConfig, "BackboneSection",
    "The T5 encoder-decoder of a generative recommender (GenRecConfig's T5 keys); ``etegrec.backbone``.",
    only=BACKBONE_KEYS,
)
ModelSection = section(
    GenRecConfig, "ModelSection", "``model``: the DECOR / TIGER backbone and DECOR's switches (GenRecConfig)."
)
TrainSection = section(
    OptimConfig, "TrainSection", "``train``: optimisation of the generative variants (OptimConfig; DECOR Table 5).",
    extra={"device": device_key()},
)
EvaluateSection = section(
    DecodeConfig, "EvaluateSection", "``evaluate``: trie-constrained beam search and the metric cut-offs (DecodeConfig)."
)
CpuSection = section(
    CpuConfig, "CpuSection", "``cpu``: how training runs use a CPU (pipeline_lib/parallel.py, CpuConfig); no effect on a GPU."
)
StoppingSection = section(
    StoppingRule, "StoppingSection",
    "``stopping``: one early-stopping rule for every trained model (StoppingRule); null = each section's own value.",
)
