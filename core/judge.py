"""The judge: a small CNN digit classifier shipped with the app, to say what a decoded image *is*.

It reads MNIST-like digits (28 x 28, light on dark, in [0, 1]) and nothing else: its figures mean
something only for models of an MNIST digit set (``JUDGED_DATASETS``). The weights ship in
``resources/judge_mnist.safetensors`` (float16); ``resources/make_judge.py`` retrains them. The app
works without the file: ``load_judge`` then raises ``JudgeUnavailable`` and callers leave the
judge's figures out.

Architecture (``DigitJudge``), about 207k parameters, ~0.4 MB as float16:
    conv 3x3, 1 -> 16, pad 1 -> maxpool 2 -> ReLU      (B, 16, 14, 14)
    conv 3x3, 16 -> 32, pad 1 -> maxpool 2 -> ReLU     (B, 32, 7, 7)
    linear 1568 -> 128 -> ReLU -> dropout -> linear 128 -> 10 logits
Max-pooling before the ReLU gives the same output as after it (both are monotone) on a quarter of
the elements; channels-last tensors let oneDNN run the convolutions about 3x faster on a CPU.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import ConfigError, LatentMorphError

JUDGE_FILE = Path(__file__).resolve().parent.parent / "resources" / "judge_mnist.safetensors"
JUDGE_FORMAT = "latent-morph-judge"
JUDGED_DATASETS = ("mnist", "mnist-sample")  # the judge reads these datasets' digits, and no others
IMAGE_SIZE = 28
NUM_CLASSES = 10
READ_BATCH_SIZE = 500  # images per forward pass: the fastest on a 2-core CPU (benchmarks/judge_speed.py)
RETRAIN_HINT = "reinstall Latent Morph or rebuild it with: python resources/make_judge.py"


class JudgeUnavailable(LatentMorphError):
    """The judge's weights are missing or unreadable; the message names the file and what to do."""


class DigitJudge(nn.Module):
    """The classifier: images (B, 1, 28, 28) in [0, 1] -> logits (B, 10)."""

    def __init__(self, channels: tuple[int, int] = (16, 32), hidden: int = 128, dropout: float = 0.25) -> None:
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc_hidden = nn.Linear(c2 * (IMAGE_SIZE // 4) ** 2, hidden)
        self.dropout = nn.Dropout(dropout)
        self.fc_logits = nn.Linear(hidden, NUM_CLASSES)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.pool(self.conv1(x)))  # (B, c1, 14, 14)
        h = torch.relu(self.pool(self.conv2(h)))  # (B, c2, 7, 7)
        h = torch.relu(self.fc_hidden(h.flatten(1)))  # (B, hidden)
        return self.fc_logits(self.dropout(h))  # (B, 10)


@dataclass(frozen=True)
class Judge:
    """A loaded judge: ``read`` images. ``test_accuracy`` is what the file records (full MNIST test set)."""

    net: DigitJudge
    path: Path
    test_accuracy: float | None = None

    @torch.inference_mode()
    def read(self, images: np.ndarray | Tensor, batch_size: int = READ_BATCH_SIZE) -> tuple[np.ndarray, np.ndarray]:
        """images (N, 28, 28) or (N, 1, 28, 28) floats in [0, 1] -> the class each is read as (N,) int64
        and the judge's confidence in it, its softmax probability (N,) float32. On the CPU, no grad."""
        x = torch.as_tensor(np.asarray(images) if not isinstance(images, Tensor) else images)
        x = x.detach().to("cpu", torch.float32)
        if x.ndim == 3:
            x = x.unsqueeze(1)  # (N, 1, 28, 28)
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, IMAGE_SIZE, IMAGE_SIZE):
            raise ConfigError("images", f"the judge reads 28 x 28 grey images, shape (N, 28, 28) or "
                                        f"(N, 1, 28, 28); got {tuple(x.shape)}")
        classes, confidences = [], []
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size].contiguous(memory_format=torch.channels_last)
            probabilities = torch.softmax(self.net(xb), dim=1)  # (b, 10)
            confidence, chosen = probabilities.max(dim=1)
            classes.append(chosen)
            confidences.append(confidence)
        if not classes:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return torch.cat(classes).numpy().astype(np.int64), torch.cat(confidences).numpy().astype(np.float32)


def judges(dataset: str) -> bool:
    """True when the shipped judge can read a model of ``dataset`` (an MNIST digit set)."""
    return dataset in JUDGED_DATASETS


def unjudged_reason(dataset: str) -> str:
    """Why the judge's figures are left out for a model of ``dataset``."""
    return (f"the digit judge reads MNIST digits only ({', '.join(JUDGED_DATASETS)}); "
            f"this model's dataset is {dataset or 'unknown'}")


def load_judge(path: str | Path | None = None) -> Judge:
    """The judge in ``path`` (default: the shipped ``JUDGE_FILE``), in eval mode on the CPU.

    Raises JudgeUnavailable, naming the file, when it is missing, truncated or not a judge."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path) if path is not None else JUDGE_FILE
    if not path.is_file():
        raise JudgeUnavailable(f"the digit judge {path} is missing; {RETRAIN_HINT}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt", device="cpu") as reader:
            metadata = reader.metadata() or {}
        if metadata.get("format") != JUDGE_FORMAT:
            raise JudgeUnavailable(f"the digit judge {path} is not a judge file (no judge description); {RETRAIN_HINT}")
        architecture = json.loads(metadata.get("architecture", "{}"))
        net = DigitJudge(tuple(architecture.get("channels", (16, 32))), int(architecture.get("hidden", 128)))
        state = {key: value.float() for key, value in load_file(str(path), device="cpu").items()}
        net.load_state_dict(state)
    except JudgeUnavailable:
        raise
    except (OSError, SafetensorError, ValueError, RuntimeError, TypeError, KeyError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise JudgeUnavailable(f"the digit judge {path} is damaged or truncated ({detail}); {RETRAIN_HINT}") from None
    net.eval()
    net.to(memory_format=torch.channels_last)
    accuracy = metadata.get("test_accuracy")
    return Judge(net, path, float(accuracy) if accuracy else None)


def save_judge(net: DigitJudge, path: str | Path, test_accuracy: float, notes: dict | None = None) -> Path:
    """Write the judge's weights as float16 with a description (architecture, accuracy) beside them."""
    from safetensors.torch import save_file

    net = net.cpu()
    tensors = {key: value.detach().to(torch.float16).contiguous() for key, value in net.state_dict().items()}
    metadata = {
        "format": JUDGE_FORMAT,
        "architecture": json.dumps({"channels": [net.conv1.out_channels, net.conv2.out_channels],
                                    "hidden": net.fc_hidden.out_features}),
        "test_accuracy": f"{test_accuracy:.4f}",
        "notes": json.dumps(notes or {}),
    }
    path = Path(path)
    save_file(tensors, str(path), metadata=metadata)
    return path


def read(images: np.ndarray | Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``load_judge().read(images)`` with the shipped judge: (classes (N,), confidences (N,))."""
    return load_judge().read(images)
