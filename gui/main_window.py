"""The main window: training panel on the left, loss curves below, the explore workspace in the centre.

It wires views to the session and to the training worker; it owns no maths and no model state
beyond what ``ModelSession`` holds. Its helpers: gui/window_actions.py (actions, menus, toolbar),
gui/model_files.py (New, Open, Save, the loss-history CSV), gui/window_tools.py (Compare, Evaluate,
About) and gui/window_settings.py (what it remembers between sessions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QMessageBox, QStackedWidget, QStyle, QWidget

from core.config import ModelConfig, TrainConfig
from gui.empty_state import EmptyState
from gui.screen_fit import default_window_size
from gui.window_settings import GEOMETRY_KEY, restore_window_settings, save_window_settings
from gui.workers import prefer_the_gui_thread

if TYPE_CHECKING:
    from gui.training_worker import RunOutcome
    from gui.workers import BackgroundTask


def import_engine() -> None:
    """Import the rest of the window: the panels and the window's helpers, and through them torch and
    pyqtgraph (seconds on a cold start). ``python main.py`` shows the window first and runs this on a
    worker thread; a new window built at once (``MainWindow()``) runs it itself. Instant once done.

    Modules that import torch are imported here, not at the top of this file: one imported there would
    keep the window off the screen until torch is in (tests/gui/test_off_thread_decodes.py checks).
    """
    global ExploreWorkspace, LossPlot, ModelDataLoader, ModelFiles, ModelSession, Training, TrainingState, \
        TrainingPanel, add_actions, add_menus_and_toolbar, judge_provider, use_one_torch_thread_here
    from gui.explore import ExploreWorkspace
    from gui.judges import judge_provider
    from gui.loss_plot import LossPlot
    from gui.model_files import ModelFiles
    from gui.model_tasks import ModelDataLoader
    from gui.session import ModelSession
    from gui.training import Training, TrainingState
    from gui.training_panel import TrainingPanel
    from gui.training_worker import use_one_torch_thread_here
    from gui.window_actions import add_actions, add_menus_and_toolbar  # and through them Compare and Evaluate


APP_NAME = "Latent Morph"
STATUS_MS = 8000


def loss_dock_height(window_height: int) -> int:
    """The loss plots' first height in pixels: 290, or 30% of a short window (on a 1366 x 768 laptop
    screen the latent view keeps the most of it). Qt keeps it at least the plots' own minimum."""
    return min(290, int(0.3 * window_height))


