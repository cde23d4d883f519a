"""Help > Guide (F1): the ideas behind what the window shows, each with where to see it, and the
keyboard shortcuts read from the window's own actions (so the list cannot drift from the menus)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from gui.screen_fit import default_window_size

if TYPE_CHECKING:
    from gui.main_window import MainWindow

# (title, what it is, where to see it in the window)
IDEAS: tuple[tuple[str, str, str], ...] = (
    ("What a VAE learns",
     "The encoder reads a digit x and gives a Gaussian over the latent plane, q(z|x) = N(μ(x), σ²(x)). "
     "The decoder turns a point z back into an image. Training makes the decoded image close to x "
     "(the reconstruction term) while keeping q(z|x) close to N(0, I) (the KL term).",
     "Hover a digit in the latent view: the <b>Inside</b> tab shows its μ, σ, ε and z, and its decoding."),
    ("μ, σ and ε: why z = μ + σ·ε",
     "z is drawn from q(z|x) as z = μ + σ·ε with ε ~ N(0, I). The randomness sits in ε, outside the "
     "network, so the gradient of the loss reaches μ and σ (the reparameterisation trick).",
     "<b>Inside</b>: <i>Sample again</i> draws a new ε for the same digit; <i>Posterior ellipses</i> "
     "draw σ around each μ in the latent view."),
    ("The KL term",
     "KL = −½ Σⱼ (1 + log σⱼ² − μⱼ² − σⱼ²), in nats: zero when μ = 0 and σ = 1. It pulls every digit's "
     "cloud toward the origin and keeps it from shrinking to a point. A dimension whose KL stays under "
     "0.1 nats carries nothing about x: the decoder ignores it (posterior collapse).",
     "The loss plots: <i>KL per dimension</i> (sorted, with the 0.1-nat line) and <i>Dimensions in use</i>."),
    ("Why an autoencoder's latent has holes",
     "A plain autoencoder maps each digit to one point, z = μ, with no noise and no KL. Nothing asks the "
     "places between its codes to decode to a digit, and nothing keeps the codes near the origin: the "
     "clusters drift apart and the gaps between them decode to blurs. A VAE's noise turns each code into "
     "a small cloud that must decode well, and its KL packs the clouds together, so the plane is covered.",
     "<b>File › Train AE vs VAE vs β-VAE</b>, then turn on <i>Manifold</i> in each column; "
     "<b>Generate</b> on an autoencoder decodes N(0, I) draws it was never trained on."),
    ("What β changes",
     "The loss is reconstruction + β·KL. A β above 1 weighs the KL more: the codes sit closer to N(0, I), "
     "morphs are smoother and draws from the prior look more like digits, while reconstructions blur and "
     "more dimensions fall unused. A β below 1 does the opposite. A warm-up or cyclical schedule starts "
     "β at 0 so the decoder learns to use z before the KL pulls on it; free bits stop pushing a "
     "dimension's KL down once it is under a floor, so fewer dimensions collapse.",
     "The β-VAE model and the β schedule on the left; the β plot below shows the weight in force."),
    ("Morphing",
     "A morph decodes the points on a path between two codes, z(t) = (1−t)·z₀ + t·z₁ for t from 0 to 1 "
     "(or along a great circle: slerp). Where the path crosses a gap in the latent space, the frames "
     "there are blurs.",
     "Click two places in the latent view. Under the filmstrip a digit classifier reads each frame; "
     "<b>File › Export morph</b> writes a GIF, MP4, WebP or APNG."),
    ("A conditional VAE (CVAE)",
     "The label y goes into both networks: q(z|x, y) and p(x|z, y). The class no longer has to be "
     "stored in z, which keeps the style: slant, thickness, size.",
     "<b>Generate</b>: pick a class; <i>Same style, every class</i> decodes one z under every label."),
    ("Reading the loss plots",
     "All figures are nats per digit. −ELBO = reconstruction + KL (at β = 1) is an upper bound on "
     "−log p(x): lower is better. Training and validation −ELBO are drawn once per epoch; a growing gap "
     "between them is overfitting.",
     "<i>Log scale</i> keeps both the first drop and the late gains readable."),
)

GESTURES: tuple[tuple[str, str], ...] = (
    ("Click, click", "Morph from the first place to the second"),
    ("Shift+click", "Add a point to the tour"),
    ("Drag a point", "Move it"),
    ("Ctrl+Z", "Remove the tour's last point"),
    ("Hover", "Show a digit's anatomy in the Inside tab"),
    ("Click a class in the legend", "Hide or show it"),
)


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(keys, what they do) for each of ``window``'s actions that has a shortcut, in the menus' words."""
    rows = []
    for action in window.actions():
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if keys:
            rows.append((keys, action.text().replace("&", "").rstrip("…")))
    return rows


def guide_html(window: QWidget) -> str:
    parts = ["<h2>What the window shows, and why</h2>"]
    for title, idea, where in IDEAS:
        parts.append(f"<h3>{html.escape(title)}</h3><p>{html.escape(idea)}</p>"
                     f"<p style='color:#335'>See it: {where}</p>")
    rows = [*shortcut_rows(window), *GESTURES]
    table = "".join(f"<tr><td style='padding-right:18px'><b>{html.escape(keys)}</b></td>"
                    f"<td>{html.escape(what)}</td></tr>" for keys, what in rows)
    parts.append(f"<h3>Keys and clicks</h3><table>{table}</table>")
    return "".join(parts)


class GuideDialog(QDialog):
    """A window beside the main one (not modal): the guide stays open while the user tries things."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Latent Morph guide")
        self.browser = QTextBrowser()
        self.browser.setHtml(guide_html(window))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        screen = window.screen().availableGeometry().size()
        self.resize(*default_window_size(screen, largest=(640, 760)))


def show_guide(window: MainWindow) -> GuideDialog:
    """Show the guide, raising the one already open rather than opening a second."""
    guide = getattr(window, "guide_dialog", None)
    if guide is None:
        guide = window.guide_dialog = GuideDialog(window)
    guide.show()
    guide.raise_()
    guide.activateWindow()
    return guide

