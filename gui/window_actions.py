"""The main window's actions, menus and toolbar: every command the window offers, with its shortcut,
tip and icon, and where it sits. ``add_actions`` makes the actions as attributes of the window
(``window.train_action`` …), as Qt Designer's ``setupUi`` does; the window enables them for its state
(``MainWindow.update_actions``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QApplication, QStyle

from gui.guide import show_guide
from gui.window_tools import compare_models_dialog, show_about, show_evaluate_panel, train_kinds_preset_dialog

if TYPE_CHECKING:
    from gui.main_window import MainWindow


def add_actions(window: MainWindow) -> None:
    """Make the window's actions (``window.new_action`` … ``window.evaluate_action``), each added to the
    window so that its shortcut works wherever the focus is in it."""
    SP = QStyle.StandardPixmap
    files, explore = window.files, window.explore
    window.new_action = _action(window, "&New", files.new_model, QKeySequence.StandardKey.New,
                                "Close the model and start over")
    window.open_action = _action(window, "&Open model…", files.open_model_dialog, QKeySequence.StandardKey.Open,
                                 "Open a saved model file", SP.SP_DialogOpenButton)
    window.save_action = _action(window, "&Save", files.save_model, QKeySequence.StandardKey.Save,
                                 "Save the model", SP.SP_DialogSaveButton)
    window.save_as_action = _action(window, "Save &As…", files.save_model_as, "Ctrl+Shift+S",
                                    "Save the model to a new file")
    window.export_morph_action = _action(window, "Export &morph…", lambda: explore.export_morph(), "Ctrl+E",
                                         "Save the morph between the two selected digits as GIF, MP4 or PNG")
    window.export_scatter_action = _action(window, "Export &scatter…", lambda: explore.export_scatter(), None,
                                           "Save the latent scatter plot as an image")
    window.export_csv_action = _action(window, "Export loss &history CSV…", files.export_history_csv_dialog, None,
                                       "Save the loss of every step and epoch as a CSV table")
    window.export_timeline_action = _action(window, "Export training &timeline…", lambda: explore.export_timeline(),
                                            None, "Save the replay of the clusters forming, one frame per "
                                            "snapshot of training, as GIF, MP4, WebP or APNG")
    window.quit_action = _action(window, "&Quit", window.close, QKeySequence.StandardKey.Quit)
    window.train_action = _action(window, "&Train", window.training_panel.request_train, "Ctrl+Return",
                                  "Train a new model with the settings on the left", SP.SP_MediaPlay)
    window.pause_action = _action(window, "&Pause", window.toggle_pause, "Ctrl+P", "Pause or resume training",
                                  SP.SP_MediaPause)
    window.stop_action = _action(window, "St&op", window.stop_training, "Ctrl+.", "Stop training, keep the model",
                                 SP.SP_MediaStop)
    window.play_action = _action(window, "Play / pause morph", lambda: _play_pause_morph(window), Qt.Key.Key_Space,
                                 "Play or pause the morph animation (Space)")
    window.play_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)  # text fields still get Space
    window.clear_action = _action(window, "Clear selection", lambda: explore.clear_selection(), Qt.Key.Key_Escape,
                                  "Forget the selected morph endpoints (Esc)")
    window.log_action = _action(window, "Log-scale loss", window.loss_plot.set_log_scale, None,
                                "Show the loss curves on a logarithmic axis")
    window.log_action.setCheckable(True)
    window.loss_plot.log_check.toggled.connect(window.log_action.setChecked)
    window.about_action = _action(window, "&About Latent Morph", lambda: show_about(window))
    window.guide_action = _action(window, "&Guide: what the window shows", lambda: show_guide(window),
                                  QKeySequence.StandardKey.HelpContents,
                                  "μ, σ, ε and the KL, why an autoencoder's latent has holes, what β changes, "
                                  "and the keyboard shortcuts")
    window.compare_action = _action(window, "&Compare models…", lambda: compare_models_dialog(window), None,
                                    "Open 2 to 4 model files side by side: scatters, morphs, prior draws "
                                    "and one metrics table")
    window.kinds_preset_action = _action(window, "Train AE vs VAE vs β-VAE…",
                                         lambda: train_kinds_preset_dialog(window), None,
                                         "Train an autoencoder, a VAE and a β-VAE with the settings on the "
                                         "left (same data, same seed), then compare them")
    window.evaluate_action = _action(window, "E&valuate model…", lambda: show_evaluate_panel(window), None,
                                     "Measure the open model: bounds, active units, kNN accuracy and what "
                                     "the digit judge reads")


def add_menus_and_toolbar(window: MainWindow) -> None:
    """The menu bar (File, Train, View, Help; ``window.recent_menu`` under File) and the main toolbar."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addActions([window.new_action, window.open_action])
    window.recent_menu = file_menu.addMenu("Open &recent")
    window.recent_menu.aboutToShow.connect(lambda: _fill_recent_menu(window))
    file_menu.addActions([window.save_action, window.save_as_action])
    file_menu.addSeparator()
    file_menu.addActions([window.export_morph_action, window.export_scatter_action, window.export_csv_action])
    file_menu.addAction(window.export_timeline_action)
    file_menu.addSeparator()
    file_menu.addActions([window.compare_action, window.kinds_preset_action, window.evaluate_action])
    file_menu.addSeparator()
    file_menu.addAction(window.quit_action)
    bar.addMenu("&Train").addActions([window.train_action, window.pause_action, window.stop_action])
    view_menu = bar.addMenu("&View")
    view_menu.addActions([window.training_dock.toggleViewAction(), window.loss_dock.toggleViewAction()])
    view_menu.addSeparator()
    view_menu.addActions([window.play_action, window.clear_action, window.log_action])
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(window.guide_action)
    help_menu.addSeparator()
    help_menu.addAction(window.about_action)
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("mainToolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toolbar.addActions([window.open_action, window.save_action])
    toolbar.addSeparator()
    toolbar.addActions([window.train_action, window.pause_action, window.stop_action])
    toolbar.addSeparator()
    toolbar.addAction(window.export_morph_action)


def _action(window: MainWindow, text: str, slot, shortcut=None, tip: str = "", icon=None) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    if icon is not None:
        action.setIcon(window.style().standardIcon(icon))
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def _fill_recent_menu(window: MainWindow) -> None:
    window.recent_menu.clear()
    for path in window.recent_files:
        action = window.recent_menu.addAction(Path(path).name)
        action.setToolTip(path)
        action.triggered.connect(lambda _=False, p=path: window.files.open_model(p))
    if not window.recent_files:
        window.recent_menu.addAction("No recent models").setEnabled(False)


def _play_pause_morph(window: MainWindow) -> None:
    focused = QApplication.focusWidget()
    if isinstance(focused, QAbstractButton) and focused.isEnabled():
        focused.animateClick()  # Space on a focused button presses it, as everywhere else
        return
    window.explore.play_pause()
