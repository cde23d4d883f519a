"""The headless commands, run as a user would: exit codes, JSON keys, files written."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def run(*args, timeout=120):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "model.safetensors"
    done = run("train", "--dataset", "mnist-sample", "--hidden", "128", "--epochs", "2", "--batch-size", "256",
               "--lr", "2e-3", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    return out, json.loads(done.stdout)


def test_train_prints_one_json_object_with_the_metrics(cli_model):
    path, metrics = cli_model
    for key in ("test_elbo", "test_recon", "test_kl", "active_units", "epochs", "train_seconds",
                "samples_per_second", "checkpoint"):
        assert key in metrics
    assert metrics["epochs"] == 2 and Path(metrics["checkpoint"]) == path and path.exists()
    assert abs(metrics["test_elbo"] - (metrics["test_recon"] + metrics["test_kl"])) < 1e-6
    assert 100 < metrics["test_elbo"] < 300


def test_evaluate_reports_the_iw_bound_below_the_elbo(cli_model):
    path, _ = cli_model
    done = run("evaluate", "--checkpoint", str(path), "--iw-samples", "20", "--json")
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert metrics["nll"] < metrics["test_elbo"] and metrics["active_units"] in (1, 2)


def test_morph_generate_and_manifold_write_their_files(cli_model, tmp_path):
    path, _ = cli_model
    gif = tmp_path / "m.gif"
    done = run("morph", "--checkpoint", str(path), "--from-digit", "1", "--to-digit", "7", "--frames", "9",
               "--out", str(gif), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["frames"] == 9
    with Image.open(gif) as image:
        assert image.n_frames == 9
    done = run("generate", "--checkpoint", str(path), "--count", "4", "--out", str(tmp_path / "g.png"), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["images"] == 4
    done = run("manifold", "--checkpoint", str(path), "--grid", "5", "--out", str(tmp_path / "man.png"), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["images"] == 25


@pytest.mark.parametrize("args, field", [
    (["train", "--latent-dim", "0"], "latent_dim"),
    (["train", "--lr", "abc"], "--lr"),
    (["train", "--beta", "-1"], "beta"),
    (["train", "--epochs", "0"], "epochs"),
    (["morph", "--checkpoint", "x", "--frames", "3", "--out", "x.gif"], "--from-index"),
])
def test_bad_input_exits_2_with_one_line(args, field):
    done = run(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and field in done.stderr


def test_failure_exits_1_with_one_line_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_text("not a model")
    done = run("evaluate", "--checkpoint", str(bad))
    assert done.returncode == 1 and "Traceback" not in done.stderr and str(bad) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
