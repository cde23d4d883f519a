"""Memory of the app process, two figures, each in a fresh subprocess so nothing else inflates it.

1. Peak RSS (VmHWM) while a real MainWindow trains the default 2-D VAE on full MNIST for
   ``--epochs`` epochs on its worker thread; the same run headless (``python main.py train``) for
   scale. Target: <= 1.5 GB.
2. Growth over back-to-back runs in one window (``--runs``, default 20): small fast runs on the
   offline sample (MLP 64, latent 2, 1 epoch), each started from the form
   (``training_panel.request_train()``) and answered "Discard" at the "save first?" question, as a
   user would click through them. RSS (VmRSS) after each run, once the run's thread has ended and
   its deferred deletes ran. Target: RSS after the last run <= RSS after run 3 + 50 MB (the first
   runs load the dataset and warm up torch's and Qt's caches).

``--diagnose`` adds, to the soak, what each run leaves behind: a tracemalloc diff between run 5 and
the last run, gc object counts by type, torch tensors alive, pyqtgraph items in the scenes, and
QObjects (children of the window, live Python wrappers) by class.

    python benchmarks/memory.py [--epochs 1] [--runs 20] [--quick] [--diagnose] [--soak-only]
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

SOAK_TARGET_MB = 50.0  # growth from the end of run 3 to the end of the last run
SOAK_BASE_RUN = 3


def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    return _status_mb("VmRSS") or float("nan")


def child(epochs: int, quick: bool) -> None:
    from gui_responsiveness import gui_training

    from core.config import ModelConfig, TrainConfig

    before = peak_rss_mb()
    dataset = "mnist-sample" if quick else "mnist"
    result = gui_training(ModelConfig(), TrainConfig(dataset=dataset, epochs=epochs), _common.data_dir(),
                          dataset_limit=2000 if quick else None, idle_seconds=0.1)
    print("CHILD " + json.dumps({"peak_mb": peak_rss_mb(), "before_training_mb": before,
                                 "finished": result["outcome"] is not None}), flush=True)


# ----- soak: many runs in one window -----
def _type_counts() -> dict[str, int]:
    import gc
    from collections import Counter

    return dict(Counter(type(o).__qualname__ for o in gc.get_objects()))


def _tensor_stats() -> dict:
    import gc

    import torch

    count, elements, nbytes = 0, 0, 0
    by_shape: dict[str, int] = {}
    for obj in gc.get_objects():
        try:
            if not torch.is_tensor(obj):
                continue
        except Exception:
            continue
        count += 1
        elements += obj.numel()
        nbytes += obj.numel() * obj.element_size()
        key = f"{tuple(obj.shape)} {str(obj.dtype).replace('torch.', '')}"
        by_shape[key] = by_shape.get(key, 0) + 1
    return {"count": count, "mb": nbytes / 2**20, "by_shape": by_shape}


def _qt_stats(window) -> dict:
    from collections import Counter

    import pyqtgraph as pg
    from PySide6.QtCore import QObject

    children = Counter(type(o).__name__ for o in window.findChildren(QObject))
    try:
        from shiboken6 import Shiboken

        wrappers = Counter(type(o).__name__ for o in Shiboken.getAllValidWrappers())
    except Exception:  # older shiboken: no wrapper list
        wrappers = Counter()
    scenes = {}
    for view in window.findChildren(pg.GraphicsView):
        items = view.scene().items() if view.scene() is not None else []
        scenes[f"{view.objectName() or type(view).__name__}#{id(view) % 10000}"] = len(items)
    data_items = sum(len(view.getPlotItem().listDataItems()) for view in window.loss_plot.findChildren(pg.PlotWidget))
    return {"children": dict(children), "wrappers": dict(wrappers), "scene_items": scenes,
            "loss_plot_data_items": data_items}


def _diff(before: dict[str, int], after: dict[str, int], top: int = 15) -> list[tuple[str, int]]:
    keys = set(before) | set(after)
    changes = [(k, after.get(k, 0) - before.get(k, 0)) for k in keys]
    return sorted((c for c in changes if c[1]), key=lambda c: -abs(c[1]))[:top]


def soak_child(runs: int, diagnose: bool, hidden: str = "64", epochs: int = 1, real_dialog: bool = False) -> None:
    """Train ``runs`` small runs back to back in one offscreen MainWindow; print one line per run."""
    import gc
    import time

    import _gui
    app = _gui.app()
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    import gui.model_files as model_files
    from gui.main_window import MainWindow

    questions = []

    def discard(*_args, **_kwargs):  # the "save first?" question, answered as the soak's user did
        questions.append(1)
        return QMessageBox.StandardButton.Discard

    if real_dialog:  # the real "save first?" box, its Discard button clicked once it shows
        def click_discard() -> None:
            box = QApplication.activeModalWidget()
            if isinstance(box, QMessageBox) and box.button(QMessageBox.StandardButton.Discard) is not None:
                questions.append(1)
                box.button(QMessageBox.StandardButton.Discard).click()

        clicker = QTimer()
        clicker.setInterval(20)
        clicker.timeout.connect(click_discard)
        clicker.start()
    else:
        model_files.QMessageBox.question = staticmethod(discard)
    settings_dir = tempfile.mkdtemp(prefix="lm-bench-")
    settings = QSettings(os.path.join(settings_dir, "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, data_dir=_common.data_dir(), remember_settings=False)
    window.show()
    _gui.process(app, 3)
    panel = window.training_panel
    panel.set_dataset("mnist-sample")
    panel.hidden_edit.setText(hidden)
    panel.latent_spin.setValue(2)
    panel.epochs_spin.setValue(epochs)
    _gui.process(app, 2)
    print("SOAK " + json.dumps({"run": 0, "rss_mb": rss_mb(), "configs": str(panel.configs())}), flush=True)

    loop = QEventLoop()
    timeout = QTimer()  # one timer, restarted per run: a stale single-shot would end a later run's wait
    timeout.setSingleShot(True)
    timeout.setInterval(600_000)
    timeout.timeout.connect(loop.quit)
    outcomes: list[str] = []  # statuses only: an outcome holds its run's record, which would leak here
    window.trainingFinished.connect(lambda result: (outcomes.append(str(getattr(result, "status", "none"))),
                                                    loop.quit()))
    snapshots: dict[int, object] = {}
    counts: dict[int, dict] = {}
    if diagnose:
        import tracemalloc
    for run in range(1, runs + 1):
        if diagnose and run == 5:
            tracemalloc.start(12)
        start = time.perf_counter()
        before = len(outcomes)
        panel.request_train()
        if len(outcomes) == before:
            timeout.start()
            loop.exec()
            timeout.stop()
        seconds = time.perf_counter() - start
        if len(outcomes) == before:  # timed out: stop the run so the next one starts clean
            window.stop_training()
        current = window.training_run
        if current is not None:
            current.thread.wait(60_000)
        deadline = time.perf_counter() + 5
        while window.is_training and time.perf_counter() < deadline:
            app.processEvents()
        for _ in range(3):  # deferred deletes of the run's worker and thread
            app.sendPostedEvents(None, 0)
            app.processEvents()
        gc.collect()
        line = {"run": run, "rss_mb": rss_mb(), "seconds": seconds,
                "status": outcomes[-1] if len(outcomes) > before else "timed out", "questions": len(questions)}
        if diagnose and run in (5, runs):
            snapshots[run] = tracemalloc.take_snapshot()
            qt = _qt_stats(window)  # first: the wrappers it makes for the window's children are then in both counts
            gc.collect()
            counts[run] = {"types": _type_counts(), "tensors": _tensor_stats(), "qt": qt}
        print("SOAK " + json.dumps(line), flush=True)
    if diagnose and 5 in counts and runs in counts:
        first, last = counts[5], counts[runs]
        span = runs - 5
        report = {"runs_between": span,
                  "gc_types": _diff(first["types"], last["types"]),
                  "tensors": {"count": [first["tensors"]["count"], last["tensors"]["count"]],
                              "mb": [round(first["tensors"]["mb"], 1), round(last["tensors"]["mb"], 1)],
                              "by_shape": _diff(first["tensors"]["by_shape"], last["tensors"]["by_shape"], 10)},
                  "window_children": _diff(first["qt"]["children"], last["qt"]["children"]),
                  "qobject_wrappers": _diff(first["qt"]["wrappers"], last["qt"]["wrappers"]),
                  "scene_items": [first["qt"]["scene_items"], last["qt"]["scene_items"]],
                  "loss_plot_data_items": [first["qt"]["loss_plot_data_items"], last["qt"]["loss_plot_data_items"]]}
        stats = snapshots[runs].compare_to(snapshots[5], "traceback")
        report["tracemalloc_total_mb"] = [round(sum(s.size for s in snapshots[5].statistics("filename")) / 2**20, 1),
                                          round(sum(s.size for s in snapshots[runs].statistics("filename")) / 2**20, 1)]
        report["tracemalloc_top"] = [{"kb": round(s.size_diff / 1024, 1), "blocks": s.count_diff,
                                      "where": [f"{f.filename.replace(str(ROOT) + '/', '')}:{f.lineno}"
                                                for f in list(s.traceback)[-6:]]}
                                     for s in stats[:10]]
        print("DIAGNOSE " + json.dumps(report, default=str), flush=True)
    window.session.set_dirty(False)
    window.close()


def run_soak(runs: int, diagnose: bool, env: dict, hidden: str = "64", epochs: int = 1,
             real_dialog: bool = False) -> tuple[list[dict], dict | None, str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--soak-child", "--runs", str(runs), "--hidden", hidden,
           "--run-epochs", str(epochs)] + (["--real-dialog"] if real_dialog else [])
    proc = subprocess.run(cmd + (["--diagnose"] if diagnose else []), cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    lines = [json.loads(line[5:]) for line in proc.stdout.splitlines() if line.startswith("SOAK ")]
    diag = [json.loads(line[9:]) for line in proc.stdout.splitlines() if line.startswith("DIAGNOSE ")]
    error = "" if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["no output"])[-1][:160]
    noise = ("propagateSizeHints",)
    messages = [line for line in proc.stderr.splitlines() if line.strip() and not any(n in line for n in noise)]
    if messages:
        print("soak child stderr (last lines):\n  " + "\n  ".join(messages[-15:]))
    return lines, (diag[-1] if diag else None), error


def print_soak(lines: list[dict]) -> None:
    print("run  RSS MB   +prev  seconds  questions  outcome")
    previous = None
    for line in lines:
        delta = "" if previous is None else f"{line['rss_mb'] - previous:+6.1f}"
        seconds = f"{line['seconds']:7.1f}" if "seconds" in line else "       "
        print(f"{line['run']:3d}  {line['rss_mb']:7.1f}  {delta:>6}  {seconds}  {line.get('questions', 0):9d}  "
              f"{line.get('status', 'before the first run')}")
        previous = line["rss_mb"]


def print_diagnosis(diag: dict) -> None:
    print(f"\n== what runs 5..{5 + diag['runs_between']} left behind ({diag['runs_between']} runs) ==")
    print(f"tracemalloc total (Python + numpy allocations): {diag['tracemalloc_total_mb'][0]} -> "
          f"{diag['tracemalloc_total_mb'][1]} MB")
    for item in diag["tracemalloc_top"]:
        print(f"  {item['kb']:+10.1f} KiB {item['blocks']:+7d} blocks  {' <- '.join(reversed(item['where']))}")
    print(f"torch tensors alive (gc): {diag['tensors']['count'][0]} -> {diag['tensors']['count'][1]}, "
          f"{diag['tensors']['mb'][0]} -> {diag['tensors']['mb'][1]} MB; by shape: {diag['tensors']['by_shape']}")
    print(f"gc objects by type (change): {diag['gc_types']}")
    print(f"QObject children of the window (change): {diag['window_children']}")
    print(f"Python QObject wrappers (change): {diag['qobject_wrappers']}")
    print(f"pyqtgraph scene items: {diag['scene_items'][0]} -> {diag['scene_items'][1]}; "
          f"loss plot data items {diag['loss_plot_data_items']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--runs", type=int, default=20, help="back-to-back runs in one window (soak)")
    parser.add_argument("--quick", action="store_true", help="2,000 sample digits for the peak; 8 soak runs")
    parser.add_argument("--diagnose", action="store_true", help="what each soak run leaves behind")
    parser.add_argument("--hidden", default="64", help="soak model's hidden widths (the form's field)")
    parser.add_argument("--run-epochs", type=int, default=1, help="epochs of each soak run")
    parser.add_argument("--real-dialog", action="store_true",
                        help="answer the real 'save first?' box (a timer clicks Discard) instead of a stub")
    parser.add_argument("--soak-only", action="store_true", help="skip the peak-RSS figures")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--soak-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.epochs, args.quick)
        return
    if args.soak_child:
        soak_child(args.runs, args.diagnose, args.hidden, args.run_epochs, args.real_dialog)
        return
    results = Results("memory")
    # offscreen unless told otherwise (QT_QPA_PLATFORM=xcb under xvfb-run measures a real display)
    env = dict(os.environ, XDG_CONFIG_HOME=tempfile.mkdtemp(prefix="lm-cfg-"))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    print(f"load average before: {os.getloadavg()}; Qt platform {env['QT_QPA_PLATFORM']}")
    if not args.soak_only:
        peak_figures(results, env, args.epochs, args.quick)
    runs = min(args.runs, 8) if args.quick else args.runs
    lines, diag, error = run_soak(runs, args.diagnose, env, args.hidden, args.run_epochs, args.real_dialog)
    print_soak(lines)
    done = [line for line in lines if line["run"] >= 1]
    if len(done) < runs or runs <= SOAK_BASE_RUN:
        results.skip(f"RSS growth over {runs} runs in one window", error or f"only {len(done)} runs")
    else:
        base = next(line for line in done if line["run"] == SOAK_BASE_RUN)["rss_mb"]
        first = lines[0]["rss_mb"]
        growth = done[-1]["rss_mb"] - base
        per_run = growth / (runs - SOAK_BASE_RUN)
        results.add("RSS before the first soak run / after run 1", first, "MB",
                    note=f"after run 1: {done[0]['rss_mb']:.0f} MB")
        results.add(f"RSS growth, run {SOAK_BASE_RUN} -> run {runs} (sample, MLP {args.hidden}, {args.run_epochs} epoch(s) each)", growth, "MB",
                    f"<= {SOAK_TARGET_MB:.0f} MB", growth <= SOAK_TARGET_MB, note=f"{per_run:+.1f} MB per run")
        print(f"soak: run {SOAK_BASE_RUN} {base:.1f} MB -> run {runs} {done[-1]['rss_mb']:.1f} MB: "
              f"growth {growth:+.1f} MB ({per_run:+.2f} MB/run), target <= {SOAK_TARGET_MB:.0f} MB: "
              f"{'PASS' if growth <= SOAK_TARGET_MB else 'FAIL'}")
    if diag:
        print_diagnosis(diag)
    print(f"load average after: {os.getloadavg()}")
    results.finish()


def peak_figures(results: Results, env: dict, epochs: int, quick: bool) -> None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--epochs", str(epochs)]
    proc = subprocess.run(cmd + (["--quick"] if quick else []), cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("CHILD ")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        results.skip("GUI process peak RSS while training", tail[:160])
    else:
        data = json.loads(lines[-1][6:])
        peak = data["peak_mb"]
        results.add("GUI process peak RSS, training full MNIST" if not quick else
                    "GUI process peak RSS, training (quick: 2,000 digits)", peak, "MB", "<= 1536 MB", peak <= 1536,
                    note=f"run finished: {data['finished']}")
    with tempfile.TemporaryDirectory() as folder:
        dataset = "mnist-sample" if quick else "mnist"
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


if __name__ == "__main__":
    main()
