"""Model files and atomic writes.

A model file is a ``core.run_record.RunRecord`` serialised as one safetensors file: the tensors
(model weights, optimiser moments, noise RNG state) plus string metadata holding the model and
training configs, the position, the training history, the dataset, the class names and the app
version; and the training timeline when the run kept one (core.timeline: float16 tensors under
``timeline.`` plus its figures as JSON). Loading never runs code from the file. Files written by
release 0.1.0 still open.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import Tensor

from core.config import ModelConfig, TrainConfig
from core.errors import CheckpointError, LatentMorphError
from core.run_record import History, RunRecord, TrainingPosition
from core.timeline import timeline_from, timeline_metadata, timeline_tensors

FORMAT_NAME = "latent-morph"
FORMAT_VERSION = 1
MODEL_PREFIX = "model."
OPTIMIZER_PREFIX = "optimizer."
NOISE_RNG_KEY = "rng.noise"
NOISE_RNG_DEVICE_KEY = "noise_rng_device"  # the device type the noise state came from; absent: "cpu"
TIMELINE_KEY = "timeline"  # the training timeline's figures (core.timeline); absent in files without one


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds.

    A failure (including a full disk) leaves nothing at ``path`` and no temporary file behind.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise LatentMorphError(f"cannot write {target}: {folder} is a file, not a folder")
    if not folder.is_dir():
        raise LatentMorphError(f"cannot write {target}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise LatentMorphError(f"cannot write {target}: the folder {folder} is read-only")
    try:  # some folders refuse new files although os.access allows them (/proc, network shares)
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part" + target.suffix, dir=folder)
        os.close(fd)
    except OSError as exc:
        raise LatentMorphError(f"cannot write {target}: the folder {folder} does not accept new files "
                               f"({_describe_os_error(exc)})") from exc
    temp = Path(temp_name)
    try:
        yield temp
        os.chmod(temp, _mode_for(target))  # mkstemp made it 0600; the user's file gets the usual mode
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise LatentMorphError(f"cannot write {target}: {_describe_os_error(exc)}") from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _mode_for(target: Path) -> int:
    """The permission bits a file written to ``target`` should get: the existing file's when it is
    replaced, else 0o666 less the process umask, as open() would give a new file."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux reports it without changing it (os.umask can only be read by setting it)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _describe_os_error(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    return exc.strerror or str(exc)


def save_checkpoint(checkpoint: RunRecord, path: str | os.PathLike) -> Path:
    """Write a run record atomically; returns the path. Raises LatentMorphError if it cannot be written."""
    from safetensors.torch import save_file

    tensors = {MODEL_PREFIX + name: t.detach().cpu().contiguous() for name, t in checkpoint.weights.items()}
    optimizer_groups = None
    if checkpoint.optimizer_state is not None:
        for index, state in checkpoint.optimizer_state["state"].items():
            for key, value in state.items():
                tensors[f"{OPTIMIZER_PREFIX}{index}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
        optimizer_groups = checkpoint.optimizer_state["param_groups"]
    if checkpoint.noise_rng_state is not None:
        tensors[NOISE_RNG_KEY] = checkpoint.noise_rng_state.cpu().contiguous()
    tensors.update(timeline_tensors(checkpoint.timeline))  # none for a record without one
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "app_version": checkpoint.app_version,
        "model_config": checkpoint.model_config.to_json(),
        "train_config": checkpoint.train_config.to_json() if checkpoint.train_config else "",
        "history": json.dumps(checkpoint.history.to_dict(), allow_nan=False),
        "dataset": checkpoint.dataset,
        "class_names": json.dumps(list(checkpoint.class_names)),
        "position": json.dumps(vars(checkpoint.position)),
        "optimizer_param_groups": json.dumps(optimizer_groups) if optimizer_groups is not None else "",
    }
    if checkpoint.noise_rng_state is not None:
        metadata[NOISE_RNG_DEVICE_KEY] = checkpoint.noise_rng_device
    if checkpoint.timeline is not None and checkpoint.timeline.snapshots:
        metadata[TIMELINE_KEY] = timeline_metadata(checkpoint.timeline)
    with atomic_output(path) as temp:
        try:
            save_file(tensors, str(temp), metadata=metadata)
        except OSError:
            raise
        except Exception as exc:  # safetensors wraps I/O errors (a full disk) in its own error type
            raise _as_os_error(exc) from exc
    return Path(path)


def _as_os_error(exc: Exception) -> OSError:
    """SafetensorError('... I/O error: No space left on device (os error 28)') -> OSError(28, ...)."""
    match = re.search(r"\(os error (\d+)\)", str(exc))
    code = int(match.group(1)) if match else errno.EIO
    return OSError(code, os.strerror(code) if match else _short(exc))


