"""`judge`: train the judge for a dataset other than MNIST and keep it beside the data, headless.

    python main.py judge --dataset fashion-mnist|kmnist|folder:PATH [--data-dir D] [--epochs 3] [--json]

The window trains the same judge in the background the first time it needs one (core.judge_training);
this command does it ahead of time, or on a machine with no display. MNIST digit sets are read by the
shipped judge and are refused with exit status 2, as is an unknown dataset.

core.cli registers the command (``add_judge_parser``, ``cmd_judge``).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from core.cli_args import BadInput, whole_number
from core.cli_progress import ProgressBar

HELP = "train the judge that reads a dataset other than MNIST (Fashion-MNIST, KMNIST, a folder)"
DESCRIPTION = ("Train the small CNN classifier that reads what a model of this dataset draws (its prior draws, "
               "morph frames, decision regions), and keep it beside the data for evaluate, compare and the "
               "window. MNIST is read by the judge that ships with the app.")
MAX_EPOCHS = 50


def add_judge_parser(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `judge` to core.cli's sub-commands; ``common`` adds --json, --debug and --device."""
    from core.judge_training import ON_DEMAND_EPOCHS

    p = sub.add_parser("judge", help=HELP, description=DESCRIPTION)
    p.add_argument("--dataset", required=True, help="fashion-mnist | kmnist | folder:PATH")
    p.add_argument("--data-dir", default=None, help="where datasets live (default: $LATENT_MORPH_DATA or a "
                                                    "per-user folder); the judge is kept there")
    p.add_argument("--epochs", type=whole_number(1, MAX_EPOCHS), default=ON_DEMAND_EPOCHS,
                   help="passes over the training images (default %(default)s)")
    p.add_argument("--seed", type=whole_number(0, 2**31 - 1), default=0)
    common(p)


def cmd_judge(args: argparse.Namespace) -> dict[str, Any]:
    """Train and keep the judge for --dataset; print where it went and its test accuracy."""
    from core.data import load_dataset
    from core.errors import DatasetError
    from core.judge import JudgeUnavailable, can_train_judge_for, judges
    from core.judge_training import train_judge_for

    if judges(args.dataset):
        raise BadInput(f"--dataset: {args.dataset} is read by the judge that ships with the app; "
                       "no judge is trained for it")
    if not can_train_judge_for(args.dataset):
        raise BadInput("--dataset: give fashion-mnist, kmnist or folder:PATH")
    try:
        data = load_dataset(args.dataset, args.data_dir, seed=args.seed)
    except DatasetError as exc:
        raise BadInput(str(exc)) from None
    bar = ProgressBar()
    try:
        judge = train_judge_for(data, args.data_dir, report=lambda f: bar.update(f, "training the judge"),
                                epochs=args.epochs, seed=args.seed)
    except JudgeUnavailable as exc:
        raise BadInput(str(exc)) from None
    finally:
        bar.done()
    return {"dataset": data.name, "judge": str(judge.path), "test_accuracy": judge.test_accuracy,
            "classes": list(data.class_names), "epochs": args.epochs}
