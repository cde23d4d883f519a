"""The training loop: it learns, reports, stops, pauses and checkpoints, in float32 or bf16.

Exact resume is tested in tests/reliability/test_kill_and_resume.py, divergence in test_divergence.py,
refused settings in test_bad_hyperparameters.py."""

import math
import threading
import time

import pytest
import torch

from core.config import ModelConfig, TrainConfig
from core.errors import ConfigError
from core.files import load_checkpoint
from core.training import Trainer
from core.training_control import TrainingControl

SMALL = ModelConfig(hidden=(64,))


def _wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _config(**overrides):
    base = dict(epochs=2, batch_size=100, lr=2e-3, device="cpu", seed=0)
    base.update(overrides)
    return TrainConfig(**base)


def test_training_lowers_validation_loss_and_reports(tiny_data):
    steps, epochs = [], []
    result = Trainer(SMALL, _config(epochs=3), tiny_data, on_step=steps.append, on_epoch=epochs.append).run()
    assert result.status == "finished"
    assert len(steps) == 3 * 6 and len(epochs) == 3
    assert epochs[-1].row.val_loss < epochs[0].row.val_loss
    assert steps[0].samples_per_second > 0 and epochs[-1].eta_seconds == 0
    assert set(epochs[0].record.weights) == set(result.model.state_dict())
    assert len(result.history.epochs) == 3 and len(result.history.steps) == 18


def test_the_first_step_after_an_epoch_end_reports_the_optimiser_s_speed(tiny_data):
    """The window showed "781 samples/s" at step 1 of epoch 2 (15,600 for the run): that report's
    interval held the epoch end (validation, checkpoint, the window's share). It stays in the run's
    overall speed, which gives the time left."""
    steps = []

    def slow_epoch_end(report):
        time.sleep(0.5)

    result = Trainer(SMALL, _config(epochs=2), tiny_data, on_step=steps.append, on_epoch=slow_epoch_end).run()
    first_of_second = next(s for s in steps if s.epoch == 1 and s.step == 1)
    per_step = 100 / first_of_second.samples_per_second  # seconds the report's interval took
    assert per_step < 0.25, f"{per_step:.2f} s for one step of 100 digits"
    assert result.samples_per_second < 12 * 100 / 0.5  # the run's own figure counts both epoch ends


@pytest.mark.parametrize("kind", ["cvae", "ae"])
def test_other_kinds_train(kind, tiny_data):
    result = Trainer(ModelConfig(kind=kind, hidden=(64,)), _config(epochs=1), tiny_data).run()
    assert result.status == "finished" and torch.isfinite(torch.tensor(result.history.step_column("loss"))).all()


def test_same_seed_is_bit_for_bit_reproducible_on_cpu(tiny_data):
    a = Trainer(SMALL, _config(), tiny_data).run().model.state_dict()
    b = Trainer(SMALL, _config(), tiny_data).run().model.state_dict()
    c = Trainer(SMALL, _config(seed=1), tiny_data).run().model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_stop_takes_effect_within_one_step_and_checkpoints(tiny_data, tmp_path):
    control = TrainingControl()
    seen = []

    def on_step(report):
        seen.append(report.global_step)
        if report.global_step == 4:
            control.request_stop()

    path = tmp_path / "m.safetensors"
    result = Trainer(SMALL, _config(epochs=5), tiny_data, on_step=on_step, control=control, checkpoint_path=path).run()
    assert result.status == "cancelled" and seen[-1] == 4 and result.position.global_step == 4
    assert load_checkpoint(path).position.global_step == 4


def test_pause_blocks_training_until_resume(tiny_data):
    control = TrainingControl()
    steps = []
    paused_at = threading.Event()

    def on_step(report):
        steps.append(report.global_step)
        if report.global_step == 2:
            control.pause()
            paused_at.set()

    trainer = Trainer(SMALL, _config(epochs=1), tiny_data, on_step=on_step, control=control)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    assert paused_at.wait(10)
    _wait_until(lambda: control.parked)  # the loop is blocked in wait_while_paused: no step can happen now
    assert thread.is_alive() and steps == [1, 2]
    control.resume()
    thread.join(10)
    assert not thread.is_alive() and steps[-1] == 6


def test_stop_while_paused_ends_training(tiny_data):
    control = TrainingControl()
    control.pause()
    results = []
    thread = threading.Thread(target=lambda: results.append(Trainer(SMALL, _config(), tiny_data, control=control).run()))
    thread.start()
    _wait_until(lambda: control.parked)  # blocked before its first step
    control.request_stop()
    thread.join(10)
    assert not thread.is_alive()
    assert results[0].status == "cancelled" and results[0].position.global_step == 0


