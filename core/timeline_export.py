"""The training timeline as an animation: one frame per snapshot, the test points coloured by class on
fixed axes (so the clusters are seen to form and spread), a caption with the epoch and the loss in nats,
and a legend of the classes. Pillow + numpy only (core draws no Qt).

Frames are drawn in core.morph_map's palette indices ("P" images: exact class colours, nothing
quantised) with its ``MapPainter`` and ``CaptionPainter``, and written by core.export's writers
(``WRITERS``: GIF, MP4, WebP, APNG), atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.class_colours import CLASS_COLOURS
from core.data import class_name
from core.errors import ConfigError
from core.export import ANIMATED_FORMATS, MAX_FPS, MAX_IN_MEMORY_BYTES, write_frames
from core.morph_map import CLASS_BASE, GREY_TO_INDEX, PALETTE, CaptionPainter, MapPainter, MapScene
from core.timeline import Timeline

DEFAULT_FPS = 4.0  # snapshots per second: 30 snapshots play in 7.5 s
DEFAULT_SIZE = 480  # px: the side of the square plot
MIN_SIZE, MAX_SIZE = 128, 1024
CAPTION_SHARE = 0.07  # the caption band's height, as a share of the plot's side
LEGEND_SHARE = 0.06  # the class legend band's height


def check_options(path: str | os.PathLike, fps: float, size: int) -> str:
    """Refuse a file type, frame rate or size the export cannot write (ConfigError); return the suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in ANIMATED_FORMATS:
        raise ConfigError("out", f"{Path(path).name}: choose an animation: "
                                 f"{', '.join(ANIMATED_FORMATS[:-1])} or {ANIMATED_FORMATS[-1]}")
    if not 0 < fps <= MAX_FPS:
        raise ConfigError("fps", f"must be above 0 and at most {MAX_FPS}, got {fps}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ConfigError("size", f"must be from {MIN_SIZE} to {MAX_SIZE} px, got {size!r}")
    return suffix


class TimelineFrames:
    """The frames of a timeline export, each drawn when asked for: (H, W) uint8 indices into
    core.morph_map.PALETTE. Speaks the frame protocol of core.export's writers (len, ``shape``,
    ``mode``, ``image``, ``rgb``, ``nbytes``)."""

    mode = "P"

    def __init__(self, timeline: Timeline, size: int = DEFAULT_SIZE, class_names: Sequence[str] = ()) -> None:
        self._timeline, self.size = timeline, size
        x0, x1, y0, y1 = timeline.extent()
        self._low, self._high = np.array([x0, y0], np.float32), np.array([x1, y1], np.float32)
        self._corners = np.array([[x0, y0], [x1, y1]], np.float32)  # fixed axes: the painter spans these
        self._labels = np.asarray(timeline.labels, np.int64)
        captions = [s.caption for s in timeline.snapshots]
        caption_h = max(14, round(size * CAPTION_SHARE))
        self._caption = CaptionPainter(captions, size, caption_h)
        self._legend = legend_band(self._labels, class_names, size, max(12, round(size * LEGEND_SHARE)))
        self.shape = (len(timeline.snapshots), size + caption_h + len(self._legend), size)

    @property
    def nbytes(self) -> int:
        """Bytes all frames would take at once, one byte a pixel."""
        return self.shape[0] * self.shape[1] * self.shape[2]

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, step: int) -> np.ndarray:
        snapshot = self._timeline.snapshots[step]
        plane = snapshot.plane.astype(np.float32)
        inside = np.isfinite(plane).all(axis=1) & (plane >= self._low).all(axis=1) & (plane <= self._high).all(axis=1)
        scene = MapScene(plane[inside], self._labels[inside], np.zeros((0, 2), np.float32), self._corners,
                         np.zeros((0, 2), np.float32))
        plot = MapPainter(scene, self.size).background  # (size, size): the points, the border
        caption = GREY_TO_INDEX[self._caption.band(snapshot.caption)]
        return np.ascontiguousarray(np.concatenate([plot, caption, self._legend], axis=0))

    def __iter__(self):
        return (self[step] for step in range(len(self)))

    def rgb(self, step: int) -> np.ndarray:
        """The frame at ``step`` in colour: (H, W, 3) uint8."""
        return PALETTE[self[step]]

    def image(self, step: int):
        """The frame at ``step`` as a Pillow "P" image with the palette."""
        from PIL import Image

        frame = self[step]
        image = Image.frombytes("P", (frame.shape[1], frame.shape[0]), frame.tobytes())
        image.putpalette(PALETTE.tobytes())
        return image


