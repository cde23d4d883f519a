"""Model file (run record) round trip and exports (GIF, MP4, WebP, APNG, PNG strip; with the latent map
and captions), all written atomically."""

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.config import ModelConfig, TrainConfig
from core.errors import CheckpointError
from core.export import export_grid, export_morph
from core.morph_map import MapScene, morph_captions
from core.files import load_checkpoint, save_checkpoint
from core.run_record import EpochRow, History, RunRecord, StepRow, TrainingPosition
from core.models import build_model
from core.training import Trainer


def test_checkpoint_round_trip_explains_itself(tmp_path):
    config = ModelConfig(kind="cvae", hidden=(32,), latent_dim=3, beta=2.0)
    model = build_model(config, seed=0)
    history = History([StepRow(0, 1, 2.0, 1.5, 0.5), StepRow(0, 2, 1.0, 0.6, 0.4, beta=2.0)],
                      [EpochRow(1, 2, 1.5, 1.0, 0.45, 3.0, 2.5, 0.25, 1.5, 900.0, 2.0, (0.1, 0.1, 0.05))])
    path = save_checkpoint(RunRecord(config, model.state_dict(), TrainConfig(epochs=7), history, "mnist",
                                      tuple("0123456789"), position=TrainingPosition(7, 0, 700)),
                           tmp_path / "m.safetensors")
    loaded = load_checkpoint(path)
    assert loaded.model_config == config and loaded.train_config.epochs == 7 and loaded.history == history
    assert loaded.dataset == "mnist" and loaded.class_names == tuple("0123456789")
    assert loaded.position.global_step == 700 and loaded.app_version
    state = model.state_dict()
    assert all(torch.equal(state[k], loaded.weights[k]) for k in state)
    assert not list(tmp_path.glob(".*part*"))


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = save_checkpoint(RunRecord(ModelConfig(hidden=(8,)), build_model(ModelConfig(hidden=(8,))).state_dict()),
                           tmp_path / "m.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="m.safetensors"):
        load_checkpoint(path)


def test_gif_has_the_requested_frames_and_size(tmp_path):
    frames = np.random.default_rng(0).random((12, 28, 28)).astype(np.float32)
    result = export_morph(frames, tmp_path / "m.gif", scale=10, fps=20)
    assert result == {"path": str(tmp_path / "m.gif"), "frames": 12, "fps": 20.0, "width": 280, "height": 280}
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.n_frames == 12 and gif.size == (280, 280) and gif.info["loop"] == 0
        assert gif.info["duration"] == 50


def test_bounce_plays_back_without_repeating_the_ends(tmp_path):
    frames = np.linspace(0, 1, 5, dtype=np.float32)[:, None, None] * np.ones((5, 28, 28), np.float32)
    assert export_morph(frames, tmp_path / "b.gif", scale=1, bounce=True)["frames"] == 8


def test_mp4_decodes_to_the_frames(tmp_path):
    frames = np.linspace(0, 1, 10, dtype=np.float32)[:, None, None] * np.ones((10, 28, 28), np.float32)
    export_morph(frames, tmp_path / "m.mp4", scale=4, fps=10)

    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(tmp_path / "m.mp4"))
    meta = reader.__next__()
    decoded = list(reader)
    assert meta["size"] == (112, 112) and len(decoded) == 10


def test_a_png_strip_of_up_to_12_frames_is_one_row(tmp_path):
    frames = np.zeros((6, 28, 28), np.float32)
    export_morph(frames, tmp_path / "s.png", scale=2)
    with Image.open(tmp_path / "s.png") as strip:
        assert strip.size == (6 * (56 + 2) + 2, 56 + 4)


def test_export_grid_png(tmp_path):
    result = export_grid(np.zeros((9, 28, 28), np.float32), tmp_path / "g.png", columns=3)
    assert result["images"] == 9
    with Image.open(tmp_path / "g.png") as grid:
        assert grid.size == (3 * 30 + 2, 3 * 30 + 2)


# --- slides: every format, the map beside the digit, captions, cancelling --------------------------

