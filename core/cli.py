"""The headless sub-commands: train, evaluate, morph, generate, manifold.

Exit status: 0 success, 2 bad input (one line naming what was wrong), 1 failure while running
(one clear line; a traceback only with --debug). ``--json`` prints exactly one JSON object on
stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

from core.config import ModelConfig, TrainConfig
from core.errors import ConfigError, DatasetError, LatentMorphError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """Raised instead of argparse's own exit so every bad input ends the same way."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + exits; we want one line
        raise BadInput(message)


def _positive_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    return value


def _setting(parse: Callable[[str], Any], config: str, field: str) -> Callable[[str], Any]:
    """``parse``, but text it cannot read is described by core.config, which states the allowed range."""
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except argparse.ArgumentTypeError:
            import core.config

            try:
                getattr(core.config, config)(**{field: text})
            except ConfigError as exc:
                raise argparse.ArgumentTypeError(exc.reason) from None
            raise
    return convert


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="latent-morph", description="Train and explore VAEs headless. "
                     "Run with no command to open the window.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
        p.add_argument("--debug", action="store_true", help="show tracebacks on failure")
        p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])

    train = sub.add_parser("train", help="train a model and save it")
    train.add_argument("--dataset", default="mnist", help="mnist | mnist-sample | fashion-mnist | kmnist | folder:PATH")
    train.add_argument("--data-dir", default=None, help="where datasets live (default: $LATENT_MORPH_DATA or a per-user folder)")
    train.add_argument("--kind", default="vae", choices=["vae", "cvae", "ae"])
    train.add_argument("--arch", default="mlp", choices=["mlp", "conv"])
    train.add_argument("--hidden", default=",".join(map(str, ModelConfig.hidden)), help="hidden widths, comma-separated (default %(default)s)")
    train.add_argument("--latent-dim", type=_setting(_positive_int, "ModelConfig", "latent_dim"), default=2)
    train.add_argument("--beta", type=_setting(_number, "ModelConfig", "beta"), default=1.0)
    train.add_argument("--recon", default="bce", choices=["bce", "mse"])
    train.add_argument("--epochs", type=_setting(_positive_int, "TrainConfig", "epochs"), default=10)
    train.add_argument("--batch-size", type=_setting(_positive_int, "TrainConfig", "batch_size"), default=128)
    train.add_argument("--lr", type=_setting(_number, "TrainConfig", "lr"), default=1e-3)
    train.add_argument("--seed", type=_setting(_positive_int, "TrainConfig", "seed"), default=0)
    train.add_argument("--out", default="model.safetensors", help="model file to write (checkpointed every epoch)")
    train.add_argument("--resume", default=None, help="continue training from this model file")
    train.add_argument("--max-seconds", type=_number, default=None, help="stop (and save) after this many seconds")
    train.add_argument("--iw-samples", type=_positive_int, default=0, help="also report the IW estimate of -log p(x)")
    common(train)

    evaluate = sub.add_parser("evaluate", help="evaluate a model on the test split")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--iw-samples", type=_positive_int, default=1000)
    evaluate.add_argument("--data-dir", default=None)
    evaluate.add_argument("--dataset", default=None, help="override the dataset recorded in the model file")
    common(evaluate)

    morph = sub.add_parser("morph", help="export a morph between two digits")
    morph.add_argument("--checkpoint", required=True)
    morph.add_argument("--from-index", type=_positive_int)
    morph.add_argument("--to-index", type=_positive_int)
    morph.add_argument("--from-digit", type=_positive_int)
    morph.add_argument("--to-digit", type=_positive_int)
    morph.add_argument("--frames", type=_positive_int, default=30)
    morph.add_argument("--path", default="linear", choices=["linear", "slerp"])
    morph.add_argument("--easing", default="linear", choices=["linear", "ease-in-out"])
    morph.add_argument("--fps", type=_number, default=24.0)
    morph.add_argument("--scale", type=_positive_int, default=10, help="pixel scale: 28 px -> 28*scale px")
    morph.add_argument("--bounce", action="store_true", help="play forward then backward")
    morph.add_argument("--out", required=True, help=".gif, .mp4 or .png (a strip)")
    morph.add_argument("--data-dir", default=None)
    morph.add_argument("--dataset", default=None)
    common(morph)

    generate = sub.add_parser("generate", help="sample new images (of a class, for a CVAE)")
    generate.add_argument("--checkpoint", required=True)
    generate.add_argument("--digit", type=_positive_int, default=None, help="class index (CVAE)")
    generate.add_argument("--count", type=_positive_int, default=16)
    generate.add_argument("--seed", type=_positive_int, default=0)
    generate.add_argument("--scale", type=_positive_int, default=2)
    generate.add_argument("--out", required=True, help=".png grid")
    common(generate)

    grid = sub.add_parser("manifold", help="decode an n x n grid over the 2-D latent plane")
    grid.add_argument("--checkpoint", required=True)
    grid.add_argument("--grid", type=_positive_int, default=20)
    grid.add_argument("--digit", type=_positive_int, default=None, help="class to decode under (CVAE)")
    grid.add_argument("--scale", type=_positive_int, default=1)
    grid.add_argument("--out", required=True, help=".png")
    common(grid)
    return parser


