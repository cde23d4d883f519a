"""New digits from the prior: a class picker (CVAE), a sample grid and one style under every class,
decoded off the GUI thread.

A plain autoencoder has no prior; its grid decodes the same N(0, I) draws and says so."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
from PySide6.QtCore import QSize, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout,
                               QWidget)

from core.data import class_name
from core.errors import LatentMorphError
from core.generation_metrics import conditional_fidelity, prior_quality
from core.latent import generate, sample_prior, style_across_classes
from core.models import LatentModel
from gui.image_utils import TiledImageView
from gui.judges import judge_provider
from gui.judge_strip import JudgeReading, JudgeRequest, ReadTiledImageView, decode_task_judge
from gui.model_tasks import decoder_for
from gui.session import ModelSession
from gui.workers import LatestOnly

SAMPLE_COUNTS = (16, 36, 64)
PICKER_COLUMNS = 5
NOT_CONDITIONAL_TIP = "This model is not conditional; train a CVAE to choose a class"
REFRESH_DELAY_MS = 250  # new weights arrive every epoch; redraw once they settle
NO_PRIOR_NOTE = ("The autoencoder was never trained to fill N(0, I): this is what its decoder makes of "
                 "random draws from it.")


@dataclass(frozen=True)
class DecodedSamples:
    """A grid from the prior and, for a CVAE, the first sample's z under every class."""

    samples: np.ndarray  # (count, H, W) in [0, 1]
    styles: np.ndarray | None  # (classes, H, W), CVAE only
    count: int
    label: int | None  # the CVAE class the grid is of
    seed: int
    reading: JudgeReading | None = None  # what the judge reads in the samples (grey images only)
    why_not_read: str | None = None  # why there is no reading, when there is none


def _decode_samples(decoder: Callable[[], LatentModel], count: int, label: int | None, seed: int,
                    judge: JudgeRequest | None = None) -> DecodedSamples:
    """On a worker thread: ``count`` draws from the prior, decoded (under ``label`` for a CVAE), and
    read by ``judge`` when given. ``decoder()`` gives the model to decode with (gui.model_tasks.decoder_for)."""
    model = decoder()
    samples = generate(model, count, label, seed=seed)
    styles = None
    if label is not None:
        styles = style_across_classes(model, sample_prior(model.config.latent_dim, count, seed)[0])
    reading, why_not = judge.read(samples) if judge is not None else (None, None)
    return DecodedSamples(samples, styles, count, label, seed, reading, why_not)


