"""Broken, foreign or hostile model files give CheckpointError naming the file; none runs code."""

import json
import os
import pickle

import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from core.cli import run_cli
from core.config import ModelConfig
from core.errors import CheckpointError
from core.files import FORMAT_VERSION, MODEL_PREFIX, load_checkpoint
from core.models import build_model
from reliability_helpers import one_line


class _Exploit:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _metadata(config: ModelConfig, **extra) -> dict:
    data = {"format": "latent-morph", "format_version": str(FORMAT_VERSION), "app_version": "0.1.0",
            "model_config": config.to_json(), "train_config": "", "history": "{}", "dataset": "mnist-sample",
            "class_names": json.dumps([str(d) for d in range(10)]), "position": "{}",
            "optimizer_param_groups": ""}
    data.update(extra)
    return data


def _weights(config: ModelConfig) -> dict:
    return {MODEL_PREFIX + k: v.contiguous() for k, v in build_model(config, seed=0).state_dict().items()}


def _assert_refused(path, *words):
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert str(path) in message, message
    reason = message.replace(str(path), "").lower()  # the test's folder name may hold the words too
    for word in words:
        assert word in reason, message
    return message


def test_empty_file(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    _assert_refused(path, "empty")


def test_truncated_real_checkpoint(tmp_path, trained_vae_checkpoint):
    data = trained_vae_checkpoint.read_bytes()
    for cut in (len(data) // 2, 8, len(data) - 1):
        path = tmp_path / f"cut{cut}.safetensors"
        path.write_bytes(data[:cut])
        _assert_refused(path, "truncated")


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(os.urandom(4096))
    _assert_refused(path, "not a latent morph model file")


@pytest.mark.parametrize("content", [b"box", b"\x89PNG\r\n", "7 bytes of a model", "a PNG"])
def test_short_or_foreign_file(tmp_path, trained_vae_checkpoint, content):
    """Shorter than a safetensors header (/etc/hostname, a model cut after 7 bytes) or an image."""
    path = tmp_path / "hostname"
    if content == "7 bytes of a model":
        path.write_bytes(trained_vae_checkpoint.read_bytes()[:7])
    elif content == "a PNG":
        Image.new("L", (28, 28)).save(path, format="PNG")
    else:
        path.write_bytes(content)
    _assert_refused(path, "not a latent morph model file")


@pytest.mark.parametrize("name", ["notes.pt", "notes.safetensors"])
def test_text_file_renamed(tmp_path, name):
    path = tmp_path / name
    path.write_text("These are my notes, not a model.\n" * 20)
    _assert_refused(path, "not a latent morph model file")


def test_plain_safetensors_without_our_description(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(3)}, str(path))
    _assert_refused(path, "not a latent morph model")


def test_latent_size_differs_from_the_description(tmp_path):
    path = tmp_path / "liar.safetensors"
    save_file(_weights(ModelConfig(hidden=(64,), latent_dim=8)), str(path),
              metadata=_metadata(ModelConfig(hidden=(64,), latent_dim=2)))
    _assert_refused(path, "has shape", "the architecture needs")


def test_architecture_differs_from_the_description(tmp_path):
    path = tmp_path / "conv.safetensors"
    save_file(_weights(ModelConfig(arch="conv", hidden=(64,))), str(path),
              metadata=_metadata(ModelConfig(arch="mlp", hidden=(64,))))
    _assert_refused(path, "do not match the described architecture")


def test_nan_weights(tmp_path):
    config = ModelConfig(hidden=(64,))
    weights = _weights(config)
    weights[MODEL_PREFIX + "fc_mu.bias"] = torch.full_like(weights[MODEL_PREFIX + "fc_mu.bias"], float("nan"))
    path = tmp_path / "nan.safetensors"
    save_file(weights, str(path), metadata=_metadata(config))
    _assert_refused(path, "nan")


def test_future_format_version(tmp_path):
    config = ModelConfig(hidden=(64,))
    path = tmp_path / "future.safetensors"
    save_file(_weights(config), str(path), metadata=_metadata(config, format_version=str(FORMAT_VERSION + 1)))
    _assert_refused(path, "newer latent morph", "update the app")


def test_garbled_description(tmp_path):
    config = ModelConfig(hidden=(64,))
    path = tmp_path / "garbled.safetensors"
    save_file(_weights(config), str(path), metadata=_metadata(config, model_config='{"latent_dim": "two"'))
    _assert_refused(path, "model description inside is invalid")


@pytest.mark.parametrize("key, value", [
    ("history", "[" * 100_000 + "]" * 100_000),  # nested too deep for the JSON parser
    ("history", "5"), ("class_names", "5"), ("position", "[1]"), ("position", '{"epoch": "x"}'),
    ("position", '{"epoch": -1}'), ("optimizer_param_groups", "5"), ("format_version", "one"),
])
def test_crafted_description_values(tmp_path, key, value):
    """Each of these loaded (or raised RecursionError) and then crashed resume or the history plot."""
    config = ModelConfig(hidden=(64,))
    path = tmp_path / "crafted.safetensors"
    save_file(_weights(config), str(path), metadata=_metadata(config, **{key: value}))
    _assert_refused(path)


def test_wrong_random_state_tensor(tmp_path):
    config = ModelConfig(hidden=(64,))
    path = tmp_path / "rng.safetensors"
    save_file({**_weights(config), "rng.noise": torch.zeros(3)}, str(path), metadata=_metadata(config))
    _assert_refused(path, "random-number state")


@pytest.mark.parametrize("name", ["evil.pt", "evil.safetensors", "evil.pkl"])
def test_pickle_that_runs_code_is_refused_and_never_executed(tmp_path, name):
    marker = tmp_path / "PWNED"
    path = tmp_path / name
    path.write_bytes(pickle.dumps(_Exploit(marker)))
    torch.save({"state": _Exploit(marker)}, tmp_path / ("torch_" + name))
    _assert_refused(path, "not a latent morph model file")
    _assert_refused(tmp_path / ("torch_" + name), "not a latent morph model file")
    assert not marker.exists(), "loading a model file ran code from it"


def test_cli_evaluate_bad_file_exits_1_with_one_line(tmp_path, capsys):
    marker = tmp_path / "PWNED"
    for name, content in [("half.safetensors", None), ("evil.pt", pickle.dumps(_Exploit(marker))),
                          ("empty.safetensors", b"")]:
        path = tmp_path / name
        path.write_bytes(content if content is not None else os.urandom(100))
        status = run_cli(["evaluate", "--checkpoint", str(path), "--device", "cpu"])
        out, err = capsys.readouterr()
        line = one_line(err)
        assert status == 1 and out == ""
        assert line.startswith("latent-morph evaluate: ") and str(path) in line
    assert not marker.exists()


def test_cli_missing_file(tmp_path, capsys):
    path = tmp_path / "nope.safetensors"
    assert run_cli(["evaluate", "--checkpoint", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and one_line(err) == f"latent-morph evaluate: {path}: no such file"
