"""Training through the window: a real (short) run on the MNIST sample, stop, pause, close, bad input."""

from __future__ import annotations

import math
import time

import pytest
from PySide6.QtCore import Qt

from training_helpers import RUN_TIMEOUT_MS, set_form, thread_ended


def start_long_run(qtbot, window):
    """Start a run long enough to be interrupted, and wait until steps are arriving."""
    set_form(window.training_panel, epochs=200, batch=32)
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    assert window.is_training
    qtbot.waitUntil(lambda: window.loss_plot.point_count > 0, timeout=RUN_TIMEOUT_MS)
    return window.training_run.thread


def test_short_run_trains_a_model_and_fills_the_views(qtbot, main_window, sample_data):
    window, panel = main_window, main_window.training_panel
    set_form(panel)
    epochs_seen = []
    window.training.epochFinished.connect(lambda report: epochs_seen.append(report.row.epoch))
    with qtbot.waitSignal(window.trainingFinished, timeout=RUN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
        assert not panel.train_button.isEnabled() and panel.stop_button.isEnabled()
        assert not panel.settings_box.isEnabled()
    outcome = finished.args[0]
    assert outcome is not None and outcome.status == "finished", outcome
    qtbot.waitUntil(lambda: not window.is_training, timeout=5_000)
    assert epochs_seen == [1, 2]
    assert window.loss_plot.point_count == 2 * math.ceil(len(sample_data.train_x) / 256)
    assert window.loss_plot.validation_count == 2
    session = window.session
    assert session.has_model and session.model.config.hidden == (64,)
    assert session.points is not None and len(session.points.labels) == len(sample_data.test_x)
    assert session.points.plane.shape == (len(sample_data.test_x), 2)
    assert len(session.history.epochs) == 2
    assert session.dirty and window.isWindowModified() and window.windowTitle().startswith("Untitled")
    assert window.center.currentWidget() is window.explore
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled() and panel.settings_box.isEnabled()
    window.loss_plot.redraw()
    assert len(window.loss_plot.curves["loss"].getData()[0]) == window.loss_plot.point_count


def test_stop_mid_training_ends_the_thread_and_keeps_a_usable_model(qtbot, main_window):
    thread = start_long_run(qtbot, main_window)
    with qtbot.waitSignal(main_window.trainingFinished, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(main_window.training_panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not main_window.is_training, timeout=5_000)
    assert thread_ended(thread)
    assert not main_window.is_training
    session = main_window.session
    assert session.has_model and session.points is not None
    assert all(t.isfinite().all() for t in session.model.state_dict().values())
    assert "stopped" in main_window.statusBar().currentMessage().lower()


def test_pause_holds_training_and_resume_continues(qtbot, main_window):
    start_long_run(qtbot, main_window)
    panel = main_window.training_panel
    control = main_window.training_run.control
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.pause_button.text() == "Resume" and main_window.pause_action.text() == "&Resume"
    # parked: the loop is blocked in its pause wait, so no step can happen until Resume
    qtbot.waitUntil(lambda: control.parked, timeout=RUN_TIMEOUT_MS)
    assert panel.progress_bar.format().startswith("Paused")
    held = main_window.loss_plot.point_count
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: main_window.loss_plot.point_count > held, timeout=RUN_TIMEOUT_MS)


def test_closing_mid_training_waits_for_the_thread(qtbot, main_window, message_boxes):
    thread = start_long_run(qtbot, main_window)
    assert main_window.close()
    assert thread_ended(thread)
    assert main_window.session.has_model
    assert [kind for kind, *_ in message_boxes] == ["question"]  # asked once: stop and save?
    assert "still running" in message_boxes[0][2]


def test_closing_as_a_run_ends_asks_only_about_the_unsaved_model(qtbot, main_window, message_boxes):
    """The outcome arrives a few milliseconds before the thread ends: a close then has nothing to stop,
    so "training is still running" would be wrong (and, offscreen, a modal question nobody answers)."""
    set_form(main_window.training_panel)
    outcomes, closes = [], []

    def close_at_once(outcome):
        outcomes.append(outcome)
        if len(outcomes) == 1:
            assert main_window.is_training  # its thread is still winding down
            closes.append(main_window.close())

    main_window.trainingFinished.connect(close_at_once)
    qtbot.mouseClick(main_window.training_panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(closes), timeout=RUN_TIMEOUT_MS)
    assert closes == [True] and not main_window.is_training
    assert [text for _kind, _title, text in message_boxes if "still running" in text] == []
    assert len(message_boxes) == 1  # the unsaved model's question, answered Discard
    assert len(outcomes) == 1  # the outcome is not applied a second time by the wait


def test_cancel_at_the_close_prompt_leaves_training_running(qtbot, main_window, message_boxes):
    from PySide6.QtWidgets import QMessageBox

    from gui.training import TrainingState

    thread = start_long_run(qtbot, main_window)
    message_boxes.answer = QMessageBox.StandardButton.Cancel
    assert not main_window.close()
    assert main_window.training.state is TrainingState.RUNNING and thread.isRunning()
    assert "stopped" not in main_window.statusBar().currentMessage().lower()
    held = main_window.loss_plot.point_count
    qtbot.waitUntil(lambda: main_window.loss_plot.point_count > held, timeout=RUN_TIMEOUT_MS)  # still learning


@pytest.mark.parametrize("field, value, label", [("lr", "abc", "Learning rate"), ("lr", "20", "Learning rate"),
                                                 ("hidden", "12,x", "Hidden widths"), ("hidden", "0", "Hidden widths")])
def test_invalid_values_disable_train_and_say_why(qtbot, main_window, field, value, label):
    panel = main_window.training_panel
    assert panel.train_button.isEnabled() and main_window.train_action.isEnabled()
    widget = {"lr": panel.lr_edit, "hidden": panel.hidden_edit}[field]
    widget.setText(value)
    assert not panel.train_button.isEnabled()
    assert not main_window.train_action.isEnabled()
    assert panel.error_label.isVisible() and panel.error_label.text().startswith(label)
    assert "d32f2f" in widget.styleSheet()
    main_window.train_action.trigger()
    assert not main_window.is_training


def test_beta_field_is_only_editable_for_a_beta_vae(main_window):
    panel = main_window.training_panel
    assert not panel.beta_spin.isEnabled()
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("beta-vae"))
    assert panel.beta_spin.isEnabled() and panel.beta_spin.value() == 4.0
    model_config, _ = panel.configs()
    assert model_config.kind == "vae" and model_config.beta == 4.0
    panel.beta_spin.setValue(5000)  # the box holds only what ModelConfig accepts
    assert panel.beta_spin.value() == 1000 and panel.train_button.isEnabled()


