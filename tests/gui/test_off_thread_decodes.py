"""Decodes off the GUI thread (manifold, morph, Generate), stale results dropped, and a window that
appears before torch is imported."""

import argparse
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from decode_helpers import DECODE_TIMEOUT_MS, settle, spy_decoder

import gui.latent_manifold
import gui.morph_decode
from core.latent import decode

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def gate(monkeypatch):
    """Hold the first call of a module's decode function on its worker thread until ``gate.open()``."""

    class Gate:
        def __init__(self):
            self.entered, self.released, self.calls = threading.Event(), threading.Event(), 0

        def hold_first(self, module, name):
            original = getattr(module, name)

            def held(*args, **kwargs):
                self.calls += 1
                if self.calls == 1:
                    self.entered.set()
                    assert self.released.wait(10)
                return original(*args, **kwargs)

            monkeypatch.setattr(module, name, held)

        def open(self):
            self.released.set()

    gate = Gate()
    yield gate
    gate.open()  # never leave a worker waiting


def test_a_manifold_for_a_view_that_moved_on_is_dropped(qtbot, workspace, gate):
    view = workspace.latent_view
    settle(qtbot, workspace)
    gate.hold_first(gui.latent_manifold, "manifold")
    view.manifold_box.setChecked(True)
    assert gate.entered.wait(5)  # the first manifold is being decoded for the view as it was
    (x0, x1), (y0, y1) = view.view_box.viewRange()
    view.view_box.setRange(xRange=(x0 + 5, x1 + 5), yRange=(y0, y1), padding=0)  # the user pans on
    gate.open()
    qtbot.waitUntil(lambda: view.manifold_jobs.idle, timeout=DECODE_TIMEOUT_MS)
    assert not view.manifold_item.isVisible() and view.manifold_item.image is None  # the old view's: dropped
    qtbot.waitUntil(view.manifold_item.isVisible, timeout=DECODE_TIMEOUT_MS)  # the panned view's, once it settled
    rect = view.manifold_item.mapRectToView(view.manifold_item.boundingRect())
    assert rect.left() < x0 + 5 < x1 + 5 < rect.right()


def test_a_new_pick_supersedes_the_morph_being_decoded(qtbot, workspace, vae_session, gate):
    morph, points = workspace.morph_panel, vae_session.points
    settle(qtbot, workspace)
    shown = []
    morph.pathChanged.connect(lambda latents: shown.append(latents is not None))
    gate.hold_first(gui.morph_decode, "decode")
    workspace.select_indices(0, 1)
    assert gate.entered.wait(5)
    workspace.select_indices(2, 3)
    gate.open()
    settle(qtbot, workspace)
    assert shown.count(True) == 1  # one morph shown: the frames of 0 -> 1 never reached the screen
    np.testing.assert_allclose(morph.frames[0], decode(vae_session.model, points.latents[2:3])[0], atol=1e-6)
    np.testing.assert_allclose(morph.frames[-1], decode(vae_session.model, points.latents[3:4])[0], atol=1e-6)


def test_the_gui_thread_runs_no_decode(qtbot, workspace, vae_session, monkeypatch):
    on_gui_thread = spy_decoder(monkeypatch, vae_session.model,
                                lambda model, z, labels: threading.current_thread() is threading.main_thread())
    workspace.latent_view.manifold_box.setChecked(True)
    workspace.generate_panel.resample()
    workspace.morph_panel.fps_spin.setValue(60)
    workspace.select_indices(0, 1)
    workspace.morph_panel.play_pause()  # asked for before the frames are in: it plays once they are
    settle(qtbot, workspace)
    assert len(on_gui_thread) >= 3 and not any(on_gui_thread)
    assert workspace.latent_view.manifold_item.isVisible()
    assert workspace.generate_panel.samples.shape == (workspace.generate_panel.count, 28, 28)
    qtbot.waitUntil(lambda: workspace.morph_panel.current >= 2, timeout=3000)  # frames arrived and play
    assert workspace.morph_panel.is_playing


def test_a_window_appears_before_torch_is_imported():
    script = textwrap.dedent("""
        import sys
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        import gui.app
        from gui.main_window import MainWindow
        window = MainWindow(deferred=True, remember_settings=False)
        window.show()
        app.processEvents()
        print(window.isVisible(), window.is_ready, "torch" in sys.modules, "pyqtgraph" in sys.modules)
        window.close()
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    visible, ready, torch_in, pyqtgraph_in = done.stdout.split()[-4:]
    assert (visible, ready) == ("True", "False")
    assert torch_in == "False", "a top-level import in gui/app.py or gui/main_window.py brings in torch"
    assert pyqtgraph_in == "False"


def test_the_starting_window_builds_its_panels_once_the_engine_is_imported(qtbot, trained_vae_checkpoint):
    from gui.app import _build_when_imported
    from gui.main_window import MainWindow

    window = MainWindow(deferred=True)
    qtbot.addWidget(window)
    window.show()
    assert not window.is_ready and not window.empty_state.train_button.isEnabled()
    assert "Loading PyTorch" in window.statusBar().currentMessage()
    args = argparse.Namespace(checkpoint=str(trained_vae_checkpoint), morph=(0, 1))
    with qtbot.waitSignal(window.ready, timeout=10_000):
        _build_when_imported(window, args)
    assert window.session.path == Path(trained_vae_checkpoint)  # --checkpoint opened once it was built
    qtbot.waitUntil(lambda: [pick.index for pick in window.explore.morph_panel.endpoints] == [0, 1],
                    timeout=20_000)  # --morph selected once the digits were encoded
    settle(qtbot, window.explore)
    window.session.set_dirty(False)
    window.close()


def test_closing_the_window_while_it_starts_asks_nothing(qtbot):
    from gui.main_window import MainWindow

    window = MainWindow(deferred=True)
    qtbot.addWidget(window)
    window.show()
    assert window.close()
