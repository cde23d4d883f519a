"""The optimiser training runs with: Adam, fused where the device has the kernel (``make_adam``), and
torch's compiler stack that the first Adam of a process imports, imported ahead (``import_optimiser_stack``).
"""

from __future__ import annotations

import threading

import torch


def import_optimiser_stack() -> None:
    """Import what the first Adam of a process imports: torch's compiler stack (torch._dynamo, about
    900 modules and 1.2 s on a 2-core CPU), so that the first run does not. Inside ``Trainer()`` that
    import ran on the window's training thread as the run began and held the GIL in stretches of up to
    200 ms, so the GUI thread stalled (benchmarks/gui_stalls.py). The window calls this on a worker
    thread once it is built; later calls cost microseconds. Sets ``optimiser_stack_imported``."""
    make_adam([torch.zeros(1, requires_grad=True)], lr=1e-3, device=torch.device("cpu"))
    optimiser_stack_imported.set()


optimiser_stack_imported = threading.Event()  # import_optimiser_stack has run in this process


def make_adam(params, lr: float, device: torch.device, capturable: bool = False) -> torch.optim.Optimizer:
    """Adam with the fused kernel where the device has one (CPU and CUDA): one pass over all
    parameters instead of a dozen foreach ops per step, about 30% more samples/s for the
    reference MLP on a 2-core CPU (benchmarks/train_speed.py). Same update rule.
    ``capturable`` keeps the step count on the GPU, so that a CUDA graph can record ``step()``."""
    params = list(params)
    if device.type in ("cpu", "cuda"):
        try:
            if capturable:
                return torch.optim.Adam(params, lr=lr, fused=True, capturable=True)
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):  # an older torch or an unsupported dtype
            pass
    return torch.optim.Adam(params, lr=lr)
