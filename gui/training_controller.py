"""Glue between one training run and the views: worker signals in, session / panel / plot updates out.

The first epoch of a run gives the session a new model (``set_model``); later epochs only new weights
(``set_weights``), so the explore views keep their state while the clusters form.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from core.config import ModelConfig, TrainConfig
from core.data import DatasetSplits
from gui.loss_plot import LossPlot
from gui.session import ModelSession
from gui.training_panel import TrainingPanel
from gui.training_worker import TrainingOutcome, TrainingRun, TrainingWorker

OUTCOME_LABELS = {"finished": "Done", "cancelled": "Stopped", "diverged": "Diverged"}


class TrainingController(QObject):
    """Starts runs one at a time and applies what they report. Never blocks except in ``shutdown``."""

    runStarted = Signal()
    runEnded = Signal()  # the thread has finished; a new run may start
    outcomeApplied = Signal(object)  # TrainingOutcome, or None when the run failed
    status = Signal(str)  # a line for the status bar
    failed = Signal(str)  # a message worth a dialog
    diverged = Signal(str)

    def __init__(self, session: ModelSession, panel: TrainingPanel, plot: LossPlot,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.panel = panel
        self.plot = plot
        self.data_dir: str | None = None
        self.dataset_limit: int | None = None  # a hook for quick runs: samples kept per split
        self.run: TrainingRun | None = None
        self.dataset: DatasetSplits | None = None  # the last dataset loaded, reused by the next run
        self._dataset_seed = 0
        self._has_model = False
        self._history: dict = {}
        self._outcome_applied = False
        self._epochs = 1

    @property
    def is_running(self) -> bool:
        return self.run is not None

    @property
    def paused(self) -> bool:
        return self.run is not None and self.run.worker.paused

    def start(self, model_config: ModelConfig, train_config: TrainConfig) -> None:
        if self.run is not None:
            return
        cached = self.dataset if self.dataset is not None and self._fits(self.dataset, train_config) else None
        worker = TrainingWorker(model_config, train_config, data_dir=self.data_dir, data=cached,
                                dataset_limit=self.dataset_limit)
        worker.datasetLoaded.connect(self._on_dataset_loaded)
        worker.stepReported.connect(self._on_steps)
        worker.historyUpdated.connect(self._on_history)
        worker.epochFinished.connect(self._on_epoch)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self.run = TrainingRun(worker, self)
        self.run.thread.finished.connect(self._on_thread_finished)
        self._has_model, self._history, self._outcome_applied = False, {}, False
        self._epochs = train_config.epochs
        self.plot.clear()
        self.panel.set_running(True)
        self.status.emit(f"Training on {train_config.dataset}…")
        self.run.start()
        self.runStarted.emit()

    def _fits(self, data: DatasetSplits, config: TrainConfig) -> bool:
        # the validation split is cut with the seed, so another seed needs another load
        return data.name == config.dataset and self._dataset_seed == config.seed

    def pause(self) -> None:
        if self.run is not None:
            self.run.worker.pause()
            self.panel.set_paused(True)
            self.status.emit("Training paused")

    def resume(self) -> None:
        if self.run is not None:
            self.run.worker.resume()
            self.panel.set_paused(False)
            self.status.emit("Training resumed")

    def stop(self) -> None:
        if self.run is not None:
            self.run.worker.stop()
            self.status.emit("Stopping after this step…")

    def shutdown(self) -> None:
        """Stop, wait for the thread to end, and keep what the run had learnt (for closing the window)."""
        run = self.run
        if run is None:
            return
        run.stop_and_wait()
        if run.worker.outcome is not None and not self._outcome_applied:
            self._apply(run.worker.outcome)
        self._on_thread_finished()

    @Slot(object)
    def _on_dataset_loaded(self, data: DatasetSplits) -> None:
        self.dataset = data  # one dataset kept in memory at a time
        self._dataset_seed = self.run.worker.train_config.seed if self.run is not None else 0

    @Slot(object)
    def _on_steps(self, reports) -> None:
        self.plot.append_steps(reports)
        self.panel.show_step(reports[-1], self._epochs)

    @Slot(object)
    def _on_history(self, history: dict) -> None:
        self._history = history

    @Slot(object, object)
    def _on_epoch(self, report, points) -> None:
        if self.run is None or self._outcome_applied:
            return
        worker = self.run.worker
        if not self._has_model:
            self.session.set_data(self.dataset)
            self.session.set_model(worker.model_config, report.weights, train_config=worker.train_config,
                                   history=self._history, class_names=self._class_names(),
                                   dataset_name=worker.train_config.dataset, dirty=True)
            self._has_model = True
        else:
            self.session.set_weights(report.weights, self._history)
        self.session.set_points(points)
        self.plot.add_epoch(report)
        self.panel.show_epoch(report)

    def _class_names(self) -> tuple[str, ...]:
        return tuple(self.dataset.class_names) if self.dataset is not None else ()

    @Slot(object)
    def _on_finished(self, outcome: TrainingOutcome) -> None:
        if not self._outcome_applied:
            self._apply(outcome)

    def _apply(self, outcome: TrainingOutcome) -> None:
        self._outcome_applied = True
        if outcome.history["steps"]["step"]:
            if self._has_model:
                self.session.set_weights(outcome.weights, outcome.history)
            else:
                self.session.set_model(outcome.model_config, outcome.weights, train_config=outcome.train_config,
                                       history=outcome.history, class_names=outcome.class_names,
                                       dataset_name=outcome.dataset_name, dirty=True)
                self._has_model = True
            if outcome.points is not None:
                self.session.set_points(outcome.points)
        texts = {"finished": f"Training finished: {outcome.message} in {outcome.train_seconds:.0f} s "
                             f"({outcome.samples_per_second:,.0f} samples/s). Save the model to keep it.",
                 "cancelled": f"Training {outcome.message}. The model keeps the weights it had learnt."}
        self.status.emit(texts.get(outcome.status, outcome.message))
        epochs = len(outcome.history.get("epochs", []))
        detail = (f"{epochs} epoch{'s' if epochs != 1 else ''} in {outcome.train_seconds:.0f} s · "
                  f"{outcome.samples_per_second:,.0f} samples/s")
        self.panel.show_outcome(OUTCOME_LABELS.get(outcome.status, outcome.status), outcome.status == "finished",
                                detail)
        if outcome.status == "diverged":
            self.diverged.emit(outcome.message)
        self.outcomeApplied.emit(outcome)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._outcome_applied = True
        self.panel.show_outcome("Failed", False)
        self.status.emit(message)
        self.failed.emit(message)
        self.outcomeApplied.emit(None)

    @Slot()
    def _on_thread_finished(self) -> None:
        run, self.run = self.run, None
        if run is None:
            return
        run.deleteLater()
        self.panel.set_running(False)
        self.runEnded.emit()
