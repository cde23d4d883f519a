"""Morph and image exports: GIF (Pillow), MP4 (imageio-ffmpeg), PNG strip or grid; and the one
function that tiles images into a grid (``tile_images``), for the files and the screen alike.

Every write goes to a temporary file renamed into place (core.files.atomic_output), so a failed
export leaves nothing at the target path.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import ConfigError, ExportError, LatentMorphError
from core.files import atomic_output

EXPORT_FORMATS = (".gif", ".mp4", ".png")
MAX_SCALE = 40
MAX_FPS = 120
MAX_ROW_FRAMES = 12  # a PNG strip wraps after this many frames, so 24 frames at x10 fit a slide
GRID_PADDING = 2  # pixels between tiles and around a saved grid, at the saved (scaled) size
GRID_PAD_VALUE = 0.35  # grey gutters in [0, 1], so black digit backgrounds stay apart
# Pillow holds every GIF frame before it encodes one, and a strip is one image: both are bounded.
# An MP4 is written frame by frame, so its size is not (1,000 frames at x40 took 2.5 GB up front).
MAX_IN_MEMORY_BYTES = 1_000_000_000
GIF_TICK_MS = 10  # a GIF stores each frame's delay in hundredths of a second
GIF_MIN_DELAY_MS = 20  # browsers play shorter delays much slower than asked, so none are written


def tile_images(images: np.ndarray, columns: int, padding: int = GRID_PADDING, margin: int = 0,
                pad_value: float = GRID_PAD_VALUE) -> np.ndarray:
    """Lay images out row by row, ``columns`` to a row, on one canvas filled with grey gutters.

    images: (N, H, W), floats in [0, 1] or uint8 in 0..255; the canvas is float32 or uint8 to match.
    padding: pixels between neighbouring tiles; margin: pixels around the whole grid.
    pad_value: the gutters' grey in [0, 1] (255 * pad_value, rounded, on a uint8 canvas).
    Returns (rows*H + (rows-1)*padding + 2*margin, cols*W + (cols-1)*padding + 2*margin), where
    cols = min(columns, N) and rows = ceil(N / cols).
    """
    images = np.asarray(images)
    if images.ndim != 3 or len(images) == 0:
        raise ConfigError("images", f"expected (count, height, width) with count >= 1, got shape {images.shape}")
    if images.dtype != np.uint8:
        images = images.astype(np.float32, copy=False)
    fill = round(pad_value * 255) if images.dtype == np.uint8 else pad_value
    count, height, width = images.shape
    columns = max(1, min(int(columns), count))
    rows = math.ceil(count / columns)
    cell_h, cell_w = height + padding, width + padding
    canvas = np.full((rows * cell_h - padding + 2 * margin, columns * cell_w - padding + 2 * margin), fill,
                     images.dtype)
    for index in range(count):
        row, col = divmod(index, columns)
        top, left = margin + row * cell_h, margin + col * cell_w
        canvas[top: top + height, left: left + width] = images[index]
    return canvas


def strip_columns(count: int, columns: int | None = None, max_columns: int = MAX_ROW_FRAMES) -> int:
    """Frames per row of a PNG strip of ``count`` frames: ``columns`` when given (at most ``count``),
    else the fewest rows of at most ``max_columns``, filled evenly (13 frames: 2 rows of 7, not 12 + 1)."""
    if columns is not None:
        if columns < 1:
            raise ConfigError("columns", f"must be at least 1, got {columns}")
        return max(1, min(int(columns), count))
    rows = max(1, math.ceil(count / max_columns))
    return max(1, math.ceil(count / rows))


def strip_layout(count: int, frame_shape: tuple[int, int], scale: int, columns: int | None = None,
                 padding: int = GRID_PADDING) -> tuple[int, int, int, int]:
    """(rows, columns, height px, width px) of the PNG strip ``export_morph`` writes for ``count``
    frames of ``frame_shape`` (H, W) at ``scale``: the same layout as ``save_image_grid``."""
    columns = strip_columns(count, columns)
    rows = math.ceil(count / columns)
    height, width = frame_shape
    return (rows, columns, rows * height * scale + (rows + 1) * padding,
            columns * width * scale + (columns + 1) * padding)


def gif_delay_ms(fps: float) -> int:
    """The delay a GIF really stores for ``fps`` frames per second: whole 10 ms ticks, at least 20 ms."""
    return max(GIF_MIN_DELAY_MS, GIF_TICK_MS * round(1000.0 / GIF_TICK_MS / fps))


def gif_frame_rate(fps: float) -> float:
    """The frame rate a GIF plays at when ``fps`` is asked for (12 fps -> 80 ms -> 12.5 fps)."""
    return 1000.0 / gif_delay_ms(fps)


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


class ScaledFrames:
    """(T, H, W) uint8 frames upscaled one at a time, on demand: an export never holds them all enlarged."""

    def __init__(self, pixels: np.ndarray, scale: int) -> None:
        self._pixels, self.scale = pixels, scale
        count, height, width = pixels.shape
        self.shape = (count, height * scale, width * scale)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        """Bytes the enlarged frames would take all at once."""
        return self.shape[0] * self.shape[1] * self.shape[2]

    def __getitem__(self, index: int) -> np.ndarray:
        frame = self._pixels[index]
        if self.scale > 1:
            frame = frame.repeat(self.scale, axis=0).repeat(self.scale, axis=1)
        return np.ascontiguousarray(frame)

    def __iter__(self):
        return (self[index] for index in range(len(self)))

    def all(self) -> np.ndarray:
        return np.stack(list(self)) if len(self) else np.zeros(self.shape, np.uint8)


def sequence_for_playback(frames: np.ndarray, bounce: bool) -> np.ndarray:
    """Bounce plays forward then backward without repeating the two end frames."""
    if bounce and len(frames) > 2:
        return np.concatenate([frames, frames[-2:0:-1]])
    return frames


def playback_frame_count(count: int, bounce: bool) -> int:
    """How many frames ``sequence_for_playback`` makes of ``count``."""
    return 2 * count - 2 if bounce and count > 2 else count


def export_morph(frames: np.ndarray, path: str | os.PathLike, scale: int = 10, fps: float = 24.0,
                 bounce: bool = False, loop: bool = True,
                 progress: Callable[[float], None] | None = None, columns: int | None = None) -> dict:
    """Write frames (T, H, W) in [0, 1] by the path's suffix (``columns``: frames per row of a PNG
    strip; None wraps after MAX_ROW_FRAMES). ``progress(fraction)`` is called from the first frame on.

    Returns {"path", "frames", "fps"}: "fps" is the rate really written (a GIF rounds its delay to
    10 ms steps: 12 fps plays at 12.5), None for a PNG strip.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ConfigError("out", f"{path.name}: choose a .gif, .mp4 or .png file name")
    if not 0 < fps <= MAX_FPS:
        raise ConfigError("fps", f"must be above 0 and at most {MAX_FPS}, got {fps}")
    if len(frames) == 0:
        raise ConfigError("frames", "there are no frames to export")
    if not 1 <= scale <= MAX_SCALE:
        raise ConfigError("scale", f"must be from 1 to {MAX_SCALE}, got {scale}")
    pixels = ScaledFrames(to_uint8_frames(sequence_for_playback(np.asarray(frames), bounce)), scale)
    if suffix != ".mp4" and pixels.nbytes > MAX_IN_MEMORY_BYTES:
        kind = "a GIF" if suffix == ".gif" else "a PNG strip"
        raise ConfigError("scale", f"{kind} of {len(pixels):,} frames of {pixels.shape[2]}×{pixels.shape[1]} px would "
                                   f"need {pixels.nbytes / 1e9:.1f} GB of memory: choose a smaller scale or fewer "
                                   "frames, or export an MP4")
    writer = {".gif": _write_gif, ".mp4": _write_mp4, ".png": _write_strip}[suffix]
    options = {"columns": strip_columns(len(pixels), columns)} if suffix == ".png" else {}
    try:
        with atomic_output(path) as temp:
            writer(pixels, temp, fps=fps, loop=loop, progress=progress, **options)
    except LatentMorphError as exc:
        raise ExportError(str(exc)) from exc
    except (OSError, RuntimeError, ValueError) as exc:
        raise ExportError(f"could not export {path}: {exc}") from exc
    written_fps = {".gif": gif_frame_rate(fps), ".mp4": float(fps), ".png": None}[suffix]
    return {"path": str(path), "frames": int(len(pixels)), "fps": written_fps}