def test_number_boxes_hold_only_what_the_configs_accept(main_window):
    from core.config import MAX_BATCH_SIZE, MAX_BETA, MAX_EPOCHS, MAX_LATENT_DIM, MAX_SEED

    panel = main_window.training_panel
    for spin, low, high in ((panel.latent_spin, 1, MAX_LATENT_DIM), (panel.epochs_spin, 1, MAX_EPOCHS),
                            (panel.batch_spin, 1, MAX_BATCH_SIZE), (panel.seed_spin, 0, MAX_SEED),
                            (panel.beta_spin, 0, MAX_BETA)):
        assert (spin.minimum(), spin.maximum()) == (low, high), spin
    panel.batch_spin.setValue(9_999_999)
    panel.latent_spin.setValue(99_999)
    assert panel.batch_spin.value() == MAX_BATCH_SIZE and panel.latent_spin.value() == MAX_LATENT_DIM
    assert panel.validate()


def test_every_wrong_field_is_named_at_once(main_window):
    panel = main_window.training_panel
    panel.hidden_edit.setText("12,x")
    panel.lr_edit.setText("fast")
    lines = panel.error_label.text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["Hidden widths", "Learning rate"]
    assert "d32f2f" in panel.hidden_edit.styleSheet() and "d32f2f" in panel.lr_edit.styleSheet()
    panel.hidden_edit.setText("64")
    assert panel.error_label.text().startswith("Learning rate") and panel.hidden_edit.styleSheet() == ""


def test_a_dataset_that_cannot_load_reports_and_the_app_keeps_running(qtbot, main_window, message_boxes, tmp_path):
    panel = main_window.training_panel
    set_form(panel)
    panel.set_dataset(f"folder:{tmp_path / 'missing'}")
    with qtbot.waitSignal(main_window.trainingFinished, timeout=RUN_TIMEOUT_MS) as finished:
        panel.request_train()
    assert finished.args[0] is None
    qtbot.waitUntil(lambda: not main_window.is_training, timeout=5_000)
    assert message_boxes and message_boxes[-1][0] == "critical" and "not a folder" in message_boxes[-1][2]
    assert panel.train_button.isEnabled() and not main_window.session.has_model


