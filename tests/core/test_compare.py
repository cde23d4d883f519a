"""`compare`: several models evaluated side by side, on the same test images, by evaluate's own path."""

import pytest

from core.comparison import MAX_COMPARED, MIN_COMPARED
from tests.core.test_cli import run

FAST = ("--iw-samples", "2", "--samples", "50", "--device", "cpu")  # a quick IW bound; few prior draws


@pytest.fixture(scope="module")
def three_models(trained_vae_checkpoint, trained_cvae_checkpoint, trained_ae_checkpoint):
    return [trained_vae_checkpoint, trained_cvae_checkpoint, trained_ae_checkpoint]


def untrained(path, **config):
    """An untrained model file of the given ModelConfig fields (for shapes compare must refuse)."""
    from core.config import ModelConfig
    from core.files import save_checkpoint
    from core.models import build_model
    from core.run_record import RunRecord

    model_config = ModelConfig(hidden=(16,), **config)
    return save_checkpoint(RunRecord(model_config, build_model(model_config).state_dict(), dataset="mnist-sample"),
                           path)


def checkpoints(paths) -> list[str]:
    return [text for path in paths for text in ("--checkpoint", path)]


def test_compare_gives_each_model_evaluate_s_figures_on_the_same_test_images(three_models):
    done = run("compare", *checkpoints(three_models), *FAST, "--json")
    assert done.returncode == 0, done.stderr
    result = done.json()
    assert result["dataset"] == "mnist-sample" and len(result["models"]) == 3
    for path, row, (kind, beta) in zip(three_models, result["models"], [("vae", 1.0), ("cvae", 1.0), ("ae", None)]):
        evaluated = run("evaluate", "--checkpoint", path, *FAST, "--json")
        assert evaluated.returncode == 0, evaluated.stderr
        # the same keys and the very same figures: one owner for the metrics
        assert row == {**evaluated.json(), "checkpoint": str(path), "kind": kind, "beta": beta, "latent_dim": 2}
    vae, cvae, ae = result["models"]
    assert vae["nll"] < vae["test_elbo"] and ae["test_elbo"] is None and ae["nll"] is None
    assert "conditional_fidelity" in cvae and "conditional_fidelity" not in vae


def test_text_output_is_one_aligned_row_per_model(three_models):
    done = run("compare", *checkpoints(three_models), *FAST)
    assert done.returncode == 0, done.stderr
    header, *rows, dataset = done.stdout.splitlines()
    assert header.startswith("checkpoint") and "-ELBO" in header and dataset == "dataset: mnist-sample"
    assert [row.split()[:2] for row in rows] == [[str(path), kind] for path, kind in
                                                 zip(three_models, ("vae", "cvae", "ae"))]
    assert header.split()[4] == "-ELBO"  # after checkpoint, kind, beta, latent
    elbo = [row.split()[4] for row in rows]
    assert elbo[2] == "\u2014" and float(elbo[0]) > 0  # the AE has no bound: a dash, not a number
    elbo_end = header.index("-ELBO") + len("-ELBO")  # numbers right-aligned under their header
    assert all(row[elbo_end - 1] != " " and row[elbo_end] == " " for row in rows)


@pytest.mark.parametrize("count", [MIN_COMPARED - 1, MAX_COMPARED + 1])
def test_too_few_or_too_many_models_exit_2_with_one_line(count, trained_vae_checkpoint):
    done = run("compare", *checkpoints([trained_vae_checkpoint] * count), "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert f"got {count}" in done.error_line() and "2 to 4" in done.error_line()


@pytest.mark.parametrize("config, named", [({"num_classes": 3}, "classes"), ({"image_shape": (1, 16, 16)}, "images")])
def test_models_of_other_images_or_classes_exit_2_naming_the_mismatch(config, named, trained_vae_checkpoint, tmp_path):
    other = untrained(tmp_path / "other.safetensors", **config)
    done = run("compare", "--checkpoint", trained_vae_checkpoint, "--checkpoint", other, "--json")
    assert done.returncode == 2 and done.stdout == ""
    line = done.error_line()
    assert line.startswith("latent-morph compare: error: ") and str(other) in line and named in line


def test_help_shows_how_to_train_the_models_to_compare():
    done = run("compare", "--help")
    assert done.returncode == 0
    for kind in ("--kind ae", "--kind vae --beta 4", "compare --checkpoint"):
        assert kind in done.stdout
