"""The class colours stay apart with normal vision and for readers with red-green colour blindness.

Colour blindness is simulated with Machado, Oliveira & Fernandes (2009) at severity 1.0 (full
deuteranopia / protanopia), as colorspacious implements it; distances are Euclidean in CAM02-UCS
(Luo et al. 2006), where about 1 unit is a just-noticeable difference between large patches.
Scatter points are 5 pixels across, so we ask for a great deal more than that.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from colorspacious import cspace_convert

from gui.palette import CLASS_COLOURS

# Closest pair allowed, in CAM02-UCS units. tab10 has 4.3 under deuteranopia and 1.6 under
# protanopia; gui/palette.py has 20.8, 14.2 and 14.0.
MIN_DISTANCE = {"normal": 15.0, "deuteranopia": 12.0, "protanopia": 12.0}
MIN_FROM_BACKGROUND = 20.0  # the latent plot is white
CVD_TYPE = {"deuteranopia": "deuteranomaly", "protanopia": "protanomaly"}  # colorspacious's names
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def as_seen(colours: tuple[str, ...], vision: str) -> np.ndarray:
    """'#rrggbb' colours -> (n, 3) CAM02-UCS coordinates as a reader with this vision sees them."""
    srgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colours]) / 255.0  # (n, 3) in [0, 1]
    if vision != "normal":
        cvd = {"name": "sRGB1+CVD", "cvd_type": CVD_TYPE[vision], "severity": 100}  # 100 = Machado's 1.0
        srgb = np.clip(cspace_convert(srgb, cvd, "sRGB1"), 0.0, 1.0)
    return cspace_convert(srgb, "sRGB1", "CAM02-UCS")


def closest_pair(colours: tuple[str, ...], vision: str) -> tuple[float, str, str]:
    seen = as_seen(colours, vision)
    return min((float(np.linalg.norm(seen[a] - seen[b])), colours[a], colours[b])
               for a, b in itertools.combinations(range(len(colours)), 2))


def test_there_is_one_distinct_colour_per_digit():
    assert len(CLASS_COLOURS) == 10
    assert len({c.lower() for c in CLASS_COLOURS}) == 10


@pytest.mark.parametrize("vision", list(MIN_DISTANCE))
def test_every_pair_of_class_colours_stays_apart(vision):
    distance, first, second = closest_pair(CLASS_COLOURS, vision)
    assert distance >= MIN_DISTANCE[vision], f"{first} and {second} are {distance:.1f} apart ({vision})"


@pytest.mark.parametrize("vision", list(CVD_TYPE))
def test_the_threshold_rejects_tab10(vision):
    """The bar means something: matplotlib's tab10, the palette we had, does not clear it."""
    assert closest_pair(TAB10, vision)[0] < MIN_DISTANCE[vision]


@pytest.mark.parametrize("vision", list(MIN_DISTANCE))
def test_every_class_colour_stands_out_on_the_white_plot(vision):
    seen = as_seen(CLASS_COLOURS + ("#ffffff",), vision)
    distances = np.linalg.norm(seen[:-1] - seen[-1], axis=1)  # (10,)
    assert distances.min() >= MIN_FROM_BACKGROUND, CLASS_COLOURS[int(distances.argmin())]


def test_the_latent_view_draws_with_this_palette():
    from gui import class_scatter

    assert class_scatter.CLASS_COLOURS is CLASS_COLOURS
    assert [class_scatter.class_colour(i).name() for i in range(10)] == [c.lower() for c in CLASS_COLOURS]
