"""The CUDA correctness checks of benchmarks/gpu_check.py (its sections 1 and 2): a short run whose
figures and weights are all finite; exact resume, graphed and eager (a run cancelled twice and resumed
ends with the same weights and step history as an uninterrupted one); graphed == eager, bit for bit."""

from __future__ import annotations

import math
import os

from _common import Results
from _cuda_runs import epoch_list, fitted, models, timed_run

import torch


# ----- 1. a short CUDA run, finite -----
def check_finite_run(data, device: str, results: Results) -> None:
    from core.evaluation import evaluate

    model_config = models()["reference VAE 784-400-20"]
    run = timed_run(model_config, data, device, 128, 2)
    result = run["result"]
    last = result.history.epochs[-1] if result.history.epochs else None
    weights_finite = all(bool(torch.isfinite(t).all()) for t in result.model.state_dict().values())
    metrics = evaluate(result.model, data.test_x, data.test_y)
    figures = [] if last is None else [last.train_loss, last.val_loss, metrics["elbo"]]
    ok = result.status == "finished" and weights_finite and bool(figures) and all(map(math.isfinite, figures))
    print(f"[1] {device} run: {result.status}, graphed {run['graphed']} {run['graph_note']!r}, "
          f"epochs {epoch_list(run['epoch_seconds'])} s, val loss {last.val_loss if last else float('nan'):.2f}, "
          f"test -ELBO {metrics['elbo']:.2f}, weights finite: {weights_finite}", flush=True)
    results.add(f"{device} training run (reference VAE, 2 epochs) finite", ok, target="True", met=ok,
                note=f"test -ELBO {metrics['elbo']:.2f} nats on {data.name}; CUDA graphs "
                     f"{'used' if run['graphed'] else 'not used ' + run['graph_note']}")


# ----- 2. exact resume -----
def check_exact_resume(data, device: str, results: Results, tmp_dir: str, graphs: bool) -> object:
    from core.config import TrainConfig
    from core.files import load_checkpoint
    from core.training import Trainer
    from core.training_control import TrainingControl

    mode = "graphed" if graphs else "eager"
    data = data.head(5000)
    model_config = fitted(models()["reference VAE 784-400-20"], data)
    train_config = TrainConfig(dataset=data.name, epochs=2, batch_size=128, device=device, seed=3)
    steps = math.ceil(len(data.train_x) / train_config.batch_size)
    stops = (steps // 3, steps + steps // 2)  # mid-epoch 1, then mid-epoch 2
    path = os.path.join(tmp_dir, f"resume-{mode}.safetensors")
    uninterrupted = Trainer(model_config, train_config, data, cuda_graphs=graphs).run()
    resume, notes = None, []
    for stop in stops:
        control = TrainingControl()

        def maybe_stop(report, stop=stop, control=control):
            if report.global_step == stop:
                control.request_stop()

        trainer = Trainer(model_config, train_config, data, control=control, on_step=maybe_stop,
                          checkpoint_path=path, resume=resume, cuda_graphs=graphs)
        notes.append(trainer.resume_note)
        stopped = trainer.run()
        notes.append(trainer.graph_note)
        if stopped.status != "cancelled" or stopped.position.global_step != stop:
            results.add(f"{device} cancel + resume == uninterrupted, {mode} (torch.equal)", False, target="True",
                        met=False, note=f"the stop at step {stop} did not happen: {stopped.status}, {stopped.message}")
            return uninterrupted
        resume = load_checkpoint(path)
    final = Trainer(model_config, train_config, data, resume=resume, cuda_graphs=graphs)
    notes.append(final.resume_note)
    result = final.run()
    notes.append(final.graph_note)
    a, b = uninterrupted.model.state_dict(), result.model.state_dict()
    same_weights = all(torch.equal(a[k], b[k]) for k in a)
    same_steps = result.history.steps == uninterrupted.history.steps
    same_noise = torch.equal(uninterrupted.record.noise_rng_state, result.record.noise_rng_state)
    ok = (result.status == "finished" and same_weights and same_steps and same_noise
          and resume.noise_rng_device == device and not any(notes))
    print(f"[2] {device} {mode} resume (stops at steps {stops} of {2 * steps}): weights equal {same_weights}, "
          f"step history equal {same_steps}, noise state equal {same_noise}, "
          f"saved noise device {resume.noise_rng_device!r}, notes {[n for n in notes if n]}", flush=True)
    results.add(f"{device} cancel + resume == uninterrupted, {mode} (torch.equal)", ok, target="True", met=ok,
                note=f"stopped at steps {stops}")
    return uninterrupted


def compare_graphed_and_eager(graphed, eager, results: Results) -> None:
    a, b = graphed.model.state_dict(), eager.model.state_dict()
    same = all(torch.equal(a[k], b[k]) for k in a)
    gap = max(float((a[k] - b[k]).abs().max()) for k in a)
    print(f"[2] graphed run == eager run: weights equal {same} (max |difference| {gap:.3g}), "
          f"step history equal {graphed.history.steps == eager.history.steps}", flush=True)
    results.add("graphed run == eager run, bit for bit", same, note=f"max weight difference {gap:.3g}")
