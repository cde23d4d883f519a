"""A window's first size on the screen it opens on, shared by the main window, Compare and the guide."""

from __future__ import annotations

from PySide6.QtCore import QSize


def default_window_size(available: QSize, largest: tuple[int, int] = (1440, 940)) -> tuple[int, int]:
    """Most of the screen (92%), up to ``largest`` pixels: at 820 px high the loss plots and the morph
    panel were squashed (a real-display check); on a small laptop screen the window still fits. Also
    the Compare window's and the guide's first size, with their own ``largest``."""
    return min(largest[0], int(available.width() * 0.92)), min(largest[1], int(available.height() * 0.92))
