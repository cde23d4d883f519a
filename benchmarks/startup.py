"""Startup: from launching ``python main.py`` to a visible window whose event loop has turned.

gui/app.py has no "print a timestamp once shown" hook, so the probe (this file run with
``--probe``) creates the QApplication that run_app then reuses, queues a 0 ms single-shot timer,
and calls ``main.main([])`` unchanged: the timer can only fire inside ``app.exec()``, i.e. after
``window.show()`` and once the event loop has turned. It checks the main window is visible,
prints the wall-clock time and quits. The extra cost over a bare ``python main.py`` is one
QApplication construction that run_app would have done anyway.

Also measured: ``python main.py --screenshot PNG`` wall time (the proxy the brief names), and the
bare interpreter start, for scale. Target: <= 3 s. Settings go to a temporary XDG_CONFIG_HOME.

    python benchmarks/startup.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
from _common import ROOT, Results, median


def probe() -> int:
    sys.path.insert(0, str(ROOT))
    sys.argv = [str(ROOT / "main.py")]
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])

    def shown() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.inherits("QMainWindow")]
        if not windows:  # fired before run_app showed the window (a processEvents in construction)
            QTimer.singleShot(1, shown)
            return
        print(f"PROBE_SHOWN {time.time():.6f} visible={len(windows)}", flush=True)
        for window in windows:
            session = getattr(window, "session", None)
            if session is not None and hasattr(session, "set_dirty"):
                session.set_dirty(False)
        QTimer.singleShot(0, app.quit)  # inside exec() by now: quit from the loop itself

    QTimer.singleShot(0, shown)
    import main as entry

    return entry.main([])


def run(cmd: list[str], env: dict, timeout: float = 120) -> tuple[float, str]:
    start = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    end = time.time()
    shown = None
    for line in proc.stdout.splitlines():
        if line.startswith("PROBE_SHOWN"):
            shown = float(line.split()[1])
            if "visible=0" in line:
                shown = None
    if proc.returncode != 0 and shown is None:
        raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")
    return ((shown if shown is not None else end) - start), proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        sys.exit(probe())
    results = Results("startup")
    repeats = 1 if args.quick else 5
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=tempfile.mkdtemp(prefix="lm-cfg-"))
    python = sys.executable
    bare = [run([python, "-c", "pass"], env)[0] for _ in range(repeats)]
    results.add("bare python start", median(bare), "s")
    if not (ROOT / "gui" / "app.py").exists():
        results.skip("python main.py to visible window", "gui/app.py missing")
        results.finish()
        return
    try:
        shown = [run([python, str(Path(__file__).resolve()), "--probe"], env)[0] for _ in range(repeats)]
        value = median(shown)
        results.add("python main.py -> window shown + event loop turned", value, "s", "<= 3 s", value <= 3,
                    note=f"max {max(shown):.2f} s")
    except Exception as exc:
        results.skip("python main.py -> window shown", f"{type(exc).__name__}: {exc}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            png = str(Path(folder) / "shot.png")
            shots = [run([python, "main.py", "--screenshot", png], env)[0] for _ in range(repeats)]
        value = median(shots)
        results.add("python main.py --screenshot (proxy, includes exit)", value, "s", "<= 3 s", value <= 3)
    except Exception as exc:
        results.skip("python main.py --screenshot", f"{type(exc).__name__}: {exc}")
    results.finish()


if __name__ == "__main__":
    main()
