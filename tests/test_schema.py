"""The params.yaml schema: every wrong value is one line naming its key path; the committed file validates."""

import copy
import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import yaml
from pydantic import ValidationError

from pipeline_lib.declare import Device, check_declared, param
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.params import dataset_spec, stage_section
from pipeline_lib.schema import OVERRIDABLE, Params, load_params, section, validate_params
from pipeline_lib.schema.base import BaselineModel, ProtocolName, TokenizerVariant, Variant

ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())

# (key path, wrong value, field named in the message, words of the problem)
CASES = [
    # wrong type
    (("filter", "k_core"), "five", "filter.k_core", "must be an integer, got 'five'"),
    (("filter", "k_core"), 5.0, "filter.k_core", "must be an integer"),
    (("alpha",), "high", "alpha", "must be a number, got 'high'"),
    (("alpha",), True, "alpha", "must be a number, got true"),
    (("bos_queries",), "many", "bos_queries", "must be an integer"),
    (("train", "bf16"), 1, "train.bf16", "must be true or false, got 1"),
    (("embed", "model"), 5, "embed.model", "must be a string"),
    (("evaluate", "ks"), 10, "evaluate.ks", "must be a list"),
    (("tokenize", "model"), [256], "tokenize.model", "must be a mapping"),
    (("seed",), None, "seed", "must be an integer, got null"),
    # out of range
    (("filter", "k_core"), 0, "filter.k_core", "must be ≥ 3, got 0"),
    (("seeds",), [], "seeds", "must have at least 1 item(s)"),
    (("seeds",), [1, -2], "seeds[1]", "must be ≥ 0, got -2"),
    (("seeds",), 3, "seeds", "must be a list"),
    (("protocol",), "tiger", "protocol", "must be one of 'decor' or 'etegrec', got 'tiger'"),
    (("filter", "k_core"), 2, "filter.k_core", "must be ≥ 3, got 2"),
    (("alpha",), 1.5, "alpha", "must be ≤ 1, got 1.5"),
    (("alpha",), -0.1, "alpha", "must be ≥ 0, got -0.1"),
    (("bos_queries",), -4, "bos_queries", "must be ≥ 0, got -4"),
    (("train", "batch_size"), 0, "train.batch_size", "must be ≥ 1, got 0"),
    (("train", "lr"), 0, "train.lr", "must be > 0, got 0"),
    (("model", "dropout"), 1.0, "model.dropout", "must be < 1"),
    (("evaluate", "beam_size"), 0, "evaluate.beam_size", "must be ≥ 1"),
    (("evaluate", "ks"), [5, 100], "evaluate", "beam_size (20) must be at least max(ks) (100)"),
    (("etegrec", "cycle_epochs"), 1, "etegrec.cycle_epochs", "must be ≥ 2"),
    (("tokenize", "model", "codebook_size"), 1, "tokenize.model.codebook_size", "must be ≥ 2"),
    (("tables", "significance_level"), 1, "tables.significance_level", "must be < 1"),
    (("gate", "tolerances", "ndcg@"), -0.1, "gate.tolerances.ndcg@", "must be ≥ 0"),
    (("demo", "noise_rate"), 1.2, "demo.noise_rate", "must be ≤ 1"),
    (("download", "retries"), -1, "download.retries", "must be ≥ 0"),
    (("baselines", "sasrec", "heads"), 3, "baselines.sasrec", "dim (256) must be divisible by heads (3)"),
    (("baselines", "bert4rec", "heads"), 3, "baselines.bert4rec", "dim (128) must be divisible by heads (3)"),
    (("baselines", "bert4rec", "mask_prob"), 0, "baselines.bert4rec.mask_prob", "must be > 0, got 0"),
    (("baselines", "caser", "L"), 0, "baselines.caser.L", "must be ≥ 1, got 0"),
    (("baselines", "caser", "dropout"), 1.0, "baselines.caser.dropout", "must be < 1"),
    (("embed", "fields"), [], "embed.fields", "at least 1"),
    # bad enum
    (("etegrec", "schedule"), "both", "etegrec.schedule", "'alternate', 'joint' or 'frozen'"),
    (("etegrec", "sia_space"), "output", "etegrec.sia_space", "must be one of"),
    (("etegrec", "sq_reduction"), "max", "etegrec.sq_reduction", "must be one of"),
    (("etegrec", "rec_softmax"), "items", "etegrec.rec_softmax", "must be one of"),
    (("etegrec", "init_std"), 0.0, "etegrec.init_std", "must be > 0"),
    (("etegrec", "finetune_epochs"), -1, "etegrec.finetune_epochs", "must be ≥ 0"),
    (("etegrec", "finetune_lr"), 0, "etegrec.finetune_lr", "must be > 0"),
    (("etegrec", "finetune_patience"), 0, "etegrec.finetune_patience", "must be ≥ 1"),
    (("etegrec", "alignment_warmup_epochs"), -2, "etegrec.alignment_warmup_epochs", "must be ≥ 0"),
    (("baselines", "loss"), "mse", "baselines.loss", "'ce' or 'bce', got 'mse'"),
    (("embed", "dtype"), "bfloat16", "embed.dtype", "'float32' or 'float16'"),
    (("embed", "fields"), ["title", "colour"], "embed.fields[1]", "got 'colour'"),
    (("tables", "formats"), ["md", "pdf"], "tables.formats[1]", "got 'pdf'"),
    (("model", "feed_forward_proj"), "swish", "model.feed_forward_proj", "must be one of"),
    (("catalog", "demo", "source"), "ftp", "catalog.demo.source", "must be one of 'demo', 'benchmark'"),
    (("variants",), ["tiger", "tigr"], "variants[1]", "got 'tigr'"),
    (("variants",), ["tiger", "tiger"], "variants", "must not repeat a name, got tiger twice"),
    (("variants",), ["tiger", "letter"], "variants", "letter train(s) on an own tokenizer: list it in tokenizer_"),
    (("tokenizer_variants",), ["decor"], "tokenizer_variants[0]", "got 'decor'"),
    (("baseline_models",), ["sasrec", "bert"], "baseline_models[1]", "got 'bert'"),
    (("baseline_models",), ["gru4rec"], "baseline_models", "must include sasrec"),
    (("baseline_models",), ["sasrec", "sasrec"], "baseline_models", "must not repeat a name"),
    (("tokenize", "method"), "vqvae", "tokenize.method", "got 'vqvae'"),
    (("tokenize", "letter", "n_clusters"), 1, "tokenize.letter.n_clusters", "must be ≥ 2, got 1"),
    (("tokenize", "cost", "temperature"), 0, "tokenize.cost.temperature", "must be > 0, got 0"),
    # bad device
    (("train", "device"), "gpu", "train.device", "must be auto, cpu, cuda, cuda:N or mps, got 'gpu'"),
    (("embed", "device"), "cuda:x", "embed.device", "got 'cuda:x'"),
    (("etegrec", "device"), "tpu", "etegrec.device", "must be auto, cpu"),
    # unknown keys: top level, section, nested section, profile, catalog entry and its overrides
    (("alpah",), 0.4, "alpah", "unknown key (known: alpha, baseline_models, baselines,"),
    (("train", "lrr"), 0.1, "train.lrr", "unknown key (known: batch_size, bf16, compile"),
    (("etegrec", "rqvae", "levls"), 4, "etegrec.rqvae.levls", "unknown key (known: beta, code_dim, codebook_size"),
    (("profiles", "cpu", "train", "epochs"), 3, "profiles.cpu.train.epochs", "unknown key"),
    (("profiles", "cpu", "filter"), {"k_core": 5}, "profiles.cpu.filter", "unknown key (known: baselines"),
    (("catalog", "demo", "aplha"), 0.3, "catalog.demo.aplha", "unknown key"),
    (("catalog", "demo", "overrides", "etegrec", "muu"), 1e-3, "catalog.demo.overrides.etegrec.muu", "unknown key"),
    # wrong values inside partial overrides, and cross references
    (("profiles", "cpu", "train", "lr"), -1, "profiles.cpu.train.lr", "must be > 0, got -1"),
    (("catalog", "demo", "overrides", "etegrec", "mu"), "big", "catalog.demo.overrides.etegrec.mu", "a number"),
    (("profiles", "cpu", "baselines", "sasrec", "heads"), 3, "baselines.sasrec", "(dataset demo, its profile"),
    (("datasets",), ["demo", "scientfic"], "datasets[1]", "'scientfic' is not in catalog (known: demo, game,"),
    (("catalog", "demo", "profile"), "gpu", "catalog.demo.profile", "unknown profile 'gpu' (known: converge, cpu)"),
    (("catalog", "game", "category"), None, "catalog.game", "source benchmark needs category"),
    (("catalog", "demo", "sha256"), {"a.json": "abc"}, "catalog.demo.sha256.a.json", "must match"),
]


