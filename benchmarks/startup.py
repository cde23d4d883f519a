"""Startup: from launching ``python main.py`` to a visible window, and on to a usable one.

The window appears before torch is imported (gui/app.py: the frame first, the panels once a worker
thread has imported the engine). The probe (this file run with ``--probe``) creates the QApplication
that run_app then reuses, queues a 0 ms single-shot timer and calls ``main.main([])`` unchanged: the
timer can only fire inside ``app.exec()``, i.e. after ``window.show()`` and once the event loop has
turned. It prints that moment ("shown", with whether torch was in yet), then polls every 5 ms for
the window's ``is_ready`` (every panel built) and prints that moment ("usable"), and quits.

Also measured: ``python main.py --screenshot PNG`` wall time (builds everything at once, renders,
exits), a headless command (``python main.py train --help``, which must not pay for the window), and
the bare interpreter start and ``import torch`` alone, for scale. Targets: shown <= 1.5 s; usable at
most 1.5 s after torch's own import time. Settings go to a temporary XDG_CONFIG_HOME.

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

    def main_windows() -> list:
        return [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.inherits("QMainWindow")]

    def shown() -> None:
        windows = main_windows()
        if not windows:  # fired before run_app showed the window (a processEvents in construction)
            QTimer.singleShot(1, shown)
            return
        print(f"PROBE_SHOWN {time.time():.6f} visible={len(windows)} torch={'torch' in sys.modules}", flush=True)
        QTimer.singleShot(0, usable)

    def usable() -> None:
        windows = main_windows()
        if not all(getattr(window, "is_ready", True) for window in windows):
            QTimer.singleShot(5, usable)
            return
        print(f"PROBE_USABLE {time.time():.6f}", flush=True)
        for window in windows:
            session = getattr(window, "session", None)
            if session is not None and hasattr(session, "set_dirty"):
                session.set_dirty(False)
        QTimer.singleShot(0, app.quit)  # inside exec() by now: quit from the loop itself

    QTimer.singleShot(0, shown)
    import main as entry

    return entry.main([])


def run(cmd: list[str], env: dict, timeout: float = 120) -> tuple[float, dict[str, float], str]:
    """Wall seconds to exit, the seconds from launch to each PROBE_ line's moment, and stdout."""
    start = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    end = time.time()
    moments: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("PROBE_") and "visible=0" not in line:
            name, stamp = line.split()[:2]
            moments[name[len("PROBE_"):].lower()] = float(stamp) - start
    if proc.returncode != 0 and not moments:
        raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")
    return end - start, moments, proc.stdout


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
    torch_import = [run([python, "-c", "import torch"], env)[0] for _ in range(repeats)]
    results.add("python -c 'import torch' (what 'usable' waits for)", median(torch_import), "s")
    if not (ROOT / "gui" / "app.py").exists():
        results.skip("python main.py to visible window", "gui/app.py missing")
        results.finish()
        return
    try:
        probes = [run([python, str(Path(__file__).resolve()), "--probe"], env) for _ in range(repeats)]
        shown = [moments["shown"] for _, moments, _ in probes]
        usable = [moments.get("usable", float("nan")) for _, moments, _ in probes]
        torch_in = sum("torch=True" in out for _, _, out in probes)
        value = median(shown)
        results.add("python main.py -> window shown + event loop turned", value, "s", "<= 1.5 s", value <= 1.5,
                    note=f"max {max(shown):.2f} s; torch already in at {torch_in} of {len(shown)}")
        value = median(usable)
        results.add("python main.py -> usable (every panel built, torch in)", value, "s",
                    note=f"max {max(usable):.2f} s")
        beyond = value - median(torch_import)  # "usable as soon as torch is in": what it takes beyond that
        results.add("usable, beyond torch's own import time", beyond, "s", "<= 1.5 s", beyond <= 1.5,
                    note="pyqtgraph, the panels' modules and building them")
    except Exception as exc:
        results.skip("python main.py -> window shown", f"{type(exc).__name__}: {exc}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            png = str(Path(folder) / "shot.png")
            shots = [run([python, "main.py", "--screenshot", png], env)[0] for _ in range(repeats)]
        value = median(shots)
        results.add("python main.py --screenshot (builds all at once, includes exit)", value, "s", "<= 3 s",
                    value <= 3)
    except Exception as exc:
        results.skip("python main.py --screenshot", f"{type(exc).__name__}: {exc}")
    try:
        helps = [run([python, "main.py", "train", "--help"], env)[0] for _ in range(repeats)]
        results.add("python main.py train --help (headless: no Qt)", median(helps), "s")
    except Exception as exc:
        results.skip("python main.py train --help", f"{type(exc).__name__}: {exc}")
    results.finish()


if __name__ == "__main__":
    main()
