"""Morph quality: what the digit judge (core/judge.py) reads along morphs between test digits of
different classes, for the default 2-D models (MLP 512-256) trained on full MNIST.

Rows: VAE lerp, VAE slerp, CVAE with the label interpolated with z (c(t) = (1-t) c0 + t c1),
CVAE with the label fixed to the first digit's class. Columns, over ``--pairs`` random pairs of
test digits of different classes, ``--frames`` frames each: other classes passed (classes read
that are neither endpoint's, mean per pair), label flips (frames read differently from the one
before, mean), mean confidence (the judge's softmax, over every frame), endpoints correct (% of
pairs whose first frame reads as the first class and last as the second), pairs passing through
another class (%).

Targets (issue 10): CVAE label-interpolated endpoints correct >= 98% of pairs, passing through
another class in <= 20%.

Trained checkpoints are cached in runs/morph_quality/ (gitignored): the first run trains both
models (``--epochs``, default 10: about 10 minutes on an idle 2-core CPU, hours on a loaded one),
later runs only read them. ``--vae`` / ``--cvae`` read given model files instead (the table names
how many epochs each was trained).

    python benchmarks/morph_quality.py [--quick] [--epochs 10] [--pairs 50] [--frames 30]
                                       [--vae FILE] [--cvae FILE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import _common
import numpy as np
from _common import ROOT, Results

CACHE = ROOT / "runs" / "morph_quality"


@dataclass(frozen=True)
class MorphReadings:
    """The judge's reading of P morphs of T frames, and the classes each morph goes between."""

    classes: np.ndarray  # (P, T) the class each frame is read as
    confidences: np.ndarray  # (P, T) softmax probabilities
    start: np.ndarray  # (P,) the first endpoint's class
    end: np.ndarray  # (P,) the second endpoint's class

    def row(self) -> dict[str, float]:
        others = [len(set(map(int, read)) - {int(a), int(b)}) for read, a, b in
                  zip(self.classes, self.start, self.end)]
        flips = (self.classes[:, 1:] != self.classes[:, :-1]).sum(axis=1)
        ends = (self.classes[:, 0] == self.start) & (self.classes[:, -1] == self.end)
        return {"other classes passed (mean)": float(np.mean(others)), "label flips (mean)": float(flips.mean()),
                "mean confidence": float(self.confidences.mean()), "endpoints correct (%)": 100.0 * float(ends.mean()),
                "pass through another class (%)": 100.0 * float(np.mean(np.array(others) > 0))}


def trained(kind: str, epochs: int, data_dir: str | None) -> Path:
    """The default 2-D model of ``kind`` trained ``epochs`` epochs on full MNIST: cached, else trained now
    (to a temporary name, renamed when training ends, so an interrupted run is not taken for a finished one)."""
    path = CACHE / f"{kind}_mnist_{epochs}ep.safetensors"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.safetensors")
    command = [sys.executable, str(ROOT / "main.py"), "train", "--dataset", "mnist", "--kind", kind,
               "--epochs", str(epochs), "--seed", "0", "--out", str(partial), "--json"]
    if data_dir:
        command += ["--data-dir", data_dir]
    print(f"training the default 2-D {kind.upper()} for {epochs} epochs (cached as {path.name})…", flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=os.environ)
    partial.replace(path)
    return path