def legend_band(labels: np.ndarray, class_names: Sequence[str], width: int, height: int) -> np.ndarray:
    """A band ``height`` x ``width`` of palette indices on white: for each class present in ``labels``,
    a dot in its colour and its name, in a row."""
    from PIL import Image, ImageDraw, ImageFont

    classes = sorted(int(c) for c in np.unique(labels)) if len(labels) else []
    text = Image.new("L", (width, height), 255)  # grey values, anti-aliased
    dots = Image.new("L", (width, height), 0)  # 1 + class where a dot is: ellipses are not anti-aliased
    try:
        font = ImageFont.load_default(size=max(8, round(height * 0.6)))
    except (TypeError, ImportError, OSError):
        font = ImageFont.load_default()
    slot = width / max(1, len(classes))
    radius, middle = max(2, round(height * 0.22)), height / 2
    for position, label in enumerate(classes):
        left = position * slot + slot * 0.12
        ImageDraw.Draw(dots).ellipse((left, middle - radius, left + 2 * radius, middle + radius), fill=1 + label)
        ImageDraw.Draw(text).text((left + 2.8 * radius, middle), class_name(class_names, label)[:8], fill=0,
                                  font=font, anchor="lm")
    marks = np.asarray(dots, np.int64)
    colours = (CLASS_BASE + (marks - 1) % len(CLASS_COLOURS)).astype(np.uint8)
    return np.where(marks > 0, colours, GREY_TO_INDEX[np.asarray(text, np.uint8)]).astype(np.uint8)


def export_timeline(timeline: Timeline | None, path: str | os.PathLike, fps: float = DEFAULT_FPS,
                    size: int = DEFAULT_SIZE, class_names: Sequence[str] = (), loop: bool = True,
                    progress: Callable[[float], None] | None = None) -> dict:
    """Write ``timeline`` as an animation by the path's suffix (.gif, .mp4, .webp or .apng): one frame
    per snapshot, the plot ``size`` px square. ``progress(fraction)`` may raise to cancel (nothing is
    written then). Returns {"path", "frames", "fps" (the rate really written), "width", "height",
    "first_step", "last_step"}. Raises ConfigError for bad options or no timeline, ExportError when
    the file cannot be written."""
    suffix = check_options(path, fps, size)
    if timeline is None or not timeline.snapshots:
        raise ConfigError("timeline", "this model file holds no training timeline (it was saved before "
                                      "timelines were recorded, or never trained); train or resume it to record one")
    frames = TimelineFrames(timeline, size, class_names)
    if suffix in (".gif", ".apng") and frames.nbytes > MAX_IN_MEMORY_BYTES:
        raise ConfigError("size", f"{len(frames)} frames of {frames.shape[2]}×{frames.shape[1]} px would need "
                                  f"{frames.nbytes / 1e9:.1f} GB of memory: choose a smaller size, or an MP4")
    written_fps = write_frames(frames, path, fps, loop, progress)
    return {"path": str(path), "frames": len(frames), "fps": written_fps,
            "width": int(frames.shape[2]), "height": int(frames.shape[1]),
            "first_step": int(timeline.snapshots[0].global_step), "last_step": int(timeline.snapshots[-1].global_step)}
