"""Traversal speed: a 16-D traversal grid (16 dimensions x 11 images) decoded (core.traversal.traverse, one
decoder pass) and painted in the Traverse tab (gui.traversal_views.TraversalGridView: tiling, the QImage,
the labelled paint), timed separately; and one slider move's decode (1 + 2 x 16 images: the live image and
every slider's end previews).

Target: decode + paint <= 100 ms (issue 12). The model is the default MLP (512-256) with a 16-D latent,
freshly initialised: decoding cost does not depend on the weights.

    python benchmarks/traversal_speed.py [--quick]
"""

from __future__ import annotations

import argparse

import _common  # noqa: F401
from _common import Results, median, timed

TARGET_MS = 100.0
LATENT_DIM = 16


def _spread(seconds: list[float]) -> str:
    """min and max beside the median: on a shared machine the median can be mostly waiting for a core."""
    return f"min {min(seconds) * 1000:.1f} ms, max {max(seconds) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 5 if args.quick else 30
    results = Results("traversal_speed")
    import numpy as np
    import torch

    from core.config import ModelConfig
    from core.models import build_model
    from core.traversal import slider_preview, spread_from_codes, traverse

    model = build_model(ModelConfig(latent_dim=LATENT_DIM), seed=0).eval()
    rng = np.random.default_rng(0)
    codes = rng.normal(0, 1, (1000, LATENT_DIM)).astype(np.float32) * np.linspace(0.05, 2, LATENT_DIM, dtype=np.float32)
    spread = spread_from_codes(codes, np.full_like(codes, 0.5))
    center = codes[0]

    decode_times = timed(lambda: traverse(model, center, spread), repeats=repeats, warmup=2)
    decode_ms = median(decode_times) * 1000
    grid = traverse(model, center, spread)
    results.add(f"decode a {LATENT_DIM} x {grid.steps} traversal grid (core.traversal.traverse)", decode_ms, "ms",
                note=_spread(decode_times))
    threads = torch.get_num_threads()
    if threads > 1:  # on a busy machine, OpenMP threads waiting for a core can cost more than the work itself
        torch.set_num_threads(1)
        one_thread = timed(lambda: traverse(model, center, spread), repeats=repeats, warmup=2)
        torch.set_num_threads(threads)
        results.add(f"  the same with 1 torch thread (default here: {threads})", median(one_thread) * 1000, "ms",
                    note=_spread(one_thread))
    slider_times = timed(lambda: slider_preview(model, center, np.zeros(LATENT_DIM), spread.step_scale),
                         repeats=repeats, warmup=2)
    results.add(f"decode a slider move (1 + 2 x {LATENT_DIM} images)", median(slider_times) * 1000, "ms",
                note=_spread(slider_times))

    try:
        import _gui
        app = _gui.app()
        from gui.traversal_views import TraversalGridView
    except Exception as exc:
        results.skip("paint the grid (TraversalGridView)", f"{type(exc).__name__}: {exc}")
        results.add("decode + paint a 16-D grid", decode_ms, "ms", f"<= {TARGET_MS:g} ms", None,
                    note="decode only: no display")
    else:
        view = TraversalGridView()
        view.resize(640, 760)
        view.show()
        _gui.process(app, 3)

        def paint() -> None:
            view.set_traversal(grid)
            view.repaint()

        paint_times = timed(paint, repeats=repeats, warmup=2)
        paint_ms = median(paint_times) * 1000
        results.add("paint the grid: tile, QImage, labelled repaint (TraversalGridView)", paint_ms, "ms",
                    note=_spread(paint_times))
        total = decode_ms + paint_ms
        results.add(f"decode + paint a {LATENT_DIM}-D grid (medians added)", total, "ms", f"<= {TARGET_MS:g} ms",
                    total <= TARGET_MS)
        view.close()
    results.finish()


if __name__ == "__main__":
    main()
