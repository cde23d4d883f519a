"""Models side by side: what ``evaluate`` reports for one model, the same for each of 2 to 4 models on the
same test digits and the same prior draws (``compare`` and the window's Compare view), and the checks
that models can stand side by side at all.

Figures are in nats per test image (the bounds and terms) or shares in [0, 1] (the judge's and kNN's).
Torch is imported inside the functions: core.cli imports this module (through core.cli_compare and
core.cli_train) to parse its arguments, and a ``--help`` should not wait for torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from core.errors import LatentMorphError

if TYPE_CHECKING:
    import numpy as np

    from core.config import ModelConfig, TrainConfig
    from core.data import DatasetSplits
    from core.models import LatentModel
    from core.points import EncodedPoints
    from core.run_record import RunRecord

MIN_COMPARED, MAX_COMPARED = 2, 4  # models side by side
PRIOR_SHOWN = 16  # prior draws shown under each model in the Compare view (the same seed for each)
MORPH_SHOWN = 10  # frames of the morph shown under each model
Progress = Callable[[float], None]  # fraction done in [0, 1]; may raise to cancel (gui.workers.TaskCancelled)
IW_SHARE = 0.8  # of one model's evaluation, the share of its progress the importance-weighted bound fills


class ComparisonError(LatentMorphError):
    """Models that cannot be compared (other images, classes or dataset, too few or too many); the
    message names the file and what to do instead."""


def test_fields(metrics: dict[str, Any]) -> dict[str, Any]:
    """core.evaluation.evaluate's figures as train and evaluate print them, nats per test image.

    An autoencoder has no ELBO: its reconstruction is test_recon, and test_elbo, test_kl and nll are
    None (null, or a dash in text), so its figures never stand beside a VAE's bound as if they were one.
    posterior_collapse is true when no latent dimension carries 0.1 nats of KL (core.evaluation), null
    for an autoencoder.
    nll is also None when no importance-weighted estimate was asked for (--iw-samples 0)."""
    return {"test_elbo": metrics["elbo"], "test_recon": metrics["recon"], "test_kl": metrics["kl"],
            "test_loss": metrics["loss"], "active_units": metrics["active_units"],
            "posterior_collapse": metrics["posterior_collapse"], "nll": metrics["nll"]}


def evaluation_fields(model: LatentModel, data: DatasetSplits, iw_samples: int, samples: int,
                      progress: Progress | None = None, data_dir: str | None = None) -> dict[str, Any]:
    """What ``evaluate`` prints for ``model`` on ``data``'s test split: the likelihood figures
    (``test_fields``, kl_per_dim, iw_samples, dataset) then what the digit judge reads in ``samples``
    seeded prior draws and the reconstructions, and kNN accuracy (core.generation_metrics.fields).

    ``progress`` hears the importance-weighted bound's progress (up to IW_SHARE) and the end of each
    stage; an exception raised from it stops the evaluation there. ``data_dir`` is where a judge trained
    for a dataset other than MNIST is looked for (core.judge.find_judge)."""
    from core.evaluation import evaluate
    from core.generation_metrics import generation_metrics

    def bound_progress(fraction: float) -> None:
        if progress is not None:
            progress(IW_SHARE * fraction)

    metrics = evaluate(model, data.test_x, data.test_y, iw_samples=iw_samples, progress=bound_progress)
    bound_progress(1.0)
    judged = generation_metrics(model, data.test_x, data.test_y, data.name, samples=samples, data_dir=data_dir)
    if progress is not None:
        progress(1.0)
    return {**test_fields(metrics), "kl_per_dim": metrics["kl_per_dim"], "iw_samples": iw_samples,
            "dataset": data.name, **judged.fields()}


def comparison_row(path: str | Path, model: LatentModel, data: DatasetSplits, iw_samples: int, samples: int,
                   progress: Progress | None = None, data_dir: str | None = None) -> dict[str, Any]:
    """One model's row of ``compare``: checkpoint, kind, beta (None for an autoencoder), latent_dim,
    then ``evaluation_fields``."""
    config = model.config
    return {"checkpoint": str(path), "kind": config.kind, "beta": config.beta if config.is_variational else None,
            "latent_dim": config.latent_dim, **evaluation_fields(model, data, iw_samples, samples, progress, data_dir)}


def check_comparable(path: str | Path, config: ModelConfig, other: str, image_shape: tuple[int, ...],
                     num_classes: int) -> None:
    """Refuses a model whose image shape or class count is not ``other``'s (a model or test images)."""
    def shape(dims: tuple[int, ...]) -> str:
        return "x".join(map(str, dims))

    if tuple(config.image_shape) != tuple(image_shape):
        raise ComparisonError(f"{path} draws {shape(config.image_shape)} images but {other} are "
                              f"{shape(image_shape)}: compare models of the same images")
    if config.num_classes != num_classes:
        raise ComparisonError(f"{path} knows {config.num_classes} classes but {other} has {num_classes}: "
                              "compare models of the same classes")


def test_split(record: RunRecord, data_dir: str | None, override: str | None = None) -> DatasetSplits:
    """The dataset a model was trained on (or ``override``), with its run's validation split; the
    offline sample when the file names none."""
    from core.data import load_dataset

    name = override or record.dataset or "mnist-sample"
    return load_dataset(name, data_dir, seed=record.train_config.seed if record.train_config else 0)


# ----- the Compare view's models: loaded, checked, encoded -----

