"""Training a judge (core.judge.DigitJudge): the shipped MNIST judge (resources/make_judge.py) and, on
demand, a judge for any other dataset the app trains on (Fashion-MNIST, KMNIST, a folder of images).

One loop for both: Adam with cosine decay to 0, batch 128, weight decay 1e-4, seeded; the MNIST judge
also shifts each digit by up to 2 pixels each way. An on-demand judge trains on at most
``ON_DEMAND_MAX_IMAGES`` images for ``ON_DEMAND_EPOCHS`` epochs, without shifts: 22 s on one core of
the 2-core CPU for 60,000 images (98.9% on the MNIST test set when trained so on MNIST), and its test
accuracy (on the dataset's own test split) is stored with it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from core.data import DatasetSplits
from core.errors import LatentMorphError
from core.judge import (IMAGE_SIZE, DigitJudge, Judge, JudgeUnavailable, can_train_judge_for, dataset_fingerprint,
                        judge_paths, load_judge, save_judge)

BATCH_SIZE = 128
LEARNING_RATE = 2e-3
WEIGHT_DECAY = 1e-4
MAX_SHIFT = 2  # pixels, each way, when augmenting
ON_DEMAND_EPOCHS = 3
ON_DEMAND_MAX_IMAGES = 60_000  # training images for an on-demand judge (a torchvision set has 60,000)
MIN_IMAGES_PER_CLASS = 2  # a judge needs a few examples of each class to learn anything


@dataclass(frozen=True)
class TrainedJudge:
    net: DigitJudge
    test_accuracy: float  # share of the test images read as their label, in [0, 1]
    seconds: float  # wall-clock training time


def shifted(x: Tensor, generator: torch.Generator, max_shift: int = MAX_SHIFT) -> Tensor:
    """Each image (B, 1, H, W) moved by a random whole number of pixels in -max_shift..max_shift."""
    b, _, h, w = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (b, 2), generator=generator).float()  # (B, 2) pixels
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -2.0 * shifts[:, 0] / w  # affine_grid works in [-1, 1]: 2/w per pixel
    theta[:, 1, 2] = -2.0 * shifts[:, 1] / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


@torch.inference_mode()
def judge_accuracy(net: DigitJudge, x: Tensor, y: Tensor) -> float:
    """Share of images x (N, 1, 28, 28) that ``net`` reads as their labels y (N,); 0 for no images."""
    net.eval()
    correct = 0
    for start in range(0, len(x), 1000):
        xb = x[start:start + 1000].contiguous(memory_format=torch.channels_last)
        correct += int((net(xb).argmax(1) == y[start:start + 1000]).sum())
    return correct / max(1, len(x))


def train_judge(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, num_classes: int,
                epochs: int = ON_DEMAND_EPOCHS, seed: int = 0, augment: bool = False,
                report: Callable[[float], None] | None = None,
                log: Callable[[str], None] | None = None) -> TrainedJudge:
    """Train a DigitJudge on images (N, 1, 28, 28) in [0, 1] with labels (N,) on the CPU.

    ``report(fraction)`` is called every few batches with the share done; it may raise to stop (a
    background task's cancel). ``log`` gets a line per epoch."""
    train_x, train_y = train_x.detach().cpu().float(), train_y.detach().cpu().long()
    test_x, test_y = test_x.detach().cpu().float(), test_y.detach().cpu().long()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = DigitJudge(num_classes=num_classes).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    batches = math.ceil(len(train_x) / BATCH_SIZE)
    steps = max(1, epochs * batches)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    started = time.perf_counter()
    step = 0
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(train_x), generator=generator)
        total = 0.0
        for start in range(0, len(order), BATCH_SIZE):
            index = order[start:start + BATCH_SIZE]
            xb = train_x[index]
            if augment:
                xb = shifted(xb, generator)
            loss = F.cross_entropy(net(xb.contiguous(memory_format=torch.channels_last)), train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            total += float(loss.detach()) * len(index)
            if report is not None and (step % 10 == 0 or step == steps):
                report(step / steps)
        if log is not None:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / max(1, len(order)):.4f}, test accuracy "
                f"{judge_accuracy(net, test_x, test_y):.4f}, {time.perf_counter() - started:.0f} s")
    seconds = time.perf_counter() - started
    return TrainedJudge(net.eval(), judge_accuracy(net, test_x, test_y), seconds)


def judge_training_data(data: DatasetSplits, max_images: int, seed: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Every training and validation image (at most ``max_images``, a seeded choice) and the test split."""
    x = torch.cat([data.train_x, data.val_x]).cpu()
    y = torch.cat([data.train_y, data.val_y]).cpu()
    if len(x) > max_images:
        keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:max_images]
        x, y = x[keep], y[keep]
    return x, y, data.test_x.cpu(), data.test_y.cpu()


def train_judge_for(data: DatasetSplits, data_dir: str | None = None, report: Callable[[float], None] | None = None,
                    epochs: int = ON_DEMAND_EPOCHS, max_images: int = ON_DEMAND_MAX_IMAGES,
                    seed: int = 0) -> Judge:
    """Train a judge for ``data`` (not an MNIST digit set) and cache it beside the data (or, where that
    folder is read-only, in the user's cache: core.judge.judge_paths); return it as loaded from there.

    Raises JudgeUnavailable when the data cannot give a judge (28 x 28 images, two classes or more,
    a few of each) or no place accepts the file."""
    if not can_train_judge_for(data.name):
        raise JudgeUnavailable(f"{data.name} is read by the shipped judge; no judge is trained for it")
    if tuple(data.image_shape) != (1, IMAGE_SIZE, IMAGE_SIZE):
        raise JudgeUnavailable(f"a judge reads 28 x 28 grey images; {data.name} has {data.image_shape}")
    x, y, test_x, test_y = judge_training_data(data, max_images, seed)
    counts = torch.bincount(y, minlength=data.num_classes)
    if data.num_classes < 2 or int(counts.min()) < MIN_IMAGES_PER_CLASS:
        raise JudgeUnavailable(f"{data.name} has too few images to train a judge (it needs two classes or more "
                               f"and {MIN_IMAGES_PER_CLASS} training images of each)")
    fingerprint = dataset_fingerprint(data.name)  # before training: images changed meanwhile make it stale
    trained = train_judge(x, y, test_x, test_y, data.num_classes, epochs=epochs, seed=seed, report=report)
    notes = {"epochs": epochs, "seed": seed, "train_images": len(x), "train_seconds": round(trained.seconds, 1),
             "threads": torch.get_num_threads(), "torch": torch.__version__}
    failures = []
    for path in judge_paths(data.name, data_dir):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_judge(trained.net, path, trained.test_accuracy, notes, dataset=data.name, fingerprint=fingerprint)
            return load_judge(path)
        except (OSError, LatentMorphError) as exc:
            failures.append(str(exc))
    raise JudgeUnavailable(f"the judge for {data.name} was trained but could not be kept: {'; '.join(failures)}")

