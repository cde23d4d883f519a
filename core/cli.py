"""The headless sub-commands: train, evaluate, compare, inspect, morph, generate, manifold.

Exit status: 0 success, 2 bad input (one line naming what was wrong), 1 failure while running
(one clear line; a traceback only with --debug). ``--json`` prints exactly one strict JSON object on
stdout (a figure not computed, or not finite, is null, never NaN); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from core.cli_compare import add_compare_parser, cmd_compare, compare_table
from core.comparison import test_fields
from core.cli_traverse import add_traverse_parser, cmd_traverse
from core.cli_judge import add_judge_parser, cmd_judge
from core.cli_timeline import add_timeline_parser, cmd_timeline
from core.config import ModelConfig, TrainConfig
from core.errors import ConfigError, DatasetError, LatentMorphError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2

# Bounds of the number flags no config field owns, refused before anything loads. MAX_SCALE is
# core.export.MAX_SCALE (not imported: that pulls in torch; tests/core/test_cli.py keeps them equal).
MAX_SCALE = 40
MIN_SIZE, MAX_SIZE = 28, 1024  # morph --size, px: core.morph_map's (kept equal by tests/core/test_morph_cli.py)
MORPH_SUFFIXES = (".gif", ".mp4", ".webp", ".apng", ".png")  # core.export.EXPORT_FORMATS, also kept equal
MAX_IMAGES = 10_000  # generate --count
MIN_GRID, MAX_GRID = 2, 100  # manifold --grid: images per side
MAX_IW_SAMPLES = 100_000  # importance samples per test image


class BadInput(Exception):
    """Raised instead of argparse's own exit so every bad input ends the same way.

    ``prog`` is who refuses it: "latent-morph train" for a sub-command's argument."""

    def __init__(self, message: str, prog: str = "latent-morph") -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + exits; we want one line
        raise BadInput(message, self.prog)


def _whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """A converter for a whole-number flag that refuses anything outside low..high (inclusive).

    argparse names the flag in front of the message: "argument --count: must be from 1 to 10000, got 0"."""
    allowed = f"from {low} to {high}" if high is not None else f"{low} or more"

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number {allowed}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
        return value
    return convert