DOT_RGB = (214, 39, 40)  # the moving dot's red (core.morph_map, as the latent view's current-frame marker)


def _ramp(count: int) -> np.ndarray:
    """Frames that differ from each other (a writer may merge equal neighbours into one longer frame)."""
    return np.linspace(0.1, 0.9, count, dtype=np.float32)[:, None, None] * np.ones((count, 28, 28), np.float32)


def _scene(count: int) -> MapScene:
    """300 points around the origin; a path from (-1, -1), lower left, to (1, 1), upper right."""
    rng = np.random.default_rng(0)
    ends = np.array([[-1.0, -1.0], [1.0, 1.0]], np.float32)
    t = np.linspace(0.0, 1.0, count, dtype=np.float32)[:, None]
    return MapScene(rng.normal(size=(300, 2)).astype(np.float32), rng.integers(0, 10, 300), ends,
                    (1 - t) * ends[0] + t * ends[1], ends)


def _reopened(path: Path) -> tuple[int, tuple[int, int]]:
    """(frames, (width, height)) of a written animation, read back by its own decoder."""
    if path.suffix == ".mp4":
        import imageio_ffmpeg

        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        return sum(1 for _ in reader), tuple(meta["size"])
    with Image.open(path) as image:
        return getattr(image, "n_frames", 1), image.size


def _mp4_writer_missing() -> str | None:
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        return f"no ffmpeg for imageio-ffmpeg: {exc}"
    return None


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".apng", ".mp4"])
def test_each_animated_format_reopens_with_its_frames_and_size(tmp_path, suffix):
    if suffix == ".mp4" and _mp4_writer_missing():
        pytest.skip(_mp4_writer_missing())
    target = tmp_path / f"slide{suffix}"
    result = export_morph(_ramp(8), target, fps=10, bounce=True, size=56, captions=morph_captions(["1", "7"], 8),
                          scene=_scene(8))
    # map (56 x 56) beside the digit (56 x 56), a 12-px caption band under both; bounce: 8 + 6 frames
    assert (result["frames"], result["width"], result["height"]) == (14, 112, 68)
    assert _reopened(target) == (14, (112, 68))
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_png_grid_of_morph_and_map_frames(tmp_path):
    from core.export import strip_layout

    export_morph(_ramp(8), tmp_path / "grid.png", size=56, columns=4, captions=morph_captions(["1", "7"], 8),
                 scene=_scene(8))
    rows, columns, height, width = strip_layout(8, (68, 112), 1, columns=4)
    with Image.open(tmp_path / "grid.png") as grid:
        assert (rows, columns) == (2, 4) and grid.size == (width, height) and grid.mode == "RGB"


def test_the_dot_moves_along_the_path_from_the_first_frame_to_the_last(tmp_path):
    export_morph(_ramp(8), tmp_path / "m.gif", size=112, scene=_scene(8))
    centres = []
    with Image.open(tmp_path / "m.gif") as gif:
        for index in range(gif.n_frames):
            gif.seek(index)
            pixels = np.asarray(gif.convert("RGB"))[:, :112]  # the map is the left half
            rows, cols = np.nonzero((pixels == DOT_RGB).all(axis=2))
            assert len(rows) > 20, f"no dot in frame {index}"
            centres.append((cols.mean(), rows.mean()))
    (x0, y0), (x1, y1) = centres[0], centres[-1]
    assert x0 < 56 < x1 and y1 < 56 < y0  # lower left (y points up on the map) to upper right
    xs = [x for x, _ in centres]
    assert xs == sorted(xs) and len(set(np.round(xs))) == 8  # a step along the path every frame


def test_captions_name_the_classes_and_t_under_each_frame(tmp_path):
    captions = morph_captions(["1", "7"], 5)
    assert captions[0] == "1 › 7   t = 0.00" and captions[2].endswith("t = 0.50") and captions[-1].endswith("1.00")
    export_morph(_ramp(5), tmp_path / "c.gif", size=112, captions=captions)
    bands = []
    with Image.open(tmp_path / "c.gif") as gif:
        assert gif.size == (112, 112 + 13)
        for index in (0, 4):
            gif.seek(index)
            bands.append(np.asarray(gif.convert("L"))[112:])
    assert all((band < 100).sum() > 30 for band in bands)  # dark text on the white band
    assert (bands[0] != bands[1]).any()  # t = 0.00, then t = 1.00


