"""Latent view (gui/latent_view.py): time to (re)draw 10,000 and 70,000 points coloured by class,
and the hover / click hit-test time. Offscreen Qt, real widgets.

Redraw = ``session.set_points`` (LatentView.refresh_points: one setData per class) + a forced
paint of the plot (``grab()``), median of several runs. Hit test = LatentView.nearest_point /
pick_at at random places, and the whole hover handler (LatentView._mouse_moved) that shows
the digit inset. Targets: redraw 70k <= 150 ms, hit test <= 5 ms.

    python benchmarks/scatter_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import _common  # noqa: F401
from _common import Results, median, percentile
import _gui


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = Results("scatter_speed")
    repeats = 2 if args.quick else 7
    try:
        app = _gui.app()
        from PySide6.QtCore import QPointF

        from core.config import ModelConfig
        from core.models import build_model
        from core.run_record import RunRecord
        from gui.latent_view import LatentView
        from gui.session import ModelSession
    except Exception as exc:  # the GUI may not be there yet
        results.skip("latent view redraw", f"{type(exc).__name__}: {exc}")
        results.finish()
        return
    import numpy as np

    session = ModelSession()
    model = build_model(ModelConfig(), seed=0)
    session.set_record(RunRecord(ModelConfig(), model.state_dict()), dirty=False)
    view = LatentView(session)
    view.resize(900, 700)
    view.show()
    _gui.process(app, 3)
    sizes = (10_000,) if args.quick else (10_000, 70_000)
    for n in sizes:
        point_sets = [_gui.random_points(n, seed=s, image_count=2000) for s in range(2)]
        times, paint_times = [], []
        for i in range(repeats + 1):
            start = time.perf_counter()
            session.set_points(point_sets[i % 2])  # new data each time, like a new epoch
            view.plot.grab()  # forces a full paint of the plot with the new points
            elapsed = time.perf_counter() - start
            start = time.perf_counter()
            view.plot.grab()  # a repaint with no new data (pan / zoom / expose)
            paint = time.perf_counter() - start
            if i:  # the first includes item creation
                times.append(elapsed)
                paint_times.append(paint)
        redraw = median(times) * 1000
        target = 150 if n >= 70_000 else None
        results.add(f"scatter setData + paint, {n:,} points", redraw, "ms",
                    "<= 150 ms" if target else "", redraw <= target if target else None,
                    note=f"max {max(times) * 1000:.0f} ms")
        results.add(f"scatter repaint only, {n:,} points", median(paint_times) * 1000, "ms")

        # hit tests at random places inside the current view
        rng = np.random.default_rng(1)
        (x0, x1), (y0, y1) = view.view_box.viewRange()
        places = np.column_stack([rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200)])
        nearest = []
        for x, y in places:
            start = time.perf_counter()
            view.pick_at((float(x), float(y)))
            nearest.append(time.perf_counter() - start)
        hit = median(nearest) * 1000
        results.add(f"click hit test (pick_at), {n:,} points", hit, "ms", "<= 5 ms", hit <= 5,
                    note=f"p99 {percentile(nearest, 99) * 1000:.2f} ms")
        hover_fn = getattr(view, "_mouse_moved", None)
        if hover_fn is not None:
            hovers = []
            for x, y in places[:100]:
                scene = view.view_box.mapViewToScene(QPointF(float(x), float(y)))
                start = time.perf_counter()
                hover_fn(scene)
                app.processEvents()  # the inset's repaint
                hovers.append(time.perf_counter() - start)
            hover = median(hovers) * 1000
            results.add(f"hover (hit test + inset + events), {n:,} points", hover, "ms", "<= 5 ms", hover <= 5,
                        note=f"p99 {percentile(hovers, 99) * 1000:.2f} ms")
    view.close()
    results.finish()


if __name__ == "__main__":
    main()
