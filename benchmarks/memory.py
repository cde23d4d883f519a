"""Peak memory (RSS high-water mark, /proc/self/status VmHWM) of the app process while it trains
on full MNIST: a real MainWindow trains the default 2-D VAE for ``--epochs`` epochs on its worker
thread. Run in a fresh subprocess so nothing else inflates the figure. For scale, the same run
headless (``python main.py train``) is measured too. Target: <= 1.5 GB.

    python benchmarks/memory.py [--epochs 1] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import _common
from _common import ROOT, Results


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(epochs: int, quick: bool) -> None:
    from gui_responsiveness import gui_training

    from core.config import ModelConfig, TrainConfig

    before = peak_rss_mb()
    dataset = "mnist-sample" if quick else "mnist"
    result = gui_training(ModelConfig(), TrainConfig(dataset=dataset, epochs=epochs), _common.data_dir(),
                          dataset_limit=2000 if quick else None, idle_seconds=0.1)
    print("CHILD " + json.dumps({"peak_mb": peak_rss_mb(), "before_training_mb": before,
                                 "finished": result["outcome"] is not None}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.epochs, args.quick)
        return
    results = Results("memory")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=tempfile.mkdtemp(prefix="lm-cfg-"))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--epochs", str(args.epochs)]
    proc = subprocess.run(cmd + (["--quick"] if args.quick else []), cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("CHILD ")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        results.skip("GUI process peak RSS while training", tail[:160])
    else:
        data = json.loads(lines[-1][6:])
        peak = data["peak_mb"]
        results.add("GUI process peak RSS, training full MNIST" if not args.quick else
                    "GUI process peak RSS, training (quick: 2,000 digits)", peak, "MB", "<= 1536 MB", peak <= 1536,
                    note=f"run finished: {data['finished']}")
    with tempfile.TemporaryDirectory() as folder:
        dataset = "mnist-sample" if args.quick else "mnist"
        train = [sys.executable, "-c",
                 "import resource,sys,runpy; sys.argv=['main.py']+sys.argv[1:]; "
                 "from main import main; rc=main(sys.argv[1:]); "
                 "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)",
                 "train", "--dataset", dataset, "--epochs", "1", "--out", str(Path(folder) / "m.safetensors"), "--json"]
        proc = subprocess.run(train, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        peaks = [line for line in proc.stderr.splitlines() if line.startswith("PEAK")]
        if peaks:
            results.add("headless `main.py train` peak RSS, 1 epoch", int(peaks[-1].split()[1]) / 1024, "MB")
        else:
            results.skip("headless train peak RSS", (proc.stderr.strip().splitlines() or ["?"])[-1][:160])
    results.finish()


if __name__ == "__main__":
    main()
