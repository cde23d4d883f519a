"""The training loop: it learns, reports, stops, pauses, checkpoints and resumes exactly."""

import threading

import pytest
import torch

from core.config import ModelConfig, TrainConfig
from core.errors import ConfigError
from core.files import load_checkpoint
from core.training import Trainer, TrainingControl

SMALL = ModelConfig(hidden=(64,))


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


def test_resume_after_cancel_matches_an_uninterrupted_run(tiny_data, tmp_path):
    uninterrupted = Trainer(SMALL, _config(epochs=3), tiny_data).run()
    control = TrainingControl()
    path = tmp_path / "m.safetensors"

    def stop_mid_epoch(report):
        if report.global_step == 8:  # epoch 2, step 2 of 6
            control.request_stop()

    Trainer(SMALL, _config(epochs=3), tiny_data, on_step=stop_mid_epoch, control=control, checkpoint_path=path).run()
    resumed = Trainer(SMALL, _config(epochs=3), tiny_data, resume=load_checkpoint(path)).run()
    a, b = uninterrupted.model.state_dict(), resumed.model.state_dict()
    assert resumed.position.global_step == uninterrupted.position.global_step
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.history.steps == uninterrupted.history.steps
    assert [e.val_loss for e in resumed.history.epochs] == [e.val_loss for e in uninterrupted.history.epochs]


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
    thread.join(0.3)
    assert thread.is_alive() and steps == [1, 2]
    control.resume()
    thread.join(10)
    assert not thread.is_alive() and steps[-1] == 6


def test_stop_while_paused_ends_training(tiny_data):
    control = TrainingControl()
    control.pause()
    trainer = Trainer(SMALL, _config(), tiny_data, control=control)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    control.request_stop()
    thread.join(10)
    assert not thread.is_alive()


def test_divergence_keeps_the_last_good_weights(tiny_data, monkeypatch):
    import core.training as training

    epochs = []
    calls = {"n": 0}
    real_loss_terms = training.loss_terms

    def poisoned(*args):
        calls["n"] += 1
        total, recon, kl = real_loss_terms(*args)
        return (total * float("nan"), recon, kl) if calls["n"] == 9 else (total, recon, kl)

    monkeypatch.setattr(training, "loss_terms", poisoned)
    result = Trainer(SMALL, _config(epochs=3), tiny_data, on_epoch=epochs.append).run()
    assert result.status == "diverged" and "lower learning rate" in result.message
    good = epochs[0].record.weights
    state = result.model.state_dict()
    assert all(torch.equal(state[k], good[k]) for k in good)


def test_cvae_needs_two_classes(tiny_data):
    from dataclasses import replace

    one_class = replace(tiny_data, class_names=("only",), train_y=torch.zeros_like(tiny_data.train_y))
    with pytest.raises(ConfigError, match="CVAE needs at least two classes"):
        Trainer(ModelConfig(kind="cvae", num_classes=1, hidden=(8,)), _config(), one_class)


def test_batch_larger_than_dataset_is_refused(tiny_data):
    with pytest.raises(ConfigError, match="batch_size"):
        Trainer(SMALL, _config(batch_size=10_000), tiny_data)


def test_a_loss_that_explodes_without_nan_counts_as_divergence(tiny_data, monkeypatch):
    import core.training as training

    calls = {"n": 0}
    real_loss_terms = training.loss_terms

    def exploding(*args):
        calls["n"] += 1
        total, recon, kl = real_loss_terms(*args)
        return (total * 1e4, recon, kl) if calls["n"] >= 9 else (total, recon, kl)

    monkeypatch.setattr(training, "loss_terms", exploding)
    epochs = []
    result = Trainer(SMALL, _config(epochs=3), tiny_data, on_epoch=epochs.append).run()
    assert result.status == "diverged" and "exploded" in result.message and "lower learning rate" in result.message
    state = result.model.state_dict()
    assert all(torch.equal(state[k], epochs[0].record.weights[k]) for k in state)
