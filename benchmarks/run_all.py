"""Run every benchmark, each in its own subprocess (one failure does not stop the others), and
print ONE table: figure, measured value, target, met/missed, plus the machine.

    python benchmarks/run_all.py            # full run, about 5 minutes on a 2-core CPU
    python benchmarks/run_all.py --quick    # smoke test: every script on tiny inputs
    python benchmarks/run_all.py --train-epochs 10   # train_speed over 10 epochs (the ELBO check)
    python benchmarks/run_all.py --only train_speed,morph_speed
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import _common
from _common import MARKER, format_table, machine

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("train_speed", "default_model_60s", "gui_responsiveness", "scatter_speed", "morph_speed",
              "startup", "memory", "judge_speed", "anatomy_speed", "traversal_speed", "decision_regions_speed")
# not here: gpu_check (a GPU machine's), morph_quality and timeline_cost (they train models for minutes)


def run_one(name: str, extra: list[str], timeout: float) -> tuple[list[dict], float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *extra], cwd=HERE.parent, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [{"figure": name, "value": None, "target": "", "met": None,
                 "note": f"failed: timed out after {timeout:.0f} s"}], time.perf_counter() - start
    elapsed = time.perf_counter() - start
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])["rows"], elapsed
    last = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
    return [{"figure": name, "value": None, "target": "", "met": None,
             "note": f"failed (exit {proc.returncode}): {last[:150]}"}], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--train-epochs", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    args = parser.parse_args()
    names = [n for n in BENCHMARKS if not args.only or n in args.only.split(",")]
    info = machine()
    rows: list[dict] = []
    load_before = os.getloadavg()
    for name in names:
        extra = ["--quick"] if args.quick else []
        if name == "train_speed" and not args.quick:
            # the engine at its best measured setting (batch 256, lr 3e-3; batch 128 is in the README),
            # on the same 60,000 training digits as the baseline
            extra += ["--epochs", str(args.train_epochs), "--batch-size", "256", "--lr", "3e-3", "--val-fraction", "0"]
        print(f"running {name}{' ' + ' '.join(extra) if extra else ''} ...", file=sys.stderr, flush=True)
        result, elapsed = run_one(name, extra, timeout=120 if args.quick else 900)
        for row in result:
            row["figure"] = f"{name}: {row['figure']}"
        rows.extend(result)
        print(f"  {name} took {elapsed:.1f} s", file=sys.stderr, flush=True)
    print(f"machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}, {info['threads']} threads, "
          f"python {info['python']}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(libgomp default)')}")
    print(f"load average before / after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f}"
          f"{'  (other work on the machine: timings are pessimistic)' if max(load_before[0], os.getloadavg()[0]) > 1.5 else ''}")
    print(format_table(rows))
    met = sum(1 for r in rows if r.get("met") is True)
    missed = [r["figure"] for r in rows if r.get("met") is False]
    print(f"\ntargets met: {met}, missed: {len(missed)}" + (f" ({'; '.join(missed)})" if missed else ""))


if __name__ == "__main__":
    main()