class MainWindow(QMainWindow):
    """The app window. Public: ``start_training``, ``toggle_pause``, ``stop_training``; a model's files
    (New, Open, Save, the history CSV) are ``self.files`` (gui.model_files.ModelFiles). Training itself
    is ``self.training`` (gui.training.Training), which the panel, the loss plot and the status bar observe."""

    trainingStarted = Signal()
    trainingFinished = Signal(object)  # RunOutcome, or None when the run failed or could not start
    modelDataSettled = Signal(bool)  # an opened model's points are shown (True) or could not be made (False)
    ready = Signal()  # every panel is built: at once, or (deferred) once the engine was imported

    def __init__(self, session: ModelSession | None = None, settings: QSettings | None = None,
                 data_dir: str | None = None, remember_settings: bool = True, parent: QWidget | None = None,
                 *, deferred: bool = False) -> None:
        """``deferred=True`` builds only the frame (a window to show at once, saying it is starting);
        ``finish_construction`` builds the rest once ``import_engine`` has run."""
        super().__init__(parent)
        prefer_the_gui_thread()  # the window's Python runs on the GUI thread beside training and decodes
        self.settings = settings or QSettings()
        self.data_dir = data_dir
        self.dataset_limit: int | None = None  # a hook for quick runs: samples kept per split
        self.remember_settings = remember_settings
        self.recent_files: list[str] = []
        self._closing = False  # inside closeEvent's questions and waits
        self.is_ready = False  # every panel is built (see ``ready``)
        self._given_session = session

        self.empty_state = EmptyState()
        self.center = QStackedWidget()
        self.center.addWidget(self.empty_state)
        self.setCentralWidget(self.center)
        self.setWindowTitle(APP_NAME)
        self.resize(*default_window_size(self.screen().availableGeometry().size()))
        if deferred:
            self.show_starting("Loading PyTorch…")
            return
        self.finish_construction()

    def show_starting(self, message: str) -> None:
        """What the frame says before the panels are built: where it is (or why it cannot start)."""
        geometry = self.settings.value(GEOMETRY_KEY) if self.remember_settings else None
        if isinstance(geometry, QByteArray):  # anything else is reported once the settings are read in full
            self.restoreGeometry(geometry)  # the size it will have, so nothing jumps once it is built
        self.empty_state.title.setText(f"<h2>{APP_NAME}</h2>")
        self.empty_state.text.setText(message)
        self.empty_state.train_button.setEnabled(False)
        self.empty_state.open_button.setEnabled(False)
        self.statusBar().showMessage(message)

    def finish_construction(self) -> None:
        """Build the panels, docks, menus and toolbar (imports the engine first if it is not in yet)."""
        if self.is_ready:
            return
        import_engine()
        use_one_torch_thread_here()
        self.session = self._given_session or ModelSession(self)
        self.files = ModelFiles(self)
        self.training_panel = TrainingPanel()
        self.loss_plot = LossPlot()
        self.training = Training(self.session, confirm_replace=self.files.confirm_discard, parent=self)
        self.model_data = ModelDataLoader(self.session, self)
        self.explore = ExploreWorkspace(self.session, self)
        self.explore.statusMessage.connect(self.show_status)
        self.center.addWidget(self.explore)
        self._watch_judges()
        self._build_docks()
        add_actions(self)  # gui/window_actions.py: self.new_action … self.evaluate_action
        add_menus_and_toolbar(self)
        self._connect()
        self.empty_state.set_training(False)
        self.empty_state.open_button.setEnabled(True)
        self.statusBar().showMessage("Ready")
        self._restore_settings()
        self._update_title()
        self.update_actions()
        self.is_ready = True
        self.ready.emit()

    # ----- construction -----
    def _build_docks(self) -> None:
        self.training_dock = QDockWidget("Training", self)
        self.training_dock.setObjectName("trainingDock")
        self.training_dock.setWidget(self.training_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.training_dock)
        self.loss_dock = QDockWidget("Loss", self)
        self.loss_dock.setObjectName("lossDock")
        self.loss_dock.setWidget(self.loss_plot)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.loss_dock)
        self.resizeDocks([self.loss_dock], [loss_dock_height(self.height())], Qt.Orientation.Vertical)

    def _connect(self) -> None:
        panel, training, plot = self.training_panel, self.training, self.loss_plot
        panel.trainRequested.connect(self.start_training)
        panel.pauseToggled.connect(training.toggle_pause)
        panel.stopRequested.connect(training.stop)
        panel.stepRequested.connect(training.step_once)
        panel.epochRequested.connect(training.finish_epoch)
        panel.speedChanged.connect(training.set_step_delay)
        panel.validityChanged.connect(self.update_actions)
        panel.settingsChanged.connect(self._describe_next_run)
        training.stateChanged.connect(panel.show_state)
        training.stateChanged.connect(self._training_state_changed)
        training.started.connect(self._run_started)
        training.stepsReported.connect(self._steps_reported)
        training.epochFinished.connect(plot.add_epoch)
        training.epochFinished.connect(panel.show_epoch)
        training.ended.connect(self._run_ended)
        training.failed.connect(self._run_failed)
        training.refused.connect(lambda message: self.show_error("Training not started", message))
        training.refused.connect(lambda _message: self.trainingFinished.emit(None))
        training.status.connect(self.show_status)
        self.model_data.status.connect(self.show_status)
        self.model_data.settled.connect(self.modelDataSettled)
        self.empty_state.train_button.clicked.connect(self.train_from_empty_state)
        self.empty_state.open_button.clicked.connect(self.files.open_model_dialog)
        self.session.modelChanged.connect(self._model_changed)
        self.session.weightsChanged.connect(self.update_actions)  # an epoch adds to the training timeline
        self.explore.timeline_bar.stepShown.connect(plot.set_cursor)  # the replayed snapshot's step
        self.session.dirtyChanged.connect(self._update_title)
        self.session.pathChanged.connect(self._update_title)

    # ----- status, errors, title, enabled state -----
    @Slot(str)
    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, STATUS_MS)

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.critical(self, title, text)

    def _update_title(self, *_args) -> None:
        self.setWindowTitle(f"{self.session.display_name}[*] — {APP_NAME}")
        self.setWindowModified(self.session.dirty)

    def update_actions(self, *_args) -> None:
        training = self.is_training
        state = self.training.state
        has_model = self.session.has_model
        self.train_action.setEnabled(not training and self.training_panel.is_valid)
        self.pause_action.setEnabled(state in (TrainingState.RUNNING, TrainingState.PAUSED))
        self.pause_action.setText("&Resume" if self.training.paused else "&Pause")
        self.pause_action.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPlay if self.training.paused else QStyle.StandardPixmap.SP_MediaPause))
        self.stop_action.setEnabled(training and state is not TrainingState.STOPPING)
        for action in (self.save_action, self.save_as_action, self.export_morph_action, self.export_scatter_action):
            action.setEnabled(has_model)
        self.export_csv_action.setEnabled(bool(self.session.history.steps))
        self.export_timeline_action.setEnabled(self.explore.timeline_bar.timeline is not None)
        self.new_action.setEnabled(not training)
        self.open_action.setEnabled(not training)
        self.empty_state.train_button.setEnabled(not training)

    def _model_changed(self) -> None:
        self.center.setCurrentWidget(self.explore if self.session.has_model else self.empty_state)
        self._update_title()
        self.update_actions()

    @property
    def is_training(self) -> bool:
        """True from the moment a start is accepted (its dataset loading) until the run has ended."""
        return self.training.is_busy

    @property
    def model_task(self) -> BackgroundTask | None:
        """The task loading the opened model's dataset and points (the newest one), or None."""
        return self.model_data.task

    @property
    def training_run(self):
        """The run in progress (its ``thread`` and ``worker``), or None."""
        return self.training.run

    # ----- training -----
    def train_from_empty_state(self) -> None:
        """The empty state's big button: trains with the settings on the left, which its text spells out."""
        self.training_panel.request_train()

    def _describe_next_run(self) -> None:
        self.empty_state.describe_run(self.training_panel.describe_run())

    @Slot(object, object)
    def start_training(self, model_config: ModelConfig, train_config: TrainConfig) -> None:
        """Train a new model. Checks come first; "save first?" is asked only once the run can start."""
        if self.is_training:
            return
        self.training.data_dir = self.data_dir
        self.training.dataset_limit = self.dataset_limit
        self.training.start(model_config, train_config)

    def toggle_pause(self) -> None:
        self.training.toggle_pause()

    def stop_training(self) -> None:
        self.training.stop()

    def _training_state_changed(self, state: TrainingState) -> None:
        self.empty_state.set_training(state is not TrainingState.IDLE)
        self.update_actions()

    def _run_started(self, _train_config: TrainConfig) -> None:
        self.explore.timeline_bar.leave_replay()  # training shows the live view
        run = self.training.run
        # an autoencoder's KL, beta and dimension plots stay blank from its first step, not its first epoch
        self.loss_plot.clear(has_bound=run is None or run.worker.model_config.kind != "ae")
        self.trainingStarted.emit()

    def _steps_reported(self, reports) -> None:
        run = self.training.run
        if run is None:
            return
        epochs, last = run.train_config.epochs, reports[-1]
        self.loss_plot.set_planned_steps(epochs * last.steps_per_epoch)
        self.loss_plot.append_steps(reports)
        self.training_panel.show_step(last, epochs)

    def _run_ended(self, outcome: RunOutcome) -> None:
        self.loss_plot.finish()
        epochs = outcome.record.epochs_done if outcome.record is not None else 0
        seconds = f"{outcome.train_seconds:.0f} s"
        detail = (f"{epochs} epoch{'s' if epochs != 1 else ''} in {seconds} · "
                  f"{outcome.samples_per_second:,.0f} samples/s")
        labels = {"finished": "Done", "cancelled": "Stopped", "diverged": "Diverged"}
        self.training_panel.show_outcome(labels.get(outcome.status, str(outcome.status)),
                                         outcome.status == "finished", detail)
        self.update_actions()
        if outcome.status == "diverged":
            QMessageBox.warning(self, "Training diverged", outcome.message)
        self.trainingFinished.emit(outcome)

    def _run_failed(self, message: str) -> None:
        self.training_panel.show_outcome("Failed", False)
        self.show_error("Training failed", message)
        self.trainingFinished.emit(None)

    # ----- settings and judges -----
    def _restore_settings(self) -> None:
        if not self.remember_settings:
            return
        self.recent_files, unreadable = restore_window_settings(self.settings, self, self.training_panel)
        if unreadable:
            message = f"Some saved settings could not be read ({', '.join(unreadable)}); using the defaults for those."
            QTimer.singleShot(0, lambda: self.statusBar().showMessage(message, 15_000))

    def save_settings(self) -> None:
        if self.remember_settings:
            save_window_settings(self.settings, self, self.training_panel, self.recent_files)

    def _watch_judges(self) -> None:
        """Say in the status bar when a judge is trained for the open model's dataset, and how far along."""
        judges = judge_provider()
        judges.data_dir = self.data_dir
        judges.trainingStarted.connect(self._judge_training_progressed)
        judges.progressed.connect(self._judge_training_progressed)
        judges.ready.connect(self._judge_ready)

    def _judge_training_progressed(self, dataset: str, _share: float = 0.0) -> None:
        self.statusBar().showMessage(judge_provider().training_note(dataset), STATUS_MS)

    def _judge_ready(self, dataset: str) -> None:
        from core.data import dataset_title  # the engine is imported by the time a judge is ready

        judge, why_not = judge_provider().judge_for(dataset)
        if judge is None:
            self.show_status(why_not)
            return
        accuracy = f": {judge.test_accuracy:.1%} of its test images read right" if judge.test_accuracy is not None else ""
        self.show_status(f"The judge for {dataset_title(dataset)} is ready{accuracy}")

    # ----- closing -----
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.is_ready:  # closed while starting: nothing to ask about or wait for
            event.accept()
            return
        if self._closing:  # a second close while the first waits for training or an export to end
            event.ignore()
            return
        self._closing = True
        try:
            accepted = self._confirm_close() and self.explore.confirm_close_during_export(self)
        finally:
            self._closing = False
        if not accepted:
            event.ignore()  # nothing has changed: training and exports, if any, go on
            return
        self.training.stop_and_wait()
        self.model_data.wait()
        judge_provider().cancel()  # a judge half trained is trained again when next needed
        judge_provider().wait()
        self.save_settings()
        event.accept()

    def _confirm_close(self) -> bool:
        """Ask before closing loses anything; Cancel leaves everything as it was, training included."""
        if not self.is_training or self.training.run_has_ended:  # closeEvent waits for the winding-down thread
            return self.files.confirm_discard()
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self, APP_NAME, "Training is still running. Stop it and save the model before closing?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
        if answer == buttons.Cancel:
            return False
        self.show_status("Stopping training…")
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.training.stop_and_wait()  # the session keeps what the run learnt
        finally:
            QApplication.restoreOverrideCursor()
        if answer == buttons.Save and self.session.has_unsaved_work:
            return self.files.save_model()
        return True