def with_value(path: tuple[str, ...], value: object) -> dict:
    params = copy.deepcopy(PARAMS)
    node = params
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return params


@pytest.mark.parametrize(("path", "value", "field", "problem"), CASES, ids=lambda x: str(x))
def test_wrong_value_names_its_key_path(path, value, field, problem):
    with pytest.raises(PipelineInputError) as info:
        validate_params(with_value(path, value), "params.yaml")
    message = str(info.value)
    assert message.startswith(f"params.yaml, field '{field}': ") and problem in message
    assert "\n" not in message


def test_several_problems_on_one_line():
    params = with_value(("filter", "k_core"), 0)
    params["train"]["lr"] = "fast"
    message = str(pytest.raises(PipelineInputError, validate_params, params).value)
    assert message == (
        "params.yaml, field 'filter.k_core': must be ≥ 3, got 0; field 'train.lr': must be a number, got 'fast'"
    )


@pytest.mark.parametrize(("path", "value"), [
    (("alpha",), 1), (("alpha",), "0.4"), (("etegrec", "tokenizer_lr"), "1e-4"),  # ints and YAML 1.1 exponent strings
    (("train", "device"), "cuda:1"), (("embed", "device"), "mps"), (("bos_queries",), 0),
])
def test_accepted_values(path, value):
    validate_params(with_value(path, value))


