"""File > Train AE vs VAE vs β-VAE: where it asks to write, and that it never writes over model files
of an earlier run there unasked."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

import gui.window_tools as window_tools
from training_helpers import set_form


def _asked_for(monkeypatch, folder):
    """The folder dialog answers ``folder``; returns where it started and the runs started."""
    seen = {"start": None, "runs": []}

    def choose(parent, title, start):
        seen["start"] = start
        return str(folder)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(choose))
    monkeypatch.setattr(window_tools, "train_kinds_preset", lambda window, chosen: seen["runs"].append(Path(chosen)))
    return seen


def test_an_earlier_run_s_model_files_are_replaced_only_when_the_user_says_so(main_window, message_boxes,
                                                                              monkeypatch, tmp_path):
    set_form(main_window.training_panel)
    (tmp_path / "vae.safetensors").write_bytes(b"a model from last week")
    seen = _asked_for(monkeypatch, tmp_path)
    main_window.recent_files.clear()
    message_boxes.answer = QMessageBox.StandardButton.No
    window_tools.train_kinds_preset_dialog(main_window)
    assert seen["start"] == str(Path.home())  # not wherever the app was started from
    assert message_boxes[-1][0] == "question" and "vae.safetensors already exists" in message_boxes[-1][2]
    assert seen["runs"] == [] and (tmp_path / "vae.safetensors").read_bytes() == b"a model from last week"
    message_boxes.answer = QMessageBox.StandardButton.Yes
    window_tools.train_kinds_preset_dialog(main_window)
    assert seen["runs"] == [tmp_path]


def test_an_empty_folder_is_trained_into_without_a_question(main_window, message_boxes, monkeypatch, tmp_path):
    set_form(main_window.training_panel)
    seen = _asked_for(monkeypatch, tmp_path)
    window_tools.train_kinds_preset_dialog(main_window)
    assert seen["runs"] == [tmp_path] and message_boxes == []
