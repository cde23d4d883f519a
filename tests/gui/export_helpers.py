"""Helpers for the morph export tests: a decoded morph to export, and an export waited for."""

from __future__ import annotations

from decode_helpers import settle


def morph_test_digits(qtbot, workspace, frames=None):
    """Morph test digits 0 -> 1 (``frames`` frames) and wait until its frames are decoded."""
    assert workspace.select_indices(0, 1)
    if frames is not None:
        assert workspace.morph_panel.set_frame_count(frames)
    settle(qtbot, workspace)
    assert workspace.morph_panel.frames is not None


def export_and_wait(qtbot, workspace, options):
    """Export ``workspace``'s morph with ``options``; exportFinished's argument (True: written)."""
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=20_000) as finished:
        task = workspace.export_morph(options=options)
        assert task is not None
    return finished.args[0]
