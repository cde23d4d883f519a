"""Stop, pause/resume and close at random moments, many times, during training and during export:
no crash, no thread left running, no deadlock, and a usable model (seeded, so it is repeatable)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from core.latent import decode
from gui.export_dialog import MorphExportOptions
from training_helpers import thread_ended

ROUNDS = 8
TIMEOUT_MS = 60_000


def start_run(qtbot, window, rng) -> object:
    panel = window.training_panel
    panel.hidden_edit.setText("64")
    panel.epochs_spin.setValue(50)
    panel.batch_spin.setValue(64)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
    window.dataset_limit = 600
    panel.train_button.click()
    assert window.is_training
    qtbot.wait(int(rng.integers(0, 300)))  # sometimes still loading the data, sometimes mid-epoch
    return window.training_run.thread if window.training_run is not None else None


def assert_usable(window) -> None:
    session = window.session
    if session.has_model:
        assert all(t.isfinite().all() for t in session.model.state_dict().values())
        assert np.isfinite(decode(session.model, np.zeros((1, session.model.config.latent_dim)))).all()


def test_stop_and_pause_at_random_moments(qtbot, main_window):
    rng = np.random.default_rng(0)
    window, panel = main_window, main_window.training_panel
    for _ in range(ROUNDS):
        thread = start_run(qtbot, window, rng)
        action = rng.integers(0, 3)
        if action >= 1:
            panel.pause_button.click()
            qtbot.wait(int(rng.integers(0, 100)))
        if action == 2:
            panel.pause_button.click()  # resume
            qtbot.wait(int(rng.integers(0, 100)))
        panel.stop_button.click()
        qtbot.waitUntil(lambda: not window.is_training, timeout=TIMEOUT_MS)
        assert thread is None or thread_ended(thread)
        assert panel.train_button.isEnabled()
        assert_usable(window)
        window.session.set_dirty(False)  # the next run replaces the model without asking


def test_close_at_random_moments(qtbot, message_boxes):
    from gui.main_window import MainWindow

    rng = np.random.default_rng(1)
    for _ in range(ROUNDS // 2):
        window = MainWindow(settings=QSettings())
        qtbot.addWidget(window)
        window.show()
        thread = start_run(qtbot, window, rng)
        if rng.integers(0, 2):
            window.training_panel.pause_button.click()
        assert window.close()
        assert thread is None or thread_ended(thread)
        assert_usable(window)


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_cancel_or_close_during_export_at_random_moments(qtbot, message_boxes, trained_vae_checkpoint, tiny_data,
                                                         tmp_path, suffix, monkeypatch):
    import gui.explore
    from core.points import encode_points
    from gui.main_window import MainWindow

    rng = np.random.default_rng(2)
    # closing mid-export asks "wait for it or cancel it?": answer at random
    monkeypatch.setattr(gui.explore, "ask_about_running_export",
                        lambda parent: ("wait", "cancel")[int(rng.integers(0, 2))])
    for round_index in range(ROUNDS // 2):
        window = MainWindow(settings=QSettings())
        qtbot.addWidget(window)
        window.show()
        window.session.open(trained_vae_checkpoint)
        window.session.set_points(encode_points(window.session.model, tiny_data))
        workspace = window.explore
        assert workspace.select_indices(0, 1)
        workspace.morph_panel.set_frame_count(1000)
        target = tmp_path / f"morph{round_index}{suffix}"
        task = workspace.export_morph(options=MorphExportOptions(target, scale=10, fps=30))
        qtbot.wait(int(rng.integers(0, 200)))
        if rng.integers(0, 2):
            task.cancel()
            assert task.wait(TIMEOUT_MS)
        else:
            assert window.close()
        assert not task.is_running()
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
        assert leftovers == []  # no temporary file left behind
        if target.exists():  # it finished before the interruption: then it is whole
            assert target.stat().st_size > 0
        window.session.set_dirty(False)
        window.close()