@dataclass(frozen=True)
class ComparedModel:
    """One model of a comparison, with what the Compare view shows of it."""

    path: Path
    record: RunRecord
    model: LatentModel  # on the CPU, in eval mode
    points: EncodedPoints  # the comparison's test digits, encoded by this model (the same rows for all)
    prior_images: np.ndarray  # (PRIOR_SHOWN, H, W) decoded draws, the same seed for every model

    @property
    def title(self) -> str:
        """File name and kind, e.g. 'vae.safetensors · VAE (β = 4)'."""
        config = self.model.config
        kind = {"ae": "AE", "vae": "VAE", "cvae": "CVAE"}.get(config.kind, config.kind)
        beta = f" (β = {config.beta:g})" if config.is_variational and config.beta != 1 else ""
        return f"{self.path.name} · {kind}{beta}, {config.latent_dim}-D"


@dataclass(frozen=True)
class Comparison:
    """2 to 4 models over one dataset's test split."""

    models: tuple[ComparedModel, ...]
    data: DatasetSplits
    seed: int  # of the prior draws


def open_comparison(paths: list[str | Path], data_dir: str | None = None, seed: int = 0,
                    prior_shown: int = PRIOR_SHOWN, progress: Progress | None = None) -> Comparison:
    """Load 2 to 4 model files, check that they draw the same images of the same dataset, load that
    dataset's test split and encode it with each model (core.points), and decode ``prior_shown`` prior
    draws of one seed under each. Raises ComparisonError (or CheckpointError, DatasetError) with a
    message naming the file. Safe on a worker thread: the models are its own."""
    from core.files import load_checkpoint
    from core.generation_metrics import prior_draws
    from core.points import encode_points

    if not MIN_COMPARED <= len(paths) <= MAX_COMPARED:
        raise ComparisonError(f"choose {MIN_COMPARED} to {MAX_COMPARED} model files to compare, got {len(paths)}")
    report = progress or (lambda _fraction: None)
    records = [load_checkpoint(path) for path in paths]
    models = [record.build_model("cpu") for record in records]
    report(0.1)
    first_path, first = paths[0], models[0].config
    for path, record, model in zip(paths[1:], records[1:], models[1:]):
        check_comparable(path, model.config, f"the first model ({first_path})", first.image_shape,
                         first.num_classes)
        if record.dataset != records[0].dataset:
            raise ComparisonError(f"{path} was trained on {record.dataset or 'an unnamed dataset'} but "
                                  f"{first_path} on {records[0].dataset or 'an unnamed dataset'}: "
                                  "compare models of the same dataset")
    data = test_split(records[0], data_dir)
    check_comparable(first_path, first, f"the test images of {data.name}", data.image_shape, data.num_classes)
    report(0.3)
    compared = []
    for number, (path, record, model) in enumerate(zip(paths, records, models)):
        points = encode_points(model, data)
        images, _ = prior_draws(model, prior_shown, seed)
        compared.append(ComparedModel(Path(path), record, model, points, images))
        report(0.3 + 0.7 * (number + 1) / len(paths))
    return Comparison(tuple(compared), data, seed)


def morph_between(model: LatentModel, points: EncodedPoints, start: int, end: int,
                  frames: int = MORPH_SHOWN) -> np.ndarray:
    """The morph from test digit ``start`` to test digit ``end`` (rows of ``points``, encoded by
    ``model``) as ``model`` decodes it: a straight line between their codes, (frames, H, W). A CVAE's
    class moves with z, c(t) = (1 - t) onehot(c0) + t onehot(c1), as in the window's morph."""
    import numpy as np

    from core.latent import decode, morph_path, one_hot

    config = model.config
    ends = np.stack([points.latents[start], points.latents[end]])  # (2, latent)
    conditions = one_hot(points.labels[[start, end]], config.num_classes) if config.is_conditional else None
    planned = morph_path(ends, frames, conditions=conditions)
    return decode(model, planned.latents, planned.conditions)


# ----- the preset: an AE, a VAE and a beta-VAE trained alike, to compare -----

PRESET_BETA = 4.0  # the beta-VAE of the preset, as in the README's comparison


def kinds_preset(base: ModelConfig, beta: float = PRESET_BETA) -> tuple[tuple[str, ModelConfig], ...]:
    """(file stem, config) of an autoencoder, a VAE (beta = 1) and a beta-VAE that share every other
    setting of ``base`` (network, latent size, reconstruction): what differs is the kind and beta only."""
    from dataclasses import replace

    return (("ae", replace(base, kind="ae", beta=1.0)), ("vae", replace(base, kind="vae", beta=1.0)),
            (f"beta{beta:g}-vae", replace(base, kind="vae", beta=beta)))


def preset_paths(folder: str | Path, base: ModelConfig) -> list[Path]:
    """Where ``train_preset`` writes the ``kinds_preset`` models of ``base``: ``folder/<stem>.safetensors``."""
    return [Path(folder) / f"{stem}.safetensors" for stem, _config in kinds_preset(base)]


def train_preset(folder: str | Path, base: ModelConfig, train_config: TrainConfig, data: DatasetSplits,
                 progress: Progress | None = None) -> list[Path]:
    """Train the ``kinds_preset`` models one after the other on ``data`` with the same ``train_config``
    (seed included), each saved as ``folder/<stem>.safetensors``; returns their paths in order.
    ``progress`` hears the share of all optimiser steps done; an exception raised from it stops the
    run there (files of models already trained stay)."""
    from core.training import Trainer

    models = kinds_preset(base)
    paths = []
    for number, ((stem, config), path) in enumerate(zip(models, preset_paths(folder, base))):

        def on_step(report, number: int = number) -> None:
            if progress is not None:
                done = report.global_step / max(1, report.steps_per_epoch * train_config.epochs)
                progress((number + min(1.0, done)) / len(models))

        result = Trainer(config, train_config, data, checkpoint_path=path, on_step=on_step).run()
        if result.status == "diverged":
            raise LatentMorphError(f"the {stem} model diverged: {result.message}")
        paths.append(path)
    return paths
