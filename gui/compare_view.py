"""The Compare view: 2 to 4 model files side by side in a window of their own.

Each model gets a column (gui/compare_column.py): its scatter of the same test digits, the same morph
(the same two test digits, decoded by each model) and the same prior draws (one seed). Clicking a digit
in any scatter selects it in all of them: the morph runs from the previously selected digit to it.
Below, one metrics table, a row per model, with the very figures ``python main.py compare`` prints
(core.comparison.comparison_row).

Loading, encoding and evaluating run on worker threads (gui.workers.start_detached), with progress and a
Cancel button; models of other images, classes or datasets are refused with a message naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QMainWindow, QProgressBar, QPushButton, QSpinBox,
                               QSplitter, QVBoxLayout, QWidget)

from core.comparison import Comparison, comparison_row, open_comparison
from core.data import dataset_title
from core.errors import LatentMorphError
from gui.compare_column import ModelColumn
from gui.screen_fit import default_window_size
from gui.metrics_table import fill_model_rows, read_only_table
from gui.workers import start_detached
from gui.workers import BackgroundTask

IW_SAMPLES = 100  # importance samples per test digit: ~10-20 s a 2-D model on full MNIST's 10,000
PRIOR_SAMPLES = 1000  # prior draws the judge reads per model (as compare's default)
DEFAULT_MORPH = (1, 7)  # the digits the first morph runs between, as in the README's example
ERROR_STYLE = "color: #b00020;"


def first_of_classes(labels: np.ndarray, classes: tuple[int, int]) -> tuple[int, int]:
    """The rows of the first test digit of each class (rows 0 and 1 when a class is missing)."""
    rows = []
    for fallback, label in enumerate(classes):
        matches = np.flatnonzero(labels == label)
        rows.append(int(matches[0]) if len(matches) else min(fallback, len(labels) - 1))
    return rows[0], rows[1]


class CompareWindow(QMainWindow):
    """Opens ``paths`` at once, then evaluates them (unless ``evaluate_on_open`` is False).
    ``loaded(bool)``: the columns are shown (True) or the models were refused (False, ``message``
    says why); ``evaluated(bool)``: the metrics table is full (True) or the evaluation was cancelled
    or failed (False)."""

    loaded = Signal(bool)
    evaluated = Signal(bool)

    def __init__(self, paths: list[str | Path], data_dir: str | None = None, iw_samples: int = IW_SAMPLES,
                 prior_samples: int = PRIOR_SAMPLES, evaluate_on_open: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowTitle(f"Compare {len(paths)} models — Latent Morph")
        self.paths = [Path(path) for path in paths]
        self.data_dir = data_dir
        self.prior_samples = prior_samples
        self.evaluate_on_open = evaluate_on_open  # else the table waits for the Evaluate button
        self.comparison: Comparison | None = None
        self.columns: list[ModelColumn] = []
        self.rows: list[dict[str, Any] | None] = []
        self.selection: tuple[int, int] | None = None
        self.task: BackgroundTask | None = None

        self.status = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(220)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop loading or evaluating; what is shown stays")
        self.iw_spin = QSpinBox()
        self.iw_spin.setRange(0, 5000)
        self.iw_spin.setValue(iw_samples)
        self.iw_spin.setPrefix("IW samples ")
        self.iw_spin.setToolTip("Importance samples per test digit for the IW bound on −log p(x); 0 skips it")
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setToolTip("Evaluate every model again on the same test digits and prior draws")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.hide()
        self.judge_note = QLabel()
        self.judge_note.setWordWrap(True)
        self.judge_note.hide()

        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(self.progress)
        bar.addWidget(self.cancel_button)
        bar.addSpacing(12)
        bar.addWidget(self.iw_spin)
        bar.addWidget(self.evaluate_button)
        self.columns_box = QWidget()
        self.columns_layout = QHBoxLayout(self.columns_box)
        self.columns_layout.setContentsMargins(0, 0, 0, 0)
        self.table = read_only_table(0, 0)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(QLabel("<b>Metrics</b> on the same test digits and prior draws "
                                      "(hover a header for what it means)"))
        table_layout.addWidget(self.table, 1)
        table_layout.addWidget(self.judge_note)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.columns_box)
        splitter.addWidget(table_box)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([760, 180])  # the scatters first: the table needs a row per model, not half the window
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        # a column per model, within the screen: 960 px ran off a 1366 x 768 laptop screen's bottom edge
        largest = (min(1500, 380 * len(paths) + 60), 960)
        self.resize(*default_window_size(self.screen().availableGeometry().size(), largest))

        self.cancel_button.clicked.connect(self.cancel)
        self.evaluate_button.clicked.connect(self.evaluate)
        app = QApplication.instance()
        if app is not None:  # the app quitting with this window open: stop the work, do not wait for it to end
            app.aboutToQuit.connect(self.cancel)
        self._load()

    # ----- tasks -----
    def _busy(self, text: str) -> None:
        self.status.setText(text)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.setEnabled(True)
        self.evaluate_button.setEnabled(False)

    def _idle(self, text: str) -> None:
        self.status.setText(text)
        self.progress.hide()
        self.cancel_button.setEnabled(False)
        self.evaluate_button.setEnabled(self.comparison is not None)
        self.task = None

    def _start(self, work, succeeded, text: str) -> None:
        self._busy(text)
        task = start_detached(work)
        task.progressed.connect(lambda fraction, me=task: self._progressed(me, fraction))
        task.succeeded.connect(lambda result, me=task: me is self.task and succeeded(result))
        task.failed.connect(lambda error, me=task: me is self.task and self._failed(error))
        task.cancelled.connect(lambda me=task: me is self.task and self._cancelled())
        self.task = task

    def _progressed(self, task: BackgroundTask, fraction: float) -> None:
        if task is self.task:
            self.progress.setValue(round(1000 * fraction))

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status.setText("Cancelling…")

    def _cancelled(self) -> None:
        done = self.comparison is not None
        self._idle("Evaluation cancelled; press Evaluate to run it again" if done else "Loading cancelled")
        (self.evaluated if done else self.loaded).emit(False)

    def _failed(self, error: Exception) -> None:
        text = str(error) if isinstance(error, LatentMorphError) else f"{type(error).__name__}: {error}"
        loading = self.comparison is None
        self.message.setText(("These models cannot be compared: " if loading else "Evaluation failed: ") + text)
        self.message.show()
        self._idle("Refused" if loading else "Evaluation failed")
        (self.loaded if loading else self.evaluated).emit(False)

    # ----- loading -----
    def _load(self) -> None:
        paths, data_dir = list(self.paths), self.data_dir
        self._start(lambda report: open_comparison(paths, data_dir, progress=report), self._show,
                    f"Loading {len(paths)} models and encoding their test digits…")

    def _show(self, comparison: Comparison) -> None:
        self.comparison = comparison
        for compared in comparison.models:
            column = ModelColumn(compared, comparison.data)
            column.digitPicked.connect(self.select_digit)
            column.statusMessage.connect(self.status.setText)
            self.columns_layout.addWidget(column, 1)
            self.columns.append(column)
        self.rows = [None] * len(comparison.models)
        self._fill_table()
        labels = comparison.models[0].points.labels
        self.selection = first_of_classes(labels, DEFAULT_MORPH)
        self._show_selection()
        self._idle(f"{len(self.columns)} models, {len(labels):,} test digits of "
                   f"{dataset_title(comparison.data.name)}: click a "
                   "digit in any scatter to select it in all")
        self.loaded.emit(True)
        if self.evaluate_on_open:
            self.evaluate()  # after _idle: the loading task is no longer the current one

    # ----- selection -----
    def select_digit(self, index: int) -> None:
        """Select test digit ``index`` in every scatter; the morph runs from the previous selection to it."""
        if self.comparison is None:
            return
        previous = self.selection[1] if self.selection is not None else index
        self.selection = (previous, index)
        self._show_selection()

    def _show_selection(self) -> None:
        if self.selection is not None:
            for column in self.columns:
                column.show_selection(*self.selection)

    # ----- evaluation -----
    def evaluate(self) -> None:
        """Evaluate every model (core.comparison.comparison_row), one after the other, on a worker thread."""
        if self.comparison is None or (self.task is not None and self.task.is_running()):
            return
        comparison, iw_samples, samples, data_dir = self.comparison, self.iw_spin.value(), self.prior_samples, self.data_dir
        count = len(comparison.models)

        def work(report) -> list[dict[str, Any]]:
            rows = []
            for number, compared in enumerate(comparison.models):
                rows.append(comparison_row(compared.path, compared.model, comparison.data, iw_samples, samples,
                                           progress=lambda f, n=number: report((n + f) / count), data_dir=data_dir))
            return rows

        self.rows = [None] * count
        self._fill_table()
        self.message.hide()
        self._start(work, self._show_rows, f"Evaluating {count} models ({iw_samples} IW samples, "
                                           f"{samples} prior draws each)…")

    def _show_rows(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self._fill_table()
        notes = dict.fromkeys(row["judge_note"] for row in rows if "judge_note" in row)
        self.judge_note.setText("\n".join(f"Judge: {note}" for note in notes))
        self.judge_note.setVisible(bool(notes))
        self._idle("Evaluated: hover a column header for what its figure means")
        self.evaluated.emit(True)

    def _fill_table(self) -> None:
        names = [compared.title for compared in self.comparison.models] if self.comparison is not None else []
        fill_model_rows(self.table, names, self.rows)

    # ----- closing -----
    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing cancels the running task; it ends on its own thread (gui.workers.start_detached)."""
        if self.task is not None:
            self.task.cancel()
            self.task = None
        super().closeEvent(event)
