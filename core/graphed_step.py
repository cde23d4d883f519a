"""The training step captured once as a CUDA graph and replayed for every full batch.

For models this small a CUDA training step is bound by kernel launches, not by arithmetic: the
forward pass, the backward pass and Adam are ~60 small kernels, each launched from Python. A CUDA
graph records them once and replays them with one launch (``torch.cuda.CUDAGraph``), so a step costs
the GPU's time instead of Python's.

What makes the replay equal to the eager step:

- the step reads its batch through a fixed index tensor (``static_index``) and its KL weight from a
  0-d tensor (``static_beta``), both filled before each replay with one small copy, so the graph's
  inputs live at fixed addresses;
- the parameters, the gradients, Adam's state (``capturable=True``: its step count lives on the GPU)
  and the running sums of the figures are updated in place, at the addresses the graph recorded;
- the noise generator is registered with the graph, so each replay draws the next numbers of the same
  Philox sequence an eager step would draw, and a saved generator state resumes exactly;
- the warm-up steps that capture needs (lazy optimiser state, cuBLAS handles) are undone before
  capture: parameters, Adam's state, the running sums and the generator go back to where they were,
  so capturing changes nothing in the run's trajectory.

The last, partial batch of an epoch has another shape: the trainer runs it eagerly, on the same
parameters and optimiser state.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import Tensor

WARMUP_STEPS = 3  # PyTorch's guidance: a few eager iterations on a side stream before capture
ENV_SWITCH = "LATENT_MORPH_CUDA_GRAPHS"  # "0" turns graphs off (for measuring, or a driver that misbehaves)


def cuda_graphs_wanted(device: torch.device) -> bool:
    """Graphs are used on CUDA unless ``LATENT_MORPH_CUDA_GRAPHS=0``; never elsewhere."""
    if device.type != "cuda":
        return False
    return os.environ.get(ENV_SWITCH, "1").lower() not in ("0", "off", "false", "no")


# body(x, labels, beta) runs one optimiser step on a batch and adds its figures to the running sums
StepBody = Callable[[Tensor, Tensor, "Tensor | float"], None]


class GraphedTrainingStep:
    """One full-batch training step of ``batch_size`` samples, captured as a CUDA graph.

    ``train_x`` (N, C, H, W) and ``train_y`` (N,) are the training split, already on the GPU;
    ``body`` is the trainer's eager step (forward, loss, backward, Adam, running sums), which the
    graph records. Build it with ``capture``; then ``replay(index, beta)`` does what
    ``body(train_x[index], train_y[index], beta)`` would.
    """

    def __init__(self, train_x: Tensor, train_y: Tensor, batch_size: int, body: StepBody) -> None:
        device = train_x.device
        self._train_x, self._train_y, self._body = train_x, train_y, body
        self.batch_size = batch_size
        self.static_index = torch.zeros(batch_size, dtype=torch.long, device=device)
        self.static_beta = torch.zeros((), dtype=torch.float32, device=device)
        self.graph: torch.cuda.CUDAGraph | None = None

    def _step(self) -> None:
        index = self.static_index
        self._body(self._train_x[index], self._train_y[index], self.static_beta)

    def capture(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, noise: torch.Generator,
                sums: Tensor, first_index: Tensor) -> None:
        """Warm up, undo the warm-up, and record the step. ``first_index`` (batch_size,) is any valid
        batch (the warm-up's); ``sums`` is the trainer's running-sums tensor, restored after warm-up."""
        saved = _TrainingState.take(model, optimizer, noise, sums)
        try:
            self.static_index.copy_(first_index)
            self.static_beta.fill_(0.0)
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(WARMUP_STEPS):
                    self._step()
            torch.cuda.current_stream().wait_stream(side)
            saved.put_back(model, optimizer, noise, sums)  # warm-up made Adam's state; now zeroed or restored
            graph = torch.cuda.CUDAGraph()
            graph.register_generator_state(noise)
            with torch.cuda.graph(graph):
                self._step()
        finally:  # capture runs nothing, but a failed warm-up or capture must leave the run untouched too
            torch.cuda.synchronize()
            saved.put_back(model, optimizer, noise, sums)
        self.graph = graph

    def replay(self, index: Tensor, beta: float) -> None:
        """One optimiser step on ``train_x[index]`` with KL weight ``beta``; ``index`` (batch_size,)."""
        assert self.graph is not None, "capture first"
        self.static_index.copy_(index)
        self.static_beta.fill_(beta)
        self.graph.replay()


class _TrainingState:
    """Copies of what a training step changes, to undo warm-up steps in place (the graph records
    addresses, so the tensors are overwritten, never replaced)."""

    def __init__(self, params: list[Tensor], optimizer_state: dict[int, dict[str, Tensor]],
                 noise_state: Tensor, sums: Tensor) -> None:
        self.params, self.optimizer_state, self.noise_state, self.sums = params, optimizer_state, noise_state, sums

    @classmethod
    def take(cls, model: torch.nn.Module, optimizer: torch.optim.Optimizer, noise: torch.Generator,
             sums: Tensor) -> "_TrainingState":
        params = [p.detach().clone() for p in model.parameters()]
        state = {id(p): {k: v.clone() for k, v in s.items() if isinstance(v, Tensor)}
                 for p, s in optimizer.state.items()}
        return cls(params, state, noise.get_state(), sums.clone())

    @torch.no_grad()
    def put_back(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, noise: torch.Generator,
                 sums: Tensor) -> None:
        for param, saved in zip(model.parameters(), self.params):
            param.copy_(saved)
        for param, state in optimizer.state.items():
            before = self.optimizer_state.get(id(param), {})
            for key, value in state.items():
                if not isinstance(value, Tensor):
                    continue
                if key in before:
                    value.copy_(before[key])
                else:  # a fresh run: Adam's moments and step count start at zero
                    value.zero_()
        noise.set_state(self.noise_state)
        sums.copy_(self.sums)
