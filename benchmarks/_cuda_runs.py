"""The training runs benchmarks/gpu_check.py times: its two models, its data, and ``timed_run``
(seconds per epoch and peak GPU memory of one Trainer run, on CUDA or the CPU)."""

from __future__ import annotations

import gc
import time
from dataclasses import replace

import _common  # sets sys.path and the data dir

import torch


def models() -> dict:
    """The two models gpu_check times, by the name its table shows (not yet fitted to a dataset)."""
    from core.config import ModelConfig

    return {"reference VAE 784-400-20": ModelConfig(hidden=(400,), latent_dim=20),
            "default 2-D VAE 512-256": ModelConfig()}


def load_data(tiny: bool):
    """Full MNIST when $LATENT_MORPH_DATA holds it (no download attempt), else the offline sample."""
    from core.config import TrainConfig
    from core.data import load_dataset
    from core.errors import DatasetError

    val_fraction = TrainConfig().val_fraction
    if not tiny:
        try:
            return load_dataset("mnist", _common.data_dir(), val_fraction=val_fraction, download=False)
        except DatasetError as exc:
            print(f"full MNIST not found ({str(exc)[:120]}...): using the offline sample")
    data = load_dataset("mnist-sample", val_fraction=val_fraction)
    return data.head(1200) if tiny else data


def fitted(model_config, data):
    """``model_config`` with ``data``'s class count and image shape."""
    return replace(model_config, num_classes=data.num_classes, image_shape=data.image_shape)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def epoch_list(seconds) -> list[float]:
    """Seconds rounded to the millisecond, for a printed line."""
    return [round(s, 3) for s in seconds]


def timed_run(model_config, data, device: str, batch_size: int, epochs: int, graphs: bool | None = None,
              on_epoch=None, report_every: int = 1) -> dict:
    """Train ``epochs`` epochs; seconds of each epoch (end of one epoch's validation to the next's)
    and the peak GPU memory (MB; None on the CPU). ``graphs`` None: the Trainer's default.
    ``report_every``: TrainConfig.step_report_every (each report copies the figures to the host)."""
    from core.config import TrainConfig
    from core.training import Trainer

    train_config = TrainConfig(dataset=data.name, epochs=epochs, batch_size=batch_size, device=device,
                               step_report_every=report_every)
    if device == "cuda":  # the previous run's dataset copy must not count in this run's peak
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    marks: list[float] = []
    steps_done: list[float] = []  # when each epoch's last step report came (its .tolist() syncs)

    def last_step(report):
        if report.step == report.steps_per_epoch:
            steps_done.append(time.perf_counter())

    def mark(report):
        marks.append(time.perf_counter())  # after validation: synced
        if on_epoch is not None:
            on_epoch(report)

    trainer = Trainer(fitted(model_config, data), train_config, data, on_epoch=mark, on_step=last_step,
                      cuda_graphs=graphs)
    _sync(device)
    start = time.perf_counter()
    result = trainer.run()
    _sync(device)
    ends = [start, *marks]
    seconds = [b - a for a, b in zip(ends, ends[1:])]
    # the epoch's end: validation, the timeline's snapshot, the record's host copies, the callback
    end_seconds = [m - s for s, m in zip(steps_done, marks)]
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    graphed = trainer._graphed is not None
    note = trainer.graph_note
    del trainer
    return {"epoch_seconds": seconds, "end_seconds": end_seconds, "peak_mb": peak, "result": result, "graphed": graphed, "graph_note": note}
