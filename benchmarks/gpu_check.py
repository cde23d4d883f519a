"""CUDA check: one prepared script for a short session on a GPU machine (under 5 minutes on an H100).

Without a CUDA device it prints one line and exits 0. With one, it:

1. trains the reference VAE (MLP 784-400-20) for 2 epochs on CUDA (CUDA graphs on, the default) and
   checks every figure and weight is finite (full MNIST from $LATENT_MORPH_DATA when it is there,
   else the offline sample);
2. checks exact resume on CUDA, graphed and eager: a run cancelled mid-epoch twice and resumed from
   its model file ends with the same weights (torch.equal) and step history as an uninterrupted run;
   and whether a graphed run equals an eager one bit for bit;
3. times epochs (median of epochs 2-4, validation included; epoch 1 warms up and captures) for the
   reference VAE and the default 2-D VAE (MLP 512-256) at batch 128 and 1,024, eager and graphed;
4. times the same four on the CPU in the same process, 1 epoch each with 2 torch threads (a 2-core
   laptop's worth of this machine's CPU), for the CPU/CUDA ratio;
5. prints the peak GPU memory of each CUDA run (torch.cuda.max_memory_allocated, dataset included);
6. tries TF32 matmuls and bf16 autocast on the graphed reference VAE at batch 1,024 (epoch time and
   test -ELBO against float32), and times how long the default 2-D VAE takes to reach a test -ELBO
   of 140 nats (graphed, TrainConfig defaults);
7. runs benchmarks/gui_responsiveness.py in a subprocess: its TrainConfig uses device "auto", which
   is CUDA here, so the window trains on CUDA offscreen (needs PySide6 and pyqtgraph importable);
8. runs benchmarks/gui_stalls.py the same way: the GUI thread's stacks in each late heartbeat.

Section 3 also times the graphed batch-128 runs with a step report every REPORT_EVERY steps instead
of every step (each report waits for the GPU to copy its figures to the host).

Sections 1 and 2 live in benchmarks/_cuda_correctness.py; the models, the data and the timed
Trainer run that every section uses, in benchmarks/_cuda_runs.py.

Targets (H100): one epoch of the reference VAE at batch 128, validation included, <= 0.25 s; one
epoch of the default 2-D VAE <= 0.25 s; the default 2-D VAE at <= 140 nats in <= 10 s; the GPU
>= 10x faster than the 2-core CPU.

    python benchmarks/gpu_check.py [--skip-gui]
    python benchmarks/gpu_check.py --cpu-dry-run   # runs every section on the CPU, tiny: checks the
                                                   # script itself where there is no GPU; figures mean nothing
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import _common  # noqa: F401  (sets sys.path and the data dir)
from _common import MARKER, ROOT, Results, machine, median
from _cuda_correctness import check_exact_resume, check_finite_run, compare_graphed_and_eager
from _cuda_runs import epoch_list, fitted, load_data, models, timed_run

import torch

REFERENCE_EPOCH_TARGET_S = 0.25  # one epoch of the reference VAE at batch 128, validation included, H100
DEFAULT_EPOCH_TARGET_S = 0.25  # one epoch of the default 2-D VAE, H100
NATS_TARGET, NATS_SECONDS = 140.0, 10.0  # the default 2-D VAE reaches <= 140 nats in <= 10 s
SPEEDUP_TARGET = 10.0  # GPU epoch vs the 2-core CPU's
CPU_THREADS = 2  # the CPU column: a 2-core laptop's worth of threads
TIMED_EPOCHS = 4  # epoch 1 warms up (cuBLAS handles, allocator, graph capture); the median is over 2..4
GUI_TIMEOUT_S = 240  # gui_responsiveness: 3 window runs, each beside 2 headless runs, then panning
STALLS_TIMEOUT_S = 120
REPORT_EVERY = 8  # the sparser step report timed beside the window's one-per-step


# ----- 3-5. epoch times, CUDA and CPU, peak memory -----
def epoch_times(data, device: str, results: Results, gpu_epochs: int) -> dict:
    from core.device import describe_device
    from core.device import cpu_has_fast_bf16

    rows, threads = [], torch.get_num_threads()
    for name, model_config in models().items():
        for batch in (128, 1024):
            eager = timed_run(model_config, data, device, batch, gpu_epochs, graphs=False)
            graphed = timed_run(model_config, data, device, batch, gpu_epochs, graphs=True)
            torch.set_num_threads(CPU_THREADS)
            try:
                cpu = timed_run(model_config, data, "cpu", batch, 1)
            finally:
                torch.set_num_threads(threads)
            eager_s = median(eager["epoch_seconds"][1:] or eager["epoch_seconds"])
            graphed_s = median(graphed["epoch_seconds"][1:] or graphed["epoch_seconds"])
            rows.append((name, batch, eager_s, graphed_s if graphed["graphed"] else None, cpu["epoch_seconds"][0],
                         graphed["peak_mb"] or eager["peak_mb"]))
            print(f"[3] {name} batch {batch}: eager {epoch_list(eager['epoch_seconds'])} s; graphed "
                  f"{epoch_list(graphed['epoch_seconds'])} s {graphed['graph_note']} (of which epoch end "
                  f"{epoch_list(graphed['end_seconds'])} s); "
                  f"cpu x{CPU_THREADS} {epoch_list(cpu['epoch_seconds'])} s", flush=True)
    # each step report copies its figures to the host, which waits for the GPU: the CPU cannot queue
    # the next replays ahead. The window reports every step (its emits are coalesced to 10 a second);
    # these rows say whether reporting every REPORT_EVERY steps on CUDA would pay (not yet measured)
    for name, model_config in models().items():
        sparse = timed_run(model_config, data, device, 128, gpu_epochs, graphs=True, report_every=REPORT_EVERY)
        sparse_s = median(sparse["epoch_seconds"][1:] or sparse["epoch_seconds"])
        every = next(row for row in rows if row[0] == name and row[1] == 128)
        every_s = every[3] if every[3] is not None else every[2]
        print(f"[3] {name} batch 128, graphed, a report every {REPORT_EVERY} steps: "
              f"{epoch_list(sparse['epoch_seconds'])} s (every step: {every_s:.3f} s)", flush=True)
        results.add(f"{device} epoch, {name}, batch 128, graphed, step report every {REPORT_EVERY} steps",
                    sparse_s, "s", note=f"{every_s / sparse_s:.2f}x the speed of a report every step "
                                        f"({every_s:.3f} s), the window's setting")
    n_train, n_val = len(data.train_x), len(data.val_x)
    print(f"\nEpoch times on {data.name} ({n_train:,} train + {n_val:,} validation digits), validation included.")
    print(f"{device}: {describe_device(torch.device(device))}; median of epochs 2-{gpu_epochs}.")
    print(f"cpu: {describe_device(torch.device('cpu'), threads=CPU_THREADS)}, bf16 autocast "
          f"{'on' if cpu_has_fast_bf16() else 'off'}; 1 epoch (warm-up included).")
    header = (f"{'model':<26} {'batch':>5}  {'eager':>9}  {'graphed':>9}  {'graphs':>7}  {'cpu x2':>8}  "
              f"{'cpu/best':>8}  {'peak GPU':>9}")
    print(header)
    print("-" * len(header))
    best_of = {}
    for name, batch, eager_s, graphed_s, cpu_s, peak in rows:
        best = min(eager_s, graphed_s) if graphed_s is not None else eager_s
        best_of[(name, batch)] = best
        peak_text = f"{peak:,.0f} MB" if peak is not None else "-"
        graphed_text = f"{graphed_s:7.3f} s" if graphed_s is not None else "failed"
        gain = f"{eager_s / graphed_s:6.1f}x" if graphed_s else "-"
        print(f"{name:<26} {batch:>5}  {eager_s:7.3f} s  {graphed_text:>9}  {gain:>7}  {cpu_s:6.2f} s  "
              f"{cpu_s / best:7.1f}x  {peak_text:>9}")
    print()
    on_h100 = device == "cuda" and "H100" in torch.cuda.get_device_name()
    for name, batch, eager_s, graphed_s, cpu_s, peak in rows:
        tag = f"{name}, batch {batch}"
        best = best_of[(name, batch)]
        target = (REFERENCE_EPOCH_TARGET_S if name.startswith("reference") and batch == 128
                  else DEFAULT_EPOCH_TARGET_S if name.startswith("default") and batch == 128 else None)
        met = (best <= target if on_h100 else None) if target is not None else None
        results.add(f"{device} epoch, {tag}, eager (with validation)", eager_s, "s")
        results.add(f"{device} epoch, {tag}, CUDA graphs (with validation)", graphed_s, "s",
                    f"<= {target} s on an H100" if target else "", met,
                    note="" if graphed_s is None else f"{eager_s / graphed_s:.1f}x the eager epoch")
        results.add(f"cpu epoch, {tag} ({CPU_THREADS} threads, 1 epoch)", cpu_s, "s",
                    f">= {SPEEDUP_TARGET:g}x the GPU's" if batch == 128 else "",
                    cpu_s / best >= SPEEDUP_TARGET if batch == 128 and device == "cuda" else None,
                    note=f"{cpu_s / best:.1f}x the best {device} epoch")
        if peak is not None:
            results.add(f"peak GPU memory, {tag}", peak, "MB", note="max_memory_allocated, dataset included")
    return best_of


# ----- 6. TF32 and bf16; time to 140 nats -----
def precision_variants(data, device: str, results: Results, gpu_epochs: int) -> None:
    """Reference VAE, batch 1,024, graphed: float32, TF32 matmuls, bf16 autocast; epoch time and test -ELBO."""
    from core.evaluation import evaluate_elbo

    model_config = models()["reference VAE 784-400-20"]
    variants = {"float32": {}, "TF32 matmuls": {"tf32": True}, "bf16 autocast": {"bf16": True}}
    base = None
    for label, how in variants.items():
        torch.backends.cuda.matmul.allow_tf32 = bool(how.get("tf32"))
        os.environ["LATENT_MORPH_CUDA_BF16"] = "1" if how.get("bf16") else "0"
        try:
            run = timed_run(model_config, data, device, 1024, gpu_epochs)
            model = run["result"].model
            elbo = evaluate_elbo(model, data.test_x.to(model.fc_mu.weight.device),
                                 data.test_y.to(model.fc_mu.weight.device), run["result"].record.model_config,
                                 seed=0)["loss"]
        finally:
            torch.backends.cuda.matmul.allow_tf32 = False
            os.environ.pop("LATENT_MORPH_CUDA_BF16", None)
        seconds = median(run["epoch_seconds"][1:] or run["epoch_seconds"])
        base = base or (seconds, elbo)
        print(f"[6] {label}: epochs {epoch_list(run['epoch_seconds'])} s, test -ELBO {elbo:.2f} nats "
              f"after {gpu_epochs} epochs, graphed {run['graphed']}", flush=True)
        results.add(f"reference VAE batch 1024, {label}: epoch", seconds, "s",
                    note=f"{base[0] / seconds:.2f}x float32's speed; test -ELBO {elbo:.2f} nats "
                         f"({elbo - base[1]:+.2f} vs float32) after {gpu_epochs} epochs")


def time_to_target(data, device: str, results: Results, max_epochs: int) -> None:
    """The default 2-D VAE with TrainConfig defaults (graphed on CUDA): training seconds (the test
    evaluation after each epoch excluded) until the test -ELBO, measured after each epoch, is <= NATS_TARGET."""
    from core.config import ModelConfig
    from core.evaluation import evaluate_elbo

    model_config = fitted(ModelConfig(), data)
    test_x, test_y = data.test_x.to(device), data.test_y.to(device)
    curve: list[tuple[int, float, float]] = []  # (epoch, training seconds so far, test -ELBO)
    eval_seconds = 0.0

    def after_epoch(report):
        nonlocal eval_seconds
        begin = time.perf_counter()
        model = report.record.build_model(device)
        elbo = evaluate_elbo(model, test_x, test_y, model_config, seed=0)["loss"]
        curve.append((report.row.epoch, report.row.elapsed_seconds - eval_seconds, elbo))
        eval_seconds += time.perf_counter() - begin

    timed_run(ModelConfig(), data, device, 128, max_epochs, on_epoch=after_epoch)
    print(f"[6] default 2-D VAE, (epoch, s, test -ELBO): {[(e, round(t, 2), round(v, 1)) for e, t, v in curve]}",
          flush=True)
    first = next(((e, t, v) for e, t, v in curve if v <= NATS_TARGET), None)
    if first is None:
        results.add(f"default 2-D VAE: seconds to <= {NATS_TARGET:g} nats", None, "s", f"<= {NATS_SECONDS:g} s",
                    False, note=f"not reached in {max_epochs} epochs (best {min(v for _, _, v in curve):.1f} nats)")
        return
    epoch, seconds, elbo = first
    results.add(f"default 2-D VAE: seconds to <= {NATS_TARGET:g} nats", seconds, "s", f"<= {NATS_SECONDS:g} s",
                seconds <= NATS_SECONDS if device == "cuda" else None,
                note=f"epoch {epoch}, test -ELBO {elbo:.1f} nats; test evaluation time excluded")


# ----- 7. the window training on CUDA -----
def gui_responsiveness(full_mnist: bool, results: Results) -> None:
    args = ["--epochs", "2"] if full_mnist else ["--quick"]
    command = [sys.executable, str(ROOT / "benchmarks" / "gui_responsiveness.py"), *args]
    by_hand = f"QT_QPA_PLATFORM=offscreen python benchmarks/gui_responsiveness.py {' '.join(args)}"
    try:
        import pyqtgraph  # noqa: F401
        import PySide6.QtWidgets  # noqa: F401
    except ImportError as exc:
        print(f"[7] the window cannot run here: {exc}")
        results.add("GUI responsiveness, training on CUDA", None, note=f"not run: {exc}")
        return
    print(f"[7] {by_hand}  (TrainConfig device 'auto' -> cuda: the window trains on CUDA)", flush=True)
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


# ----- 8. what the GUI thread does when it is late, training on CUDA -----
def gui_stalls(full_mnist: bool) -> None:
    """benchmarks/gui_stalls.py on CUDA: the stacks sampled in each late heartbeat (a diagnostic that
    prints, no table rows), so one GPU session says where the window's late beats go."""
    args = ["--limit", "0", "--epochs", "6"] if full_mnist else ["--dataset", "mnist-sample", "--epochs", "3"]
    command = [sys.executable, str(ROOT / "benchmarks" / "gui_stalls.py"), *args]
    print(f"[8] QT_QPA_PLATFORM=offscreen python benchmarks/gui_stalls.py {' '.join(args)}", flush=True)
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=STALLS_TIMEOUT_S, cwd=ROOT)
    except subprocess.TimeoutExpired:
        print(f"    timed out after {STALLS_TIMEOUT_S} s")
        return
    print("\n".join(f"    {line}" for line in done.stdout.splitlines()[:120]))
    if done.returncode != 0:
        print(done.stderr[-2000:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-gui", action="store_true", help="leave out the window (section 7)")
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
    gpu_epochs = 2 if args.cpu_dry_run else TIMED_EPOCHS
    with tempfile.TemporaryDirectory(prefix="lm-gpu-check-") as tmp_dir:
        check_finite_run(data, device, results)
        graphed = check_exact_resume(data, device, results, tmp_dir, graphs=True)
        eager = check_exact_resume(data, device, results, tmp_dir, graphs=False)
        compare_graphed_and_eager(graphed, eager, results)
    print(f"({time.perf_counter() - begin:.0f} s so far)", flush=True)
    epoch_times(data, device, results, gpu_epochs=gpu_epochs)
    print(f"({time.perf_counter() - begin:.0f} s so far)", flush=True)
    if device == "cuda":
        precision_variants(data, device, results, gpu_epochs=gpu_epochs)
    else:
        results.add("TF32 / bf16 autocast on CUDA", None, note="CUDA only")
    time_to_target(data, device, results, max_epochs=2 if args.cpu_dry_run else 40)
    print(f"({time.perf_counter() - begin:.0f} s so far)", flush=True)
    if args.skip_gui or args.cpu_dry_run:
        results.add("GUI responsiveness, training on CUDA", None,
                    note="skipped; run: QT_QPA_PLATFORM=offscreen python benchmarks/gui_responsiveness.py --epochs 2")
    else:
        gui_responsiveness(data.name == "mnist", results)
        gui_stalls(data.name == "mnist")
    print(f"total {time.perf_counter() - begin:.0f} s")
    results.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
