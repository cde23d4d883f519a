"""The training timeline: snapshots taken while training, kept in the model file, continued by a
resume, bounded in number, and replayed by `python main.py timeline`."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from core.cli import run_cli
from core.config import ModelConfig, TrainConfig
from core.files import load_checkpoint, save_checkpoint
from core.timeline import Timeline, make_snapshot
from core.models import build_model
from core.training import Trainer

SMALL = ModelConfig(hidden=(32,))


def _config(**overrides):
    return TrainConfig(**{**dict(epochs=2, batch_size=100, lr=2e-3, device="cpu", seed=0), **overrides})


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory):
    """A 2-epoch run of 6 steps an epoch, checkpointed to a model file."""
    path = tmp_path_factory.mktemp("timeline") / "vae.safetensors"
    result = Trainer(SMALL, _config(), tiny_data, checkpoint_path=path).run()
    return result, path


def test_snapshots_are_taken_before_within_the_first_epoch_and_at_each_end(trained, tiny_data):
    result, _ = trained
    timeline = result.record.timeline
    # untrained, 1/8, 1/4 and 1/2 of epoch 1 (6 steps: steps 1, 2 and 3), then each epoch's end
    assert [s.global_step for s in timeline.snapshots] == [0, 1, 2, 3, 6, 12]
    assert [s.epoch for s in timeline.snapshots][-2:] == [1.0, 2.0]
    last = timeline.snapshots[-1]
    assert last.mu.dtype == np.float16 and last.mu.shape == (len(tiny_data.test_x), 2)
    assert np.array_equal(timeline.labels, tiny_data.test_y.numpy())
    assert last.val_loss == pytest.approx(result.history.epochs[-1].val_loss)
    assert "epoch 2" in last.caption and "nats" in last.caption
    assert not np.allclose(timeline.snapshots[0].mu, last.mu, atol=1e-2)  # the points moved


def test_the_timeline_round_trips_through_the_model_file(trained):
    result, path = trained
    saved, loaded = result.record.timeline, load_checkpoint(path).timeline
    assert len(loaded) == len(saved)
    assert np.array_equal(loaded.indices, saved.indices) and np.array_equal(loaded.labels, saved.labels)
    for before, after in zip(saved.snapshots, loaded.snapshots):
        assert np.array_equal(before.mu, after.mu) and np.array_equal(before.plane, after.plane)
        figures = ("global_step", "epoch", "loss", "recon", "kl", "val_loss")  # NaN: not measured then
        assert np.allclose([getattr(before, f) for f in figures], [getattr(after, f) for f in figures], equal_nan=True)


def test_a_file_without_a_timeline_still_opens(trained, tmp_path):
    result, _ = trained
    older = tmp_path / "older.safetensors"
    save_checkpoint(replace(result.record, timeline=None), older)
    assert load_checkpoint(older).timeline is None


def test_a_wide_latent_keeps_its_plane(tiny_data, tmp_path):
    config = ModelConfig(hidden=(32,), latent_dim=5)
    record = Trainer(config, _config(epochs=1), tiny_data).run().record
    save_checkpoint(record, tmp_path / "wide.safetensors")
    loaded = load_checkpoint(tmp_path / "wide.safetensors").timeline
    assert loaded.snapshots[-1].mu.shape[1] == 5 and loaded.snapshots[-1].plane.shape[1] == 2
    assert np.array_equal(loaded.snapshots[-1].plane, record.timeline.snapshots[-1].plane)


def test_resume_continues_the_timeline(trained, tiny_data, tmp_path):
    result, path = trained
    before = load_checkpoint(path)
    resumed = Trainer(SMALL, _config(epochs=4), tiny_data, resume=before).run().record.timeline
    steps = [s.global_step for s in resumed.snapshots]
    assert steps == [0, 1, 2, 3, 6, 12, 18, 24]  # nothing lost, nothing taken twice, epochs 3 and 4 added
    assert [s.epoch for s in resumed.snapshots[-2:]] == [3.0, 4.0]
    for old, kept in zip(before.timeline.snapshots, resumed.snapshots):
        assert np.array_equal(old.mu, kept.mu)


def _snapshot(epoch: float, steps_per_epoch: int = 10):
    return make_snapshot(np.zeros((4, 2), np.float32), global_step=round(epoch * steps_per_epoch), epoch=epoch)


def test_the_cap_thins_evenly_keeping_the_first_epoch_and_the_last():
    timeline = Timeline(np.arange(4), np.arange(4), max_snapshots=6)
    for epoch in (0.0, 0.125, 0.25, 0.5, *range(1, 41)):
        timeline = timeline.with_snapshot(_snapshot(float(epoch)))
    epochs = [s.epoch for s in timeline.snapshots]
    assert epochs[:5] == [0.0, 0.125, 0.25, 0.5, 1.0]  # the clusters forming stay
    assert sum(e > 1 for e in epochs) == 6 and epochs[-1] == 40.0
    gaps = np.diff(epochs[4:])
    assert gaps.max() <= 2 * gaps.min() + 1  # evenly spread over the run, not bunched at its end


def test_cli_writes_one_frame_per_snapshot(trained, tmp_path, capsys):
    result, path = trained
    out = tmp_path / "clusters.gif"
    assert run_cli(["timeline", "--checkpoint", str(path), "--out", str(out), "--size", "128", "--json"]) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == len(result.record.timeline) == 6
        assert gif.size[0] == 128


def test_cli_refuses_a_file_with_no_timeline(trained, tmp_path, capsys):
    result, _ = trained
    older = tmp_path / "older.safetensors"
    save_checkpoint(replace(result.record, timeline=None), older)
    out = tmp_path / "clusters.gif"
    assert run_cli(["timeline", "--checkpoint", str(older), "--out", str(out)]) == 2
    assert "no training timeline" in capsys.readouterr().err and not out.exists()


def test_train_resume_on_the_command_line_continues_the_timeline(tmp_path):
    """`train --resume FILE --epochs N` keeps the snapshots it finds and adds those of the new epochs."""
    from tests.core.test_cli import run

    path = tmp_path / "m.safetensors"
    common = ("--hidden", "32", "--batch-size", "512", "--device", "cpu", "--out", path, "--json")
    assert run("train", "--dataset", "mnist-sample", "--epochs", "1", *common).returncode == 0
    before = load_checkpoint(path).timeline
    done = run("train", "--resume", path, "--epochs", "2", *common)
    assert done.returncode == 0, done.stderr
    after = load_checkpoint(path).timeline
    assert [s.epoch for s in after.snapshots] == [s.epoch for s in before.snapshots] + [2.0]
    for old, kept in zip(before.snapshots, after.snapshots):
        assert old.global_step == kept.global_step and np.array_equal(old.mu, kept.mu)


def test_the_last_encoding_is_the_test_splits_codes_at_that_step(tiny_data):
    """The window shows the recorder's epoch-end codes as its scatter instead of encoding the same
    weights again (gui/training_worker.py): they must be encode_points' codes of those weights."""
    from core.points import encode_points, points_from_codes
    from core.timeline import TimelineRecorder

    model = build_model(SMALL, seed=0)
    recorder = TimelineRecorder(tiny_data.test_x, tiny_data.test_y, 2, False, seed=0, steps_per_epoch=6)
    recorder.after_epoch(model, 6, val_loss=1.0)
    encoding = recorder.last_encoding
    assert encoding.global_step == 6 and encoding.exact
    shown = points_from_codes(encoding.mu, encoding.sigma, tiny_data)
    fresh = encode_points(model, tiny_data)
    np.testing.assert_allclose(shown.latents, fresh.latents, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(shown.sigmas, fresh.sigmas, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(shown.labels, fresh.labels)
    with pytest.raises(ValueError, match="do not fit"):
        points_from_codes(encoding.mu[:-1], encoding.sigma[:-1], tiny_data)
