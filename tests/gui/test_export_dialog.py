"""The morph export dialog (MorphExportDialog): the options it builds and the suffixes it refuses, a
strip laid in rows, the rate a GIF really plays at, the folder and options it remembers, the slide
options; export_morph asking through it."""

from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QDialogButtonBox

from export_helpers import export_and_wait as _export, morph_test_digits as _morph
from gui.export_dialog import MorphExportDialog, MorphExportOptions


def test_the_dialog_builds_options_and_refuses_unknown_suffixes(workspace, tmp_path):
    dialog = MorphExportDialog((28, 28), fps=15, bounce=True, parent=workspace, path=tmp_path / "a.txt")
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert not save.isEnabled()
    dialog.path_edit.setText(str(tmp_path / "a.mp4"))
    assert save.isEnabled()
    assert "each frame 280 × 280 px" in dialog.size_spin.suffix()
    options = dialog.options()
    assert options.path.name == "a.mp4" and options.size == 280 and options.fps == 15 and options.bounce


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


# --- strips in rows, the GIF rate, remembered options ---------------------------------------------


def _ini_settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "export.ini"), QSettings.Format.IniFormat)


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
    import gui.export_paths

    pictures, home = tmp_path / "Pictures", tmp_path / "home"
    pictures.mkdir()
    home.mkdir()
    monkeypatch.setattr(gui.export_paths, "pictures_folder", lambda: pictures)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    settings = _ini_settings(tmp_path)
    dialog = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace, settings=settings)
    assert Path(dialog.path_edit.text()) == pictures / "morph.gif"
    monkeypatch.setattr(gui.export_paths, "pictures_folder", lambda: tmp_path / "no pictures")
    settings.setValue("export/folder", str(tmp_path / "deleted since"))  # a remembered folder that is gone
    dialog = MorphExportDialog((28, 28), fps=12, bounce=False, parent=workspace, settings=settings)
    assert Path(dialog.path_edit.text()) == home / "morph.gif"


# --- slides: size, upscaling, the map and captions ------------------------------------------------


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
