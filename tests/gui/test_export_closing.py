"""Closing during a morph export: the question (wait for it, cancel it, keep the window open), asked
by the explore workspace and by the window's close button."""

import pytest
from PIL import Image

from export_helpers import morph_test_digits as _morph
from gui.export_dialog import MorphExportOptions


def _running_export(qtbot, workspace, target):
    _morph(qtbot, workspace, 24)
    task = workspace.export_morph(options=MorphExportOptions(target, scale=4, fps=12))
    assert task is not None and workspace.exporter.is_busy()
    return task


def test_closing_without_a_running_export_asks_nothing(workspace, monkeypatch):
    import gui.explore

    asked = []
    monkeypatch.setattr(gui.explore, "ask_about_running_export", lambda parent: asked.append(parent) or "keep")
    assert workspace.confirm_close_during_export(workspace)
    assert asked == []


def test_closing_during_an_export_can_wait_for_it_with_its_progress_shown(qtbot, workspace, tmp_path, monkeypatch,
                                                                           gate):
    import gui.explore

    target = tmp_path / "m.gif"
    _running_export(qtbot, workspace, target)
    seen = []

    def wait_for_it(parent):
        seen.append(workspace.exporter.progress.isVisible())
        gate.set()
        return gui.explore.WAIT_FOR_EXPORT

    monkeypatch.setattr(gui.explore, "ask_about_running_export", wait_for_it)
    assert workspace.confirm_close_during_export(workspace)
    assert seen == [True]
    assert not workspace.exporter.is_busy() and target.exists()
    with Image.open(target) as gif:
        assert gif.n_frames == 24
    assert workspace.statuses[-1].startswith("Saved 24 frames")


def test_closing_during_an_export_can_cancel_it(qtbot, workspace, tmp_path, monkeypatch, gate):
    import threading

    import gui.explore

    target = tmp_path / "m.gif"
    _running_export(qtbot, workspace, target)

    def cancel_it(parent):
        threading.Timer(0.1, gate.set).start()  # the export goes on only after the cancel was asked for
        return gui.explore.CANCEL_EXPORT

    monkeypatch.setattr(gui.explore, "ask_about_running_export", cancel_it)
    assert workspace.confirm_close_during_export(workspace)
    assert not workspace.exporter.is_busy()
    assert list(tmp_path.iterdir()) == []
    qtbot.waitUntil(lambda: "cancelled" in workspace.statuses[-1], timeout=2000)


def test_closing_during_an_export_can_be_called_off(qtbot, workspace, tmp_path, monkeypatch, gate):
    import gui.explore

    target = tmp_path / "m.gif"
    task = _running_export(qtbot, workspace, target)
    monkeypatch.setattr(gui.explore, "ask_about_running_export", lambda parent: gui.explore.KEEP_WINDOW_OPEN)
    assert not workspace.confirm_close_during_export(workspace)
    assert workspace.exporter.is_busy()  # the export goes on
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=20_000) as finished:
        gate.set()
    assert finished.args == [True] and target.exists()
    assert task.wait(5000)


@pytest.mark.parametrize("press, answer", [("Escape", "keep"), ("Wait for it", "wait"), ("Cancel the export", "cancel")])
def test_the_close_question_offers_wait_cancel_and_keep_open(qtbot, workspace, press, answer):
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    import gui.explore

    texts = []

    def respond():
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        texts.append(box.text())
        if press == "Escape":
            qtbot.keyClick(box, Qt.Key.Key_Escape)
        else:
            next(button for button in box.buttons() if button.text() == press).click()

    QTimer.singleShot(0, respond)
    assert gui.explore.ask_about_running_export(workspace) == answer
    assert texts == ["An export is still being written."]


def test_the_window_s_close_button_asks_about_a_running_export_and_keeps_or_waits(
        qtbot, main_window, trained_vae_checkpoint, tmp_path, monkeypatch, gate):
    """Through MainWindow.close(), as the title bar's button does: "keep the window open" leaves the
    window and the export as they were; "wait" closes only once the file is written."""
    import gui.explore
    from test_window import open_and_wait

    window = main_window
    open_and_wait(qtbot, window, trained_vae_checkpoint)
    target = tmp_path / "closing.gif"
    _running_export(qtbot, window.explore, target)
    answers = [gui.explore.KEEP_WINDOW_OPEN, gui.explore.WAIT_FOR_EXPORT]
    asked = []

    def ask(parent):
        asked.append(parent)
        answer = answers.pop(0)
        if answer == gui.explore.WAIT_FOR_EXPORT:
            gate.set()
        return answer

    monkeypatch.setattr(gui.explore, "ask_about_running_export", ask)
    assert not window.close()  # kept open
    assert window.isVisible() and window.explore.exporter.is_busy() and not target.exists()
    assert window.close()  # waits for the export, then closes
    assert asked == [window, window] and not window.isVisible()
    with Image.open(target) as gif:
        assert gif.n_frames == 24
