"""Start the window: ``run_app(argv)``. The window appears before torch is imported and fills in
once a worker thread has imported the engine. With ``--screenshot`` it renders itself offscreen
and exits."""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from pathlib import Path

ORGANIZATION = "Latent Morph"
APPLICATION = "Latent Morph"
SCREENSHOT_WAIT_MS = 60_000
SCREENSHOT_SIZE = (1440, 900)
# Qt 6.5+ links its X11 ("xcb") platform plugin against this library, which bare Linux desktops
# lack; without it QApplication aborts the process with 'Could not load the Qt platform plugin "xcb"'.
XCB_CURSOR = "libxcb-cursor.so.0"
XCB_CURSOR_FIX = "sudo apt install libxcb-cursor0"


def _parse_pair(text: str) -> tuple[int, int]:
    try:
        first, second = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two test-set indices like 3,18, got {text!r}") from None
    if first < 0 or second < 0:
        raise argparse.ArgumentTypeError("indices must be 0 or more")
    return first, second


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="latent-morph", description="Train VAEs on MNIST and explore their latent space.")
    parser.add_argument("--checkpoint", metavar="FILE", help="open this model file at start")
    parser.add_argument("--screenshot", metavar="PNG", help="render the window to this PNG and exit")
    parser.add_argument("--morph", metavar="I,J", type=_parse_pair,
                        help="select these two test-set digits as the morph endpoints (with --checkpoint)")
    parser.add_argument("--data-dir", metavar="DIR", help="where MNIST, Fashion-MNIST and KMNIST are stored")
    return parser


def qt_platform_problem(environ=None, platform: str | None = None) -> str | None:
    """One line saying what to install when Qt is about to abort for want of libxcb-cursor, else None.

    Qt calls abort() when its platform plugin fails to load, so this is asked before any Qt import.
    Only Linux with the xcb plugin matters: QT_QPA_PLATFORM unset (Qt's default there, unless the
    session is Wayland, where Qt tries its wayland plugin first) or naming xcb first, with a display
    to open. Offscreen, wayland or no display at all: Qt never loads xcb, or fails for another reason.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return None
    requested = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if requested not in ("", "xcb"):
        return None
    if not requested and environ.get("XDG_SESSION_TYPE") == "wayland" and environ.get("WAYLAND_DISPLAY"):
        return None
    if _can_load(XCB_CURSOR):
        return None
    return (f"latent-morph: Qt needs {XCB_CURSOR} to open a window on X11 and it is not installed; "
            f"install it with: {XCB_CURSOR_FIX}  (Fedora: sudo dnf install xcb-util-cursor)")


def _can_load(soname: str) -> bool:
    """Whether the dynamic loader finds this shared library, as it would when Qt loads its plugin."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def run_app(argv: list[str] | None = None) -> int:
    """Open the window. It appears before torch is imported (two thirds of a cold start): the frame
    first, saying it is loading, then the panels once a worker thread has imported the engine.
    ``--screenshot`` builds everything at once instead, renders and exits."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    problem = qt_platform_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "latent-morph"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)

    from gui.main_window import MainWindow  # the frame only: torch and pyqtgraph come with import_engine

    if args.screenshot:
        return _screenshot(app, args)
    window = MainWindow(data_dir=args.data_dir, deferred=True)
    window.show()
    _build_when_imported(window, args)
    return app.exec()


def _build_when_imported(window, args: argparse.Namespace) -> None:
    """Import the engine on a worker thread (the frame stays responsive), then build the panels and
    open ``--checkpoint``, selecting ``--morph`` once its digits are encoded."""
    import traceback

    from gui.main_window import import_engine
    from gui.workers import LatestOnly

    def imported(_result: object) -> None:
        window.finish_construction()
        if args.checkpoint and window.files.open_model(args.checkpoint) and args.morph:
            def select(encoded: bool) -> None:
                window.modelDataSettled.disconnect(select)
                if encoded:
                    window.explore.select_indices(*args.morph)

            window.modelDataSettled.connect(select)

    def failed(error: Exception) -> None:
        traceback.print_exception(error)
        window.show_starting(f"Latent Morph could not start: {type(error).__name__}: {error}")

    window.engine_import = LatestOnly(imported, failed, window)
    window.engine_import.submit(import_engine)


def _screenshot(app, args: argparse.Namespace) -> int:
    from gui.main_window import MainWindow

    window = MainWindow(data_dir=args.data_dir, remember_settings=False)
    window.resize(*SCREENSHOT_SIZE)  # the same picture whatever screen (or none) this runs on
    window.show()
    try:
        return _render(app, window, args)
    finally:  # a model that cannot be opened closes the window too: left open, it outlived the call
        window.session.set_dirty(False)  # nothing to ask about when closing after a screenshot
        window.close()


def _render(app, window, args: argparse.Namespace) -> int:
    if args.checkpoint:
        if not window.files.open_model(args.checkpoint):
            return 1
        _wait_for_points(app, window)
        if args.morph and window.explore.select_indices(*args.morph):
            morph = window.explore.morph_panel
            morph.show_frame(len(morph.current_frames()) // 2)  # a picture halfway through says "morph"
    explore = window.explore
    for jobs in (explore.latent_view.manifold_jobs, explore.generate_panel.decodes):
        jobs.finish_here()  # the decodes the window would show a moment later, in the picture now
    for _ in range(3):  # let layouts and the plots' first redraw settle
        app.processEvents()
    window.loss_plot.redraw()
    app.processEvents()
    target = Path(args.screenshot)
    if not window.grab().save(str(target)):
        print(f"could not write the screenshot {target}", file=sys.stderr)
        return 1
    return 0


def _wait_for_points(app, window) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    window.modelDataSettled.connect(loop.quit)
    QTimer.singleShot(SCREENSHOT_WAIT_MS, loop.quit)
    if window.session.points is None and window.model_task is not None and window.model_task.is_running():
        loop.exec()
    app.processEvents()
