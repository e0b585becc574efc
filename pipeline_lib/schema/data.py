"""params.yaml's data sections: ``demo``, ``download``, ``filter`` and ``embed`` (the item texts). ``demo`` and
``embed`` are assembled from their configs' declarations; ``download`` and ``filter`` have no config dataclass
and are declared here, once."""

from pydantic import Field

from pipeline_lib.data.demo import DemoConfig
from pipeline_lib.schema.base import Float, Section, Url, section
from pipeline_lib.text.config import EmbedConfig

DemoSection = section(
    DemoConfig, "DemoSection",
    "``demo``: size and structure of the generated demo catalogue (pipeline_lib/data/demo.py, DemoConfig; its "
    "cross-field limits, e.g. at least 2 items per subcategory, are checked there).",
    extra={"seed": (int | None, Field(None, ge=0, description="generator seed; null = the top-level seed"))},
)
EmbedSection = section(EmbedConfig, "EmbedSection", "``embed``: item text template and the sentence encoder (stage embed).")


class DownloadSection(Section):
    """``download``: where Amazon 2023 files come from and how fetching retries (pipeline_lib/data/download.py)."""

    base_url: Url = Field(
        "https://mcauleylab.ucsd.edu/public_datasets/data/amazon_2023", description="http(s):// or file:// root"
    )
    mirrors: list[Url] = Field(default_factory=list, description="fallback roots, tried in order")
    retries: int = Field(3, ge=0, description="extra attempts per URL after a failure")
    backoff_s: Float = Field(2.0, ge=0, description="seconds before the first retry, doubling after each")
    timeout_s: Float = Field(60.0, gt=0, description="socket timeout, seconds")
    chunk_bytes: int = Field(1 << 20, ge=1, description="read size, bytes")


class FilterSection(Section):
    """``filter``: iterative k-core filtering and the leave-one-out split (stage filter)."""

    k_core: int = Field(5, ge=3, description="minimum interactions per user and per item (≥ 3 for leave-one-out)")
