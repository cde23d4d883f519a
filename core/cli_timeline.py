"""`timeline`: replay a model file's training timeline as an animation, headless.

    python main.py timeline --checkpoint M --out clusters.gif|.mp4|.webp|.apng [--fps 4] [--size 480] [--json]

One frame per snapshot the training kept (core.timeline): the test points coloured by class on fixed
axes, with the epoch, the step and the loss in nats as a caption. A file without a timeline (saved
by an older version) is refused with exit status 2.

core.cli registers the command (``add_timeline_parser``, ``cmd_timeline``).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from core.cli_args import BadInput, real_number, whole_number

HELP = "replay the clusters forming: the training timeline kept in a model file, as an animation"
DESCRIPTION = ("Write the training timeline of a model file as an animation: one frame per snapshot (the "
               "untrained model, a few within the first epoch, every epoch's end), the test points coloured "
               "by class on fixed axes, captioned with the epoch and the loss in nats.")


def add_timeline_parser(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `timeline` to core.cli's sub-commands; ``common`` adds --json, --debug and --device."""
    from core.export import MAX_FPS
    from core.timeline_export import DEFAULT_FPS, DEFAULT_SIZE, MAX_SIZE, MIN_SIZE

    p = sub.add_parser("timeline", help=HELP, description=DESCRIPTION)
    p.add_argument("--checkpoint", required=True, metavar="FILE", help="a model file trained by this version")
    p.add_argument("--out", required=True, help="the animation, its format by the suffix: .gif, .mp4, .webp or "
                                                ".apng (animated PNG)")
    p.add_argument("--fps", type=real_number(0, MAX_FPS, low_open=True), default=DEFAULT_FPS,
                   help="snapshots per second (default %(default)s)")
    p.add_argument("--size", type=whole_number(MIN_SIZE, MAX_SIZE), default=DEFAULT_SIZE,
                   help=f"the plot's side in px, {MIN_SIZE} to {MAX_SIZE} (default %(default)s)")
    common(p)


def cmd_timeline(args: argparse.Namespace) -> dict[str, Any]:
    """Export --checkpoint's timeline to --out. Bad input (a wrong suffix, no timeline in the file)
    raises core.cli_args.BadInput (exit 2)."""
    from core.errors import CheckpointError, ConfigError
    from core.files import load_checkpoint
    from core.timeline_export import check_options, export_timeline

    try:
        check_options(args.out, args.fps, args.size)
    except ConfigError as exc:
        raise BadInput(f"--{exc.field}: {exc.reason}") from None
    try:
        record = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        raise BadInput(str(exc)) from None
    if record.timeline is None or not record.timeline.snapshots:
        raise BadInput(f"{args.checkpoint} holds no training timeline: it was saved by a version that did not "
                       "record one, or before training began. Resume it (train --resume) to record one from here")
    result = export_timeline(record.timeline, args.out, args.fps, args.size, record.class_names)
    result["checkpoint"] = str(args.checkpoint)
    return result
