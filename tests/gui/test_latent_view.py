"""The latent scatter: one point per digit in its class colour, hover previews, picking, manifold."""

import dataclasses

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from decode_helpers import settle, spy_decoder
from paint_helpers import PaintCounter, process

from core.config import ModelConfig
from core.models import build_model
from gui.latent_manifold import MANIFOLD_GRID
from gui.latent_overlays import class_colour
from core.points import encode_points


def test_scatter_has_one_point_per_digit_in_its_class_colour(workspace, vae_session):
    view, points = workspace.latent_view, vae_session.points
    shown = 0
    for label, item in view.scatter.items.items():
        expected = points.plane[points.labels == label]
        xs, ys = item.getData()
        np.testing.assert_allclose(np.column_stack([xs, ys]), expected)
        assert item.opts["brush"].color() == class_colour(label)
        assert item.opts["pxMode"] and item.opts["size"] > 0
        shown += len(xs)
    assert shown == len(points.plane) == 300
    names = [label.text for _, label in view.scatter.legend.items]
    assert names == list(vae_session.class_names)


def test_new_points_reuse_the_items_and_keep_a_zoomed_view(workspace, vae_session, tiny_data):
    view = workspace.latent_view
    items = dict(view.scatter.items)
    view.view_box.setRange(xRange=(-0.5, 0.5), yRange=(-0.5, 0.5), padding=0)  # the user zoomed
    zoomed = view.view_box.viewRange()
    vae_session.set_points(encode_points(vae_session.model, tiny_data, limit=200))
    assert view.scatter.items == items
    assert sum(len(item.getData()[0]) for item in items.values()) == 200
    np.testing.assert_allclose(view.view_box.viewRange(), zoomed)


def test_hovering_a_digit_shows_its_image_and_class(qtbot, workspace, vae_session):
    view, points = workspace.latent_view, vae_session.points
    index = next(i for i in range(len(points.plane)) if view.nearest_point(points.plane[i]) == i)
    QTest.mouseMove(view.plot.viewport(), view.viewport_pos(points.plane[index]))
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)
    assert view.hover.caption.text().startswith(vae_session.class_names[points.labels[index]])
    assert f"#{index}" in view.hover.caption.text()
    inset = view.hover.grab().toImage()  # framed in the digit's class colour, on white
    assert inset.pixelColor(0, inset.height() // 2).rgb() == class_colour(points.labels[index]).rgb()
    assert inset.pixelColor(inset.width() // 2, inset.height() - 8).rgb() == 0xFFFFFFFF


def test_a_clicked_digits_preview_hides_until_the_pointer_leaves_it(qtbot, workspace, vae_session):
    view, points = workspace.latent_view, vae_session.points
    pixel_w, _ = view.view_box.viewPixelSize()
    index = next(i for i in range(len(points.plane))  # a digit still nearest 3 px to either side
                 if all(view.nearest_point(points.plane[i] + (dx * pixel_w, 0)) == i for dx in (-3, 0, 3)))
    viewport, at = view.plot.viewport(), view.viewport_pos(points.plane[index])
    (x0, x1), (y0, y1) = view.view_box.viewRange()
    empty = next(place for place in ((x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)) for fx in np.linspace(0.05, 0.95, 10)
                                     for fy in np.linspace(0.95, 0.05, 10)) if view.nearest_point(place) is None)
    away = view.viewport_pos(empty)

    def move(to):
        qtbot.wait(20)  # pyqtgraph drops mouse moves that come faster than its rate limit
        QTest.mouseMove(viewport, to)

    move(away)  # Qt ignores a move to where the cursor already is (an earlier test may have left it here)
    move(at)
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at)
    assert not view.hover.isVisible()  # it would cover the neighbours among which the second point is chosen
    for dx in (1, 2, 1):  # still on the clicked digit
        move(at + QPoint(dx, 0))
    assert not view.hover.isVisible()
    move(away)  # the pointer leaves the digit...
    move(at)  # ...and comes back: previews work again
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)


