"""Exports and checkpoints that cannot be written: a clear error, nothing at the target, no temp files."""

import errno
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from core import export
from core.config import ModelConfig
from core.errors import ExportError, LatentMorphError
from core.export import export_grid, export_morph
from core.files import save_checkpoint
from core.run_record import RunRecord
from core.models import build_model

FRAMES = np.linspace(0, 1, 6 * 28 * 28, dtype=np.float32).reshape(6, 28, 28)


def _checkpoint() -> RunRecord:
    config = ModelConfig(hidden=(64,))
    return RunRecord(model_config=config, weights=build_model(config, seed=0).state_dict())


def _write(target: Path):
    """Every writer the app has, by the target's suffix."""
    if target.suffix == ".safetensors":
        return save_checkpoint(_checkpoint(), target)
    if target.name.startswith("grid"):
        return export_grid(FRAMES, target, columns=3)
    return export_morph(FRAMES, target, scale=2, fps=12)


TARGETS = ["morph.gif", "morph.mp4", "morph.webp", "morph.apng", "strip.png", "grid.png", "model.safetensors"]


def _expect_failure(target: Path, *words):
    with pytest.raises(LatentMorphError) as error:
        _write(target)
    if target.suffix != ".safetensors":
        assert isinstance(error.value, ExportError)
    message = str(error.value)
    assert str(target) in message, message
    for word in words:
        assert word in message, message
    assert ".part" not in message, f"the message should name the user's file, not a temporary one: {message}"
    return message


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("name", TARGETS)
def test_folder_that_does_not_exist(tmp_path, name):
    target = tmp_path / "missing" / name
    _expect_failure(target, "does not exist")
    assert not target.parent.exists()


@pytest.mark.parametrize("name", TARGETS)
def test_a_file_where_the_folder_should_be(tmp_path, name):
    (tmp_path / "notes.txt").write_text("I am a file")
    target = tmp_path / "notes.txt" / name
    _expect_failure(target, "not a folder")
    assert _listing(tmp_path) == ["notes.txt"]


@pytest.mark.parametrize("name", TARGETS)
def test_read_only_folder(tmp_path, name, monkeypatch):
    # Tests run as root, for whom chmod does not stop writes: report the folder read-only instead.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if mode & os.W_OK else real_access(path, mode))
    _expect_failure(tmp_path / name, "read-only")
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("name", TARGETS)
def test_folder_where_files_cannot_be_created(name):
    # /proc refuses new files even for root, though os.access says it is writable.
    target = Path("/proc") / name
    _expect_failure(target, "cannot write")
    assert not target.exists()


@pytest.fixture
def full_disk(monkeypatch):
    """Simulate ENOSPC in each writer after it has written part of its temporary file."""
    def partial_then_full(temp: Path):
        with open(temp, "wb") as handle:
            handle.write(b"\0" * 1000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    for suffix in export.WRITERS:
        monkeypatch.setitem(export.WRITERS, suffix, lambda slides, temp, **kw: partial_then_full(temp))
    monkeypatch.setattr(export, "save_image_grid", lambda pixels, temp, columns: partial_then_full(Path(temp)))

    import safetensors.torch
    from safetensors import SafetensorError

    def serialize_file(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\0" * 1000)
        # what safetensors really raises on a full disk (seen on a 64 KiB tmpfs)
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.torch, "serialize_file", serialize_file)


@pytest.mark.parametrize("name", TARGETS)
def test_full_disk_leaves_nothing(tmp_path, name, full_disk):
    _expect_failure(tmp_path / name, "the disk is full")
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("name", TARGETS)
def test_full_disk_keeps_the_previous_file(tmp_path, name, full_disk):
    target = tmp_path / name
    target.write_bytes(b"the previous export")
    _expect_failure(target, "the disk is full")
    assert target.read_bytes() == b"the previous export"
    assert _listing(tmp_path) == [name]


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A real 64 KiB tmpfs, where writes truly fail with ENOSPC (needs root and mount rights)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("needs root to mount a tiny tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True)


def test_really_full_disk(tiny_filesystem):
    big = torch.zeros(100_000)  # 400 KB: more than the 64 KiB filesystem holds
    config = ModelConfig(hidden=(64,))
    checkpoint = RunRecord(model_config=config, weights={"big": big})
    with pytest.raises(LatentMorphError, match="the disk is full"):
        save_checkpoint(checkpoint, tiny_filesystem / "model.safetensors")
    with pytest.raises(ExportError, match="the disk is full"):
        export_morph(np.random.default_rng(0).random((60, 28, 28), dtype=np.float32),
                     tiny_filesystem / "morph.gif", scale=10)
    assert _listing(tiny_filesystem) == []
