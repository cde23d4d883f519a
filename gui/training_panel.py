"""The training form: dataset, model, optimiser settings, and the Train / Pause / Stop controls.

Values are checked by building the core configs (ModelConfig, TrainConfig): the ranges live there,
and the form only shows which field is wrong and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from core.config import ModelConfig, TrainConfig, parse_hidden
from core.device import available_devices
from core.errors import ConfigError
from core.training import EpochReport, StepReport

DATASET_CHOICES = (("MNIST sample (offline, 6,000 digits)", "mnist-sample"), ("MNIST (70,000 digits)", "mnist"),
                   ("Fashion-MNIST", "fashion-mnist"), ("Kuzushiji-MNIST", "kmnist"))
FOLDER_CHOICE = "folder…"
MODEL_CHOICES = (("VAE", "vae"), ("CVAE (conditioned on the class)", "cvae"), ("β-VAE", "beta-vae"),
                 ("Autoencoder", "ae"))
DEFAULT_BETA_VAE = 4.0
ARCH_CHOICES = (("MLP", "mlp"), ("Convolutional", "conv"))
RECON_CHOICES = (("Binary cross-entropy", "bce"), ("Mean squared error", "mse"))
DEVICE_CHOICES = (("Auto", "auto"), ("CPU", "cpu"), ("CUDA", "cuda"), ("Apple MPS", "mps"))
TRAIN_TIP = "Train a new model with these settings (Ctrl+Return)"
INVALID_STYLE = "border: 1px solid #d32f2f;"


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class TrainingPanel(QWidget):
    """Emits ``trainRequested(ModelConfig, TrainConfig)`` only for settings the engine accepts."""

    trainRequested = Signal(object, object)
    pauseRequested = Signal()
    resumeRequested = Signal()
    stopRequested = Signal()
    validityChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._running = False
        self._paused = False
        self._valid = True
        self._error = ""
        self._build()
        self.validate()

    # ----- construction -----
    def _build(self) -> None:
        self.dataset_combo = QComboBox()
        for label, name in DATASET_CHOICES:
            self.dataset_combo.addItem(label, name)
        self.dataset_combo.addItem("Folder…", FOLDER_CHOICE)
        self.dataset_combo.setToolTip("Images to train on. The MNIST sample ships with the app and works offline;\n"
                                      "a folder holds one sub-folder of images per class.")
        self._last_dataset_index = 0
        self.dataset_combo.activated.connect(self._dataset_activated)

        self.kind_combo = self._combo(MODEL_CHOICES, "VAE: the classic variational autoencoder.\n"
                                      "CVAE: also given the class, so the latent space keeps only style.\n"
                                      "β-VAE: a VAE with a heavier KL weight for a smoother, more disentangled space.\n"
                                      "Autoencoder: no sampling, no KL: for comparison.")
        self.arch_combo = self._combo(ARCH_CHOICES, "MLP is fast on the CPU; the convolutional network draws "
                                      "sharper digits and is worth a GPU.")
        self.hidden_edit = QLineEdit(",".join(map(str, ModelConfig.hidden)))
        self.hidden_edit.setToolTip("Encoder layer widths, comma-separated (the decoder mirrors them).")
        self.latent_spin = self._spin(ModelConfig.latent_dim, 0, 100_000, "Size of the latent space. 2 can be plotted directly; "
                                      "larger spaces are shown through a projection.")
        self.beta_spin = QDoubleSpinBox()
        self.beta_spin.setRange(0.0, 100_000.0)
        self.beta_spin.setDecimals(2)
        self.beta_spin.setValue(1.0)
        self.beta_spin.setToolTip("Weight of the KL term. Above 1 trades reconstruction for a smoother latent space.")
        self.recon_combo = self._combo(RECON_CHOICES, "How reconstructions are scored: binary cross-entropy suits "
                                       "MNIST-like pixels, mean squared error continuous ones.")
        self.epochs_spin = self._spin(TrainConfig.epochs, 0, 1_000_000, "Passes over the training set.")
        self.batch_spin = self._spin(TrainConfig.batch_size, 0, 10_000_000, "Images per optimiser step.")
        self.lr_edit = QLineEdit(f"{TrainConfig.lr:g}")
        self.lr_edit.setToolTip("Adam learning rate, e.g. 0.001 or 1e-3. Lower it if the loss turns NaN.")
        self.device_combo = self._combo(DEVICE_CHOICES, "Where to train. Only devices found on this machine "
                                        "can be chosen.")
        usable = set(available_devices()) | {"auto"}
        model: QStandardItemModel = self.device_combo.model()
        for row, (_, name) in enumerate(DEVICE_CHOICES):
            model.item(row).setEnabled(name in usable)
        self.seed_spin = self._spin(0, -1, 2**31 - 1, "Random seed: the same seed and settings train the same model.")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Dataset", self.dataset_combo)
        form.addRow("Model", self.kind_combo)
        form.addRow("Network", self.arch_combo)
        form.addRow("Hidden widths", self.hidden_edit)
        form.addRow("Latent dimensions", self.latent_spin)
        form.addRow("β (KL weight)", self.beta_spin)
        form.addRow("Reconstruction", self.recon_combo)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Learning rate", self.lr_edit)
        form.addRow("Device", self.device_combo)
        form.addRow("Seed", self.seed_spin)
        self.settings_box = QGroupBox("Settings")
        self.settings_box.setLayout(form)

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
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stopRequested)
        buttons = QHBoxLayout()
        for button in (self.train_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("Not training")
        self.progress_label = QLabel(" ")
        self.progress_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.settings_box)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)
        layout.addStretch(1)

        self._fields = {"dataset": self.dataset_combo, "kind": self.kind_combo, "arch": self.arch_combo,
                        "hidden": self.hidden_edit, "latent_dim": self.latent_spin, "beta": self.beta_spin,
                        "recon": self.recon_combo, "epochs": self.epochs_spin, "batch_size": self.batch_spin,
                        "lr": self.lr_edit, "device": self.device_combo, "seed": self.seed_spin}
        for widget in self._fields.values():
            signal = getattr(widget, "textChanged", None) if isinstance(widget, QLineEdit) else None
            if isinstance(widget, QComboBox):
                signal = widget.currentIndexChanged
            elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                signal = widget.valueChanged
            signal.connect(self.validate)
        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()
        self._update_buttons()

    def _combo(self, choices: tuple[tuple[str, str], ...], tooltip: str) -> QComboBox:
        combo = QComboBox()
        for label, value in choices:
            combo.addItem(label, value)
        combo.setToolTip(tooltip)
        return combo

    def _spin(self, value: int, low: int, high: int, tooltip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)  # wide on purpose: ModelConfig / TrainConfig say what is allowed
        spin.setValue(value)
        spin.setGroupSeparatorShown(True)
        spin.setToolTip(tooltip)
        return spin

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
        self.beta_spin.setEnabled(kind == "beta-vae" and not self._running)
        if kind == "beta-vae" and self.beta_spin.value() == 1.0:
            self.beta_spin.setValue(DEFAULT_BETA_VAE)
        self.validate()

    # ----- values -----
    def _beta(self) -> float:
        kind = self.kind_combo.currentData()
        return self.beta_spin.value() if kind == "beta-vae" else 1.0

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
                                   device=self.device_combo.currentData())
        return model_config, train_config

    def validate(self) -> bool:
        for widget in self._fields.values():
            widget.setStyleSheet("")
        try:
            self.configs()
        except ConfigError as exc:
            self._valid, self._error = False, str(exc)
            widget = self._fields.get(exc.field)
            if widget is not None:
                widget.setStyleSheet(INVALID_STYLE)
            label = self._label_for(exc.field)
            self.error_label.setText(f"{label}: {exc.reason}" if label else str(exc))
        else:
            self._valid, self._error = True, ""
        self.error_label.setVisible(not self._valid)
        self.train_button.setToolTip(f"Fix this first: {self.error_label.text()}" if not self._valid else TRAIN_TIP)
        self._update_buttons()
        self.validityChanged.emit(self._valid)
        return self._valid

    def _label_for(self, field: str) -> str:
        widget = self._fields.get(field)
        form: QFormLayout = self.settings_box.layout()
        label = form.labelForField(widget) if widget is not None else None
        return label.text() if isinstance(label, QLabel) else ""

    @property
    def is_valid(self) -> bool:
        return self._valid

    @property
    def validation_message(self) -> str:
        return self._error

    # ----- commands -----
    def request_train(self) -> None:
        if self._running or not self.validate():
            return
        self.trainRequested.emit(*self.configs())

    def toggle_pause(self) -> None:
        if not self._running:
            return
        (self.resumeRequested if self._paused else self.pauseRequested).emit()

    # ----- state shown -----
    def set_running(self, running: bool) -> None:
        self._running = running
        self._paused = False
        self.settings_box.setEnabled(not running)
        if running:
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat("Loading the dataset…")
            self.progress_label.setText(" ")
        self._kind_changed()
        self._update_buttons()

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        if paused:
            self.progress_bar.setFormat("Paused: " + self.progress_bar.format())
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.train_button.setEnabled(self._valid and not self._running)
        self.pause_button.setEnabled(self._running)
        self.pause_button.setText("Resume" if self._paused else "Pause")
        self.stop_button.setEnabled(self._running)

    def show_step(self, report: StepReport, epochs: int) -> None:
        done = report.epoch * report.steps_per_epoch + report.step
        total = max(1, epochs * report.steps_per_epoch)
        self.progress_bar.setValue(int(1000 * done / total))
        self.progress_bar.setFormat(f"Epoch {report.epoch + 1}/{epochs} · step {report.step}/{report.steps_per_epoch}")
        left = (total - done) * self.batch_spin.value() / max(report.samples_per_second, 1e-9)
        self.progress_label.setText(f"{report.samples_per_second:,.0f} samples/s · about {format_duration(left)} left"
                                    f" · loss {report.loss:.1f}")

    def show_epoch(self, report: EpochReport) -> None:
        self.progress_label.setText(f"Epoch {report.epoch}/{report.epochs} done · validation loss "
                                    f"{report.val_loss:.1f} · {report.samples_per_second:,.0f} samples/s · "
                                    f"about {format_duration(report.eta_seconds)} left")

    def show_outcome(self, text: str, complete: bool, detail: str = "") -> None:
        if complete:
            self.progress_bar.setValue(1000)
        self.progress_bar.setFormat(text)
        if detail:
            self.progress_label.setText(detail)

    def reset_to_defaults(self) -> None:
        """The settings of a first run: a 2-D VAE on the offline sample (the engine's defaults)."""
        model_config, train_config = ModelConfig(), TrainConfig()
        self.show_configs(model_config, train_config)
        self.device_combo.setCurrentIndex(self.device_combo.findData(train_config.device))

    # ----- persistence -----
    def settings_values(self) -> dict[str, Any]:
        return {"dataset": self.dataset_combo.currentData(), "kind": self.kind_combo.currentData(),
                "arch": self.arch_combo.currentData(), "hidden": self.hidden_edit.text(),
                "latent_dim": self.latent_spin.value(), "beta": self.beta_spin.value(),
                "recon": self.recon_combo.currentData(), "epochs": self.epochs_spin.value(),
                "batch_size": self.batch_spin.value(), "lr": self.lr_edit.text(),
                "device": self.device_combo.currentData(), "seed": self.seed_spin.value()}

    def apply_settings_values(self, values: dict[str, Any]) -> None:
        """Restore saved form values; raises ValueError (changing nothing) when any value has the wrong type."""
        checks = {"dataset": str, "kind": str, "arch": str, "hidden": str, "latent_dim": int, "beta": (int, float),
                  "recon": str, "epochs": int, "batch_size": int, "lr": str, "device": str, "seed": int}
        for key, value in values.items():
            if key in checks and (isinstance(value, bool) or not isinstance(value, checks[key])):
                raise ValueError(f"{key} has the wrong type")
        for key, combo in (("kind", self.kind_combo), ("arch", self.arch_combo), ("recon", self.recon_combo),
                           ("device", self.device_combo)):
            if key in values and combo.findData(values[key]) < 0:
                raise ValueError(f"{key} {values[key]!r} is not a choice")
        if "dataset" in values:
            self.set_dataset(values["dataset"])
        for key, combo in (("kind", self.kind_combo), ("arch", self.arch_combo), ("recon", self.recon_combo),
                           ("device", self.device_combo)):
            if key in values:
                index = combo.findData(values[key])
                if combo.model().item(index).isEnabled():
                    combo.setCurrentIndex(index)
        for key, spin in (("latent_dim", self.latent_spin), ("epochs", self.epochs_spin),
                          ("batch_size", self.batch_spin), ("seed", self.seed_spin), ("beta", self.beta_spin)):
            if key in values:
                spin.setValue(values[key])
        if "hidden" in values:
            self.hidden_edit.setText(values["hidden"])
        if "lr" in values:
            self.lr_edit.setText(values["lr"])
        self.validate()

    def show_configs(self, model_config: ModelConfig, train_config: TrainConfig | None) -> None:
        """Fill the form from an opened model so that Train repeats its recipe."""
        kind = "beta-vae" if model_config.kind == "vae" and model_config.beta != 1.0 else model_config.kind
        values: dict[str, Any] = {"kind": kind, "arch": model_config.arch,
                                  "hidden": ",".join(str(w) for w in model_config.hidden),
                                  "latent_dim": model_config.latent_dim, "beta": float(model_config.beta),
                                  "recon": model_config.recon}
        if train_config is not None:
            values.update(dataset=train_config.dataset, epochs=train_config.epochs,
                          batch_size=train_config.batch_size, lr=f"{train_config.lr:g}", seed=train_config.seed)
        self.apply_settings_values(values)
