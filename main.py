"""Latent Morph: `python main.py` opens the window; `python main.py <command>` runs the engine headless.

Every sub-command is listed by `python main.py --help` (core/cli.py owns them). The window takes only
options; among them `--screenshot PNG [--checkpoint FILE]` to render itself offscreen and exit.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # a first word that is not an option is a command: the CLI runs it or names the commands it has. A
    # list of names kept here missed `judge`, whose README line then opened the window instead
    if argv and (not argv[0].startswith("-") or argv[0] in ("-h", "--help")):
        from core.cli import run_cli

        return run_cli(argv)
    from gui.app import run_app

    return run_app(argv)


def exit_with(code: int, argv: list[str]) -> None:
    """End the process with ``code``. After ``--screenshot`` the picture is written and nothing else is
    kept, so the process ends at once: tearing torch and Qt down would add 0.4-0.6 s to a command that
    scripts run over and over (benchmarks/startup.py)."""
    if "--screenshot" in argv:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    exit_with(main(), sys.argv[1:])