def _write_gif(pixels: ScaledFrames, temp: Path, fps: float, loop: bool, progress) -> None:
    from PIL import Image

    def frames_after_the_first():
        # Pillow reads every frame before it encodes any: reading is reported as the first half
        for index in range(1, len(pixels)):
            if progress:
                progress(0.5 * index / len(pixels))
            yield Image.fromarray(pixels[index], mode="L")

    extra = {"loop": 0} if loop else {}
    Image.fromarray(pixels[0], mode="L").save(temp, format="GIF", save_all=True,
                                              append_images=frames_after_the_first(),
                                              duration=gif_delay_ms(fps), optimize=False, disposal=1, **extra)
    if progress:
        progress(1.0)


def _write_mp4(pixels: ScaledFrames, temp: Path, fps: float, loop: bool, progress) -> None:
    import imageio_ffmpeg

    height, width = pixels.shape[1:]
    if progress:
        progress(0.0)
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
            if progress and index % 8 == 0:  # from the first frame on, at a bounded rate
                progress((index + 1) / len(pixels))
    finally:
        writer.close()
    if progress:
        progress(1.0)


def _write_strip(pixels: ScaledFrames, temp: Path, fps: float, loop: bool, progress, columns: int) -> None:
    if progress:
        progress(0.0)
    save_image_grid(pixels.all(), temp, columns)
    if progress:
        progress(1.0)


def save_image_grid(pixels: np.ndarray, path: str | os.PathLike, columns: int, padding: int = GRID_PADDING) -> None:
    """uint8 or [0, 1] float images (N, H, W) -> one PNG, ``columns`` per row, ``padding`` pixels of
    grey between the tiles and around them."""
    from PIL import Image

    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        pixels = to_uint8_frames(pixels)
    grid = tile_images(pixels, columns, padding=padding, margin=padding)
    Image.fromarray(np.ascontiguousarray(grid), mode="L").save(path, format="PNG")


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
