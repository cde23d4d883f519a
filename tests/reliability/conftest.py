"""Shared helpers for the reliability suite: small configs and an in-process CLI runner."""

import pytest


@pytest.fixture
def small_configs():
    """A small MLP VAE and a fast CPU training config (tiny_data: 600 digits)."""
    from core.config import ModelConfig, TrainConfig

    def make(epochs=2, batch_size=100, lr=2e-3, kind="vae", **model):
        return (ModelConfig(kind=kind, hidden=(64,), **model),
                TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, device="cpu"))
    return make


@pytest.fixture
def cli(capsys):
    """Run core.cli.run_cli in-process; returns (exit status, stdout, stderr)."""
    from core.cli import run_cli

    def run(*argv):
        status = run_cli([str(a) for a in argv])
        out, err = capsys.readouterr()
        return status, out, err
    return run
