"""Loading for the sub-commands: a model file (``load_model``), one whose ``--label`` is checked
against it (``load_model_for_label``), and the test split a model was trained on (``load_test_split``).

Torch and the model code are imported when a command runs, not when the parser is built.
"""

from __future__ import annotations

import argparse

from core.cli_args import BadInput


def load_model(path: str, device: str = "cpu"):
    from core.files import load_checkpoint

    record = load_checkpoint(path)
    return record, record.build_model(device)


def load_model_for_label(args: argparse.Namespace):
    """(record, model) of ``--checkpoint``, after checking that ``--label`` (when given) suits it."""
    from core.latent import check_label

    checkpoint, model = load_model(args.checkpoint, args.device)
    if args.label is not None:
        if not model.config.is_conditional:
            raise BadInput("--label needs a CVAE; this model is not conditional (omit --label)")
        check_label(args.label, model.config.num_classes)
    return checkpoint, model


def load_test_split(checkpoint, data_dir: str | None, override: str | None):
    from core.comparison import test_split

    return test_split(checkpoint, data_dir, override)

