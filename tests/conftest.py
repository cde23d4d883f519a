"""Shared fixtures. Qt runs offscreen; MNIST comes from LATENT_MORPH_DATA (../shared/datasets in CI)."""

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if "LATENT_MORPH_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["LATENT_MORPH_DATA"] = str(_SHARED)

import pytest
import torch

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def full_mnist_missing() -> str | None:
    """Why full MNIST cannot be read offline from LATENT_MORPH_DATA, or None when it can."""
    root = os.environ.get("LATENT_MORPH_DATA")
    if not root:
        return "needs full MNIST: set LATENT_MORPH_DATA to a folder holding MNIST/raw"
    raw = Path(root) / "MNIST" / "raw"
    missing = [name for name in MNIST_FILES if not (raw / name).is_file()]
    if missing:
        return f"needs full MNIST: LATENT_MORPH_DATA={root} has no {raw / missing[0]}"
    return None


@pytest.fixture
def full_mnist_dir() -> Path:
    """The LATENT_MORPH_DATA folder when it holds full MNIST (MNIST/raw); the test is skipped otherwise."""
    if reason := full_mnist_missing():
        pytest.skip(reason)
    return Path(os.environ["LATENT_MORPH_DATA"])


# One intra-op thread: tests use tiny models, where a second OpenMP thread only adds spin-waiting,
# and the GUI tests keep a core free for the Qt thread while the worker trains.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def sample_data():
    """The offline MNIST sample shipped in resources/ (4,500 train / 500 val / 1,000 test)."""
    from core.data import load_dataset

    return load_dataset("mnist-sample")


@pytest.fixture(scope="session")
def tiny_data(sample_data):
    """The first 600 training digits: enough to learn something in a second."""
    from dataclasses import replace

    return replace(sample_data, train_x=sample_data.train_x[:600], train_y=sample_data.train_y[:600],
                   val_x=sample_data.val_x[:200], val_y=sample_data.val_y[:200],
                   test_x=sample_data.test_x[:300], test_y=sample_data.test_y[:300])


def _trained(tmp_path_factory, data, kind: str):
    """A 2-D model of ``kind`` trained for 3 short epochs on ``data``, saved as a model file."""
    from core.config import ModelConfig, TrainConfig
    from core.training import Trainer

    path = tmp_path_factory.mktemp("models") / f"{kind}.safetensors"
    Trainer(ModelConfig(kind=kind, hidden=(128, 64)), TrainConfig(epochs=3, batch_size=64, lr=2e-3, device="cpu"),
            data, checkpoint_path=path).run()
    return path


@pytest.fixture(scope="session")
def trained_vae_checkpoint(tmp_path_factory, tiny_data):
    """A 2-D VAE trained for 3 short epochs on tiny_data, saved as a model file."""
    return _trained(tmp_path_factory, tiny_data, "vae")


@pytest.fixture(scope="session")
def trained_cvae_checkpoint(tmp_path_factory, tiny_data):
    return _trained(tmp_path_factory, tiny_data, "cvae")


@pytest.fixture(scope="session")
def trained_ae_checkpoint(tmp_path_factory, tiny_data):
    """A 2-D autoencoder trained like the VAE: it has no ELBO, so its bound figures are null."""
    return _trained(tmp_path_factory, tiny_data, "ae")
