"""What a model's images *are*, read by the digit judge (core.judge), and how well its codes sort
the classes. All figures are shares in [0, 1] (of images or of test codes).

- Prior-sample quality: draws z ~ N(0, I) decoded and read by the judge: its mean confidence,
  the class histogram (counts), and the share read with confidence > CONFIDENT. A model whose
  prior holes decode to blurs scores low; one that never makes some digit shows a gap.
- Conditional fidelity (CVAE): the share of the images generated for class c that the judge reads
  as c, per class and their mean.
- Reconstruction accuracy: the share of test images whose reconstruction, decoded from mu, the
  judge reads as the image's label.
- kNN accuracy: the test codes (mu) classified by their k = 5 nearest other test codes, leave-one-
  out on the test split (Euclidean; a tie goes to the class of the nearest among the tied). Needs
  no judge, so it is given for any labelled dataset.

The shipped judge reads MNIST digits; another dataset is read by a judge trained for it
(core.judge_training, cached beside the data). Without one, the judge's figures are left out and
``judge_note`` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.judge import Judge, JudgeUnavailable, find_judge
from core.latent import decode, encode, generate
from core.models import LatentModel

CONFIDENT = 0.9  # a draw counts as a clear digit when the judge gives it more than this
KNN_NEIGHBOURS = 5
KNN_BLOCK = 1024  # test codes per distance block: (block, N) float32 at once


@dataclass(frozen=True)
class PriorQuality:
    """The judge's reading of prior draws (a CVAE's: of every class's draws together)."""

    samples: int
    mean_confidence: float
    class_histogram: list[int]  # (classes,) how many draws the judge read as each class
    confident_share: float  # share of draws read with confidence > CONFIDENT


@dataclass(frozen=True)
class ConditionalFidelity:
    """A CVAE's images generated for class c, read as c: per class (None for a class with no draws)."""

    per_class: list[float | None]
    mean: float


@dataclass(frozen=True)
class GenerationMetrics:
    """Everything this module measures for one model; the judge's figures are None when not read."""

    knn_accuracy: float | None
    prior: PriorQuality | None = None
    conditional_fidelity: ConditionalFidelity | None = None
    recon_judge_accuracy: float | None = None
    judge_note: str | None = None  # why the judge's figures are missing; None when they are there

    def fields(self) -> dict[str, Any]:
        """The figures as ``evaluate`` prints them. The judge's fields are absent, not null, when the
        judge did not read this model; ``judge_note`` then says why. conditional_fidelity: CVAE only."""
        out: dict[str, Any] = {"knn_accuracy": self.knn_accuracy}
        if self.judge_note is not None:
            out["judge_note"] = self.judge_note
            return out
        if self.prior is not None:
            out.update(prior_confidence=self.prior.mean_confidence,
                       prior_class_histogram=list(self.prior.class_histogram),
                       prior_confident_share=self.prior.confident_share, prior_samples=self.prior.samples)
        if self.conditional_fidelity is not None:
            out["conditional_fidelity"] = {"per_class": list(self.conditional_fidelity.per_class),
                                           "mean": self.conditional_fidelity.mean}
        out["recon_judge_accuracy"] = self.recon_judge_accuracy
        return out


