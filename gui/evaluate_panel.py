"""The Evaluate panel: ``python main.py evaluate`` for the open model, in a dialog.

It runs core.comparison.evaluation_fields (the very figures the command prints) on a worker thread,
with progress and Cancel, and shows them one per row with a line on what each means and its unit.
The model is copied on the GUI thread first: training may go on changing the session's.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QApplication, QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from core.comparison import evaluation_fields, test_split
from core.data import dataset_title
from core.errors import LatentMorphError
from gui.judges import judge_provider
from gui.metrics_table import METRICS, format_metric, header_tip, read_only_table
from gui.session import ModelSession
from gui.workers import BackgroundTask, start_detached

IW_SAMPLES = 100  # importance samples per test digit (evaluate's own default, 1000, takes minutes on a CPU)
PRIOR_SAMPLES = 1000  # prior draws the judge reads, as evaluate's default


class EvaluatePanel(QDialog):
    """Evaluates ``session``'s model on its test split when ``evaluate`` is called (or Evaluate is
    pressed). ``finished_evaluation(bool)``: the table shows a new evaluation (True) or the run was
    cancelled or failed (False)."""

    finished_evaluation = Signal(bool)

    def __init__(self, session: ModelSession, data_dir: str | None = None, iw_samples: int = IW_SAMPLES,
                 prior_samples: int = PRIOR_SAMPLES, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Evaluate model — Latent Morph")
        self.session = session
        self.data_dir = data_dir
        self.fields: dict[str, Any] | None = None
        self.task: BackgroundTask | None = None

        self.title = QLabel()
        self.title.setWordWrap(True)
        self.iw_spin = QSpinBox()
        self.iw_spin.setRange(0, 100_000)
        self.iw_spin.setValue(iw_samples)
        self.iw_spin.setPrefix("IW samples ")
        self.iw_spin.setToolTip("Importance samples per test digit for −log p(x); 0 skips it. Time grows with it.")
        self.prior_spin = QSpinBox()
        self.prior_spin.setRange(1, 10_000)
        self.prior_spin.setValue(prior_samples)
        self.prior_spin.setPrefix("prior draws ")
        self.prior_spin.setToolTip("Images decoded from z ~ N(0, I) for the digit judge to read")
        self.evaluate_button = QPushButton("Evaluate")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.status = QLabel("Press Evaluate to measure the model on its test digits.")
        self.status.setWordWrap(True)
        self.table = read_only_table(len(METRICS), 3)
        self.table.setHorizontalHeaderLabels(["Figure", "Value", "What it means"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(True)
        for row, metric in enumerate(METRICS):
            unit = f" ({metric.unit})" if metric.unit == "nats" else ""
            self.table.setItem(row, 0, QTableWidgetItem(metric.header + unit))
            self.table.setItem(row, 1, QTableWidgetItem(""))
            meaning = QTableWidgetItem(header_tip(metric))
            meaning.setToolTip(header_tip(metric))
            self.table.setItem(row, 2, meaning)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.hide()

        controls = QHBoxLayout()
        controls.addWidget(self.iw_spin)
        controls.addWidget(self.prior_spin)
        controls.addStretch(1)
        controls.addWidget(self.evaluate_button)
        controls.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(controls)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        self.resize(900, 560)

        self.evaluate_button.clicked.connect(self.evaluate)
        self.cancel_button.clicked.connect(self.cancel)
        session.modelChanged.connect(self._model_changed)
        judge_provider().ready.connect(self._judge_ready)
        app = QApplication.instance()
        if app is not None:  # the app quitting with an evaluation running: stop it rather than wait for it
            app.aboutToQuit.connect(self.cancel)
        self._model_changed()

    def _model_changed(self) -> None:
        """Another model: the figures shown were for the old one."""
        self.cancel()
        self.fields = None
        self._fill()
        record = self.session.record
        self.evaluate_button.setEnabled(record is not None)
        if record is None:
            self.title.setText("No model: train or open one first.")
            return
        kind = record.model_config.kind
        self.title.setText(f"<b>{self.session.display_name}</b>: {kind}, {record.model_config.latent_dim}-D latent, "
                           f"trained on {record.dataset or 'an unnamed dataset'} ({record.epochs_done} epochs). "
                           "Figures on its test digits.")

    def evaluate(self) -> None:
        """Start evaluating the session's model as it is now (a copy) on a worker thread."""
        record, model = self.session.record, self.session.model
        if record is None or model is None or self.task is not None:
            return
        model_copy, data, data_dir = copy.deepcopy(model), self.session.data, self.data_dir
        judge_provider().judge_for(record.dataset, data)  # a dataset with no judge yet gets one trained
        iw_samples, samples = self.iw_spin.value(), self.prior_spin.value()

        def work(report) -> dict[str, Any]:
            report(0.0)
            split = data if data is not None and data.name == (record.dataset or data.name) else \
                test_split(record, data_dir)
            return evaluation_fields(model_copy, split, iw_samples, samples, progress=report, data_dir=data_dir)

        task = start_detached(work)
        task.progressed.connect(lambda fraction, me=task: me is self.task and self.progress.setValue(
            round(1000 * fraction)))
        task.succeeded.connect(lambda fields, me=task: me is self.task and self._show(fields))
        task.failed.connect(lambda error, me=task: me is self.task and self._failed(error))
        task.cancelled.connect(lambda me=task: me is self.task and self._ended(False, "Cancelled; nothing changed."))
        self.task = task
        self.progress.setValue(0)
        self.evaluate_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(f"Evaluating ({iw_samples} IW samples per test digit, {samples} prior draws)…")

    def cancel(self) -> None:
        """Stop the running evaluation (it ends at its next progress report) and drop its result."""
        if self.task is not None:
            self.task.cancel()
            self._ended(False, "Cancelled; nothing changed.")

    def _ended(self, success: bool, text: str) -> None:
        self.task = None
        self.status.setText(text)
        self.evaluate_button.setEnabled(self.session.record is not None)
        self.cancel_button.setEnabled(False)
        self.finished_evaluation.emit(success)

    def _failed(self, error: Exception) -> None:
        text = str(error) if isinstance(error, LatentMorphError) else f"{type(error).__name__}: {error}"
        self._ended(False, f"Evaluation failed: {text}")

    def _show(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self._fill()
        self.progress.setValue(1000)
        self._ended(True, f"Evaluated on {dataset_title(fields['dataset'])}'s test split.")

    def _fill(self) -> None:
        fields = self.fields or {}
        for row, metric in enumerate(METRICS):
            item = QTableWidgetItem(format_metric(metric, fields) if self.fields is not None else "")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 1, item)
        self.table.resizeRowsToContents()
        note = fields.get("judge_note")
        dataset = fields.get("dataset", "")
        if note and judge_provider().is_training(dataset):
            note = f"{judge_provider().waiting_note(dataset)} (press Evaluate again then)"
        self.note.setText(f"No judge figures: {note}" if note else "")
        self.note.setVisible(bool(note))

    def _judge_ready(self, dataset: str) -> None:
        """The judge the figures lacked has been trained: say how to get them."""
        if self.fields is not None and "judge_note" in self.fields and self.fields.get("dataset") == dataset:
            judge, why_not = judge_provider().judge_for(dataset)
            self.note.setText(f"The judge for {dataset_title(dataset)} is ready: press Evaluate again for its figures."
                              if judge is not None else f"No judge figures: {why_not}")

    def value(self, field: str) -> str:
        """The text shown for a figure (its ``Metric.field``), for tests and screen readers."""
        row = next(i for i, metric in enumerate(METRICS) if metric.field == field)
        return self.table.item(row, 1).text()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancel()
        super().closeEvent(event)
