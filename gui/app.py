"""Start the window: ``run_app(argv)``. With ``--screenshot`` it renders itself offscreen and exits."""

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

    splash = None if args.screenshot else _show_splash(app)

    from gui.main_window import MainWindow  # torch and pyqtgraph load here, after the app exists

    window = MainWindow(data_dir=args.data_dir, remember_settings=not args.screenshot)
    if args.screenshot:
        window.resize(*SCREENSHOT_SIZE)  # the same picture whatever screen (or none) this runs on
    window.show()
    if splash is not None:
        splash.finish(window)
    if args.checkpoint:
        if window.open_model(args.checkpoint):
            _wait_for_points(app, window)
            if args.morph and window.explore.select_indices(*args.morph) and args.screenshot:
                morph = window.explore.morph_panel
                morph.show_frame(len(morph.frames) // 2)  # a picture halfway through says "morph"
        elif args.screenshot:
            return 1
    if args.screenshot:
        for _ in range(3):  # let layouts and the plots' first redraw settle
            app.processEvents()
        window.loss_plot.redraw()
        app.processEvents()
        target = Path(args.screenshot)
        if not window.grab().save(str(target)):
            print(f"could not write the screenshot {target}", file=sys.stderr)
            return 1
        window.session.set_dirty(False)  # nothing to ask about when closing after a screenshot
        window.close()
        return 0
    return app.exec()


def _show_splash(app):
    """Something on screen at once: importing torch alone can take seconds on a cold start."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
    from PySide6.QtWidgets import QSplashScreen

    pixmap = QPixmap(420, 160)
    pixmap.fill(QColor("#1f2933"))
    painter = QPainter(pixmap)
    painter.setPen(QColor("white"))
    painter.setFont(QFont(painter.font().family(), 22, QFont.Weight.Bold))
    painter.drawText(pixmap.rect().adjusted(0, -20, 0, 0), Qt.AlignmentFlag.AlignCenter, APPLICATION)
    painter.setFont(QFont(painter.font().family(), 10))
    painter.setPen(QColor("#9aa5b1"))
    painter.drawText(pixmap.rect().adjusted(0, 50, 0, 0), Qt.AlignmentFlag.AlignCenter, "Loading PyTorch…")
    painter.end()
    splash = QSplashScreen(pixmap)
    splash.show()
    app.processEvents()
    return splash


def _wait_for_points(app, window) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    window.modelDataSettled.connect(loop.quit)
    QTimer.singleShot(SCREENSHOT_WAIT_MS, loop.quit)
    if window.session.points is None and window.model_task is not None and window.model_task.is_running():
        loop.exec()
    app.processEvents()
