"""`inspect`: one digit through the model, headless: mu, logvar, eps, z, its loss terms and how
unusual it is among the test digits.

    python main.py inspect --checkpoint M (--index I | --image FILE [--label A]) [--seed 0] [--json]

core.anatomy does the work; a test image is taken by its index, any image file is converted as folder
datasets are.

core.cli registers the command (``add_inspect_parser``, ``cmd_inspect``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from core.cli_args import BadInput, config_checked, non_negative_int
from core.cli_loading import load_model_for_label, load_test_split
from core.errors import DatasetError


def add_inspect_parser(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `inspect` to core.cli's sub-commands; ``common`` adds --json, --debug and --device."""
    inspect = sub.add_parser("inspect", help="one digit through the model: mu, logvar, eps, z, its loss "
                             "terms and how unusual it is among the test digits")
    inspect.add_argument("--checkpoint", required=True)
    inspect.add_argument("--index", type=non_negative_int, default=None, help="a test image, by its index")
    inspect.add_argument("--image", default=None, help="any image file, converted as folder datasets are")
    inspect.add_argument("--label", type=non_negative_int, default=None,
                         help="CVAE: the class given with the image (required with --image; "
                         "default with --index: the test image's own)")
    inspect.add_argument("--seed", type=config_checked(non_negative_int, "TrainConfig", "seed"), default=0,
                         help="seeds the noise eps drawn for z (default %(default)s)")
    inspect.add_argument("--data-dir", default=None)
    inspect.add_argument("--dataset", default=None, help="override the dataset recorded in the model file")
    common(inspect)


def cmd_inspect(args: argparse.Namespace) -> dict[str, Any]:
    """core.anatomy for one test digit (--index) or image file (--image). ood_percentile: the percent of
    test digits the model finds more likely (lower single-sample negative ELBO; reconstruction for an AE)."""
    from core.anatomy import anatomy, read_digit_image, reference_scores

    if args.index is not None and args.image is not None:
        raise BadInput("--index and --image cannot be combined: inspect one test image or one image file")
    if args.index is None and args.image is None:
        raise BadInput("give a test image (--index I) or an image file (--image PATH)")
    if args.image is not None and not Path(args.image).is_file():
        raise BadInput(f"--image {args.image}: no such file")
    checkpoint, model = load_model_for_label(args)
    config = model.config
    data = load_test_split(checkpoint, args.data_dir, args.dataset)
    if args.index is not None:
        if not args.index < len(data.test_x):
            raise BadInput(f"--index {args.index} is outside the test split (0..{len(data.test_x) - 1})")
        x, label = data.test_x[args.index], int(data.test_y[args.index])
        label = args.label if args.label is not None else label
    else:
        if config.is_conditional and args.label is None:
            raise BadInput(f"--label is required with --image for a CVAE (0..{config.num_classes - 1})")
        try:
            x = read_digit_image(args.image, config.image_shape)
        except DatasetError as exc:
            raise BadInput(str(exc)) from None
        label = args.label
    reference = reference_scores(model, data.test_x, data.test_y)
    result = anatomy(model, x, label, seed=args.seed, reference=reference)

    def listed(values) -> list[float] | None:
        return None if values is None else [float(v) for v in values]

    # "label" is the class a CVAE is given; "test_label" the test digit's own class, for every kind
    test_label = int(data.test_y[args.index]) if args.index is not None else None
    return {"kind": result.kind, "index": args.index, "image": args.image, "label": result.label,
            "test_label": test_label,
            "seed": result.seed, "mu": listed(result.mu), "logvar": listed(result.logvar),
            "eps": listed(result.eps), "z": listed(result.z), "kl_per_dim": listed(result.kl_per_dim),
            "kl": result.kl, "recon": result.recon, "neg_elbo": result.neg_elbo,
            "ood_percentile": result.ood_percentile, "ood_score": result.ood_score,
            "dataset": data.name, "reference_size": result.reference_size}
