"""One owner for training in the window: ``Training`` starts, pauses, resumes and stops a run, and
announces what happens. The panel, the loss plot and the status bar observe its signals; the
session (and through it the latent view) receives each epoch's run record.

A start is checked before anything changes: the dataset is loaded (in the background, once) and
``core.training.check_fits`` runs before the "save first?" question, so a start that fails leaves
the model, the plot and the form as they were.

The run itself is ``core.training.Trainer`` on a QThread (gui/training_worker.py's ``TrainingWorker``),
which speaks only in signals and hands over copies: coalesced step reports, each epoch's ``RunRecord``
with the test split already encoded, and a ``RunOutcome`` at the end.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from core.config import ModelConfig, TrainConfig
from core.data import DatasetSplits, dataset_title, load_dataset
from core.device import describe_device
from core.errors import ConfigError, DatasetMissing, LatentMorphError
from core.models import LatentModel
from core.optimiser import import_optimiser_stack
from core.points import EncodedPoints
from core.run_record import RunRecord
from core.training import check_fits
from core.training_control import TrainingControl
from core.training_reports import EpochReport, RunStatus, StepReport
from gui.judges import judge_provider
from gui.session import ModelSession
from gui.training_form import DATASET_CHOICES
from gui.training_worker import RunOutcome, TrainingWorker, training_threads
from gui.workers import BackgroundTask, start_detached

# an epoch's new points reach the views this long after its record, in a later turn of the event loop:
# the record's handlers (loss plot, panels) and the scatter's redraw are each a slice of the GUI thread
# of their own, with paints and timers between them, rather than one slice of up to 100 ms. Not 0: Qt
# runs a 0 ms single shot as a posted event, before timers that are already late.
POINTS_AFTER_RECORD_MS = 1
_optimiser_import_started = False  # a window has started core.optimiser.import_optimiser_stack


class TrainingState(enum.Enum):
    IDLE = "idle"
    LOADING = "loading"  # the dataset is being read; nothing has changed yet
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"  # a stop was asked for; the run ends at its next step

    @property
    def busy(self) -> bool:
        return self is not TrainingState.IDLE


@dataclass
class _Run:
    worker: TrainingWorker
    thread: QThread
    control: TrainingControl
    train_config: TrainConfig
    shown: bool = False  # the session shows this run's model (from its first epoch on)
    last_report: StepReport | None = None
    pending_points: EncodedPoints | None = None  # an epoch's points, shown on the next turn of the event loop
    ended: bool = False  # its outcome is shown; only its thread's winding down is left


def missing_dataset_message(error: DatasetMissing) -> str:
    """The window's words for a dataset it could neither find nor download: the form's choices, where the
    engine's message named the command line's flags (--dataset mnist-sample, folder:PATH)."""
    sample = {name: label for label, name in DATASET_CHOICES}["mnist-sample"]
    return (f"{dataset_title(error.name)} is not in {error.root} and could not be downloaded ({error.reason}). "
            f"Choose “{sample}” under Dataset, or “Folder…” to train on your own images. "
            "For a copy already on disk, start Latent Morph with --data-dir pointing at its folder.")


class Training(QObject):
    """Starts runs one at a time, pauses, resumes and stops them, and announces what happens.
    Never blocks the GUI thread except in ``stop_and_wait`` (for closing the window)."""

    stateChanged = Signal(object)  # TrainingState
    started = Signal(object)  # TrainConfig: the run has begun; its curves start from nothing
    stepsReported = Signal(object)  # tuple[StepReport, ...]
    epochFinished = Signal(object)  # EpochReport (the session already holds its record and points)
    ended = Signal(object)  # RunOutcome, after the session took what it keeps
    refused = Signal(str)  # a start that could not begin (bad settings for the data, no data): nothing changed
    failed = Signal(str)  # a run that failed while training
    status = Signal(str)  # a line for the status bar

    def __init__(self, session: ModelSession, confirm_replace: Callable[[], bool] = lambda: True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.confirm_replace = confirm_replace  # asked once a start is known to work, before anything changes
        self.data_dir: str | None = None
        self.dataset_limit: int | None = None  # a hook for quick runs: samples kept per split
        self.dataset: DatasetSplits | None = None  # the last dataset loaded, reused by the next run
        self.state = TrainingState.IDLE
        self.step_delay = 0.0  # slow motion, seconds after each step; kept for the next run too
        self.run: _Run | None = None
        self._loading: BackgroundTask | None = None
        # the imports of the first optimiser, now, while the user looks at the new window, not on the
        # first run's thread as it starts (where they held the GIL the GUI thread needed)
        global _optimiser_import_started
        if not _optimiser_import_started:
            _optimiser_import_started = True  # once a process: windows made in a row start one import
            start_detached(lambda _report: import_optimiser_stack())

    # ----- state -----
    @property
    def is_busy(self) -> bool:
        return self.state.busy

    @property
    def run_has_ended(self) -> bool:
        """True between a run's outcome arriving and its thread finishing (milliseconds): busy, but with
        nothing left to stop or lose."""
        return self.run is not None and self.run.ended

    @property
    def paused(self) -> bool:
        return self.state is TrainingState.PAUSED

    def _set_state(self, state: TrainingState) -> None:
        if state is not self.state:
            self.state = state
            self.stateChanged.emit(state)

    # ----- commands -----
    def start(self, model_config: ModelConfig, train_config: TrainConfig) -> None:
        """Load the dataset if needed, check that the settings fit it, ask to replace unsaved work,
        then train. Any refusal is announced through ``failed`` and changes nothing."""
        if self.is_busy:
            return
        if self.dataset is not None and self._fits(self.dataset, train_config):
            self._begin(model_config, train_config, self.dataset)
            return
        self._set_state(TrainingState.LOADING)
        self.status.emit(f"Loading {dataset_title(train_config.dataset)}…")
        task = BackgroundTask(lambda report: load_dataset(train_config.dataset, self.data_dir,
                                                          val_fraction=train_config.val_fraction,
                                                          seed=train_config.seed), self)
        task.succeeded.connect(lambda data: self._loaded(data, model_config, train_config))
        task.failed.connect(self._load_failed)
        task.finished.connect(task.deleteLater)
        self._loading = task
        task.start()

    @staticmethod
    def _fits(data: DatasetSplits, config: TrainConfig) -> bool:
        # the validation split is cut with the seed, so another seed needs another load
        return data.fits(config.dataset, config.seed, config.val_fraction)

    def _loaded(self, data: DatasetSplits, model_config: ModelConfig, train_config: TrainConfig) -> None:
        if self.state is not TrainingState.LOADING:
            return  # stopped while loading
        self._loading = None
        self.dataset = data  # one dataset kept in memory at a time
        self._set_state(TrainingState.IDLE)
        self._begin(model_config, train_config, data)

    def _load_failed(self, error: Exception) -> None:
        if self.state is not TrainingState.LOADING:
            return
        self._loading = None
        self._set_state(TrainingState.IDLE)
        if isinstance(error, DatasetMissing):
            message = missing_dataset_message(error)
        else:
            message = str(error) if isinstance(error, LatentMorphError) else f"{type(error).__name__}: {error}"
        self._refuse(message)

    def _refuse(self, message: str) -> None:
        self.status.emit(f"Training not started: {message}")
        self.refused.emit(message)

    def _begin(self, model_config: ModelConfig, train_config: TrainConfig, data: DatasetSplits) -> None:
        data = data.head(self.dataset_limit)
        model_config = replace(model_config, num_classes=data.num_classes, image_shape=data.image_shape)
        try:
            check_fits(model_config, train_config, data)
            device = describe_device(train_config.device, threads=training_threads())  # ConfigError if absent
        except ConfigError as exc:
            self._refuse(str(exc))
            return
        if not self.confirm_replace():
            self.status.emit("Training not started")
            return
        judge_provider().load_ahead(data.name)  # read from the first epoch on, not loaded then
        control = TrainingControl()
        control.step_delay = self.step_delay
        worker = TrainingWorker(model_config, train_config, data, control)
        thread = QThread()
        thread.setObjectName("training")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # direct: quit() is thread-safe, and a call queued to the GUI thread would deadlock a blocking wait()
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.stepsReported.connect(self._on_steps)
        worker.epochFinished.connect(self._on_epoch)
        worker.livePoints.connect(self._on_live_points)
        worker.ended.connect(self._on_ended)
        worker.failed.connect(self._on_failed)
        worker.note.connect(self.status)
        thread.finished.connect(self._on_thread_finished)
        self.run = _Run(worker, thread, control, train_config)
        self._set_state(TrainingState.RUNNING)
        self.started.emit(train_config)
        self.status.emit(f"Training on {dataset_title(train_config.dataset)} — {device}…")
        thread.start()

    def pause(self) -> None:
        if self.state is TrainingState.RUNNING and self.run is not None:
            self.run.control.pause()
            self._set_state(TrainingState.PAUSED)
            self.status.emit("Training paused")

    def resume(self) -> None:
        if self.state is TrainingState.PAUSED and self.run is not None:
            self.run.control.resume()
            self._set_state(TrainingState.RUNNING)
            self.status.emit("Training resumed")

    def toggle_pause(self) -> None:
        (self.resume if self.paused else self.pause)()

    def step_once(self) -> None:
        """While paused: exactly one optimiser step, then hold."""
        if self.state is TrainingState.PAUSED and self.run is not None:
            self.run.control.advance(1)

    def finish_epoch(self) -> None:
        """While paused: the steps left in this epoch, then hold."""
        run = self.run
        if self.state is TrainingState.PAUSED and run is not None:
            last = run.last_report
            left = last.steps_per_epoch - last.step if last is not None else 0
            run.control.advance(left or (last.steps_per_epoch if last is not None else 1))

    def set_step_delay(self, seconds: float) -> None:
        """Slow motion: wait this long after each optimiser step (0 for full speed), now and in later runs."""
        self.step_delay = max(0.0, float(seconds))
        if self.run is not None:
            self.run.control.step_delay = self.step_delay

    def stop(self) -> None:
        if self.state is TrainingState.LOADING:
            self._loading = None  # its result will find the state IDLE and be dropped
            self._set_state(TrainingState.IDLE)
            self.status.emit("Training not started")
        elif self.state in (TrainingState.RUNNING, TrainingState.PAUSED) and self.run is not None:
            self.run.control.request_stop()
            self._set_state(TrainingState.STOPPING)
            self.status.emit("Stopping after this step…")

    def stop_and_wait(self) -> None:
        """Stop, block until the thread has ended, and keep what the run learnt (for closing the window)."""
        if self.state is TrainingState.LOADING:
            self.stop()
        run = self.run
        if run is None:
            return
        run.control.request_stop()
        run.thread.wait()
        for signal in (run.worker.stepsReported, run.worker.epochFinished, run.worker.livePoints, run.worker.ended,
                       run.worker.failed, run.worker.note):
            signal.disconnect()  # events still queued for this run must not arrive after it is settled
        if run.worker.outcome is not None and not run.ended:
            self._apply(run, run.worker.outcome)
        self._finish(run)

    # ----- what the worker reports (queued to the GUI thread) -----
    def _current(self) -> _Run | None:
        """The run whose worker sent the signal being handled, if it is still the current run."""
        run = self.run
        return run if run is not None and self.sender() is run.worker else None

    @Slot(object)
    def _on_steps(self, reports: tuple[StepReport, ...]) -> None:
        run = self._current()
        if run is not None:
            run.last_report = reports[-1]
            self.stepsReported.emit(reports)

    @Slot(object)
    def _on_live_points(self, points: EncodedPoints) -> None:
        run = self._current()
        if run is not None and run.shown:  # the scatter follows each slow step once a model is on screen
            self.session.set_points(points)

    @Slot(object, object, object)
    def _on_epoch(self, report: EpochReport, points: EncodedPoints | None, model: LatentModel | None) -> None:
        run = self._current()
        if run is None:
            return
        self._show(run, report.record, points, later=True, model=model)
        self.epochFinished.emit(report)

    def _show(self, run: _Run, record: RunRecord, points: EncodedPoints | None, later: bool = False,
              model: LatentModel | None = None) -> None:
        """Hand the session a record (and ``model``, built from it, if there is one) and its points;
        ``later``: the points after POINTS_AFTER_RECORD_MS."""
        if run.shown:  # an epoch whose points were skipped (fast epochs) updates the record quietly
            self.session.update_record(record, notify=points is not None)
        else:
            self.session.set_record(record, data=self.dataset, dirty=True, model=model)
            run.shown = True
        if points is None or points is self.session.points:
            return  # the finished run's points are often its last epoch's: nothing new to draw
        run.pending_points = points if later else None
        if later:
            QTimer.singleShot(POINTS_AFTER_RECORD_MS, self, partial(self._show_pending_points, run,
                                                                    self.session.model))
        else:
            self.session.set_points(points)

    def _show_pending_points(self, run: _Run, model: LatentModel | None) -> None:
        """Show the points an epoch left for later, unless newer ones came first or the model changed."""
        points, run.pending_points = run.pending_points, None
        if points is not None and self.session.model is model and self.run in (run, None):
            self.session.set_points(points)

    @Slot(object)
    def _on_ended(self, outcome: RunOutcome) -> None:
        run = self._current()
        if run is not None:
            self._apply(run, outcome)

    def _apply(self, run: _Run, outcome: RunOutcome) -> None:
        run.ended = True
        if outcome.record is not None:
            self._show(run, outcome.record, outcome.points)
        epochs = outcome.record.epochs_done if outcome.record is not None else 0
        texts = {RunStatus.FINISHED: f"Training finished: {outcome.message} in {outcome.train_seconds:.0f} s "
                                     f"({outcome.samples_per_second:,.0f} samples/s). Save the model to keep it.",
                 RunStatus.CANCELLED: f"Training {outcome.message}. The model keeps what it had learnt "
                                      f"({epochs} epoch{'s' if epochs != 1 else ''} done)."}
        self.status.emit(texts.get(outcome.status, outcome.message))
        self.ended.emit(outcome)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._current() is not None:
            self.status.emit(message)
            self.failed.emit(message)

    @Slot()
    def _on_thread_finished(self) -> None:
        run = self.run
        if run is not None and self.sender() is run.thread:
            self._finish(run)

    def _finish(self, run: _Run) -> None:
        if self.run is not run:
            return
        self.run = None
        run.worker.deleteLater()
        run.thread.deleteLater()
        self._set_state(TrainingState.IDLE)
