"""`traverse`: a test digit's latent traversal grid (PNG) or its animation (GIF), headless.

    python main.py traverse --checkpoint M --index I [--steps 11] [--range 3] [--hide-collapsed]
                            --out grid.png|grid.gif [--json]

The PNG has one row per latent dimension, most KL first, labelled with the dimension and its KL over the
test split (nats per digit; 'collapsed' below core.evaluation.COLLAPSE_KL_THRESHOLD); columns run from
-range to +range prior standard deviations around the digit's mu (code spreads for an autoencoder,
core.traversal). The GIF plays every dimension at once, each in its own tile (in the PNG's row order,
left to right, top to bottom), from -range to +range and back, looping.

core.cli registers the command (``add_traverse_parser``, ``cmd_traverse``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from core.cli_args import MAX_SCALE, BadInput, non_negative_int, real_number, whole_number
from core.cli_loading import load_model_for_label, load_test_split

HELP = "a digit's latent traversal: a row per dimension by KL (PNG), or their animation (GIF)"
DESCRIPTION = ("Decode a test digit's latent traversal: each latent dimension on its own, from -range to +range "
               "around the digit's mu, one row per dimension, most KL first (PNG); or every dimension swept at once, "
               "each in its own tile, there and back (GIF).")


def add_traverse_parser(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `traverse` to core.cli's sub-commands; ``common`` adds --json, --debug and --device."""
    from core.export import MAX_FPS
    from core.traversal import DEFAULT_FPS, DEFAULT_RANGE, DEFAULT_STEPS, MAX_RANGE, MAX_STEPS, MIN_STEPS

    p = sub.add_parser("traverse", help=HELP, description=DESCRIPTION)
    p.add_argument("--checkpoint", required=True, metavar="FILE")
    p.add_argument("--index", type=non_negative_int, required=True, help="the test image to traverse around")
    p.add_argument("--steps", type=whole_number(MIN_STEPS, MAX_STEPS), default=DEFAULT_STEPS,
                   help="images per dimension, -range to +range (default %(default)s; an odd count keeps "
                        "the digit itself in the middle)")
    p.add_argument("--range", type=real_number(0, MAX_RANGE, low_open=True), default=DEFAULT_RANGE, dest="range_",
                   metavar="SD",
                   help="how far each dimension moves either way, in prior standard deviations "
                        "(an autoencoder: standard deviations of its codes; default %(default)s)")
    p.add_argument("--hide-collapsed", action="store_true",
                   help="leave out dimensions whose KL is below 0.1 nats (the decoder ignores them)")
    p.add_argument("--label", type=non_negative_int, default=None,
                   help="CVAE: decode under this class (default: the test image's own)")
    p.add_argument("--scale", type=whole_number(1, MAX_SCALE), default=2, help="pixel scale: 28 px -> 28*scale px")
    p.add_argument("--fps", type=real_number(0, MAX_FPS, low_open=True), default=DEFAULT_FPS,
                   help="GIF: offsets per second (default %(default)s)")
    p.add_argument("--out", required=True, help=".png (the grid) or .gif (the animation)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--dataset", default=None, help="override the dataset recorded in the model file")
    common(p)


def cmd_traverse(args: argparse.Namespace) -> dict[str, Any]:
    """Traverse test image --index (core.traversal) and write --out. Bad input raises core.cli_args.BadInput (exit 2)."""
    from core.traversal import TRAVERSAL_FORMATS, data_spread, save_traversal, traverse_image

    suffix = Path(args.out).suffix.lower()
    if suffix not in TRAVERSAL_FORMATS:
        raise BadInput(f"--out {args.out}: choose a .png (the grid) or .gif (the animation) file name")
    checkpoint, model = load_model_for_label(args)
    config = model.config
    data = load_test_split(checkpoint, args.data_dir, args.dataset)
    if tuple(data.image_shape) != tuple(config.image_shape) or data.num_classes != config.num_classes:
        raise BadInput(f"{args.checkpoint} reads {'x'.join(map(str, config.image_shape))} images of "
                       f"{config.num_classes} classes but {data.name} has {'x'.join(map(str, data.image_shape))} "
                       f"images of {data.num_classes}: choose the model's own --dataset")
    if not args.index < len(data.test_x):
        raise BadInput(f"--index {args.index} is outside the test split (0..{len(data.test_x) - 1})")
    label = args.label if args.label is not None else int(data.test_y[args.index])
    spread = data_spread(model, data.test_x, data.test_y)
    traversal = traverse_image(model, data.test_x[args.index], spread, label, args.steps, args.range_)
    shown = traversal.without_collapsed() if args.hide_collapsed else traversal
    if shown.rows == 0:
        raise BadInput(f"all {traversal.rows} latent dimensions are collapsed (KL below 0.1 nats): "
                       "nothing is left to draw; omit --hide-collapsed")
    result = save_traversal(shown, args.out, scale=args.scale, fps=args.fps)
    return {**result, "format": suffix[1:], "index": args.index,
            "label": traversal.label, "test_label": int(data.test_y[args.index]),
            "latent_dim": config.latent_dim, "rows": shown.rows, "steps": shown.steps,
            "offsets": [float(v) for v in shown.offsets], "basis": shown.basis,
            "order": [int(v) for v in shown.order],
            "kl_per_dim": None if shown.kl_per_dim is None else [float(v) for v in shown.kl_per_dim],
            "collapsed": [bool(v) for v in shown.collapsed],
            "hidden_collapsed": int(traversal.rows - shown.rows), "dataset": data.name}
