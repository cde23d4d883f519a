"""core.anatomy and `inspect`: one digit through a model, and how unusual it is among the test digits."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from core.anatomy import anatomy, ood_percentile, read_digit_image, reference_scores
from core.cli import run_cli
from core.files import load_checkpoint
from core.losses import kl_per_dimension, reconstruction_loss

FIELDS = ("kind", "label", "mu", "logvar", "eps", "z", "kl_per_dim", "recon", "neg_elbo", "ood_percentile")


@pytest.fixture(scope="module")
def vae(trained_vae_checkpoint):
    return load_checkpoint(trained_vae_checkpoint).build_model("cpu")


@pytest.fixture(scope="module")
def cvae(trained_cvae_checkpoint):
    return load_checkpoint(trained_cvae_checkpoint).build_model("cpu")


@pytest.fixture(scope="module")
def ae(trained_ae_checkpoint):
    return load_checkpoint(trained_ae_checkpoint).build_model("cpu")


def noise_image(seed: int = 1) -> torch.Tensor:
    return torch.rand((1, 28, 28), generator=torch.Generator().manual_seed(seed))  # uniform pixels in [0, 1]


def test_z_is_mu_plus_sigma_times_eps_exactly(vae, sample_data):
    digit = anatomy(vae, sample_data.test_x[0], seed=7)
    mu, logvar, eps = (torch.from_numpy(a) for a in (digit.mu, digit.logvar, digit.eps))
    assert torch.equal(torch.from_numpy(digit.z), mu + torch.exp(0.5 * logvar) * eps)
    np.testing.assert_array_equal(digit.sigma, np.exp(0.5 * digit.logvar))
    # the very z the model's own reparameterize draws with a generator seeded alike
    z = vae.reparameterize(mu[None], logvar[None], torch.Generator().manual_seed(7))[0]
    assert torch.equal(torch.from_numpy(digit.z), z)
    assert digit.mu.shape == digit.logvar.shape == digit.eps.shape == digit.z.shape == (2,)
    assert digit.x.shape == digit.x_hat.shape == (1, 28, 28) and 0 <= digit.x_hat.min() <= digit.x_hat.max() <= 1


def test_the_seed_draws_eps_and_nothing_else(vae, sample_data):
    first, again, other = (anatomy(vae, sample_data.test_x[3], seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(first.eps, again.eps)
    assert first.neg_elbo == again.neg_elbo
    assert not np.array_equal(first.eps, other.eps)
    np.testing.assert_array_equal(first.mu, other.mu)


def test_the_loss_terms_are_core_losses_own(vae, sample_data):
    digit = anatomy(vae, sample_data.test_x[5])
    mu, logvar = (torch.from_numpy(a)[None] for a in (digit.mu, digit.logvar))
    np.testing.assert_allclose(digit.kl_per_dim, kl_per_dimension(mu, logvar)[0].numpy(), rtol=1e-6)
    assert digit.kl == pytest.approx(float(digit.kl_per_dim.astype(np.float64).sum()), rel=1e-6)
    with torch.no_grad():
        logits = vae.decode(torch.from_numpy(digit.z)[None])
    recon = reconstruction_loss(logits, sample_data.test_x[5:6], "bce")[0].item()
    assert digit.recon == pytest.approx(recon, rel=1e-5)
    assert digit.neg_elbo == digit.recon + digit.kl and digit.score == digit.neg_elbo
    assert digit.kind == "vae" and digit.label is None and digit.ood_score == "neg_elbo"


def test_an_autoencoder_has_no_noise_no_kl_and_ranks_by_reconstruction(ae, sample_data):
    reference = reference_scores(ae, sample_data.test_x, sample_data.test_y)
    digit = anatomy(ae, sample_data.test_x[0], seed=3, reference=reference)
    assert digit.kind == "ae" and digit.logvar is None and digit.sigma is None and digit.eps is None
    assert digit.kl_per_dim is None and digit.kl is None and digit.neg_elbo is None
    np.testing.assert_array_equal(digit.z, digit.mu)
    assert digit.ood_score == "recon" and digit.score == digit.recon
    assert 0 <= digit.ood_percentile <= 100 and digit.reference_size == len(sample_data.test_x)


def test_a_cvae_takes_the_label_as_an_input(cvae, sample_data):
    with pytest.raises(ValueError, match="label"):
        anatomy(cvae, sample_data.test_x[0])
    as_itself = anatomy(cvae, sample_data.test_x[0], label=int(sample_data.test_y[0]))
    as_other = anatomy(cvae, sample_data.test_x[0], label=(int(sample_data.test_y[0]) + 1) % 10)
    assert as_itself.kind == "cvae" and as_itself.label == int(sample_data.test_y[0])
    assert not np.allclose(as_itself.mu, as_other.mu)


def test_the_percentile_counts_the_reference_digits_found_more_likely():
    reference = np.array([100.0, 150.0, 200.0, 250.0])
    assert ood_percentile(90.0, reference) == 0.0
    assert ood_percentile(175.0, reference) == 50.0
    assert ood_percentile(1e6, reference) == 100.0
    with pytest.raises(ValueError):
        ood_percentile(1.0, np.zeros(0))


@pytest.mark.parametrize("kind", ["vae", "cvae", "ae"])
def test_noise_is_less_likely_than_most_test_digits_and_test_digits_sit_in_the_middle(kind, request, sample_data):
    model = request.getfixturevalue(kind)
    reference = reference_scores(model, sample_data.test_x, sample_data.test_y)
    assert reference.shape == (len(sample_data.test_x),)
    noise = anatomy(model, noise_image(), label=3, reference=reference)
    assert noise.ood_percentile > 90
    # a test digit's score is one draw from the scores it is ranked among: their percentiles spread
    # evenly, so the typical digit sits mid-way and none looks like noise
    digits = [anatomy(model, sample_data.test_x[i], label=int(sample_data.test_y[i]), seed=i, reference=reference)
              for i in range(0, 400, 10)]
    percentiles = [d.ood_percentile for d in digits]
    assert 25 < float(np.median(percentiles)) < 75
    assert max(d.score for d in digits) < noise.score


def test_the_reference_scores_are_reproducible(vae, sample_data):
    x, y = sample_data.test_x[:300], sample_data.test_y[:300]
    first, again, other = (reference_scores(vae, x, y, seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)  # the seed draws the noise, so it is fixed, not left to chance


def write_png(path, image: torch.Tensor) -> None:
    Image.fromarray(np.round(image[0].numpy() * 255).astype(np.uint8)).save(path)


def test_an_image_file_reads_as_the_test_digit_it_shows(tmp_path, sample_data):
    write_png(tmp_path / "digit.png", sample_data.test_x[0])
    np.testing.assert_array_equal(read_digit_image(tmp_path / "digit.png").numpy(), sample_data.test_x[0].numpy())
    Image.fromarray(255 - np.round(sample_data.test_x[0][0].numpy() * 255).astype(np.uint8)).save(tmp_path / "ink.png")
    np.testing.assert_array_equal(read_digit_image(tmp_path / "ink.png").numpy(), sample_data.test_x[0].numpy())


def inspect(capsys, *args) -> tuple[int, str, str]:
    code = run_cli(["inspect", *[str(a) for a in args]])
    out, err = capsys.readouterr()
    return code, out, err


def strict_json(text: str) -> dict:
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON: {text!r}")
    return json.loads(text, parse_constant=refuse)


def test_cli_index_and_image_print_the_same_anatomy_as_strict_json(capsys, tmp_path, trained_vae_checkpoint,
                                                                  sample_data):
    code, out, err = inspect(capsys, "--checkpoint", trained_vae_checkpoint, "--index", 4, "--json")
    assert code == 0, err
    by_index = strict_json(out)
    assert set(FIELDS) <= set(by_index) and by_index["kind"] == "vae" and by_index["label"] is None
    assert by_index["test_label"] == int(sample_data.test_y[4])  # a VAE takes no label, yet the digit has one
    assert len(by_index["mu"]) == len(by_index["kl_per_dim"]) == len(by_index["z"]) == 2
    assert by_index["neg_elbo"] == pytest.approx(by_index["recon"] + sum(by_index["kl_per_dim"]), rel=1e-6)
    assert by_index["reference_size"] == len(sample_data.test_x) and by_index["ood_score"] == "neg_elbo"
    write_png(tmp_path / "four.png", sample_data.test_x[4])
    code, out, err = inspect(capsys, "--checkpoint", trained_vae_checkpoint, "--image", tmp_path / "four.png",
                             "--json")
    assert code == 0, err
    by_image = strict_json(out)
    for field in ("mu", "logvar", "eps", "z", "kl_per_dim", "recon", "neg_elbo", "ood_percentile"):
        assert by_image[field] == pytest.approx(by_index[field], rel=1e-5, abs=1e-6), field
    assert by_image["image"] == str(tmp_path / "four.png") and by_image["index"] is None
    assert by_image["test_label"] is None  # an image file's class is unknown


def test_cli_flags_a_noise_image_and_names_the_cvae_label(capsys, tmp_path, trained_cvae_checkpoint, sample_data):
    write_png(tmp_path / "noise.png", noise_image())
    code, out, err = inspect(capsys, "--checkpoint", trained_cvae_checkpoint, "--image", tmp_path / "noise.png",
                             "--label", 3, "--json")
    assert code == 0, err
    noise = strict_json(out)
    assert noise["kind"] == "cvae" and noise["label"] == 3 and noise["ood_percentile"] > 90
    code, out, err = inspect(capsys, "--checkpoint", trained_cvae_checkpoint, "--index", 0, "--json")
    assert code == 0, err
    assert strict_json(out)["label"] == int(sample_data.test_y[0])  # the test image's own class


def test_cli_an_autoencoder_prints_nulls_for_what_it_lacks(capsys, trained_ae_checkpoint):
    code, out, err = inspect(capsys, "--checkpoint", trained_ae_checkpoint, "--index", 0, "--json")
    assert code == 0, err
    result = strict_json(out)
    assert result["kind"] == "ae" and result["ood_score"] == "recon" and result["z"] == result["mu"]
    assert result["logvar"] is result["eps"] is result["kl_per_dim"] is result["neg_elbo"] is None


@pytest.mark.parametrize("args, says", [
    (["--index", "1000"], "outside the test split (0..999)"),
    (["--image", "missing.png"], "no such file"),
    (["--index", "1", "--image", "digit.png"], "cannot be combined"),
    ([], "give a test image (--index I) or an image file (--image PATH)"),
    (["--image", "not-an-image.png"], "is not an image that can be read"),
    (["--index", "1", "--label", "3"], "--label needs a CVAE"),
    (["cvae", "--image", "digit.png"], "--label is required with --image for a CVAE"),
    (["cvae", "--index", "1", "--label", "10"], "class 10 is outside"),
])
def test_cli_refusals_exit_2_with_one_line(args, says, capsys, tmp_path, monkeypatch, trained_vae_checkpoint,
                                           trained_cvae_checkpoint, sample_data):
    monkeypatch.chdir(tmp_path)
    write_png(tmp_path / "digit.png", sample_data.test_x[0])
    (tmp_path / "not-an-image.png").write_text("not an image")
    checkpoint = trained_vae_checkpoint
    if args and args[0] == "cvae":
        checkpoint, args = trained_cvae_checkpoint, args[1:]
    code, out, err = inspect(capsys, "--checkpoint", checkpoint, *args, "--json")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == "" and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("latent-morph inspect: error: ") and says in lines[0], lines[0]


# --- what the Inside tab draws: plane marks, many ellipses at once, a drawn digit, the meter's words ---

def test_scatter_marks_put_mu_z_and_an_ellipse_of_axes_sigma_on_the_plane(vae, ae, sample_data):
    from core.anatomy import scatter_marks
    from core.latent import fit_projection

    digit = anatomy(vae, sample_data.test_x[2], seed=4)
    marks = scatter_marks(digit, fit_projection(np.zeros((1, 2), np.float32)))  # 2-D: the identity
    np.testing.assert_array_equal(marks.mu, digit.mu)
    np.testing.assert_array_equal(marks.z, digit.z)
    half_axes = (marks.ellipse.max(axis=0) - marks.ellipse.min(axis=0)) / 2
    np.testing.assert_allclose(half_axes, digit.sigma, rtol=1e-3)
    plain = scatter_marks(anatomy(ae, sample_data.test_x[2]), fit_projection(np.zeros((1, 2), np.float32)))
    assert plain.ellipse is None and np.array_equal(plain.z, plain.mu)


@pytest.mark.parametrize("dims", [2, 8])
def test_posterior_ellipses_are_projection_ellipse_for_every_row(dims):
    from core.anatomy import posterior_ellipses
    from core.latent import fit_projection

    rng = np.random.default_rng(dims)
    projection = fit_projection(rng.normal(size=(200, dims)).astype(np.float32) * np.arange(1, dims + 1))
    mu = rng.normal(size=(30, dims)).astype(np.float32)
    sigma = rng.uniform(0.05, 1.5, (30, dims)).astype(np.float32)
    outlines = posterior_ellipses(projection, mu, sigma, points=24)
    assert outlines.shape == (30, 25, 2)
    for row in range(30):
        np.testing.assert_allclose(outlines[row], projection.ellipse(mu[row], sigma[row], 24), atol=1e-5)
    assert posterior_ellipses(projection, mu[:0], sigma[:0]).shape == (0, 33, 2)


def test_a_stroke_is_inked_like_an_mnist_stroke_and_strokes_add_by_maximum(sample_data):
    from core.anatomy import render_strokes

    line = render_strokes([np.array([[14.5, 4.0], [14.5, 24.0]])])
    assert line.shape == (28, 28) and line.dtype == np.float32 and line.max() == 1.0 and line.min() == 0.0
    ones = sample_data.test_x[sample_data.test_y == 1][:, 0]  # (N, 28, 28)
    mnist_row_ink = float(ones.sum(dim=2)[ones.amax(dim=2) > 0.5].mean())  # ink across a 1's stroke
    assert line[14].sum() == pytest.approx(mnist_row_ink, rel=0.25)
    assert line[:2].sum() == 0 and line[27].sum() == 0  # nothing beyond the stroke's reach
    dot = render_strokes([np.array([[3.5, 3.5]])])
    assert dot[3, 3] == 1.0 and dot[3, 5] == 0.0 < dot[3, 4] < 1.0  # anti-aliased edge
    both = render_strokes([np.array([[14.5, 4.0], [14.5, 24.0]]), np.array([[4.0, 14.5], [24.0, 14.5]])])
    np.testing.assert_array_equal(both, np.maximum(line, render_strokes([np.array([[4.0, 14.5], [24.0, 14.5]])])))
    np.testing.assert_array_equal(render_strokes([np.array([[4.0, 14.5], [24.0, 14.5]])], base=line), both)
    assert render_strokes([np.array([[-9.0, -9.0], [-5.0, -5.0]])]).sum() == 0  # off the canvas: no ink


@pytest.mark.parametrize("percentile, says", [
    (99.6, "Less likely than 99.6% of test digits: unlike anything"),
    (93.0, "Less likely than 93% of test digits: unusual"),
    (42.7, "Less likely than 42% of test digits: an ordinary input"),
    (99.96, "Less likely than 99.9% of test digits"),
    (0.0, "At least as likely as every test digit"),
])
def test_the_meter_says_the_percentile_in_a_plain_sentence(percentile, says):
    from core.anatomy import ood_sentence

    assert ood_sentence(percentile).startswith(says)
