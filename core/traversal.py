"""Latent traversals: each latent dimension swept on its own around one digit's code, the other
dimensions held, decoded into a row of images (the disentangling-VAE literature's picture: Higgins et al.
2017, beta-VAE; Burgess et al. 2018). Rows are sorted by the dimension's KL over the data, most
informative first, and dimensions whose KL is below COLLAPSE_KL_THRESHOLD are flagged as collapsed.

The sweep's unit: for a VAE or CVAE, the prior's standard deviation, 1, so offsets -3..+3 cover the
prior's N(0, 1) range around the digit's mu whatever its posterior sigma (as beta-VAE's figures do; a
posterior sigma near 0 would show no change, and one near 1 means the dimension is collapsed).
An autoencoder has no sigma and no prior: its unit is the spread of its codes, the standard deviation of
mu_j over the data, so offsets -3..+3 cover the codes the encoder really produces.

Arrays in, arrays out (numpy): images float32 in [0, 1], figures in nats per digit.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from core.errors import ConfigError, ExportError, LatentMorphError
from core.evaluation import COLLAPSE_KL_THRESHOLD
from core.export import GRID_PADDING, MAX_SCALE, export_morph, tile_images, to_uint8_frames
from core.files import atomic_output
from core.latent import decode, encode
from core.losses import kl_per_dimension
from core.models import LatentModel

DEFAULT_STEPS = 11  # images per row: -3, -2.4, ..., 0, ..., +3; odd, so the middle one is the digit's mu
DEFAULT_RANGE = 3.0  # offsets run from -range to +range (prior sigmas, or code spreads for an AE)
MIN_STEPS, MAX_STEPS = 2, 51
MAX_RANGE = 10.0
PRIOR_SIGMA, CODE_SPREAD = "prior sigma", "code spread"  # Traversal.basis: the unit of the offsets
TRAVERSAL_FORMATS = (".png", ".gif")
DEFAULT_FPS = 8.0  # an animation frame per offset: 11 offsets there and back take 2.5 s
_TINY = float(np.finfo(np.float32).tiny)  # sigma floor before the log: an underflowed 0 would give KL = inf


@dataclass(frozen=True)
class DimensionSpread:
    """What each latent dimension carries over a set of digits (the test split)."""

    kl_per_dim: np.ndarray | None  # (latent,) float64 mean KL(q(z_j|x) || N(0, 1)), nats per digit; None for an AE
    code_std: np.ndarray  # (latent,) float64 standard deviation of mu_j over the digits, latent units

    @property
    def latent_dim(self) -> int:
        return len(self.code_std)

    @property
    def collapsed(self) -> np.ndarray:
        """(latent,) bool: mean KL below COLLAPSE_KL_THRESHOLD nats (q(z_j|x) is the prior for every x).
        All False for an autoencoder, which has no KL to judge by."""
        if self.kl_per_dim is None:
            return np.zeros(self.latent_dim, bool)
        return self.kl_per_dim < COLLAPSE_KL_THRESHOLD

    @property
    def order(self) -> np.ndarray:
        """(latent,) int64: the dimensions by KL, most first (an AE's by code spread); ties keep index order."""
        key = self.kl_per_dim if self.kl_per_dim is not None else self.code_std
        return np.argsort(-np.asarray(key), kind="stable").astype(np.int64)

    @property
    def step_scale(self) -> np.ndarray:
        """(latent,) latent units per unit of offset: the prior's sigma (1) for a VAE, the code spread for an AE."""
        return np.ones(self.latent_dim) if self.kl_per_dim is not None else self.code_std.copy()

    @property
    def basis(self) -> str:
        return PRIOR_SIGMA if self.kl_per_dim is not None else CODE_SPREAD


def spread_from_codes(mu: np.ndarray, sigma: np.ndarray | None) -> DimensionSpread:
    """The spread of already encoded digits: mu (N, latent) and posterior sigma (N, latent), None for an AE.

    The KL is core.losses.kl_per_dimension's, averaged over the N digits: the same figure as
    core.evaluation's ``kl_per_dim`` over the same digits."""
    mu64 = np.asarray(mu, np.float64)
    if mu64.ndim != 2 or len(mu64) == 0:
        raise ConfigError("codes", f"expected codes (count, latent) with count >= 1, got shape {mu64.shape}")
    kl = None
    if sigma is not None:
        logvar = 2.0 * np.log(np.maximum(np.asarray(sigma, np.float64), _TINY))  # (N, latent)
        kl = kl_per_dimension(torch.from_numpy(mu64), torch.from_numpy(logvar)).mean(dim=0).numpy()
    return DimensionSpread(kl, mu64.std(axis=0))


def data_spread(model: LatentModel, images: torch.Tensor, labels: torch.Tensor | None) -> DimensionSpread:
    """Encode images (N, C, H, W) in [0, 1] (with their labels, for a CVAE) and measure their spread."""
    mu, sigma = encode(model, images, labels if model.config.is_conditional else None)
    return spread_from_codes(mu, sigma)


@dataclass(frozen=True)
class Traversal:
    """A decoded traversal grid: row r sweeps latent dimension ``order[r]`` alone, column s sets it to
    mu + offsets[s] * step_scale[r]. Per-dimension fields are in row order."""

    images: np.ndarray  # (rows, steps, H, W) float32 in [0, 1]
    offsets: np.ndarray  # (steps,) float32 from -range to +range, in units of ``basis``
    order: np.ndarray  # (rows,) int64: the latent dimension each row moves, most KL first
    kl_per_dim: np.ndarray | None  # (rows,) mean KL over the data, nats per digit; None for an AE
    collapsed: np.ndarray  # (rows,) bool: KL below COLLAPSE_KL_THRESHOLD
    step_scale: np.ndarray  # (rows,) latent units per unit of offset
    center: np.ndarray  # (latent,) float32: the digit's mu, where every row passes through
    label: int | None  # the class a CVAE decodes under; None for the other kinds
    basis: str  # PRIOR_SIGMA or CODE_SPREAD: what one unit of offset is

    @property
    def rows(self) -> int:
        return len(self.order)

    @property
    def steps(self) -> int:
        return len(self.offsets)

    @property
    def middle(self) -> int | None:
        """The column at offset 0 (the digit's own reconstruction), None for an even number of steps."""
        zero = np.flatnonzero(self.offsets == 0)
        return int(zero[0]) if len(zero) else None

    def without_collapsed(self) -> Traversal:
        """The rows of dimensions that are not collapsed (all rows for an AE)."""
        keep = ~self.collapsed
        return replace(self, images=self.images[keep], order=self.order[keep], collapsed=self.collapsed[keep],
                       step_scale=self.step_scale[keep],
                       kl_per_dim=None if self.kl_per_dim is None else self.kl_per_dim[keep])


def check_traversal_settings(steps: int, range_: float) -> None:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not MIN_STEPS <= steps <= MAX_STEPS:
        raise ConfigError("steps", f"must be from {MIN_STEPS} to {MAX_STEPS}, got {steps!r}")
    if not (math.isfinite(range_) and 0 < range_ <= MAX_RANGE):
        raise ConfigError("range", f"must be more than 0 and at most {MAX_RANGE:g}, got {range_!r}")


def _check_center(center: np.ndarray, latent_dim: int) -> np.ndarray:
    center = np.asarray(center, np.float32).reshape(-1)
    if len(center) != latent_dim:
        raise ConfigError("code", f"the code has {len(center)} values but the model's latent space has "
                                  f"{latent_dim} dimensions")
    return center


def traversal_offsets(steps: int = DEFAULT_STEPS, range_: float = DEFAULT_RANGE) -> np.ndarray:
    """(steps,) float32 evenly from -range_ to +range_; an odd count has an exact 0 in the middle."""
    check_traversal_settings(steps, range_)
    offsets = np.linspace(-range_, range_, steps, dtype=np.float64)
    if steps % 2:
        offsets[steps // 2] = 0.0  # exactly mu, not mu + 1e-16
    return offsets.astype(np.float32)


def traversal_latents(center: np.ndarray, order: np.ndarray, offsets: np.ndarray,
                      step_scale: np.ndarray) -> np.ndarray:
    """(rows, steps, latent) float32: z[r, s] = center with dimension order[r] moved by offsets[s] * step_scale[r]."""
    center = np.asarray(center, np.float32)
    rows = np.arange(len(order))
    z = np.broadcast_to(center, (len(order), len(offsets), len(center))).copy()  # (rows, steps, latent)
    z[rows, :, order] += np.outer(step_scale, offsets).astype(np.float32)
    return z


def traverse(model: LatentModel, center: np.ndarray, spread: DimensionSpread, label: int | None = None,
             steps: int = DEFAULT_STEPS, range_: float = DEFAULT_RANGE) -> Traversal:
    """Decode the traversal grid of every latent dimension around ``center`` (a digit's mu, (latent,)),
    rows sorted by ``spread``'s KL. A CVAE decodes every image under ``label``, the digit's class.
    One decoder pass for the whole grid (rows * steps images)."""
    config = model.config
    center = _check_center(center, config.latent_dim)
    if spread.latent_dim != config.latent_dim:
        raise ConfigError("spread", f"measured for {spread.latent_dim} dimensions; the model has {config.latent_dim}")
    offsets = traversal_offsets(steps, range_)
    order = spread.order
    scale = spread.step_scale[order]
    z = traversal_latents(center, order, offsets, scale)  # (rows, steps, latent)
    images = decode(model, z.reshape(-1, config.latent_dim), label if config.is_conditional else None)
    images = images.reshape(len(order), steps, *images.shape[1:])  # (rows, steps, H, W)
    kl = None if spread.kl_per_dim is None else spread.kl_per_dim[order]
    return Traversal(images, offsets, order, kl, spread.collapsed[order], scale, center,
                     int(label) if config.is_conditional and label is not None else None, spread.basis)


def traverse_image(model: LatentModel, image: torch.Tensor, spread: DimensionSpread, label: int | None = None,
                   steps: int = DEFAULT_STEPS, range_: float = DEFAULT_RANGE) -> Traversal:
    """``traverse`` around the code of one image (C, H, W) in [0, 1] (a CVAE's encoder also gets ``label``)."""
    labels = torch.tensor([label]) if model.config.is_conditional and label is not None else None
    mu, _ = encode(model, image.reshape(1, *model.config.image_shape), labels)
    return traverse(model, mu[0], spread, label, steps, range_)


@dataclass(frozen=True)
class SliderPreview:
    """The image at a point set by one slider per dimension, and each slider's end thumbnails."""

    image: np.ndarray  # (H, W) float32 in [0, 1]: decoded at center + offsets * step_scale
    ends: np.ndarray  # (latent, 2, H, W): dimension j moved to -range_ and +range_, the others where they are


def slider_preview(model: LatentModel, center: np.ndarray, offsets: np.ndarray, step_scale: np.ndarray,
                   range_: float = DEFAULT_RANGE, label: int | None = None) -> SliderPreview:
    """Decode the sliders' point and, for each dimension, where its slider's two ends lead (GANSlider's
    previews); offsets (latent,) in units of ``step_scale`` (latent,). One decoder pass of 1 + 2*latent images."""
    latent_dim = model.config.latent_dim
    center = _check_center(center, latent_dim)
    point = center + np.asarray(offsets, np.float32) * np.asarray(step_scale, np.float32)  # (latent,)
    ends = np.broadcast_to(point, (latent_dim, 2, latent_dim)).copy()  # (latent, 2, latent)
    dims = np.arange(latent_dim)
    ends[dims, 0, dims] = center - range_ * step_scale
    ends[dims, 1, dims] = center + range_ * step_scale
    images = decode(model, np.concatenate([point[None], ends.reshape(-1, latent_dim)]),
                    label if model.config.is_conditional else None)
    return SliderPreview(images[0], images[1:].reshape(latent_dim, 2, *images.shape[1:]))


# --- files: the labelled PNG grid and the animation ------------------------------------------------------

HEADER_LINES = 1  # a line of offsets above the columns


def row_label(traversal: Traversal, row: int) -> str:
    """'z3  2.41 nats', 'z7  0.01 nats  collapsed', or an AE's 'z3  std 1.20': the dimension and its KL."""
    dim = int(traversal.order[row])
    if traversal.kl_per_dim is None:
        return f"z{dim}  std {traversal.step_scale[row]:.2f}"
    text = f"z{dim}  {traversal.kl_per_dim[row]:.2f} nats"
    return text + "  collapsed" if traversal.collapsed[row] else text


def offset_label(traversal: Traversal, column: int) -> str:
    """'-3', 'mu', '+3': a column's offset (ASCII: Pillow's built-in font has no Greek letters)."""
    offset = float(traversal.offsets[column])
    return "mu" if offset == 0 else f"{offset:+.3g}"


def basis_label(traversal: Traversal) -> str:
    """What one unit of offset is, said above the row labels."""
    return "offset x prior sd" if traversal.basis == PRIOR_SIGMA else "offset x code sd"


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # scalable when Pillow has FreeType
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


@dataclass(frozen=True)
class PngLayout:
    """Where things lie in the PNG ``save_traversal_png`` writes, in pixels."""

    width: int
    height: int
    left: int  # the tile grid's left edge (after the row labels)
    top: int  # the tile grid's top edge (below the offsets)
    tile: tuple[int, int]  # (height, width) of one scaled tile
    padding: int  # grey pixels between tiles and around the grid

    def tile_origin(self, row: int, column: int) -> tuple[int, int]:
        """(x, y) of the top-left pixel of tile (row, column)."""
        return (self.left + self.padding + column * (self.tile[1] + self.padding),
                self.top + self.padding + row * (self.tile[0] + self.padding))


def png_layout(traversal: Traversal, scale: int = 2) -> PngLayout:
    """The geometry of the labelled grid at ``scale``: labels to the left, offsets above, tiles as
    core.export.save_image_grid lays them out (GRID_PADDING gutters)."""
    if not 1 <= scale <= MAX_SCALE:
        raise ConfigError("scale", f"must be from 1 to {MAX_SCALE}, got {scale}")
    height, width = traversal.images.shape[2:4]
    tile = (height * scale, width * scale)
    font = _font(_font_size(tile[0]))
    texts = [row_label(traversal, row) for row in range(traversal.rows)] + [basis_label(traversal)]
    label_width = max(font.getbbox(text)[2] for text in texts)
    left = label_width + 2 * _text_margin(tile[0])
    top = HEADER_LINES * (_font_size(tile[0]) + 2 * _text_margin(tile[0]))
    grid_w = traversal.steps * (tile[1] + GRID_PADDING) + GRID_PADDING
    grid_h = traversal.rows * (tile[0] + GRID_PADDING) + GRID_PADDING
    return PngLayout(left + grid_w, top + grid_h, left, top, tile, GRID_PADDING)


def _font_size(tile_height: int) -> int:
    return int(np.clip(round(0.3 * tile_height), 10, 24))


def _text_margin(tile_height: int) -> int:
    return max(3, _font_size(tile_height) // 3)


def save_traversal_png(traversal: Traversal, path: str | os.PathLike, scale: int = 2) -> dict:
    """Write the grid as one greyscale PNG, atomically: a label per row (the dimension and its KL, 'collapsed'
    where it is), the offsets above the first, middle and last columns. Returns {"path", "width", "height"}."""
    from PIL import Image, ImageDraw

    if traversal.rows == 0:
        raise ConfigError("rows", "there are no dimensions to draw")
    layout = png_layout(traversal, scale)
    pixels = to_uint8_frames(traversal.images.reshape(-1, *traversal.images.shape[2:]), scale)
    grid = tile_images(pixels, traversal.steps, padding=GRID_PADDING, margin=GRID_PADDING)
    canvas = Image.new("L", (layout.width, layout.height), 255)
    canvas.paste(Image.fromarray(np.ascontiguousarray(grid), mode="L"), (layout.left, layout.top))
    draw = ImageDraw.Draw(canvas)
    font = _font(_font_size(layout.tile[0]))
    margin = _text_margin(layout.tile[0])
    for row in range(traversal.rows):
        y = layout.tile_origin(row, 0)[1] + layout.tile[0] // 2
        draw.text((margin, y), row_label(traversal, row), fill=140 if traversal.collapsed[row] else 0, font=font,
                  anchor="lm")
    for column in sorted({0, traversal.middle if traversal.middle is not None else 0, traversal.steps - 1}):
        x = layout.tile_origin(0, column)[0] + layout.tile[1] // 2
        draw.text((x, layout.top // 2), offset_label(traversal, column), fill=0, font=font, anchor="mm")
    draw.text((margin, layout.top // 2), basis_label(traversal), fill=0, font=font, anchor="lm")
    target = Path(path)
    try:
        with atomic_output(target) as temp:
            canvas.save(temp, format="PNG")
    except LatentMorphError as exc:
        raise ExportError(str(exc)) from exc
    except (OSError, ValueError) as exc:
        raise ExportError(f"could not export {target}: {exc}") from exc
    return {"path": str(target), "width": layout.width, "height": layout.height}


def sweep_frames(traversal: Traversal, columns: int | None = None) -> np.ndarray:
    """(steps, H', W') float32: frame s tiles every row's image at offset s side by side, ``columns``
    tiles to a line (default: a square-ish block), rows in the grid's order (most KL first)."""
    if traversal.rows == 0:
        raise ConfigError("rows", "there are no dimensions to animate")
    columns = columns or math.ceil(math.sqrt(traversal.rows))
    return np.stack([tile_images(traversal.images[:, step], columns) for step in range(traversal.steps)])


def save_traversal_gif(traversal: Traversal, path: str | os.PathLike, scale: int = 2,
                       fps: float = DEFAULT_FPS) -> dict:
    """Write the animation: every dimension at once, each in its own tile, swept from -range to +range
    and back (core.export.export_morph, bounced, looping). Returns export_morph's {"path", "frames", "fps"}."""
    return export_morph(sweep_frames(traversal), path, scale=scale, fps=fps, bounce=True, loop=True)


def save_traversal(traversal: Traversal, path: str | os.PathLike, scale: int = 2, fps: float = DEFAULT_FPS) -> dict:
    """PNG grid or GIF animation by the path's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        return save_traversal_png(traversal, path, scale)
    if suffix == ".gif":
        return save_traversal_gif(traversal, path, scale, fps)
    raise ConfigError("out", f"{Path(path).name}: choose a .png (the grid) or .gif (the animation) file name")
