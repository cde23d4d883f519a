"""A training timeline: the encoded test points at moments of a run, to replay the clusters forming.

The trainer (``TimelineRecorder``, held by core.training.Trainer) takes a snapshot of the untrained
model, a few within the first epoch (at ``EARLY_FRACTIONS`` of it: clusters form fastest then) and
one at the end of every epoch. Each snapshot holds the float16 mu of the same test points (at most
``TIMELINE_POINTS``, chosen once per run with the seed and stored with their labels), their 2-D
display coordinates and the loss figures for a caption.

The count is bounded: past the cap, the snapshot whose neighbours lie closest together (in epochs) is
dropped, the oldest first on ties, so the rest thin out evenly. The first and the last are always kept,
and so are those within the first epoch (a bounded few: the clusters forming is what a replay is for).

The model file stores the timeline (core.files): float16 tensors plus a JSON list of the captions'
figures (``timeline_tensors``, ``timeline_metadata``, ``timeline_from``).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.latent import encode, fit_projection
from core.models import eval_mode

TIMELINE_POINTS = 10_000  # test points per snapshot: the latent view's SCATTER_LIMIT
MAX_SNAPSHOTS = 40  # after the first epoch's; a 2-D latent: 40 KB each, 1.6 MB in all
MIN_SNAPSHOTS = 8  # even for a wide latent whose snapshots are large
MAX_TIMELINE_BYTES = 32_000_000  # a wide latent keeps fewer snapshots, so the model file stays small
EARLY_FRACTIONS = (0.125, 0.25, 0.5)  # of the first epoch: snapshots taken within it
LOSS_WINDOW = 1 / 16  # of an epoch: a snapshot's training loss is the mean of the reports over this much
TENSOR_PREFIX = "timeline."


@dataclass(frozen=True)
class Snapshot:
    """The fixed test points as the model encoded them at one moment of training."""

    mu: np.ndarray = field(repr=False, compare=False)  # (N, latent) float16 posterior means
    plane: np.ndarray = field(repr=False, compare=False)  # (N, 2) float16: mu for a 2-D latent, its PCA beyond
    global_step: int = 0  # optimiser steps done when it was taken
    epoch: float = 0.0  # epochs of training done: global_step / steps_per_epoch
    loss: float = math.nan  # nats per sample: the training loss, mean of the reports over the last 1/16 epoch
    recon: float = math.nan
    kl: float = math.nan
    val_loss: float = math.nan  # the validation loss, at an epoch's end only

    @property
    def caption(self) -> str:
        """"epoch 3 · step 1,290 · loss 151.2 nats (validation 150.8)"; "before training" for the first."""
        if self.global_step == 0:
            return "before training · step 0"
        epoch = f"{self.epoch:.0f}" if abs(self.epoch - round(self.epoch)) < 1e-9 else f"{self.epoch:.2f}"
        text = f"epoch {epoch} · step {self.global_step:,}"
        if math.isfinite(self.loss):
            text += f" · loss {self.loss:.1f} nats"
        if math.isfinite(self.val_loss):
            text += f" (validation {self.val_loss:.1f})"
        return text


@dataclass(frozen=True)
class Timeline:
    """Snapshots of the same test points, oldest first. Immutable: ``with_snapshot`` makes a new one,
    so a run record can hand its timeline to another thread while training goes on."""

    indices: np.ndarray = field(repr=False, compare=False)  # (N,) int64 rows of the test split
    labels: np.ndarray = field(repr=False, compare=False)  # (N,) int64 their classes
    snapshots: tuple[Snapshot, ...] = ()
    max_snapshots: int = MAX_SNAPSHOTS  # after the first epoch's

    def __len__(self) -> int:
        return len(self.snapshots)

    @property
    def steps(self) -> np.ndarray:
        """(S,) the optimiser step of each snapshot."""
        return np.array([s.global_step for s in self.snapshots], np.int64)

    def with_snapshot(self, snapshot: Snapshot) -> "Timeline":
        """This timeline with ``snapshot`` added (one at the same step is replaced), thinned to the cap."""
        kept = [s for s in self.snapshots if s.global_step != snapshot.global_step] + [snapshot]
        kept.sort(key=lambda s: s.global_step)
        return replace(self, snapshots=tuple(thin(kept, self.max_snapshots)))

    def extent(self, margin: float = 0.05) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1): the plane range that holds all but the farthest 0.2% of points in every
        snapshot, with ``margin`` of it added around: one fixed view for the whole replay."""
        if not self.snapshots:
            return -1.0, 1.0, -1.0, 1.0
        every = np.concatenate([s.plane for s in self.snapshots]).astype(np.float32)
        every = every[np.isfinite(every).all(axis=1)]
        if not len(every):
            return -1.0, 1.0, -1.0, 1.0
        low, high = np.percentile(every, 0.1, axis=0), np.percentile(every, 99.9, axis=0)
        span = np.where(high - low > 1e-6, high - low, 1.0)
        low, high = low - margin * span, high + margin * span
        return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def thin(snapshots: list[Snapshot], cap: int) -> list[Snapshot]:
    """Drop snapshots until at most ``cap`` are left after the first epoch's: each time the one whose
    neighbours lie closest together (in epochs; the oldest on ties). First, last and first-epoch ones stay."""
    snapshots = list(snapshots)
    while sum(s.epoch > 1 for s in snapshots) > cap:
        times = np.array([s.epoch for s in snapshots])
        gaps = times[2:] - times[:-2]  # for interior i: t[i + 1] - t[i - 1]
        gaps[times[1:-1] <= 1] = np.inf  # the first epoch's stay
        if not np.isfinite(gaps).any():
            break
        del snapshots[1 + int(np.argmin(gaps))]
    return snapshots


