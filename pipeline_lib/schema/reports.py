"""params.yaml's report and CI sections: ``tables``, ``figures`` and ``gate``, assembled from their configs'
declarations (:mod:`pipeline_lib.reporting.config`, :mod:`pipeline_lib.ci.gate_config`)."""

from pipeline_lib.ci.gate_config import GateConfig
from pipeline_lib.reporting.config import Figure4Config, TablesConfig
from pipeline_lib.schema.base import section

TablesSection = section(TablesConfig, "TablesSection", "``tables``: paper Tables 1–4 with our numbers (stage tables).")
FiguresSection = section(
    Figure4Config, "FiguresSection", "``figures``: DECOR Figure 4, t-SNE of static vs composed prefix embeddings."
)
GateSection = section(
    GateConfig, "GateSection", "``gate``: the CI metric-diff gate (pipeline_lib/ci/gate.py); tolerances are absolute."
)
