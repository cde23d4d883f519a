"""Choosing the torch device, and whether training runs under bfloat16 autocast there."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
from torch import Tensor

from core.errors import ConfigError


def available_devices() -> list[str]:
    """Device names usable on this machine, best first (always ends with 'cpu')."""
    names = []
    if torch.cuda.is_available():
        names.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    names.append("cpu")
    return names


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA, then Apple MPS, then CPU; an explicit name must be available."""
    available = available_devices()
    if name == "auto":
        return torch.device(available[0])
    if name not in ("cpu", "cuda", "mps"):
        raise ConfigError("device", f"must be auto, cpu, cuda or mps, got {name!r}")
    if name not in available:
        raise ConfigError("device", f"{name} is not available on this machine; available: {', '.join(available)}")
    return torch.device(name)


def cpu_name() -> str:
    """The processor's model name ('Intel(R) Xeon(R) Platinum 8480+'), or the platform's word for it."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown processor"


def describe_device(device: torch.device | str, threads: int | None = None) -> str:
    """The device in words, for a status line: 'CPU (Intel Xeon ..., 1 thread)',
    'CUDA: NVIDIA H100 80GB HBM3', 'MPS (Apple GPU)'. A name ('auto', 'cuda') is resolved first
    (ConfigError when it is not available). ``threads``: the torch threads the CPU trains with
    (default: torch.get_num_threads() of the calling thread)."""
    device = resolve_device(device) if isinstance(device, str) else device
    if device.type == "cpu":
        count = torch.get_num_threads() if threads is None else threads
        return f"CPU ({cpu_name()}, {count} thread{'s' if count != 1 else ''})"
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "MPS (Apple GPU)"
    return str(device)


def mps_missing_op(model: torch.nn.Module, x: Tensor, labels: Tensor) -> str:
    """Run one forward and backward pass of a copy of ``model`` on MPS with a small batch (``x``
    (B, C, H, W), ``labels`` (B,), on the CPU). Returns "" when it works, else why training should
    fall back to the CPU: PyTorch's MPS backend still lacks some operations, and an error in the
    middle of a run would lose it. Untested here: no Apple GPU in CI or on the build machines."""
    import copy

    try:
        probe = copy.deepcopy(model).to("mps")
        x_mps, labels_mps = x.to("mps"), labels.to("mps")
        logits, mu, logvar = probe(x_mps, labels_mps)
        loss = logits.float().sum() + mu.sum() + (logvar.sum() if logvar is not None else 0)
        loss.backward()
    except (NotImplementedError, RuntimeError, TypeError) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        return f"the Apple GPU (MPS) cannot run this model ({reason}): training on the CPU instead"
    return ""


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


def uses_bf16_autocast(device: torch.device) -> bool:
    """Whether training on ``device`` runs the networks under bf16 autocast: CPUs with fast bf16
    (``cpu_has_fast_bf16``), and CUDA only when LATENT_MORPH_CUDA_BF16=1."""
    if device.type == "cpu":
        return cpu_has_fast_bf16()
    if device.type == "cuda":
        return os.environ.get("LATENT_MORPH_CUDA_BF16", "").lower() in ("1", "on", "true", "yes")
    return False
