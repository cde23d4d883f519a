"""The ten class colours of the views, one per digit.

The numbers, and why these ten, live in core/class_colours.py: the engine draws with them too
(the morph-and-map export, core/morph_map.py), and one table keeps the window and the files alike.
"""

from __future__ import annotations

from core.class_colours import CLASS_COLOURS

__all__ = ["CLASS_COLOURS"]
