"""Frames worth putting on a slide: the decoded digit at any size from 28 to 1,024 px, optionally the
latent map beside it (the scatter in the app's class colours, the path drawn, a dot moving along it)
and a caption under it (the waypoints' classes and t). Pillow + numpy only: core draws no Qt.

A frame with the map is drawn in palette indices (an 8-bit "P" image) over one fixed palette
(``PALETTE``): the few drawing colours, the ten class colours and a grey ramp for the digit and the
caption. A GIF stores those indices as they are, so its colours are exact and nothing is quantised;
the other formats take each index's RGB. A frame without the map stays grey ("L").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.class_colours import CLASS_COLOURS
from core.errors import ConfigError
from core.latent import Projection, waypoint_path

MIN_SIZE, MAX_SIZE = 28, 1024  # px: the digit's side in an export
UPSCALES = ("nearest", "smooth")  # crisp pixels, or Lanczos resampling
CURVE_SAMPLES = 128  # a slerp drawn through few points would look like a polyline
CAPTION_SHARE = 0.12  # the caption band's height, as a share of the digit's side
MIN_CAPTION_PX = 12
MAP_PADDING = 0.05  # the map's margin around the points and the path, as a share of their range
ROUTE_MARK = " › "  # between classes in a caption (the default font has no arrow)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


# palette indices: the drawing colours, then one per class, then the grey ramp
WHITE, INK, DOT, BORDER = 0, 1, 2, 3
CLASS_BASE = 4
GREY_BASE = CLASS_BASE + len(CLASS_COLOURS)
GREY_LEVELS = 256 - GREY_BASE  # 242 greys: a digit loses at most half a level of 255 (invisible)
_DRAWING = [(255, 255, 255), _rgb("#222222"), _rgb("#D62728"), _rgb("#999999")]  # as the latent view draws them
_GREYS = np.rint(np.linspace(0, 255, GREY_LEVELS)).astype(np.uint8)
PALETTE = np.array(_DRAWING + [_rgb(c) for c in CLASS_COLOURS] + [(g, g, g) for g in _GREYS], np.uint8)  # (256, 3)
GREY_TO_INDEX = (GREY_BASE + np.rint(np.arange(256) * (GREY_LEVELS - 1) / 255)).astype(np.uint8)  # (256,)
UNLABELLED = GREY_BASE + GREY_LEVELS * 3 // 4  # a light grey for points without a class


def check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ConfigError("size", f"must be from {MIN_SIZE} to {MAX_SIZE} px, got {size!r}")


def check_upscale(upscale: str) -> None:
    if upscale not in UPSCALES:
        raise ConfigError("upscale", f"must be {' or '.join(UPSCALES)}, got {upscale!r}")


@dataclass(frozen=True)
class MapScene:
    """What the map shows, in the latent view's plane coordinates (the latents themselves for a 2-D model)."""

    points: np.ndarray  # (N, 2) the encoded test digits
    labels: np.ndarray | None  # (N,) their classes; None draws them all in grey
    path: np.ndarray  # (M, 2) the path as drawn: through the waypoints, densely along a slerp
    frames: np.ndarray  # (T, 2) each frame's place: where the dot is drawn, frame by frame
    waypoints: np.ndarray  # (K, 2) the picked points, in order


def path_curve(waypoints: np.ndarray, path: str, projection: Projection) -> np.ndarray:
    """The path through waypoints (K, latent) as drawn on the plane: (M, 2). Straight legs stay
    straight under the (linear) projection, so a lerp is its waypoints; a slerp is sampled densely."""
    waypoints = np.asarray(waypoints, np.float32)
    if path == "slerp":
        waypoints = waypoint_path(waypoints, max(CURVE_SAMPLES, 8 * len(waypoints)), "slerp")
    return projection.to_plane(waypoints)


def morph_scene(points: np.ndarray, labels: np.ndarray | None, projection: Projection, latents: np.ndarray,
                waypoints: np.ndarray, path: str) -> MapScene:
    """The map of a morph: points (N, 2) already on the plane, the frames' latents (T, latent) and the
    waypoints (K, latent) projected with ``projection``; ``path`` is "linear" or "slerp"."""
    return MapScene(np.asarray(points, np.float32).reshape(-1, 2), None if labels is None else np.asarray(labels),
                    path_curve(waypoints, path, projection), projection.to_plane(np.asarray(latents, np.float32)),
                    projection.to_plane(np.asarray(waypoints, np.float32)))


def caption_height(digit_height: int) -> int:
    """Height in px of the caption band under frames whose digit is ``digit_height`` px tall."""
    return max(MIN_CAPTION_PX, round(digit_height * CAPTION_SHARE))


def morph_captions(names: Sequence[str], count: int) -> tuple[str, ...]:
    """One caption per frame of a ``count``-frame morph through waypoints named ``names``:
    "1 › 7   t = 0.43", t being the frame's place in the morph from 0 (first) to 1 (last)."""
    route = ROUTE_MARK.join(names)
    return tuple(f"{route}   t = {index / max(1, count - 1):.2f}" for index in range(count))