def test_committed_params_validate_for_every_dataset():
    params = load_params(ROOT / "params.yaml")
    assert set(params["catalog"]) >= {"demo", "scientific", "instrument", "game", "scientific2018"}
    for name in params["catalog"]:
        spec = dataset_spec(params, name)
        for key, model in OVERRIDABLE.items():
            model.model_validate(stage_section(params, spec, key))
    assert params["filter"] == PARAMS["filter"] and params["demo"]["n_users"] == PARAMS["demo"]["n_users"]


def test_defaults_fill_absent_keys_and_overrides_stay_partial():
    params = validate_params({"datasets": ["demo"], "catalog": {"demo": {
        "source": "demo", "alpha": 0.3, "bos_queries": 4, "overrides": {"train": {"max_epochs": 2}}}}})
    assert params["filter"] == {"k_core": 5} and params["seed"] == 2025
    assert params["seeds"] == [2025] and params["protocol"] == "decor" and params["evaluate"]["beam_size"] is None
    assert params["catalog"]["demo"]["overrides"] == {"train": {"max_epochs": 2}}
    spec = dataset_spec(params, "demo")
    assert stage_section(params, spec, "train")["max_epochs"] == 2


def test_s_override_with_a_typo_key_is_rejected(tmp_path):
    """`dvc exp run -S train.lrr=0.01` adds the key to params.yaml's text; the next stage refuses it."""
    text = (ROOT / "params.yaml").read_text()
    assert "\n  lr: 0.003\n" in text
    (tmp_path / "params.yaml").write_text(text.replace("\n  lr: 0.003\n", "\n  lr: 0.003\n  lrr: 0.01\n"))
    with pytest.raises(PipelineInputError, match=r"field 'train\.lrr': unknown key"):
        load_params(tmp_path / "params.yaml")


