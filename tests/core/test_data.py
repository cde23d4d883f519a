"""Datasets by name: the offline sample, MNIST through torchvision, a user's folder."""

import numpy as np
import pytest
import torch
from PIL import Image

from core.data import DIGIT_NAMES, load_dataset
from core.errors import DatasetError


def test_offline_sample_is_real_mnist(sample_data):
    assert sample_data.class_names == DIGIT_NAMES
    assert len(sample_data.train_x) + len(sample_data.val_x) == 5000 and len(sample_data.test_x) == 1000
    assert sample_data.train_x.dtype == torch.float32 and sample_data.image_shape == (1, 28, 28)
    assert 0 <= sample_data.train_x.min() and sample_data.train_x.max() <= 1
    assert abs(float(sample_data.train_x.mean()) - 0.1307) < 0.01  # MNIST's mean intensity
    assert sample_data.test_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # canonical test labels
    assert sorted(set(sample_data.train_y.tolist())) == list(range(10))


def test_validation_split_is_seeded_and_disjoint():
    a, b = load_dataset("mnist-sample", seed=0), load_dataset("mnist-sample", seed=0)
    c = load_dataset("mnist-sample", seed=1)
    assert torch.equal(a.val_x, b.val_x) and not torch.equal(a.val_x, c.val_x)
    train = {x.numpy().tobytes() for x in a.train_x[:2000]}
    assert not any(x.numpy().tobytes() in train for x in a.val_x[:200])


def test_full_mnist_loads_from_the_data_dir_without_network(full_mnist_dir):
    data = load_dataset("mnist", full_mnist_dir, download=False)
    assert len(data.train_x) == 55_000 and len(data.val_x) == 5_000 and len(data.test_x) == 10_000
    assert data.test_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_missing_mnist_names_the_alternatives(tmp_path):
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", tmp_path, download=False)
    message = str(error.value)
    assert "mnist-sample" in message and "--data-dir" in message and "folder:" in message


def test_unknown_dataset_name():
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("cifar")


def test_folder_dataset_reads_classes_and_inverts_dark_on_light(tmp_path):
    for name, value in (("circle", 0), ("square", 40)):
        (tmp_path / name).mkdir()
        for i in range(6):
            image = np.full((40, 40), 255, np.uint8)
            image[10:30, 10 + value // 10:30] = 0  # dark ink on white paper
            Image.fromarray(image).save(tmp_path / name / f"{i}.png")
    data = load_dataset(f"folder:{tmp_path}")
    assert data.class_names == ("circle", "square")
    assert data.image_shape == (1, 28, 28)
    assert len(data.train_x) + len(data.val_x) + len(data.test_x) == 12
    assert float(data.train_x.mean()) < 0.5  # inverted to MNIST's light-on-dark


def test_each_dataset_has_the_title_a_sentence_uses():
    """The window said "10,000 test digits of mnist encoded" and "a judge for folder:/data/letters"."""
    from core.data import DATASET_NAMES, dataset_title

    assert [dataset_title(name) for name in DATASET_NAMES] == ["the MNIST sample", "MNIST", "Fashion-MNIST",
                                                              "Kuzushiji-MNIST"]
    assert dataset_title("folder:/data/letters/") == "the folder letters"
