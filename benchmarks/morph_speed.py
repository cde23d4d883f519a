"""Morph speed: decode + display one frame, compute a 60-frame morph in the Morph panel
(gui/morph_panel.py), decode a 60-frame tour through 5 waypoints, export 60 frames at 280x280 to GIF
and MP4 (core.export.export_morph), and export a 60-frame morph-and-map slide 560 px wide (the latent
map of 10,000 points beside the 280-px digit, core/morph_map.py) to GIF, WebP, APNG and MP4.

Targets: one frame <= 5 ms; export <= 2 s each; tour <= 10 ms; morph-and-map export <= 3 s.
The model is the default 2-D VAE (MLP 512-256), freshly initialised: decoding cost does not depend
on the weights.

    python benchmarks/morph_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401
from _common import Results, median, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = Results("morph_speed")
    repeats = 3 if args.quick else 9
    import numpy as np
    import torch

    from core.config import ModelConfig
    from core.export import export_morph
    from core.latent import decode, interpolate, morph_path
    from core.morph_map import MapScene, morph_captions
    from core.models import build_model

    model = build_model(ModelConfig(), seed=0).eval()
    z0, z1 = np.array([-1.5, 0.5], np.float32), np.array([1.2, -0.8], np.float32)
    latents = interpolate(z0, z1, 60)

    # engine only: decode one frame, decode a 60-frame morph
    one = median(timed(lambda: decode(model, latents[:1]), repeats=50, warmup=5)) * 1000
    results.add("decode 1 frame (core.latent.decode)", one, "ms")
    sixty = median(timed(lambda: decode(model, interpolate(z0, z1, 60)), repeats=repeats * 3, warmup=2)) * 1000
    results.add("interpolate + decode 60 frames (core)", sixty, "ms")
    waypoints = np.array([[-1.5, 0.5], [1.2, -0.8], [0.3, 1.4], [-0.9, -1.1], [1.5, 1.0]], np.float32)
    tour = median(timed(lambda: decode(model, morph_path(waypoints, 60).latents), repeats=repeats * 3,
                        warmup=2)) * 1000
    results.add("60-frame tour through 5 waypoints, planned + decoded (core)", tour, "ms", "<= 10 ms", tour <= 10)

    # GUI: the morph panel's frame display and full rebuild
    try:
        import _gui
        app = _gui.app()
        from gui.latent_view import LatentPick
        from gui.morph_panel import MorphPanel
        from core.run_record import RunRecord
        from gui.session import ModelSession
    except Exception as exc:
        results.skip("morph panel frame display", f"{type(exc).__name__}: {exc}")
    else:
        session = ModelSession()
        session.set_record(RunRecord(ModelConfig(), model.state_dict()), dirty=False)
        panel = MorphPanel(session)
        panel.resize(420, 700)
        panel.show()
        _gui.process(app, 3)
        panel.frames_spin.setValue(60)
        a, b = LatentPick(z0, z0), LatentPick(z1, z1)

        def rebuild():
            panel.set_endpoints(a, b)
            while panel.decoding:  # the frames are decoded off the GUI thread: wait until they are shown
                app.processEvents()
            panel.grab()

        rebuild_ms = median(timed(rebuild, repeats=repeats, warmup=1)) * 1000
        results.add("60-frame morph: set endpoints, decode, filmstrip, paint (MorphPanel)", rebuild_ms, "ms")
        frame_index = [0]

        def show_next():
            frame_index[0] = (frame_index[0] + 1) % 60
            panel.show_frame(frame_index[0])
            panel.frame_view.repaint()

        display = timed(show_next, repeats=120, warmup=5)
        results.add("display 1 decoded frame (show_frame + repaint)", median(display) * 1000, "ms",
                    "<= 5 ms", median(display) * 1000 <= 5, note=f"max {max(display) * 1000:.1f} ms")

        def decode_and_show():
            frame = decode(model, latents[frame_index[0] % 60][None])[0]
            frame_index[0] += 1
            panel.frame_view.set_image(frame)
            panel.frame_view.repaint()

        full = timed(decode_and_show, repeats=120, warmup=5)
        results.add("decode + display 1 frame (scrubbing off the path)", median(full) * 1000, "ms", "<= 5 ms",
                    median(full) * 1000 <= 5, note=f"max {max(full) * 1000:.1f} ms")
        panel.close()

    # export: 60 frames, 28 px x scale 10 = 280 x 280
    frames = decode(model, latents)
    with tempfile.TemporaryDirectory() as folder:
        for suffix in (".gif", ".mp4"):
            path = Path(folder) / f"morph{suffix}"
            try:
                seconds = timed(lambda: export_morph(frames, path, scale=10, fps=24), repeats=2 if args.quick else 5)
            except Exception as exc:
                results.skip(f"export 60 frames 280x280 {suffix}", f"{type(exc).__name__}: {exc}")
                continue
            value = median(seconds)
            results.add(f"export 60 frames 280x280 to {suffix[1:].upper()}", value, "s", "<= 2 s", value <= 2,
                        note=f"{path.stat().st_size / 1024:.0f} KiB")
        # the slide: 10,000 points (the MNIST test split's size) in the ten classes, a straight path
        rng = np.random.default_rng(0)
        scene = MapScene(rng.normal(size=(10_000, 2)).astype(np.float32), rng.integers(0, 10, 10_000),
                         np.stack([z0, z1]), latents, np.stack([z0, z1]))
        captions = morph_captions(["1", "7"], 60)
        for suffix in (".gif",) if args.quick else (".gif", ".webp", ".apng", ".mp4"):  # --quick: a smoke run
            path = Path(folder) / f"slide{suffix}"
            try:
                seconds = timed(lambda: export_morph(frames, path, size=280, fps=24, scene=scene, captions=captions),
                                repeats=1 if args.quick else 3, warmup=0 if args.quick else 1)
            except Exception as exc:
                results.skip(f"export 60-frame morph-and-map 560 px wide {suffix}", f"{type(exc).__name__}: {exc}")
                continue
            value = median(seconds)
            results.add(f"export 60-frame morph + map, 560x314 (captioned), to {suffix[1:].upper()}", value, "s",
                        "<= 3 s", value <= 3, note=f"{path.stat().st_size / 1024:.0f} KiB")
    results.finish()


if __name__ == "__main__":
    main()
