"""Morph exports from the explore workspace, off the GUI thread: GIF/PNG/MP4 and morph-and-map slides,
failures, cancelling, progress; the scatter's PNG/SVG; the background task the exports run on."""

import os

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QPushButton

from core.class_colours import CLASS_COLOURS
from export_helpers import export_and_wait as _export, morph_test_digits as _morph
from gui.export_dialog import MorphExportOptions
from gui.workers import BackgroundTask


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


# --- one grid function; progress from the first frame ---------------------------------------------


def test_the_screen_grids_are_tiled_by_cores_grid_function():
    import core.export
    import gui.image_utils

    assert gui.image_utils.tile_images is core.export.tile_images


def test_the_progress_dialog_shows_at_once_and_moves_from_the_first_frame(qtbot, workspace, tmp_path, gate):
    _morph(qtbot, workspace, 24)
    reports = []
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=20_000):
        task = workspace.export_morph(options=MorphExportOptions(tmp_path / "m.gif", scale=4, fps=12))
        task.progressed.connect(reports.append)
        assert workspace.exporter.progress.isVisible()  # before a single frame was written
        gate.set()
    assert reports and reports[0] < 0.1 and reports[-1] == 1.0


# --- slides: the map and captions, from the window to the file ------------------------------------


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