def test_nearest_point_is_measured_in_screen_pixels_and_skips_hidden_classes(workspace, vae_session):
    view, points = workspace.latent_view, vae_session.points
    index = next(i for i in range(len(points.plane)) if view.nearest_point(points.plane[i]) == i)
    pixel_w, _ = view.view_box.viewPixelSize()
    x, y = points.plane[index]
    assert view.nearest_point((x + 5 * pixel_w, y)) is not None  # 5 px away snaps
    assert view.nearest_point((x + 5 * pixel_w, y), max_pixels=4) != index
    far = (points.plane[:, 0].max() + 1000 * pixel_w, y)
    assert view.nearest_point(far) is None
    view.scatter.items[int(points.labels[index])].setVisible(False)
    assert view.nearest_point((x, y)) != index


def test_a_click_on_an_empty_place_picks_that_latent(qtbot, workspace, vae_session):
    view = workspace.latent_view
    (x0, x1), (y0, y1) = view.view_box.viewRange()
    corner = (x0 + 0.02 * (x1 - x0), y1 - 0.02 * (y1 - y0))
    assert view.nearest_point(corner) is None
    with qtbot.waitSignal(view.pointPicked) as picked:
        QTest.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.viewport_pos(corner))
    pick = picked.args[0]
    assert pick.index is None
    np.testing.assert_allclose(pick.plane, corner, atol=(x1 - x0) / 100)
    np.testing.assert_allclose(pick.latent, pick.plane, atol=1e-6)  # identity projection for a 2-D latent


def test_a_wider_latent_is_shown_as_a_pca_projection(workspace, vae_session, tiny_data):
    config = ModelConfig(latent_dim=5, hidden=(32,))
    weights = build_model(config, seed=0).state_dict()
    if hasattr(vae_session, "set_record"):  # the session holds a RunRecord (set_model before that refactor)
        from core.run_record import RunRecord

        vae_session.set_record(RunRecord(config, weights))
    else:
        vae_session.set_model(config, weights)
    vae_session.set_points(encode_points(vae_session.model, tiny_data))
    view = workspace.latent_view
    assert "PCA projection of 5-D latent" in view.projection_note.text()
    assert "of variance" in view.projection_note.text()
    pick = view.pick_at((123.0, -45.0))  # far from every digit
    assert pick.index is None and pick.latent.shape == (5,)
    np.testing.assert_allclose(vae_session.points.projection.to_plane(pick.latent[None])[0], (123.0, -45.0),
                               rtol=1e-4)


def test_the_manifold_is_decoded_over_the_visible_range_when_switched_on(qtbot, workspace):
    view = workspace.latent_view
    assert not view.manifold_item.isVisible()
    view.manifold_box.setChecked(True)
    settle(qtbot, view)
    image = view.manifold_item.image
    assert view.manifold_item.isVisible()
    assert image.shape == (MANIFOLD_GRID * 28, MANIFOLD_GRID * 28) and image.dtype == np.float32
    assert image.flags["C_CONTIGUOUS"] and view.manifold_item.levels is not None
    (x0, x1), _ = view.view_box.viewRange()
    rect = view.manifold_item.mapRectToView(view.manifold_item.boundingRect())
    assert rect.left() < x0 < x1 < rect.right()
    view.manifold_box.setChecked(False)
    assert not view.manifold_item.isVisible()


def test_a_cvae_manifold_follows_the_generate_panels_class(qtbot, cvae_workspace, cvae_session, monkeypatch):
    seen = spy_decoder(monkeypatch, cvae_session.model, lambda model, z, labels: labels.unique().tolist())
    cvae_workspace.generate_panel.set_label(4)
    settle(qtbot, cvae_workspace)  # the Generate panel's own decodes
    seen.clear()
    cvae_workspace.latent_view.manifold_box.setChecked(True)
    settle(qtbot, cvae_workspace)
    assert seen == [[4]]


def test_the_shared_symbol_stamp_matches_what_pyqtgraph_would_pick(workspace):
    import pyqtgraph as pg

    item = workspace.latent_view.scatter.items[1]
    reference = pg.ScatterPlotItem(pos=np.column_stack(item.getData()), size=item.opts["size"], pen=item.opts["pen"],
                                   brush=item.opts["brush"], pxMode=True)
    reference.fragmentAtlas = item.fragmentAtlas  # same atlas, so the same stamp coordinates
    reference.data["sourceRect"] = 0
    reference.updateSpots()
    assert (item.data["sourceRect"]["w"] > 0).all()
    assert np.array_equal(item.data["sourceRect"], reference.data["sourceRect"])


