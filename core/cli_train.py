"""`train`: train a model and save it (checkpointed every epoch), or continue one, headless.

    python main.py train [--dataset mnist] [--kind vae|cvae|ae] [--epochs 10] [--resume M] --out M [--json]

core.training.Trainer runs the loop, with a progress bar on stderr; the result is the model's test
figures (as evaluate reports them), the run's speed and the device it ran on.

core.cli registers the command (``add_train_parser``, ``cmd_train``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from core.cli_args import (MAX_IW_SAMPLES, BadInput, config_checked, finite_number, non_negative_int, real_number,
                           whole_number)
from core.cli_progress import ProgressBar
from core.comparison import test_fields
from core.config import ModelConfig, TrainConfig
from core.errors import LatentMorphError


def add_train_parser(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `train` to core.cli's sub-commands; ``common`` adds --json, --debug and --device."""
    train = sub.add_parser("train", help="train a model and save it")
    train.add_argument("--dataset", default="mnist", help="mnist | mnist-sample | fashion-mnist | kmnist | folder:PATH")
    train.add_argument("--data-dir", default=None, help="where datasets live (default: $LATENT_MORPH_DATA or a per-user folder)")
    train.add_argument("--kind", default="vae", choices=["vae", "cvae", "ae"])
    train.add_argument("--arch", default="mlp", choices=["mlp", "conv"])
    train.add_argument("--hidden", default=",".join(map(str, ModelConfig.hidden)), help="hidden widths, comma-separated (default %(default)s)")
    train.add_argument("--latent-dim", type=config_checked(non_negative_int, "ModelConfig", "latent_dim"), default=2)
    train.add_argument("--beta", type=config_checked(finite_number, "ModelConfig", "beta"), default=1.0)
    train.add_argument("--recon", default="bce", choices=["bce", "mse"])
    train.add_argument("--epochs", type=config_checked(non_negative_int, "TrainConfig", "epochs"), default=10)
    train.add_argument("--batch-size", type=config_checked(non_negative_int, "TrainConfig", "batch_size"), default=128)
    train.add_argument("--lr", type=config_checked(finite_number, "TrainConfig", "lr"), default=1e-3)
    train.add_argument("--seed", type=config_checked(non_negative_int, "TrainConfig", "seed"), default=0)
    train.add_argument("--beta-schedule", type=config_checked(str, "TrainConfig", "beta_schedule"), default=None,
                       metavar="constant|warmup:EPOCHS|cyclical:CYCLES[:RATIO]",
                       help="the curve beta follows: warm-up from 0 over EPOCHS epochs, or CYCLES cycles over "
                            "the run, rising over RATIO of each (default 0.5) then held (default constant)")
    train.add_argument("--free-bits", type=config_checked(finite_number, "TrainConfig", "free_bits"), default=None,
                       metavar="NATS", help="KL floor per latent dimension: a dimension below NATS gets no KL "
                                            "gradient (default 0, off)")
    train.add_argument("--out", default="model.safetensors", help="model file to write (checkpointed every epoch)")
    train.add_argument("--resume", default=None, help="continue training from this model file")
    train.add_argument("--max-seconds", type=real_number(0, low_open=True), default=None, help="stop (and save) after this many seconds")
    train.add_argument("--iw-samples", type=whole_number(0, MAX_IW_SAMPLES), default=0, help="also report the IW estimate of -log p(x)")
    common(train)


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from core.config import parse_hidden
    from core.data import load_dataset
    from core.evaluation import evaluate
    from core.files import load_checkpoint
    from core.training import Trainer
    from core.training_control import TrainingControl

    resume = load_checkpoint(args.resume) if args.resume else None
    if resume is not None:
        # --resume continues the recorded run (its dataset, model, batch size, learning rate, seed, beta
        # schedule and free bits); --epochs is the new total and --device where to run
        if resume.train_config is None:
            raise LatentMorphError(f"{args.resume}: this model file holds no training settings, so it cannot "
                                   "be resumed; train a new model instead")
        for flag, name in (("--beta-schedule", "beta_schedule"), ("--free-bits", "free_bits")):
            given, recorded = getattr(args, name), getattr(resume.train_config, name)
            if given is not None and getattr(replace(resume.train_config, **{name: given}), name) != recorded:
                raise BadInput(f"{flag} cannot change when resuming: {args.resume} continues its recorded "
                               f"{name} ({recorded}); omit {flag}, or train a new model")
        train_config = replace(resume.train_config, epochs=args.epochs, device=args.device)
        model_config = resume.model_config
        data = load_dataset(train_config.dataset, args.data_dir, val_fraction=train_config.val_fraction,
                            seed=train_config.seed)
    else:
        train_config = TrainConfig(dataset=args.dataset, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                   seed=args.seed, device=args.device, beta_schedule=args.beta_schedule or "constant",
                                   free_bits=args.free_bits or 0.0)
        hidden = parse_hidden(args.hidden)
        ModelConfig(kind=args.kind, arch=args.arch, hidden=hidden, latent_dim=args.latent_dim, beta=args.beta,
                    recon=args.recon)  # validate before loading data
        data = load_dataset(args.dataset, args.data_dir, val_fraction=train_config.val_fraction, seed=args.seed)
        model_config = ModelConfig(kind=args.kind, arch=args.arch, hidden=hidden, latent_dim=args.latent_dim,
                                   beta=args.beta, recon=args.recon, num_classes=data.num_classes,
                                   image_shape=data.image_shape)
    control = TrainingControl()
    bar = ProgressBar()
    started = time.perf_counter()

    def on_step(report) -> None:
        if args.max_seconds is not None and time.perf_counter() - started > args.max_seconds:
            control.request_stop()
        done = report.epoch + report.step / report.steps_per_epoch
        beta = f"β {report.beta:5.3f} " if train_config.beta_schedule != "constant" else ""
        bar.update(done / train_config.epochs, f"epoch {report.epoch + 1}/{train_config.epochs} "
                   f"loss {report.loss:7.2f} recon {report.recon:7.2f} KL {report.kl:6.2f} {beta}"
                   f"{report.samples_per_second:,.0f} samples/s")

    def on_epoch(report) -> None:
        bar.update(report.row.epoch / report.epochs, f"epoch {report.row.epoch}/{report.epochs} "
                   f"val {report.row.val_loss:.2f} ETA {report.eta_seconds:.0f} s", force=True)

    trainer = Trainer(model_config, train_config, data, checkpoint_path=args.out, resume=resume,
                      on_step=on_step, on_epoch=on_epoch, control=control)
    if trainer.resume_note:  # e.g. a CUDA run resumed on the CPU: not bit-exact, and the user should know
        print(f"latent-morph train: note: {trainer.resume_note}", file=sys.stderr)
    if trainer.device_note:  # MPS lacks an operation: the run is on the CPU
        print(f"latent-morph train: note: {trainer.device_note}", file=sys.stderr)
    result = trainer.run()
    bar.done()
    if result.status == "diverged":
        raise LatentMorphError(result.message)
    metrics = evaluate(result.model, data.test_x, data.test_y, iw_samples=args.iw_samples, seed=args.seed)
    return {
        "status": result.status, **test_fields(metrics),
        "epochs": result.position.epoch, "beta_schedule": train_config.beta_schedule,
        "free_bits": train_config.free_bits, "train_seconds": result.train_seconds,
        "samples_per_second": result.samples_per_second, "checkpoint": str(Path(args.out)),
        "device": str(trainer.device), "threads": torch.get_num_threads(),
        "resume_note": trainer.resume_note or None,
        "device_note": trainer.device_note or None,
    }
