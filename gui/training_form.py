"""The training form's settings fields: each one's choices, range (core.config's limits) and tooltip,
laid out in the panel's Settings box. ``build_settings_box`` makes them as attributes of the panel
(``panel.dataset_combo`` … ``panel.seed_spin``), as Qt Designer's ``setupUi`` does; what the fields
mean together (validation, the engine configs, the run they describe) is gui/training_panel.py's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLineEdit, QSpinBox,
                               QWidget)

from core.config import (MAX_BATCH_SIZE, MAX_BETA, MAX_EPOCHS, MAX_FREE_BITS, MAX_LATENT_DIM, MAX_SEED, ModelConfig,
                         TrainConfig)
from core.device import available_devices

if TYPE_CHECKING:
    from gui.training_panel import TrainingPanel

DATASET_CHOICES = (("MNIST sample (offline, 6,000 digits)", "mnist-sample"), ("MNIST (70,000 digits)", "mnist"),
                   ("Fashion-MNIST", "fashion-mnist"), ("Kuzushiji-MNIST", "kmnist"))
FOLDER_CHOICE = "folder…"
MODEL_CHOICES = (("VAE", "vae"), ("CVAE (conditioned on the class)", "cvae"), ("β-VAE", "beta-vae"),
                 ("Autoencoder", "ae"))
DEFAULT_BETA_VAE = 4.0
ARCH_CHOICES = (("MLP", "mlp"), ("Convolutional", "conv"))
# (label, engine kind, the parameter's placeholder and default): core.schedules reads "kind:parameter"
SCHEDULE_CHOICES = (("Constant", "constant", "", ""), ("Warm-up", "warmup", "epochs, e.g. 10", "10"),
                    ("Cyclical", "cyclical", "cycles[:ratio], e.g. 4 or 4:0.5", "4"))
RECON_CHOICES = (("Binary cross-entropy", "bce"), ("Mean squared error", "mse"))
DEVICE_CHOICES = (("Auto", "auto"), ("CPU", "cpu"), ("CUDA", "cuda"), ("Apple MPS", "mps"))


def build_settings_box(panel: TrainingPanel) -> QGroupBox:
    """Make the form's fields as attributes of ``panel`` and return the Settings box that lays them out."""
    panel.dataset_combo = QComboBox()
    for label, name in DATASET_CHOICES:
        panel.dataset_combo.addItem(label, name)
    panel.dataset_combo.addItem("Folder…", FOLDER_CHOICE)
    panel.dataset_combo.setToolTip("Images to train on. The MNIST sample ships with the app and works offline;\n"
                                   "a folder holds one sub-folder of images per class.")

    panel.kind_combo = _combo(MODEL_CHOICES, "VAE: the classic variational autoencoder.\n"
                              "CVAE: also given the class, so the latent space keeps only style.\n"
                              "β-VAE: a VAE with a heavier KL weight for a smoother, more disentangled space.\n"
                              "Autoencoder: no sampling, no KL: for comparison.")
    panel.arch_combo = _combo(ARCH_CHOICES, "MLP is fast on the CPU; the convolutional network draws "
                              "sharper digits and is worth a GPU.")
    panel.hidden_edit = QLineEdit(",".join(map(str, ModelConfig.hidden)))
    panel.hidden_edit.setToolTip("Encoder layer widths, comma-separated (the decoder mirrors them).")
    panel.latent_spin = _spin(ModelConfig.latent_dim, 1, MAX_LATENT_DIM, "Size of the latent space. 2 can be plotted "
                              "directly; larger spaces are shown through a projection.")
    panel.beta_spin = QDoubleSpinBox()
    panel.beta_spin.setRange(0.0, MAX_BETA)
    panel.beta_spin.setDecimals(2)
    panel.beta_spin.setValue(1.0)
    panel.beta_spin.setToolTip("Weight of the KL term. Above 1 trades reconstruction for a smoother latent space.")
    panel.schedule_combo = _combo(tuple(choice[:2] for choice in SCHEDULE_CHOICES),
                                  "How β changes during the run; it multiplies the β above.\n"
                                  "Constant: β throughout.\n"
                                  "Warm-up: from 0 to β over the first N epochs (Bowman et al. 2016).\n"
                                  "Cyclical: M cycles over the run, each rising from 0 to β over a ratio "
                                  "of the cycle (default 0.5), then held (Fu et al. 2019).")
    panel.schedule_edit = QLineEdit()
    panel.schedule_edit.setToolTip("Warm-up: its length in epochs. Cyclical: the number of cycles, and "
                                   "optionally the rising share of each, e.g. 4:0.5.")
    schedule_row = QWidget()
    schedule_layout = QHBoxLayout(schedule_row)
    schedule_layout.setContentsMargins(0, 0, 0, 0)
    schedule_layout.addWidget(panel.schedule_combo)
    schedule_layout.addWidget(panel.schedule_edit, 1)
    panel.free_bits_spin = QDoubleSpinBox()
    panel.free_bits_spin.setRange(0.0, MAX_FREE_BITS)
    panel.free_bits_spin.setDecimals(2)
    panel.free_bits_spin.setSingleStep(0.1)
    panel.free_bits_spin.setSuffix(" nats")
    panel.free_bits_spin.setToolTip("A KL floor per latent dimension (Kingma et al. 2016): a dimension using "
                                    "fewer nats than this\nis not pushed towards the prior, which helps "
                                    "against posterior collapse. 0 turns it off.")
    panel.recon_combo = _combo(RECON_CHOICES, "How reconstructions are scored: binary cross-entropy suits "
                               "MNIST-like pixels, mean squared error continuous ones.")
    panel.epochs_spin = _spin(TrainConfig.epochs, 1, MAX_EPOCHS, "Passes over the training set.")
    panel.batch_spin = _spin(TrainConfig.batch_size, 1, MAX_BATCH_SIZE, "Images per optimiser step "
                             "(at most the training set's size).")
    panel.lr_edit = QLineEdit(f"{TrainConfig.lr:g}")
    panel.lr_edit.setToolTip("Adam learning rate, e.g. 0.001 or 1e-3. Lower it if the loss turns NaN.")
    panel.device_combo = _combo(DEVICE_CHOICES, "Where to train. Only devices found on this machine "
                                "can be chosen.")
    usable = set(available_devices()) | {"auto"}
    model: QStandardItemModel = panel.device_combo.model()
    for row, (_, name) in enumerate(DEVICE_CHOICES):
        model.item(row).setEnabled(name in usable)
    panel.seed_spin = _spin(0, 0, MAX_SEED, "Random seed: the same seed and settings train the same model.")

    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.addRow("Dataset", panel.dataset_combo)
    form.addRow("Model", panel.kind_combo)
    form.addRow("Network", panel.arch_combo)
    form.addRow("Hidden widths", panel.hidden_edit)
    form.addRow("Latent dimensions", panel.latent_spin)
    form.addRow("β (KL weight)", panel.beta_spin)
    form.addRow("β schedule", schedule_row)
    form.addRow("Free bits", panel.free_bits_spin)
    form.addRow("Reconstruction", panel.recon_combo)
    form.addRow("Epochs", panel.epochs_spin)
    form.addRow("Batch size", panel.batch_spin)
    form.addRow("Learning rate", panel.lr_edit)
    form.addRow("Device", panel.device_combo)
    form.addRow("Seed", panel.seed_spin)
    box = QGroupBox("Settings")
    box.setLayout(form)
    return box


def _combo(choices: tuple[tuple[str, str], ...], tooltip: str) -> QComboBox:
    combo = QComboBox()
    for label, value in choices:
        combo.addItem(label, value)
    combo.setToolTip(tooltip)
    return combo


def _spin(value: int, low: int, high: int, tooltip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)  # the range ModelConfig / TrainConfig enforce
    spin.setValue(value)
    spin.setGroupSeparatorShown(True)
    spin.setToolTip(tooltip)
    return spin
