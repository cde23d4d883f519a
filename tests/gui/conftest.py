"""GUI-wide fixtures: settings kept in a temp folder, message boxes recorded instead of shown."""

from __future__ import annotations

import gc

import pytest
import shiboken6
from PySide6.QtCore import QSettings

FULL_COLLECT_EVERY = 20  # GUI tests between full collections (one takes about 60 ms with torch loaded)
_tests_since_full_collect = 0


@pytest.fixture(autouse=True)
def garbage_collected_between_tests():
    """Python's cyclic garbage collector runs between GUI tests, never inside one.

    A collection starts at whatever allocation crosses its threshold, so also inside a Qt paint or
    event. In CI the whole suite aborted there ("pure virtual method called" in
    QGraphicsView.paintEvent) at a test that did nothing wrong itself: where it struck depended only
    on how much garbage the tests before had left, and it went away under gdb or with one more
    plugin loaded. With collections only here, at a point where no Qt code is on the stack, the
    same garbage is freed safely. Young objects go after every test, everything every
    FULL_COLLECT_EVERY tests."""
    global _tests_since_full_collect
    gc.disable()
    try:
        yield
    finally:
        _tests_since_full_collect += 1
        if _tests_since_full_collect >= FULL_COLLECT_EVERY:
            _tests_since_full_collect = 0
            gc.collect()
        else:
            gc.collect(1)
        gc.enable()


@pytest.fixture(autouse=True)
def torch_threads_restored():
    """A window sets its GUI thread, the tests' thread, to one torch thread: the tests after it keep
    the thread count they would have had alone."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, qapp):
    """Every GUI test reads and writes settings under its own temp folder, never the user's."""
    qapp.setOrganizationName("Latent Morph Tests")
    qapp.setApplicationName("Latent Morph Tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield tmp_path / "settings"


@pytest.fixture
def message_boxes(monkeypatch):
    """Record QMessageBox calls (kind, title, text) instead of opening modal dialogs.

    ``message_boxes.answer`` is what ``question`` returns (Discard unless a test sets it)."""
    from PySide6.QtWidgets import QMessageBox

    class Recorder(list):
        answer = QMessageBox.StandardButton.Discard

    calls = Recorder()

    def record(kind):
        def show(parent, title, text, *args, **kwargs):
            calls.append((kind, title, text))
            return calls.answer if kind == "question" else QMessageBox.StandardButton.Ok
        return show

    for kind in ("critical", "warning", "information", "question", "about"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(record(kind)))
    return calls


@pytest.fixture
def main_window(qtbot, message_boxes):
    """A shown MainWindow with settings in the temp folder; stopped and closed without prompts at the end."""
    from gui.main_window import MainWindow

    window = MainWindow(settings=QSettings())
    qtbot.addWidget(window)
    window.show()
    yield window
    if window.training_run is not None:
        thread = window.training_run.thread
        window.training.stop_and_wait()
        assert not shiboken6.isValid(thread) or not thread.isRunning()
    window.session.set_dirty(False)
    window.close()


# --- explore workspace fixtures (latent view, morph, generate, export) ---------------------------


def _session_with_points(checkpoint, data):
    from core.points import encode_points
    from gui.session import ModelSession

    session = ModelSession()
    session.open(checkpoint)
    session.set_points(encode_points(session.model, data))
    return session


@pytest.fixture
def vae_session(trained_vae_checkpoint, tiny_data, qapp):
    """A ModelSession with the small trained 2-D VAE and tiny_data's 300 test digits encoded."""
    return _session_with_points(trained_vae_checkpoint, tiny_data)


@pytest.fixture
def cvae_session(trained_cvae_checkpoint, tiny_data, qapp):
    return _session_with_points(trained_cvae_checkpoint, tiny_data)


def _shown_workspace(qtbot, session):
    from gui.explore import ExploreWorkspace

    workspace = ExploreWorkspace(session)
    qtbot.addWidget(workspace)
    workspace.resize(1100, 700)
    workspace.show()
    qtbot.waitExposed(workspace)
    workspace.statuses = []
    workspace.statusMessage.connect(workspace.statuses.append)
    return workspace


@pytest.fixture
def workspace(qtbot, vae_session):
    """A shown ExploreWorkspace over the trained VAE; ``workspace.statuses`` records status messages."""
    yield _shown_workspace(qtbot, vae_session)


@pytest.fixture
def cvae_workspace(qtbot, cvae_session):
    yield _shown_workspace(qtbot, cvae_session)


@pytest.fixture
def gate(monkeypatch):
    """Morph exports wait for ``gate.set()`` before they write, so a test can act while one runs."""
    import threading

    import gui.export_dialog

    event = threading.Event()
    real = gui.export_dialog.export_morph

    def gated(*args, **kwargs):
        assert event.wait(10), "the test never let the export go on"
        return real(*args, **kwargs)

    monkeypatch.setattr(gui.export_dialog, "export_morph", gated)
    yield event
    event.set()
