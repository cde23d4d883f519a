"""Where exports go: the folder they start in (the last one written to, remembered), a file name that
is not taken yet, a save dialog, and the question before a file the user made is written over."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

FOLDER_KEY = "export/folder"  # QSettings key of the last folder an export was written to


def pictures_folder() -> Path | None:
    """The user's Pictures folder as the platform names it, or None when there is none."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(location) if location else None


def start_folder(settings: QSettings) -> Path:
    """Where an export starts: the last folder written to, else the user's Pictures folder, else home."""
    last = settings.value(FOLDER_KEY)
    pictures = pictures_folder()
    for folder in (Path(last) if isinstance(last, str) and last else None, pictures):
        if folder is not None and folder.is_dir():
            return folder
    return Path.home()


def remember_folder(settings: QSettings, path: Path) -> None:
    settings.setValue(FOLDER_KEY, str(path.parent.resolve()))


def first_free_path(path: Path) -> Path:
    """``path`` when no file is there, else the first of NAME-2.EXT, NAME-3.EXT … that is free: a suggested
    name never points at an earlier export, which one press of Save would have written over."""
    path = Path(path)
    candidate, number = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        number += 1
    return candidate


def confirm_replace(parent: QWidget | None, title: str, *paths: Path) -> bool:
    """True when nothing is at any of ``paths`` (files of one folder) or the user agrees to replace what is
    there: a name typed into a field, or a run's own file names, are not checked by a file dialog."""
    taken = [Path(path) for path in paths if Path(path).exists()]
    if not taken:
        return True
    names, one = ", ".join(path.name for path in taken), len(taken) == 1
    answer = QMessageBox.question(parent, title, f"{names} already {'exists' if one else 'exist'} in "
                                  f"{taken[0].parent}. Replace {'it' if one else 'them'}?",
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def choose_save_path(parent: QWidget | None, title: str, filters: str, directory: str | Path = "",
                     name: str = "") -> Path | None:
    """A save dialog (Qt's own, not the platform's, so it behaves the same everywhere; it asks before
    replacing a file), opened in ``directory`` (a folder or a file name in it), else where the last
    export went, suggesting ``name`` there (or the first free NAME-2 … when it is taken)."""
    if not directory:
        folder = start_folder(QSettings())
        directory = first_free_path(folder / name) if name else folder
    dialog = QFileDialog(parent, title, str(directory), filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return None
    path = Path(dialog.selectedFiles()[0])
    if not path.suffix:  # take the suffix from the chosen filter, e.g. "Animated GIF (*.gif)"
        path = path.with_suffix(dialog.selectedNameFilter().rsplit("*", 1)[-1].rstrip(")"))
    return path