def load_checkpoint(path: str | os.PathLike) -> RunRecord:
    """Read and validate a model file. Any problem raises CheckpointError naming the file."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a model file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    try:
        tensors, metadata = _read_safetensors(path)
    except CheckpointError:
        raise
    except Exception as exc:  # safetensors raises its own error types and OSError for bad files
        raise CheckpointError(f"{path}: not a Latent Morph model file, or it is truncated or corrupt ({_short(exc)})") from None
    try:
        return _checkpoint_from(tensors, metadata, path)
    except CheckpointError:
        raise
    except Exception as exc:  # ConfigError, bad JSON (even nested too deep), wrong types: all the file's fault
        raise CheckpointError(f"{path}: the model description inside is invalid ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _read_safetensors(path: Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    from safetensors import safe_open

    with open(path, "rb") as handle:
        head = handle.read(8)
    if len(head) < 8:  # too short to be any safetensors file: /etc/hostname, a stray text file
        raise CheckpointError(f"{path}: not a Latent Morph model file ({path.stat().st_size} bytes)")
    header_size = int.from_bytes(head, "little")
    if header_size > path.stat().st_size - 8:
        raise CheckpointError(f"{path}: not a Latent Morph model file, or it is truncated (header runs past the end)")
    with safe_open(str(path), framework="pt", device="cpu") as reader:
        metadata = reader.metadata() or {}
        if metadata.get("format") != FORMAT_NAME:
            raise CheckpointError(f"{path}: a safetensors file, but not a Latent Morph model (no model description)")
        tensors = {key: reader.get_tensor(key) for key in reader.keys()}
    return tensors, metadata


def _checkpoint_from(tensors: dict[str, Tensor], metadata: dict[str, str], path: Path) -> RunRecord:
    version = int(metadata.get("format_version", "0"))
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer Latent Morph (format {version}, this version reads "
                              f"up to {FORMAT_VERSION}); update the app to open it")
    if version < 1:
        raise CheckpointError(f"{path}: unknown format version {metadata.get('format_version')!r}")
    model_config = ModelConfig.from_json(metadata["model_config"])
    train_text = metadata.get("train_config", "")
    state_dict = {k[len(MODEL_PREFIX):]: v for k, v in tensors.items() if k.startswith(MODEL_PREFIX)}
    _check_state_dict(model_config, state_dict, path)
    optimizer_state = None
    groups_text = metadata.get("optimizer_param_groups", "")
    if groups_text:
        per_param: dict[int, dict[str, Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith(OPTIMIZER_PREFIX):
                index, name = key[len(OPTIMIZER_PREFIX):].split(".", 1)
                per_param.setdefault(int(index), {})[name] = value
        optimizer_state = {"state": per_param, "param_groups": _json_field(metadata, "optimizer_param_groups", list)}
    position = TrainingPosition(**_json_field(metadata, "position", dict))
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in vars(position).values()):
        raise ValueError(f"position must hold whole numbers, got {vars(position)}")
    noise = tensors.get(NOISE_RNG_KEY)
    noise_device = metadata.get(NOISE_RNG_DEVICE_KEY) or "cpu"  # files before this field: CPU states only
    if noise is not None:
        check_noise_rng_state(noise, noise_device)
    history = History.from_dict(_json_field(metadata, "history", dict))
    if model_config.kind == "ae":  # files before the bound was left empty recorded an AE's KL as 0
        history.epochs = [row.without_bound() for row in history.epochs]
    return RunRecord(
        model_config=model_config,
        weights=state_dict,
        train_config=TrainConfig.from_json(train_text) if train_text else None,
        history=history,
        dataset=metadata.get("dataset", ""),
        class_names=tuple(str(name) for name in _json_field(metadata, "class_names", list)),
        app_version=metadata.get("app_version", "?"),
        position=position,
        optimizer_state=optimizer_state,
        noise_rng_state=noise,
        noise_rng_device=noise_device if noise is not None else "cpu",
        timeline=timeline_from(tensors, metadata.get(TIMELINE_KEY, "")),
    )


def _noise_state_sizes(device_type: str) -> range | tuple[int, ...]:
    """Byte sizes a torch.Generator's get_state() can have on ``device_type``. CPU: the Mersenne
    Twister state, exactly as this torch writes it. CUDA: Philox seed + offset, 2 x 8 bytes (torch
    2.0 appended 800 bytes of legacy MTGP states: 816). MPS: Philox state + seed (+ offset) in a few
    dozen bytes, so a range."""
    if device_type == "cpu":
        return (torch.Generator().get_state().numel(),)
    if device_type == "cuda":
        return (16, 816)
    if device_type == "mps":
        return range(8, 65)
    raise ValueError(f"{NOISE_RNG_DEVICE_KEY} must be cpu, cuda or mps, got {device_type!r}")


def check_noise_rng_state(state: Tensor, device_type: str) -> None:
    """Raise ValueError unless ``state`` could be a ``device_type`` generator's get_state(): a
    one-dimensional uint8 tensor of a size that device's generator writes. Needs no such device."""
    sizes = _noise_state_sizes(device_type)
    if state.dtype != torch.uint8 or state.dim() != 1 or state.numel() not in sizes:
        raise ValueError(f"the saved random-number state ({device_type}) has the wrong type or size: "
                         f"{state.dtype}, shape {tuple(state.shape)}")


def _json_field(metadata: dict[str, str], key: str, kind: type) -> Any:
    """A JSON value from the metadata that must be a dict or a list (empty when absent)."""
    text = metadata.get(key, "")
    value = json.loads(text) if text else kind()
    if not isinstance(value, kind):
        raise ValueError(f"{key} should be a JSON {'object' if kind is dict else 'array'}")
    return value


def _check_state_dict(config: ModelConfig, state_dict: dict[str, Tensor], path: Path) -> None:
    from core.models import LatentModel

    expected = {name: tuple(t.shape) for name, t in LatentModel(config).state_dict().items()}
    got = {name: tuple(t.shape) for name, t in state_dict.items()}
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{path}: the weights do not match the described architecture "
                              f"(missing {missing[:3]}, unexpected {extra[:3]})")
    wrong = [name for name in expected if expected[name] != got[name]]
    if wrong:
        name = wrong[0]
        raise CheckpointError(f"{path}: weight {name} has shape {got[name]}, the architecture needs {expected[name]}")
    bad = [name for name, t in state_dict.items() if not torch.isfinite(t).all()]
    if bad:
        raise CheckpointError(f"{path}: weight {bad[0]} holds NaN or infinite values")
