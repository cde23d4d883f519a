"""The digit judge (core.judge) and what it reads in a model's images (core.generation_metrics):
the shipped weights' accuracy, prior-sample quality, a CVAE's conditional fidelity, kNN accuracy,
a missing or damaged judge file, and evaluate's JSON. Small models trained on the shipped sample."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

import core.judge
from core.config import ModelConfig, TrainConfig
from core.errors import ConfigError, LatentMorphError
from core.generation_metrics import (class_counts, generation_metrics, knn_accuracy, prior_draws)
from core.judge import JUDGE_FILE, JudgeUnavailable, load_judge
from core.training import Trainer
from tests.core.test_cli import run

JUDGE_FIELDS = {"prior_confidence", "prior_class_histogram", "prior_confident_share", "recon_judge_accuracy"}


@pytest.fixture(scope="module")
def judge():
    return load_judge()


def _train(data, kind: str, epochs: int, seed: int = 0):
    config = ModelConfig(kind=kind, hidden=(256,))
    return Trainer(config, TrainConfig(epochs=epochs, batch_size=128, lr=2e-3, device="cpu", seed=seed), data).run().model


# --- the judge itself ------------------------------------------------------------------------------


def test_the_shipped_judge_reads_the_sample_test_split(judge, sample_data):
    classes, confidences = judge.read(sample_data.test_x)
    accuracy = float(np.mean(classes == sample_data.test_y.numpy()))
    assert accuracy >= 0.985, accuracy
    assert judge.test_accuracy is not None and judge.test_accuracy >= 0.99  # full MNIST, recorded by make_judge
    assert confidences.dtype == np.float32 and ((confidences > 0.1) & (confidences <= 1.0)).all()
    assert JUDGE_FILE.stat().st_size < 1_000_000  # small enough to ship


def test_read_takes_either_image_shape_as_numpy_or_torch(judge, sample_data):
    x = sample_data.test_x[:50]  # (50, 1, 28, 28)
    by_tensor = judge.read(x)
    by_array = judge.read(x[:, 0].numpy())  # (50, 28, 28)
    assert np.array_equal(by_tensor[0], by_array[0]) and np.allclose(by_tensor[1], by_array[1])
    assert np.array_equal(judge.read(x, batch_size=7)[0], by_tensor[0])  # batching changes nothing
    empty = judge.read(np.zeros((0, 28, 28), np.float32))
    assert empty[0].shape == (0,) and empty[1].shape == (0,)
    with pytest.raises(ConfigError, match="28 x 28"):
        judge.read(np.zeros((3, 32, 32), np.float32))


# --- a missing or damaged judge ------------------------------------------------------------------


def test_a_missing_or_damaged_judge_file_is_named_with_what_to_do(tmp_path):
    missing = tmp_path / "judge_mnist.safetensors"
    with pytest.raises(JudgeUnavailable, match="missing") as caught:
        load_judge(missing)
    assert str(missing) in str(caught.value) and "make_judge.py" in str(caught.value)
    assert isinstance(caught.value, LatentMorphError)

    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a judge at all" * 10)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(JUDGE_FILE.read_bytes()[:5000])
    from safetensors.torch import save_file
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(foreign))  # a safetensors file, but no judge inside
    for path in (garbage, truncated, foreign):
        with pytest.raises(JudgeUnavailable) as caught:
            load_judge(path)
        message = str(caught.value)
        assert str(path) in message and "make_judge.py" in message and "\n" not in message


def test_evaluate_without_the_judge_prints_the_likelihood_figures_and_a_note(monkeypatch, tmp_path,
                                                                          trained_vae_checkpoint):
    missing = tmp_path / "gone.safetensors"
    monkeypatch.setattr(core.judge, "JUDGE_FILE", missing)
    done = run("evaluate", "--checkpoint", trained_vae_checkpoint, "--iw-samples", "0", "--json")
    assert done.returncode == 0, done.stderr
    result = done.json()
    assert result["test_elbo"] > 0 and result["knn_accuracy"] is not None
    assert not JUDGE_FIELDS & set(result) and "conditional_fidelity" not in result
    assert str(missing) in result["judge_note"]
    text = run("evaluate", "--checkpoint", trained_vae_checkpoint, "--iw-samples", "0")  # text output too
    assert text.returncode == 0 and "judge_note:" in text.stdout and "test_elbo:" in text.stdout


def test_the_judge_figures_are_left_out_for_a_dataset_it_cannot_read(sample_data, judge):
    model = _train(sample_data.head(300), "vae", 1)
    result = generation_metrics(model, sample_data.test_x[:200], sample_data.test_y[:200], "fashion-mnist",
                                judge=judge)
    fields = result.fields()
    assert "fashion-mnist" in fields["judge_note"] and not JUDGE_FIELDS & set(fields)
    assert fields["knn_accuracy"] is not None  # needs labels, not the judge


# --- what the judge reads in models' images ------------------------------------------------------


def test_a_vae_s_prior_draws_read_as_clearer_digits_than_an_ae_s(sample_data, judge):
    """The prior N(0, I) is what a VAE is trained to fill; an AE's codes land wherever they like,
    so its prior draws are less often clear digits. Same seed, same data, same network."""
    figures = {kind: generation_metrics(_train(sample_data, kind, 10), sample_data.test_x, sample_data.test_y,
                                        sample_data.name, samples=1000, judge=judge) for kind in ("vae", "ae")}
    vae, ae = figures["vae"].prior, figures["ae"].prior
    assert vae.mean_confidence > ae.mean_confidence, (vae, ae)  # 0.63 against 0.54 when written
    assert sum(vae.class_histogram) == sum(ae.class_histogram) == 1000
    assert figures["vae"].recon_judge_accuracy > 0.3  # 2-D codes blur; chance is 0.1


def test_a_cvae_makes_the_class_asked_for_unless_its_labels_were_shuffled(sample_data, judge):
    data = sample_data
    shuffled = replace(data, train_y=data.train_y[torch.randperm(len(data.train_y),
                                                                 generator=torch.Generator().manual_seed(0))])
    faithful = generation_metrics(_train(data, "cvae", 10), data.test_x, data.test_y, data.name,
                                  samples=500, judge=judge).conditional_fidelity
    confused = generation_metrics(_train(shuffled, "cvae", 10), data.test_x, data.test_y, data.name,
                                  samples=500, judge=judge).conditional_fidelity
    assert len(faithful.per_class) == 10 and all(share is not None for share in faithful.per_class)
    assert faithful.mean >= 0.85, faithful  # 0.90 against 0.09 shuffled when written
    assert confused.mean <= 0.4 and faithful.mean - confused.mean >= 0.4, (faithful, confused)


def test_a_cvae_s_draws_are_shared_evenly_among_its_classes(trained_cvae_checkpoint):
    from core.files import load_checkpoint

    model = load_checkpoint(trained_cvae_checkpoint).build_model("cpu")
    assert class_counts(model, 23) == [3, 3, 3] + [2] * 7
    images, labels = prior_draws(model, 23, seed=0)
    assert images.shape == (23, 28, 28) and np.bincount(labels).tolist() == class_counts(model, 23)


def test_knn_accuracy_leaves_each_code_out_and_breaks_ties_by_the_nearest():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    labels = np.repeat(np.arange(3), 40)
    codes = centres[labels] + rng.normal(0, 0.5, (120, 2))
    assert knn_accuracy(codes, labels) == 1.0
    assert knn_accuracy(codes, rng.permutation(labels)) < 0.6
    assert knn_accuracy(codes[:5], labels[:5]) is None  # no 5 others to ask
    # k = 2 on a line: the codes at 0 and 1 each see a 1-1 tie, won by the nearer neighbour's class
    # (0 for the code at 0: right; 1 for the code at 1: wrong); the code at 1.5 is outvoted; the far
    # three are right. Nearest wins: 4/6 (the lowest class would give 5/6, the highest 3/6).
    line = np.array([[0.0], [1.0], [1.5], [10.0], [11.0], [12.0]])
    assert knn_accuracy(line, np.array([0, 0, 1, 2, 2, 2]), k=2) == pytest.approx(4 / 6)


def test_evaluate_json_carries_the_judge_fields(trained_vae_checkpoint, trained_cvae_checkpoint):
    vae = run("evaluate", "--checkpoint", trained_vae_checkpoint, "--iw-samples", "0", "--samples", "200", "--json")
    assert vae.returncode == 0, vae.stderr
    result = vae.json()
    assert JUDGE_FIELDS <= set(result) and "conditional_fidelity" not in result and "judge_note" not in result
    assert len(result["prior_class_histogram"]) == 10 and sum(result["prior_class_histogram"]) == 200
    for key in ("prior_confidence", "prior_confident_share", "recon_judge_accuracy", "knn_accuracy"):
        assert 0.0 <= result[key] <= 1.0, key
    cvae = run("evaluate", "--checkpoint", trained_cvae_checkpoint, "--iw-samples", "0", "--samples", "200", "--json")
    assert cvae.returncode == 0, cvae.stderr
    fidelity = cvae.json()["conditional_fidelity"]
    assert len(fidelity["per_class"]) == 10 and 0.0 <= fidelity["mean"] <= 1.0
    assert json.loads(json.dumps(fidelity)) == fidelity
