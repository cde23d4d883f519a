"""What the centre of the window shows before there is a model: what to do, and one big button to do it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

CARD_WIDTH = 480
BUTTON_PADDING = 22  # pixels left and right of the big button's text
BUTTON_FRAME = 8  # pixels of the button's frame and focus ring, both sides together


def wrapped_to_width(text: str, metrics: QFontMetrics, width: int, break_before: str = "") -> str:
    """``text`` in lines of at most ``width`` pixels, broken between words (a word wider than a line is
    elided in its middle): a push button neither wraps nor elides its text, it clips both ends. A text
    that needs breaking is broken first before the last ``break_before`` in it, where it reads best."""
    if metrics.horizontalAdvance(text) > width and break_before and break_before in text:
        head, _, tail = text.rpartition(break_before)
        return "\n".join(wrapped_to_width(part, metrics, width) for part in (head, break_before.strip() + " " + tail))
    lines: list[str] = []
    for word in text.split():
        if metrics.horizontalAdvance(word) > width:
            word = metrics.elidedText(word, Qt.TextElideMode.ElideMiddle, width)
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and metrics.horizontalAdvance(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(word)
    return "\n".join(lines)


class EmptyState(QWidget):
    """What the centre shows before there is a model: what to do, and one big button to do it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<h2>No model yet</h2>")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.train_button = QPushButton("Train a VAE on the MNIST sample")
        self.train_button.setMinimumHeight(48)
        self.train_button.setStyleSheet(f"font-size: 15px; padding: 8px {BUTTON_PADDING}px;")
        self.open_button = QPushButton("Open a saved model…")
        self.open_button.setFlat(True)
        # a fixed-width card: a word-wrapped label only gets its full height in a layout without alignment
        card = QWidget()
        card.setFixedWidth(CARD_WIDTH)
        self.card_layout = QVBoxLayout(card)
        self.card_layout.setSpacing(12)
        for widget in (self.title, self.text, self.train_button, self.open_button):
            self.card_layout.addWidget(widget)
        self.describe_run("a 2-D VAE on the MNIST sample, 30 epochs")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.set_training(False)

    def describe_run(self, description: str) -> None:
        """Say on the button exactly what it trains: the settings on the left, never other ones. A long
        description takes two lines: "Train a 2-D autoencoder on …" ran off both ends of the button."""
        self.train_button.ensurePolished()  # the style sheet's font, which the text is measured in
        margins = self.card_layout.contentsMargins()
        room = CARD_WIDTH - margins.left() - margins.right() - 2 * BUTTON_PADDING - BUTTON_FRAME
        self.train_button.setText(wrapped_to_width(f"Train {description}", self.train_button.fontMetrics(), room,
                                                   break_before=" on "))
        self.train_button.setToolTip(f"Trains {description}, with the settings on the left (Ctrl+Return)")

    def set_training(self, training: bool) -> None:
        self.train_button.setVisible(not training)
        self.open_button.setVisible(not training)
        if training:
            self.title.setText("<h2>Training…</h2>")
            self.text.setText("The latent space appears here at the end of the first epoch; "
                              "the loss curves below move with every step.")
        else:
            self.title.setText("<h2>No model yet</h2>")
            self.text.setText("A variational autoencoder learns to squeeze each digit into a few numbers and back. "
                              "Train one on the bundled MNIST sample and watch the digits gather into clusters, "
                              "or open a saved model (Ctrl+O). The settings on the left shape the next run.")
        # the card has a fixed width, so the wrapped text's height is known: reserve it
        margins = self.text.parentWidget().layout().contentsMargins()
        self.text.setMinimumHeight(self.text.heightForWidth(CARD_WIDTH - margins.left() - margins.right()))