def _disc(radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets (dy, dx) within ``radius`` of a centre pixel."""
    reach = int(np.floor(radius))
    dy, dx = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    inside = dy ** 2 + dx ** 2 <= radius ** 2 + 1e-9
    return dy[inside], dx[inside]


class MapPainter:
    """Draws the map of ``scene`` on a ``side`` x ``side`` panel: the background (points, path,
    waypoints) once, then the dot at each frame's place. Returns palette indices (side, side) uint8."""

    def __init__(self, scene: MapScene, side: int) -> None:
        from PIL import Image, ImageDraw

        self.side = side
        self._scale_and_offset(scene)
        canvas = np.full((side, side), WHITE, np.uint8)
        if len(scene.points):
            rows, cols = self.to_pixels(scene.points)
            colours = (np.full(len(rows), UNLABELLED, np.uint8) if scene.labels is None
                       else (CLASS_BASE + np.asarray(scene.labels) % len(CLASS_COLOURS)).astype(np.uint8))
            for dy, dx in zip(*_disc(side / 220)):  # 1 px at 28 px, a 5-px cross at 280, a disc beyond
                r, c = rows + dy, cols + dx
                keep = (r >= 0) & (r < side) & (c >= 0) & (c < side)
                canvas[r[keep], c[keep]] = colours[keep]
        image = Image.fromarray(canvas, mode="L")  # the values are palette indices, drawn without smoothing
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, side - 1, side - 1), outline=BORDER)
        line = [(float(c), float(r)) for r, c in zip(*self.to_pixels(scene.path))]
        if len(line) >= 2:
            draw.line(line, fill=INK, width=max(1, round(side / 140)), joint="curve")
        marker = max(2, round(side / 45))
        for r, c in zip(*self.to_pixels(scene.waypoints)):
            draw.ellipse((c - marker, r - marker, c + marker, r + marker), fill=WHITE, outline=INK,
                         width=max(1, round(side / 200)))
        self.background = np.asarray(image, np.uint8).copy()
        self.dots = np.stack(self.to_pixels(scene.frames), axis=1)  # (T, 2) row, column
        radius = max(2.0, side / 40)
        self._ring, self._fill = _disc(radius + max(1.0, radius / 3)), _disc(radius)

    def _scale_and_offset(self, scene: MapScene) -> None:
        shown = [np.asarray(a, np.float64).reshape(-1, 2) for a in (scene.points, scene.path, scene.frames,
                                                                     scene.waypoints)]
        every = np.concatenate(shown)
        every = every[np.isfinite(every).all(axis=1)]
        low, high = (every.min(axis=0), every.max(axis=0)) if len(every) else (np.zeros(2), np.ones(2))
        span = np.where(high - low > 1e-9, high - low, 2.0)
        centre = (low + high) / 2
        self._low = centre - span * (0.5 + MAP_PADDING)
        self._pixels_per_unit = (self.side - 1) / (span * (1 + 2 * MAP_PADDING))  # x and y each fill the panel

    def to_pixels(self, plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Plane coordinates (N, 2) -> (rows, columns) int: y points up, rows run down."""
        plane = np.nan_to_num(np.asarray(plane, np.float64).reshape(-1, 2))
        xy = np.rint((plane - self._low) * self._pixels_per_unit).astype(np.int64)
        return self.side - 1 - xy[:, 1], xy[:, 0]

    def frame(self, index: int) -> np.ndarray:
        """The map with the dot at frame ``index``'s place: (side, side) palette indices."""
        canvas = self.background.copy()
        row, col = self.dots[index]
        for (dy, dx), colour in ((self._ring, WHITE), (self._fill, DOT)):
            r, c = row + dy, col + dx
            keep = (r >= 0) & (r < self.side) & (c >= 0) & (c < self.side)
            canvas[r[keep], c[keep]] = colour
        return canvas


def _font(pixels: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=pixels)  # Pillow >= 10.1 with FreeType: a scalable font
    except (TypeError, ImportError, OSError):
        return ImageFont.load_default()


class CaptionPainter:
    """One line of dark text centred on a white band ``width`` x ``height`` px: (height, width) uint8 grey.
    The font fills most of the band and shrinks to fit the longest of ``texts``."""

    def __init__(self, texts: Sequence[str], width: int, height: int) -> None:
        self.width, self.height = width, height
        longest = max(texts, key=len) if texts else ""
        pixels = max(6, round(height * 0.7))
        font = _font(pixels)
        while pixels > 6 and _text_width(font, longest) > width - 4:
            pixels -= 1
            font = _font(pixels)
        self._font = font

    def band(self, text: str) -> np.ndarray:
        from PIL import Image, ImageDraw

        image = Image.new("L", (self.width, self.height), 255)
        ImageDraw.Draw(image).text((self.width / 2, self.height / 2), text, fill=0, font=self._font, anchor="mm")
        return np.asarray(image, np.uint8)


def _text_width(font, text: str) -> float:
    return font.getlength(text) if hasattr(font, "getlength") else font.getbbox(text)[2]


def upscale(pixels: np.ndarray, height: int, width: int, method: str = "nearest") -> np.ndarray:
    """One grey image (h, w) uint8 -> (height, width) uint8: whole-number enlargements repeat pixels,
    other nearest-neighbour sizes pick them, "smooth" resamples with Lanczos."""
    h, w = pixels.shape
    if (h, w) == (height, width):
        return np.ascontiguousarray(pixels)
    if method == "nearest" and height % h == 0 and width % w == 0:
        return np.ascontiguousarray(pixels.repeat(height // h, axis=0).repeat(width // w, axis=1))
    from PIL import Image

    resample = Image.Resampling.NEAREST if method == "nearest" else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(pixels, mode="L").resize((width, height), resample), np.uint8)
