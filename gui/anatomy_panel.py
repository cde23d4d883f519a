"""The Inside tab: one digit through the model, left to right, and a pad to draw your own.

x -> encoder -> mu, log sigma^2 -> eps -> z = mu + sigma * eps -> decoder -> x_hat, with that digit's
reconstruction loss and KL in nats. It follows the digit under the pointer in the latent view and
falls back to the one last clicked (or drawn) when the pointer leaves. "Sample again" draws a new
eps: z jumps inside the ellipse drawn on the scatter and x_hat changes. All figures come from
core.anatomy; this module only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from core.anatomy import Anatomy, anatomy, scatter_marks
from core.data import class_name
from gui.draw_pad import DrawPanel
from gui.image_utils import TiledImageView
from gui.latent_view import LatentPick
from gui.session import ModelSession

# a bar this long fills its cell; longer ones are clipped (a dark tip)
BAR_RANGE = {"μ": 3.0, "log σ²": 6.0, "ε": 3.0, "z": 3.0, "z = μ": 3.0}
BAR_COLOURS = {"μ": "#1f77b4", "log σ²": "#2ca02c", "ε": "#7b3fa0", "z": "#d62728", "z = μ": "#d62728"}
IMAGE_SIZE = QSize(84, 84)  # x and x_hat: 3 screen pixels per image pixel
HEADER_HEIGHT, ROW_HEIGHT, MAX_ROWS = 18, 13, 16  # table pixels; rows beyond 16 share the height left
TEXT_LINES = 6  # the formula of a 2-D CVAE, the loss terms with a per-dimension line
X_HAT = "<i>x&#770;</i>"  # rich text: the plain combining circumflex is lost by the default UI font


@dataclass(frozen=True)
class _Subject:
    """What the panel shows: an input x and the class a CVAE is given with it."""

    x: torch.Tensor  # (C, H, W) in [0, 1]
    label: int | None
    caption: str
    drawn: bool = False  # from the draw pad (or a loaded image), not the test split


class LatentTable(QWidget):
    """One row per latent dimension, one column per quantity (mu, log sigma^2, eps, z): a bar from
    zero with the number on it. ``columns`` holds what is drawn, for tests and screen readers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns: list[tuple[str, np.ndarray]] = []
        # drawn while there are no columns: an empty white box read as a broken table (a real-display check)
        self.placeholder = "μ, log σ², ε and z of the digit you point at appear here"
        self.setMinimumSize(220, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_columns(self, columns: list[tuple[str, np.ndarray]]) -> None:
        rows = len(columns[0][1]) if columns else 2
        if len(self.columns) != len(columns) or (self.columns and len(self.columns[0][1]) != rows):
            self.setMinimumHeight(HEADER_HEIGHT + ROW_HEIGHT * min(rows, MAX_ROWS))  # numbers readable up to 16-D
        self.columns = columns
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("white"))
        if not self.columns:
            painter.setPen(QColor("#888"))
            painter.drawText(QRectF(self.rect()).adjusted(12, 0, -12, 0),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()
            return
        dims = len(self.columns[0][1])
        label_w, header_h = 30, HEADER_HEIGHT
        row_h = min(24.0, (self.height() - header_h) / max(dims, 1))
        col_w = (self.width() - label_w) / len(self.columns)
        painter.setPen(QColor("#333"))
        for c, (name, _) in enumerate(self.columns):
            painter.drawText(QRectF(label_w + c * col_w, 0, col_w, header_h), Qt.AlignmentFlag.AlignCenter, name)
        with_text = row_h >= 12
        for j in range(dims):
            top = header_h + j * row_h
            if with_text:
                painter.setPen(QColor("#555"))
                painter.drawText(QRectF(0, top, label_w - 4, row_h), Qt.AlignmentFlag.AlignRight
                                 | Qt.AlignmentFlag.AlignVCenter, f"z{j + 1}")
            for c, (name, values) in enumerate(self.columns):
                self._bar(painter, QRectF(label_w + c * col_w + 3, top + 1, col_w - 6, row_h - 2), name,
                          float(values[j]), with_text)
        painter.end()

    @staticmethod
    def _bar(painter: QPainter, cell: QRectF, name: str, value: float, with_text: bool) -> None:
        centre = cell.center().x()
        reach = BAR_RANGE.get(name, 3.0)
        length = max(-1.0, min(1.0, value / reach)) * cell.width() / 2
        painter.fillRect(QRectF(min(centre, centre + length), cell.top(), abs(length), cell.height()),
                         QColor(BAR_COLOURS.get(name, "#888")).lighter(150))
        painter.setPen(QPen(QColor("#999"), 1))
        painter.drawLine(int(centre), int(cell.top()), int(centre), int(cell.bottom()))
        if abs(value) > reach:  # clipped: a dark tip says the bar goes on
            tip = cell.right() - 3 if value > 0 else cell.left()
            painter.fillRect(QRectF(tip, cell.top(), 3, cell.height()), QColor("#333"))
        if with_text:
            painter.setPen(QColor("#111"))
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, f"{value:+.2f}")


