"""A judge trained on demand for a dataset the shipped judge cannot read (core.judge_training): it is
kept beside the data, found again, replaced when the images change, and used by evaluate. A folder
dataset of three sample digit classes stands in for Fashion-MNIST (which needs a download)."""

import numpy as np
import pytest
from PIL import Image

from core.data import load_dataset
from core.generation_metrics import generation_metrics
from core.judge import FOLDER_JUDGE_NAME, JudgeUnavailable, find_judge, judge_paths
from core.judge_training import train_judge_for
from tests.core.test_cli import run

CLASSES = (0, 1, 7)
PER_CLASS = 40


def write_digit_folder(root, data, per_class: int = PER_CLASS):
    """A folder dataset under ``root``: sub-folders zero/one/seven, each with ``per_class`` of ``data``'s
    training digits as PNG files."""
    images, labels = data.train_x[:, 0].numpy(), data.train_y.numpy()
    for digit, name in zip(CLASSES, ("zero", "one", "seven")):
        (root / name).mkdir(parents=True)
        for number, index in enumerate(np.flatnonzero(labels == digit)[:per_class]):
            Image.fromarray((images[index] * 255).round().astype(np.uint8)).save(root / name / f"{number}.png")
    return root


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory, sample_data):
    return write_digit_folder(tmp_path_factory.mktemp("digits"), sample_data)


@pytest.fixture(autouse=True)
def user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_folder_gets_a_judge_kept_inside_it_and_found_again(digit_folder):
    dataset = f"folder:{digit_folder}"
    with pytest.raises(JudgeUnavailable) as before:
        find_judge(dataset)
    assert before.value.trainable and "python main.py judge --dataset" in str(before.value)

    data = load_dataset(dataset)
    judge = train_judge_for(data, epochs=4)
    assert judge.path == digit_folder / FOLDER_JUDGE_NAME and judge.num_classes == 3
    assert judge.test_accuracy >= 0.8, judge.test_accuracy  # 0, 1 and 7 are easy to tell apart
    found = find_judge(dataset)
    classes, _ = found.read(data.test_x)
    assert np.mean(classes == data.test_y.numpy()) == pytest.approx(judge.test_accuracy)
    assert load_dataset(dataset).num_classes == 3  # the judge file is not mistaken for a class

    new_image = digit_folder / "one" / "extra.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(new_image)
    try:
        with pytest.raises(JudgeUnavailable, match="changed") as after:
            find_judge(dataset)
        assert after.value.trainable
    finally:
        new_image.unlink()
    assert find_judge(dataset).path == judge.path  # the same images again: the kept judge fits again


def test_a_judge_that_cannot_be_kept_beside_the_data_goes_to_the_user_cache(tmp_path, sample_data, user_cache):
    root = tmp_path / "two"
    for digit in (3, 4):
        (root / str(digit)).mkdir(parents=True)
        for number, image in enumerate(sample_data.train_x[sample_data.train_y == digit][:10, 0].numpy()):
            Image.fromarray((image * 255).astype(np.uint8)).save(root / str(digit) / f"{number}.png")
    (root / FOLDER_JUDGE_NAME).mkdir()  # something in the way: the file cannot be written there
    judge = train_judge_for(load_dataset(f"folder:{root}"), epochs=1)
    assert judge.path == judge_paths(f"folder:{root}")[1] and user_cache in judge.path.parents
    assert find_judge(f"folder:{root}").path == judge.path


def test_torchvision_sets_keep_their_judge_in_the_data_folder_and_mnist_keeps_the_shipped_one(tmp_path):
    assert judge_paths("fashion-mnist", tmp_path)[0] == tmp_path / "latent-morph-judges" / "fashion-mnist.safetensors"
    with pytest.raises(JudgeUnavailable, match="kmnist") as caught:
        find_judge("kmnist", tmp_path)
    assert caught.value.trainable
    assert find_judge("mnist-sample").dataset == "mnist" and find_judge("mnist").num_classes == 10


def test_judge_command_trains_and_evaluate_then_reads_the_folder_model(digit_folder, tmp_path):
    refused = run("judge", "--dataset", "mnist")
    assert refused.returncode == 2 and "ships with the app" in refused.stderr
    assert run("judge", "--dataset", "nonsense").returncode == 2

    model = tmp_path / "folder_vae.safetensors"
    trained = run("train", "--dataset", f"folder:{digit_folder}", "--hidden", "32", "--epochs", "1",
                  "--batch-size", "32", "--device", "cpu", "--out", model, "--json")
    assert trained.returncode == 0, trained.stderr
    done = run("judge", "--dataset", f"folder:{digit_folder}", "--epochs", "2", "--json")
    assert done.returncode == 0, done.stderr
    assert done.json()["judge"] == str(digit_folder / FOLDER_JUDGE_NAME) and done.json()["classes"] == ["one", "seven", "zero"]
    evaluated = run("evaluate", "--checkpoint", model, "--samples", "50", "--json").json()
    assert "judge_note" not in evaluated and len(evaluated["prior_class_histogram"]) == 3
    assert sum(evaluated["prior_class_histogram"]) == 50


def test_without_a_judge_evaluate_says_how_to_get_one(tiny_data, tmp_path):
    from dataclasses import replace

    from core.config import ModelConfig
    from core.models import build_model

    model = build_model(ModelConfig(hidden=(16,)))
    data = replace(tiny_data, name=f"folder:{tmp_path}")
    metrics = generation_metrics(model, data.test_x, data.test_y, data.name, samples=10)
    assert metrics.prior is None and "python main.py judge" in metrics.judge_note