def test_a_dataset_neither_on_disk_nor_downloadable_names_the_form_s_choices(qtbot, main_window, message_boxes,
                                                                          monkeypatch):
    """Offline, choosing Kuzushiji-MNIST said "use --dataset mnist-sample … --dataset folder:PATH": the
    command line's flags, which the window has no place for. It names the Dataset field's choices."""
    from core.errors import DatasetMissing

    def offline(name, *_args, **_kwargs):
        raise DatasetMissing(name, "/data", "download failed: Name or service not known")

    monkeypatch.setattr("gui.training.load_dataset", offline)
    panel = main_window.training_panel
    set_form(panel)
    panel.set_dataset("kmnist")
    with qtbot.waitSignal(main_window.trainingFinished, timeout=RUN_TIMEOUT_MS):
        panel.request_train()
    kind, _title, text = message_boxes[-1]
    assert kind == "critical" and text.startswith("Kuzushiji-MNIST is not in /data")
    assert "MNIST sample (offline" in text and "Folder…" in text and "--dataset" not in text
    assert panel.train_button.isEnabled() and not main_window.session.has_model


def test_empty_state_button_trains_with_the_panels_settings_and_says_which(qtbot, main_window):
    window, panel = main_window, main_window.training_panel
    panel.hidden_edit.setText("32")
    panel.epochs_spin.setValue(20)
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("cvae"))
    shown = window.empty_state.train_button.text().replace("\n", " ")  # a long one takes two lines
    assert shown == "Train a 2-D CVAE on the MNIST sample, 20 epochs"
    started = []
    window.training.started.connect(started.append)
    qtbot.mouseClick(window.empty_state.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(started), timeout=RUN_TIMEOUT_MS)
    assert started[0].epochs == 20 and window.training_run.worker.model_config.kind == "cvae"
    # the settings the user chose are left alone
    assert panel.hidden_edit.text() == "32" and panel.epochs_spin.value() == 20
    assert window.empty_state.title.text() == "<h2>Training…</h2>"
    qtbot.waitUntil(lambda: window.loss_plot.point_count > 0, timeout=RUN_TIMEOUT_MS)
    thread = window.training_run.thread
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.is_training, timeout=RUN_TIMEOUT_MS)
    assert thread_ended(thread) and window.session.has_model


def run_worker_here(worker):
    """Run a worker on this thread (signals then arrive directly) and collect what it says."""
    said = {"steps": [], "epochs": [], "finished": [], "failed": []}
    worker.stepsReported.connect(said["steps"].append)
    worker.epochFinished.connect(lambda report, points, model: said["epochs"].append((report, points)))
    worker.epochFinished.connect(lambda report, points, model: said.setdefault("models", []).append(model))
    worker.ended.connect(said["finished"].append)
    worker.failed.connect(said["failed"].append)
    start = time.perf_counter()
    worker.run()
    said["seconds"] = time.perf_counter() - start
    return said


def test_worker_coalesces_step_reports_and_encodes_each_epoch(sample_data, monkeypatch):
    """Epochs slower than POINTS_INTERVAL_S (here all: it is 0) each come with their points."""
    import gui.training_worker
    from core.config import ModelConfig, TrainConfig
    from core.training_control import TrainingControl
    from gui.training_worker import STEP_EMITS_PER_SECOND, TrainingWorker

    monkeypatch.setattr(gui.training_worker, "POINTS_INTERVAL_S", 0.0)

    worker = TrainingWorker(ModelConfig(hidden=(32,)), TrainConfig(epochs=2, batch_size=8, device="cpu"),
                            sample_data.head(400), TrainingControl())
    said = run_worker_here(worker)
    steps = [report for batch in said["steps"] for report in batch]
    assert [r.global_step for r in steps] == list(range(1, 2 * 50 + 1))  # every step arrives, in order
    # ...in at most 20 signals a second, plus the flushes at each epoch's end and the run's end
    assert len(said["steps"]) <= said["seconds"] * STEP_EMITS_PER_SECOND + 2 * 2 + 1
    assert [report.row.epoch for report, _ in said["epochs"]] == [1, 2]
    assert all(len(points.labels) == 400 for _, points in said["epochs"])
    outcome, = said["finished"]
    assert outcome.status == "finished" and outcome.points is not None and said["failed"] == []
    assert outcome.record.position.epoch == 2 and outcome.record.optimizer_state is not None


