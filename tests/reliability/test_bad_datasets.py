"""Image folders with junk, odd image modes, a single class, and MNIST missing while offline."""

import socket

import numpy as np
import pytest
import torch
from PIL import Image

from core.config import ModelConfig, TrainConfig
from core.data import load_dataset
from core.errors import ConfigError, DatasetError
from core.training import Trainer
from reliability_helpers import one_line


def _digit(size: int, seed: int) -> np.ndarray:
    """A light stroke on a dark background, uint8 (size, size)."""
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size), np.uint8)
    col = int(rng.integers(size // 4, 3 * size // 4))
    image[size // 5: 4 * size // 5, col: col + max(1, size // 7)] = 255
    return image


def _write_mixed_images(folder, seed: int, count: int = 6) -> None:
    """Mixed sizes and modes: L, RGB, RGBA, 16-bit I;16, palette with and without transparency."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        size = (20, 28, 33, 64, 28, 40)[i % 6]
        gray = _digit(size, seed * 100 + i)
        kind = i % 6
        if kind == 0:
            image = Image.fromarray(gray, "L")
        elif kind == 1:
            image = Image.fromarray(np.stack([gray] * 3, -1), "RGB")
        elif kind == 2:
            image = Image.fromarray(np.stack([gray] * 3 + [np.full_like(gray, 255)], -1), "RGBA")
        elif kind == 3:
            image = Image.fromarray(gray.astype(np.uint16) * 257)  # mode I;16, full 16-bit range
            assert image.mode == "I;16"
        elif kind == 4:
            image = Image.fromarray(gray, "L").convert("P")
        else:
            image = Image.fromarray(np.stack([gray] * 3, -1), "RGB").convert("P")
            image.info["transparency"] = 0
        image.save(folder / f"img{i}.png" if kind != 1 else folder / f"img{i}.jpg")


def _train_briefly(data, kind="vae"):
    model_config = ModelConfig(kind=kind, hidden=(32,), num_classes=data.num_classes, image_shape=data.image_shape)
    train_config = TrainConfig(epochs=1, batch_size=4, lr=1e-3, device="cpu", val_fraction=0.0)
    return Trainer(model_config, train_config, data).run()


def test_folder_without_images(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "readme.txt").write_text("no pictures here")
    with pytest.raises(DatasetError) as error:
        load_dataset(f"folder:{tmp_path}")
    assert str(tmp_path) in str(error.value) and "no readable images" in str(error.value)


def test_folder_without_sub_folders(tmp_path):
    Image.fromarray(_digit(28, 0)).save(tmp_path / "loose.png")
    with pytest.raises(DatasetError, match="sub-folder"):
        load_dataset(f"folder:{tmp_path}")


def test_unreadable_and_non_image_files_are_skipped_and_training_works(tmp_path):
    for name in ("a", "b"):
        _write_mixed_images(tmp_path / name, seed=ord(name))
        (tmp_path / name / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
        (tmp_path / name / "empty.jpg").write_bytes(b"")
        (tmp_path / name / "notes.txt").write_text("not an image")
        (tmp_path / name / "folder.png").mkdir()  # a directory with an image suffix
    data = load_dataset(f"folder:{tmp_path}", val_fraction=0.0)
    assert data.class_names == ("a", "b")
    assert len(data.train_x) + len(data.test_x) == 12  # exactly the 12 good images
    assert data.image_shape == (1, 28, 28)
    assert torch.isfinite(data.train_x).all() and 0 <= data.train_x.min() and data.train_x.max() <= 1
    result = _train_briefly(data)
    assert result.status == "finished"
    assert all(torch.isfinite(p).all() for p in result.model.parameters())


def test_sixteen_bit_image_keeps_its_contrast(tmp_path):
    from core.data import read_image_file

    gray = _digit(28, 1)
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "deep.png")
    pixels = read_image_file(tmp_path / "deep.png")
    assert pixels.max() >= 250 and pixels.min() <= 5


def test_single_class_is_fine_for_a_vae_and_refused_for_a_cvae(tmp_path):
    _write_mixed_images(tmp_path / "sevens", seed=7, count=12)
    data = load_dataset(f"folder:{tmp_path}", val_fraction=0.0)
    assert data.num_classes == 1
    assert _train_briefly(data).status == "finished"
    with pytest.raises(ConfigError) as error:
        _train_briefly(data, kind="cvae")
    assert error.value.field == "kind" and "at least two classes" in str(error.value)


@pytest.fixture
def offline(monkeypatch):
    """No network: any connection attempt fails at once (and is recorded)."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError(101, "Network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_missing_mnist_offline_names_the_alternatives(tmp_path, offline):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", empty)
    message = str(error.value)
    assert str(empty) in message and "could not be downloaded" in message
    for alternative in ("mnist-sample", "--data-dir", "folder:PATH"):
        assert alternative in message, message
    assert offline, "the download should have been tried (and refused by the test)"


def test_cli_missing_mnist_offline_one_line_nothing_on_stdout(tmp_path, offline, cli):
    empty = tmp_path / "empty"
    empty.mkdir()
    status, out, err = cli("train", "--dataset", "mnist", "--data-dir", empty, "--json", "--device", "cpu",
                           "--out", tmp_path / "m.safetensors")
    assert status == 1 and out == "", "--json promises stdout holds only the JSON object"
    line = one_line(err)
    assert "mnist-sample" in line and "--data-dir" in line and "folder:PATH" in line
