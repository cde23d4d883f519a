"""One grid function (core.export.tile_images) for files and screen; PNG strips that wrap onto rows;
the frame rate a GIF really stores; progress from the first frame; sizes in px, nearest or smooth."""

import numpy as np
import pytest
from PIL import Image

from core.errors import ConfigError
from core.export import GRID_PAD_VALUE, export_morph, gif_frame_rate, strip_columns, tile_images


def _frames(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((count, 28, 28)).astype(np.float32)


def test_tile_images_puts_each_image_in_its_cell_with_grey_gutters():
    images = np.stack([np.full((2, 3), value, np.float32) for value in (0.0, 0.25, 0.5, 0.75, 1.0)])  # (5, 2, 3)
    grid = tile_images(images, columns=3, padding=1, margin=2)
    # 2 rows of 3 cells: height 2 + 2*2 + 1 + 2*2, width 3 * 3 + 2 * 1 + 2 * 2
    assert grid.shape == (2 * 2 + 1 + 4, 3 * 3 + 2 + 4) and grid.dtype == np.float32
    assert np.all(grid[2:4, 2:5] == 0.0) and np.all(grid[2:4, 6:9] == 0.25) and np.all(grid[2:4, 10:13] == 0.5)
    assert np.all(grid[5:7, 2:5] == 0.75) and np.all(grid[5:7, 6:9] == 1.0)
    assert np.all(grid[5:7, 10:13] == GRID_PAD_VALUE)  # the empty sixth cell
    assert np.all(grid[:2] == GRID_PAD_VALUE) and np.all(grid[4] == GRID_PAD_VALUE)  # margin and gutter


def test_tile_images_keeps_uint8_and_greys_its_gutters_on_the_same_scale():
    images = np.full((2, 4, 4), 255, np.uint8)
    grid = tile_images(images, columns=2, padding=2)
    assert grid.dtype == np.uint8 and grid.shape == (4, 10)
    assert np.all(grid[:, 4:6] == round(GRID_PAD_VALUE * 255)) and np.all(grid[:, :4] == 255)


def test_a_24_frame_png_strip_at_x10_wraps_into_two_rows_that_fit_a_slide(tmp_path):
    result = export_morph(_frames(24), tmp_path / "strip.png", scale=10)
    with Image.open(tmp_path / "strip.png") as strip:
        # 12 frames of 280 px a row, 2 px gutters between and around them
        assert strip.size == (12 * 280 + 13 * 2, 2 * 280 + 3 * 2)
    assert result["frames"] == 24


def test_the_strip_takes_a_column_count(tmp_path):
    export_morph(_frames(12), tmp_path / "five.png", scale=1, columns=5)
    with Image.open(tmp_path / "five.png") as strip:
        assert strip.size == (5 * 28 + 6 * 2, 3 * 28 + 4 * 2)  # 5 + 5 + 2 frames
    with pytest.raises(ConfigError, match="columns"):
        export_morph(_frames(3), tmp_path / "zero.png", scale=1, columns=0)
    assert not (tmp_path / "zero.png").exists()


def test_strip_rows_are_filled_evenly():
    assert strip_columns(12) == 12
    assert strip_columns(13) == 7  # 7 + 6, not 12 + 1
    assert strip_columns(24) == 12
    assert strip_columns(4, columns=9) == 4


@pytest.mark.parametrize("asked, written, delay_ms", [(12, 12.5, 80), (20, 20.0, 50), (24, 25.0, 40), (100, 50.0, 20)])
def test_a_gif_export_reports_the_frame_rate_it_really_wrote(tmp_path, asked, written, delay_ms):
    result = export_morph(_frames(4), tmp_path / "m.gif", scale=1, fps=asked)
    assert result["fps"] == pytest.approx(written) == gif_frame_rate(asked)
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.info["duration"] == delay_ms


def test_mp4_and_png_report_their_rate(tmp_path):
    assert export_morph(_frames(4), tmp_path / "m.mp4", scale=2, fps=12)["fps"] == 12.0
    assert export_morph(_frames(4), tmp_path / "m.png", scale=1, fps=12)["fps"] is None  # a still image


def test_a_gif_reports_progress_from_its_first_frame(tmp_path):
    reports = []
    export_morph(_frames(20), tmp_path / "m.gif", scale=2, fps=12, progress=reports.append)
    assert len(reports) >= 10
    assert 0 < reports[0] <= 0.1
    assert reports == sorted(reports) and reports[-1] == 1.0


def test_strip_layout_predicts_the_written_png(tmp_path):
    from core.export import strip_layout

    export_morph(_frames(17), tmp_path / "s.png", scale=3, columns=6)
    rows, columns, height, width = strip_layout(17, (28, 28), scale=3, columns=6)
    with Image.open(tmp_path / "s.png") as strip:
        assert (rows, columns) == (3, 6) and strip.size == (width, height)


def test_frames_are_enlarged_one_at_a_time_and_an_export_too_big_for_memory_is_refused(tmp_path, monkeypatch):
    """A 1,998-frame x40 export held 2.5 GB before its first progress report (a real-display check)."""
    import core.export
    from core.errors import ConfigError

    frames = np.random.default_rng(0).random((10, 28, 28)).astype(np.float32)
    monkeypatch.setattr(core.export, "MAX_IN_MEMORY_BYTES", 50_000)  # 10 frames at x10 need 78,400
    with pytest.raises(ConfigError, match="export an MP4"):
        core.export.export_morph(frames, tmp_path / "big.gif", scale=10)
    assert not (tmp_path / "big.gif").exists()
    enlarged = []
    real = core.export.SlideFrames.__getitem__
    monkeypatch.setattr(core.export.SlideFrames, "__getitem__",
                        lambda self, index: enlarged.append(index) or real(self, index))
    progress_at = []
    core.export.export_morph(frames, tmp_path / "big.mp4", scale=10,
                             progress=lambda f: progress_at.append(len(enlarged)))
    assert progress_at[0] == 0 and enlarged == list(range(10))  # reported before any, each made once


def _two_tone(count: int = 3) -> np.ndarray:
    """Black and white stripes, shifted a column each frame (a writer merges equal neighbours into one
    longer frame): any grey in an enlargement was made by the resampling."""
    frames = np.zeros((count, 28, 28), np.float32)
    for index in range(count):
        frames[index, :, index % 2::2] = 1.0
    return frames


@pytest.mark.parametrize("upscale, greys_made", [("nearest", False), ("smooth", True)])
def test_a_size_in_px_enlarges_crisp_or_smooth(tmp_path, upscale, greys_made):
    result = export_morph(_two_tone(), tmp_path / "m.apng", size=100, upscale=upscale)  # 100 / 28: not whole
    assert (result["width"], result["height"]) == (100, 100)
    with Image.open(tmp_path / "m.apng") as image:
        assert image.n_frames == 3 and image.size == (100, 100)
        values = set(np.unique(np.asarray(image.convert("L"))))
    assert values <= {0, 255} or greys_made
    assert (len(values) > 2) == greys_made


@pytest.mark.parametrize("options, says", [
    ({"size": 27}, "from 28 to 1024 px"), ({"size": 1025}, "from 28 to 1024 px"),
    ({"upscale": "bilinear"}, "nearest or smooth"), ({}, ".apng (animated PNG)"),
])
def test_sizes_upscaling_and_file_names_outside_the_choices_are_refused(tmp_path, options, says):
    target = tmp_path / ("m.bmp" if not options else "m.gif")
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace(")", r"\)")):
        export_morph(_frames(3), target, **options)
    assert list(tmp_path.iterdir()) == []


def test_colour_frames_tile_with_grey_gutters_in_every_channel():
    tiles = np.zeros((3, 4, 5, 3), np.uint8)
    tiles[..., 0] = 255  # red tiles
    grid = tile_images(tiles, columns=2, padding=1)
    assert grid.shape == (2 * 4 + 1, 2 * 5 + 1, 3)
    assert (grid[4] == round(GRID_PAD_VALUE * 255)).all()  # the gutter row, the same grey in R, G and B
    assert (grid[:4, :5] == (255, 0, 0)).all()