def test_picked_digits_show_their_posterior_ellipse(qtbot, workspace):
    points = workspace.session.points
    assert points.sigmas is not None and points.sigmas.shape == points.latents.shape
    assert workspace.select_indices(0, 1)
    settle(qtbot, workspace)
    xs, ys = workspace.latent_view.ellipse_curve.getData()
    outline = np.column_stack([xs, ys])
    first = outline[:np.flatnonzero(np.isnan(xs))[0]]  # the polygons are split by a NaN row
    assert np.allclose(np.abs(first - points.plane[0]).max(axis=0), points.sigmas[0], atol=1e-3)
    workspace.clear_selection()
    xs, _ = workspace.latent_view.ellipse_curve.getData()
    assert xs is None or len(xs) == 0


def test_the_points_paint_from_a_cache_that_follows_new_points_and_pans(workspace):
    """The points and the axes paint from pixmaps cached in device pixels, so a hover inset, a drawn
    digit's marker or ellipses over them blit the points instead of drawing each again. What shows
    must still be where the points are: after an overlay change, new points, and a pan."""
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QGraphicsItem

    view = workspace.latent_view
    cached = QGraphicsItem.CacheMode.DeviceCoordinateCache
    assert view.scatter.items and all(item.cacheMode() == cached for item in view.scatter.items.values())
    assert all(view.plot.getPlotItem().getAxis(side).cacheMode() == cached for side in ("left", "bottom"))

    def colour_at(plane_xy) -> QColor:
        image = view.plot.viewport().grab().toImage()
        at = view.viewport_pos(plane_xy)
        return QColor(image.pixel(at.x(), at.y()))

    def shows_point(plane_xy) -> bool:
        return colour_at(plane_xy).getRgb()[:3] == class_colour(3).getRgb()[:3]

    first, second = np.array([0.13, 0.27], np.float32), np.array([0.61, -0.43], np.float32)
    view.show_points(first[None], np.array([3]), view_range=(-1.0, 1.0, -1.0, 1.0))
    assert shows_point(first) and not shows_point(second)
    view.show_probe(np.array([-0.7, 0.7], np.float32))  # an overlay changes: the points come from the cache
    assert shows_point(first) and not shows_point(second)
    view.show_points(second[None], np.array([3]), view_range=(-1.0, 1.0, -1.0, 1.0))  # new points
    assert shows_point(second) and not shows_point(first)
    view.view_box.setRange(xRange=(-0.2, 1.8), yRange=(-1.3, 0.7), padding=0)  # a pan
    assert shows_point(second) and not shows_point(first)


def test_a_new_models_classes_and_legend_are_ready_before_its_points(workspace, vae_session):
    """A model arrives before its encoded digits (a run's first epoch): the per-class items and the
    legend are made then, so the points' arrival is one redraw rather than set-up as well."""
    view = workspace.latent_view
    vae_session.set_record(vae_session.record, data=vae_session.data)  # the same model anew: no points yet
    assert vae_session.points is None
    assert sorted(view.scatter.items) == list(range(len(vae_session.class_names)))
    assert all(len(item.getData()[0]) == 0 for item in view.scatter.items.values())
    assert [label.text for _, label in view.scatter.legend.items] == list(vae_session.class_names)


def test_a_new_model_with_the_same_classes_keeps_the_legend_and_shows_every_class_again(workspace, vae_session):
    """Making ten legend rows took 35-40 ms of the GUI thread at every new model (a training run's
    first epoch): the same classes keep theirs. A class hidden from the old model's legend shows again."""
    view = workspace.latent_view
    items = dict(view.scatter.items)
    items[3].hide()  # the user clicked "3" in the legend
    vae_session.set_record(vae_session.record, data=vae_session.data)
    assert view.scatter.items == items and all(item.isVisible() for item in items.values())
    assert [label.text for _, label in view.scatter.legend.items] == list(vae_session.class_names)
    renamed = dataclasses.replace(vae_session.record, class_names=tuple(f"class {i}" for i in range(10)))
    vae_session.set_record(renamed, data=vae_session.data)
    assert [label.text for _, label in view.scatter.legend.items] == [f"class {i}" for i in range(10)]


