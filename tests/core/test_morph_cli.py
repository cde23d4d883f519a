"""`morph` run in-process: a CVAE morph changes class, --label keeps one, tours through --digits/--indices;
slides with --with-map, --caption, --size, --upscale, and the format by the --out suffix."""

import json

import numpy as np
import pytest

from core.cli import run_cli
from core.latent import one_hot
from core.models import LatentModel


@pytest.fixture
def conditions(monkeypatch):
    """Every condition the decoder is given, as the one-hot (or soft) rows it concatenates to z."""
    seen = []
    original = LatentModel.decode

    def recording(self, z, labels=None):
        seen.append(self.condition(labels).detach().numpy().copy())
        return original(self, z, labels)

    monkeypatch.setattr(LatentModel, "decode", recording)
    return seen


def _morph(capsys, checkpoint, tmp_path, *args):
    code = run_cli(["morph", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "m.png"), "--scale", "1",
                    "--json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _first_of(tiny_data_labels, digit):
    return int(np.flatnonzero(tiny_data_labels == digit)[0])


def test_a_cvae_morph_from_1_to_7_ends_decoded_as_7(capsys, tmp_path, trained_cvae_checkpoint, conditions):
    result = _morph(capsys, trained_cvae_checkpoint, tmp_path, "--from-digit", "1", "--to-digit", "7",
                    "--frames", "30")
    condition = conditions[-1]
    assert condition.shape == (30, 10)
    np.testing.assert_array_equal(condition[0], one_hot([1], 10)[0])
    np.testing.assert_array_equal(condition[-1], one_hot([7], 10)[0])
    assert 0 < condition[15, 7] < 1 and np.isclose(condition[15, 1] + condition[15, 7], 1)  # a mix on the way
    assert result["waypoint_classes"] == [1, 7] and result["frames"] == 30


def test_label_keeps_one_class_and_morphs_the_style(capsys, tmp_path, trained_cvae_checkpoint, conditions):
    result = _morph(capsys, trained_cvae_checkpoint, tmp_path, "--from-digit", "1", "--to-digit", "7",
                    "--frames", "6", "--label", "4")
    np.testing.assert_array_equal(conditions[-1], np.repeat(one_hot([4], 10), 6, axis=0))
    assert result["waypoint_classes"] == [4, 4]


def test_digits_tour_through_the_first_test_example_of_each_class(capsys, tmp_path, trained_cvae_checkpoint,
                                                                 sample_data, conditions):
    labels = sample_data.test_y.numpy()
    result = _morph(capsys, trained_cvae_checkpoint, tmp_path, "--digits", "1,4,7,1", "--frames", "31")
    assert result["indices"] == [_first_of(labels, d) for d in (1, 4, 7, 1)]
    assert result["waypoint_classes"] == [1, 4, 7, 1] and result["frames"] == 31
    marks = result["waypoint_frames"]
    assert marks[0] == 0 and marks[-1] == 30 and marks == sorted(marks)
    np.testing.assert_array_equal(conditions[-1][marks], one_hot([1, 4, 7, 1], 10))


def test_indices_tour_a_plain_vae(capsys, tmp_path, trained_vae_checkpoint):
    result = _morph(capsys, trained_vae_checkpoint, tmp_path, "--indices", "3,10,20", "--frames", "12")
    assert result["indices"] == [3, 10, 20] and result["from_index"] == 3 and result["to_index"] == 20
    assert "waypoint_classes" not in result and len(result["waypoint_frames"]) == 3


@pytest.mark.parametrize("args, says", [
    (["--digits", "1,4", "--from-digit", "1", "--to-digit", "4"], "cannot be combined"),
    (["--indices", "1,2", "--to-index", "3"], "cannot be combined"),
    (["--digits", "1,2", "--indices", "3,4"], "cannot be combined"),
    (["--digits", "1"], "at least two"),
    (["--indices", "1,x"], "separated by commas"),
    (["--indices", "1,99999"], "outside the test split"),
    (["--digits", "1,4,7", "--frames", "2"], "at least 3 frames"),
    (["--from-digit", "1", "--to-digit", "7", "--label", "3"], "needs a CVAE"),
])
def test_bad_point_choices_exit_2_with_one_line(capsys, tmp_path, trained_vae_checkpoint, args, says):
    code = run_cli(["morph", "--checkpoint", str(trained_vae_checkpoint), "--out", str(tmp_path / "m.gif"), *args])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and says in err


def test_with_map_caption_and_size_write_the_slide(capsys, tmp_path, trained_vae_checkpoint):
    target = tmp_path / "slide.webp"
    code = run_cli(["morph", "--checkpoint", str(trained_vae_checkpoint), "--from-index", "0", "--to-index", "1",
                    "--frames", "5", "--with-map", "--caption", "--size", "56", "--upscale", "smooth", "--bounce",
                    "--out", str(target), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert (result["frames"], result["width"], result["height"]) == (8, 112, 68)  # map + digit, caption band
    from PIL import Image

    with Image.open(target) as slide:
        assert slide.n_frames == 8 and slide.size == (112, 68)
        colours = np.asarray(slide.convert("RGB"))[:56, :56].reshape(-1, 3)
    assert len(np.unique(colours, axis=0)) >= 8  # the map: the class colours, the path and the dot


@pytest.mark.parametrize("args, says", [
    (["--size", "27"], "argument --size: must be from 28 to 1024, got 27"),
    (["--size", "1025"], "argument --size: must be from 28 to 1024, got 1025"),
    (["--size", "big"], "argument --size: must be a whole number from 28 to 1024"),
    (["--upscale", "blurry"], "argument --upscale: invalid choice: 'blurry'"),
    (["--size", "56", "--scale", "2"], "--size and --scale cannot be combined"),
    (["--columns", "4"], "--columns lays out a .png strip"),
    (["--out", "m.bmp"], "choose a .gif, .mp4, .webp, .apng (animated PNG) or .png"),
    (["--out", "m"], "choose a .gif"),
])
def test_bad_slide_options_exit_2_with_one_line(capsys, tmp_path, trained_vae_checkpoint, args, says):
    out_args = [] if "--out" in args else ["--out", str(tmp_path / "m.gif")]
    code = run_cli(["morph", "--checkpoint", str(trained_vae_checkpoint), "--from-index", "0", "--to-index", "1",
                    *out_args, *args])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and says in err, err
    assert list(tmp_path.iterdir()) == []


def test_the_cli_s_size_bounds_and_formats_are_the_exporter_s():
    from core import cli_morph, export, morph_map

    assert (cli_morph.MIN_SIZE, cli_morph.MAX_SIZE) == (morph_map.MIN_SIZE, morph_map.MAX_SIZE)
    assert cli_morph.MORPH_SUFFIXES == export.EXPORT_FORMATS
