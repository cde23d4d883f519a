"""Checkpoint round trip and exports (GIF, MP4, PNG strip), all written atomically."""


import numpy as np
import pytest
import torch
from PIL import Image

from core.config import ModelConfig, TrainConfig
from core.errors import CheckpointError, ExportError
from core.export import export_grid, export_morph
from core.files import Checkpoint, TrainingPosition, load_checkpoint, save_checkpoint
from core.models import build_model


def test_checkpoint_round_trip_explains_itself(tmp_path):
    config = ModelConfig(kind="cvae", hidden=(32,), latent_dim=3, beta=2.0)
    model = build_model(config, seed=0)
    history = {"steps": {"loss": [1.0, 2.0]}, "epochs": [{"val_loss": 3.0}]}
    path = save_checkpoint(Checkpoint(config, model.state_dict(), TrainConfig(epochs=7), history, "mnist",
                                      tuple("0123456789"), position=TrainingPosition(7, 0, 700)),
                           tmp_path / "m.safetensors")
    loaded = load_checkpoint(path)
    assert loaded.model_config == config and loaded.train_config.epochs == 7 and loaded.history == history
    assert loaded.dataset == "mnist" and loaded.class_names == tuple("0123456789")
    assert loaded.position.global_step == 700 and loaded.app_version
    state = model.state_dict()
    assert all(torch.equal(state[k], loaded.state_dict[k]) for k in state)
    assert not list(tmp_path.glob(".*part*"))


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = save_checkpoint(Checkpoint(ModelConfig(hidden=(8,)), build_model(ModelConfig(hidden=(8,))).state_dict()),
                           tmp_path / "m.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="m.safetensors"):
        load_checkpoint(path)


def test_gif_has_the_requested_frames_and_size(tmp_path):
    frames = np.random.default_rng(0).random((12, 28, 28)).astype(np.float32)
    result = export_morph(frames, tmp_path / "m.gif", scale=10, fps=20)
    assert result == {"path": str(tmp_path / "m.gif"), "frames": 12}
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


def test_png_strip_is_one_row(tmp_path):
    frames = np.zeros((6, 28, 28), np.float32)
    export_morph(frames, tmp_path / "s.png", scale=2)
    with Image.open(tmp_path / "s.png") as strip:
        assert strip.size == (6 * (56 + 2) + 2, 56 + 4)


def test_export_to_missing_folder_leaves_nothing(tmp_path):
    target = tmp_path / "nope" / "m.gif"
    with pytest.raises(ExportError, match="does not exist"):
        export_morph(np.zeros((3, 28, 28), np.float32), target)
    assert not target.exists()


def test_export_grid_png(tmp_path):
    result = export_grid(np.zeros((9, 28, 28), np.float32), tmp_path / "g.png", columns=3)
    assert result["images"] == 9
    with Image.open(tmp_path / "g.png") as grid:
        assert grid.size == (3 * 30 + 2, 3 * 30 + 2)