def test_schema_names_match_the_code():
    from pipeline_lib.models.variants import VARIANTS
    from pipeline_lib.protocol import PROTOCOLS
    from pipeline_lib.text.config import DTYPE_NAMES
    from pipeline_lib.text.embedding import DTYPES
    from pipeline_lib.training.sequential import ATTRIBUTE_MODELS, SEQUENTIAL_MODELS

    own_tokenizer = {name for name, switches in VARIANTS.items() if switches.tokenizer}
    pairs = [(get_args(Variant), VARIANTS), (get_args(TokenizerVariant), own_tokenizer), (DTYPE_NAMES, DTYPES),
             (get_args(ProtocolName), PROTOCOLS), (get_args(BaselineModel), {*SEQUENTIAL_MODELS, *ATTRIBUTE_MODELS})]
    for names, code in pairs:
        assert set(names) == set(code)


@dataclasses.dataclass(frozen=True)
class _Toy:
    """A config with one resolved field (not a params key), declared keys of each kind and a cross-field rule."""

    n_items: int
    size: int = param(8, ge=1, description="a size")
    rate: float = param(0.5, ge=0, lt=1, description="a rate")
    ks: tuple[int, ...] = param((5, 10), items={"ge": 1}, min_length=1, description="cut-offs")
    cap: int | None = param(None, ge=1, description="optional")
    device: Device = param("auto", description="where")

    def __post_init__(self) -> None:
        check_declared(self)

    def check(self) -> None:
        if self.cap is not None and max(self.ks) > self.cap:
            raise ValueError(f"cap ({self.cap}) must be at least max(ks) ({max(self.ks)})")


def test_a_declared_field_is_a_schema_key_with_its_type_default_limits_and_description():
    toy = section(_Toy, "ToySection", "toy")
    assert set(toy.model_fields) == {"size", "rate", "ks", "cap", "device"}  # n_items is not a params key
    assert toy().model_dump() == {"size": 8, "rate": 0.5, "ks": [5, 10], "cap": None, "device": "auto"}
    assert toy.model_fields["size"].description == "a size"
    for bad in ({"size": 0}, {"rate": 1.0}, {"ks": []}, {"ks": [0]}, {"size": "8"}, {"rate": True},
                {"device": "gpu"}, {"cap": 5, "ks": [10]}, {"unknown": 1}):
        with pytest.raises(ValidationError):
            toy.model_validate(bad)
    assert toy.model_validate({"rate": "1e-1"}).rate == 0.1  # a float key reads YAML's exponent strings
    with pytest.raises(ValueError, match="size must be >= 1, got 0"):
        _Toy(n_items=3, size=0)
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\), got 1.0"):
        _Toy(n_items=3, rate=1.0)
    with pytest.raises(ValueError, match=r"cap \(5\) must be at least max\(ks\) \(10\)"):
        _Toy(n_items=3, cap=5)


def test_every_config_key_is_declared_once():
    """A section built from a config has exactly that config's declared fields (plus the stage's own keys), with
    the config's defaults, so a new ``param()`` in a config is a params key without a second declaration."""
    from pipeline_lib.declare import declared
    from pipeline_lib.models.config import GenRecConfig, SASRecConfig
    from pipeline_lib.training.config import OptimConfig

    defaults = Params().model_dump()
    for config, values, own in ((GenRecConfig, defaults["model"], set()), (OptimConfig, defaults["train"], {"device"}),
                                (SASRecConfig, defaults["baselines"]["sasrec"], {"lr"})):
        names = {f.name for f in declared(config)}
        assert set(values) == names | own
        assert all(values[f.name] == f.default for f in declared(config))


def test_stage_with_a_bad_value_exits_2_with_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "params.yaml").write_text(
        (ROOT / "params.yaml").read_text().replace("\n  k_core: 5 ", "\n  k_core: 0 ")
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "stages.filter", "demo", "--params", "params.yaml"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "error: params.yaml, field 'filter.k_core': must be ≥ 3, got 0"
    ]
    # only the stage's lock folder (pipeline_lib.locking), no artifact
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", "params.yaml"]
    assert not any(p.suffix != ".lock" for p in (tmp_path / ".locks").iterdir())