def test_epoch_points_are_the_timelines_codes_not_a_second_encoding(sample_data, monkeypatch):
    """At an epoch's end the timeline has just encoded the test split with the same weights: the
    scatter's points are those codes (no second encoding on the training thread). Under bf16 they
    are approximate, so the finished run's points are encoded again, exactly."""
    import numpy as np
    import torch

    import core.training
    import gui.training_worker
    from core.config import ModelConfig, TrainConfig
    from core.points import encode_points
    from core.training_control import TrainingControl
    from gui.training_worker import TrainingWorker

    monkeypatch.setattr(gui.training_worker, "POINTS_INTERVAL_S", 0.0)
    encodings = []
    monkeypatch.setattr(gui.training_worker, "encode_points", lambda *args, **kwargs: encodings.append(1) or
                        encode_points(*args, **kwargs))
    for bf16 in (False, True):
        monkeypatch.setattr(core.training, "uses_bf16_autocast", lambda device, bf16=bf16: bf16)
        encodings.clear()
        worker = TrainingWorker(ModelConfig(hidden=(32,)), TrainConfig(epochs=2, batch_size=50, device="cpu"),
                                sample_data.head(400), TrainingControl())
        said = run_worker_here(worker)
        outcome, = said["finished"]
        snapshots = {s.global_step: s for s in outcome.record.timeline.snapshots}
        for report, points in said["epochs"][:-1] if bf16 else said["epochs"]:
            snapshot = snapshots[report.record.position.global_step]
            np.testing.assert_array_equal(points.latents.astype(np.float16), snapshot.mu)
            assert points.sigmas is not None and len(points.labels) == 400
        first, *later = said["models"]  # the window's model, built on the training thread, once
        assert later == [None] and not first.training
        weights = said["epochs"][0][0].record.weights
        assert all(torch.equal(value, weights[name]) for name, value in first.state_dict().items())
        # the last epoch's points are the finished run's: under bf16, encoded once more in float32
        assert outcome.points is said["epochs"][-1][1] and len(encodings) == (1 if bf16 else 0)
        exact = encode_points(outcome.record.build_model(), sample_data.head(400))
        np.testing.assert_allclose(outcome.points.latents, exact.latents, rtol=1e-5, atol=1e-6)


def test_worker_turns_out_of_memory_into_advice(sample_data, monkeypatch):
    import torch

    from core.config import ModelConfig, TrainConfig
    from core.training import Trainer
    from core.training_control import TrainingControl
    from gui.training_worker import TrainingWorker

    def run_out_of_memory(self):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Trainer, "run", run_out_of_memory)
    worker = TrainingWorker(ModelConfig(hidden=(32,)), TrainConfig(epochs=1, batch_size=8, device="cpu"),
                            sample_data.head(100), TrainingControl())
    said = run_worker_here(worker)
    message, = said["failed"]
    assert "Out of memory" in message and "smaller batch" in message and "CPU" in message
    assert said["finished"] == []


def test_a_diverged_run_warns_and_keeps_the_last_good_weights(qtbot, main_window, message_boxes, monkeypatch):
    from core.training import Trainer

    real_run = Trainer.run

    def diverge_after_one_epoch(self):
        result = real_run(self)
        result.status, result.message = "diverged", "Training diverged at epoch 2: try a lower learning rate"
        return result

    monkeypatch.setattr(Trainer, "run", diverge_after_one_epoch)
    set_form(main_window.training_panel, epochs=1)
    with qtbot.waitSignal(main_window.trainingFinished, timeout=RUN_TIMEOUT_MS):
        main_window.training_panel.request_train()
    assert message_boxes[-1][0] == "warning" and "lower learning rate" in message_boxes[-1][2]
    assert main_window.session.has_model and main_window.training_panel.progress_bar.format() == "Diverged"


def test_an_autoencoder_s_run_blanks_its_kl_plots_from_its_first_step(qtbot, main_window):
    """The window tells the loss plot the kind as the run starts: before its first epoch's figures, an
    autoencoder's KL of 0 was drawn against ticks of 1e-07."""
    panel = main_window.training_panel
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("ae"))
    start_long_run(qtbot, main_window)
    plot = main_window.loss_plot
    plot.redraw()
    assert plot.validation_count == 0 and not plot.has_bound
    assert {"kl", "beta", "kl_dims", "in_use"} <= plot.blank_plots and "loss" not in plot.blank_plots
    with qtbot.waitSignal(main_window.trainingFinished, timeout=RUN_TIMEOUT_MS):
        main_window.stop_training()
