"""Runs in the window as a user meets them: starts that cannot work, what is worth a "save first?",
a model saved from the window and resumed from the CLI, and nothing of an old run left in memory."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from training_helpers import RUN_TIMEOUT_MS, set_form


def train_to_the_end(qtbot, window):
    with qtbot.waitSignal(window.trainingFinished, timeout=RUN_TIMEOUT_MS) as finished:
        window.training_panel.request_train()
    qtbot.waitUntil(lambda: not window.is_training, timeout=10_000)
    return finished.args[0]


def test_a_start_that_cannot_work_is_refused_before_any_question_and_changes_nothing(qtbot, main_window,
                                                                                     message_boxes):
    window, panel = main_window, main_window.training_panel
    set_form(panel, epochs=1)
    assert train_to_the_end(qtbot, window).status == "finished"
    model, points, history = window.session.model, window.loss_plot.point_count, window.session.history
    assert window.session.has_unsaved_work and points > 0
    panel.batch_spin.setValue(65_536)
    message_boxes.clear()
    with qtbot.waitSignal(window.trainingFinished, timeout=RUN_TIMEOUT_MS):
        panel.request_train()
    kinds = [kind for kind, *_ in message_boxes]
    assert kinds == ["critical"] and "at most the training set size" in message_boxes[0][2]  # no "save first?"
    assert window.session.model is model and window.session.history is history
    assert window.loss_plot.point_count == points and window.session.dirty
    assert not window.is_training and panel.train_button.isEnabled()


def test_a_run_that_diverged_before_its_first_epoch_leaves_nothing_to_save(qtbot, main_window, message_boxes,
                                                                           monkeypatch):
    import core.training as training

    real = training.loss_terms
    calls = []

    def nan_at_step_two(*args):
        loss, recon, kl = real(*args)
        calls.append(1)
        return (loss * float("nan"), recon, kl) if len(calls) >= 2 else (loss, recon, kl)

    monkeypatch.setattr(training, "loss_terms", nan_at_step_two)
    set_form(main_window.training_panel, epochs=1)
    outcome = train_to_the_end(qtbot, main_window)
    assert outcome.status == "diverged" and outcome.record is None
    assert not main_window.session.has_model and not main_window.session.has_unsaved_work
    monkeypatch.setattr(training, "loss_terms", real)
    message_boxes.clear()
    assert train_to_the_end(qtbot, main_window).status == "finished"
    assert "question" not in [kind for kind, *_ in message_boxes]  # nothing was worth asking about


def test_a_saved_model_retrains_without_asking(qtbot, main_window, message_boxes, tmp_path):
    set_form(main_window.training_panel, epochs=1)
    train_to_the_end(qtbot, main_window)
    assert main_window.files.save_to(tmp_path / "m.safetensors")
    message_boxes.clear()
    train_to_the_end(qtbot, main_window)
    assert "question" not in [kind for kind, *_ in message_boxes]


def test_an_unsaved_model_is_asked_about_and_cancel_keeps_it(qtbot, main_window, message_boxes):
    set_form(main_window.training_panel, epochs=1)
    train_to_the_end(qtbot, main_window)
    model = main_window.session.model
    message_boxes.clear()
    message_boxes.answer = QMessageBox.StandardButton.Cancel
    main_window.training_panel.request_train()
    assert [kind for kind, *_ in message_boxes] == ["question"] and "1 epoch" in message_boxes[0][2]
    assert not main_window.is_training and main_window.session.model is model


def test_saved_from_the_window_after_two_epochs_resumes_to_three_from_the_cli(qtbot, main_window, tmp_path,
                                                                               monkeypatch):
    """The issue's test: the history reads epochs 1, 2, 3 and the weights equal an uninterrupted
    3-epoch run at the same thread count."""
    import gui.training_worker
    from core.cli import run_cli
    from core.files import load_checkpoint

    monkeypatch.setattr(gui.training_worker, "training_threads", lambda: torch.get_num_threads())
    set_form(main_window.training_panel, hidden="64", epochs=2, batch=256, lr="0.002")
    assert train_to_the_end(qtbot, main_window).status == "finished"
    saved = tmp_path / "window.safetensors"
    assert main_window.files.save_to(saved)
    resumed, straight = tmp_path / "resumed.safetensors", tmp_path / "straight.safetensors"
    assert run_cli(["train", "--resume", str(saved), "--epochs", "3", "--out", str(resumed),
                    "--device", "cpu", "--json"]) == 0
    assert run_cli(["train", "--dataset", "mnist-sample", "--hidden", "64", "--epochs", "3", "--batch-size", "256",
                    "--lr", "0.002", "--seed", "0", "--device", "cpu", "--out", str(straight), "--json"]) == 0
    a, b = load_checkpoint(resumed), load_checkpoint(straight)
    assert [row.epoch for row in a.history.epochs] == [1, 2, 3]
    assert a.position == b.position and a.history.steps == b.history.steps
    assert all(torch.equal(a.weights[name], b.weights[name]) for name in b.weights)


def test_back_to_back_runs_leave_nothing_of_earlier_runs_reachable(qtbot, main_window, message_boxes, monkeypatch):
    """No model, optimiser or dataset tensor of an earlier run survives the next (memory grew ~18 MB a run)."""
    import core.training

    trainers, data_seen = [], []
    real_init = core.training.Trainer.__init__

    def remember(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        trainers.append((weakref.ref(self), weakref.ref(self.model), weakref.ref(self.optimizer)))
        data_seen.append(self.data.train_x)

    monkeypatch.setattr(core.training.Trainer, "__init__", remember)
    set_form(main_window.training_panel, epochs=1)
    for _ in range(3):
        train_to_the_end(qtbot, main_window)
        main_window.session.set_dirty(False)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the last run's worker and thread
    gc.collect()
    alive = [i for i, refs in enumerate(trainers[:-1]) if any(ref() is not None for ref in refs)]
    assert alive == [], f"runs {alive} are still reachable"
    # one dataset in memory: every run trains on the window's cached copy, none makes its own
    assert all(x is main_window.training.dataset.train_x for x in data_seen)


@pytest.mark.parametrize("samples_per_second, eta", [(16_800.0, 52.0), (1_234_567.0, 3_725.0)])
def test_the_progress_lines_fit_the_panel_at_the_default_window_size(main_window, samples_per_second, eta):
    from core.training_reports import StepReport

    panel = main_window.training_panel
    panel.show_step(StepReport(12, 200, 430, 5360, 143.24, 137.5, 5.74, samples_per_second, eta), 30)
    metrics = panel.progress_label.fontMetrics()
    lines = panel.progress_label.text().splitlines()
    assert len(lines) == 2 and "left" in lines[0]
    assert all(metrics.horizontalAdvance(line) <= panel.progress_label.width() for line in lines), lines
    assert panel.progress_label.height() >= 2 * metrics.lineSpacing()


def test_one_step_at_a_time_in_the_window_moves_the_points(qtbot, main_window):
    """Slow motion: paused after the first epoch, "One step" runs exactly one optimiser step, and
    the latent view follows it."""
    from gui.training import TrainingState

    window, panel = main_window, main_window.training_panel
    set_form(panel, epochs=3)
    first_epoch = []
    window.training.epochFinished.connect(lambda report: (first_epoch.append(report), window.training.pause())
                                          if not first_epoch else None)
    panel.request_train()
    qtbot.waitUntil(lambda: window.training.state is TrainingState.PAUSED and window.session.points is not None,
                    timeout=RUN_TIMEOUT_MS)
    control = window.training_run.control
    qtbot.waitUntil(lambda: control.parked, timeout=RUN_TIMEOUT_MS)
    assert panel.step_button.isEnabled() and panel.epoch_button.isEnabled()
    before_points, seen = window.session.points, []
    window.training.stepsReported.connect(lambda reports: seen.extend(r.global_step for r in reports))
    QCoreApplication.processEvents()  # parked: what it reported before the pause is all queued; deliver it
    seen.clear()
    start = window.training_run.last_report.global_step
    with qtbot.waitSignal(window.session.pointsChanged, timeout=RUN_TIMEOUT_MS):
        panel.step_button.click()
    qtbot.waitUntil(lambda: control.parked and bool(seen), timeout=RUN_TIMEOUT_MS)
    assert seen == [start + 1]  # exactly one optimiser step
    assert window.session.points is not before_points
    assert window.training.state is TrainingState.PAUSED


def test_the_dataset_is_loaded_once_per_seed(qtbot, main_window, monkeypatch):
    """The validation split is cut with the seed: the same seed reuses the loaded dataset, another
    seed loads it again (a cached split from another seed would train on other digits)."""
    import gui.training

    loads = []
    real = gui.training.load_dataset
    monkeypatch.setattr(gui.training, "load_dataset",
                        lambda *args, **kwargs: loads.append(kwargs.get("seed")) or real(*args, **kwargs))
    panel = main_window.training_panel
    set_form(panel, epochs=1)
    for seed in (0, 0, 1):
        panel.seed_spin.setValue(seed)
        train_to_the_end(qtbot, main_window)
        main_window.session.set_dirty(False)
    assert loads == [0, 1]
    assert main_window.training.dataset.split_seed == 1


def test_fast_epochs_reach_the_plot_but_not_a_new_scatter_each_time(qtbot, main_window, monkeypatch):
    """On a GPU an epoch can take 0.2 s. Every epoch's figures still reach the window, but the scatter
    is re-encoded at most every POINTS_INTERVAL_S (here: never after the first), and the finished
    run's points encode its final weights, not the stale ones."""
    import gui.training_worker
    from core.points import encode_points

    monkeypatch.setattr(gui.training_worker, "POINTS_INTERVAL_S", 3600.0)
    window = main_window
    set_form(window.training_panel, epochs=3)
    epochs, points_changes = [], []
    window.training.epochFinished.connect(lambda report: epochs.append(report.row.epoch))
    window.session.pointsChanged.connect(lambda: points_changes.append(window.session.points))
    assert train_to_the_end(qtbot, window).status == "finished"
    assert epochs == [1, 2, 3]
    assert len(points_changes) == 2  # the first epoch's, then the finished run's
    final = encode_points(window.session.record.build_model(), window.session.data)
    assert torch.allclose(torch.as_tensor(window.session.points.plane), torch.as_tensor(final.plane))


