"""What the GUI thread is doing when it is late: a diagnostic, not a benchmark with targets.

The window trains (MainWindow.start_training, as gui_responsiveness.py does) while a 10 ms heartbeat
runs on the GUI thread and a watchdog thread samples the GUI thread's Python stack every 3 ms once
the heartbeat is more than 20 ms overdue. Each stall of 25 ms or more is printed with the stacks
seen in it, innermost first: the deepest frames of this project (gui/, core/) and then the frame
the thread was in. A sample whose stack ends in this script's event loop is the GUI thread in Qt's
C++ (painting) or waiting for the GIL.

Small datasets make short epochs, which is how a GPU trains (0.2 s an epoch on an H100): the window
then handles an epoch's end several times a second. This found the judge reading on the GUI thread,
torch's thread team on the GUI thread and QProgressBar's immediate repaint (benchmarks/README.md).

    python benchmarks/gui_stalls.py [--limit 8000] [--epochs 4] [--dataset mnist-sample]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import threading
import time
import traceback

import _common  # noqa: F401
from _common import ROOT, percentile

HEARTBEAT_MS = 10
OVERDUE_S = 0.020  # the watchdog samples once the heartbeat is this late
SAMPLE_S = 0.003
SHOWN_STALL_MS = 25  # stalls shorter than this are counted, not printed


def _frame_name(filename: str, line: int, function: str) -> str:
    path = os.path.relpath(filename, ROOT) if filename.startswith(str(ROOT)) else os.path.basename(filename)
    return f"{path}:{line} {function}"


def _stack_key(frame) -> str:
    """The deepest three frames of gui/ or core/, innermost first, then the innermost frame of all."""
    stack = [_frame_name(f.filename, f.lineno, f.name) for f in traceback.extract_stack(frame)]
    ours = [name for name in stack if name.startswith(("gui/", "core/"))]
    return (" < ".join(reversed(ours[-3:])) + " || " + stack[-1]) if ours else stack[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=8000, help="digits kept per split (0: all)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--dataset", default="mnist", help="mnist-sample works without full MNIST")
    args = parser.parse_args()

    import _gui
    from dataclasses import replace

    app = _gui.app()
    from PySide6.QtCore import QEventLoop, QTimer

    from core.config import ModelConfig, TrainConfig
    from core.data import load_dataset
    from gui_responsiveness import _bench_window, lateness

    data = load_dataset(args.dataset, _common.data_dir(), download=False)
    model_config = replace(ModelConfig(), num_classes=data.num_classes, image_shape=data.image_shape)
    window = _bench_window(app, _common.data_dir(), args.limit or None)
    gui_thread = threading.get_ident()
    last_beat = [time.perf_counter()]
    beats: list[float] = []

    def beat() -> None:
        now = time.perf_counter()
        beats.append(now)
        last_beat[0] = now

    stalls: dict[float, collections.Counter] = {}  # the beat a stall followed -> stack samples
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(SAMPLE_S):
            if time.perf_counter() - last_beat[0] > OVERDUE_S:
                frame = sys._current_frames().get(gui_thread)
                if frame is not None:
                    stalls.setdefault(last_beat[0], collections.Counter())[_stack_key(frame)] += 1

    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(beat)
    loop = QEventLoop()
    window.trainingFinished.connect(lambda _outcome: loop.quit())
    threading.Thread(target=watch, daemon=True).start()
    heartbeat.start()
    start = time.perf_counter()
    window.start_training(model_config, TrainConfig(dataset=args.dataset, epochs=args.epochs))
    loop.exec()
    stop.set()
    heartbeat.stop()
    late = lateness(beats)
    print(f"{args.epochs} epochs on {args.limit or 'all'} digits a split: {time.perf_counter() - start:.2f} s, "
          f"{len(late)} beats, lateness p99 {percentile(late, 99):.1f} ms, max {max(late, default=0):.1f} ms; "
          f"{sum(1 for x in late if x > 30)} beats over 30 ms")
    for at, samples in stalls.items():
        sampled_ms = sum(samples.values()) * SAMPLE_S * 1000
        if sampled_ms < SHOWN_STALL_MS:
            continue
        print(f"--- stall {at - start:.2f} s in, about {sampled_ms:.0f} ms sampled")
        for key, count in samples.most_common(6):
            print(f"{count * SAMPLE_S * 1000:5.0f} ms  {key}")
    window.session.set_dirty(False)
    window.close()


if __name__ == "__main__":
    main()
