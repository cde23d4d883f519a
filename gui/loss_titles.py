"""The words on the loss plots: each plot's title with its legend (the legends sit in the titles, so no
curve runs under one) and its colours. An autoencoder's KL, β and dimension plots say why they are blank."""

from __future__ import annotations

from core.evaluation import COLLAPSE_KL_THRESHOLD, dimensions_in_use, posterior_collapsed

STEP_COLOURS = {"loss": "#1f77b4", "recon": "#2ca02c", "kl": "#e07000", "beta": "#7b3294"}
TRAIN_ELBO_COLOUR, VAL_COLOUR = "#17375e", "#d62728"
PLOT_TITLES = {"loss": "Loss", "recon": "Reconstruction", "kl": "KL", "beta": "β"}
SMALL = "font-size: 8pt"


def _swatch(colour: str, text: str, marker: str = "━") -> str:
    return f"<span style='color:{colour}'>{marker}</span>&nbsp;{text}"


def step_titles(has_bound: bool) -> dict[str, str]:
    """The title of each step plot (STEP_COLOURS' keys), rich text. ``has_bound`` False: an autoencoder's
    run, whose epochs show its reconstruction, not a −ELBO, and which has no KL term."""
    per_epoch = "−ELBO" if has_bound else "reconstruction"
    legends = {
        "loss": [_swatch(STEP_COLOURS["loss"], "per step"), _swatch(TRAIN_ELBO_COLOUR, f"train {per_epoch}", "■"),
                 _swatch(VAL_COLOUR, f"validation {per_epoch}", "○")],
        "recon": [_swatch(STEP_COLOURS["recon"], "per step")],
        "kl": [_swatch(STEP_COLOURS["kl"], "per step, summed over z" if has_bound
                       else "none: an autoencoder has no KL term")],
        "beta": [_swatch(STEP_COLOURS["beta"], "weight of the KL in force" if has_bound
                         else "none: an autoencoder has no KL term to weigh")],
    }
    units = {"loss": " (nats)", "recon": " (nats)", "kl": " (nats)", "beta": ""}
    return {key: f"<span style='{SMALL}'><b>{PLOT_TITLES[key]}</b>{units[key]} &nbsp; "
                 f"{' &nbsp; '.join(legends[key])}</span>" for key in STEP_COLOURS}


def dimension_titles(kl_dims: tuple[float, ...], has_bound: bool) -> tuple[str, str]:
    """The titles of the KL-per-dimension plot (``kl_dims``: the latest epoch's, nats; empty before one)
    and of the dimensions-in-use plot, rich text."""
    if not has_bound:
        head, note = "KL per dimension", "none: an autoencoder has no KL term"
    elif not kl_dims:
        head, note = "KL per dimension", "validation, at each epoch's end"
    else:
        head = f"KL per dimension: {dimensions_in_use(kl_dims)} of {len(kl_dims)} in use"
        note = (f"<span style='color:{VAL_COLOUR}'>posterior collapse: the decoder ignores z</span>"
                if posterior_collapsed(list(kl_dims)) else f"sorted; dashed: {COLLAPSE_KL_THRESHOLD:g} nats")
    in_use = f"KL ≥ {COLLAPSE_KL_THRESHOLD:g} nats, per epoch" if has_bound else "none without a KL term"
    return (f"<span style='{SMALL}'><b>{head}</b> (nats) &nbsp; {note}</span>",
            f"<span style='{SMALL}'><b>Dimensions in use</b> &nbsp; {in_use}</span>")
