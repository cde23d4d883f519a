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

Other datasets (Fashion-MNIST, KMNIST, a folder of images) get a judge of the same architecture with
one logit per class, trained on demand (core.judge_training) and cached beside the data
(``judge_paths``): ``find_judge`` returns the shipped judge for an MNIST digit set, else the cached one.
"""

from __future__ import annotations

import hashlib
import json
import os
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


NO_DATASET = "the model does not name its dataset, so no judge can read its images"
CACHE_FOLDER = "latent-morph-judges"  # inside a torchvision data folder: one judge file per dataset
FOLDER_JUDGE_NAME = ".latent-morph-judge.safetensors"  # inside a folder dataset (hidden: not a class folder)


class JudgeUnavailable(LatentMorphError):
    """No judge can read this dataset's images yet; the message says why and what to do.

    ``trainable`` is True when one can be trained on demand (core.judge_training): the dataset has no
    cached judge yet, or the cached one was made from other data."""

    def __init__(self, message: str, trainable: bool = False) -> None:
        super().__init__(message)
        self.trainable = trainable


class DigitJudge(nn.Module):
    """The classifier: images (B, 1, 28, 28) in [0, 1] -> logits (B, classes), 10 for digits."""

    def __init__(self, channels: tuple[int, int] = (16, 32), hidden: int = 128, dropout: float = 0.25,
                 num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc_hidden = nn.Linear(c2 * (IMAGE_SIZE // 4) ** 2, hidden)
        self.dropout = nn.Dropout(dropout)
        self.fc_logits = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.pool(self.conv1(x)))  # (B, c1, 14, 14)
        h = torch.relu(self.pool(self.conv2(h)))  # (B, c2, 7, 7)
        h = torch.relu(self.fc_hidden(h.flatten(1)))  # (B, hidden)
        return self.fc_logits(self.dropout(h))  # (B, classes)


@dataclass(frozen=True)
class Judge:
    """A loaded judge: ``read`` images. ``test_accuracy`` is what the file records, on the test split of
    the data it was trained on (the full MNIST test set for the shipped judge); ``dataset`` names that
    data ("mnist" for the shipped judge)."""

    net: DigitJudge
    path: Path
    test_accuracy: float | None = None
    dataset: str = "mnist"
    fingerprint: str = "mnist"  # what the judge was trained on (dataset_fingerprint)

    @property
    def num_classes(self) -> int:
        return self.net.fc_logits.out_features

    def reads(self, dataset: str) -> bool:
        """True when this judge was made for ``dataset``'s images (any MNIST digit set for the shipped one)."""
        return dataset == self.dataset or (judges(dataset) and judges(self.dataset))

    def describe(self) -> str:
        """'the judge for fashion-mnist (91.2% of its test images right)', said beside its readings."""
        accuracy = f" ({self.test_accuracy:.1%} of its test images right)" if self.test_accuracy is not None else ""
        return f"the judge for {self.dataset}{accuracy}"

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
            probabilities = torch.softmax(self.net(xb), dim=1)  # (b, classes)
            confidence, chosen = probabilities.max(dim=1)
            classes.append(chosen)
            confidences.append(confidence)
        if not classes:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return torch.cat(classes).numpy().astype(np.int64), torch.cat(confidences).numpy().astype(np.float32)


def judges(dataset: str) -> bool:
    """True when the shipped judge can read a model of ``dataset`` (an MNIST digit set)."""
    return dataset in JUDGED_DATASETS


def can_train_judge_for(dataset: str) -> bool:
    """True for the datasets a judge can be trained for on demand: every known set but the MNIST ones
    (Fashion-MNIST, KMNIST, a folder of images)."""
    return bool(dataset) and not judges(dataset)


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or (os.environ.get("LOCALAPPDATA") if os.name == "nt" else None)
    return (Path(base) if base else Path.home() / ".cache") / "latent-morph" / CACHE_FOLDER


def judge_paths(dataset: str, data_dir: str | os.PathLike | None = None) -> tuple[Path, ...]:
    """Where the judge for ``dataset`` is kept, most preferred first: beside the data (inside a folder
    dataset, or in ``CACHE_FOLDER`` of the torchvision data folder), then in the user's cache (for data
    in a read-only place). The shipped file for an MNIST digit set."""
    if judges(dataset):
        return (JUDGE_FILE,)
    if dataset.startswith("folder:"):
        folder = Path(dataset[len("folder:"):]).expanduser().resolve()
        beside = folder / FOLDER_JUDGE_NAME
        key = f"folder-{folder.name}-{hashlib.sha1(str(folder).encode()).hexdigest()[:10]}"
    else:
        from core.data import default_data_dir  # the data folder a torchvision set is read from

        root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        beside = root / CACHE_FOLDER / f"{dataset}.safetensors"
        key = f"{dataset}-{hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:10]}"
    return beside, _user_cache() / f"{key}.safetensors"


