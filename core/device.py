"""Choosing the torch device."""

from __future__ import annotations

import torch

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
