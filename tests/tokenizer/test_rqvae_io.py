import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.tokenizer.config import RQVAEConfig
from pipeline_lib.tokenizer.rqvae import FORMAT, load_codebooks, load_rqvae, save_rqvae
from pipeline_lib.tokenizer.training import new_rqvae

CONFIG = RQVAEConfig(input_dim=12, hidden_dims=(10, 9), code_dim=4, levels=3, codebook_size=5, beta=0.5)


def test_save_load_round_trip(tmp_path):
    model = new_rqvae(CONFIG, 3, torch.device("cpu"))
    path = tmp_path / "rqvae.safetensors"
    save_rqvae(model, path)

    loaded = load_rqvae(path)
    assert loaded.config == CONFIG
    assert loaded.state_dict().keys() == model.state_dict().keys()
    assert all(torch.equal(a, loaded.state_dict()[k]) for k, a in model.state_dict().items())
    x = torch.randn(20, 12)
    assert torch.equal(loaded.encode(x), model.encode(x))
    torch.testing.assert_close(loaded(x).recon, model(x).recon, rtol=0, atol=0)
    assert torch.equal(load_codebooks(path), model.quantizer.codebooks.detach())
    assert load_codebooks(path).shape == (3, 5, 4)

    with safe_open(str(path), framework="pt") as f:
        assert f.metadata()["format"] == FORMAT
        assert json.loads(f.metadata()["config"])["hidden_dims"] == [10, 9]


def test_loading_something_else_is_a_clear_error(tmp_path):
    with pytest.raises(PipelineInputError, match="not found"):
        load_rqvae(tmp_path / "missing.safetensors")

    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(PipelineInputError, match="not an RQ-VAE tokenizer file"):
        load_rqvae(plain)

    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 3)
    with pytest.raises(PipelineInputError, match="not a readable safetensors file"):
        load_rqvae(garbage)

    wrong = tmp_path / "wrong.safetensors"
    model = new_rqvae(CONFIG, 3, torch.device("cpu"))
    tensors = dict(model.state_dict())
    tensors["quantizer.codebooks"] = torch.zeros(3, 6, 4)
    save_file(tensors, str(wrong), metadata={"format": FORMAT, "config": CONFIG.to_json()})
    with pytest.raises(PipelineInputError, match="weights do not match"):
        load_rqvae(wrong)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"code_dim": 0}, "code_dim must be >= 1"),
        ({"hidden_dims": (8, -1)}, r"hidden_dims\[1\] must be >= 1"),
        ({"codebook_size": 1}, "codebook_size must be >= 2"),
        ({"beta": -0.1}, "beta must be >= 0"),
    ],
)
def test_config_rejects_impossible_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RQVAEConfig(input_dim=4, **kwargs)