def dataset_fingerprint(dataset: str) -> str:
    """What a cached judge was trained on, to tell when it no longer fits: a torchvision set is fixed
    (its name); a folder's images may change (its image files' names, sizes and modification times)."""
    if not dataset.startswith("folder:"):
        return dataset
    from core.data import IMAGE_SUFFIXES

    folder = Path(dataset[len("folder:"):]).expanduser()
    digest = hashlib.sha1()
    try:
        for path in sorted(folder.glob("*/*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.parent.name.startswith("."):
                stat = path.stat()
                digest.update(f"{path.parent.name}/{path.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    except OSError:
        return dataset
    return digest.hexdigest()


def find_judge(dataset: str, data_dir: str | os.PathLike | None = None) -> Judge:
    """The judge that reads a model of ``dataset``: the shipped one for an MNIST digit set, else the
    one trained for that data earlier and cached (``judge_paths``).

    Raises JudgeUnavailable: for the shipped judge's file missing or damaged; with ``trainable`` set
    when no judge was trained for this data yet (or its images changed since)."""
    if not dataset:
        raise JudgeUnavailable(NO_DATASET)
    if judges(dataset):
        return load_judge()
    fingerprint = dataset_fingerprint(dataset)
    stale = False
    for path in judge_paths(dataset, data_dir):
        if not path.is_file():
            continue
        try:
            judge = load_judge(path)
        except JudgeUnavailable:
            stale = True  # a damaged cache file: a new judge replaces it
            continue
        if judge.fingerprint == fingerprint:
            return judge
        stale = True
    why = "its images changed since its judge was trained" if stale else "no judge was trained for it yet"
    raise JudgeUnavailable(f"the digit judge reads MNIST digits; for {dataset} {why} (the window trains one "
                           f"in the background; or run: python main.py judge --dataset {dataset})", trainable=True)


def load_judge(path: str | Path | None = None) -> Judge:
    """The judge in ``path`` (default: the shipped ``JUDGE_FILE``), in eval mode on the CPU.

    Raises JudgeUnavailable, naming the file, when it is missing, truncated or not a judge."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path) if path is not None else JUDGE_FILE
    hint = RETRAIN_HINT
    if not path.is_file():
        raise JudgeUnavailable(f"the digit judge {path} is missing; {hint}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt", device="cpu") as reader:
            metadata = reader.metadata() or {}
        if metadata.get("format") != JUDGE_FORMAT:
            raise JudgeUnavailable(f"the digit judge {path} is not a judge file (no judge description); {hint}")
        architecture = json.loads(metadata.get("architecture", "{}"))
        net = DigitJudge(tuple(architecture.get("channels", (16, 32))), int(architecture.get("hidden", 128)),
                         num_classes=int(architecture.get("classes", NUM_CLASSES)))
        state = {key: value.float() for key, value in load_file(str(path), device="cpu").items()}
        net.load_state_dict(state)
    except JudgeUnavailable:
        raise
    except (OSError, SafetensorError, ValueError, RuntimeError, TypeError, KeyError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise JudgeUnavailable(f"the digit judge {path} is damaged or truncated ({detail}); {hint}") from None
    net.eval()
    net.to(memory_format=torch.channels_last)
    accuracy = metadata.get("test_accuracy")
    dataset = metadata.get("dataset", "mnist")
    return Judge(net, path, float(accuracy) if accuracy else None, dataset,
                 metadata.get("fingerprint", dataset))


def save_judge(net: DigitJudge, path: str | Path, test_accuracy: float, notes: dict | None = None,
               dataset: str = "mnist", fingerprint: str | None = None) -> Path:
    """Write the judge's weights as float16 with a description (architecture, accuracy, the data it was
    trained on) beside them, atomically: an interrupted write leaves no file at ``path``."""
    from safetensors.torch import save_file

    from core.files import atomic_output

    net = net.cpu()
    tensors = {key: value.detach().to(torch.float16).contiguous() for key, value in net.state_dict().items()}
    metadata = {
        "format": JUDGE_FORMAT,
        "architecture": json.dumps({"channels": [net.conv1.out_channels, net.conv2.out_channels],
                                    "hidden": net.fc_hidden.out_features, "classes": net.fc_logits.out_features}),
        "test_accuracy": f"{test_accuracy:.4f}",
        "dataset": dataset,
        "fingerprint": fingerprint if fingerprint is not None else dataset,
        "notes": json.dumps(notes or {}),
    }
    path = Path(path)
    with atomic_output(path) as temp:
        save_file(tensors, str(temp), metadata=metadata)
    return path