def _number(text: str) -> float:
    """A finite number: "nan" and "inf" are refused, like any other text that is not a usable number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _real(low: float, high: float | None = None, low_open: bool = False) -> Callable[[str], float]:
    """A converter for a number flag that refuses anything outside [low, high] ((low, high] if low_open)."""
    allowed = " and ".join(part for part in (
        f"more than {low:g}" if low_open else f"at least {low:g}",
        f"at most {high:g}" if high is not None else "") if part)

    def convert(text: str) -> float:
        try:
            value = _number(text)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"must be a number {allowed}, got {text!r}") from None
        if value < low or (low_open and value == low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value:g}")
        return value
    return convert


_positive_int = _whole(0)  # 0 or more (the name is older than the range): indices, digits, seeds


def _setting(parse: Callable[[str], Any], config: str, field: str) -> Callable[[str], Any]:
    """``parse``, then the range core.config enforces on ``field``; either refusal is stated as core.config
    states it ("must be from 1 to 512, got 0"), so the flag and its setting in a config file read alike."""
    import core.config

    def check(value: Any) -> None:
        try:
            getattr(core.config, config)(**{field: value})
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(exc.reason) from None

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except argparse.ArgumentTypeError:
            check(_as_number(text))  # the config judges -5 as -5 and 'ten' as 'ten'
            raise
        check(value)
        return value
    return convert


def _as_number(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def metric_flags(p: argparse.ArgumentParser, iw_default: int, dataset_help: str, samples_help: str) -> None:
    """The flags of the commands that evaluate models (evaluate, compare)."""
    p.add_argument("--iw-samples", type=_whole(0, MAX_IW_SAMPLES), default=iw_default,
                   help="importance samples per image for -log p(x); 0 skips it (default %(default)s)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--dataset", default=None, help=dataset_help)
    p.add_argument("--samples", type=_whole(1, MAX_IMAGES), default=1000,
                   help=f"{samples_help} (a CVAE's shared among its classes; default %(default)s)")


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
    train.add_argument("--beta-schedule", type=_setting(str, "TrainConfig", "beta_schedule"), default=None,
                       metavar="constant|warmup:EPOCHS|cyclical:CYCLES[:RATIO]",
                       help="the curve beta follows: warm-up from 0 over EPOCHS epochs, or CYCLES cycles over "
                            "the run, rising over RATIO of each (default 0.5) then held (default constant)")
    train.add_argument("--free-bits", type=_setting(_number, "TrainConfig", "free_bits"), default=None,
                       metavar="NATS", help="KL floor per latent dimension: a dimension below NATS gets no KL "
                                            "gradient (default 0, off)")
    train.add_argument("--out", default="model.safetensors", help="model file to write (checkpointed every epoch)")
    train.add_argument("--resume", default=None, help="continue training from this model file")
    train.add_argument("--max-seconds", type=_real(0, low_open=True), default=None, help="stop (and save) after this many seconds")
    train.add_argument("--iw-samples", type=_whole(0, MAX_IW_SAMPLES), default=0, help="also report the IW estimate of -log p(x)")
    common(train)

    evaluate = sub.add_parser("evaluate", help="evaluate a model on the test split")
    evaluate.add_argument("--checkpoint", required=True)
    metric_flags(evaluate, iw_default=1000, dataset_help="override the dataset recorded in the model file",
                 samples_help="prior draws the digit judge reads")
    common(evaluate)

    add_compare_parser(sub, common)

    morph = sub.add_parser("morph", help="export a morph between two digits, or a tour through several")
    morph.add_argument("--checkpoint", required=True)
    morph.add_argument("--from-index", type=_positive_int)
    morph.add_argument("--to-index", type=_positive_int)
    morph.add_argument("--from-digit", type=_positive_int)
    morph.add_argument("--to-digit", type=_positive_int)
    morph.add_argument("--indices", default=None, help="a tour through test images I,J,K,... in order")
    morph.add_argument("--digits", default=None,
                       help="a tour through classes A,B,C,... in order (the first test image of each)")
    morph.add_argument("--label", type=_positive_int, default=None,
                       help="CVAE: decode every frame as this class (keep the class, morph the style); "
                       "by default the class changes along the path with the points")
    morph.add_argument("--frames", type=_positive_int, default=30)
    morph.add_argument("--path", default="linear", choices=["linear", "slerp"])
    morph.add_argument("--easing", default="linear", choices=["linear", "ease-in-out"])
    morph.add_argument("--fps", type=_number, default=24.0)
    morph.add_argument("--scale", type=_positive_int, default=None,
                       help="pixel scale: 28 px -> 28*scale px (default 10; or give --size)")
    morph.add_argument("--size", type=_whole(MIN_SIZE, MAX_SIZE), default=None,
                       help=f"the digit's height in px, {MIN_SIZE} to {MAX_SIZE} (instead of --scale)")
    morph.add_argument("--upscale", default="nearest", choices=["nearest", "smooth"],
                       help="nearest: crisp pixels (default); smooth: Lanczos resampling")
    morph.add_argument("--with-map", action="store_true",
                       help="draw the latent map beside the digit: the test digits, the path, a dot moving along it")
    morph.add_argument("--caption", action="store_true", help="write the points' classes and t under each frame")
    morph.add_argument("--bounce", action="store_true", help="play forward then backward")
    morph.add_argument("--no-loop", action="store_true", help="play once (GIF, WebP, APNG); by default they loop")
    morph.add_argument("--columns", type=_whole(1, 100), default=None,
                       help="frames per row of a .png strip (default: at most 12 a row, rows filled evenly)")
    morph.add_argument("--out", required=True,
                       help="the file, its format by the suffix: .gif, .mp4, .webp, .apng (animated PNG) or .png "
                       "(a still strip of the frames, in rows)")
    morph.add_argument("--data-dir", default=None)
    morph.add_argument("--dataset", default=None)
    common(morph)

    generate = sub.add_parser("generate", help="sample new images (of a class, for a CVAE)")
    generate.add_argument("--checkpoint", required=True)
    generate.add_argument("--digit", type=_positive_int, default=None, help="class index (CVAE)")
    generate.add_argument("--count", type=_whole(1, MAX_IMAGES), default=16)
    generate.add_argument("--seed", type=_setting(_positive_int, "TrainConfig", "seed"), default=0)
    generate.add_argument("--scale", type=_whole(1, MAX_SCALE), default=2)
    generate.add_argument("--out", required=True, help=".png grid")
    common(generate)

    grid = sub.add_parser("manifold", help="decode an n x n grid over the 2-D latent plane")
    grid.add_argument("--checkpoint", required=True)
    grid.add_argument("--grid", type=_whole(MIN_GRID, MAX_GRID), default=20)
    grid.add_argument("--digit", type=_positive_int, default=None, help="class to decode under (CVAE)")
    grid.add_argument("--scale", type=_whole(1, MAX_SCALE), default=1)
    grid.add_argument("--out", required=True, help=".png")
    common(grid)

    inspect = sub.add_parser("inspect", help="one digit through the model: mu, logvar, eps, z, its loss "
                             "terms and how unusual it is among the test digits")
    inspect.add_argument("--checkpoint", required=True)
    inspect.add_argument("--index", type=_positive_int, default=None, help="a test image, by its index")
    inspect.add_argument("--image", default=None, help="any image file, converted as folder datasets are")
    inspect.add_argument("--label", type=_positive_int, default=None,
                         help="CVAE: the class given with the image (required with --image; "
                         "default with --index: the test image's own)")
    inspect.add_argument("--seed", type=_setting(_positive_int, "TrainConfig", "seed"), default=0,
                         help="seeds the noise eps drawn for z (default %(default)s)")
    inspect.add_argument("--data-dir", default=None)
    inspect.add_argument("--dataset", default=None, help="override the dataset recorded in the model file")
    common(inspect)
    add_traverse_parser(sub, common)
    add_timeline_parser(sub, common)
    add_judge_parser(sub, common)
    return parser


def run_cli(argv: list[str]) -> int:
    """Entry point for the sub-commands; returns the exit status."""
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
    except BadInput as exc:
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
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
    result = _finite(result)
    if args.json:
        print(json.dumps(result, sort_keys=True, allow_nan=False))
    elif args.command in TEXT_TABLES:
        print(TEXT_TABLES[args.command](result))
    else:
        for key, value in result.items():
            print(f"{key}: {_text(value)}")
    return EXIT_OK


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity, however deeply nested, replaced by None (JSON null):
    strict JSON has no NaN, and a figure that could not be computed is absent, not a number."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _text(value: Any) -> str:
    """One value of a result as text output shows it: floats to 4 places, None (not computed) as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    return str(value)


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


