"""Decision-region speed: the 40 x 40 grid behind the latent scatter (core/decision_regions.py), decoded
by the default 2-D VAE (MLP 512-256, freshly initialised: the cost does not depend on the weights) and
read by the digit judge, then turned into the RGBA image the view draws. Median of the repeats after a
warm-up, wall clock with torch's threads as they are, and CPU time on one thread (what it costs where
other jobs load the machine). Target: <= 100 ms (the grid is read on a worker thread; this is how
long the background takes to appear after a pan or an epoch).

Also printed: the two halves (decode, judge) and the judge at its default batch of 500 images, which
READ_BATCH = 200 replaced.

    python benchmarks/decision_regions_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

import _common
from _common import Results, median, timed


def cpu_seconds(fn, repeats: int) -> list[float]:
    """CPU seconds of this process per call (one thread: it equals the time on a free core)."""
    fn()
    out = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        out.append(time.process_time() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for the smoke test")
    args = parser.parse_args()
    repeats = 3 if args.quick else 15

    import numpy as np
    import torch

    from core.config import ModelConfig
    from core.decision_regions import REGION_GRID, decision_regions, region_image
    from core.latent import manifold
    from core.models import build_model

    results = Results("decision regions speed")
    print(_common.machine(), "load average", os.getloadavg())
    judge = _common.shipped_judge_or_finish(results, "decision regions, 40x40 grid")
    if judge is None:
        return
    model = build_model(ModelConfig(), seed=0).eval()
    colours = np.zeros((10, 3), np.uint8)
    ranges = ((-3.0, 3.0), (-3.0, 3.0))
    cells = REGION_GRID * REGION_GRID

    def whole() -> None:
        region_image(decision_regions(model, judge, *ranges, REGION_GRID), colours)

    seconds = timed(whole, repeats=repeats)
    results.add(f"decision regions, {REGION_GRID}x{REGION_GRID} grid (decode + judge + RGBA)", 1000 * median(seconds),
                "ms", "<= 100 ms", median(seconds) <= 0.1, note=f"{torch.get_num_threads()} threads")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cpu = cpu_seconds(whole, repeats)
    results.add("the same, CPU time on 1 thread", 1000 * median(cpu), "ms", "<= 100 ms", median(cpu) <= 0.1)
    images = manifold(model, REGION_GRID, None, *ranges)[0].reshape(cells, 28, 28)
    results.add("  decode only, CPU time on 1 thread",
                1000 * median(cpu_seconds(lambda: manifold(model, REGION_GRID, None, *ranges), repeats)), "ms")
    results.add(f"  judge only ({cells} images in batches of 200), CPU time on 1 thread",
                1000 * median(cpu_seconds(lambda: judge.read(images, batch_size=200), repeats)), "ms")
    results.add(f"  judge only ({cells} images in batches of 500), CPU time on 1 thread",
                1000 * median(cpu_seconds(lambda: judge.read(images), repeats)), "ms")
    torch.set_num_threads(threads)
    results.finish()


if __name__ == "__main__":
    main()
