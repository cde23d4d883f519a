"""The training loop: progress out through callbacks, stop and pause in through a control object.

The loop runs on whatever thread calls ``Trainer.run``; the GUI runs it on a worker thread.
Callbacks receive immutable records (plain floats and CPU copies), never live tensors.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from core.config import ModelConfig, TrainConfig
from core.data import DatasetSplits
from core.device import resolve_device
from core.errors import ConfigError
from core.files import Checkpoint, TrainingPosition, save_checkpoint
from core.losses import loss_terms
from core.models import LatentModel, build_model

EVAL_BATCH_SIZE = 2048
PAUSE_POLL_SECONDS = 0.05
# A loss this many times the untrained model's has left any sensible optimum: a run with lr 10 can
# climb from 550 to 23 million nats without ever producing a NaN.
EXPLOSION_FACTOR = 100


@dataclass(frozen=True)
class StepReport:
    epoch: int  # 0-based index of the epoch in progress
    step: int  # optimiser steps done in this epoch
    steps_per_epoch: int
    global_step: int
    loss: float  # nats per sample, mean over the steps since the last report
    recon: float
    kl: float
    samples_per_second: float


@dataclass(frozen=True)
class EpochReport:
    epoch: int  # epochs finished (1-based)
    epochs: int
    global_step: int
    train_loss: float  # nats per sample, mean over the epoch
    train_recon: float
    train_kl: float
    val_loss: float  # -ELBO on the validation split (nan when there is none)
    val_recon: float
    val_kl: float
    elapsed_seconds: float
    eta_seconds: float
    samples_per_second: float
    weights: dict[str, Tensor] = field(default_factory=dict, repr=False, compare=False)  # CPU copy

    def to_dict(self) -> dict[str, float]:
        """The figures without the weights (asdict would deep-copy every tensor)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "weights"}


@dataclass
class TrainingResult:
    status: str  # finished | cancelled | diverged
    message: str
    model: LatentModel
    history: dict
    position: TrainingPosition
    train_seconds: float
    samples_per_second: float
    checkpoint_path: Path | None


class TrainingControl:
    """Thread-safe stop / pause / resume requests; checked once per optimiser step."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused; returns the seconds spent waiting."""
        if self._running.is_set():
            return 0.0
        start = time.perf_counter()
        while not self._running.wait(PAUSE_POLL_SECONDS):
            pass
        return time.perf_counter() - start