def class_counts(model: LatentModel, samples: int) -> list[int]:
    """How many of ``samples`` draws a CVAE makes for each class: an even share, the first
    ``samples % classes`` classes one more."""
    classes = model.config.num_classes
    return [samples // classes + (1 if c < samples % classes else 0) for c in range(classes)]


def prior_draws(model: LatentModel, samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """``samples`` images decoded from z ~ N(0, I): (samples, H, W), and for a CVAE the class each
    was generated for (samples,). A CVAE's draws are shared evenly among its classes, every class
    decoding the same z's (one seed), so the classes differ in their condition only."""
    if not model.config.is_conditional:
        return generate(model, samples, seed=seed), None
    images, labels = [], []
    for label, count in enumerate(class_counts(model, samples)):
        if count:
            images.append(generate(model, count, label, seed=seed))
            labels.append(np.full(count, label, np.int64))
    return np.concatenate(images), np.concatenate(labels)


def prior_quality(classes: np.ndarray, confidences: np.ndarray, num_classes: int = 10) -> PriorQuality:
    """The judge's readings (classes (N,), confidences (N,)) of prior draws, summed up."""
    return PriorQuality(samples=len(classes), mean_confidence=float(np.mean(confidences)),
                        class_histogram=np.bincount(classes, minlength=num_classes)[:num_classes].tolist(),
                        confident_share=float(np.mean(confidences > CONFIDENT)))


def conditional_fidelity(read_as: np.ndarray, generated_for: np.ndarray, num_classes: int) -> ConditionalFidelity:
    """Share of the draws generated for each class that the judge read as that class, and the mean
    over the classes that had draws."""
    per_class: list[float | None] = []
    for label in range(num_classes):
        mine = generated_for == label
        per_class.append(float(np.mean(read_as[mine] == label)) if mine.any() else None)
    shares = [share for share in per_class if share is not None]
    return ConditionalFidelity(per_class, float(np.mean(shares)))


def reconstruction_accuracy(model: LatentModel, judge: Judge, x: Tensor, labels: Tensor,
                            mu: np.ndarray | None = None) -> float:
    """Share of test images (N, 1, H, W) whose reconstruction decoded from mu the judge reads as the
    image's label. ``mu`` (N, latent), when the caller has encoded them already."""
    conditional = model.config.is_conditional
    if mu is None:
        mu, _ = encode(model, x, labels if conditional else None)
    label_array = labels.cpu().numpy()
    images = decode(model, mu, label_array if conditional else None)  # (N, H, W)
    read_as, _ = judge.read(images)
    return float(np.mean(read_as == label_array))


@torch.no_grad()
def knn_accuracy(codes: np.ndarray, labels: np.ndarray, k: int = KNN_NEIGHBOURS) -> float | None:
    """Leave-one-out k-nearest-neighbour accuracy of codes (N, latent) with labels (N,): each code
    is classified by the majority label of its k nearest other codes (Euclidean); a tie goes to
    the class of the nearest neighbour among the tied classes. None with fewer than k + 1 codes."""
    codes_t = torch.as_tensor(np.asarray(codes, np.float32))
    labels_t = torch.as_tensor(np.asarray(labels)).long()
    n = len(codes_t)
    if n <= k:
        return None
    classes = int(labels_t.max()) + 1
    correct = 0
    for start in range(0, n, KNN_BLOCK):
        block = codes_t[start:start + KNN_BLOCK]  # (b, latent)
        distances = torch.cdist(block, codes_t)  # (b, N)
        rows = torch.arange(len(block))
        distances[rows, rows + start] = float("inf")  # leave each code out of its own vote
        nearest = distances.topk(k, dim=1, largest=False).indices  # (b, k), nearest first
        votes = labels_t[nearest]  # (b, k)
        counts = torch.zeros(len(block), classes).scatter_add_(1, votes, torch.ones(votes.shape))  # (b, classes)
        # tie-break: of the classes with the most votes, the one whose first vote comes earliest
        rank = torch.full((len(block), classes), float(k))
        rank.scatter_reduce_(1, votes, torch.arange(k).float().expand(len(block), k), reduce="amin")
        score = counts * (k + 1) - rank  # more votes first, then the nearer first vote
        correct += int((score.argmax(1) == labels_t[start:start + KNN_BLOCK]).sum())
    return correct / n


def generation_metrics(model: LatentModel, x: Tensor, labels: Tensor, dataset: str, samples: int = 1000,
                       seed: int = 0, judge: Judge | None = None, data_dir: str | None = None) -> GenerationMetrics:
    """All of the above for a model and its test split (x (N, 1, H, W) in [0, 1], labels (N,)).

    ``samples`` prior draws (seeded); unless given, the judge is the one for ``dataset``
    (core.judge.find_judge: the shipped one for MNIST, else one trained for the data in ``data_dir``
    earlier). Without one, only the kNN accuracy is computed and ``judge_note`` says why."""
    conditional = model.config.is_conditional
    mu, _ = encode(model, x, labels if conditional else None)  # (N, latent)
    knn = knn_accuracy(mu, labels.cpu().numpy())
    if judge is None:
        try:
            judge = find_judge(dataset, data_dir)
        except JudgeUnavailable as exc:
            return GenerationMetrics(knn, judge_note=str(exc))
    elif not judge.reads(dataset):
        return GenerationMetrics(knn, judge_note=f"{judge.describe()} cannot read {dataset or 'unnamed'} images")
    images, generated_for = prior_draws(model, samples, seed)
    read_as, confidences = judge.read(images)
    fidelity = conditional_fidelity(read_as, generated_for, model.config.num_classes) if conditional else None
    return GenerationMetrics(
        knn_accuracy=knn, prior=prior_quality(read_as, confidences, judge.num_classes), conditional_fidelity=fidelity,
        recon_judge_accuracy=reconstruction_accuracy(model, judge, x, labels, mu))