class GeneratePanel(QWidget):
    """Emits ``labelChanged`` when the chosen class changes (the morph and manifold follow it)."""

    labelChanged = Signal(int)
    statusMessage = Signal(str)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.seed = 0
        self.samples: np.ndarray | None = None  # (count, H, W)
        self.styles: np.ndarray | None = None  # (classes, H, W)
        self.reading: JudgeReading | None = None  # what the digit judge reads in each sample
        self.decodes = LatestOnly(self._show_samples, self._decode_failed, self)

        self.picker_box = QWidget()
        self.picker_layout = QGridLayout(self.picker_box)
        self.picker_layout.setContentsMargins(0, 0, 0, 0)
        self.picker_layout.setSpacing(2)
        # the chosen class must read at a glance, whatever the platform style draws for "checked"
        self.picker_box.setStyleSheet("QPushButton:checked { background: #1f77b4; color: white; font-weight: bold; }")
        self.label_group = QButtonGroup(self)
        self.label_group.setExclusive(True)
        self.count_combo = QComboBox()
        for count in SAMPLE_COUNTS:
            self.count_combo.addItem(f"{count} samples", count)
        self.resample_button = QPushButton("Resample")
        self.resample_button.setToolTip("Draw new latents from the prior (a new seed)")
        self.grid_view = ReadTiledImageView(min_size=QSize(160, 160))
        self.grid_view.setToolTip("The corner of each sample: the digit the judge reads in it, fainter when "
                                  "it is less sure")
        self.judge_note = QLabel()
        self.judge_note.setWordWrap(True)
        self.grid_view.set_placeholder("No model")
        self.style_title = QLabel("Same style, every class (the first sample's z under each label)")
        self.style_title.setWordWrap(True)
        self.style_view = TiledImageView(min_size=QSize(160, 32))
        self.style_view.setMaximumHeight(90)
        self.note = QLabel()
        self.note.setWordWrap(True)

        controls = QHBoxLayout()
        controls.addWidget(self.count_combo)
        controls.addWidget(self.resample_button)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Class"))
        layout.addWidget(self.picker_box)
        layout.addLayout(controls)
        layout.addWidget(self.grid_view, 1)
        layout.addWidget(self.judge_note)
        layout.addWidget(self.style_title)
        layout.addWidget(self.style_view)
        layout.addWidget(self.note)

        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self.label_group.idToggled.connect(self._label_toggled)
        self.count_combo.currentIndexChanged.connect(self.refresh)
        self.resample_button.clicked.connect(self.resample)
        session.modelChanged.connect(self._model_changed)
        judge_provider().ready.connect(self._judge_ready)
        session.weightsChanged.connect(self._refresh_timer.start)
        self._model_changed()

    @property
    def is_conditional(self) -> bool:
        return self.session.model is not None and self.session.model.config.is_conditional

    @property
    def current_label(self) -> int:
        checked = self.label_group.checkedId()
        return max(checked, 0)

    @property
    def count(self) -> int:
        return self.count_combo.currentData()

    def set_label(self, label: int) -> None:
        button = self.label_group.button(label)
        if button is not None and button.isEnabled():
            button.setChecked(True)

    def set_count(self, count: int) -> None:
        index = self.count_combo.findData(count)
        if index < 0:
            raise ValueError(f"count must be one of {SAMPLE_COUNTS}")
        self.count_combo.setCurrentIndex(index)

    def resample(self) -> None:
        self.seed = int(np.random.default_rng().integers(2**31 - 1))
        self.refresh()

    def _model_changed(self) -> None:
        for button in self.label_group.buttons():
            self.label_group.removeButton(button)
            button.deleteLater()
        model = self.session.model
        classes = model.config.num_classes if model is not None else len(self.session.class_names)
        names = self.session.class_names
        conditional = self.is_conditional
        for label in range(classes):
            button = QPushButton(class_name(names, label))
            button.setCheckable(True)
            button.setMinimumWidth(28)
            button.setEnabled(conditional)
            button.setToolTip(f"Generate class {button.text()}" if conditional else NOT_CONDITIONAL_TIP)
            self.label_group.addButton(button, label)
            self.picker_layout.addWidget(button, label // PICKER_COLUMNS, label % PICKER_COLUMNS)
        self.picker_box.setToolTip("" if conditional else NOT_CONDITIONAL_TIP)
        self.picker_box.setEnabled(conditional)
        if conditional and self.label_group.buttons():
            self.label_group.button(0).setChecked(True)
        self.style_title.setVisible(conditional)
        self.style_view.setVisible(conditional)
        self.resample_button.setEnabled(model is not None)
        self.resample_button.setToolTip("Draw new latents from N(0, I) (a new seed)" if self._has_no_prior
                                        else "Draw new latents from the prior (a new seed)")
        self.refresh()

    @property
    def _has_no_prior(self) -> bool:
        """A plain autoencoder: N(0, I) is not what it was trained on."""
        return self.session.model is not None and not self.session.model.config.is_variational

    def _label_toggled(self, label: int, checked: bool) -> None:
        if checked:
            self.refresh()
            self.labelChanged.emit(label)

    def refresh(self) -> None:
        """Ask for the grid (and the style row for a CVAE) for the current class, count and seed,
        decoded off the GUI thread; the grid on screen stays until the new one arrives."""
        model = self.session.model
        if model is None:
            self.decodes.supersede()
            self.samples = self.styles = None
            self._show_reading(None, None)
            self.note.setText("")
            self.grid_view.set_tiles(None)
            self.style_view.set_tiles(None)
            return
        label = self.current_label if self.is_conditional else None
        self.decodes.submit(partial(_decode_samples, decoder_for(self.session), self.count, label, self.seed,
                                    decode_task_judge(self.session)))

    @property
    def decoding(self) -> bool:
        """A grid was asked for that has not arrived yet."""
        return self.decodes.pending

    def _decode_failed(self, error: Exception) -> None:
        if not isinstance(error, LatentMorphError):
            raise error
        self.samples = self.styles = None
        self._show_reading(None, None)
        self.statusMessage.emit(f"Generate: {error}")

    def _show_samples(self, decoded: DecodedSamples) -> None:
        self.samples, self.styles = decoded.samples, decoded.styles
        if self.samples.ndim != 3:
            self.reading = None
            self.grid_view.set_reading(None)
            self.judge_note.hide()
            self.note.setText("Colour samples are not shown here.")
            return
        self.grid_view.set_tiles(self.samples, math.ceil(math.sqrt(decoded.count)))
        self._show_reading(decoded.reading, decoded.why_not_read)
        if self.styles is not None:
            self.style_view.set_tiles(self.styles, len(self.styles))
        if decoded.label is not None:
            name = class_name(self.session.class_names, decoded.label)
            self.note.setText(f"{decoded.count} samples of class “{name}” from the prior, seed {decoded.seed}.")
        elif self._has_no_prior:
            self.note.setText(f"{NO_PRIOR_NOTE} {decoded.count} draws, seed {decoded.seed}.")
        else:
            self.note.setText(f"{decoded.count} samples from the prior, seed {decoded.seed}. {NOT_CONDITIONAL_TIP}.")

    def _judge_ready(self, dataset: str) -> None:
        """A judge was trained in the background for this dataset: the grid on screen is decoded again
        (the same seed: the same samples) and read on the task's thread."""
        if dataset == self.session.dataset_name and self.samples is not None:
            self.refresh()

    def _show_reading(self, reading: JudgeReading | None, why_not: str | None) -> None:
        """What the judge reads in the grid: a mark on each tile and a line under the grid (a CVAE's
        share read as the chosen class, another model's classes), or a note saying why there is none."""
        self.reading = reading
        self.grid_view.set_reading(self.reading)
        self.judge_note.setVisible(self.samples is not None)
        if self.reading is None:
            self.judge_note.setText(why_not or "")
            return
        read_as, confidences = self.reading.classes, self.reading.confidences
        names = self.session.class_names
        quality = prior_quality(read_as, confidences, len(names))
        if self.is_conditional:
            label = self.current_label
            classes = self.session.model.config.num_classes
            share = conditional_fidelity(read_as, np.full(len(read_as), label), classes).per_class[label]
            matched = round(share * len(read_as))  # every sample was generated for ``label``
            self.judge_note.setText(f"Judge: {matched} of {len(read_as)} read as "
                                    f"“{class_name(self.session.class_names, label)}” "
                                    f"(mean confidence {quality.mean_confidence:.2f}).")
        else:
            counts = sorted(((n, digit) for digit, n in enumerate(quality.class_histogram) if n), reverse=True)
            listed = " · ".join(f"{class_name(names, digit)} ×{n}" for n, digit in counts)
            self.judge_note.setText(f"Judge reads the {len(read_as)} draws as {listed} "
                                    f"(mean confidence {quality.mean_confidence:.2f}).")
