"""The Compare view: model files side by side, one digit selected in all, one metrics table."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

FAST = {"iw_samples": 2, "prior_samples": 50}  # a quick IW bound and few prior draws


def model_file(path, dataset="mnist-sample", **config):
    """An untrained model file of the given ModelConfig fields and dataset (for what Compare must refuse)."""
    from core.config import ModelConfig
    from core.files import save_checkpoint
    from core.models import build_model
    from core.run_record import RunRecord

    model_config = ModelConfig(hidden=(16,), **config)
    return save_checkpoint(RunRecord(model_config, build_model(model_config).state_dict(), dataset=dataset), path)


def opened(qtbot, paths, evaluate=False):
    """A shown CompareWindow over ``paths`` and whether it loaded them."""
    from gui.compare_view import CompareWindow

    window = CompareWindow(paths, **FAST, evaluate_on_open=evaluate)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.loaded, timeout=20_000) as loaded:
        pass
    qtbot.waitExposed(window)
    return window, loaded.args[0]


def shown_points(column) -> int:
    """How many digits the column's scatter draws (every class's item, as listed in its legend)."""
    return sum(len(sample.item.getData()[0]) for sample, _label in column.view.scatter.legend.items)


@pytest.fixture
def two_models(trained_vae_checkpoint, trained_ae_checkpoint):
    return [trained_vae_checkpoint, trained_ae_checkpoint]


def test_two_models_show_one_scatter_each_of_the_same_test_digits(qtbot, two_models, sample_data):
    window, ok = opened(qtbot, two_models)
    assert ok and len(window.columns) == 2
    assert [shown_points(column) for column in window.columns] == [len(sample_data.test_y)] * 2
    # the same digits in the same order, encoded by two different models
    vae, ae = (column.compared.points for column in window.columns)
    assert np.array_equal(vae.labels, ae.labels) and not np.allclose(vae.plane, ae.plane)


def test_three_models_fill_one_metrics_row_each(qtbot, two_models, trained_cvae_checkpoint, sample_data):
    window, ok = opened(qtbot, [*two_models, trained_cvae_checkpoint], evaluate=True)
    assert ok and len(window.columns) == 3
    assert {shown_points(column) for column in window.columns} == {len(sample_data.test_y)}
    with qtbot.waitSignal(window.evaluated, timeout=30_000) as evaluated:
        pass
    assert evaluated.args == [True]
    table = window.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert table.rowCount() == 3
    names = [table.item(row, 0).text() for row in range(3)]
    assert [name.split(" · ")[1].split(",")[0] for name in names] == ["VAE", "AE", "CVAE"]
    elbo = [table.item(row, headers.index("−ELBO (nats)")).text() for row in range(3)]
    assert float(elbo[0]) > 0 and elbo[1] == "—" and float(elbo[2]) > 0  # an AE has no bound: a dash
    fidelity = [table.item(row, headers.index("Fidelity")).text() for row in range(3)]
    assert fidelity[:2] == ["—", "—"] and fidelity[2].endswith("%")  # a CVAE's figure only
    # every column decoded the same prior draws and the same morph
    assert {column.prior_view.count for column in window.columns} == {16}
    assert {column.morph_view.count for column in window.columns} == {10}


def test_a_digit_clicked_in_one_scatter_is_selected_in_all(qtbot, two_models):
    window, _ = opened(qtbot, two_models)
    first, second = window.columns
    start = window.selection[1]  # the first morph ends where the next one starts
    view, points = second.view, second.compared.points
    ranges = []  # the first paints fit the range to the points and the layout: wait until it holds still

    def range_settled() -> bool:
        ranges.append(view.view_box.viewRange())
        return ranges[-1][0] != [0, 1] and ranges[-2:-1] == ranges[-1:]

    qtbot.waitUntil(range_settled, timeout=5000)
    wanted = next(i for i in np.flatnonzero(points.labels == 3) if view.nearest_point(points.plane[i]) == i)
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.viewport_pos(points.plane[wanted]))
    picked = window.selection[1]
    assert window.selection[0] == start and picked != start  # the clicked digit (or its nearest neighbour on screen)
    label = int(points.labels[picked])
    for column in (first, second):
        assert column.selection == (start, picked)
        xs, ys = column.view.endpoint_markers.getData()  # both ends marked where *this* model put them
        np.testing.assert_allclose(np.column_stack([xs, ys]), column.compared.points.plane[[start, picked]])
        assert column.morph_view.count == 10 and column.morph_title.text().endswith(f"#{picked} ({label})")


@pytest.mark.parametrize("config, named", [({"image_shape": (1, 16, 16)}, "images"),
                                           ({"dataset": "fashion-mnist"}, "dataset")])
def test_a_model_of_other_images_or_another_dataset_is_refused_with_a_message(qtbot, config, named, tmp_path,
                                                                               trained_vae_checkpoint):
    other = model_file(tmp_path / "other.safetensors", **config)
    window, ok = opened(qtbot, [trained_vae_checkpoint, other])
    assert not ok and window.columns == []
    message = window.message.text()
    assert window.message.isVisible() and str(other) in message and named in message
    assert message.startswith("These models cannot be compared")


@pytest.mark.parametrize("count", [2, 4])
def test_each_column_s_view_toggles_read_in_full_at_the_window_s_opening_size(qtbot, two_models,
                                                                               trained_cvae_checkpoint, count):
    """Seen on a real display: in a column, "Decoded manifold behind the points" was cut to "Decoded manifold b"
    (the main view's toggles are shorter since; three still do not fit a column)."""
    paths = [*two_models, trained_cvae_checkpoint, two_models[0]][:count]
    window, ok = opened(qtbot, paths)
    assert ok
    qtbot.waitUntil(lambda: all(column.view.ellipses_box.isVisible() for column in window.columns))
    for column in window.columns:
        view = column.view
        for box in (view.manifold_box, view.decision_regions.toggle, view.ellipses_box):
            assert box.width() >= box.sizeHint().width(), box.text()
            assert box.toolTip()  # the long name, and what it draws


def test_the_window_opens_within_the_screen(qtbot, two_models):
    """It opened 960 px tall whatever the screen: off a 1366 x 768 laptop screen's bottom edge."""
    window, ok = opened(qtbot, two_models)
    assert ok
    screen = window.screen().availableGeometry()
    assert window.width() <= screen.width() and window.height() <= screen.height(), (window.size(), screen)
    assert window.minimumSizeHint().height() <= 0.92 * 768 - 40  # it could shrink to a laptop's height