def pairs(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``count`` random pairs (count, 2) of test indices whose classes differ."""
    rng = np.random.default_rng(seed)
    chosen = []
    while len(chosen) < count:
        i, j = rng.choice(len(labels), size=2, replace=False)
        if labels[i] != labels[j]:
            chosen.append((int(i), int(j)))
    return np.array(chosen)


def read_morphs(model, judge, mu: np.ndarray, picked: np.ndarray, labels: np.ndarray, frames: int, path: str,
                condition: str | None) -> MorphReadings:
    """Decode every pair's morph and read it. ``condition``: None (a VAE), "interpolated" or "fixed"
    (every frame decoded as the first digit's class)."""
    from core.latent import decode, morph_path, one_hot

    images = []
    for i, j in picked:
        classes = one_hot(labels[[i, j]], model.config.num_classes) if condition == "interpolated" else None
        planned = morph_path(mu[[i, j]], frames, path, conditions=classes)
        label = planned.conditions if condition == "interpolated" else (int(labels[i]) if condition else None)
        images.append(decode(model, planned.latents, label))
    read, confidence = judge.read(np.concatenate(images))
    shape = (len(picked), frames)
    return MorphReadings(read.reshape(shape), confidence.reshape(shape), labels[picked[:, 0]], labels[picked[:, 1]])


def markdown(rows: dict[str, dict[str, float]]) -> str:
    columns = list(next(iter(rows.values())))
    lines = ["| morph | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    for name, row in rows.items():
        cells = [f"{row[c]:.0f}" if c.endswith("(%)") else f"{row[c]:.2f}" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs and 20 pairs (a smoke run)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 10; 2 with --quick)")
    parser.add_argument("--pairs", type=int, default=None, help="random pairs of test digits (default 50)")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0, help="which pairs")
    parser.add_argument("--vae", default=None, help="read this VAE model file instead of the cached one")
    parser.add_argument("--cvae", default=None, help="read this CVAE model file instead of the cached one")
    args = parser.parse_args()
    epochs = args.epochs or (2 if args.quick else 10)
    count = args.pairs or (20 if args.quick else 50)

    from core.data import load_dataset
    from core.files import load_checkpoint
    from core.latent import encode

    results = Results("morph_quality")
    print(_common.machine())
    judge = _common.shipped_judge_or_finish(results, "morph quality")
    if judge is None:
        return
    data = load_dataset("mnist", _common.data_dir())
    labels = data.test_y.numpy()
    picked = pairs(labels, count, args.seed)
    models, described = {}, {}
    for kind, given in (("vae", args.vae), ("cvae", args.cvae)):
        record = load_checkpoint(given or trained(kind, epochs, _common.data_dir()))
        if record.model_config.kind != kind or record.model_config.latent_dim != 2:
            parser.error(f"--{kind} {given}: expected a 2-D {kind.upper()}, got a {record.model_config.latent_dim}-D "
                         f"{record.model_config.kind.upper()}")
        models[kind] = record.build_model("cpu").eval()
        epochs_run = len(record.history.epochs) if record.history else "?"
        described[kind] = (f"{kind.upper()} MLP {'-'.join(map(str, record.model_config.hidden))} trained "
                           f"{epochs_run} epochs on {record.dataset}")
    vae_mu, _ = encode(models["vae"], data.test_x)
    cvae_mu, _ = encode(models["cvae"], data.test_x, data.test_y)
    readings = {
        "VAE lerp": read_morphs(models["vae"], judge, vae_mu, picked, labels, args.frames, "linear", None),
        "VAE slerp": read_morphs(models["vae"], judge, vae_mu, picked, labels, args.frames, "slerp", None),
        "CVAE label-interpolated": read_morphs(models["cvae"], judge, cvae_mu, picked, labels, args.frames, "linear",
                                               "interpolated"),
        "CVAE fixed label": read_morphs(models["cvae"], judge, cvae_mu, picked, labels, args.frames, "linear",
                                        "fixed"),
    }
    rows = {name: reading.row() for name, reading in readings.items()}
    print(f"{count} pairs of MNIST test digits of different classes, {args.frames} frames; 2-D models: "
          f"{described['vae']}, {described['cvae']}; read by {judge.path.name}")
    print(markdown(rows))
    for name, row in rows.items():
        for column, value in row.items():
            target, met = "", None
            if name == "CVAE label-interpolated" and column == "endpoints correct (%)":
                target, met = ">= 98 %", value >= 98
            if name == "CVAE label-interpolated" and column == "pass through another class (%)":
                target, met = "<= 20 %", value <= 20
            results.add(f"{name}: {column}", value, "%" if column.endswith("(%)") else "", target, met)
    results.finish()


if __name__ == "__main__":
    main()
