"""The Morph tab's decode task: every frame of a planned path, decoded on a worker thread (MorphPanel
submits it through gui.workers.LatestOnly), with the digit judge's reading of short morphs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.latent import MorphPath, decode
from core.models import LatentModel
from gui.judge_strip import READ_AT_ONCE_FRAMES, JudgeReading, JudgeRequest


@dataclass(frozen=True)
class DecodedMorph:
    """A planned path and its frames, decoded together off the GUI thread."""

    path: MorphPath
    frames: np.ndarray  # (T, H, W) in [0, 1]
    reading: JudgeReading | None = None  # what the judge read in the frames, when the task read them
    why_not_read: str | None = None  # why there is no reading, when the task tried

    @property
    def read(self) -> bool:
        """The task read the frames (a reading or the note why there is none): nothing is left to read."""
        return self.reading is not None or self.why_not_read is not None


def decode_morph(decoder: Callable[[], LatentModel], path: MorphPath, condition: np.ndarray | int | None,
                 judge: JudgeRequest | None = None) -> DecodedMorph:
    """On a worker thread: every frame of the path, under a CVAE's class (one label, or a mix per frame),
    and, given ``judge``, the judge's reading of them when there are at most READ_AT_ONCE_FRAMES (a
    longer morph is read once its picks stop moving). ``decoder()`` gives the model to decode with
    (gui.model_tasks.decoder_for)."""
    frames = decode(decoder(), path.latents, condition)
    if judge is None or len(frames) > READ_AT_ONCE_FRAMES:
        return DecodedMorph(path, frames)
    return DecodedMorph(path, frames, *judge.read(frames))
