"""Datasets by name -> whole splits as tensors, batched by index (no per-sample transforms).

Names: ``mnist``, ``fashion-mnist``, ``kmnist`` (torchvision: read from the data dir, downloaded
there when missing and online), ``mnist-sample`` (6,000 real MNIST digits shipped in
``resources/``, works offline) and ``folder:PATH`` (one sub-folder per class).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from core.config import DEFAULT_VAL_FRACTION
from core.errors import DatasetError, DatasetMissing

SAMPLE_FILE = Path(__file__).resolve().parent.parent / "resources" / "mnist_sample.npz"
DATA_DIR_ENV = "LATENT_MORPH_DATA"
DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot")
KMNIST_NAMES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")
TORCHVISION_SETS = {"mnist": ("MNIST", DIGIT_NAMES), "fashion-mnist": ("FashionMNIST", FASHION_NAMES),
                    "kmnist": ("KMNIST", KMNIST_NAMES)}
DATASET_NAMES = ("mnist-sample", "mnist", "fashion-mnist", "kmnist")
DATASET_TITLES = {"mnist-sample": "the MNIST sample", "mnist": "MNIST", "fashion-mnist": "Fashion-MNIST",
                  "kmnist": "Kuzushiji-MNIST"}


def dataset_title(name: str) -> str:
    """A dataset's name as a sentence says it: "the MNIST sample", "Fashion-MNIST", "the folder letters"
    (the engine's names, "mnist-sample" or "folder:/data/letters", are for flags and files)."""
    if name.startswith("folder:"):
        folder = Path(name[len("folder:"):])
        return f"the folder {folder.name or folder}"
    return DATASET_TITLES.get(name, name)
DEFAULT_IMAGE_SIZE = 28


@dataclass(frozen=True)
class DatasetSplits:
    """Train / validation / test images (N, 1, H, W) float32 in [0, 1] and labels (N,) int64."""

    name: str
    class_names: tuple[str, ...]
    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor
    test_y: Tensor
    split_seed: int = 0  # the seed that cut the validation split from the training images
    val_fraction: float = DEFAULT_VAL_FRACTION

    def fits(self, name: str, seed: int, val_fraction: float) -> bool:
        """True when loading ``name`` with this seed and fraction would give these very splits."""
        return self.name == name and self.split_seed == seed and self.val_fraction == val_fraction

    def head(self, limit: int | None) -> "DatasetSplits":
        """The first ``limit`` samples of each split (all of them for None): a hook for quick runs."""
        if not limit:
            return self
        return replace(self, **{k: getattr(self, k)[:limit] for k in
                                ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")})

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])

    def to(self, device: torch.device | str) -> "DatasetSplits":
        return replace(self, **{k: getattr(self, k).to(device) for k in
                                ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")})


def default_data_dir() -> Path:
    """LATENT_MORPH_DATA, else a per-user data directory."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "latent-morph" / "datasets"


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, val_fraction: float = DEFAULT_VAL_FRACTION,
                 seed: int = 0, download: bool = True) -> DatasetSplits:
    """Load a dataset by name; the validation split is cut from training with ``seed``."""
    if name.startswith("folder:"):
        train_x, train_y, test_x, test_y, classes = _read_folder(Path(name[len("folder:"):]).expanduser(), seed)
    elif name == "mnist-sample":
        train_x, train_y, test_x, test_y = _read_sample()
        classes = DIGIT_NAMES
    elif name in TORCHVISION_SETS:
        root = Path(data_dir) if data_dir is not None else default_data_dir()
        train_x, train_y, test_x, test_y = _read_torchvision(name, root, download)
        classes = TORCHVISION_SETS[name][1]
    else:
        raise DatasetError(f"unknown dataset {name!r}: use one of {', '.join(DATASET_NAMES)} or folder:PATH")
    train_x, train_y, val_x, val_y = _split_validation(train_x, train_y, val_fraction, seed)
    return DatasetSplits(name, tuple(classes), train_x, train_y, val_x, val_y, test_x, test_y, seed, val_fraction)


DARK_ON_LIGHT_MEAN = 127  # uint8 images brighter than this on average are dark ink on paper


def mnist_like(images: np.ndarray) -> Tensor:
    """uint8 (N, H, W) read from image files -> float32 (N, 1, H, W) in [0, 1], light on dark as
    MNIST is: images drawn dark on light (their mean above DARK_ON_LIGHT_MEAN) are inverted."""
    images = np.asarray(images)
    if images.mean() > DARK_ON_LIGHT_MEAN:
        images = 255 - images
    return _to_float_images(np.array(images))  # a writable copy: PIL's pixels may be read-only


def _to_float_images(images: np.ndarray | Tensor) -> Tensor:
    """uint8 (N, H, W) -> float32 (N, 1, H, W) in [0, 1]."""
    images = torch.as_tensor(np.asarray(images))
    return (images.to(torch.float32) / 255.0).unsqueeze(1).contiguous()


def _split_validation(x: Tensor, y: Tensor, fraction: float, seed: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    n_val = int(round(len(x) * fraction))
    if n_val == 0:
        return x, y, x[:0], y[:0]
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    val_idx, train_idx = order[:n_val], order[n_val:]
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def _read_sample() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    try:
        with np.load(SAMPLE_FILE) as archive:
            return (_to_float_images(archive["train_images"]), torch.as_tensor(archive["train_labels"]).long(),
                    _to_float_images(archive["test_images"]), torch.as_tensor(archive["test_labels"]).long())
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(f"the built-in MNIST sample {SAMPLE_FILE} is missing or damaged ({exc}); "
                           "reinstall Latent Morph") from None


def _read_torchvision(name: str, root: Path, download: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    import torchvision.datasets as tv_datasets  # heavy import: only when a torchvision set is used

    cls = getattr(tv_datasets, TORCHVISION_SETS[name][0])
    try:
        train, test = cls(str(root), train=True, download=False), cls(str(root), train=False, download=False)
    except (RuntimeError, OSError):
        if not download:
            raise DatasetMissing(name, str(root), "download is off") from None
        try:
            root.mkdir(parents=True, exist_ok=True)
            train, test = cls(str(root), train=True, download=True), cls(str(root), train=False, download=True)
        except Exception as exc:  # network errors come in many types (URLError, HTTPError, OSError...)
            # torchvision lists every mirror it tried on its own line; the CLI promises one line
            detail = " ".join(str(exc).split())
            raise DatasetMissing(name, str(root), f"download failed: {detail}") from None
    return _to_float_images(train.data), train.targets.long(), _to_float_images(test.data), test.targets.long()


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


def read_image_file(path: Path, size: int = DEFAULT_IMAGE_SIZE) -> np.ndarray:
    """Any common image -> uint8 (size, size) grayscale. 16-bit, RGB(A) and palette images are converted."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.asarray(image, dtype=np.float64)
            peak = 65535.0 if array.max() > 255 else 255.0
            image = Image.fromarray(np.clip(array / peak * 255.0, 0, 255).astype(np.uint8))
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, rgba)
        gray = image.convert("L").resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(gray, dtype=np.uint8)


def _read_folder(root: Path, seed: int, test_fraction: float = 0.1
                 ) -> tuple[Tensor, Tensor, Tensor, Tensor, tuple[str, ...]]:
    """One sub-folder per class. Dark-on-light images are inverted to MNIST's light-on-dark."""
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder: give a folder with one sub-folder of images per class")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DatasetError(f"{root} has no sub-folders: put the images of each class in a sub-folder named after it")
    images, labels, unreadable = [], [], []
    for label, class_dir in enumerate(class_dirs):
        for path in sorted(class_dir.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                images.append(read_image_file(path))
                labels.append(label)
            except Exception:  # PIL raises many types for broken files; skip and report them
                unreadable.append(path.name)
    if not images:
        detail = f" ({len(unreadable)} unreadable)" if unreadable else ""
        raise DatasetError(f"{root} holds no readable images{detail}: use PNG, JPEG, BMP, GIF, TIFF or WebP files")
    if len(images) < 2:
        raise DatasetError(f"{root} holds only one image: a dataset needs at least two")
    x, y = mnist_like(np.stack(images)), torch.tensor(labels, dtype=torch.long)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + 1))
    n_test = max(1, int(round(len(x) * test_fraction)))
    test_idx, train_idx = order[:n_test], order[n_test:]
    return x[train_idx], y[train_idx], x[test_idx], y[test_idx], tuple(d.name for d in class_dirs)


def class_name(names: tuple[str, ...] | list[str], label: int) -> str:
    """The display name of class ``label``: its dataset name when known, else the number itself."""
    return names[label] if 0 <= label < len(names) else str(label)