@functools.lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """AMX or AVX512-BF16: bfloat16 matmuls run several times faster than float32 there.
    Read once, on first use; LATENT_MORPH_BF16=0 turns bf16 training off."""
    if os.environ.get("LATENT_MORPH_BF16", "").lower() in ("0", "off", "false", "no"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text().split("\nflags", 1)[1].split("\n", 1)[0].split()
    except (OSError, IndexError):
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags



def make_adam(params, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam with the fused kernel where the device has one (CPU and CUDA): one pass over all
    parameters instead of a dozen foreach ops per step, about 30% more samples/s for the
    reference MLP on a 2-core CPU (benchmarks/train_speed.py). Same update rule."""
    params = list(params)
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):  # an older torch or an unsupported dtype
            pass
    return torch.optim.Adam(params, lr=lr)


def empty_history() -> dict:
    return {"steps": {"epoch": [], "step": [], "loss": [], "recon": [], "kl": []}, "epochs": []}


class Trainer:
    """Adam on whole-dataset tensors held on the device, batched by index."""

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig, data: DatasetSplits, *,
                 checkpoint_path: str | Path | None = None, resume: Checkpoint | None = None,
                 on_step: Callable[[StepReport], None] | None = None,
                 on_epoch: Callable[[EpochReport], None] | None = None,
                 control: TrainingControl | None = None) -> None:
        if model_config.is_conditional and data.num_classes < 2:
            raise ConfigError("kind", f"a CVAE needs at least two classes; {data.name} has {data.num_classes}. "
                                      "Train a VAE instead")
        if model_config.num_classes != data.num_classes:
            raise ConfigError("num_classes", f"model has {model_config.num_classes}, dataset has {data.num_classes}")
        if tuple(model_config.image_shape) != tuple(data.image_shape):
            raise ConfigError("image_shape", f"model expects {model_config.image_shape}, data is {data.image_shape}")
        if train_config.batch_size > len(data.train_x):
            raise ConfigError("batch_size", f"must be at most the training set size ({len(data.train_x)})")
        self.model_config = model_config
        self.train_config = train_config
        self.device = resolve_device(train_config.device)
        self.data = data.to(self.device)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.on_step = on_step
        self.on_epoch = on_epoch
        self.control = control or TrainingControl()
        self.model = build_model(model_config, seed=train_config.seed).to(self.device)
        self.optimizer = make_adam(self.model.parameters(), train_config.lr, self.device)
        self.noise = torch.Generator(device=self.device).manual_seed(train_config.seed)
        self.history = empty_history()
        self.position = TrainingPosition()
        if resume is not None:
            self._restore(resume)
        self._last_good = self._snapshot_state()

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.data.train_x) / self.train_config.batch_size)

    def _restore(self, checkpoint: Checkpoint) -> None:
        if checkpoint.model_config != self.model_config:
            raise ConfigError("resume", "the checkpoint's model settings differ from the ones given")
        self.model.load_state_dict(checkpoint.state_dict)
        if checkpoint.optimizer_state is not None:
            self.optimizer.load_state_dict(checkpoint.optimizer_state)
            for group in self.optimizer.param_groups:
                group["lr"] = self.train_config.lr
        if checkpoint.noise_rng_state is not None and self.device.type == "cpu":
            self.noise.set_state(checkpoint.noise_rng_state)
        self.history = checkpoint.history or empty_history()
        self.position = TrainingPosition(**vars(checkpoint.position))

    def _snapshot_state(self) -> tuple[dict, dict]:
        model_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        optim_state = {"state": {i: {k: v.clone() for k, v in s.items()}
                                 for i, s in self.optimizer.state_dict()["state"].items()},
                       "param_groups": self.optimizer.state_dict()["param_groups"]}
        return model_state, optim_state

    def weights_copy(self) -> dict[str, Tensor]:
        """A CPU copy of the current weights, safe to hand to another thread."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(
            model_config=self.model_config, state_dict=self.weights_copy(), train_config=self.train_config,
            history=self.history, dataset=self.data.name, class_names=self.data.class_names,
            position=TrainingPosition(**vars(self.position)), optimizer_state=self.optimizer.state_dict(),
            noise_rng_state=self.noise.get_state().cpu())

    def _save(self) -> None:
        if self.checkpoint_path is not None:
            save_checkpoint(self.checkpoint(), self.checkpoint_path)

    def _permutation(self, epoch: int) -> Tensor:
        generator = torch.Generator().manual_seed(self.train_config.seed * 100_003 + epoch)
        return torch.randperm(len(self.data.train_x), generator=generator).to(self.device)

    def run(self) -> TrainingResult:
        config = self.train_config
        model, data = self.model, self.data
        n_train = len(data.train_x)
        steps_per_epoch = self.steps_per_epoch
        active_seconds = 0.0
        samples_done = 0
        status, message = "finished", f"trained {config.epochs} epochs"
        model.train()
        run_start = time.perf_counter()
        interval_start = run_start
        sums = torch.zeros(3, device=self.device)  # loss, recon, kl since the last report
        interval_steps = interval_samples = 0
        while self.position.epoch < config.epochs and status == "finished":
            order = self._permutation(self.position.epoch)
            while self.position.step_in_epoch < steps_per_epoch:
                if self.control.paused:
                    waited = self.control.wait_while_paused()
                    interval_start += waited
                    run_start += waited
                if self.control.stop_requested:
                    status = "cancelled"
                    message = (f"stopped at epoch {self.position.epoch + 1}, "
                               f"step {self.position.step_in_epoch}/{steps_per_epoch}")
                    break
                step = self.position.step_in_epoch
                index = order[step * config.batch_size:(step + 1) * config.batch_size]
                x = data.train_x[index]  # (B, C, H, W)
                labels = data.train_y[index]
                logits, mu, logvar = self._forward(x, labels)
                loss, recon, kl = loss_terms(logits, x, mu, logvar, self.model_config.recon, self.model_config.beta)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                sums += torch.stack([loss.detach(), recon.detach(), kl.detach()])
                interval_steps += 1
                interval_samples += len(index)
                self.position.step_in_epoch += 1
                self.position.global_step += 1
                if interval_steps >= config.step_report_every or self.position.step_in_epoch == steps_per_epoch:
                    means = (sums / interval_steps).tolist()
                    if not all(math.isfinite(v) for v in means):
                        status, message = "diverged", self._diverged_message("became NaN or infinite")
                        break
                    if means[0] > EXPLOSION_FACTOR * self._reference_loss(means[0]):
                        status, message = "diverged", self._diverged_message(
                            f"exploded to {means[0]:.3g}, over {EXPLOSION_FACTOR}x its starting value")
                        break
                    now = time.perf_counter()
                    self._record_step(means)
                    samples_done += interval_samples
                    if self.on_step is not None:
                        self.on_step(StepReport(self.position.epoch, self.position.step_in_epoch, steps_per_epoch,
                                                self.position.global_step, *means,
                                                interval_samples / max(now - interval_start, 1e-9)))
                    sums.zero_()
                    interval_steps = interval_samples = 0
                    interval_start = now
            if status != "finished":
                break
            self.position.epoch += 1
            self.position.step_in_epoch = 0
            active_seconds = time.perf_counter() - run_start
            report = self._end_epoch(active_seconds, samples_done, n_train)
            if not math.isfinite(report.val_loss) and len(data.val_x):
                status, message = "diverged", self._diverged_message("became NaN or infinite")
                break
            self._last_good = self._snapshot_state()
            self._save()
            if self.on_epoch is not None:
                self.on_epoch(report)
        active_seconds = time.perf_counter() - run_start
        if status == "diverged":
            self.model.load_state_dict(self._last_good[0])
            self.optimizer.load_state_dict(self._last_good[1])
        elif status == "cancelled":
            self._save()
        model.eval()
        return TrainingResult(status, message, model, self.history, self.position, active_seconds,
                              samples_done / max(active_seconds, 1e-9), self.checkpoint_path)

    def _forward(self, x: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """model(x) for training. On CPUs with fast bfloat16 (AMX / AVX512-BF16) the encoder and
        decoder run under bf16 autocast; weights, optimiser state, the noise, z and the loss stay
        float32. Evaluation is always float32."""
        model = self.model
        if not (self.device.type == "cpu" and cpu_has_fast_bf16()):
            return model(x, labels, generator=self.noise)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mu, logvar = model.encode(x, labels)
        mu = mu.float()
        logvar = logvar.float() if logvar is not None else None
        z = model.reparameterize(mu, logvar, self.noise)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model.decode(z, labels)
        return logits.float(), mu, logvar

    def _reference_loss(self, current: float) -> float:
        """The first loss this run's history recorded (the untrained model's), or ``current``."""
        losses = self.history["steps"]["loss"]
        return abs(losses[0]) if losses else abs(current)

    def _diverged_message(self, what: str) -> str:
        done = len(self.history["epochs"])
        kept = f"the end of epoch {done}" if done else "before training started"
        return (f"Training diverged at epoch {self.position.epoch + 1}, step {self.position.step_in_epoch}: "
                f"the loss {what}. The model keeps the weights from {kept}. "
                f"Try a lower learning rate (now {self.train_config.lr:g}; e.g. {self.train_config.lr / 10:g}).")

    def _record_step(self, means: list[float]) -> None:
        steps = self.history["steps"]
        steps["epoch"].append(self.position.epoch)
        steps["step"].append(self.position.global_step)
        for key, value in zip(("loss", "recon", "kl"), means):
            steps[key].append(value)

    def _end_epoch(self, elapsed: float, samples_done: int, n_train: int) -> EpochReport:
        from core.evaluation import evaluate_elbo

        finished = self.position.epoch
        steps = self.history["steps"]
        in_epoch = [i for i, e in enumerate(steps["epoch"]) if e == finished - 1]
        train = [sum(steps[k][i] for i in in_epoch) / max(len(in_epoch), 1) for k in ("loss", "recon", "kl")]
        if len(self.data.val_x):
            val = evaluate_elbo(self.model, self.data.val_x, self.data.val_y, self.model_config, seed=0)
            val_terms = (val["loss"], val["recon"], val["kl"])
        else:
            val_terms = (math.nan, math.nan, math.nan)
        self.model.train()
        speed = samples_done / max(elapsed, 1e-9)
        remaining = (self.train_config.epochs - finished) * n_train
        report = EpochReport(finished, self.train_config.epochs, self.position.global_step, *train, *val_terms,
                             elapsed, remaining / max(speed, 1e-9), speed, self.weights_copy())
        self.history["epochs"].append(report.to_dict())
        return report
