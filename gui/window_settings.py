"""What the window remembers between sessions (QSettings): geometry, dock layout, recent files, the form.

Values of the wrong type (a hand-edited or damaged settings file) are skipped, and the caller is
told which, so the app starts with defaults for those and says so once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

if TYPE_CHECKING:  # the panel imports torch; the window reads its geometry from here before torch is in
    from gui.training_panel import TrainingPanel

MAX_RECENT = 8
GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
RECENT_KEY = "recent/files"
FORM_KEY = "training/form"


def restore_window_settings(settings: QSettings, window: QMainWindow, panel: TrainingPanel) -> tuple[list[str], list[str]]:
    """Apply saved settings; returns (recent files, names of the settings that could not be read)."""
    unreadable: list[str] = []
    geometry = settings.value(GEOMETRY_KEY)
    if geometry is not None and not (isinstance(geometry, QByteArray) and window.restoreGeometry(geometry)):
        unreadable.append("window size")
    state = settings.value(STATE_KEY)
    if state is not None and not (isinstance(state, QByteArray) and window.restoreState(state)):
        unreadable.append("panel layout")
    recent = settings.value(RECENT_KEY)
    if isinstance(recent, str):
        recent = [recent]  # QSettings gives a one-item list back as a plain string
    if recent is not None and not (isinstance(recent, list) and all(isinstance(p, str) for p in recent)):
        unreadable.append("recent files")
        recent = []
    form = settings.value(FORM_KEY)
    if form is not None:
        try:
            values = json.loads(form) if isinstance(form, str) else None
            if not isinstance(values, dict):
                raise ValueError("not a JSON object")
            panel.apply_settings_values(values)
        except ValueError:
            unreadable.append("training settings")
    return list(recent or [])[:MAX_RECENT], unreadable


def save_window_settings(settings: QSettings, window: QMainWindow, panel: TrainingPanel, recent: list[str]) -> None:
    settings.setValue(GEOMETRY_KEY, window.saveGeometry())
    settings.setValue(STATE_KEY, window.saveState())
    settings.setValue(RECENT_KEY, list(recent[:MAX_RECENT]))
    settings.setValue(FORM_KEY, json.dumps(panel.settings_values()))
    settings.sync()
