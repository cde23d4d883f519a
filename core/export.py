"""Morph and image exports: GIF (Pillow), MP4 (imageio-ffmpeg), PNG strip or grid (torchvision).

Every write goes to a temporary file renamed into place (core.files.atomic_output), so a failed
export leaves nothing at the target path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import ConfigError, ExportError, LatentMorphError
from core.files import atomic_output

EXPORT_FORMATS = (".gif", ".mp4", ".png")
MAX_SCALE = 40
MAX_FPS = 120


def to_uint8_frames(frames: np.ndarray, scale: int = 1) -> np.ndarray:
    """(T, H, W) floats in [0, 1] -> (T, H*scale, W*scale) uint8, nearest-neighbour upscaled."""
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 3:
        raise ConfigError("frames", f"expected (frames, height, width), got shape {frames.shape}")
    if not 1 <= scale <= MAX_SCALE:
        raise ConfigError("scale", f"must be from 1 to {MAX_SCALE}, got {scale}")
    pixels = np.clip(np.rint(frames * 255.0), 0, 255).astype(np.uint8)
    if scale > 1:
        pixels = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
    return np.ascontiguousarray(pixels)


def sequence_for_playback(frames: np.ndarray, bounce: bool) -> np.ndarray:
    """Bounce plays forward then backward without repeating the two end frames."""
    if bounce and len(frames) > 2:
        return np.concatenate([frames, frames[-2:0:-1]])
    return frames


def export_morph(frames: np.ndarray, path: str | os.PathLike, scale: int = 10, fps: float = 24.0,
                 bounce: bool = False, loop: bool = True,
                 progress: Callable[[float], None] | None = None) -> dict:
    """Write frames (T, H, W) in [0, 1] by the path's suffix. Returns {"path", "frames"}."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ConfigError("out", f"{path.name}: choose a .gif, .mp4 or .png file name")
    if not 0 < fps <= MAX_FPS:
        raise ConfigError("fps", f"must be above 0 and at most {MAX_FPS}, got {fps}")
    if len(frames) == 0:
        raise ConfigError("frames", "there are no frames to export")
    pixels = to_uint8_frames(sequence_for_playback(np.asarray(frames), bounce), scale)
    writer = {".gif": _write_gif, ".mp4": _write_mp4, ".png": _write_strip}[suffix]
    try:
        with atomic_output(path) as temp:
            writer(pixels, temp, fps=fps, loop=loop, progress=progress)
    except LatentMorphError as exc:
        raise ExportError(str(exc)) from exc
    except (OSError, RuntimeError, ValueError) as exc:
        raise ExportError(f"could not export {path}: {exc}") from exc
    return {"path": str(path), "frames": int(len(pixels))}


def _write_gif(pixels: np.ndarray, temp: Path, fps: float, loop: bool, progress) -> None:
    from PIL import Image

    images = [Image.fromarray(frame, mode="L") for frame in pixels]
    duration_ms = max(20, int(round(1000.0 / fps)))  # browsers clamp delays under 20 ms
    extra = {"loop": 0} if loop else {}
    images[0].save(temp, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms,
                   optimize=False, disposal=1, **extra)
    if progress:
        progress(1.0)


def _write_mp4(pixels: np.ndarray, temp: Path, fps: float, loop: bool, progress) -> None:
    import imageio_ffmpeg

    height, width = pixels.shape[1:]
    pad_h, pad_w = height % 2, width % 2  # yuv420p needs even sizes
    writer = imageio_ffmpeg.write_frames(str(temp), (width + pad_w, height + pad_h), pix_fmt_in="gray",
                                         fps=fps, codec="libx264", quality=8, macro_block_size=1,
                                         output_params=["-f", "mp4"], ffmpeg_log_level="error")
    writer.send(None)
    try:
        for index, frame in enumerate(pixels):
            if pad_h or pad_w:
                frame = np.pad(frame, ((0, pad_h), (0, pad_w)))
            writer.send(np.ascontiguousarray(frame))
            if progress and index % 8 == 0:
                progress(index / len(pixels))
    finally:
        writer.close()
    if progress:
        progress(1.0)


def _write_strip(pixels: np.ndarray, temp: Path, fps: float, loop: bool, progress) -> None:
    save_image_grid(pixels, temp, columns=len(pixels))
    if progress:
        progress(1.0)


def save_image_grid(pixels: np.ndarray, path: str | os.PathLike, columns: int, padding: int = 2) -> None:
    """uint8 or [0, 1] float images (N, H, W) -> one PNG, ``columns`` per row (torchvision's grid)."""
    import torch
    from PIL import Image
    from torchvision.utils import make_grid

    tensor = torch.as_tensor(np.asarray(pixels))
    if tensor.dtype == torch.uint8:
        tensor = tensor.float() / 255.0
    grid = make_grid(tensor.unsqueeze(1), nrow=max(1, columns), padding=padding, pad_value=0.5)
    array = (grid[0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    Image.fromarray(array, mode="L").save(path, format="PNG")


def export_grid(images: np.ndarray, path: str | os.PathLike, columns: int, scale: int = 1) -> dict:
    """Write images (N, H, W) in [0, 1] as a PNG grid atomically. Returns {"path", "images"}."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ConfigError("out", f"{path.name}: choose a .png file name")
    pixels = to_uint8_frames(np.asarray(images).reshape(-1, *np.asarray(images).shape[-2:]), scale)
    try:
        with atomic_output(path) as temp:
            save_image_grid(pixels, temp, columns)
    except LatentMorphError as exc:
        raise ExportError(str(exc)) from exc
    except (OSError, ValueError) as exc:
        raise ExportError(f"could not export {path}: {exc}") from exc
    return {"path": str(path), "images": int(len(pixels))}
