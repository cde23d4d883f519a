"""Training that diverges stops with status 'diverged', advice, and the last good weights."""

import torch

from core import training
from core.cli import run_cli
from core.files import load_checkpoint
from core.models import build_model
from core.training import Trainer


def _finite(state):
    return all(torch.isfinite(t).all() for t in state.values())


def _equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_learning_rate_10_diverges_and_keeps_the_starting_weights(tiny_data, small_configs):
    model_config, train_config = small_configs(epochs=2, batch_size=50, lr=10.0)
    result = Trainer(model_config, train_config, tiny_data).run()
    assert result.status == "diverged"
    assert "lower learning rate" in result.message and "now 10" in result.message and "e.g. 1" in result.message
    assert "before training started" in result.message
    state = result.model.state_dict()
    assert _finite(state)
    assert _equal(state, build_model(model_config, seed=train_config.seed).state_dict())


def poison_loss(monkeypatch, change) -> None:
    """Make the training loss ``change(step, loss)`` at each 1-based optimiser step."""
    real_loss_terms = training.loss_terms
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        loss, recon, kl = real_loss_terms(*args, **kwargs)
        return change(calls["n"], loss), recon, kl

    monkeypatch.setattr(training, "loss_terms", poisoned)


def test_nan_in_epoch_two_restores_the_end_of_epoch_one(tiny_data, small_configs, monkeypatch, tmp_path):
    model_config, train_config = small_configs(epochs=3, batch_size=100)  # 6 steps per epoch
    poison_loss(monkeypatch, lambda step, loss: loss * float("nan") if step == 9 else loss)  # epoch 2, step 3
    snapshots = []
    path = tmp_path / "m.safetensors"
    result = Trainer(model_config, train_config, tiny_data, checkpoint_path=path,
                     on_epoch=lambda report: snapshots.append(report.record.weights)).run()
    assert result.status == "diverged" and len(snapshots) == 1
    assert "epoch 2, step 3" in result.message and "end of epoch 1" in result.message
    assert "lower learning rate" in result.message
    state = {k: v.cpu() for k, v in result.model.state_dict().items()}
    assert _finite(state) and _equal(state, snapshots[0])
    saved = load_checkpoint(path)  # the file on disk is the last good epoch too
    assert saved.position.epoch == 1 and _equal(saved.weights, snapshots[0])


def test_a_loss_that_explodes_without_nan_counts_as_divergence(tiny_data, small_configs, monkeypatch):
    model_config, train_config = small_configs(epochs=3, batch_size=100)  # 6 steps per epoch
    poison_loss(monkeypatch, lambda step, loss: loss * 1e4 if step >= 9 else loss)
    snapshots = []
    result = Trainer(model_config, train_config, tiny_data,
                     on_epoch=lambda report: snapshots.append(report.record.weights)).run()
    assert result.status == "diverged" and len(snapshots) == 1
    assert "exploded" in result.message and "lower learning rate" in result.message
    assert _equal({k: v.cpu() for k, v in result.model.state_dict().items()}, snapshots[0])


def test_cli_reports_divergence_with_exit_1(tmp_path, capsys, monkeypatch):
    real_loss_terms = training.loss_terms
    calls = {"n": 0}

    def nan_at_step_5(*args, **kwargs):
        calls["n"] += 1
        loss, recon, kl = real_loss_terms(*args, **kwargs)
        return (loss * float("nan") if calls["n"] == 5 else loss), recon, kl

    monkeypatch.setattr(training, "loss_terms", nan_at_step_5)
    out_file = tmp_path / "m.safetensors"
    status = run_cli(["train", "--dataset", "mnist-sample", "--device", "cpu", "--hidden", "64", "--epochs", "1",
                      "--lr", "0.01", "--batch-size", "500", "--json", "--out", str(out_file)])
    out, err = capsys.readouterr()
    assert status == 1 and out == ""
    line = err.split("\x1b[K")[-1].strip()  # after the progress bar
    assert "Traceback" not in err and line.startswith("latent-morph train: Training diverged at epoch 1, step 5")
    assert "Try a lower learning rate (now 0.01; e.g. 0.001)" in line
