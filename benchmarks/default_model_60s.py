"""How low does the default 2-D VAE's test -ELBO get in 60 s of training on this machine?

The model and training settings are exactly what a user gets (ModelConfig() and TrainConfig()
defaults: MLP 512-256, latent 2, the default batch size and learning rate) on full MNIST; training
stops after ``--seconds`` (like ``main.py train --max-seconds``), then the test split is evaluated.
Target: <= 145 nats. ``--batch-size`` / ``--lr`` try other settings.

    python benchmarks/default_model_60s.py [--seconds 60] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

import _common  # noqa: F401
from _common import Results


def train_for(seconds: float, batch_size: int | None, lr: float | None, quick: bool) -> dict:
    from dataclasses import replace

    from core.config import ModelConfig, TrainConfig
    from core.data import load_dataset
    from core.evaluation import evaluate
    from core.training import Trainer
    from core.training_control import TrainingControl

    defaults = TrainConfig()
    dataset = "mnist-sample" if quick else "mnist"
    config = TrainConfig(dataset=dataset, epochs=10_000, batch_size=batch_size or defaults.batch_size,
                         lr=lr or defaults.lr)
    data = load_dataset(dataset, _common.data_dir(), val_fraction=config.val_fraction, seed=config.seed)
    model_config = replace(ModelConfig(), num_classes=data.num_classes, image_shape=data.image_shape)
    control = TrainingControl()
    started = time.perf_counter()

    def on_step(report) -> None:
        if time.perf_counter() - started > seconds:
            control.request_stop()

    result = Trainer(model_config, config, data, on_step=on_step, control=control).run()
    metrics = evaluate(result.model, data.test_x, data.test_y)
    epochs = result.position.epoch + result.position.step_in_epoch / max(1, -(-len(data.train_x) // config.batch_size))
    return {"elbo": metrics["elbo"], "epochs": epochs, "seconds": result.train_seconds,
            "samples_per_second": result.samples_per_second, "batch_size": config.batch_size, "lr": config.lr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--quick", action="store_true", help="1 s on the offline sample")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else args.seconds
    results = Results("default_model_60s")
    print(f"load average before: {os.getloadavg()}")
    run = train_for(seconds, args.batch_size, args.lr, args.quick)
    print(f"load average after: {os.getloadavg()}")
    label = f"default 2-D VAE test -ELBO after {seconds:g} s (batch {run['batch_size']}, lr {run['lr']:g})"
    results.add(label, run["elbo"], "nats", "<= 145" if not args.quick else "", run["elbo"] <= 145 if not args.quick else None,
                note=f"{run['epochs']:.1f} epochs, {run['samples_per_second']:,.0f} samples/s")
    results.finish()


if __name__ == "__main__":
    main()
