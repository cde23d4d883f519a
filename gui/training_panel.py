"""The training form: dataset, model, optimiser settings, and the Train / Pause / Stop controls.

Values are checked by building the core configs (ModelConfig, TrainConfig): the ranges live there,
and the form only shows which field is wrong and why. The fields themselves (choices, ranges,
tooltips) are built by gui/training_form.py; the values the window saves between sessions are
gui/window_settings.py's.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QFrame, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from core.config import ModelConfig, TrainConfig, parse_hidden
from core.data import dataset_title
from core.errors import ConfigError
from core.training_reports import EpochReport, StepReport
from gui.training import TrainingState
from gui.training_form import DEFAULT_BETA_VAE, FOLDER_CHOICE, SCHEDULE_CHOICES, build_settings_box
from gui.window_settings import apply_settings_values

SPEED_CHOICES = (("Full speed", 0.0), ("Slow: 4 steps/s", 0.25), ("Slower: 1 step/s", 1.0))
TRAIN_TIP = "Train a new model with these settings (Ctrl+Return)"
INVALID_STYLE = "border: 1px solid #d32f2f;"


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class TrainingPanel(QWidget):
    """Emits ``trainRequested(ModelConfig, TrainConfig)`` only for settings the engine accepts.
    Shows the training state it is given (``show_state``); it holds none of its own."""

    trainRequested = Signal(object, object)
    pauseToggled = Signal()
    stopRequested = Signal()
    stepRequested = Signal()
    epochRequested = Signal()
    speedChanged = Signal(float)  # seconds to wait after each optimiser step (0: full speed)
    validityChanged = Signal(bool)
    settingsChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = TrainingState.IDLE
        self._valid = True
        self._build()
        self.validate()

    # ----- construction -----
    def _build(self) -> None:
        self.settings_box = build_settings_box(self)
        self._last_dataset_index = 0
        self.dataset_combo.activated.connect(self._dataset_activated)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d32f2f;")
        self.error_label.hide()

        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.train_button.setToolTip(TRAIN_TIP)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume training")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop training and keep the model as it is now")
        self.train_button.clicked.connect(self.request_train)
        self.pause_button.clicked.connect(self.pauseToggled)
        self.stop_button.clicked.connect(self.stopRequested)
        buttons = QHBoxLayout()
        for button in (self.train_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        # slow motion, for watching the points move: single steps while paused, and a slower pace
        self.step_button = QPushButton("One step")
        self.step_button.setToolTip("While paused: run exactly one optimiser step, then hold")
        self.step_button.clicked.connect(self.stepRequested)
        self.epoch_button = QPushButton("To epoch end")
        self.epoch_button.setToolTip("While paused: run to the end of this epoch, then hold")
        self.epoch_button.clicked.connect(self.epochRequested)
        self.speed_combo = QComboBox()
        for label, delay in SPEED_CHOICES:
            self.speed_combo.addItem(label, delay)
        self.speed_combo.setToolTip("Slow training down so a class can watch the points move: the latent view\n"
                                    "then follows every step, not only each epoch's end")
        self.speed_combo.currentIndexChanged.connect(lambda _i: self.speedChanged.emit(self.speed_combo.currentData()))
        slow = QHBoxLayout()
        for widget in (self.step_button, self.epoch_button, self.speed_combo):
            slow.addWidget(widget)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self._set_progress(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("Not training")
        # two short lines (speed and time left; loss), never wrapped: a wrapped line was cut off
        self.progress_label = QLabel(" \n ")
        self.progress_label.setMinimumHeight(2 * self.progress_label.fontMetrics().lineSpacing() + 4)

        # the settings scroll when the dock is short; the buttons and the progress stay in sight
        settings = QWidget()
        settings_layout = QVBoxLayout(settings)
        settings_layout.setContentsMargins(0, 0, 0, 0)
        settings_layout.addWidget(self.settings_box)
        settings_layout.addStretch(1)
        self.settings_scroll = QScrollArea()
        self.settings_scroll.setWidget(settings)
        self.settings_scroll.setWidgetResizable(True)
        self.settings_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.settings_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.settings_scroll.setMinimumWidth(settings.sizeHint().width() + 16)
        layout = QVBoxLayout(self)
        layout.addWidget(self.settings_scroll, 1)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        layout.addLayout(slow)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)

        self._fields = {"dataset": self.dataset_combo, "kind": self.kind_combo, "arch": self.arch_combo,
                        "hidden": self.hidden_edit, "latent_dim": self.latent_spin, "beta": self.beta_spin,
                        "recon": self.recon_combo, "epochs": self.epochs_spin, "batch_size": self.batch_spin,
                        "lr": self.lr_edit, "device": self.device_combo, "seed": self.seed_spin,
                        "beta_schedule": self.schedule_edit, "free_bits": self.free_bits_spin}
        for widget in self._fields.values():
            signal = getattr(widget, "textChanged", None) if isinstance(widget, QLineEdit) else None
            if isinstance(widget, QComboBox):
                signal = widget.currentIndexChanged
            elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                signal = widget.valueChanged
            signal.connect(self.validate)
            signal.connect(self.settingsChanged)
        self.schedule_combo.currentIndexChanged.connect(self._schedule_changed)
        self.schedule_combo.currentIndexChanged.connect(self.settingsChanged)
        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()
        self._update_buttons()

    # ----- dataset and kind -----
    def _dataset_activated(self, index: int) -> None:
        if self.dataset_combo.itemData(index) != FOLDER_CHOICE:
            self._last_dataset_index = index
            return
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder with one sub-folder per class")
        if folder:
            self.set_dataset(f"folder:{folder}")
        else:
            self.dataset_combo.setCurrentIndex(self._last_dataset_index)

    def set_dataset(self, name: str) -> None:
        """Select a dataset by engine name, adding a folder entry when needed."""
        index = self.dataset_combo.findData(name)
        if index < 0 and name.startswith("folder:"):
            index = self.dataset_combo.count() - 1
            self.dataset_combo.insertItem(index, f"Folder: {Path(name[7:]).name or name[7:]}", name)
            self.dataset_combo.setItemData(index, name[7:], Qt.ItemDataRole.ToolTipRole)
        if index >= 0:
            self.dataset_combo.setCurrentIndex(index)
            self._last_dataset_index = index

    def _kind_changed(self) -> None:
        kind = self.kind_combo.currentData()
        self.beta_spin.setEnabled(kind == "beta-vae")
        if kind == "beta-vae" and self.beta_spin.value() == 1.0:
            self.beta_spin.setValue(DEFAULT_BETA_VAE)
        self.schedule_combo.setEnabled(kind != "ae")  # an autoencoder has no KL term to weigh
        self.free_bits_spin.setEnabled(kind != "ae")
        self._schedule_changed()

    def _schedule_changed(self) -> None:
        _, kind, placeholder, default = SCHEDULE_CHOICES[max(0, self.schedule_combo.currentIndex())]
        self.schedule_edit.setEnabled(kind != "constant" and self.schedule_combo.isEnabled())
        self.schedule_edit.setPlaceholderText(placeholder)
        if kind != "constant" and not self.schedule_edit.text().strip():
            self.schedule_edit.setText(default)
        self.validate()

    # ----- values -----
    def _beta(self) -> float:
        kind = self.kind_combo.currentData()
        return self.beta_spin.value() if kind == "beta-vae" else 1.0

    def _beta_schedule(self) -> str:
        """The schedule as core.schedules reads it, e.g. "warmup:10"; constant for an autoencoder."""
        kind = self.schedule_combo.currentData()
        if kind == "constant" or self.kind_combo.currentData() == "ae":
            return "constant"
        return f"{kind}:{self.schedule_edit.text().strip()}"

    def _free_bits(self) -> float:
        return 0.0 if self.kind_combo.currentData() == "ae" else self.free_bits_spin.value()

    def _lr(self) -> float:
        try:
            return float(self.lr_edit.text().strip())
        except ValueError:
            raise ConfigError("lr", f"write a number like 0.001 or 1e-3, not {self.lr_edit.text()!r}") from None

    def configs(self) -> tuple[ModelConfig, TrainConfig]:
        """Build the engine configs from the form; raises ConfigError naming the wrong field."""
        kind = self.kind_combo.currentData()
        model_config = ModelConfig(kind="vae" if kind == "beta-vae" else kind, arch=self.arch_combo.currentData(),
                                   hidden=parse_hidden(self.hidden_edit.text()), latent_dim=self.latent_spin.value(),
                                   beta=self._beta(), recon=self.recon_combo.currentData())
        train_config = TrainConfig(dataset=self.dataset_combo.currentData(), epochs=self.epochs_spin.value(),
                                   batch_size=self.batch_spin.value(), lr=self._lr(), seed=self.seed_spin.value(),
                                   device=self.device_combo.currentData(), beta_schedule=self._beta_schedule(),
                                   free_bits=self._free_bits())
        return model_config, train_config

    def field_errors(self) -> dict[str, str]:
        """Every field's problem at once, as {field: reason}; empty when the engine accepts the form."""
        kind = self.kind_combo.currentData()
        model_fields = {"kind": "vae" if kind == "beta-vae" else kind, "arch": self.arch_combo.currentData(),
                        "hidden": self.hidden_edit.text(), "latent_dim": self.latent_spin.value(),
                        "beta": self._beta(), "recon": self.recon_combo.currentData()}
        train_fields = {"dataset": self.dataset_combo.currentData(), "epochs": self.epochs_spin.value(),
                        "batch_size": self.batch_spin.value(), "lr": self.lr_edit.text(),
                        "seed": self.seed_spin.value(), "device": self.device_combo.currentData(),
                        "beta_schedule": self._beta_schedule(), "free_bits": self._free_bits()}
        errors: dict[str, str] = {}
        for config, values in ((ModelConfig, model_fields), (TrainConfig, train_fields)):
            for name, value in values.items():
                try:  # each field alone, so that one wrong field does not hide the next
                    if name == "hidden":
                        value = parse_hidden(value)
                    elif name == "lr":
                        value = self._lr()
                    config(**{name: value})
                except ConfigError as exc:
                    errors[exc.field] = exc.reason
        if not errors:
            try:
                self.configs()
            except ConfigError as exc:  # a rule between fields
                errors[exc.field] = exc.reason
        return errors

    def validate(self) -> bool:
        errors = self.field_errors()
        lines = []
        for name, widget in self._fields.items():
            widget.setStyleSheet(INVALID_STYLE if name in errors else "")
        for name, reason in errors.items():
            label = self._label_for(name)
            lines.append(f"{label}: {reason}" if label else f"{name}: {reason}")
        self._valid = not errors
        self.error_label.setText("\n".join(lines))
        self.error_label.setVisible(not self._valid)
        self.train_button.setToolTip(f"Fix this first: {'; '.join(lines)}" if not self._valid else TRAIN_TIP)
        self._update_buttons()
        self.validityChanged.emit(self._valid)
        return self._valid

    def _label_for(self, field: str) -> str:
        widget = self._fields.get(field)
        form: QFormLayout = self.settings_box.layout()
        label = form.labelForField(widget) if widget is not None else None
        if label is None and widget is not None:  # a field that shares its row (the schedule's parameter)
            label = form.labelForField(widget.parentWidget())
        return label.text() if isinstance(label, QLabel) else ""

    @property
    def is_valid(self) -> bool:
        return self._valid

    # ----- commands -----
    def request_train(self) -> None:
        if self._state.busy or not self.validate():
            return
        self.trainRequested.emit(*self.configs())

    # ----- state shown -----
    def show_state(self, state: TrainingState) -> None:
        """Reflect the training state (from gui.training.Training.stateChanged)."""
        was_busy, self._state = self._state.busy, state
        self.settings_box.setEnabled(not state.busy)
        if state is TrainingState.LOADING:
            self._set_progress(0)
            self.progress_bar.setFormat("Loading the dataset…")
            self.progress_label.setText(" \n ")
        elif state is TrainingState.RUNNING and not was_busy:
            self._set_progress(0)
            self.progress_bar.setFormat("Starting…")
            self.progress_label.setText(" \n ")
        elif state is TrainingState.PAUSED:
            self.progress_bar.setFormat("Paused: " + self.progress_bar.format())
        elif state is TrainingState.RUNNING:
            self.progress_bar.setFormat(self.progress_bar.format().removeprefix("Paused: "))
        elif state is TrainingState.IDLE and self.progress_bar.format() == "Loading the dataset…":
            self.progress_bar.setFormat("Not training")
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self._state.busy
        self.train_button.setEnabled(self._valid and not busy)
        self.pause_button.setEnabled(self._state in (TrainingState.RUNNING, TrainingState.PAUSED))
        self.step_button.setEnabled(self._state is TrainingState.PAUSED)
        self.epoch_button.setEnabled(self._state is TrainingState.PAUSED)
        self.pause_button.setText("Resume" if self._state is TrainingState.PAUSED else "Pause")
        self.stop_button.setEnabled(busy and self._state is not TrainingState.STOPPING)

    def _set_progress(self, value: int) -> None:
        """The bar's value, painted with the window's next paint. QProgressBar.setValue repaints at
        once, and that flushed every view waiting to be redrawn inside the caller's handler: 10-45 ms
        of the GUI thread on a step report. With updates off it only schedules its paint."""
        self.progress_bar.setUpdatesEnabled(False)
        self.progress_bar.setValue(value)
        self.progress_bar.setUpdatesEnabled(True)

    def show_step(self, report: StepReport, epochs: int) -> None:
        done = report.epoch * report.steps_per_epoch + report.step
        total = max(1, epochs * report.steps_per_epoch)
        self._set_progress(int(1000 * done / total))
        paused = "Paused: " if self._state is TrainingState.PAUSED else ""
        self.progress_bar.setFormat(f"{paused}Epoch {report.epoch + 1}/{epochs} · "
                                    f"step {report.step}/{report.steps_per_epoch}")
        left = f" · {format_duration(report.eta_seconds)} left" if math.isfinite(report.eta_seconds) else ""
        self.progress_label.setText(f"{report.samples_per_second:,.0f} samples/s{left}\n"
                                    f"loss {report.loss:.1f} nats")

    def show_epoch(self, report: EpochReport) -> None:
        row = report.row
        validation = f"validation loss {row.val_loss:.1f}" if math.isfinite(row.val_loss) else "no validation split"
        self.progress_label.setText(f"Epoch {row.epoch}/{report.epochs} done · {validation}\n"
                                    f"{row.samples_per_second:,.0f} samples/s · "
                                    f"{format_duration(report.eta_seconds)} left")

    def show_outcome(self, text: str, complete: bool, detail: str = "") -> None:
        if complete:
            self._set_progress(1000)
        self.progress_bar.setFormat(text)
        if detail:
            self.progress_label.setText(detail)

    def describe_run(self) -> str:
        """What Train would do now, in a few words, e.g. "a 2-D VAE on the MNIST sample, 30 epochs"."""
        kind = self.kind_combo.currentText().split(" (")[0]
        kind = kind.lower() if kind[1:].islower() else kind  # "autoencoder" mid-sentence; "VAE" stays
        dataset = dataset_title(self.dataset_combo.currentData() or "")
        epochs = self.epochs_spin.value()
        return f"a {self.latent_spin.value()}-D {kind} on {dataset}, {epochs} epoch{'s' if epochs != 1 else ''}"

    # ----- an opened model's recipe -----
    def show_configs(self, model_config: ModelConfig, train_config: TrainConfig | None) -> None:
        """Fill the form from an opened model so that Train repeats its recipe."""
        kind = "beta-vae" if model_config.kind == "vae" and model_config.beta != 1.0 else model_config.kind
        values: dict[str, Any] = {"kind": kind, "arch": model_config.arch,
                                  "hidden": ",".join(str(w) for w in model_config.hidden),
                                  "latent_dim": model_config.latent_dim, "beta": float(model_config.beta),
                                  "recon": model_config.recon}
        if train_config is not None:
            values.update(dataset=train_config.dataset, epochs=train_config.epochs,
                          batch_size=train_config.batch_size, lr=f"{train_config.lr:g}", seed=train_config.seed,
                          beta_schedule=train_config.beta_schedule, free_bits=float(train_config.free_bits))
        apply_settings_values(self, values)
