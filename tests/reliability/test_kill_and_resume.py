"""Killed mid-training: the last checkpoint is whole and --resume finishes. Resume is exact."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from core.config import ModelConfig, TrainConfig
from core.files import load_checkpoint
from core.training import Trainer
from core.training_control import TrainingControl
from reliability_helpers import ROOT

EPOCHS = 20
SUBPROCESS_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread: fast even on a busy machine


def _train_command(out, *extra):
    return [sys.executable, str(ROOT / "main.py"), "train", "--dataset", "mnist-sample", "--device", "cpu",
            "--hidden", "64", "--batch-size", "256", "--epochs", str(EPOCHS), "--out", str(out), "--json", *extra]


def test_sigkill_after_first_checkpoint_then_resume(tmp_path, cli):
    out = tmp_path / "model.safetensors"
    process = subprocess.Popen(_train_command(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                               env=SUBPROCESS_ENV)
    try:
        deadline = time.monotonic() + 120
        while not out.exists():
            assert process.poll() is None, process.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    checkpoint = load_checkpoint(out)  # whole: written to a temporary file, then renamed
    assert 1 <= checkpoint.position.epoch < EPOCHS, "the kill should land mid-training"
    assert checkpoint.position.step_in_epoch == 0

    status, _, err = cli(*_train_command(out, "--resume", str(out))[2:])  # in-process: main.py is tested in test_cli
    assert status == 0, err[-2000:]
    finished = load_checkpoint(out)
    assert finished.position.epoch == EPOCHS
    assert len(finished.history.epochs) == EPOCHS  # the epochs before the kill are kept too


MODEL = ModelConfig(kind="cvae", hidden=(64,), latent_dim=3, beta=2.0)
TRAIN = TrainConfig(epochs=2, batch_size=100, lr=2e-3, device="cpu", seed=7)  # 6 steps per epoch on tiny_data


def _run_until(data, stop_after, path, resume=None):
    control = TrainingControl()

    def maybe_stop(report):
        if report.global_step == stop_after:
            control.request_stop()

    return Trainer(MODEL, TRAIN, data, control=control, on_step=maybe_stop, checkpoint_path=path,
                   resume=resume).run()


@pytest.fixture
def uninterrupted(tiny_data):
    """Function scope; bit-equality needs the same intra-op thread count (tests/conftest.py pins one)."""
    return Trainer(MODEL, TRAIN, tiny_data).run()


@pytest.mark.parametrize("stops", [(1,), (6,), (2, 9)])
def test_cancel_and_resume_equals_an_uninterrupted_run(tiny_data, tmp_path, uninterrupted, stops):
    path = tmp_path / "m.safetensors"
    resume = None
    for stop in stops:
        result = _run_until(tiny_data, stop, path, resume)
        assert result.status == "cancelled" and result.position.global_step == stop
        resume = load_checkpoint(path)
    result = Trainer(MODEL, TRAIN, tiny_data, resume=resume).run()
    assert result.status == "finished"
    a, b = uninterrupted.model.state_dict(), result.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ from an uninterrupted run"
    assert result.position == uninterrupted.position
    assert result.history.steps == uninterrupted.history.steps
    assert [_figures(e) for e in result.history.epochs] == [_figures(e) for e in uninterrupted.history.epochs]


def _figures(row):
    """An epoch row without its timings, which differ between runs."""
    return (row.epoch, row.global_step, row.train_loss, row.val_loss, row.val_recon, row.val_kl, row.kl_per_dim)