class _Cancelled(Exception):
    """What a worker's progress callback raises when the user cancels (gui.workers.TaskCancelled)."""


@pytest.mark.parametrize("name", ["m.gif", "m.webp", "m.apng", "m.mp4", "strip.png"])
def test_a_cancelled_export_leaves_the_previous_file_and_nothing_else(tmp_path, name):
    target = tmp_path / name
    target.write_bytes(b"the previous export")
    calls = []

    def cancel_at_the_second_report(fraction):
        calls.append(fraction)
        if len(calls) == 2:
            raise _Cancelled()

    with pytest.raises(_Cancelled):
        export_morph(_ramp(20), target, size=56, captions=morph_captions(["1", "7"], 20), scene=_scene(20),
                     progress=cancel_at_the_second_report)
    assert target.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _write_model(path):
    save_checkpoint(RunRecord(ModelConfig(hidden=(8,)), build_model(ModelConfig(hidden=(8,))).state_dict()), path)


def _write_gif(path):
    export_morph(np.zeros((3, 28, 28), np.float32), path, scale=1)


WRITERS = {"model.safetensors": _write_model, "morph.gif": _write_gif}


@pytest.mark.parametrize("name", WRITERS)
def test_new_files_get_the_user_s_usual_permissions(tmp_path, umask_022, name):
    """-rw-r--r-- under umask 022, as any program's new file; not the 0600 of the temporary file."""
    WRITERS[name](tmp_path / name)
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


@pytest.mark.parametrize("name", WRITERS)
def test_an_overwritten_file_keeps_its_permissions(tmp_path, umask_022, name):
    target = tmp_path / name
    target.write_bytes(b"the previous version")
    target.chmod(0o640)
    WRITERS[name](target)
    assert target.read_bytes() != b"the previous version"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


RELEASE_0_1_0_MODEL = Path(__file__).parent / "data" / "model-0.1.0.safetensors"


def test_a_model_file_from_release_0_1_0_opens_and_resumes(tiny_data):
    """Written by release 0.1.0 (commit 604e2e7): ModelConfig(hidden=(8,)), TrainConfig(epochs=3,
    batch_size=100, lr=2e-3, device="cpu") on tiny_data, stopped after step 8 (epoch 2, step 2 of 6).
    Its history is the untyped dict of 0.1.0: step columns with "step", epochs with "epochs" and
    "eta_seconds"."""
    record = load_checkpoint(RELEASE_0_1_0_MODEL)
    assert record.app_version == "0.1.0" and record.model_config == ModelConfig(hidden=(8,))
    assert record.position == TrainingPosition(epoch=1, step_in_epoch=2, global_step=8)
    steps, epochs = record.history.steps, record.history.epochs
    assert all(type(row) is StepRow for row in steps) and all(type(row) is EpochRow for row in epochs)
    assert [row.global_step for row in steps] == list(range(1, 9))
    assert [row.epoch for row in steps] == [0] * 6 + [1] * 2
    assert all(row.beta == 1.0 and row.loss == pytest.approx(row.recon + row.kl, rel=1e-5) for row in steps)
    (epoch,) = epochs
    assert epoch.epoch == 1 and epoch.global_step == 6 and epoch.kl_per_dim == () and epoch.beta == 1.0
    assert epoch.val_elbo == pytest.approx(epoch.val_loss, rel=1e-5) and 500 < epoch.val_loss < 600
    assert record.can_resume

    result = Trainer(record.model_config, record.train_config, tiny_data, resume=record).run()
    assert result.status == "finished" and result.position.global_step == 18
    assert result.history.steps[:8] == steps and len(result.history.epochs) == 3
