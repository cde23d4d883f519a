"""The headless commands, run as a user would: exit codes, JSON keys, files written.

They run in-process through core.cli.run_cli (what main.py calls); one test runs main.py itself."""

import argparse
import json
import math
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import pytest
from PIL import Image

from core.cli import build_parser, run_cli

ROOT = Path(__file__).resolve().parents[2]


class Done:
    """What a command left behind: its exit status and everything it printed."""

    def __init__(self, status: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = status, stdout, stderr

    def json(self) -> dict:
        """stdout as strict JSON: exactly one object, and no NaN or Infinity (which json.loads allows)."""
        def refuse(constant):
            raise AssertionError(f"{constant} is not JSON: {self.stdout!r}")
        data = json.loads(self.stdout, parse_constant=refuse)
        assert isinstance(data, dict)
        return data

    def error_line(self) -> str:
        lines = [line for line in self.stderr.replace("\r", "\n").splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in self.stderr, self.stderr
        return lines[0]


def run(*args) -> Done:
    """``latent-morph ARGS`` in this process (progress bars and all), as main.py would run it."""
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = run_cli([str(a) for a in args])
    return Done(status, out.getvalue(), err.getvalue())


def train(out: Path, kind: str) -> dict:
    done = run("train", "--dataset", "mnist-sample", "--kind", kind, "--hidden", "128", "--epochs", "2",
               "--batch-size", "256", "--lr", "2e-3", "--device", "cpu", "--out", out, "--json")
    assert done.returncode == 0, done.stderr
    return done.json()


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "model.safetensors"
    return out, train(out, "vae")


@pytest.fixture(scope="module")
def cli_autoencoder(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ae.safetensors"
    return out, train(out, "ae")


def test_train_prints_one_json_object_with_the_metrics(cli_model):
    path, metrics = cli_model
    for key in ("test_elbo", "test_recon", "test_kl", "active_units", "epochs", "train_seconds",
                "samples_per_second", "checkpoint", "nll"):
        assert key in metrics
    assert metrics["epochs"] == 2 and Path(metrics["checkpoint"]) == path and path.exists()
    assert abs(metrics["test_elbo"] - (metrics["test_recon"] + metrics["test_kl"])) < 1e-6
    assert 100 < metrics["test_elbo"] < 300
    assert metrics["nll"] is None  # no --iw-samples: not estimated, and null rather than NaN


def test_evaluate_reports_the_iw_bound_below_the_elbo(cli_model):
    path, _ = cli_model
    done = run("evaluate", "--checkpoint", path, "--iw-samples", "20", "--json")
    assert done.returncode == 0, done.stderr
    metrics = done.json()
    assert metrics["nll"] < metrics["test_elbo"] and metrics["active_units"] in (1, 2)


def test_evaluate_without_the_iw_bound_prints_strict_json(cli_model):
    path, _ = cli_model
    done = run("evaluate", "--checkpoint", path, "--iw-samples", "0", "--json")
    assert done.returncode == 0, done.stderr
    metrics = done.json()
    assert metrics["nll"] is None and math.isfinite(metrics["test_elbo"])


@pytest.mark.parametrize("kind", ["vae", "ae"])
def test_only_a_vae_reports_a_bound_an_autoencoder_its_reconstruction(kind, cli_model, cli_autoencoder):
    path, trained = cli_model if kind == "vae" else cli_autoencoder
    done = run("evaluate", "--checkpoint", path, "--iw-samples", "5", "--json")
    assert done.returncode == 0, done.stderr
    evaluated = done.json()
    text = run("evaluate", "--checkpoint", path, "--iw-samples", "5")
    assert text.returncode == 0, text.stderr
    printed = dict(line.split(": ", 1) for line in text.stdout.splitlines())
    for metrics in (trained, evaluated):
        assert 50 < metrics["test_recon"] < 300
        if kind == "vae":
            assert metrics["test_elbo"] == pytest.approx(metrics["test_recon"] + metrics["test_kl"])
        else:  # an autoencoder has no ELBO: its reconstruction must not stand in for one
            assert metrics["test_elbo"] is None and metrics["test_kl"] is None and metrics["nll"] is None
    if kind == "vae":
        assert evaluated["nll"] < evaluated["test_elbo"]
        assert float(printed["test_elbo"]) == pytest.approx(evaluated["test_elbo"], abs=1e-4)
    else:
        assert printed["test_elbo"] == printed["test_kl"] == printed["nll"] == "\u2014"
        assert float(printed["test_recon"]) == pytest.approx(evaluated["test_recon"], abs=1e-4)


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


def test_morph_without_a_start_exits_2_with_one_line():
    """Out-of-range training settings: tests/reliability/test_bad_hyperparameters.py."""
    done = run("morph", "--checkpoint", "x", "--frames", "3", "--out", "x.gif")
    assert done.returncode == 2 and done.stdout == ""
    assert "--from-index" in done.error_line()


def number_flags() -> list[tuple[str, str]]:
    """(sub-command, flag) for every flag of every sub-command that converts its text (all are numbers)."""
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    return [(name, action.option_strings[0]) for name, parser in commands.items()
            for action in parser._actions if action.type is not None and action.option_strings]


# One value each flag must refuse. A new number flag fails test_every_number_flag_refuses_out_of_range_values
# until it is added here. The morph values are ones the shared converters refuse (morph's own bounds,
# --frames 2..1000, --fps up to 120, --scale up to 40, are checked by core once the model is loaded).
BAD_VALUES = {
    ("train", "--latent-dim"): "513", ("train", "--beta"): "-1", ("train", "--epochs"): "0",
    ("train", "--batch-size"): "0", ("train", "--lr"): "0", ("train", "--seed"): "-1",
    ("train", "--max-seconds"): "0", ("train", "--iw-samples"): "-1",
    ("train", "--beta-schedule"): "warmup:0", ("train", "--free-bits"): "-1",
    ("evaluate", "--iw-samples"): "100001", ("evaluate", "--samples"): "0",
    ("compare", "--iw-samples"): "-1", ("compare", "--samples"): "10001",
    ("morph", "--from-index"): "-1", ("morph", "--to-index"): "-1", ("morph", "--from-digit"): "-1",
    ("morph", "--to-digit"): "-1", ("morph", "--frames"): "-1", ("morph", "--fps"): "nan",
    ("morph", "--label"): "-1", ("morph", "--scale"): "-1", ("morph", "--size"): "27", ("morph", "--columns"): "0",
    ("generate", "--digit"): "-1", ("generate", "--count"): "0", ("generate", "--seed"): "-1",
    ("generate", "--scale"): "41",
    ("manifold", "--grid"): "1", ("manifold", "--digit"): "-1", ("manifold", "--scale"): "0",
    ("inspect", "--index"): "-1", ("inspect", "--label"): "-1", ("inspect", "--seed"): "-1",
    ("traverse", "--index"): "-1", ("traverse", "--steps"): "1", ("traverse", "--range"): "0",
    ("traverse", "--label"): "-1", ("traverse", "--scale"): "0", ("traverse", "--fps"): "0",
    ("timeline", "--fps"): "0", ("timeline", "--size"): "127",
    ("judge", "--epochs"): "0", ("judge", "--seed"): "-1",
}


def test_the_bad_value_table_names_only_real_flags():
    assert set(BAD_VALUES) <= set(number_flags())


@pytest.mark.parametrize("command, flag", number_flags())
def test_every_number_flag_refuses_out_of_range_values(command, flag, tmp_path):
    if (command, flag) not in BAD_VALUES:
        pytest.fail(f"add a value that {command} {flag} must refuse to BAD_VALUES")
    required = {"--checkpoint": tmp_path / "missing.safetensors", "--out": tmp_path / "out.png"}
    done = run(command, flag, BAD_VALUES[command, flag], *[text for option in required for text in
                                                           (option, required[option])])
    assert done.returncode == 2 and done.stdout == ""
    line = done.error_line()
    assert line.startswith(f"latent-morph {command}: error: argument {flag}: "), line
    assert re.search(r"from -?\d|at least|more than|or more|finite", line), line  # the allowed range
    assert not any(path.exists() for path in required.values())


def test_the_scale_bound_is_the_exporter_s():
    from core import cli_args, export

    assert cli_args.MAX_SCALE == export.MAX_SCALE


def test_main_py_runs_the_commands_with_their_exit_status():
    """The only subprocess: main.py dispatches to core.cli and exits with its status."""
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "generate", "--seed", "-1", "--checkpoint", "x",
                           "--out", "x.png"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == "latent-morph generate: error: argument --seed: must be from 0 to 2147483647, got -1"
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "--help"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0 and "manifold" in done.stdout


def test_failure_exits_1_with_one_line_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_text("not a model")
    done = run("evaluate", "--checkpoint", str(bad))
    assert done.returncode == 1 and str(bad) in done.error_line()
