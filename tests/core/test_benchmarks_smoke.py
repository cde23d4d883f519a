"""The benchmark scripts still run (``--quick``: tiny inputs, a few seconds each). They print
figures; nothing here checks a timing, only that each script ends with its results line."""

import json
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
QUICK = ["train_speed", "morph_speed", "default_model_60s"]
# train_speed races the engine against the PyTorch tutorial, which reads MNIST through torchvision:
# it needs full MNIST even with --quick. The others run on the shipped sample.
NEEDS_FULL_MNIST = {"train_speed"}


@pytest.mark.parametrize("name", QUICK)
def test_benchmark_quick_runs(name, request, capsys, monkeypatch):
    """Each script runs as a script in this process (a subprocess spent 1.7 s importing torch again);
    torch's thread count and random state are put back after it."""
    import runpy

    import torch

    if name in NEEDS_FULL_MNIST:
        request.getfixturevalue("full_mnist_dir")  # skips, naming LATENT_MORPH_DATA, without full MNIST
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    data = os.environ.get("LATENT_MORPH_DATA")  # benchmarks/_common may set it: put back as it was
    monkeypatch.setenv("LATENT_MORPH_DATA", data or "")
    if data is None:
        monkeypatch.delenv("LATENT_MORPH_DATA")
    monkeypatch.setattr(sys, "argv", [str(BENCH / f"{name}.py"), "--quick"])
    monkeypatch.syspath_prepend(str(BENCH))
    threads, rng = torch.get_num_threads(), torch.get_rng_state()
    try:
        runpy.run_path(str(BENCH / f"{name}.py"), run_name="__main__")
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    finally:
        torch.set_num_threads(threads)
        torch.set_rng_state(rng)
    line = [l for l in capsys.readouterr().out.splitlines() if l.startswith("RESULTS_JSON ")][-1]
    rows = json.loads(line[len("RESULTS_JSON "):])["rows"]
    assert rows and all("figure" in row for row in rows)


def test_gpu_check_without_a_gpu_says_so_in_one_line_and_exits_0(capsys, monkeypatch):
    """benchmarks/gpu_check.py is the one prepared script for a GPU machine; here, as in CI, there is
    none. Run as a script in this process (a subprocess would spend 2 s importing torch again)."""
    import runpy

    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here: gpu_check would run its full table (minutes)")
    monkeypatch.setattr(sys, "argv", [str(BENCH / "gpu_check.py")])
    monkeypatch.syspath_prepend(str(BENCH))
    try:
        runpy.run_path(str(BENCH / "gpu_check.py"), run_name="__main__")
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    assert capsys.readouterr().out.strip().splitlines() == ["no CUDA device: nothing to check"]