def snapshot_cap(points: int, latent_dim: int) -> int:
    """How many snapshots (after the first epoch's) fit ``MAX_TIMELINE_BYTES`` for this many points."""
    per_snapshot = max(1, points) * (latent_dim + (2 if latent_dim > 2 else 0)) * 2  # float16
    return int(min(MAX_SNAPSHOTS, max(MIN_SNAPSHOTS, MAX_TIMELINE_BYTES // per_snapshot)))


def choose_points(count: int, seed: int, limit: int = TIMELINE_POINTS) -> np.ndarray:
    """Rows of a ``count``-image test split to follow: all of them up to ``limit``, else ``limit``
    drawn with ``seed``, in order. Shape (min(count, limit),) int64."""
    if count <= limit:
        return np.arange(count, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(count, limit, replace=False)).astype(np.int64)


def plane_of(mu: np.ndarray, previous: Snapshot | None = None) -> np.ndarray:
    """Display coordinates (N, 2) of mu (N, latent): mu itself for a 1- or 2-D latent (core.latent's
    identity projection); beyond, its own PCA with each axis's sign turned to follow ``previous``'s plane,
    so the points do not flip from one snapshot to the next."""
    projection = fit_projection(mu)
    plane = projection.to_plane(mu)
    if mu.shape[1] > 2 and previous is not None and len(previous.plane) == len(plane):
        agree = np.sum(plane * previous.plane.astype(np.float32), axis=0)  # (2,) per axis
        plane = plane * np.where(agree < 0, -1.0, 1.0).astype(np.float32)
    return plane


def make_snapshot(mu: np.ndarray, previous: Snapshot | None = None, **figures: Any) -> Snapshot:
    """A snapshot of mu (N, latent) float32: stored as float16, with its plane (``plane_of``)."""
    mu16 = np.asarray(mu, np.float32).astype(np.float16)
    plane = mu16 if mu16.shape[1] == 2 else plane_of(np.asarray(mu, np.float32), previous).astype(np.float16)
    return Snapshot(mu16, plane, **figures)


class TimelineRecorder:
    """Takes a run's snapshots for core.training.Trainer, which calls ``begin`` once, ``after_report``
    after each step report and ``after_epoch`` at each epoch's end; ``timeline`` is the record's.

    images (M, C, H, W) and labels (M,) are the test split, on the training device. ``bf16``: encode
    under bfloat16 autocast, as training does where it is fast (core.device.uses_bf16_autocast)."""

    def __init__(self, images: Tensor, labels: Tensor, latent_dim: int, conditional: bool, seed: int,
                 steps_per_epoch: int, bf16: bool = False, resumed: Timeline | None = None) -> None:
        self._images, self._labels = images, labels
        self._conditional, self._bf16 = conditional, bf16
        self.steps_per_epoch = max(1, steps_per_epoch)
        test_labels = labels.detach().cpu().numpy().astype(np.int64)
        if resumed is not None and fits(resumed, test_labels):
            self.timeline: Timeline | None = resumed
        elif len(test_labels):
            indices = choose_points(len(test_labels), seed)
            self.timeline = Timeline(indices, test_labels[indices], (), snapshot_cap(len(indices), latent_dim))
        else:
            self.timeline = None  # no test split: nothing to follow
        follows_all = self.timeline is not None and len(self.timeline.indices) == len(images)  # rows 0..M-1
        # the latest step reports' (loss, recon, kl): a caption's loss is their mean, not one noisy batch's
        self._recent: deque[tuple[float, float, float]] = deque(maxlen=max(1, round(LOSS_WINDOW * steps_per_epoch)))
        self._rows = (torch.as_tensor(self.timeline.indices, device=images.device)
                      if self.timeline is not None and not follows_all else None)
        self.last_encoding: Encoding | None = None  # of every test image; None while the timeline picks a few
        # the global steps of the first epoch's snapshots (its end has its own)
        self._early = sorted({min(self.steps_per_epoch - 1, max(1, round(f * self.steps_per_epoch)))
                              for f in EARLY_FRACTIONS})

    def begin(self, model, global_step: int) -> None:
        """Start of a run: snapshot the model unless the timeline (a resumed one) already has this moment."""
        self._early = [step for step in self._early if step > global_step]
        if self.timeline is not None and not any(s.global_step == global_step for s in self.timeline.snapshots):
            self._take(model, global_step)

    def after_report(self, model, global_step: int, loss: float, recon: float, kl: float) -> None:
        """After a step report (its figures in nats per sample): a snapshot when the run has passed the
        next of the first epoch's moments."""
        self._recent.append((loss, recon, kl))
        if not self._early or global_step < self._early[0]:
            return
        self._early = [step for step in self._early if step > global_step]
        self._take(model, global_step)

    def after_epoch(self, model, global_step: int, val_loss: float) -> None:
        """At an epoch's end (after validation): its snapshot, with the validation loss."""
        self._take(model, global_step, val_loss=val_loss)

    @torch.no_grad()
    def _take(self, model, global_step: int, **figures: float) -> None:
        if self.timeline is None:
            return
        rows = self._rows  # None: every test image, in order (no copy of them)
        images = self._images if rows is None else self._images[rows]  # (N, C, H, W)
        labels = (self._labels if rows is None else self._labels[rows]) if self._conditional else None
        precision = (torch.autocast(self._images.device.type, dtype=torch.bfloat16) if self._bf16
                     else contextlib.nullcontext())
        with eval_mode(model), precision:
            mu, sigma = encode(model, images, labels)
        if rows is None:  # the whole test split, in order: the window's scatter can use it as it is
            self.last_encoding = Encoding(global_step, mu, sigma, exact=not self._bf16)
        previous = self.timeline.snapshots[-1] if self.timeline.snapshots else None
        if self._recent:
            figures.update(zip(("loss", "recon", "kl"), np.mean(self._recent, axis=0).tolist()))
        snapshot = make_snapshot(mu, previous, global_step=global_step, epoch=global_step / self.steps_per_epoch,
                                 **figures)
        self.timeline = self.timeline.with_snapshot(snapshot)


@dataclass(frozen=True)
class Encoding:
    """The recorder's latest encoding of the whole test split, kept for the window to show as its
    scatter at the same step (gui/training_worker.py), so the same weights are not encoded twice."""

    global_step: int  # optimiser steps done when it was taken
    mu: np.ndarray = field(repr=False)  # (M, latent) float32, the test split's rows in order
    sigma: np.ndarray | None = field(repr=False)  # (M, latent) float32; None for an autoencoder
    exact: bool  # False when encoded under bf16 autocast (about 3 significant digits)


def fits(timeline: Timeline, test_labels: np.ndarray) -> bool:
    """True when ``timeline`` follows points of this test split: its rows exist and hold its labels."""
    indices = timeline.indices
    return (len(indices) > 0 and int(indices.max()) < len(test_labels)
            and np.array_equal(test_labels[indices], timeline.labels))


# ----- the model file: float16 tensors, figures as JSON -----

_FIGURES = ("global_step", "epoch", "loss", "recon", "kl", "val_loss")


def timeline_tensors(timeline: Timeline | None) -> dict[str, Tensor]:
    """The tensors core.files writes: indices, labels, mu (S, N, latent) float16 and, beyond a 2-D
    latent, plane (S, N, 2) float16. None or an empty timeline: none."""
    if timeline is None or not timeline.snapshots:
        return {}
    tensors = {TENSOR_PREFIX + "indices": torch.from_numpy(np.ascontiguousarray(timeline.indices, np.int64)),
               TENSOR_PREFIX + "labels": torch.from_numpy(np.ascontiguousarray(timeline.labels, np.int64)),
               TENSOR_PREFIX + "mu": torch.from_numpy(np.stack([s.mu for s in timeline.snapshots]))}
    if timeline.snapshots[0].mu.shape[1] != 2:
        tensors[TENSOR_PREFIX + "plane"] = torch.from_numpy(np.stack([s.plane for s in timeline.snapshots]))
    return tensors


def timeline_metadata(timeline: Timeline | None) -> str:
    """The JSON core.files writes beside the tensors: each snapshot's figures ("" for no timeline)."""
    if timeline is None or not timeline.snapshots:
        return ""
    rows = [{name: _json_number(getattr(s, name)) for name in _FIGURES} for s in timeline.snapshots]
    return json.dumps({"max_snapshots": timeline.max_snapshots, "snapshots": rows}, allow_nan=False)


def timeline_from(tensors: dict[str, Tensor], text: str) -> Timeline | None:
    """Read ``timeline_tensors`` + ``timeline_metadata`` back; None when the file has no timeline
    (one written before timelines existed). Raises ValueError when it is inconsistent."""
    if not text:
        return None
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("snapshots"), list):
        raise ValueError("the timeline should be a JSON object with a list of snapshots")
    try:
        indices = tensors[TENSOR_PREFIX + "indices"].numpy().astype(np.int64)
        labels = tensors[TENSOR_PREFIX + "labels"].numpy().astype(np.int64)
        mu = tensors[TENSOR_PREFIX + "mu"]
    except KeyError as exc:
        raise ValueError(f"the timeline's tensor {exc} is missing") from None
    rows = data["snapshots"]
    count, points = len(rows), len(indices)
    if mu.dtype != torch.float16 or mu.dim() != 3 or tuple(mu.shape[:2]) != (count, points) or len(labels) != points:
        raise ValueError(f"the timeline's tensors do not fit its {count} snapshots of {points} points")
    planes = tensors.get(TENSOR_PREFIX + "plane")
    if mu.shape[2] != 2 and (planes is None or tuple(planes.shape) != (count, points, 2)):
        raise ValueError("the timeline of a latent beyond 2-D needs its plane coordinates")
    snapshots = []
    for index, row in enumerate(rows):
        values = {name: _figure(row, name) for name in _FIGURES}
        values["global_step"] = int(values["global_step"])
        mu_s = mu[index].numpy()
        if planes is not None:
            plane = planes[index].numpy().astype(np.float16)
        else:  # a 2-D latent is its own plane; a 1-D one is drawn along y = 0
            plane = mu_s if mu_s.shape[1] == 2 else plane_of(mu_s.astype(np.float32)).astype(np.float16)
        snapshots.append(Snapshot(mu_s, plane, **values))
    cap = data.get("max_snapshots", MAX_SNAPSHOTS)
    if not isinstance(cap, int) or cap < 1:
        raise ValueError(f"the timeline's max_snapshots must be a positive whole number, got {cap!r}")
    return Timeline(indices, labels, tuple(snapshots), cap)


def _json_number(value: float | int) -> float | int | None:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _figure(row: Any, name: str) -> float:
    if not isinstance(row, dict):
        raise ValueError("each timeline snapshot should be a JSON object")
    value = row.get(name)
    if value is None:
        if name in ("global_step", "epoch"):
            raise ValueError(f"a timeline snapshot has no {name}")
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"a timeline snapshot's {name} must be a number, got {value!r}")
    return float(value)

