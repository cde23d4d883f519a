"""Out-of-range hyper-parameters are refused before training starts, in core and on the CLI."""

import re

import pytest

from reliability_helpers import one_line
from core.config import ModelConfig, TrainConfig
from core.errors import ConfigError

MODEL_CASES = [
    ({"latent_dim": 0}, "latent_dim"),
    ({"latent_dim": "2"}, "latent_dim"),
    ({"beta": -0.5}, "beta"),
    ({"beta": float("nan")}, "beta"),
    ({"hidden": ()}, "hidden"),
    ({"hidden": (64, 0)}, "hidden"),
]
TRAIN_CASES = [
    ({"batch_size": 0}, "batch_size"),
    ({"lr": -1e-3}, "lr"),
    ({"lr": 0.0}, "lr"),
    ({"lr": 1e6}, "lr"),
    ({"lr": float("inf")}, "lr"),
    ({"lr": "fast"}, "lr"),
    ({"epochs": 0}, "epochs"),
    ({"epochs": 2.5}, "epochs"),
    ({"batch_size": "lots"}, "batch_size"),
]


@pytest.mark.parametrize("settings, field", MODEL_CASES)
def test_model_config_refuses_and_names_the_field(settings, field):
    with pytest.raises(ConfigError) as error:
        ModelConfig(**settings)
    assert error.value.field == field and str(error.value).startswith(field + ":")


@pytest.mark.parametrize("settings, field", TRAIN_CASES)
def test_train_config_refuses_and_names_the_field(settings, field):
    with pytest.raises(ConfigError) as error:
        TrainConfig(**settings)
    assert error.value.field == field and str(error.value).startswith(field + ":")


def test_batch_larger_than_the_dataset_is_refused_before_any_step(tiny_data, monkeypatch):
    from core import training

    def no_step(*args, **kwargs):
        raise AssertionError("a training step ran")

    monkeypatch.setattr(training, "loss_terms", no_step)
    with pytest.raises(ConfigError) as error:
        training.Trainer(ModelConfig(hidden=(64,)), TrainConfig(batch_size=601, device="cpu"), tiny_data)
    assert error.value.field == "batch_size" and "600" in str(error.value)


# (arguments, field as it may be spelled, words that must state the allowed range)
CLI_CASES = [
    (["--latent-dim", "0"], r"latent[_-]dim", r"1 to 512"),
    (["--batch-size", "0"], r"batch[_-]size", r"1 to 65536"),
    (["--batch-size", "TRAIN_SIZE+1"], r"batch[_-]size", r"at most .*TRAIN_SIZE"),
    (["--lr", "-0.1"], r"\blr\b", r"1e-08 to 10"),
    (["--lr", "1e9"], r"\blr\b", r"1e-08 to 10"),
    (["--lr", "nan"], r"\blr\b", r"1e-08 to 10"),
    (["--beta", "-1"], r"beta", r"0 to 1000"),
    (["--epochs", "0"], r"epochs", r"1 to 10000"),
    (["--epochs", "ten"], r"epochs", r"whole number from 1 to 10000, got 'ten'"),
    (["--lr", "fast"], r"\blr\b", r"number from 1e-08 to 10, got 'fast'"),
    (["--latent-dim", "two"], r"latent[_-]dim", r"whole number from 1 to 512"),
    (["--beta", "1,5"], r"beta", r"number from 0 to 1000"),
    (["--batch-size", "1e3"], r"batch[_-]size", r"whole number from 1 to 65536"),
    (["--hidden", "64,x"], r"hidden", r"whole numbers"),
]


@pytest.mark.parametrize("args, field, allowed", CLI_CASES)
def test_cli_refuses_with_exit_2_and_one_line(cli, tmp_path, sample_data, args, field, allowed):
    refused_while_read = args[0] != "--hidden" and "TRAIN_SIZE+1" not in args  # the others need the data
    train_size = len(sample_data.train_x)  # what the CLI's mnist-sample keeps for training
    args = [a.replace("TRAIN_SIZE+1", str(train_size + 1)) for a in args]
    allowed = allowed.replace("TRAIN_SIZE", str(train_size))
    out_file = tmp_path / "m.safetensors"
    status, out, err = cli("train", "--dataset", "mnist-sample", "--device", "cpu", "--hidden", "64",
                           "--epochs", "1", "--out", out_file, *args)
    line = one_line(err)
    assert status == 2 and out == ""
    if refused_while_read:
        assert line.startswith(f"latent-morph train: error: argument {args[0]}: "), line
    assert re.search(field, line), line
    assert re.search(allowed, line), line
    assert not out_file.exists(), "nothing may be written for a refused run"


def test_cli_refusal_is_argparse_s_line_naming_the_flag(cli, tmp_path):
    """Refused while the arguments are read, before any data is loaded (main.py's exit status and
    streams are tested once, in tests/core/test_cli.py)."""
    status, out, err = cli("train", "--latent-dim", "0", "--out", tmp_path / "m.safetensors")
    assert status == 2 and out == ""
    assert one_line(err) == "latent-morph train: error: argument --latent-dim: must be from 1 to 512, got 0"
