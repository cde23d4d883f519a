"""The headless sub-commands: train, evaluate, compare, inspect, morph, generate, manifold.

Exit status: 0 success, 2 bad input (one line naming what was wrong), 1 failure while running
(one clear line; a traceback only with --debug). ``--json`` prints exactly one strict JSON object on
stdout (a figure not computed, or not finite, is null, never NaN); progress goes to stderr.

This module builds the parser and runs a command; each command (its flags and what it does) is in its
own cli_* module, and the flag converters they share are in core.cli_args.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Callable

from core.cli_args import BadInput, OneLineParser
from core.cli_compare import add_compare_parser, cmd_compare, compare_table
from core.cli_evaluate import add_evaluate_parser, cmd_evaluate
from core.cli_grids import add_generate_parser, add_manifold_parser, cmd_generate, cmd_manifold
from core.cli_inspect import add_inspect_parser, cmd_inspect
from core.cli_judge import add_judge_parser, cmd_judge
from core.cli_morph import add_morph_parser, cmd_morph
from core.cli_timeline import add_timeline_parser, cmd_timeline
from core.cli_train import add_train_parser, cmd_train
from core.cli_traverse import add_traverse_parser, cmd_traverse
from core.errors import ConfigError, LatentMorphError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="latent-morph", description="Train and explore VAEs headless. "
                     "Run with no command to open the window.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
        p.add_argument("--debug", action="store_true", help="show tracebacks on failure")
        p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])

    add_train_parser(sub, common)
    add_evaluate_parser(sub, common)
    add_compare_parser(sub, common)
    add_morph_parser(sub, common)
    add_generate_parser(sub, common)
    add_manifold_parser(sub, common)
    add_inspect_parser(sub, common)
    add_traverse_parser(sub, common)
    add_timeline_parser(sub, common)
    add_judge_parser(sub, common)
    return parser


def run_cli(argv: list[str]) -> int:
    """Entry point for the sub-commands; returns the exit status."""
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
    except BadInput as exc:
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        result = COMMANDS[args.command](args)
    except (BadInput, ConfigError) as exc:
        print(f"latent-morph {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"latent-morph {args.command}: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # the last line of defence: one clear line, no traceback
        if debug:
            raise
        text = str(exc) if isinstance(exc, LatentMorphError) else f"{type(exc).__name__}: {exc}"
        if _is_out_of_memory(exc):
            text = "out of memory: try a smaller --batch-size or --device cpu"
        print(f"latent-morph {args.command}: {text}", file=sys.stderr)
        return EXIT_FAILURE
    result = _finite(result)
    if args.json:
        print(json.dumps(result, sort_keys=True, allow_nan=False))
    elif args.command in TEXT_TABLES:
        print(TEXT_TABLES[args.command](result))
    else:
        for key, value in result.items():
            print(f"{key}: {_text(value)}")
    return EXIT_OK


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity, however deeply nested, replaced by None (JSON null):
    strict JSON has no NaN, and a figure that could not be computed is absent, not a number."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _text(value: Any) -> str:
    """One value of a result as text output shows it: floats to 4 places, None (not computed) as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    return str(value)


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


COMMANDS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "train": cmd_train, "evaluate": cmd_evaluate, "compare": cmd_compare, "morph": cmd_morph,
    "generate": cmd_generate, "manifold": cmd_manifold,
    "inspect": cmd_inspect,
    "traverse": cmd_traverse,
    "timeline": cmd_timeline,
    "judge": cmd_judge,
}

# Commands whose text output is not "key: value" lines but the text this function makes of the result.
TEXT_TABLES: dict[str, Callable[[dict[str, Any]], str]] = {"compare": compare_table}