def test_cvae_needs_two_classes(tiny_data):
    from dataclasses import replace

    one_class = replace(tiny_data, class_names=("only",), train_y=torch.zeros_like(tiny_data.train_y))
    with pytest.raises(ConfigError, match="CVAE needs at least two classes"):
        Trainer(ModelConfig(kind="cvae", num_classes=1, hidden=(8,)), _config(), one_class)


@pytest.fixture
def autocast_calls(monkeypatch):
    """Every torch.autocast the trainer opens, as (device_type, dtype)."""
    calls = []
    real_autocast = torch.autocast

    def recording(device_type, *args, **kwargs):
        calls.append((device_type, kwargs.get("dtype")))
        return real_autocast(device_type, *args, **kwargs)

    monkeypatch.setattr(torch, "autocast", recording)
    return calls


@pytest.fixture
def bf16_setting(monkeypatch):
    """Set LATENT_MORPH_BF16 for one test; cpu_has_fast_bf16 is cached, so clear it before and after."""
    from core.device import cpu_has_fast_bf16

    def set_to(value):
        monkeypatch.setenv("LATENT_MORPH_BF16", value)
        cpu_has_fast_bf16.cache_clear()
    yield set_to
    cpu_has_fast_bf16.cache_clear()  # monkeypatch restores the variable after this; the next call reads it


def test_float32_training_when_bf16_is_turned_off(tiny_data, bf16_setting, autocast_calls):
    from core.device import cpu_has_fast_bf16

    bf16_setting("0")
    assert cpu_has_fast_bf16() is False
    steps = []
    result = Trainer(SMALL, _config(epochs=2), tiny_data, on_step=steps.append).run()
    assert autocast_calls == [], "LATENT_MORPH_BF16=0 must train without autocast"
    assert result.status == "finished" and len(steps) == 12
    losses = result.history.step_column("loss")
    assert all(map(math.isfinite, losses)) and losses[-3:].mean() < losses[:3].mean()
    assert all(p.dtype == torch.float32 for p in result.model.parameters())


def test_bf16_autocast_is_seen_when_it_is_on(tiny_data, monkeypatch, autocast_calls):
    """The check above would catch autocast: forced on, every step opens it (encoder and decoder)."""
    import core.device as device

    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: True)
    Trainer(SMALL, _config(epochs=1, batch_size=200), tiny_data).run()
    # twice a step (encoder, decoder); once for each of the timeline's 4 snapshots (untrained, steps 1 and 2, the end)
    assert autocast_calls == [("cpu", torch.bfloat16)] * (2 * 3 + 4)


@pytest.mark.parametrize("model_config", [ModelConfig(arch="conv", hidden=(32,)), ModelConfig(hidden=(64,), recon="mse")],
                         ids=["conv", "mse"])
def test_conv_architecture_and_mse_reconstruction_train(tiny_data, model_config):
    epochs = []
    result = Trainer(model_config, _config(epochs=2), tiny_data, on_epoch=epochs.append).run()
    assert result.status == "finished"
    losses = result.history.step_column("loss")
    assert len(losses) == 12 and all(map(math.isfinite, losses))
    assert losses[-3:].mean() < losses[:3].mean()
    assert epochs[-1].row.val_loss < epochs[0].row.val_loss


def test_an_autoencoder_s_epochs_carry_no_kl_per_dimension_so_nothing_reads_as_a_collapse(tiny_data):
    """Its validation KL is zero by construction; shown per dimension it flagged a posterior collapse
    (the loss plot flags one only for a non-empty KL per dimension)."""
    from core.config import ModelConfig, TrainConfig
    from core.training import Trainer

    result = Trainer(ModelConfig(kind="ae", hidden=(32,)), TrainConfig(epochs=1, batch_size=128, device="cpu"),
                     tiny_data).run()
    row = result.history.epochs[-1]
    assert row.kl_per_dim == ()


def test_after_the_optimiser_stack_is_imported_a_run_s_first_optimiser_imports_nothing():
    """The first Adam of a process imports torch's compiler stack (about 900 modules, 1.2 s). The window
    does it ahead on a worker thread; a run's own first optimiser must then import nothing, or its
    training thread would still hold the GIL the GUI thread needs as it starts. A fresh interpreter:
    this one has imported everything long ago."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = ("import sys, torch\n"
              "from core.optimiser import import_optimiser_stack, make_adam, optimiser_stack_imported\n"
              "assert not optimiser_stack_imported.is_set()\n"
              "import_optimiser_stack()\n"
              "assert optimiser_stack_imported.is_set()\n"
              "before = set(sys.modules)\n"
              "model = torch.nn.Linear(4, 2)\n"
              "adam = make_adam(model.parameters(), lr=1e-3, device=torch.device('cpu'))\n"
              "model(torch.ones(3, 4)).sum().backward()\n"
              "adam.step()\n"
              "print(sorted(set(sys.modules) - before))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
