"""The training loop: progress out through callbacks, stop and pause in through a control object.

The loop runs on whatever thread calls ``Trainer.run``; the GUI runs it on a worker thread.
Callbacks receive immutable records (plain floats and CPU copies), never live tensors: core.training_reports
holds them, core.training_control the control object.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from core.config import ModelConfig, TrainConfig
from core.data import DatasetSplits
from core.device import mps_missing_op, resolve_device, uses_bf16_autocast
from core.errors import ConfigError
from core.files import save_checkpoint
from core.graphed_step import GraphedTrainingStep, cuda_graphs_wanted
from core.losses import free_bits_kl, kl_per_dimension, loss_terms
from core.models import build_model
from core.optimiser import make_adam
from core.run_record import EpochRow, History, RunRecord, TrainingPosition, copy_optimizer_state, mean_rows
from core.timeline import TimelineRecorder
from core.training_control import TrainingControl
from core.training_reports import (EpochReport, RunStatus, StepClock, StepReport, TrainingResult,
                                   eta_seconds)

# A loss this many times the untrained model's has left any sensible optimum: a run with lr 10 can
# climb from 550 to 23 million nats without ever producing a NaN.
EXPLOSION_FACTOR = 100


class Trainer:
    """Adam on whole-dataset tensors held on the device, batched by index.

    ``run`` trains until the planned epochs are done, a stop is requested or the loss diverges, and
    returns a ``TrainingResult`` whose ``record`` can be saved and resumed exactly.
    """

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig, data: DatasetSplits, *,
                 checkpoint_path: str | Path | None = None, resume: RunRecord | None = None,
                 on_step: Callable[[StepReport], None] | None = None,
                 on_epoch: Callable[[EpochReport], None] | None = None,
                 control: TrainingControl | None = None, cuda_graphs: bool | None = None) -> None:
        check_fits(model_config, train_config, data)
        self.model_config = model_config
        self.train_config = train_config
        self.device = resolve_device(train_config.device)
        # why the run is not on the device asked for ("" when it is): for the CLI and the window to show
        self.device_note = ""
        if self.device.type == "mps":
            self.device_note = mps_missing_op(build_model(model_config, seed=train_config.seed),
                                              data.train_x[:2], data.train_y[:2])
            if self.device_note:
                self.device = torch.device("cpu")
        self.data = data.to(self.device)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.on_step = on_step
        self.on_epoch = on_epoch
        self.control = control or TrainingControl()
        self.model = build_model(model_config, seed=train_config.seed).to(self.device)
        wanted = cuda_graphs_wanted(self.device) if cuda_graphs is None else cuda_graphs
        self._use_graphs = wanted and self.device.type == "cuda"  # graphs are a CUDA feature
        self._graphed: GraphedTrainingStep | None = None
        self._bf16 = uses_bf16_autocast(self.device)
        self.graph_note = ""  # why CUDA graphs were wanted but not used ("" when they were, or were not wanted)
        self.optimizer = make_adam(self.model.parameters(), train_config.lr, self.device, capturable=self._use_graphs)
        self.noise = torch.Generator(device=self.device).manual_seed(train_config.seed)
        # why a resumed run is not an exact continuation ("" when it is): for the CLI and the window to show
        self.resume_note = ""
        self.history = History()
        self.position = TrainingPosition()
        if resume is not None:
            self._restore(resume)
        # the test points' snapshots to replay (core.timeline); a resumed run continues its record's
        self.timeline_recorder = TimelineRecorder(
            self.data.test_x, self.data.test_y, model_config.latent_dim, model_config.is_conditional,
            train_config.seed, self.steps_per_epoch, bf16=self._bf16,
            resumed=resume.timeline if resume is not None else None)
        self.timeline_recorder.begin(self.model, self.position.global_step)
        self._last_good = self.record()
        self._clock = StepClock()
        self._schedule = train_config.schedule
        self._interval_sums = torch.zeros(4, device=self.device)  # loss, recon, kl, kl_optimised: since the last report
        self._interval_beta = 0.0  # sum of the beta of each step since the last report

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.data.train_x) / self.train_config.batch_size)

    def beta_at(self, global_step: int) -> float:
        """The KL weight in force at the optimiser step with 0-based index ``global_step``: the model's
        beta times the schedule's factor (core.schedules). A function of the position only, so a resumed
        run continues the curve exactly."""
        factor = self._schedule.factor(max(0, global_step), self.steps_per_epoch, self.train_config.epochs)
        return self.model_config.beta * factor

    def _restore(self, record: RunRecord) -> None:
        if record.model_config != self.model_config:
            raise ConfigError("resume", "the checkpoint's model settings differ from the ones given")
        self.model.load_state_dict(record.weights)
        if record.optimizer_state is not None:
            self.optimizer.load_state_dict(record.optimizer_state)
            for group in self.optimizer.param_groups:
                group["lr"] = self.train_config.lr
        self.resume_note = self._restore_noise(record)
        self.history = record.history.copy()
        self.position = record.position.copy()

    def _restore_noise(self, record: RunRecord) -> str:
        """Continue the record's noise sequence when its generator ran on this device type; otherwise
        keep the freshly seeded generator and return why the resumed run draws different noise.
        Philox (CUDA, MPS) and Mersenne Twister (CPU) states do not convert into each other."""
        fresh = (f"the reparameterisation noise restarts from seed {self.train_config.seed}, so the run "
                 "continues correctly but not bit for bit as an uninterrupted one would")
        if record.position.global_step == 0 and (record.noise_rng_state is None
                                                 or record.noise_rng_device != self.device.type):
            return ""  # no noise drawn yet: the freshly seeded generator is where an uninterrupted run starts
        if record.noise_rng_state is None:
            return f"the model file holds no noise generator state: {fresh}"
        saved, here = record.noise_rng_device, self.device.type
        if saved != here:
            return f"trained on {saved.upper()}, resumed on {here.upper()}: {fresh}"
        try:
            self.noise.set_state(record.noise_rng_state)
        except RuntimeError as exc:  # a state this torch cannot read (another torch version's layout)
            self.noise.manual_seed(self.train_config.seed)
            reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            return f"the saved noise generator state does not fit this torch ({reason}): {fresh}"
        return ""

    def weights_copy(self) -> dict[str, Tensor]:
        """A CPU copy of the current weights, safe to hand to another thread."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    def record(self) -> RunRecord:
        """A snapshot of the run now: CPU copies nothing else changes, safe on any thread."""
        return RunRecord(
            model_config=self.model_config, weights=self.weights_copy(), train_config=self.train_config,
            history=self.history.copy(), dataset=self.data.name, class_names=self.data.class_names,
            position=self.position.copy(), optimizer_state=copy_optimizer_state(self.optimizer.state_dict()),
            noise_rng_state=self.noise.get_state().cpu(), noise_rng_device=self.device.type,
            timeline=self.timeline_recorder.timeline)  # immutable: shared, not copied

    def _save(self, record: RunRecord) -> None:
        if self.checkpoint_path is not None:
            save_checkpoint(record, self.checkpoint_path)

    def _permutation(self, epoch: int) -> Tensor:
        generator = torch.Generator().manual_seed(self.train_config.seed * 100_003 + epoch)
        return torch.randperm(len(self.data.train_x), generator=generator).to(self.device)

    # ----- the loop -----
    def run(self) -> TrainingResult:
        self._clock = StepClock()
        status, message = RunStatus.RUNNING, ""
        self.model.train()
        # Denormal floats (|x| < 1.2e-38) appear in Adam's second moments and small gradients after the
        # first epochs and take the slow path of x86 FPUs: on one CPU thread, epochs 3-4 of the default
        # model took 8.5-9.7 s against 3.3-5.3 s with them flushed to zero (benchmarks/README.md).
        # Flushing is per thread (MXCSR): this thread's work, not torch's other pool threads'.
        flush = self.device.type == "cpu" and torch.set_flush_denormal(True)
        try:
            while status is RunStatus.RUNNING:
                if self.position.epoch >= self.train_config.epochs:
                    status, message = RunStatus.FINISHED, f"trained {self.train_config.epochs} epochs"
                    break
                status, message = self._train_epoch()
                if status is RunStatus.RUNNING:
                    status, message = self._finish_epoch()
        finally:
            if flush:
                torch.set_flush_denormal(False)
        return self._end(status, message)

    def _train_epoch(self) -> tuple[RunStatus, str]:
        """Optimiser steps to the end of the current epoch; RUNNING when it got there."""
        order = self._permutation(self.position.epoch)
        while self.position.step_in_epoch < self.steps_per_epoch:
            if self.control.paused:
                self._clock.exclude(self.control.wait_while_paused())
            if self.control.stop_requested:
                return RunStatus.CANCELLED, (f"stopped at epoch {self.position.epoch + 1}, "
                                             f"step {self.position.step_in_epoch}/{self.steps_per_epoch}")
            self._train_step(order)
            if self._report_due():
                status, message = self._report_steps()
                if status is not RunStatus.RUNNING:
                    return status, message
            self._clock.exclude(self.control.slow_down())  # slow motion: shown, then held; not training time
        return RunStatus.RUNNING, ""

    def _train_step(self, order: Tensor) -> None:
        batch = self.train_config.batch_size
        step = self.position.step_in_epoch
        index = order[step * batch:(step + 1) * batch]
        beta = self.beta_at(self.position.global_step)
        graphed = self._graphed_step(index) if len(index) == batch else None
        if graphed is not None:
            graphed.replay(index, beta)
        else:  # eager: the CPU, a partial last batch, or graphs off
            self._step_body(self.data.train_x[index], self.data.train_y[index], beta)  # (B, C, H, W), (B,)
        self._interval_beta += beta
        self._clock.interval_steps += 1
        self._clock.interval_samples += len(index)
        self.position.step_in_epoch += 1
        self.position.global_step += 1

    def _step_body(self, x: Tensor, labels: Tensor, beta: Tensor | float) -> None:
        """Forward, loss, backward and Adam on one batch; adds its figures to the running sums.
        A CUDA graph records exactly this (core.graphed_step), so it must not sync with the host."""
        logits, mu, logvar = self._forward(x, labels)
        free_bits = self.train_config.free_bits
        # positional arguments: tests wrap loss_terms as f(*args)
        loss, recon, kl = loss_terms(logits, x, mu, logvar, self.model_config.recon, beta, free_bits)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        kl_optimised = kl
        if free_bits > 0 and logvar is not None:  # the floored KL, for the record (a (B, latent) op, no sync)
            kl_optimised = free_bits_kl(kl_per_dimension(mu.detach(), logvar.detach()), free_bits)
        self._interval_sums += torch.stack([loss.detach(), recon.detach(), kl.detach(), kl_optimised.detach()])

    def _graphed_step(self, index: Tensor) -> GraphedTrainingStep | None:
        """The captured full-batch step, captured on first use; None where graphs are off or failed
        (then ``graph_note`` says why, and every step runs eagerly)."""
        if not self._use_graphs:
            return None
        if self._graphed is None:
            graphed = GraphedTrainingStep(self.data.train_x, self.data.train_y, self.train_config.batch_size,
                                          self._step_body)
            try:
                graphed.capture(self.model, self.optimizer, self.noise, self._interval_sums, index)
            except RuntimeError as exc:  # a driver or op that cannot be captured: train eagerly instead
                self._use_graphs = False
                reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
                self.graph_note = f"CUDA graphs off, training eagerly: capture failed ({reason})"
                return None
            self._graphed = graphed
        return self._graphed

    def _report_due(self) -> bool:
        return (self._clock.interval_steps >= self.train_config.step_report_every
                or self.position.step_in_epoch == self.steps_per_epoch)

    def _report_steps(self) -> tuple[RunStatus, str]:
        """Average the steps since the last report, check them, record a StepRow and report it.
        The only place figures cross from the device to the host during an epoch."""
        clock = self._clock
        loss, recon, kl, kl_optimised = (self._interval_sums / clock.interval_steps).tolist()
        beta = self._interval_beta / clock.interval_steps
        if not all(math.isfinite(v) for v in (loss, recon, kl)):
            return RunStatus.DIVERGED, self._diverged_message("became NaN or infinite")
        if loss > EXPLOSION_FACTOR * self._reference_loss(loss):
            return RunStatus.DIVERGED, self._diverged_message(
                f"exploded to {loss:.3g}, over {EXPLOSION_FACTOR}x its starting value")
        now = time.perf_counter()
        speed = clock.interval_samples / max(now - clock.interval_start, 1e-9)
        clock.samples_done += clock.interval_samples
        report = StepReport(self.position.epoch, self.position.step_in_epoch, self.steps_per_epoch,
                            self.position.global_step, loss, recon, kl, speed,
                            eta_seconds(self._samples_left(), clock.samples_per_second), beta, kl_optimised)
        self.history.steps.append(report.row)
        self.timeline_recorder.after_report(self.model, self.position.global_step, loss, recon, kl)
        self._interval_sums.zero_()
        self._interval_beta = 0.0
        clock.interval_steps = clock.interval_samples = 0
        clock.interval_start = now
        if self.on_step is not None:
            self.on_step(report)
        return RunStatus.RUNNING, ""

    def _samples_left(self) -> int:
        n_train = len(self.data.train_x)
        epochs_left = self.train_config.epochs - self.position.epoch
        return max(0, epochs_left * n_train - min(n_train, self.position.step_in_epoch * self.train_config.batch_size))

    def _finish_epoch(self) -> tuple[RunStatus, str]:
        """Validate, record the epoch, checkpoint and report it."""
        self.position.epoch += 1
        self.position.step_in_epoch = 0
        row = self._epoch_row()
        if not math.isfinite(row.val_loss) and len(self.data.val_x):
            return RunStatus.DIVERGED, self._diverged_message("became NaN or infinite")
        self.history.epochs.append(row)
        self.timeline_recorder.after_epoch(self.model, self.position.global_step, row.val_loss)
        record = self._last_good = self.record()
        self._save(record)
        if self.on_epoch is not None:
            speed = self._clock.samples_per_second
            self.on_epoch(EpochReport(row, self.train_config.epochs, eta_seconds(self._samples_left(), speed), record))
        # the next step report's samples/s is the optimiser's: validation, the checkpoint and the window's
        # share of the epoch end stay in the run's overall figure (and its time left), not in that line
        self._clock.interval_start = time.perf_counter()
        return RunStatus.RUNNING, ""

    def _epoch_row(self) -> EpochRow:
        from core.evaluation import evaluate_elbo

        train = mean_rows(self.history.steps_in_epoch(self.position.epoch - 1))
        if len(self.data.val_x):
            val = evaluate_elbo(self.model, self.data.val_x, self.data.val_y, self.model_config, seed=0)
            val_terms = (val["loss"], val["recon"], val["kl"])
            kl_per_dim = tuple(val["kl_per_dim"])
        else:
            val_terms, kl_per_dim = (math.nan, math.nan, math.nan), ()
        self.model.train()
        row = EpochRow(self.position.epoch, self.position.global_step, *train, *val_terms, self._clock.elapsed,
                       self._clock.samples_per_second, self.beta_at(self.position.global_step - 1), kl_per_dim)
        return row.without_bound() if self.model_config.kind == "ae" else row

    def _end(self, status: RunStatus, message: str) -> TrainingResult:
        if status is RunStatus.DIVERGED:  # back to the last good end of an epoch
            record = self._last_good
            self.model.load_state_dict(record.weights)
            self.optimizer.load_state_dict(record.optimizer_state)
            self.history, self.position = record.history.copy(), record.position.copy()
        elif status is RunStatus.FINISHED:
            record = self._last_good  # the last epoch's end is now: no second copy of weights and Adam state
        else:
            record = self.record()
            self._save(record)
        self.model.eval()
        return TrainingResult(status, message, self.model, record, self._clock.elapsed,
                              self._clock.samples_per_second, self.checkpoint_path)

    def _forward(self, x: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """model(x) for training. On CPUs with fast bfloat16 (AMX / AVX512-BF16) the encoder and
        decoder run under bf16 autocast; weights, optimiser state, the noise, z and the loss stay
        float32. On CUDA the same holds when LATENT_MORPH_CUDA_BF16=1 (off by default: see
        benchmarks/gpu_check.py for what it changes). Evaluation is always float32."""
        model = self.model
        if not self._bf16:
            return model(x, labels, generator=self.noise)
        # no autocast weight cache on CUDA: a CUDA graph must not record a cache that outlives its capture
        cache = self.device.type != "cuda"
        with torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=cache):
            mu, logvar = model.encode(x, labels)
        mu = mu.float()
        logvar = logvar.float() if logvar is not None else None
        z = model.reparameterize(mu, logvar, self.noise)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=cache):
            logits = model.decode(z, labels)
        return logits.float(), mu, logvar

    def _reference_loss(self, current: float) -> float:
        """The first loss this run's history recorded (the untrained model's), or ``current``."""
        return abs(self.history.steps[0].loss) if self.history.steps else abs(current)

    def _diverged_message(self, what: str) -> str:
        done = len(self.history.epochs)
        kept = f"the end of epoch {done}" if done else "before training started"
        return (f"Training diverged at epoch {self.position.epoch + 1}, step {self.position.step_in_epoch}: "
                f"the loss {what}. The model keeps the weights from {kept}. "
                f"Try a lower learning rate (now {self.train_config.lr:g}; e.g. {self.train_config.lr / 10:g}).")


def check_fits(model_config: ModelConfig, train_config: TrainConfig, data: DatasetSplits) -> None:
    """Raise ConfigError when the settings cannot train on ``data`` (before any work starts)."""
    if model_config.is_conditional and data.num_classes < 2:
        raise ConfigError("kind", f"a CVAE needs at least two classes; {data.name} has {data.num_classes}. "
                                  "Train a VAE instead")
    if model_config.num_classes != data.num_classes:
        raise ConfigError("num_classes", f"model has {model_config.num_classes}, dataset has {data.num_classes}")
    if tuple(model_config.image_shape) != tuple(data.image_shape):
        raise ConfigError("image_shape", f"model expects {model_config.image_shape}, data is {data.image_shape}")
    if train_config.batch_size > len(data.train_x):
        raise ConfigError("batch_size", f"must be at most the training set size ({len(data.train_x)})")
