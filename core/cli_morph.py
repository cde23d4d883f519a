"""`morph`: a morph between two digits, or a tour through several, exported as an animation or a strip, headless.

    python main.py morph --checkpoint M (--from-index I --to-index J | --from-digit A --to-digit B |
                         --indices I,J,K | --digits A,B,C) [--frames 30] [--with-map] --out morph.gif [--json]

The points are encoded (core.latent), the path between them planned and decoded frame by frame, and
core.export.export_morph writes the file, its format by the suffix.

core.cli registers the command (``add_morph_parser``, ``cmd_morph``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from core.cli_args import BadInput, finite_number, non_negative_int, whole_number
from core.cli_loading import load_model, load_test_split

# Refused before anything loads; not imported from core.morph_map and core.export, which pull in torch.
MIN_SIZE, MAX_SIZE = 28, 1024  # morph --size, px: core.morph_map's (kept equal by tests/core/test_morph_cli.py)
MORPH_SUFFIXES = (".gif", ".mp4", ".webp", ".apng", ".png")  # core.export.EXPORT_FORMATS, also kept equal


def add_morph_parser(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `morph` to core.cli's sub-commands; ``common`` adds --json, --debug and --device."""
    morph = sub.add_parser("morph", help="export a morph between two digits, or a tour through several")
    morph.add_argument("--checkpoint", required=True)
    morph.add_argument("--from-index", type=non_negative_int)
    morph.add_argument("--to-index", type=non_negative_int)
    morph.add_argument("--from-digit", type=non_negative_int)
    morph.add_argument("--to-digit", type=non_negative_int)
    morph.add_argument("--indices", default=None, help="a tour through test images I,J,K,... in order")
    morph.add_argument("--digits", default=None,
                       help="a tour through classes A,B,C,... in order (the first test image of each)")
    morph.add_argument("--label", type=non_negative_int, default=None,
                       help="CVAE: decode every frame as this class (keep the class, morph the style); "
                       "by default the class changes along the path with the points")
    morph.add_argument("--frames", type=non_negative_int, default=30)
    morph.add_argument("--path", default="linear", choices=["linear", "slerp"])
    morph.add_argument("--easing", default="linear", choices=["linear", "ease-in-out"])
    morph.add_argument("--fps", type=finite_number, default=24.0)
    morph.add_argument("--scale", type=non_negative_int, default=None,
                       help="pixel scale: 28 px -> 28*scale px (default 10; or give --size)")
    morph.add_argument("--size", type=whole_number(MIN_SIZE, MAX_SIZE), default=None,
                       help=f"the digit's height in px, {MIN_SIZE} to {MAX_SIZE} (instead of --scale)")
    morph.add_argument("--upscale", default="nearest", choices=["nearest", "smooth"],
                       help="nearest: crisp pixels (default); smooth: Lanczos resampling")
    morph.add_argument("--with-map", action="store_true",
                       help="draw the latent map beside the digit: the test digits, the path, a dot moving along it")
    morph.add_argument("--caption", action="store_true", help="write the points' classes and t under each frame")
    morph.add_argument("--bounce", action="store_true", help="play forward then backward")
    morph.add_argument("--no-loop", action="store_true", help="play once (GIF, WebP, APNG); by default they loop")
    morph.add_argument("--columns", type=whole_number(1, 100), default=None,
                       help="frames per row of a .png strip (default: at most 12 a row, rows filled evenly)")
    morph.add_argument("--out", required=True,
                       help="the file, its format by the suffix: .gif, .mp4, .webp, .apng (animated PNG) or .png "
                       "(a still strip of the frames, in rows)")
    morph.add_argument("--data-dir", default=None)
    morph.add_argument("--dataset", default=None)
    common(morph)


def cmd_morph(args: argparse.Namespace) -> dict[str, Any]:
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
    checkpoint, model = load_model(args.checkpoint, args.device)
    conditional, classes = model.config.is_conditional, model.config.num_classes
    if args.label is not None:
        if not conditional:
            raise BadInput("--label needs a CVAE; this model is not conditional (omit --label)")
        check_label(args.label, classes)
    data = load_test_split(checkpoint, args.data_dir, args.dataset)
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
