"""params.yaml's data sections: ``demo``, ``download``, ``filter`` and ``embed`` (the item texts)."""

from pydantic import Field

from pipeline_lib.schema.base import Device, EmbedDtype, Float, Section, TextField, Url, _probability


class DemoSection(Section):
    """``demo``: size and structure of the generated demo catalogue (pipeline_lib/data/demo.py, DemoConfig;
    its cross-field limits, e.g. at least 2 items per subcategory, are checked there)."""

    n_users: int = Field(1700, ge=1, description="users generated, before filtering")
    n_items: int = Field(440, ge=1, description="reviewable items generated, before filtering")
    n_meta_only_items: int = Field(12, ge=0, description="extra items with a metadata row but no review")
    n_top_categories: int = Field(6, ge=1, description="top-level categories (at most the taxonomy's)")
    n_subcategories: int = Field(5, ge=2, description="subcategories per top category")
    mean_seq_len: Float = Field(10.0, gt=5, description="mean reviews of a regular user (items)")
    short_user_rate: Float = _probability(0.1, "share of users with 1-4 reviews")
    rare_item_rate: Float = _probability(0.1, "share of items reachable only through noise steps")
    noise_rate: Float = _probability(0.1, "probability that a step picks a uniformly random item")
    short_user_noise_rate: Float = _probability(0.5, "the same for short users")
    copurchase_rate: Float = _probability(0.3, "probability that a step picks the previous item's partner")
    category_switch_rate: Float = _probability(0.15, "probability that a step jumps to another top category")
    chain_rate: Float = _probability(0.55, "probability that a subcategory transition follows the chain edge")
    zipf_exponent: Float = Field(1.0, ge=0, description="popularity skew within a subcategory")
    preference_concentration: Float = Field(0.3, gt=0, description="Dirichlet concentration of user preferences")
    duplicate_rate: Float = _probability(0.03, "share of users who review an earlier item again")
    tie_rate: Float = _probability(0.03, "probability that a review shares the previous timestamp")
    seed: int | None = Field(None, ge=0, description="generator seed; null = the top-level seed")


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


class EmbedSection(Section):
    """``embed``: item text template and the sentence encoder (stage embed, EmbedConfig)."""

    model: str = Field("offline-minilm", min_length=1, description="sentence-transformers model name or path")
    fields: list[TextField] = Field(
        default_factory=lambda: ["title", "brand", "categories", "features", "description"],
        min_length=1,
        description="metadata fields in template order (pipeline_lib/text/template.py)",
    )
    max_chars: int = Field(2000, ge=1, description="text length cap, characters")
    batch_size: int = Field(128, ge=1, description="texts per encoder batch")
    dtype: EmbedDtype = Field("float32", description="embedding dtype stored")
    device: Device = Field("auto", description="auto = cuda when present")
    require_title: bool = Field(True, description="a metadata row without a title is an error")
