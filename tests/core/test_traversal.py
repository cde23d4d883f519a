"""core.traversal and `traverse`: rows of one dimension each around a digit's mu, sorted by KL, collapsed
dimensions flagged; the labelled PNG grid and the swept GIF; bad input refused with exit 2."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from core.cli import run_cli
from core.config import ModelConfig
from core.evaluation import COLLAPSE_KL_THRESHOLD, evaluate_elbo
from core.files import save_checkpoint
from core.latent import decode, encode
from core.models import build_model
from core.run_record import RunRecord
from core.traversal import (CODE_SPREAD, PRIOR_SIGMA, data_spread, png_layout, slider_preview, spread_from_codes,
                            traverse, traverse_image, traversal_latents)

COLLAPSED_DIMS, INFORMATIVE_DIMS = (1, 3), (0, 2)


def collapsed_model(kind: str = "vae", latent_dim: int = 4):
    """A tiny untrained model whose dimensions 1 and 3 are collapsed on purpose (mu = 0, logvar = 0: q is the
    prior for every x, KL exactly 0) and whose dimensions 0 and 2 spread their codes widely (KL of nats)."""
    config = ModelConfig(kind=kind, hidden=(32,), latent_dim=latent_dim)
    model = build_model(config, seed=0).eval()
    with torch.no_grad():
        for dim in COLLAPSED_DIMS:
            model.fc_mu.weight[dim] = 0
            model.fc_mu.bias[dim] = 0
            if model.fc_logvar is not None:
                model.fc_logvar.weight[dim] = 0
                model.fc_logvar.bias[dim] = 0
        model.fc_mu.weight[list(INFORMATIVE_DIMS)] *= 40
        model.fc_mu.weight[2] *= 2  # dimension 2 carries the most
    return model


@pytest.fixture(scope="module")
def digits(sample_data):
    return sample_data.test_x[:200], sample_data.test_y[:200]


def test_the_middle_column_is_the_digits_own_decoded_mu_and_each_row_moves_one_dimension(digits):
    model = collapsed_model()
    x, y = digits
    spread = data_spread(model, x, y)
    grid = traverse_image(model, x[7], spread)
    mu = encode(model, x[7:8])[0][0]
    assert grid.images.shape == (4, 11, 28, 28) and grid.images.dtype == np.float32
    assert grid.middle == 5 and grid.offsets[5] == 0 and grid.offsets[0] == -3 and grid.offsets[-1] == 3
    np.testing.assert_allclose(grid.images[:, 5], np.broadcast_to(decode(model, mu[None])[0], (4, 28, 28)), atol=1e-6)
    # the first image of a row is mu with that row's dimension alone at mu - 3 prior sigmas
    for row, dim in enumerate(grid.order):
        z = mu.copy()
        z[dim] -= 3.0
        np.testing.assert_allclose(grid.images[row, 0], decode(model, z[None])[0], atol=1e-6)
    assert grid.basis == PRIOR_SIGMA and np.all(grid.step_scale == 1)
    # an informative dimension changes the digit; a collapsed one's row still decodes a change (the decoder
    # reads every z), but the data never move the encoder along it
    assert np.abs(grid.images[0, 0] - grid.images[0, -1]).max() > 0.05


def test_rows_are_sorted_by_kl_and_the_collapsed_dimensions_are_flagged(digits):
    model = collapsed_model()
    x, y = digits
    spread = data_spread(model, x, y)
    assert list(spread.order[:2]) == [2, 0] and set(spread.order[2:]) == set(COLLAPSED_DIMS)
    assert list(spread.collapsed) == [False, True, False, True]
    grid = traverse(model, encode(model, x[:1])[0][0], spread)
    assert list(grid.kl_per_dim) == sorted(grid.kl_per_dim, reverse=True)
    assert list(grid.collapsed) == [False, False, True, True]
    assert grid.kl_per_dim[1] > 1.0 and grid.kl_per_dim[2] < COLLAPSE_KL_THRESHOLD
    shown = grid.without_collapsed()
    assert list(shown.order) == [2, 0] and shown.images.shape == (2, 11, 28, 28)
    np.testing.assert_array_equal(shown.images, grid.images[:2])
    # the KL is the one core.evaluation reports over the same digits
    elbo = evaluate_elbo(model, x, y, model.config)
    np.testing.assert_allclose(spread.kl_per_dim, elbo["kl_per_dim"], rtol=1e-4, atol=1e-6)


def test_kl_built_by_hand_sorts_and_flags_as_stated():
    rng = np.random.default_rng(0)
    mu = np.zeros((500, 3), np.float32)
    mu[:, 0] = rng.normal(0, 0.5, 500)  # KL about 0.5 * 0.25 + the sigma term
    mu[:, 2] = rng.normal(0, 2.0, 500)
    sigma = np.ones((500, 3), np.float32)
    sigma[:, 2] = 0.1
    spread = spread_from_codes(mu, sigma)
    assert list(spread.order) == [2, 0, 1] and list(spread.collapsed) == [False, True, False]
    assert spread.kl_per_dim[1] == 0 and spread.kl_per_dim[0] == pytest.approx(0.5 * np.mean(mu[:, 0] ** 2))


def test_an_autoencoder_moves_by_the_spread_of_its_codes(digits):
    model = collapsed_model("ae")
    x, y = digits
    spread = data_spread(model, x, y)
    mu_all = encode(model, x)[0]
    assert spread.kl_per_dim is None and not spread.collapsed.any()
    np.testing.assert_allclose(spread.step_scale, mu_all.std(axis=0), rtol=1e-5)
    grid = traverse(model, mu_all[3], spread, steps=5, range_=2.0)
    assert grid.basis == CODE_SPREAD and grid.kl_per_dim is None and list(grid.order) == list(spread.order)
    z = traversal_latents(mu_all[3], grid.order, grid.offsets, grid.step_scale)
    top = grid.order[0]
    assert z[0, -1, top] == pytest.approx(mu_all[3, top] + 2.0 * mu_all[:, top].std(), rel=1e-5)
    np.testing.assert_allclose(grid.images[0, -1], decode(model, z[0, -1][None])[0], atol=1e-6)


def test_a_cvae_decodes_under_the_digits_label(digits):
    model = collapsed_model("cvae")
    x, y = digits
    spread = data_spread(model, x, y)
    label = int(y[4])
    grid = traverse_image(model, x[4], spread, label)
    mu = encode(model, x[4:5], y[4:5])[0][0]
    np.testing.assert_allclose(grid.images[0, grid.middle], decode(model, mu[None], label)[0], atol=1e-6)
    other = decode(model, mu[None], (label + 1) % 10)[0]
    assert np.abs(grid.images[0, grid.middle] - other).max() > 1e-3 and grid.label == label


def test_the_slider_ends_are_the_grids_end_columns_when_the_sliders_rest(digits):
    model = collapsed_model()
    x, y = digits
    spread = data_spread(model, x, y)
    grid = traverse_image(model, x[2], spread)
    preview = slider_preview(model, grid.center, np.zeros(4), spread.step_scale)
    np.testing.assert_allclose(preview.image, grid.images[0, grid.middle], atol=1e-6)
    for row, dim in enumerate(grid.order):
        np.testing.assert_allclose(preview.ends[dim], grid.images[row, [0, -1]], atol=1e-6)
    moved = slider_preview(model, grid.center, np.eye(4)[2] * 1.5, spread.step_scale)
    z = grid.center.copy()
    z[2] += 1.5
    np.testing.assert_allclose(moved.image, decode(model, z[None])[0], atol=1e-6)


def test_a_code_of_the_wrong_size_is_refused(digits):
    model = collapsed_model()
    spread = data_spread(model, *digits)
    with pytest.raises(ValueError, match="3 values but the model's latent space has 4"):
        traverse(model, np.zeros(3), spread)


# --- the command -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    model = collapsed_model()
    path = tmp_path_factory.mktemp("traverse") / "collapsed.safetensors"
    save_checkpoint(RunRecord(model.config, model.state_dict(), dataset="mnist-sample"), path)
    return path


def test_traverse_writes_a_labelled_png_of_the_grids_size(checkpoint, tmp_path, capsys, sample_data):
    out = tmp_path / "grid.png"
    assert run_cli(["traverse", "--checkpoint", str(checkpoint), "--index", "7", "--scale", "1",
                    "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] == 4 and result["steps"] == 11 and result["order"][:2] == [2, 0]
    assert result["collapsed"] == [False, False, True, True] and result["basis"] == PRIOR_SIGMA
    assert result["test_label"] == int(sample_data.test_y[7]) and result["label"] is None  # a VAE's digit
    model = collapsed_model()
    spread = data_spread(model, sample_data.test_x, sample_data.test_y)
    grid = traverse_image(model, sample_data.test_x[7], spread)
    layout = png_layout(grid, scale=1)
    png = np.asarray(Image.open(out))
    assert png.shape == (layout.height, layout.width) == (result["height"], result["width"])
    x0, y0 = layout.tile_origin(0, grid.middle)  # the top row's middle tile: the digit itself
    expected = np.rint(decode(model, grid.center[None])[0] * 255)
    assert np.abs(png[y0:y0 + 28, x0:x0 + 28].astype(int) - expected).max() <= 1

    hidden = tmp_path / "hidden.png"
    assert run_cli(["traverse", "--checkpoint", str(checkpoint), "--index", "7", "--scale", "1",
                    "--hide-collapsed", "--out", str(hidden)]) == 0
    assert Image.open(hidden).height == layout.height - 2 * (28 + layout.padding)


def test_traverse_writes_a_gif_that_sweeps_there_and_back(checkpoint, tmp_path, capsys):
    out = tmp_path / "sweep.gif"
    assert run_cli(["traverse", "--checkpoint", str(checkpoint), "--index", "0", "--steps", "7",
                    "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    with Image.open(out) as gif:
        assert gif.n_frames == result["frames"] == 2 * 7 - 2
        # 4 dimensions in a 2 x 2 block (28 px tiles, a 2 px gutter), enlarged x2
        assert gif.size == ((2 * 28 + 2) * 2, (2 * 28 + 2) * 2)


@pytest.mark.parametrize("args, message", [
    (["--index", "1000"], "--index 1000 is outside the test split (0..999)"),
    (["--index", "-1"], "--index: must be 0 or more"),
    (["--index", "0", "--steps", "1"], "--steps: must be from 2 to 51"),
    (["--index", "0", "--range", "0"], "--range: must be more than 0 and at most 10, got 0"),
    (["--index", "0", "--label", "3"], "--label needs a CVAE"),
])
def test_traverse_refuses_bad_input_with_exit_2(checkpoint, tmp_path, capsys, args, message):
    out = tmp_path / "grid.png"
    assert run_cli(["traverse", "--checkpoint", str(checkpoint), *args, "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and error.count("\n") == 0 and not out.exists()


def test_traverse_refuses_a_file_type_it_cannot_write_before_loading_anything(tmp_path, capsys):
    assert run_cli(["traverse", "--checkpoint", str(tmp_path / "absent.safetensors"), "--index", "0",
                    "--out", str(tmp_path / "grid.jpg")]) == 2
    assert "choose a .png (the grid) or .gif (the animation)" in capsys.readouterr().err


def test_traverse_refuses_to_hide_every_dimension(tmp_path, capsys):
    model = build_model(ModelConfig(hidden=(32,), latent_dim=3), seed=0)  # untrained: every dimension collapsed
    path = tmp_path / "untrained.safetensors"
    save_checkpoint(RunRecord(model.config, model.state_dict(), dataset="mnist-sample"), path)
    assert run_cli(["traverse", "--checkpoint", str(path), "--index", "0", "--hide-collapsed",
                    "--out", str(tmp_path / "grid.png")]) == 2
    assert "all 3 latent dimensions are collapsed" in capsys.readouterr().err