def test_a_moving_marker_leaves_the_view_s_auto_range_alone(workspace, monkeypatch):
    """Overlays never move the range (ignoreBounds), yet pyqtgraph re-fitted it whenever their bounds
    changed, measuring every class's points again at the next paint: 2-3 ms of each draw-pad stroke.
    New points still re-fit the view."""
    view = workspace.latent_view
    overlays = view.overlays
    fitted = []
    monkeypatch.setattr(view.view_box, "itemBoundsChanged", lambda item: fitted.append(item))
    for t in np.linspace(-1, 1, 5):
        overlays.set_current(np.array([t, -t], np.float32))
        overlays.show_path(np.array([[0, 0], [t, t]], np.float32), None, np.array([[0, 0], [t, t]], np.float32))
    assert fitted == []
    view.session.set_points(view.session.points)
    assert fitted  # the points' items still tell the view


def test_an_epoch_s_moved_digits_are_drawn_fitted_and_picked_where_they_now_are(workspace, vae_session):
    """A training epoch moves the same test digits: each class keeps its count, so the points move in
    place. The view's auto range, the snapping and the legend's items must all follow."""
    view, points = workspace.latent_view, vae_session.points
    items = dict(view.scatter.items)
    moved = dataclasses.replace(points, plane=(points.plane * 3 + 5).astype(np.float32))
    vae_session.set_points(moved)
    assert view.scatter.items == items
    for label, item in items.items():
        xs, ys = item.getData()
        np.testing.assert_allclose(np.column_stack([xs, ys]), moved.plane[moved.labels == label])
    view.plot.viewport().grab()  # pyqtgraph fits an auto range as it paints
    (x0, x1), (y0, y1) = view.view_box.viewRange()
    low, high = moved.plane.min(axis=0), moved.plane.max(axis=0)
    assert x0 <= low[0] and x1 >= high[0] and y0 <= low[1] and y1 >= high[1]
    assert x0 > points.plane[:, 0].min()  # fitted to the new places, not stretched over the old ones
    index = next(i for i in range(len(moved.plane)) if view.nearest_point(moved.plane[i]) == i)
    assert view.nearest_point(points.plane[index]) != index


def test_an_epoch_s_new_points_cost_one_paint_of_the_view(qtbot, workspace, vae_session):
    """pyqtgraph fits an auto range as a paint begins; the range that changes mid-paint asks for a
    second paint of every item. While a GPU trains, that was 2-4 paints of 10,000 digits an epoch."""
    view, points = workspace.latent_view, vae_session.points
    process(qtbot)
    paints = PaintCounter(view.plot.viewport())
    for scale in (1.01, 1.02, 1.03):  # each epoch moves the digits a little (no axis grows a wider label)
        vae_session.set_points(dataclasses.replace(points, plane=(points.plane * scale).astype(np.float32)))
        process(qtbot)
    assert paints.count == 3


def test_clearing_marks_that_are_not_there_repaints_nothing(qtbot, workspace, vae_session):
    """Each epoch's new weights clear the Inside tab's sample and the morph's path: when neither is
    shown, the plot must not repaint for them."""
    view = workspace.latent_view
    process(qtbot)
    paints = PaintCounter(view.plot.viewport())
    view.show_sample(None)
    view.show_probe(None)
    view.show_path(None, None, None)
    view.show_ellipses([])
    process(qtbot)
    assert paints.count == 0
    view.show_probe(np.array([0.1, 0.2], np.float32))
    process(qtbot)
    assert paints.count == 1  # a mark that is there still shows at once


def test_every_class_is_listed_in_the_legend_however_short_the_plot(qtbot, vae_session):
    """Seen on a real display: Compare's short plots at 1366 x 768 listed the classes 0-7, never 8 or 9.
    A short plot lays the legend out in columns; a tall one keeps a single column."""
    from gui.latent_view import LatentView

    view = LatentView(vae_session)
    qtbot.addWidget(view)
    view.show()

    def listed(height):
        view.resize(420, height)
        process(qtbot)
        plot_rect = view.view_box.sceneBoundingRect()
        return ([label.text for _sample, label in view.scatter.legend.items
                 if plot_rect.contains(label.sceneBoundingRect())], view.scatter.legend.columnCount)

    names = list(vae_session.class_names)
    short, columns = listed(300)
    assert short == names and columns > 1
    tall, columns = listed(700)
    assert tall == names and columns == 1
