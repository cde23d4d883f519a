"""What the window remembers between sessions (QSettings): geometry, dock layout, recent files, the form
(the training form's values: ``settings_values`` and ``apply_settings_values``).

Values of the wrong type (a hand-edited or damaged settings file) are skipped, and the caller is
told which, so the app starts with defaults for those and says so once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

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
            apply_settings_values(panel, values)
        except ValueError:
            unreadable.append("training settings")
    return list(recent or [])[:MAX_RECENT], unreadable


def save_window_settings(settings: QSettings, window: QMainWindow, panel: TrainingPanel, recent: list[str]) -> None:
    settings.setValue(GEOMETRY_KEY, window.saveGeometry())
    settings.setValue(STATE_KEY, window.saveState())
    settings.setValue(RECENT_KEY, list(recent[:MAX_RECENT]))
    settings.setValue(FORM_KEY, json.dumps(settings_values(panel)))
    settings.sync()


def settings_values(panel: TrainingPanel) -> dict[str, Any]:
    """The training form's values as the window saves them (a JSON object)."""
    return {"dataset": panel.dataset_combo.currentData(), "kind": panel.kind_combo.currentData(),
            "arch": panel.arch_combo.currentData(), "hidden": panel.hidden_edit.text(),
            "latent_dim": panel.latent_spin.value(), "beta": panel.beta_spin.value(),
            "recon": panel.recon_combo.currentData(), "epochs": panel.epochs_spin.value(),
            "batch_size": panel.batch_spin.value(), "lr": panel.lr_edit.text(),
            "device": panel.device_combo.currentData(), "seed": panel.seed_spin.value(),
            "beta_schedule": _schedule_text(panel), "free_bits": panel.free_bits_spin.value()}


def _schedule_text(panel: TrainingPanel) -> str:
    """The schedule as typed, e.g. "cyclical:4:0.5", kept even for an autoencoder (unlike the panel's
    _beta_schedule, which is what the engine gets)."""
    kind = panel.schedule_combo.currentData()
    return kind if kind == "constant" else f"{kind}:{panel.schedule_edit.text().strip()}"


def apply_settings_values(panel: TrainingPanel, values: dict[str, Any]) -> None:
    """Restore saved form values; raises ValueError (changing nothing) when any value has the wrong type."""
    checks = {"dataset": str, "kind": str, "arch": str, "hidden": str, "latent_dim": int, "beta": (int, float),
              "recon": str, "epochs": int, "batch_size": int, "lr": str, "device": str, "seed": int,
              "beta_schedule": str, "free_bits": (int, float)}
    for key, value in values.items():
        if key in checks and (isinstance(value, bool) or not isinstance(value, checks[key])):
            raise ValueError(f"{key} has the wrong type")
    for key, combo in (("kind", panel.kind_combo), ("arch", panel.arch_combo), ("recon", panel.recon_combo),
                       ("device", panel.device_combo)):
        if key in values and combo.findData(values[key]) < 0:
            raise ValueError(f"{key} {values[key]!r} is not a choice")
    schedule_kind, _, schedule_param = values.get("beta_schedule", "constant").partition(":")
    if panel.schedule_combo.findData(schedule_kind) < 0:
        raise ValueError(f"beta_schedule {values['beta_schedule']!r} is not a choice")
    if "dataset" in values:
        panel.set_dataset(values["dataset"])
    for key, combo in (("kind", panel.kind_combo), ("arch", panel.arch_combo), ("recon", panel.recon_combo),
                       ("device", panel.device_combo)):
        if key in values:
            index = combo.findData(values[key])
            if combo.model().item(index).isEnabled():
                combo.setCurrentIndex(index)
    for key, spin in (("latent_dim", panel.latent_spin), ("epochs", panel.epochs_spin),
                      ("batch_size", panel.batch_spin), ("seed", panel.seed_spin), ("beta", panel.beta_spin),
                      ("free_bits", panel.free_bits_spin)):
        if key in values:
            spin.setValue(values[key])
    if "beta_schedule" in values:
        if schedule_kind != "constant":  # constant keeps the parameter typed before, for a later switch
            panel.schedule_edit.setText(schedule_param)
        panel.schedule_combo.setCurrentIndex(panel.schedule_combo.findData(schedule_kind))
    if "hidden" in values:
        panel.hidden_edit.setText(values["hidden"])
    if "lr" in values:
        panel.lr_edit.setText(values["lr"])
    panel.validate()
