"""Morph and image exports: animated GIF, WebP and APNG (Pillow), MP4 (imageio-ffmpeg), PNG strip or
grid; and the one function that tiles images into a grid (``tile_images``), for the files and the
screen alike. What each frame shows (size, upscaling, the latent map, captions) is drawn by
``SlideFrames`` with core.morph_map.

An animated PNG is chosen by the ``.apng`` suffix: ``.png`` stays the still strip, so an existing
command or script keeps writing what it wrote (browsers and most viewers play an .apng file).

Every write goes to a temporary file renamed into place (core.files.atomic_output), so a failed
export leaves nothing at the target path.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.errors import ConfigError, ExportError, LatentMorphError
from core.files import atomic_output
from core.morph_map import (GREY_TO_INDEX, PALETTE, CaptionPainter, MapPainter, MapScene, caption_height, check_size,
                            check_upscale, upscale)

ANIMATED_FORMATS = (".gif", ".mp4", ".webp", ".apng")
EXPORT_FORMATS = ANIMATED_FORMATS + (".png",)  # .png: a still strip of the frames, in rows
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

    images: (N, H, W) or colour (N, H, W, C), floats in [0, 1] or uint8 in 0..255; the canvas is
    float32 or uint8 to match.
    padding: pixels between neighbouring tiles; margin: pixels around the whole grid.
    pad_value: the gutters' grey in [0, 1] (255 * pad_value, rounded, on a uint8 canvas).
    Returns (rows*H + (rows-1)*padding + 2*margin, cols*W + (cols-1)*padding + 2*margin[, C]), where
    cols = min(columns, N) and rows = ceil(N / cols).
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ConfigError("images", f"expected (count, height, width) with count >= 1, got shape {images.shape}")
    if images.dtype != np.uint8:
        images = images.astype(np.float32, copy=False)
    fill = round(pad_value * 255) if images.dtype == np.uint8 else pad_value
    count, height, width = images.shape[:3]
    columns = max(1, min(int(columns), count))
    rows = math.ceil(count / columns)
    cell_h, cell_w = height + padding, width + padding
    canvas = np.full((rows * cell_h - padding + 2 * margin, columns * cell_w - padding + 2 * margin)
                     + images.shape[3:], fill, images.dtype)
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


class SlideFrames:
    """The frames of an export, each made when it is asked for: an export never holds them all enlarged.

    The decoded digit (T, h, w) uint8 is enlarged to ``height`` x ``width`` px; with a ``scene`` the
    map is drawn to its left (a square as tall as the digit); with ``captions`` (one per decoded
    frame) a caption band runs under both. ``order`` lists the decoded frame shown at each step of
    playback (a bounce repeats them backwards). ``mode`` is "L" (grey values) or "P" (indices into
    core.morph_map.PALETTE, when the map is drawn).
    """

    def __init__(self, pixels: np.ndarray, height: int, width: int, upscale: str = "nearest",
                 captions: Sequence[str] | None = None, scene: MapScene | None = None,
                 order: Sequence[int] | None = None) -> None:
        count = len(pixels)
        if captions is not None and len(captions) != count:
            raise ConfigError("captions", f"one caption per frame: {count} frames, {len(captions)} captions")
        if scene is not None and len(scene.frames) != count:
            raise ConfigError("map", f"one place on the map per frame: {count} frames, {len(scene.frames)} places")
        self._pixels, self._height, self._width, self._upscale = pixels, height, width, upscale
        self._captions = captions
        self._map = MapPainter(scene, height) if scene is not None else None
        self.mode = "P" if scene is not None else "L"
        self.map_width = height if scene is not None else 0
        self.caption_height = caption_height(height) if captions is not None else 0
        self._caption = (CaptionPainter(captions, self.map_width + width, self.caption_height)
                         if captions is not None else None)
        self.order = list(range(count)) if order is None else [int(i) for i in order]
        self.shape = (len(self.order), height + self.caption_height, self.map_width + width)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        """Bytes the frames would take all at once, one byte a pixel."""
        return self.shape[0] * self.shape[1] * self.shape[2]

    def __getitem__(self, step: int) -> np.ndarray:
        """The frame shown at playback step ``step``: (H, W) uint8 grey values ("L") or palette indices ("P")."""
        index = self.order[step]
        digit = upscale(self._pixels[index], self._height, self._width, self._upscale)
        if self._map is None and self._caption is None:
            return digit
        grey_to_value = GREY_TO_INDEX if self.mode == "P" else None
        parts = [digit if grey_to_value is None else grey_to_value[digit]]
        if self._map is not None:
            parts.insert(0, self._map.frame(index))
        frame = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        if self._caption is not None:
            band = self._caption.band(self._captions[index])
            frame = np.concatenate([frame, band if grey_to_value is None else grey_to_value[band]], axis=0)
        return np.ascontiguousarray(frame)

    def __iter__(self):
        return (self[step] for step in range(len(self)))

    def rgb(self, step: int) -> np.ndarray:
        """The frame at ``step`` in colour: (H, W, 3) uint8."""
        frame = self[step]
        return PALETTE[frame] if self.mode == "P" else np.repeat(frame[:, :, None], 3, axis=2)

    def image(self, step: int):
        """The frame at ``step`` as a Pillow image ("L", or "P" with the palette)."""
        from PIL import Image

        frame = self[step]
        if self.mode == "L":
            return Image.fromarray(frame, mode="L")
        image = Image.frombytes("P", (frame.shape[1], frame.shape[0]), frame.tobytes())
        image.putpalette(PALETTE.tobytes())
        return image


def playback_order(count: int, bounce: bool) -> list[int]:
    """The frame shown at each step: 0..count-1, then back without repeating the two ends when bouncing."""
    forward = list(range(count))
    return forward + forward[-2:0:-1] if bounce and count > 2 else forward


def playback_frame_count(count: int, bounce: bool) -> int:
    """How many frames an export of ``count`` frames plays (``playback_order``'s length)."""
    return len(playback_order(count, bounce))


def digit_size(frame_shape: tuple[int, int], scale: int = 10, size: int | None = None) -> tuple[int, int]:
    """(height, width) px of the digit in an export: ``size`` px tall when given (its width keeps the
    frames' aspect), else the frames' own size times ``scale``."""
    height, width = frame_shape
    if size is None:
        if not 1 <= scale <= MAX_SCALE:
            raise ConfigError("scale", f"must be from 1 to {MAX_SCALE}, got {scale}")
        return height * scale, width * scale
    check_size(size)
    return size, max(1, round(width * size / height))


def slide_shape(frame_shape: tuple[int, int], scale: int = 10, size: int | None = None, with_map: bool = False,
                caption: bool = False) -> tuple[int, int]:
    """(height, width) px of one exported frame: the digit, the map beside it, the caption band under them."""
    height, width = digit_size(frame_shape, scale, size)
    band = caption_height(height) if caption else 0
    return height + band, width + (height if with_map else 0)


def frame_delay_ms(fps: float, suffix: str) -> float:
    """The delay between frames a file of ``suffix`` really stores for ``fps``: GIF in 10 ms ticks
    (at least 20 ms), WebP and APNG in whole milliseconds, MP4 exactly."""
    if suffix == ".gif":
        return float(gif_delay_ms(fps))
    if suffix in (".webp", ".apng"):
        return float(max(1, round(1000.0 / fps)))
    return 1000.0 / fps


def export_morph(frames: np.ndarray, path: str | os.PathLike, scale: int = 10, fps: float = 24.0,
                 bounce: bool = False, loop: bool = True,
                 progress: Callable[[float], None] | None = None, columns: int | None = None, *,
                 size: int | None = None, upscale: str = "nearest", captions: Sequence[str] | None = None,
                 scene: MapScene | None = None) -> dict:
    """Write frames (T, H, W) in [0, 1] by the path's suffix: an animated .gif, .mp4, .webp or .apng,
    or a .png strip (``columns`` frames per row; None wraps after MAX_ROW_FRAMES).

    The digit is ``size`` px tall (28..1,024; its width keeps the aspect) or, without ``size``, its
    own size times ``scale``; ``upscale`` is "nearest" (crisp pixels) or "smooth" (Lanczos).
    ``captions`` (T strings) are written under the frames; ``scene`` draws the latent map beside
    the digit with a dot at each frame's place (core.morph_map). ``progress(fraction)`` is called
    from the first frame on (and may raise to cancel: the target is then left untouched).

    Returns {"path", "frames", "fps", "width", "height"}: "fps" is the rate really written (a GIF
    rounds its delay to 10 ms steps: 12 fps plays at 12.5), None for a PNG strip; width and height
    are one frame's, in px.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ConfigError("out", f"{path.name}: choose a .gif, .mp4, .webp, .apng (animated PNG) or .png (a strip) "
                                 "file name")
    if not 0 < fps <= MAX_FPS:
        raise ConfigError("fps", f"must be above 0 and at most {MAX_FPS}, got {fps}")
    if len(frames) == 0:
        raise ConfigError("frames", "there are no frames to export")
    check_upscale(upscale)
    pixels = to_uint8_frames(np.asarray(frames))
    height, width = digit_size(pixels.shape[1:], scale, size)
    slides = SlideFrames(pixels, height, width, upscale, captions, scene, playback_order(len(pixels), bounce))
    held = slides.nbytes * (3 if suffix == ".png" and slides.mode == "P" else 1)
    if suffix in (".gif", ".apng", ".png") and held > MAX_IN_MEMORY_BYTES:
        kind = {".gif": "a GIF", ".apng": "an APNG", ".png": "a PNG strip"}[suffix]
        raise ConfigError("scale", f"{kind} of {len(slides):,} frames of {slides.shape[2]}×{slides.shape[1]} px "
                                   f"would need {held / 1e9:.1f} GB of memory: choose a smaller size or fewer "
                                   "frames, or export an MP4 or a WebP")
    options = {"columns": strip_columns(len(slides), columns)} if suffix == ".png" else {}
    written_fps = write_frames(slides, path, fps, loop, progress, **options)
    return {"path": str(path), "frames": int(len(slides)), "fps": written_fps,
            "width": int(slides.shape[2]), "height": int(slides.shape[1])}


def write_frames(frames, path: str | os.PathLike, fps: float, loop: bool = True,
                 progress: Callable[[float], None] | None = None, **options) -> float | None:
    """Write ``frames`` (anything speaking the writers' frame protocol: SlideFrames, the timeline's)
    atomically with the writer for the path's suffix (WRITERS). Returns the frame rate really written,
    None for a PNG strip. ``progress`` may raise to cancel: the target is then left untouched.
    Raises ExportError when the file cannot be written."""
    suffix = Path(path).suffix.lower()
    try:
        with atomic_output(path) as temp:
            WRITERS[suffix](frames, temp, fps=fps, loop=loop, progress=progress, **options)
    except LatentMorphError as exc:
        raise ExportError(str(exc)) from exc
    except (OSError, RuntimeError, ValueError) as exc:
        raise ExportError(f"could not export {path}: {exc}") from exc
    return None if suffix == ".png" else 1000.0 / frame_delay_ms(fps, suffix)


def _pillow_frames(slides: SlideFrames, progress, share: float):
    """The frames after the first as Pillow images, reporting ``share`` of the progress as they are made."""
    for step in range(1, len(slides)):
        if progress:
            progress(share * step / len(slides))
        yield slides.image(step)


def _write_gif(slides: SlideFrames, temp: Path, fps: float, loop: bool, progress) -> None:
    # Pillow reads every frame before it encodes any: reading is reported as the first half
    extra = {"loop": 0} if loop else {}
    slides.image(0).save(temp, format="GIF", save_all=True, append_images=_pillow_frames(slides, progress, 0.5),
                         duration=gif_delay_ms(fps), optimize=False, disposal=1, **extra)
    if progress:
        progress(1.0)


def _write_apng(slides: SlideFrames, temp: Path, fps: float, loop: bool, progress) -> None:
    # Pillow reads the frames twice (their modes, then the pixels): a list, made as the first half
    # of the progress; "loop": 0 plays forever, 1 once
    rest = list(_pillow_frames(slides, progress, 0.5))
    slides.image(0).save(temp, format="PNG", save_all=True, append_images=rest,
                         duration=frame_delay_ms(fps, ".apng"), loop=0 if loop else 1, disposal=0, blend=0)
    if progress:
        progress(1.0)


def _write_webp(slides: SlideFrames, temp: Path, fps: float, loop: bool, progress) -> None:
    from PIL import Image

    def frames_after_the_first():  # encoded as they come: progress runs over the whole export
        for step in range(1, len(slides)):
            if progress:
                progress(step / len(slides))
            yield Image.fromarray(slides.rgb(step), mode="RGB")

    # lossless: crisp pixels and exact class colours, the point of a slide; method 0 is the fastest
    Image.fromarray(slides.rgb(0), mode="RGB").save(
        temp, format="WEBP", save_all=True, append_images=frames_after_the_first(),
        duration=round(frame_delay_ms(fps, ".webp")), loop=0 if loop else 1, lossless=True, quality=0, method=0)
    if progress:
        progress(1.0)


def _write_mp4(slides: SlideFrames, temp: Path, fps: float, loop: bool, progress) -> None:
    import imageio_ffmpeg

    height, width = slides.shape[1:]
    colour = slides.mode == "P"
    if progress:
        progress(0.0)
    pad_h, pad_w = height % 2, width % 2  # yuv420p needs even sizes
    writer = imageio_ffmpeg.write_frames(str(temp), (width + pad_w, height + pad_h),
                                         pix_fmt_in="rgb24" if colour else "gray",
                                         fps=fps, codec="libx264", quality=8, macro_block_size=1,
                                         output_params=["-f", "mp4"], ffmpeg_log_level="error")
    writer.send(None)
    try:
        for step in range(len(slides)):
            frame = slides.rgb(step) if colour else slides[step]
            if pad_h or pad_w:
                frame = np.pad(frame, ((0, pad_h), (0, pad_w)) + ((0, 0),) * (frame.ndim - 2), mode="edge")
            writer.send(np.ascontiguousarray(frame))
            if progress and step % 8 == 0:  # from the first frame on, at a bounded rate
                progress((step + 1) / len(slides))
    finally:
        writer.close()
    if progress:
        progress(1.0)


def _write_strip(slides: SlideFrames, temp: Path, fps: float, loop: bool, progress, columns: int) -> None:
    if progress:
        progress(0.0)
    tiles = np.stack([slides.rgb(step) if slides.mode == "P" else slides[step] for step in range(len(slides))])
    save_image_grid(tiles, temp, columns)
    if progress:
        progress(1.0)


WRITERS = {".gif": _write_gif, ".mp4": _write_mp4, ".webp": _write_webp, ".apng": _write_apng, ".png": _write_strip}


def save_image_grid(pixels: np.ndarray, path: str | os.PathLike, columns: int, padding: int = GRID_PADDING) -> None:
    """uint8 or [0, 1] float images (N, H, W), or uint8 colour ones (N, H, W, 3), -> one PNG, ``columns``
    per row, ``padding`` pixels of grey between the tiles and around them."""
    from PIL import Image

    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        pixels = to_uint8_frames(pixels)
    grid = tile_images(pixels, columns, padding=padding, margin=padding)
    Image.fromarray(np.ascontiguousarray(grid), mode="RGB" if grid.ndim == 3 else "L").save(path, format="PNG")


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