def test_an_epochs_points_arrive_after_its_record_and_the_end_does_not_redraw_them(qtbot, main_window,
                                                                                    monkeypatch):
    """An epoch's end is two slices of the GUI thread, not one: its record (loss plot, panels) first,
    its points (the scatter's redraw) in a later turn of the event loop. A finished run whose points
    are its last epoch's does not redraw them."""
    import core.training
    import gui.training_worker

    monkeypatch.setattr(gui.training_worker, "POINTS_INTERVAL_S", 0.0)
    monkeypatch.setattr(core.training, "uses_bf16_autocast", lambda device: False)  # exact codes: kept at the end
    window = main_window
    set_form(window.training_panel, epochs=2)
    at_record, changes = [], []
    window.training.epochFinished.connect(lambda report: at_record.append(window.session.points))
    window.session.pointsChanged.connect(lambda: changes.append(window.session.points))
    assert train_to_the_end(qtbot, window).status == "finished"
    assert at_record[0] is None  # the first epoch's record came alone; its points a moment later
    assert len(changes) == 2 and at_record[1] is changes[0]  # epoch 2's record, epoch 1's points still shown
    assert window.session.points is changes[1]


def test_a_step_report_schedules_its_paint_and_paints_nothing_at_once(qtbot, main_window):
    """QProgressBar.setValue repaints at once, and that painted every view waiting for a redraw inside
    the step report's handler (10-45 ms of the GUI thread while training). The bar's new value is
    painted with the window's next paint instead."""
    from PySide6.QtCore import QObject

    from core.training_reports import StepReport

    qtbot.waitExposed(main_window)
    painted = []

    class PaintSpy(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint:
                painted.append(watched)
            return False

    spy = PaintSpy()
    app = QApplication.instance()
    app.installEventFilter(spy)
    try:
        panel = main_window.training_panel
        main_window.update()  # views waiting for a redraw, as after a loss-plot update
        panel.show_step(StepReport(0, 200, 430, 200, 143.2, 137.5, 5.7, 16_800.0, 52.0), 30)
        assert painted == []
        qtbot.waitUntil(lambda: panel.progress_bar in painted, timeout=2000)
    finally:
        app.removeEventFilter(spy)
    assert panel.progress_bar.value() == int(1000 * 200 / (30 * 430))


def test_the_window_hands_the_gil_to_the_gui_thread_within_a_fifth_of_a_millisecond(main_window, monkeypatch):
    """A training loop on CUDA is mostly Python: with Python's 5 ms switch interval every entry of the
    GUI thread into Python waited up to 5 ms for the GIL, and a loss-plot paint took ~400 ms."""
    import sys

    from gui.workers import GIL_SWITCH_ENV, prefer_the_gui_thread

    assert sys.getswitchinterval() == pytest.approx(0.0002)
    monkeypatch.setenv(GIL_SWITCH_ENV, "5")
    try:
        prefer_the_gui_thread()
        assert sys.getswitchinterval() == pytest.approx(0.005)
    finally:
        monkeypatch.delenv(GIL_SWITCH_ENV)
        prefer_the_gui_thread()
    assert sys.getswitchinterval() == pytest.approx(0.0002)


def test_the_gui_thread_runs_its_torch_work_on_one_thread(main_window):
    """With torch's default team on the GUI thread, loading an epoch's weights into the window's model
    took 20 ms instead of 0.4: its worker threads fought the training thread's for the cores."""
    import threading

    assert threading.current_thread() is threading.main_thread()
    assert torch.get_num_threads() == 1


def test_a_new_window_imports_the_first_optimiser_s_modules_on_a_worker_thread(qtbot, monkeypatch):
    """Not on the first run's training thread as it starts: there the imports held the GIL in stretches
    of up to 200 ms and the window stalled (benchmarks/gui_stalls.py)."""
    import threading

    from PySide6.QtCore import QSettings

    import gui.training as training_module
    from gui.main_window import MainWindow

    imported_on: list[int] = []
    monkeypatch.setattr(training_module, "_optimiser_import_started", False)  # as in a new process
    monkeypatch.setattr(training_module, "import_optimiser_stack",
                        lambda: imported_on.append(threading.get_ident()))
    window = MainWindow(settings=QSettings())
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: bool(imported_on), timeout=10_000)
    assert imported_on[0] != threading.get_ident()
    second = MainWindow(settings=QSettings())  # another window (or a test's) starts no second import
    qtbot.addWidget(second)
    qtbot.wait(200)
    assert len(imported_on) == 1
