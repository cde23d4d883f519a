"""`compare`: 2 to 4 models evaluated as `evaluate` does, on the same test images and prior draws,
one row each (core.comparison.comparison_row, which the window's Compare view shows too).

core.cli registers the command (``add_compare_parser``, ``cmd_compare``, ``compare_table`` for its
text output); ``compare_table`` imports core.cli's ``_text`` when it runs (core.cli imports this module).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from core.cli_args import BadInput, metric_flags
from core.cli_loading import load_model, load_test_split
from core.cli_progress import with_bound_bar
from core.comparison import MAX_COMPARED, MIN_COMPARED, ComparisonError


def add_compare_parser(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `compare` to core.cli's sub-commands; ``common`` adds --json, --debug and --device."""
    compare = sub.add_parser(
        "compare", help="evaluate 2 to 4 models on the same test images, one row each",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Evaluate each model as evaluate does, on the same test images (the first model's\n"
                    "dataset unless --dataset). The models must share image shape and class count.",
        epilog="example: an AE, a VAE and a beta-VAE trained on the same data with the same seed, compared\n"
               "  python main.py train --dataset mnist --kind ae --epochs 3 --seed 0 --out ae.safetensors\n"
               "  python main.py train --dataset mnist --kind vae --epochs 3 --seed 0 --out vae.safetensors\n"
               "  python main.py train --dataset mnist --kind vae --beta 4 --epochs 3 --seed 0 "
               "--out beta4.safetensors\n"
               "  python main.py compare --checkpoint ae.safetensors --checkpoint vae.safetensors "
               "--checkpoint beta4.safetensors")
    compare.add_argument("--checkpoint", action="append", required=True,
                         help=f"a model file; give {MIN_COMPARED} to {MAX_COMPARED}, each after its own --checkpoint")
    metric_flags(compare, iw_default=0, dataset_help="the test images (default: the first model's dataset)",
                 samples_help="prior draws the digit judge reads per model, the same draws for each")
    common(compare)


def cmd_compare(args: argparse.Namespace) -> dict[str, Any]:
    """Each model evaluated as evaluate does, on the same test images and the same prior
    draws: {"models": [{"checkpoint", "kind", "beta" (null for an autoencoder), "latent_dim", and evaluate's
    fields}, ...], "dataset"}. The models must share image shape and class count with the test images.
    Each row is core.comparison.comparison_row, which the window's Compare view shows too."""
    from core.comparison import comparison_row

    paths = args.checkpoint
    if not MIN_COMPARED <= len(paths) <= MAX_COMPARED:
        raise BadInput(f"compare takes {MIN_COMPARED} to {MAX_COMPARED} models, got {len(paths)}: "
                       "give each model file after its own --checkpoint")
    loaded = [load_model(path, args.device) for path in paths]
    first = loaded[0][1].config
    for path, (_, model) in zip(paths[1:], loaded[1:]):
        _same_shape(path, model.config, f"the first model ({paths[0]})", first.image_shape, first.num_classes)
    data = load_test_split(loaded[0][0], args.data_dir, args.dataset)
    _same_shape(paths[0], first, f"the test images of {data.name}", data.image_shape, data.num_classes)
    rows = []
    for number, (path, (_, model)) in enumerate(zip(paths, loaded), 1):
        rows.append(with_bound_bar(f"model {number}/{len(paths)}: ", args.iw_samples, lambda progress: comparison_row(
            path, model, data, args.iw_samples, args.samples, progress, args.data_dir)))
    return {"models": rows, "dataset": data.name}


def _same_shape(path: str, config, other: str, image_shape: tuple[int, ...], num_classes: int) -> None:
    """Refuses (exit 2) a model whose image shape or class count is not ``other``'s
    (core.comparison.check_comparable says how)."""
    from core.comparison import check_comparable

    try:
        check_comparable(path, config, other, image_shape, num_classes)
    except ComparisonError as exc:
        raise BadInput(str(exc)) from None


# compare's table: (header, field of a model's row); a dash where a figure is null or absent
COMPARE_COLUMNS = (
    ("checkpoint", "checkpoint"), ("kind", "kind"), ("beta", "beta"), ("latent", "latent_dim"),
    ("-ELBO", "test_elbo"), ("recon", "test_recon"), ("KL", "test_kl"), ("IW -log p(x)", "nll"),
    ("active", "active_units"), ("collapse", "posterior_collapse"), ("kNN acc", "knn_accuracy"),
    ("prior conf", "prior_confidence"), ("confident", "prior_confident_share"),
    ("cond fidelity", "conditional_fidelity"), ("recon judged", "recon_judge_accuracy"),
    ("prior classes", "prior_class_histogram"),
)
_LEFT_ALIGNED = ("checkpoint", "kind", "prior_class_histogram")


def compare_table(result: dict[str, Any]) -> str:
    """compare's text output: a header, one aligned row per model, then the judge's notes (if any)."""
    from core.cli import _text

    def cell(row: dict[str, Any], field: str) -> str:
        value = row.get(field)
        if field == "conditional_fidelity" and value is not None:
            value = value["mean"]
        if field == "beta" and value is not None:
            return f"{value:g}"
        if field == "prior_class_histogram" and value is not None:
            return " ".join(map(str, value))
        return _text(value)

    table = [[header for header, _ in COMPARE_COLUMNS]]
    table += [[cell(row, field) for _, field in COMPARE_COLUMNS] for row in result["models"]]
    widths = [max(len(line[column]) for line in table) for column in range(len(COMPARE_COLUMNS))]
    lines = ["  ".join(text.ljust(width) if field in _LEFT_ALIGNED else text.rjust(width)
                       for text, width, (_, field) in zip(line, widths, COMPARE_COLUMNS)).rstrip()
             for line in table]
    lines.append(f"dataset: {result['dataset']}")
    notes = dict.fromkeys(row["judge_note"] for row in result["models"] if "judge_note" in row)
    lines += [f"judge: {note}" for note in notes]
    return "\n".join(lines)
