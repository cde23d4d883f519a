"""The ten class colours, one per digit, chosen to stay apart for colour-blind readers.

Okabe & Ito's "Color Universal Design" set (https://jfly.uni-koeln.de/color/) without its
black, plus three of Paul Tol's colours (https://personal.sron.nl/~pault/): muted indigo,
muted wine and bright grey.

Why this set and not another:
- matplotlib's tab10 puts red beside green and brown beside grey: under simulated deuteranopia
  pink and cyan sit 4.3 CAM02-UCS units apart, under protanopia orange and green 1.6.
- Okabe-Ito is designed for deuteranopia and protanopia and is the set most readers have met
  (Nature Methods' "Points of view: Color blindness", 2011), but has only eight colours.
- Its black is left out because the morph path and its endpoint markers are drawn in black
  over the points; three of Tol's colours make up the ten.
- Tol's own nine-colour "muted" set ends in a pale grey (#DDDDDD) meant for missing data,
  which nearly vanishes on the white plot, and its rose and teal sit 12.3 units apart under
  deuteranopia; this mix keeps every pair at least 14.0 apart. A light pink or light cyan
  would serve as well between the points but fades into the white plot under deuteranopia
  or protanopia; a grey looks the same to every reader.

Measured (Machado et al. 2009 simulation at severity 1.0, distances in CAM02-UCS):
closest pair 20.8 with normal vision (tab10: 20.2), 14.2 under deuteranopia, 14.0 under
protanopia; every colour at least 21.6 from the white background, for every reader.
tests/gui/test_palette.py checks these. The engine owns the numbers (core.morph_map draws with
them); gui/palette.py hands them to the views.
"""

from __future__ import annotations

CLASS_COLOURS = (
    "#E69F00",  # 0 orange (Okabe-Ito)
    "#56B4E9",  # 1 sky blue (Okabe-Ito)
    "#009E73",  # 2 bluish green (Okabe-Ito)
    "#F0E442",  # 3 yellow (Okabe-Ito)
    "#0072B2",  # 4 blue (Okabe-Ito)
    "#D55E00",  # 5 vermillion (Okabe-Ito)
    "#CC79A7",  # 6 reddish purple (Okabe-Ito)
    "#332288",  # 7 indigo (Tol, muted)
    "#882255",  # 8 wine (Tol, muted)
    "#BBBBBB",  # 9 grey (Tol, bright)
)