def _load_model(path: str, device: str = "cpu"):
    from core.files import load_checkpoint

    record = load_checkpoint(path)
    return record, record.build_model(device)


def load_model_for_label(args: argparse.Namespace):
    """(record, model) of ``--checkpoint``, after checking that ``--label`` (when given) suits it."""
    from core.latent import check_label

    checkpoint, model = _load_model(args.checkpoint, args.device)
    if args.label is not None:
        if not model.config.is_conditional:
            raise BadInput("--label needs a CVAE; this model is not conditional (omit --label)")
        check_label(args.label, model.config.num_classes)
    return checkpoint, model


def _test_split(checkpoint, data_dir: str | None, override: str | None):
    from core.comparison import test_split

    return test_split(checkpoint, data_dir, override)


def _cmd_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """The likelihood figures, then what the digit judge reads in the model's images
    (core.generation_metrics). Without the judge, or for a dataset it cannot read, its fields are
    left out and judge_note says why; the likelihood figures are printed all the same."""
    from core.comparison import evaluation_fields

    checkpoint, model = _load_model(args.checkpoint, args.device)
    data = _test_split(checkpoint, args.data_dir, args.dataset)
    return _with_bound_bar("", args.iw_samples, lambda progress: evaluation_fields(
        model, data, args.iw_samples, args.samples, progress, args.data_dir))


def _with_bound_bar(task: str, iw_samples: int, run: Callable[[Callable[[float], None] | None], Any]) -> Any:
    """``run(progress)`` with the importance-weighted bound's progress on a bar (none when it is not
    computed); ``task`` names the model on the bar."""
    from core.comparison import IW_SHARE

    bar = ProgressBar()
    result = run((lambda f: bar.update(min(1.0, f / IW_SHARE), f"{task}importance-weighted bound"))
                 if iw_samples > 0 else None)
    bar.done()
    return result


