"""The CUDA-graphed training step. Capture itself needs a GPU (those tests skip without one); what
makes a capture invisible to the run (undoing the warm-up steps in place) is checked on the CPU."""

from dataclasses import replace

import pytest
import torch

from core.config import ModelConfig, TrainConfig
from core.graphed_step import _TrainingState, cuda_graphs_wanted
from core.training import Trainer

NO_CUDA = "needs a CUDA device (torch.cuda.is_available() is False here)"
MODEL = ModelConfig(hidden=(64,), latent_dim=3)
TRAIN = TrainConfig(epochs=2, batch_size=128, lr=2e-3, device="cpu", seed=5)  # 600 digits: a partial last batch


def _snapshot(trainer: Trainer) -> tuple[dict, dict, torch.Tensor, torch.Tensor]:
    weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    adam = {id(p): {k: v.clone() for k, v in s.items()} for p, s in trainer.optimizer.state.items()}
    return weights, adam, trainer.noise.get_state(), trainer._interval_sums.clone()


def _steps(trainer: Trainer, tiny_data, n: int) -> None:
    for i in range(n):
        index = torch.arange(i * 64, (i + 1) * 64)
        trainer._step_body(tiny_data.train_x[index], tiny_data.train_y[index], 1.0)


@pytest.mark.parametrize("after_steps", [0, 2], ids=["fresh run", "resumed mid-run"])
def test_warm_up_steps_are_undone_in_place(tiny_data, after_steps):
    """What capture's warm-up changes (weights, Adam's moments and step count, the noise generator,
    the running sums) goes back exactly, into the same tensors, so a graphed run follows the eager one."""
    trainer = Trainer(MODEL, TRAIN, tiny_data)
    _steps(trainer, tiny_data, after_steps)
    weights, adam, noise, sums = _snapshot(trainer)
    tensors_before = [p.data_ptr() for p in trainer.model.parameters()]
    saved = _TrainingState.take(trainer.model, trainer.optimizer, trainer.noise, trainer._interval_sums)
    _steps(trainer, tiny_data, 3)  # the warm-up
    assert not torch.equal(trainer.model.state_dict()["fc_mu.weight"], weights["fc_mu.weight"])
    saved.put_back(trainer.model, trainer.optimizer, trainer.noise, trainer._interval_sums)
    assert [p.data_ptr() for p in trainer.model.parameters()] == tensors_before
    assert all(torch.equal(v, weights[k]) for k, v in trainer.model.state_dict().items())
    assert torch.equal(trainer.noise.get_state(), noise) and torch.equal(trainer._interval_sums, sums)
    for param, state in trainer.optimizer.state.items():
        for key, value in state.items():
            expected = adam[id(param)][key] if adam else torch.zeros_like(value)  # fresh: Adam starts at zero
            assert torch.equal(value, expected), key


def test_a_run_after_an_undone_warm_up_equals_one_without(tiny_data):
    plain = Trainer(MODEL, TRAIN, tiny_data).run()
    trainer = Trainer(MODEL, TRAIN, tiny_data)
    saved = _TrainingState.take(trainer.model, trainer.optimizer, trainer.noise, trainer._interval_sums)
    _steps(trainer, tiny_data, 3)
    saved.put_back(trainer.model, trainer.optimizer, trainer.noise, trainer._interval_sums)
    result = trainer.run()
    a, b = plain.model.state_dict(), result.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert result.history.steps == plain.history.steps


def test_graphs_are_for_cuda_only_and_can_be_turned_off(tiny_data, monkeypatch):
    assert not cuda_graphs_wanted(torch.device("cpu"))
    assert cuda_graphs_wanted(torch.device("cuda"))
    monkeypatch.setenv("LATENT_MORPH_CUDA_GRAPHS", "0")
    assert not cuda_graphs_wanted(torch.device("cuda"))
    trainer = Trainer(MODEL, TRAIN, tiny_data)
    assert trainer._graphed_step(torch.arange(TRAIN.batch_size)) is None and trainer.graph_note == ""


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_a_graphed_cuda_run_equals_an_eager_one_and_resumes_exactly(tiny_data, tmp_path):
    from core.files import load_checkpoint
    from core.training_control import TrainingControl

    train = replace(TRAIN, device="cuda")
    eager = Trainer(MODEL, train, tiny_data, cuda_graphs=False).run()
    graphed_trainer = Trainer(MODEL, train, tiny_data, cuda_graphs=True)
    graphed = graphed_trainer.run()
    assert graphed_trainer.graph_note == "" and graphed_trainer._graphed is not None
    assert graphed.history.steps == eager.history.steps
    control, path = TrainingControl(), tmp_path / "m.safetensors"

    def stop_at_6(report):
        if report.global_step == 6:
            control.request_stop()

    Trainer(MODEL, train, tiny_data, control=control, on_step=stop_at_6, checkpoint_path=path, cuda_graphs=True).run()
    resumed = Trainer(MODEL, train, tiny_data, resume=load_checkpoint(path), cuda_graphs=True).run()
    a, b = graphed.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
