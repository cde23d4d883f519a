"""`evaluate`: one model's figures on its test split, headless.

    python main.py evaluate --checkpoint M [--iw-samples 1000] [--samples 1000] [--dataset D] [--json]

The likelihood figures (core.comparison.evaluation_fields) with the importance-weighted bound's progress on
a bar, then what the digit judge reads in the model's images.

core.cli registers the command (``add_evaluate_parser``, ``cmd_evaluate``).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from core.cli_args import metric_flags
from core.cli_loading import load_model, load_test_split
from core.cli_progress import with_bound_bar


def add_evaluate_parser(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `evaluate` to core.cli's sub-commands; ``common`` adds --json, --debug and --device."""
    evaluate = sub.add_parser("evaluate", help="evaluate a model on the test split")
    evaluate.add_argument("--checkpoint", required=True)
    metric_flags(evaluate, iw_default=1000, dataset_help="override the dataset recorded in the model file",
                 samples_help="prior draws the digit judge reads")
    common(evaluate)


def cmd_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """The likelihood figures, then what the digit judge reads in the model's images
    (core.generation_metrics). Without the judge, or for a dataset it cannot read, its fields are
    left out and judge_note says why; the likelihood figures are printed all the same."""
    from core.comparison import evaluation_fields

    checkpoint, model = load_model(args.checkpoint, args.device)
    data = load_test_split(checkpoint, args.data_dir, args.dataset)
    return with_bound_bar("", args.iw_samples, lambda progress: evaluation_fields(
        model, data, args.iw_samples, args.samples, progress, args.data_dir))
