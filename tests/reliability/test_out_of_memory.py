"""Out of (GPU) memory during training: the CLI says what to do and exits 1."""

import torch

from core import training
from reliability_helpers import one_line


def test_cli_out_of_memory_suggests_a_smaller_batch_or_the_cpu(cli, tmp_path, monkeypatch):
    calls = {"n": 0}
    real_loss_terms = training.loss_terms

    def oom_on_third_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total)")
        return real_loss_terms(*args, **kwargs)

    monkeypatch.setattr(training, "loss_terms", oom_on_third_step)
    status, out, err = cli("train", "--dataset", "mnist-sample", "--device", "cpu", "--hidden", "64",
                           "--epochs", "1", "--batch-size", "500", "--json", "--out", tmp_path / "m.safetensors")
    assert calls["n"] == 3, err
    assert status == 1 and out == ""
    line = one_line(err.split("\x1b[K")[-1])  # the last thing after the progress bar
    assert line == "latent-morph train: out of memory: try a smaller --batch-size or --device cpu"
    assert "Traceback" not in err