def run_cli(argv: list[str]) -> int:
    """Entry point for the sub-commands; returns the exit status."""
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
    except BadInput as exc:
        print(f"latent-morph: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        result = COMMANDS[args.command](args)
    except (BadInput, ConfigError) as exc:
        print(f"latent-morph {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"latent-morph {args.command}: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # the last line of defence: one clear line, no traceback
        if debug:
            raise
        text = str(exc) if isinstance(exc, LatentMorphError) else f"{type(exc).__name__}: {exc}"
        if _is_out_of_memory(exc):
            text = "out of memory: try a smaller --batch-size or --device cpu"
        print(f"latent-morph {args.command}: {text}", file=sys.stderr)
        return EXIT_FAILURE
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    return EXIT_OK


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, stream=None, enabled: bool = True) -> None:
        # sys.stderr looked up now, not at import: it may have been replaced since (tests, embedding)
        self.stream, self.enabled, self._last = stream or sys.stderr, enabled, 0.0

    def update(self, fraction: float, text: str, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last < 0.1):
            return
        self._last = now
        filled = int(round(30 * max(0.0, min(1.0, fraction))))
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {100 * fraction:5.1f}% {text}\033[K")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from core.config import parse_hidden
    from core.data import load_dataset
    from core.evaluation import evaluate
    from core.files import load_checkpoint
    from core.training import Trainer, TrainingControl

    train_config = TrainConfig(dataset=args.dataset, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                               seed=args.seed, device=args.device)
    hidden = parse_hidden(args.hidden)
    ModelConfig(kind=args.kind, arch=args.arch, hidden=hidden, latent_dim=args.latent_dim, beta=args.beta,
                recon=args.recon)  # validate before loading data
    resume = load_checkpoint(args.resume) if args.resume else None
    data = load_dataset(args.dataset, args.data_dir, val_fraction=train_config.val_fraction, seed=args.seed)
    model_config = ModelConfig(kind=args.kind, arch=args.arch, hidden=hidden, latent_dim=args.latent_dim,
                               beta=args.beta, recon=args.recon, num_classes=data.num_classes,
                               image_shape=data.image_shape)
    if resume is not None:
        model_config = resume.model_config
    control = TrainingControl()
    bar = ProgressBar()
    started = time.perf_counter()

    def on_step(report) -> None:
        if args.max_seconds is not None and time.perf_counter() - started > args.max_seconds:
            control.request_stop()
        done = report.epoch + report.step / report.steps_per_epoch
        bar.update(done / train_config.epochs, f"epoch {report.epoch + 1}/{train_config.epochs} "
                   f"loss {report.loss:7.2f} recon {report.recon:7.2f} KL {report.kl:6.2f} "
                   f"{report.samples_per_second:,.0f} samples/s")

    def on_epoch(report) -> None:
        bar.update(report.epoch / report.epochs, f"epoch {report.epoch}/{report.epochs} val {report.val_loss:.2f} "
                   f"ETA {report.eta_seconds:.0f} s", force=True)

    trainer = Trainer(model_config, train_config, data, checkpoint_path=args.out, resume=resume,
                      on_step=on_step, on_epoch=on_epoch, control=control)
    result = trainer.run()
    bar.done()
    if result.status == "diverged":
        raise LatentMorphError(result.message)
    metrics = evaluate(result.model, data.test_x, data.test_y, iw_samples=args.iw_samples, seed=args.seed)
    output = {
        "status": result.status,
        "test_elbo": metrics["elbo"], "test_recon": metrics["recon"], "test_kl": metrics["kl"],
        "test_loss": metrics["loss"], "active_units": metrics["active_units"],
        "epochs": result.position.epoch, "train_seconds": result.train_seconds,
        "samples_per_second": result.samples_per_second, "checkpoint": str(Path(args.out)),
        "device": str(trainer.device), "threads": torch.get_num_threads(),
    }
    if "nll" in metrics:
        output["nll"] = metrics["nll"]
    return output


def _load_model(path: str, device: str = "cpu"):
    from core.device import resolve_device
    from core.files import load_checkpoint
    from core.models import build_model

    checkpoint = load_checkpoint(path)
    model = build_model(checkpoint.model_config)
    model.load_state_dict(checkpoint.state_dict)
    return checkpoint, model.to(resolve_device(device)).eval()


def _test_split(checkpoint, data_dir: str | None, override: str | None):
    from core.data import load_dataset

    name = override or checkpoint.dataset or "mnist-sample"
    return load_dataset(name, data_dir, seed=checkpoint.train_config.seed if checkpoint.train_config else 0)


def _cmd_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from core.evaluation import evaluate

    checkpoint, model = _load_model(args.checkpoint, args.device)
    data = _test_split(checkpoint, args.data_dir, args.dataset)
    bar = ProgressBar()
    metrics = evaluate(model, data.test_x, data.test_y, iw_samples=args.iw_samples,
                       progress=lambda f: bar.update(f, "importance-weighted bound"))
    bar.done()
    output = {"test_elbo": metrics["elbo"], "test_recon": metrics["recon"], "test_kl": metrics["kl"],
              "test_loss": metrics["loss"], "active_units": metrics["active_units"],
              "kl_per_dim": metrics["kl_per_dim"], "iw_samples": args.iw_samples, "dataset": data.name}
    output["nll"] = metrics.get("nll", math.nan) if model.config.is_variational else None
    return output


def _cmd_morph(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from core.export import export_morph
    from core.latent import check_frames, check_label, decode, encode, interpolate

    by_index = args.from_index is not None or args.to_index is not None
    by_digit = args.from_digit is not None or args.to_digit is not None
    if by_index == by_digit or (by_index and None in (args.from_index, args.to_index)) or \
            (by_digit and None in (args.from_digit, args.to_digit)):
        raise BadInput("give either --from-index I --to-index J or --from-digit A --to-digit B")
    check_frames(args.frames)
    checkpoint, model = _load_model(args.checkpoint, args.device)
    data = _test_split(checkpoint, args.data_dir, args.dataset)
    labels = data.test_y.numpy()
    if by_index:
        indices = [args.from_index, args.to_index]
        for name, index in zip(("--from-index", "--to-index"), indices):
            if not 0 <= index < len(labels):
                raise BadInput(f"{name} {index} is outside the test split (0..{len(labels) - 1})")
    else:
        indices = []
        for name, digit in zip(("--from-digit", "--to-digit"), (args.from_digit, args.to_digit)):
            check_label(digit, model.config.num_classes)
            matches = np.flatnonzero(labels == digit)
            if len(matches) == 0:
                raise BadInput(f"{name} {digit}: no test image of that class")
            indices.append(int(matches[0]))
    conditional = model.config.is_conditional
    x, y = data.test_x[indices], data.test_y[indices]
    mu, _ = encode(model, x, y if conditional else None)
    latents = interpolate(mu[0], mu[1], args.frames, args.path, args.easing)
    frames = decode(model, latents, int(y[0]) if conditional else None)
    result = export_morph(frames, args.out, scale=args.scale, fps=args.fps, bounce=args.bounce)
    result["from_index"], result["to_index"] = indices
    return result


def _cmd_generate(args: argparse.Namespace) -> dict[str, Any]:
    from core.export import export_grid
    from core.latent import generate

    _, model = _load_model(args.checkpoint, args.device)
    if not model.config.is_conditional and args.digit is not None:
        raise BadInput("--digit needs a CVAE; this model is not conditional (omit --digit to sample the prior)")
    if model.config.is_conditional and args.digit is None:
        raise BadInput(f"--digit is required for a CVAE (0..{model.config.num_classes - 1})")
    images = generate(model, args.count, args.digit, seed=args.seed)
    return export_grid(images, args.out, columns=math.ceil(math.sqrt(args.count)), scale=args.scale)


def _cmd_manifold(args: argparse.Namespace) -> dict[str, Any]:
    from core.export import export_grid
    from core.latent import check_label, manifold

    _, model = _load_model(args.checkpoint, args.device)
    if model.config.latent_dim != 2:
        raise BadInput(f"the manifold grid needs a 2-D latent space; this model has {model.config.latent_dim}")
    if model.config.is_conditional:
        if args.digit is None:
            raise BadInput("--digit is required for a CVAE")
        check_label(args.digit, model.config.num_classes)
    images, _ = manifold(model, args.grid, label=args.digit)
    result = export_grid(images.reshape(-1, *images.shape[2:]), args.out, columns=args.grid, scale=args.scale)
    return result


COMMANDS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "train": _cmd_train, "evaluate": _cmd_evaluate, "morph": _cmd_morph,
    "generate": _cmd_generate, "manifold": _cmd_manifold,
}
