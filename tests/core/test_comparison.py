"""The AE / VAE / beta-VAE preset: three models trained alike, ready for the Compare view."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.comparison import PRESET_BETA, open_comparison, train_preset
from core.config import ModelConfig, TrainConfig


@pytest.fixture(scope="module")
def small(sample_data):
    return replace(sample_data, train_x=sample_data.train_x[:256], train_y=sample_data.train_y[:256],
                   val_x=sample_data.val_x[:64], val_y=sample_data.val_y[:64])


def test_the_preset_trains_an_ae_a_vae_and_a_beta_vae_alike(tmp_path, small):
    from core.files import load_checkpoint

    reports = []
    train = TrainConfig(epochs=1, batch_size=64, seed=3, device="cpu")
    paths = train_preset(tmp_path, ModelConfig(hidden=(16,)), train, small, progress=reports.append)
    records = [load_checkpoint(path) for path in paths]
    assert [(r.model_config.kind, r.model_config.beta) for r in records] == [("ae", 1.0), ("vae", 1.0),
                                                                             ("vae", PRESET_BETA)]
    assert {r.train_config.seed for r in records} == {3} and {r.model_config.hidden for r in records} == {(16,)}
    assert reports == sorted(reports) and reports[-1] == pytest.approx(1.0)
    comparison = open_comparison(paths, prior_shown=4)  # the three fit side by side
    assert len(comparison.models) == 3 and comparison.data.name == "mnist-sample"


def test_a_progress_that_raises_stops_the_preset_after_the_model_in_training(tmp_path, small):
    class Stop(Exception):
        pass

    def stop_in_the_second(fraction: float) -> None:
        if fraction > 0.4:
            raise Stop

    with pytest.raises(Stop):
        train_preset(tmp_path, ModelConfig(hidden=(16,)), TrainConfig(epochs=1, batch_size=64, device="cpu"), small,
                     progress=stop_in_the_second)
    assert [path.name for path in tmp_path.iterdir()] == ["ae.safetensors"]
