"""Exports from the explore workspace: morph GIF/PNG (and morph-and-map slides) off the GUI thread,
scatter PNG/SVG, failures."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QDialogButtonBox, QPushButton

from core.class_colours import CLASS_COLOURS
from decode_helpers import settle
from gui.export_dialog import MorphExportDialog, MorphExportOptions
from gui.workers import BackgroundTask


def _morph(qtbot, workspace, frames=None):
    """Morph test digits 0 -> 1 (``frames`` frames) and wait until its frames are decoded."""
    assert workspace.select_indices(0, 1)
    if frames is not None:
        assert workspace.morph_panel.set_frame_count(frames)
    settle(qtbot, workspace)
    assert workspace.morph_panel.frames is not None


def _export(qtbot, workspace, options):
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=20_000) as finished:
        task = workspace.export_morph(options=options)
        assert task is not None
    return finished.args[0]


def test_a_gif_has_the_chosen_number_of_frames(qtbot, workspace, tmp_path):
    _morph(qtbot, workspace, 9)
    target = tmp_path / "morph.gif"
    assert _export(qtbot, workspace, MorphExportOptions(target, scale=2, fps=10))
    with Image.open(target) as gif:
        assert gif.n_frames == 9 and gif.size == (56, 56)
    assert "Saved 9 frames" in workspace.statuses[-1]


def test_bounce_doubles_the_frames_minus_the_two_ends(qtbot, workspace, tmp_path):
    _morph(qtbot, workspace, 9)
    target = tmp_path / "bounce.gif"
    assert _export(qtbot, workspace, MorphExportOptions(target, scale=1, bounce=True))
    with Image.open(target) as gif:
        assert gif.n_frames == 2 * 9 - 2


def test_a_png_strip_export(qtbot, workspace, tmp_path):
    _morph(qtbot, workspace, 5)
    target = tmp_path / "strip.png"
    assert _export(qtbot, workspace, MorphExportOptions(target, scale=1))
    with Image.open(target) as strip:
        assert strip.width > 5 * 28


def test_a_missing_folder_fails_with_a_message_and_no_file(qtbot, workspace, tmp_path):
    _morph(qtbot, workspace)
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
        _morph(qtbot, workspace)
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
    assert "each frame 280 × 280 px" in dialog.size_spin.suffix()
    options = dialog.options()
    assert options.path.name == "a.mp4" and options.size == 280 and options.fps == 15 and options.bounce


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
    _morph(qtbot, workspace)
    target = tmp_path / "morph.gif"
    assert not _export(qtbot, workspace, MorphExportOptions(target))
    assert list(tmp_path.iterdir()) == []
    assert "read-only" in workspace.exporter.last_error


def test_export_morph_asks_through_its_dialog(qtbot, workspace, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    _morph(qtbot, workspace, 6)
    target = tmp_path / "asked.gif"

    def fill_in_and_save():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, MorphExportDialog)
        dialog.size_spin.setValue(28)
        dialog.accept()

    QTimer.singleShot(0, fill_in_and_save)
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=20_000) as finished:
        assert workspace.export_morph(path=target) is not None
    assert finished.args == [True]
    with Image.open(target) as gif:
        assert gif.n_frames == 6 and gif.size == (28, 28)


def test_cancelling_a_long_mp4_export_leaves_no_file(qtbot, workspace, tmp_path):
    _morph(qtbot, workspace, 1000)
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

    _morph(qtbot, workspace)
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=30_000):
        task = workspace.export_morph(options=MorphExportOptions(tmp_path / "m.gif", scale=2, fps=10))
    assert task.wait(10_000)
    qtbot.wait(20)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the dialog is gone now
    assert workspace.exporter.progress is None
    task.progressed.emit(0.5)  # a late report
    assert (tmp_path / "m.gif").exists()


# --- one grid function, strips in rows, the GIF rate, remembered options, progress, closing -------


@pytest.fixture
def gate(monkeypatch):
    """Morph exports wait for ``gate.set()`` before they write, so a test can act while one runs."""
    import threading

    import gui.export_dialog

    event = threading.Event()
    real = gui.export_dialog.export_morph

    def gated(*args, **kwargs):
        assert event.wait(10), "the test never let the export go on"
        return real(*args, **kwargs)

    monkeypatch.setattr(gui.export_dialog, "export_morph", gated)
    yield event
    event.set()


def _ini_settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "export.ini"), QSettings.Format.IniFormat)


def test_the_screen_grids_are_tiled_by_cores_grid_function():
    import core.export
    import gui.image_utils

    assert gui.image_utils.tile_images is core.export.tile_images


def test_the_dialog_lays_a_24_frame_png_strip_in_rows_and_the_export_follows(qtbot, workspace, tmp_path):
    _morph(qtbot, workspace, 24)
    target = tmp_path / "strip.png"
    dialog = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace, path=target, frame_count=24,
                               settings=_ini_settings(tmp_path))
    dialog.size_spin.setValue(28)
    assert dialog.columns_spin.isEnabled() and not dialog.layout_note.isHidden()
    assert "2 rows of 12" in dialog.layout_note.text()  # the default: at most 12 a row
    dialog.columns_spin.setValue(8)
    assert "3 rows of 8" in dialog.layout_note.text()
    assert "242 × 92 px" in dialog.layout_note.text()
    options = dialog.options()
    assert options.columns == 8
    assert _export(qtbot, workspace, options)
    with Image.open(target) as strip:
        assert strip.size == (8 * 28 + 9 * 2, 3 * 28 + 4 * 2) == (242, 92)


def test_the_dialog_shows_the_rate_a_gif_really_plays_at(qtbot, workspace, tmp_path):
    dialog = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace, path=tmp_path / "m.gif",
                               settings=_ini_settings(tmp_path))
    assert not dialog.rate_note.isHidden()
    assert "GIF stores 10 ms steps: 12 fps is written as 12.5 fps" in dialog.rate_note.text()
    dialog.fps_spin.setValue(20)
    assert "20 fps is written exactly" in dialog.rate_note.text()
    dialog.path_edit.setText(str(tmp_path / "m.mp4"))
    assert dialog.rate_note.isHidden()

    _morph(qtbot, workspace, 4)
    assert _export(qtbot, workspace, MorphExportOptions(tmp_path / "m.gif", scale=1, fps=12))
    assert workspace.statuses[-1].endswith("at 12.5 fps")


def test_the_dialog_remembers_the_folder_and_options_for_next_time(workspace, tmp_path):
    from PySide6.QtCore import QSettings

    folder = tmp_path / "slides"
    folder.mkdir()
    first = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace, settings=_ini_settings(tmp_path))
    first.path_edit.setText(str(folder / "talk.png"))
    first.size_spin.setValue(84)
    first.fps_spin.setValue(20)
    first.columns_spin.setValue(5)
    first.bounce_box.setChecked(True)
    first.loop_box.setChecked(False)
    first.accept()

    again = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace,
                              settings=QSettings(str(tmp_path / "export.ini"), QSettings.Format.IniFormat))
    assert Path(again.path_edit.text()) == folder / "morph.png"
    options = again.options()
    assert (options.size, options.fps, options.columns, options.bounce, options.loop) == (84, 20, 5, True, False)


def test_with_nothing_remembered_the_dialog_starts_in_pictures_else_home(workspace, tmp_path, monkeypatch):
    import gui.export_dialog

    pictures, home = tmp_path / "Pictures", tmp_path / "home"
    pictures.mkdir()
    home.mkdir()
    monkeypatch.setattr(gui.export_dialog, "pictures_folder", lambda: pictures)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    settings = _ini_settings(tmp_path)
    dialog = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace, settings=settings)
    assert Path(dialog.path_edit.text()) == pictures / "morph.gif"
    monkeypatch.setattr(gui.export_dialog, "pictures_folder", lambda: tmp_path / "no pictures")
    settings.setValue("export/folder", str(tmp_path / "deleted since"))  # a remembered folder that is gone
    dialog = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace, settings=settings)
    assert Path(dialog.path_edit.text()) == home / "morph.gif"


def test_the_progress_dialog_shows_at_once_and_moves_from_the_first_frame(qtbot, workspace, tmp_path, gate):
    _morph(qtbot, workspace, 24)
    reports = []
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=20_000):
        task = workspace.export_morph(options=MorphExportOptions(tmp_path / "m.gif", scale=4, fps=12))
        task.progressed.connect(reports.append)
        assert workspace.exporter.progress.isVisible()  # before a single frame was written
        gate.set()
    assert reports and reports[0] < 0.1 and reports[-1] == 1.0


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


# --- slides: size, upscaling, the map and captions, from the dialog to the file -------------------


def test_the_dialog_offers_size_upscaling_map_and_captions_and_remembers_them(workspace, tmp_path):
    from PySide6.QtCore import QSettings

    first = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace, path=tmp_path / "talk.webp",
                              settings=_ini_settings(tmp_path))
    assert not first.map_box.isChecked() and not first.caption_box.isChecked()
    first.size_spin.setValue(56)
    first.map_box.setChecked(True)
    first.caption_box.setChecked(True)
    first.upscale_combo.setCurrentIndex(first.upscale_combo.findData("smooth"))
    assert "each frame 112 × 68 px" in first.size_spin.suffix()  # map beside the digit, a caption band under
    first.accept()

    again = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace,
                              settings=QSettings(str(tmp_path / "export.ini"), QSettings.Format.IniFormat))
    options = again.options()
    assert (options.path.suffix, options.size, options.upscale, options.with_map, options.caption) == \
        (".webp", 56, "smooth", True, True)
    without_points = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace, map_available=False,
                                       settings=QSettings(str(tmp_path / "export.ini"), QSettings.Format.IniFormat))
    assert not without_points.map_box.isEnabled() and not without_points.options().with_map


def test_a_morph_and_map_slide_from_the_window(qtbot, workspace, tmp_path):
    _morph(qtbot, workspace, 6)
    target = tmp_path / "slide.apng"
    options = MorphExportOptions(target, fps=12, size=56, with_map=True, caption=True)
    assert _export(qtbot, workspace, options)
    with Image.open(target) as slide:
        assert slide.n_frames == 6 and slide.size == (112, 68)
        first = np.asarray(slide.convert("RGB"))
        slide.seek(5)
        last = np.asarray(slide.convert("RGB"))
    colours = set(map(tuple, np.unique(first[:56, :56].reshape(-1, 3), axis=0).tolist()))
    assert len(colours & {_rgb(colour) for colour in CLASS_COLOURS}) >= 3  # the scatter, in the class colours
    assert (first[:56, :56] != last[:56, :56]).any()  # the dot moved
    assert (first[56:] != last[56:]).any()  # t = 0.00, then t = 1.00


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def test_cancelling_a_morph_and_map_export_leaves_no_file(qtbot, workspace, tmp_path):
    _morph(qtbot, workspace, 400)
    target = tmp_path / "long.webp"
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=30_000) as finished:
        workspace.export_morph(options=MorphExportOptions(target, size=280, with_map=True, caption=True))
        workspace.exporter.progress.findChild(QPushButton).click()
    assert finished.args == [False]
    assert list(tmp_path.iterdir()) == []


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