def _cmd_morph(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from core.data import class_name
    from core.export import export_morph
    from core.latent import check_frames, check_label, decode, encode, morph_path, one_hot
    from core.morph_map import morph_captions, morph_scene
    from core.points import encode_points

    def listed(flag: str, text: str) -> list[int]:
        try:
            values = [int(part) for part in text.split(",")]
        except ValueError:
            raise BadInput(f"{flag} expects whole numbers separated by commas, like 1,4,7; got {text!r}") from None
        if len(values) < 2:
            raise BadInput(f"{flag} needs at least two numbers separated by commas, got {text!r}")
        return values

    ways = {"--from-index/--to-index": (args.from_index, args.to_index),
            "--from-digit/--to-digit": (args.from_digit, args.to_digit),
            "--indices": (args.indices,), "--digits": (args.digits,)}
    given = [way for way, values in ways.items() if any(value is not None for value in values)]
    if len(given) > 1:
        raise BadInput(f"{' and '.join(given)} cannot be combined: choose the points one way")
    if not given or None in ways[given[0]]:
        raise BadInput("give --from-index I --to-index J, --from-digit A --to-digit B, "
                       "--indices I,J,K or --digits A,B,C")
    way = given[0]
    if args.size is not None and args.scale is not None:
        raise BadInput("--size and --scale cannot be combined: give the digit's height in px (--size) or a "
                       "pixel scale (--scale)")
    suffix = Path(args.out).suffix.lower()
    if suffix not in MORPH_SUFFIXES:
        raise BadInput(f"--out {args.out}: choose a .gif, .mp4, .webp, .apng (animated PNG) or .png (a strip) "
                       "file name")
    if args.columns is not None and suffix != ".png":
        raise BadInput("--columns lays out a .png strip; this export is animated (omit --columns)")
    by_index = way in ("--from-index/--to-index", "--indices")
    if way in ("--indices", "--digits"):
        values = listed(way, ways[way][0])
        names = [way] * len(values)
    else:
        values, names = list(ways[way]), way.split("/")
    check_frames(args.frames)
    checkpoint, model = _load_model(args.checkpoint, args.device)
    conditional, classes = model.config.is_conditional, model.config.num_classes
    if args.label is not None:
        if not conditional:
            raise BadInput("--label needs a CVAE; this model is not conditional (omit --label)")
        check_label(args.label, classes)
    data = _test_split(checkpoint, args.data_dir, args.dataset)
    labels = data.test_y.numpy()
    indices = []
    for name, value in zip(names, values):
        if by_index:
            if not 0 <= value < len(labels):
                raise BadInput(f"{name} {value} is outside the test split (0..{len(labels) - 1})")
            indices.append(value)
        else:
            check_label(value, classes)
            matches = np.flatnonzero(labels == value)
            if len(matches) == 0:
                raise BadInput(f"{name} {value}: no test image of that class")
            indices.append(int(matches[0]))
    x, y = data.test_x[indices], data.test_y[indices]
    mu, _ = encode(model, x, y if conditional else None)  # (K, latent)
    changes_class = conditional and args.label is None
    planned = morph_path(mu, args.frames, args.path, args.easing,
                         one_hot(y.numpy(), classes) if changes_class else None)
    frames = decode(model, planned.latents, planned.conditions if changes_class else args.label)
    # the class each waypoint is decoded as (a CVAE: its own, or --label throughout); a VAE's digits' own
    classes = [args.label] * len(indices) if conditional and not changes_class else [int(c) for c in y]
    captions = (morph_captions([class_name(data.class_names, c) for c in classes], len(frames))
                if args.caption else None)
    scene = None
    if args.with_map:  # the test digits as the window's latent view shows them
        points = encode_points(model, data)
        scene = morph_scene(points.plane, points.labels, points.projection, planned.latents, mu, args.path)
    result = export_morph(frames, args.out, scale=10 if args.scale is None else args.scale, fps=args.fps,
                          bounce=args.bounce, loop=not args.no_loop, columns=args.columns, size=args.size,
                          upscale=args.upscale, captions=captions, scene=scene)
    result["from_index"], result["to_index"] = indices[0], indices[-1]
    result["indices"], result["waypoint_frames"] = indices, list(planned.waypoint_frames)
    if conditional:
        result["waypoint_classes"] = classes
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


def _cmd_inspect(args: argparse.Namespace) -> dict[str, Any]:
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
    data = _test_split(checkpoint, args.data_dir, args.dataset)
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

    return {"kind": result.kind, "index": args.index, "image": args.image, "label": result.label,
            "seed": result.seed, "mu": listed(result.mu), "logvar": listed(result.logvar),
            "eps": listed(result.eps), "z": listed(result.z), "kl_per_dim": listed(result.kl_per_dim),
            "kl": result.kl, "recon": result.recon, "neg_elbo": result.neg_elbo,
            "ood_percentile": result.ood_percentile, "ood_score": result.ood_score,
            "dataset": data.name, "reference_size": result.reference_size}


COMMANDS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "train": _cmd_train, "evaluate": _cmd_evaluate, "compare": cmd_compare, "morph": _cmd_morph,
    "generate": _cmd_generate, "manifold": _cmd_manifold,
    "inspect": _cmd_inspect,
    "traverse": cmd_traverse,
    "timeline": cmd_timeline,
    "judge": cmd_judge,
}

# Commands whose text output is not "key: value" lines but the text this function makes of the result.
TEXT_TABLES: dict[str, Callable[[dict[str, Any]], str]] = {"compare": compare_table}
