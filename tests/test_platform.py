"""The entry point: a sub-command runs headless and never opens the window; starting the window on a
Linux desktop without libxcb-cursor0 prints the fix and exits 1, instead of letting Qt abort with
'Could not load the Qt platform plugin "xcb"'."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import cli
from gui import app

ROOT = Path(__file__).resolve().parents[1]
X11 = {"DISPLAY": ":0"}


@pytest.fixture
def no_xcb_cursor(monkeypatch):
    looked_up = []

    def cannot_load(soname):
        looked_up.append(soname)
        return False

    monkeypatch.setattr(app, "_can_load", cannot_load)
    return looked_up


def test_a_missing_xcb_cursor_on_an_x11_desktop_names_the_package(no_xcb_cursor):
    problem = app.qt_platform_problem(X11, "linux")
    assert problem is not None and "\n" not in problem
    assert "sudo apt install libxcb-cursor0" in problem
    assert no_xcb_cursor == ["libxcb-cursor.so.0"]


@pytest.mark.parametrize("environ", [
    {"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"},
    {"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb;wayland"},
    {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},  # WSLg: no session type, Qt picks xcb
    {"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"},
], ids=["xcb", "xcb-first", "wslg", "x11-session"])
def test_every_way_qt_would_load_xcb_is_caught(no_xcb_cursor, environ):
    assert "libxcb-cursor0" in app.qt_platform_problem(environ, "linux")


@pytest.mark.parametrize("environ, platform", [
    ({"DISPLAY": ":0"}, "darwin"),
    ({"DISPLAY": ":0"}, "win32"),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux"),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland"}, "linux"),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux"),
    ({}, "linux"),  # no display at all: Qt fails for that reason, not for a library
], ids=["macos", "windows", "offscreen", "wayland", "wayland-session", "no-display"])
def test_no_complaint_where_qt_does_not_load_xcb(no_xcb_cursor, environ, platform):
    assert app.qt_platform_problem(environ, platform) is None
    assert no_xcb_cursor == []


def test_no_complaint_when_the_library_loads(monkeypatch):
    monkeypatch.setattr(app, "_can_load", lambda soname: True)
    assert app.qt_platform_problem(X11, "linux") is None


def test_main_prints_one_line_and_exits_1_before_importing_qt():
    """The real entry point, in a fresh interpreter: Qt must not even be imported."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the check is for Linux only")
    script = ("import sys, gui.app as app; app._can_load = lambda soname: False\n"
              "import main; code = main.main([])\n"
              "assert 'PySide6' not in sys.modules, 'Qt was imported'\n"
              "sys.exit(code)")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "XDG_SESSION_TYPE")}
    env.update(DISPLAY=":0", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "sudo apt install libxcb-cursor0" in done.stderr


@pytest.mark.parametrize("argv", [["--screenshot", "shot.png"], ["train"]], ids=["screenshot", "command"])
def test_the_entry_point_ends_with_the_command_s_code_and_its_output_intact(argv):
    """After --screenshot the process ends at once (os._exit, no teardown of torch and Qt): its exit
    code and whatever it printed without a newline must still come out."""
    script = (f"import sys, main; print('written', end=''); print('warned', end='', file=sys.stderr)\n"
              f"main.exit_with(3, {argv!r})\n"
              "print('not reached')")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert done.stdout == "written" and done.stderr == "warned"


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_sub_command_runs_headless_never_opening_the_window(command, monkeypatch):
    """`python main.py judge --dataset kmnist`, as the README says, opened the window: main.py kept its
    own list of the commands, and judge was not on it."""
    import main

    ran = []
    monkeypatch.setattr(cli, "run_cli", lambda argv: ran.append(("cli", argv)) or 0)
    monkeypatch.setattr(app, "run_app", lambda argv: ran.append(("window", argv)) or 0)
    assert main.main([command, "--help"]) == 0
    assert ran == [("cli", [command, "--help"])]


def test_a_mistyped_command_is_named_by_the_cli_and_options_alone_open_the_window(monkeypatch, capsys):
    import main

    opened = []
    monkeypatch.setattr(app, "run_app", lambda argv: opened.append(argv) or 0)
    assert main.main(["trian"]) == 2
    assert "invalid choice: 'trian'" in capsys.readouterr().err and not opened
    assert main.main(["--checkpoint", "model.lmorph"]) == 0 and opened == [["--checkpoint", "model.lmorph"]]
