"""Decision regions: the judge's reading of the decoded plane, cell by cell, and its colours."""

from __future__ import annotations

import numpy as np
import pytest

from core.decision_regions import MAX_ALPHA, DecisionRegions, decision_regions, region_image
from core.errors import ConfigError


@pytest.fixture(scope="module")
def judge():
    from core.judge import load_judge

    return load_judge()


def test_each_cell_is_the_judge_s_reading_of_the_image_decoded_at_its_centre(trained_vae_checkpoint, judge):
    from core.files import load_checkpoint
    from core.latent import decode

    model = load_checkpoint(trained_vae_checkpoint).build_model("cpu")
    n, x_range, y_range = 9, (-2.5, 1.5), (-1.0, 3.0)  # not square and not centred: rows and columns differ
    regions = decision_regions(model, judge, x_range, y_range, n)
    assert regions.classes.shape == regions.confidences.shape == (n, n)
    xs, ys = np.linspace(*x_range, n), np.linspace(*y_range, n)
    centres = np.array([[x, y] for y in ys[::-1] for x in xs], np.float32)  # row 0 is the top (largest y)
    classes, confidences = judge.read(decode(model, centres))
    assert np.array_equal(regions.classes.ravel(), classes)
    np.testing.assert_allclose(regions.confidences.ravel(), confidences, atol=1e-5)
    assert len(np.unique(regions.classes)) > 1  # several digits over the plane, so a flipped grid would show


def test_a_cvae_needs_its_class(trained_cvae_checkpoint, judge):
    from core.files import load_checkpoint

    model = load_checkpoint(trained_cvae_checkpoint).build_model("cpu")
    with pytest.raises(ConfigError, match="class"):
        decision_regions(model, judge, (-1, 1), (-1, 1), 4)


def test_the_image_takes_the_class_colour_and_fades_with_doubt():
    colours = np.array([[10 * c, 0, 255 - 10 * c] for c in range(10)], np.uint8)
    regions = DecisionRegions(np.array([[3, 7], [0, 9]]), np.array([[1.0, 0.1], [0.55, 0.05]], np.float32),
                              (0.0, 1.0), (0.0, 1.0))
    rgba = region_image(regions, colours)
    assert rgba.shape == (2, 2, 4) and rgba.dtype == np.uint8
    assert rgba[0, 0, :3].tolist() == colours[3].tolist() and rgba[1, 1, :3].tolist() == colours[9].tolist()
    alpha = rgba[..., 3]
    assert alpha[0, 0] == round(255 * MAX_ALPHA)  # certain: as opaque as the layer gets
    assert alpha[0, 1] == 0 and alpha[1, 1] == 0  # at or below chance (1 in 10): invisible
    assert 0 < alpha[1, 0] < alpha[0, 0]
