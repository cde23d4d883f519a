"""CUDA check: one prepared script for a short session on a GPU machine (under 5 minutes on an H100).

Without a CUDA device it prints one line and exits 0. With one, it:

1. trains the reference VAE (MLP 784-400-20) for 2 epochs on CUDA and checks every figure and
   weight is finite (full MNIST from $LATENT_MORPH_DATA when it is there, else the offline sample);
2. checks exact resume on CUDA: a run cancelled mid-epoch twice and resumed from its model file
   ends with the same weights (torch.equal) and step history as an uninterrupted run;
3. times epochs (median of epochs 2-4, validation included; epoch 1 warms up) for the reference
   VAE and the default 2-D VAE (MLP 512-256) at batch 128 and 1,024, eager. A CUDA-graphed
   column is printed as "not implemented": the Trainer has no graphed mode yet;
4. times the same four on the CPU in the same process, 1 epoch each (validation and first-step
   warm-up included, all torch threads), for the CPU/CUDA ratio;
5. prints the peak GPU memory of each CUDA run (torch.cuda.max_memory_allocated, dataset included);
6. runs benchmarks/gui_responsiveness.py in a subprocess: its TrainConfig uses device "auto", which
   is CUDA here, so the window trains on CUDA offscreen (the script has no --device flag).

Target: one epoch of the reference VAE at batch 128, validation included, <= 0.25 s on an H100.

    python benchmarks/gpu_check.py [--skip-gui]
    python benchmarks/gpu_check.py --cpu-dry-run   # runs every section on the CPU, tiny: checks the
                                                   # script itself where there is no GPU; figures mean nothing
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

import _common  # noqa: F401  (sets sys.path and the data dir)
from _common import MARKER, ROOT, Results, machine, median

import torch

REFERENCE_EPOCH_TARGET_S = 0.25  # one epoch of the reference VAE at batch 128, validation included, H100
TIMED_EPOCHS = 4  # epoch 1 warms up (cuBLAS handles, allocator); the median is over epochs 2..4
GUI_TIMEOUT_S = 240
GRAPHED = "not implemented"  # the Trainer has no CUDA-graph mode yet; never fake this column


def _models():
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


def _fit(model_config, data):
    return replace(model_config, num_classes=data.num_classes, image_shape=data.image_shape)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed_run(model_config, data, device: str, batch_size: int, epochs: int) -> dict:
    """Train ``epochs`` epochs; seconds of each epoch (end of one epoch's validation to the next's)
    and the peak GPU memory (MB; None on the CPU)."""
    from core.config import TrainConfig
    from core.training import Trainer

    train_config = TrainConfig(dataset=data.name, epochs=epochs, batch_size=batch_size, device=device)
    if device == "cuda":  # the previous run's dataset copy must not count in this run's peak
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    marks: list[float] = []
    trainer = Trainer(_fit(model_config, data), train_config, data,
                      on_epoch=lambda report: marks.append(time.perf_counter()))  # after validation: synced
    _sync(device)
    start = time.perf_counter()
    result = trainer.run()
    _sync(device)
    ends = [start, *marks]
    seconds = [b - a for a, b in zip(ends, ends[1:])]
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    del trainer
    return {"epoch_seconds": seconds, "peak_mb": peak, "result": result}


# ----- 1. a short CUDA run, finite -----
def check_finite_run(data, device: str, results: Results) -> None:
    from core.evaluation import evaluate

    model_config = _models()["reference VAE 784-400-20"]
    run = timed_run(model_config, data, device, 128, 2)
    result = run["result"]
    last = result.history.epochs[-1] if result.history.epochs else None
    weights_finite = all(bool(torch.isfinite(t).all()) for t in result.model.state_dict().values())
    metrics = evaluate(result.model, data.test_x, data.test_y)
    figures = [] if last is None else [last.train_loss, last.val_loss, metrics["elbo"]]
    ok = result.status == "finished" and weights_finite and bool(figures) and all(map(math.isfinite, figures))
    print(f"[1] {device} run: {result.status}, epochs {[round(s, 3) for s in run['epoch_seconds']]} s, "
          f"val loss {last.val_loss if last else float('nan'):.2f}, test -ELBO {metrics['elbo']:.2f}, "
          f"weights finite: {weights_finite}")
    results.add(f"{device} training run (reference VAE, 2 epochs) finite", ok, target="True", met=ok,
                note=f"test -ELBO {metrics['elbo']:.2f} nats on {data.name}")


# ----- 2. exact resume -----
def check_exact_resume(data, device: str, results: Results, tmp_dir: str) -> None:
    from core.config import TrainConfig
    from core.files import load_checkpoint
    from core.training import Trainer, TrainingControl

    data = data.head(5000)
    model_config = _fit(_models()["reference VAE 784-400-20"], data)
    train_config = TrainConfig(dataset=data.name, epochs=2, batch_size=128, device=device, seed=3)
    steps = math.ceil(len(data.train_x) / train_config.batch_size)
    stops = (steps // 3, steps + steps // 2)  # mid-epoch 1, then mid-epoch 2
    path = os.path.join(tmp_dir, "resume.safetensors")
    uninterrupted = Trainer(model_config, train_config, data).run()
    resume, notes = None, []
    for stop in stops:
        control = TrainingControl()

        def maybe_stop(report, stop=stop, control=control):
            if report.global_step == stop:
                control.request_stop()

        trainer = Trainer(model_config, train_config, data, control=control, on_step=maybe_stop,
                          checkpoint_path=path, resume=resume)
        notes.append(trainer.resume_note)
        stopped = trainer.run()
        if stopped.status != "cancelled" or stopped.position.global_step != stop:
            results.add(f"{device} cancel + resume == uninterrupted (torch.equal)", False, target="True", met=False,
                        note=f"the stop at step {stop} did not happen: {stopped.status}, {stopped.message}")
            return
        resume = load_checkpoint(path)
    final = Trainer(model_config, train_config, data, resume=resume)
    notes.append(final.resume_note)
    result = final.run()
    a, b = uninterrupted.model.state_dict(), result.model.state_dict()
    same_weights = all(torch.equal(a[k], b[k]) for k in a)
    same_steps = result.history.steps == uninterrupted.history.steps
    same_noise = torch.equal(uninterrupted.record.noise_rng_state, result.record.noise_rng_state)
    ok = (result.status == "finished" and same_weights and same_steps and same_noise
          and resume.noise_rng_device == device and not any(notes))
    print(f"[2] {device} resume (stops at steps {stops} of {2 * steps}): weights equal {same_weights}, "
          f"step history equal {same_steps}, noise state equal {same_noise}, "
          f"saved noise device {resume.noise_rng_device!r}, resume notes {[n for n in notes if n]}")
    results.add(f"{device} cancel + resume == uninterrupted (torch.equal)", ok, target="True", met=ok,
                note=f"stopped at steps {stops}")


# ----- 3-5. epoch times, CUDA and CPU, peak memory -----
def epoch_times(data, device: str, results: Results, cpu_epochs: int, gpu_epochs: int) -> None:
    from core.device import describe_device
    from core.training import cpu_has_fast_bf16

    rows = []
    for name, model_config in _models().items():
        for batch in (128, 1024):
            gpu = timed_run(model_config, data, device, batch, gpu_epochs)
            gpu_s = median(gpu["epoch_seconds"][1:] or gpu["epoch_seconds"])
            cpu = timed_run(model_config, data, "cpu", batch, cpu_epochs)
            cpu_s = median(cpu["epoch_seconds"])
            rows.append((name, batch, gpu_s, cpu_s, gpu["peak_mb"]))
            print(f"[3] {name} batch {batch}: {device} epochs {[round(s, 3) for s in gpu['epoch_seconds']]} s; "
                  f"cpu {[round(s, 3) for s in cpu['epoch_seconds']]} s", flush=True)
    n_train, n_val = len(data.train_x), len(data.val_x)
    print(f"\nEpoch times on {data.name} ({n_train:,} train + {n_val:,} validation digits), validation included.")
    print(f"{device}: {describe_device(torch.device(device))}; median of epochs 2-{gpu_epochs}.")
    print(f"cpu: {describe_device(torch.device('cpu'))}, bf16 autocast {'on' if cpu_has_fast_bf16() else 'off'}; "
          f"{cpu_epochs} epoch{'s' * (cpu_epochs != 1)} (the first includes warm-up).")
    header = (f"{'model':<26} {'batch':>5}  {device + ' eager':>12}  {device + ' graphed':>16}  {'cpu':>8}  "
              f"{'cpu/' + device:>9}  {'peak GPU':>9}")
    print(header)
    print("-" * len(header))
    for name, batch, gpu_s, cpu_s, peak in rows:
        peak_text = f"{peak:,.0f} MB" if peak is not None else "-"
        print(f"{name:<26} {batch:>5}  {gpu_s:>10.3f} s  {GRAPHED:>16}  {cpu_s:>6.2f} s  {cpu_s / gpu_s:>8.1f}x  "
              f"{peak_text:>9}")
    print()
    on_h100 = device == "cuda" and "H100" in torch.cuda.get_device_name()
    for name, batch, gpu_s, cpu_s, peak in rows:
        tag = f"{name}, batch {batch}"
        if name.startswith("reference") and batch == 128:
            met = gpu_s <= REFERENCE_EPOCH_TARGET_S if on_h100 else None
            results.add(f"{device} epoch, {tag} (eager, with validation)", gpu_s, "s",
                        f"<= {REFERENCE_EPOCH_TARGET_S} s on an H100", met,
                        note="" if on_h100 or device != "cuda" else f"not an H100: {torch.cuda.get_device_name()}")
        else:
            results.add(f"{device} epoch, {tag} (eager, with validation)", gpu_s, "s")
        results.add(f"{device} epoch, {tag} (CUDA graphs)", None, note=f"{GRAPHED}: the Trainer has no graphed mode")
        results.add(f"cpu epoch, {tag} ({cpu_epochs} epoch)", cpu_s, "s",
                    note=f"{cpu_s / gpu_s:.1f}x the {device} epoch")
        if peak is not None:
            results.add(f"peak GPU memory, {tag}", peak, "MB", note="max_memory_allocated, dataset included")


# ----- 6. the window training on CUDA -----
def gui_responsiveness(full_mnist: bool, results: Results) -> None:
    args = ["--epochs", "2"] if full_mnist else ["--quick"]
    command = [sys.executable, str(ROOT / "benchmarks" / "gui_responsiveness.py"), *args]
    by_hand = f"QT_QPA_PLATFORM=offscreen python benchmarks/gui_responsiveness.py {' '.join(args)}"
    print(f"[6] {by_hand}  (TrainConfig device 'auto' -> cuda: the window trains on CUDA)", flush=True)
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=GUI_TIMEOUT_S, cwd=ROOT)
    except subprocess.TimeoutExpired:
        results.add("GUI responsiveness, training on CUDA", None,
                    note=f"timed out after {GUI_TIMEOUT_S} s; run: {by_hand}")
        return
    lines = done.stdout.splitlines()
    payload = next((line[len(MARKER):] for line in reversed(lines) if line.startswith(MARKER)), None)
    print("\n".join(f"    {line}" for line in lines if not line.startswith(MARKER)))
    if done.returncode != 0 or payload is None:
        print(done.stderr[-3000:])
        results.add("GUI responsiveness, training on CUDA", None,
                    note=f"exit {done.returncode}, no results; run by hand: {by_hand}")
        return
    for row in json.loads(payload)["rows"]:
        results.rows.append({**row, "figure": f"GUI on CUDA: {row['figure']}"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-gui", action="store_true", help="leave out the window (section 6)")
    parser.add_argument("--cpu-dry-run", action="store_true",
                        help="run every section on the CPU with 1,200 sample digits: checks this script, not the GPU")
    args = parser.parse_args()
    if not torch.cuda.is_available() and not args.cpu_dry_run:
        print("no CUDA device: nothing to check")
        return 0
    from core.device import describe_device

    device = "cpu" if args.cpu_dry_run else "cuda"
    begin = time.perf_counter()
    print(f"machine: {machine()}")
    print(f"device: {describe_device(torch.device(device))}; torch {torch.__version__}, CUDA {torch.version.cuda}")
    data = load_data(tiny=args.cpu_dry_run)
    print(f"data: {data.name}, {len(data.train_x):,} train / {len(data.val_x):,} validation / "
          f"{len(data.test_x):,} test")
    results = Results("gpu_check")
    with tempfile.TemporaryDirectory(prefix="lm-gpu-check-") as tmp_dir:
        check_finite_run(data, device, results)
        check_exact_resume(data, device, results, tmp_dir)
    print(f"({time.perf_counter() - begin:.0f} s so far)", flush=True)
    epoch_times(data, device, results, cpu_epochs=1, gpu_epochs=2 if args.cpu_dry_run else TIMED_EPOCHS)
    print(f"({time.perf_counter() - begin:.0f} s so far)", flush=True)
    if args.skip_gui or args.cpu_dry_run:
        results.add("GUI responsiveness, training on CUDA", None,
                    note="skipped; run: QT_QPA_PLATFORM=offscreen python benchmarks/gui_responsiveness.py --epochs 2")
    else:
        gui_responsiveness(data.name == "mnist", results)
    print(f"total {time.perf_counter() - begin:.0f} s")
    results.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