class AnatomyPanel(QWidget):
    """The anatomy of the hovered, clicked or drawn digit. Emits ``sampleMoved(z_plane, ellipse)``
    (plane coordinates, or None twice) so the latent view can mark the z drawn for the clicked or
    drawn digit."""

    sampleMoved = Signal(object, object)
    statusMessage = Signal(str)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.seed = 0  # the generator seed that draws eps; "Sample again" moves it on
        self.current: Anatomy | None = None
        self._hovered: _Subject | None = None
        self._pinned: _Subject | None = None  # the last clicked test digit or the drawing

        self.title = QLabel("Hover over a digit in the latent view, click one, or draw below.")
        self.title.setWordWrap(True)
        self.sample_button = QPushButton("Sample again")
        self.sample_button.setToolTip("Draw a new ε ~ N(0, I): z = μ + σ·ε moves inside the ellipse, x̂ changes")
        self.sample_button.clicked.connect(self.sample_again)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.sample_button)

        self.x_view = TiledImageView(min_size=IMAGE_SIZE)
        self.x_hat_view = TiledImageView(min_size=IMAGE_SIZE)
        for view in (self.x_view, self.x_hat_view):
            view.setFixedSize(IMAGE_SIZE)
            view.set_placeholder("—")
        self.encoder_label = QLabel()
        self.decoder_label = QLabel()
        for arrow in (self.encoder_label, self.decoder_label):
            arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
            arrow.setMinimumWidth(52)
            arrow.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)  # never clipped
            font = arrow.font()
            font.setPointSizeF(font.pointSizeF() * 0.9)
            arrow.setFont(font)
        self.table = LatentTable()
        strip = QHBoxLayout()
        strip.addWidget(self._captioned(self.x_view, "<i>x</i>"))
        strip.addWidget(self.encoder_label)
        strip.addWidget(self.table, 1)
        strip.addWidget(self.decoder_label)
        strip.addWidget(self._captioned(self.x_hat_view, X_HAT))

        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.losses = QLabel()
        self.losses.setWordWrap(True)
        self.losses.setMinimumWidth(190)
        for text in (self.formula, self.losses):  # room for the fullest case, so the pad below never jumps
            text.setMinimumHeight(TEXT_LINES * text.fontMetrics().lineSpacing())
            text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        bottom = QHBoxLayout()
        bottom.addWidget(self.formula, 3)
        bottom.addWidget(self.losses, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(strip, 1)
        layout.addLayout(bottom)

        session.modelChanged.connect(self._model_changed)
        session.weightsChanged.connect(self.refresh)
        session.pointsChanged.connect(self.refresh)
        self._model_changed()

    @staticmethod
    def _captioned(view: QWidget, caption: str) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(view, 0, Qt.AlignmentFlag.AlignCenter)
        label = QLabel(caption)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(label)
        return box

    # --- what to show -----------------------------------------------------------------------------

    def show_hovered(self, index: int) -> None:
        """The latent view's hover: a digit (row of session.points), or -1 to go back to the pinned one."""
        self._hovered = self._digit(index) if index >= 0 else None
        self.refresh()

    def show_pick(self, pick: LatentPick) -> None:
        """A click in the latent view: a digit stays shown once the pointer leaves it."""
        if pick.index is not None:
            self._pinned = self._digit(pick.index)
            self.refresh()

    def show_drawing(self, image: np.ndarray | None, label: int | None) -> None:
        """A drawn or loaded digit (H, W) in [0, 1], or None when the pad is cleared."""
        if image is None:
            if self._pinned is not None and self._pinned.drawn:
                self._pinned = None
        else:
            self._pinned = _Subject(torch.from_numpy(np.asarray(image, np.float32))[None], label, "Your drawing",
                                    drawn=True)
        self.refresh()

    def sample_again(self) -> None:
        self.seed += 1
        self.refresh()
        if self.current is not None and self.current.eps is not None:
            self.statusMessage.emit(f"New ε (seed {self.seed}): z = μ + σ·ε moved inside the 1-σ ellipse")

    def _digit(self, index: int) -> _Subject | None:
        points, data = self.session.points, self.session.data
        if points is None or not 0 <= index < len(points.latents):
            return None
        label = int(points.labels[index])
        if data is not None and index < len(data.test_x):
            x = data.test_x[index]  # (C, H, W): points are the test split's first rows, in order
        else:
            x = torch.from_numpy(points.images[index])[None]  # (1, H, W)
        return _Subject(x, label, f"Test digit {class_name(self.session.class_names, label)} · #{index}")

    # --- drawing it -------------------------------------------------------------------------------

    def _model_changed(self) -> None:
        self._hovered = self._pinned = None
        self.refresh()

    def refresh(self) -> None:
        """Run the shown digit through the model (one encode and one decode) and lay the result out."""
        model = self.session.model
        subject = self._hovered or self._pinned
        if model is None or subject is None or not self.isVisible():
            self.current = None
            self._clear(model is not None)
            return
        config = model.config
        if tuple(subject.x.shape) != tuple(config.image_shape):
            self.current = None
            self._clear(True)
            self.title.setText(f"{subject.caption} is {tuple(subject.x.shape)}; this model reads {config.image_shape}")
            return
        label = subject.label if config.is_conditional else None
        if config.is_conditional and label is None:
            label = 0
        digit = anatomy(model, subject.x, label, seed=self.seed)
        self.current = digit
        self.title.setText(f"<b>{subject.caption}</b>" + ("" if subject is self._pinned else "  (under the pointer)"))
        self.x_view.set_image(digit.x[0])
        self.x_hat_view.set_image(digit.x_hat[0])
        self._show_networks(digit)
        self._show_losses(digit)
        if subject is not self._pinned:
            return  # a hover only previews: the scatter keeps marking the selected digit (a mark moving with
            # the pointer would also repaint every point of the scatter on each hover)
        points = self.session.points
        if points is None:
            self.sampleMoved.emit(None, None)
        else:
            marks = scatter_marks(digit, points.projection)
            self.sampleMoved.emit(marks.z, marks.ellipse)

    def _clear(self, has_model: bool) -> None:
        self.title.setText("Hover over a digit in the latent view, click one, or draw below." if has_model
                           else "Train or open a model to look inside it.")
        self.x_view.set_image(None)
        self.x_hat_view.set_image(None)
        self.table.set_columns([])
        self.formula.setText("")
        self.losses.setText("")
        self.sample_button.setEnabled(False)
        self.sampleMoved.emit(None, None)

    def _show_networks(self, digit: Anatomy) -> None:
        conditional = digit.label is not None
        name = class_name(self.session.class_names, digit.label) if conditional else ""
        self.encoder_label.setText(f"encoder\nq(z|x, y)\ny = {name}\n→" if conditional else "encoder\nq(z|x)\n→")
        self.decoder_label.setText(f"decoder\np(x|z, y)\ny = {name}\n→" if conditional else "decoder\np(x|z)\n→")
        if digit.logvar is None:
            self.table.set_columns([("μ", digit.mu), ("z = μ", digit.z)])
            self.sample_button.setEnabled(False)
            text = ("<b>Autoencoder: z = μ.</b> The encoder gives one point, with no σ and no ε: "
                    "nothing is sampled, so <i>x&#770;</i> is the same every time.")
        else:
            self.table.set_columns([("μ", digit.mu), ("log σ²", digit.logvar), ("ε", digit.eps), ("z", digit.z)])
            self.sample_button.setEnabled(True)
            text = "z = μ + σ·ε with ε ~ N(0, I), σ = exp(½ log σ²)"
        if len(digit.mu) <= 2:
            def vector(values: np.ndarray) -> str:
                return "(" + ", ".join(f"{v:+.3f}" for v in values) + ")"
            rows = [f"μ = {vector(digit.mu)}"]
            if digit.logvar is not None:
                rows += [f"log σ² = {vector(digit.logvar)}  (σ = {vector(digit.sigma)})",
                         f"ε = {vector(digit.eps)}"]
            rows.append(f"z = {vector(digit.z)}")
            text += "<br>" + "<br>".join(rows)
        if conditional:
            text += (f"<br><b>CVAE:</b> the label y = {name} (one-hot) is an input to both networks, "
                     "the encoder and the decoder.")
        self.formula.setText(text)

    def _show_losses(self, digit: Anatomy) -> None:
        lines = [f"reconstruction −log p(x|z): <b>{digit.recon:.1f}</b> nats"]
        if digit.kl is not None:
            lines.append(f"KL(q(z|x) ‖ N(0, I)): <b>{digit.kl:.2f}</b> nats")
            if len(digit.kl_per_dim) <= 4:
                lines.append("  per dimension: " + ", ".join(f"{k:.2f}" for k in digit.kl_per_dim))
            lines.append(f"−ELBO = sum: <b>{digit.neg_elbo:.1f}</b> nats")
        self.losses.setText("<br>".join(lines))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.sampleMoved.emit(None, None)  # the mark belongs to this tab; the other tabs keep the scatter clean


class InsidePanel(QWidget):
    """The Inside tab: the anatomy strip above the draw pad. A drawing is just another x, so the
    strip shows it whenever the pointer is not over a digit."""

    sampleMoved = Signal(object, object)  # z_plane (2,) | None, ellipse (P, 2) | None
    probeMoved = Signal(object, object)  # the drawing's mu on the plane (2,) | None, its ellipse | None
    endpointRequested = Signal(object, str)  # LatentPick of the drawing, "start" or "end"
    statusMessage = Signal(str)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.anatomy = AnatomyPanel(session)
        self.draw = DrawPanel(session)
        rule = QFrame()
        rule.setFrameShape(QFrame.Shape.HLine)
        layout = QVBoxLayout(self)
        layout.addWidget(self.anatomy)
        layout.addWidget(rule)
        layout.addWidget(self.draw, 1)  # the pad takes the room left: bigger is easier to draw on
        self.anatomy.sampleMoved.connect(self.sampleMoved)
        self.draw.probeMoved.connect(self.probeMoved)
        self.draw.endpointRequested.connect(self.endpointRequested)
        self.draw.drawingChanged.connect(self.anatomy.show_drawing)
        for source in (self.anatomy, self.draw):
            source.statusMessage.connect(self.statusMessage)

    def show_hovered(self, index: int) -> None:
        self.anatomy.show_hovered(index)

    def show_pick(self, pick: LatentPick) -> None:
        self.anatomy.show_pick(pick)
