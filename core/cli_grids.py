"""`generate` and `manifold`: decoded images written as one .png grid, headless.

    python main.py generate --checkpoint M [--digit A] [--count 16] [--seed 0] --out samples.png [--json]
    python main.py manifold --checkpoint M [--grid 20] [--digit A] --out manifold.png [--json]

generate samples the prior (of one class, for a CVAE); manifold decodes an n x n grid over a 2-D
latent plane (core.latent). core.export.export_grid writes either.

core.cli registers the commands (``add_generate_parser``, ``cmd_generate``, ``add_manifold_parser``,
``cmd_manifold``).
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable

from core.cli_args import MAX_IMAGES, MAX_SCALE, BadInput, config_checked, non_negative_int, whole_number
from core.cli_loading import load_model

MIN_GRID, MAX_GRID = 2, 100  # manifold --grid: images per side


def add_generate_parser(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `generate` to core.cli's sub-commands; ``common`` adds --json, --debug and --device."""
    generate = sub.add_parser("generate", help="sample new images (of a class, for a CVAE)")
    generate.add_argument("--checkpoint", required=True)
    generate.add_argument("--digit", type=non_negative_int, default=None, help="class index (CVAE)")
    generate.add_argument("--count", type=whole_number(1, MAX_IMAGES), default=16)
    generate.add_argument("--seed", type=config_checked(non_negative_int, "TrainConfig", "seed"), default=0)
    generate.add_argument("--scale", type=whole_number(1, MAX_SCALE), default=2)
    generate.add_argument("--out", required=True, help=".png grid")
    common(generate)


def add_manifold_parser(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `manifold` to core.cli's sub-commands; ``common`` adds --json, --debug and --device."""
    grid = sub.add_parser("manifold", help="decode an n x n grid over the 2-D latent plane")
    grid.add_argument("--checkpoint", required=True)
    grid.add_argument("--grid", type=whole_number(MIN_GRID, MAX_GRID), default=20)
    grid.add_argument("--digit", type=non_negative_int, default=None, help="class to decode under (CVAE)")
    grid.add_argument("--scale", type=whole_number(1, MAX_SCALE), default=1)
    grid.add_argument("--out", required=True, help=".png")
    common(grid)


def cmd_generate(args: argparse.Namespace) -> dict[str, Any]:
    from core.export import export_grid
    from core.latent import generate

    _, model = load_model(args.checkpoint, args.device)
    if not model.config.is_conditional and args.digit is not None:
        raise BadInput("--digit needs a CVAE; this model is not conditional (omit --digit to sample the prior)")
    if model.config.is_conditional and args.digit is None:
        raise BadInput(f"--digit is required for a CVAE (0..{model.config.num_classes - 1})")
    images = generate(model, args.count, args.digit, seed=args.seed)
    return export_grid(images, args.out, columns=math.ceil(math.sqrt(args.count)), scale=args.scale)


def cmd_manifold(args: argparse.Namespace) -> dict[str, Any]:
    from core.export import export_grid
    from core.latent import check_label, manifold

    _, model = load_model(args.checkpoint, args.device)
    if model.config.latent_dim != 2:
        raise BadInput(f"the manifold grid needs a 2-D latent space; this model has {model.config.latent_dim}")
    if model.config.is_conditional:
        if args.digit is None:
            raise BadInput("--digit is required for a CVAE")
        check_label(args.digit, model.config.num_classes)
    images, _ = manifold(model, args.grid, label=args.digit)
    result = export_grid(images.reshape(-1, *images.shape[2:]), args.out, columns=args.grid, scale=args.scale)
    return result
