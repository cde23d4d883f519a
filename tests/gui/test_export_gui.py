"""Exports from the explore workspace: morph GIF/PNG off the GUI thread, scatter PNG/SVG, failures."""

import os

import pytest
from PIL import Image
from PySide6.QtWidgets import QDialogButtonBox, QPushButton

from gui.export_dialog import MorphExportDialog, MorphExportOptions
from gui.workers import BackgroundTask


def _export(qtbot, workspace, options):
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=20_000) as finished:
        task = workspace.export_morph(options=options)
        assert task is not None
    return finished.args[0]


def test_a_gif_has_the_chosen_number_of_frames(qtbot, workspace, tmp_path):
    workspace.select_indices(0, 1)
    workspace.morph_panel.set_frame_count(9)
    target = tmp_path / "morph.gif"
    assert _export(qtbot, workspace, MorphExportOptions(target, scale=2, fps=10))
    with Image.open(target) as gif:
        assert gif.n_frames == 9 and gif.size == (56, 56)
    assert "Saved 9 frames" in workspace.statuses[-1]


def test_bounce_doubles_the_frames_minus_the_two_ends(qtbot, workspace, tmp_path):
    workspace.select_indices(0, 1)
    workspace.morph_panel.set_frame_count(9)
    target = tmp_path / "bounce.gif"
    assert _export(qtbot, workspace, MorphExportOptions(target, scale=1, bounce=True))
    with Image.open(target) as gif:
        assert gif.n_frames == 2 * 9 - 2


def test_a_png_strip_export(qtbot, workspace, tmp_path):
    workspace.select_indices(0, 1)
    workspace.morph_panel.set_frame_count(5)
    target = tmp_path / "strip.png"
    assert _export(qtbot, workspace, MorphExportOptions(target, scale=1))
    with Image.open(target) as strip:
        assert strip.width > 5 * 28


def test_a_missing_folder_fails_with_a_message_and_no_file(qtbot, workspace, tmp_path):
    workspace.select_indices(0, 1)
    target = tmp_path / "missing" / "morph.gif"
    assert not _export(qtbot, workspace, MorphExportOptions(target))
    assert not target.exists()
    assert "does not exist" in workspace.exporter.last_error
    assert workspace.exporter.error_box.isVisible()
    assert "does not exist" in workspace.exporter.error_box.text()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write to read-only folders")
def test_a_read_only_folder_fails_with_a_message_and_no_file(qtbot, workspace, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        workspace.select_indices(0, 1)
        assert not _export(qtbot, workspace, MorphExportOptions(folder / "morph.gif"))
        assert list(folder.iterdir()) == []
        assert "read-only" in workspace.exporter.last_error
    finally:
        folder.chmod(0o755)


def test_exporting_without_a_morph_says_what_to_do(workspace):
    assert workspace.export_morph() is None
    assert "Pick two points" in workspace.statuses[-1]


def test_the_dialog_builds_options_and_refuses_unknown_suffixes(workspace, tmp_path):
    dialog = MorphExportDialog((28, 28), fps=15, bounce=True, parent=workspace, path=tmp_path / "a.txt")
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert not save.isEnabled()
    dialog.path_edit.setText(str(tmp_path / "a.mp4"))
    assert save.isEnabled()
    assert "280 × 280 px" in dialog.scale_spin.suffix()
    options = dialog.options()
    assert options.path.name == "a.mp4" and options.scale == 10 and options.fps == 15 and options.bounce


@pytest.mark.parametrize("name", ["latent.png", "latent.svg"])
def test_the_scatter_exports_to_png_and_svg(workspace, tmp_path, name):
    target = tmp_path / name
    assert workspace.export_scatter(target)
    assert target.stat().st_size > 1000
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


def test_a_scatter_export_to_a_missing_folder_fails_cleanly(workspace, tmp_path):
    target = tmp_path / "missing" / "latent.png"
    assert not workspace.export_scatter(target)
    assert not target.exists() and "does not exist" in workspace.exporter.last_error


def test_a_background_task_stops_at_its_next_report_when_cancelled(qtbot):
    import threading

    release = threading.Event()

    def slow(report):
        report(0.0)
        release.wait(5)
        report(0.5)  # raises: the cancel arrived meanwhile
        return "finished"

    task = BackgroundTask(slow)
    outcomes = []
    task.succeeded.connect(lambda result: outcomes.append(result))
    task.cancelled.connect(lambda: outcomes.append("cancelled"))
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start()
        task.cancel()
        release.set()
    qtbot.waitUntil(lambda: outcomes == ["cancelled"], timeout=2000)


def test_a_folder_the_app_may_not_write_fails_with_a_message_and_no_file(qtbot, workspace, tmp_path, monkeypatch):
    import core.files

    # root ignores permission bits, so the check core makes is what this test takes away
    monkeypatch.setattr(core.files.os, "access", lambda path, mode: False)
    workspace.select_indices(0, 1)
    target = tmp_path / "morph.gif"
    assert not _export(qtbot, workspace, MorphExportOptions(target))
    assert list(tmp_path.iterdir()) == []
    assert "read-only" in workspace.exporter.last_error


def test_export_morph_asks_through_its_dialog(qtbot, workspace, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    workspace.select_indices(0, 1)
    workspace.morph_panel.set_frame_count(6)
    target = tmp_path / "asked.gif"

    def fill_in_and_save():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, MorphExportDialog)
        dialog.scale_spin.setValue(1)
        dialog.accept()

    QTimer.singleShot(0, fill_in_and_save)
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=20_000) as finished:
        assert workspace.export_morph(path=target) is not None
    assert finished.args == [True]
    with Image.open(target) as gif:
        assert gif.n_frames == 6 and gif.size == (28, 28)


def test_cancelling_a_long_mp4_export_leaves_no_file(qtbot, workspace, tmp_path):
    workspace.select_indices(0, 1)
    workspace.morph_panel.set_frame_count(1000)
    target = tmp_path / "long.mp4"
    outcomes = []
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=30_000) as finished:
        task = workspace.export_morph(options=MorphExportOptions(target, scale=10, fps=30))
        task.cancelled.connect(lambda: outcomes.append("cancelled"))
        workspace.exporter.progress.findChild(QPushButton).click()
    assert finished.args == [False] and outcomes == ["cancelled"]
    assert list(tmp_path.iterdir()) == []
    assert "cancelled" in workspace.statuses[-1]


def test_a_progress_report_after_the_export_ended_is_ignored(qtbot, workspace, tmp_path):
    """A report still queued when the export ends must not reach its deleted progress dialog
    (CI crashed with a segfault there once)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    workspace.select_indices(0, 1)
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=30_000):
        task = workspace.export_morph(options=MorphExportOptions(tmp_path / "m.gif", scale=2, fps=10))
    assert task.wait(10_000)
    qtbot.wait(20)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the dialog is gone now
    assert workspace.exporter.progress is None
    task.progressed.emit(0.5)  # a late report
    assert (tmp_path / "m.gif").exists()
