"""Latent Morph: `python main.py` opens the window; `python main.py <command>` runs the engine headless.

Commands: train, evaluate, compare, inspect, morph, generate, manifold (see `python main.py --help`).
The window also takes `--screenshot PNG [--checkpoint FILE]` to render itself offscreen and exit.
"""

from __future__ import annotations

import os
import sys

COMMANDS = {"train", "evaluate", "compare", "morph", "generate", "manifold", "inspect", "traverse", "timeline"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help")):
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
