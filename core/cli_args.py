"""What the sub-commands' flags accept: the parser that refuses bad input in one line (``BadInput``),
the converters that check a number flag's range (``whole_number``, ``real_number``, ``config_checked``),
the bounds of the flags several commands share, and the flags of the commands that evaluate models
(``metric_flags``).

core.cli builds its parser from these; so do the cli_* modules that add their own sub-commands.
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable

from core.errors import ConfigError

# Bounds of the number flags no config field owns, refused before anything loads. MAX_SCALE is
# core.export.MAX_SCALE (not imported: that pulls in torch; tests/core/test_cli.py keeps them equal).
MAX_SCALE = 40
MAX_IMAGES = 10_000  # generate --count
MAX_IW_SAMPLES = 100_000  # importance samples per test image


class BadInput(Exception):
    """Raised instead of argparse's own exit so every bad input ends the same way.

    ``prog`` is who refuses it: "latent-morph train" for a sub-command's argument."""

    def __init__(self, message: str, prog: str = "latent-morph") -> None:
        super().__init__(message)
        self.prog = prog


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + exits; we want one line
        raise BadInput(message, self.prog)


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """A converter for a whole-number flag that refuses anything outside low..high (inclusive).

    argparse names the flag in front of the message: "argument --count: must be from 1 to 10000, got 0"."""
    allowed = f"from {low} to {high}" if high is not None else f"{low} or more"

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number {allowed}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
        return value
    return convert


def finite_number(text: str) -> float:
    """A finite number: "nan" and "inf" are refused, like any other text that is not a usable number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def real_number(low: float, high: float | None = None, low_open: bool = False) -> Callable[[str], float]:
    """A converter for a number flag that refuses anything outside [low, high] ((low, high] if low_open)."""
    allowed = " and ".join(part for part in (
        f"more than {low:g}" if low_open else f"at least {low:g}",
        f"at most {high:g}" if high is not None else "") if part)

    def convert(text: str) -> float:
        try:
            value = finite_number(text)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"must be a number {allowed}, got {text!r}") from None
        if value < low or (low_open and value == low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value:g}")
        return value
    return convert


non_negative_int = whole_number(0)  # indices, digits, seeds


def config_checked(parse: Callable[[str], Any], config: str, field: str) -> Callable[[str], Any]:
    """``parse``, then the range core.config enforces on ``field``; either refusal is stated as core.config
    states it ("must be from 1 to 512, got 0"), so the flag and its setting in a config file read alike."""
    import core.config

    def check(value: Any) -> None:
        try:
            getattr(core.config, config)(**{field: value})
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(exc.reason) from None

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except argparse.ArgumentTypeError:
            check(_as_number(text))  # the config judges -5 as -5 and 'ten' as 'ten'
            raise
        check(value)
        return value
    return convert


def _as_number(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def metric_flags(p: argparse.ArgumentParser, iw_default: int, dataset_help: str, samples_help: str) -> None:
    """The flags of the commands that evaluate models (evaluate, compare)."""
    p.add_argument("--iw-samples", type=whole_number(0, MAX_IW_SAMPLES), default=iw_default,
                   help="importance samples per image for -log p(x); 0 skips it (default %(default)s)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--dataset", default=None, help=dataset_help)
    p.add_argument("--samples", type=whole_number(1, MAX_IMAGES), default=1000,
                   help=f"{samples_help} (a CVAE's shared among its classes; default %(default)s)")

