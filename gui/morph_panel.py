"""Morph between picked places (two, or a tour through several): decode every frame once, off the
GUI thread, then play from the cache. A CVAE's class moves along the path with z unless the user
keeps one class."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox,
                               QVBoxLayout, QWidget)

from core.data import class_name
from core.errors import ConfigError, LatentMorphError
from core.latent import EASINGS, MAX_FRAMES, MorphPath, check_frames, decode, morph_path, one_hot
from core.models import LatentModel
from gui.image_utils import TiledImageView
from gui.judges import judge_provider
from gui.judge_strip import (READ_AT_ONCE_FRAMES, READ_DELAY_MS, JudgeReading, JudgeRequest, JudgeStrip,
                              decode_task_judge, morph_summary, read_digits)
from gui.latent_view import LatentPick
from gui.model_tasks import decoder_for
from gui.session import ModelSession
from gui.workers import LatestOnly

DEFAULT_FRAMES = 24
DEFAULT_FPS = 12
MAX_PLAYBACK_FPS = 60
MIN_FILMSTRIP_COLUMNS = 12  # long morphs wrap onto about a quarter as many rows as columns
PATH_LABELS = {"linear": "Straight line (lerp)", "slerp": "Spherical (slerp)"}
CLASS_MODES = {"change": "Changes with the points", "keep": "Stays the class chosen in Generate"}
SELECTION_HELP = "Shift-click adds a point to the tour, drag a point to move it, Ctrl+Z removes the last, Esc clears."


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


def _decode_morph(decoder: Callable[[], LatentModel], path: MorphPath, condition: np.ndarray | int | None,
                  judge: JudgeRequest | None = None) -> DecodedMorph:
    """On a worker thread: every frame of the path, under a CVAE's class (one label, or a mix per frame),
    and, given ``judge``, the judge's reading of them when there are at most READ_AT_ONCE_FRAMES (a
    longer morph is read once its picks stop moving). ``decoder()`` gives the model to decode with
    (gui.model_tasks.decoder_for)."""
    frames = decode(decoder(), path.latents, condition)
    if judge is None or len(frames) > READ_AT_ONCE_FRAMES:
        return DecodedMorph(path, frames)
    return DecodedMorph(path, frames, *judge.read(frames))


def filmstrip_columns(frames: int) -> int:
    return max(MIN_FILMSTRIP_COLUMNS, math.ceil(math.sqrt(frames * 4)))


class MorphPanel(QWidget):
    """Picked points in, frames out. ``pathChanged`` carries the frame latents (T, latent) or None.

    ``endpoints`` holds the picked points in order: the two ends of a morph, or a tour's waypoints.
    """

    pathChanged = Signal(object)
    frameChanged = Signal(int)
    statusMessage = Signal(str)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.endpoints: list[LatentPick] = []
        self.frames: np.ndarray | None = None  # (T, H, W) decoded once per selection or setting change
        self.latents: np.ndarray | None = None  # (T, latent)
        self.conditions: np.ndarray | None = None  # (T, classes) a CVAE's class mix per frame, when it changes
        self.waypoint_frames: tuple[int, ...] = ()  # the frame at which each picked point is reached
        self.reading: JudgeReading | None = None  # what the digit judge reads in each frame
        self.current = 0
        self._direction = 1
        self._label = 0
        self._play_on_arrival = False  # the second point was picked: play once its frames arrive
        self.decodes = LatestOnly(self._show_morph, self._morph_failed, self)

        self.selection_note = QLabel("Click a digit or an empty place in the latent view, then a second one.")
        self.selection_note.setWordWrap(True)
        self.condition_note = QLabel()
        self.condition_note.setWordWrap(True)
        self.frame_view = TiledImageView(min_size=QSize(140, 140))
        self.frame_view.set_placeholder("No morph yet")
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play or pause (Space)")
        self.t_slider = QSlider(Qt.Orientation.Horizontal)
        self.t_slider.setRange(0, DEFAULT_FRAMES - 1)
        self.frame_note = QLabel("–")
        self.frame_note.setMinimumWidth(110)
        self.frames_spin = QSpinBox()
        self.frames_spin.setRange(2, MAX_FRAMES)
        self.frames_spin.setValue(DEFAULT_FRAMES)
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, MAX_PLAYBACK_FPS)
        self.fps_spin.setValue(DEFAULT_FPS)
        self.fps_spin.setSuffix(" fps")
        self.path_combo = QComboBox()
        for key, text in PATH_LABELS.items():
            self.path_combo.addItem(text, key)
        self.easing_combo = QComboBox()
        for easing in EASINGS:
            self.easing_combo.addItem(easing, easing)
        self.class_combo = QComboBox()
        for key, text in CLASS_MODES.items():
            self.class_combo.addItem(text, key)
        self.class_combo.setToolTip("CVAE: let the class change from each point's class to the next, "
                                    "or keep one class and morph only the style")
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Loop", "loop")
        self.mode_combo.addItem("Bounce", "bounce")
        self.filmstrip = TiledImageView(min_size=QSize(120, 40))
        self.filmstrip.setToolTip("Every frame of the morph; click one to jump to it")
        self.filmstrip.setMaximumHeight(160)
        self.judge_strip = JudgeStrip()
        self.judge_strip.setToolTip("What the digit judge reads in each frame: the class colour, as tall as "
                                    "its confidence; a tick and the new digit where the reading flips")
        self.judge_note = QLabel()
        self.judge_note.setWordWrap(True)

        transport = QHBoxLayout()
        transport.addWidget(self.play_button)
        transport.addWidget(self.t_slider, 1)
        transport.addWidget(self.frame_note)
        form = self.settings_form = QFormLayout()
        form.addRow("Class", self.class_combo)
        form.addRow("Frames", self.frames_spin)
        form.addRow("Speed", self.fps_spin)
        form.addRow("Path", self.path_combo)
        form.addRow("Easing", self.easing_combo)
        form.addRow("Playback", self.mode_combo)
        layout = QVBoxLayout(self)
        layout.addWidget(self.selection_note)
        layout.addWidget(self.condition_note)
        layout.addWidget(self.frame_view, 3)
        layout.addLayout(transport)
        layout.addLayout(form)
        layout.addWidget(QLabel("Filmstrip"))
        layout.addWidget(self.filmstrip, 1)
        layout.addWidget(self.judge_strip)
        layout.addWidget(self.judge_note)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._redecode_timer = QTimer(self, singleShot=True, interval=200)  # epochs: re-decode once they settle
        self._redecode_timer.timeout.connect(self.rebuild)
        self._read_timer = QTimer(self, singleShot=True, interval=READ_DELAY_MS)  # long morphs: read once settled
        self._read_timer.timeout.connect(self._read_frames)
        self.play_button.toggled.connect(self._set_playing)
        self.t_slider.valueChanged.connect(self.show_frame)
        self.filmstrip.tileClicked.connect(self.t_slider.setValue)
        self.judge_strip.frameClicked.connect(self.t_slider.setValue)
        self.fps_spin.valueChanged.connect(self._fps_changed)
        for combo in (self.path_combo, self.easing_combo):
            combo.currentIndexChanged.connect(self.rebuild)
        self.class_combo.currentIndexChanged.connect(self._class_mode_changed)
        self.frames_spin.valueChanged.connect(self.rebuild)
        session.modelChanged.connect(self._model_changed)
        judge_provider().ready.connect(self._judge_ready)
        session.weightsChanged.connect(self._redecode_timer.start)
        session.pointsChanged.connect(self._points_changed)
        self._model_changed()

    # --- settings -----------------------------------------------------------------------------

    @property
    def frame_count(self) -> int:
        return self.frames_spin.value()

    @property
    def path_kind(self) -> str:
        return self.path_combo.currentData()

    @property
    def easing(self) -> str:
        return self.easing_combo.currentData()

    @property
    def bounce(self) -> bool:
        return self.mode_combo.currentData() == "bounce"

    @property
    def fps(self) -> int:
        return self.fps_spin.value()

    @property
    def changes_class(self) -> bool:
        """CVAE: the class follows the points along the path (else: the Generate class throughout)."""
        return self.class_combo.currentData() == "change"

    def set_changes_class(self, changes: bool) -> None:
        self.class_combo.setCurrentIndex(self.class_combo.findData("change" if changes else "keep"))

    @property
    def is_playing(self) -> bool:
        return self.timer.isActive()

    def set_frame_count(self, frames: int) -> bool:
        """Programmatic frame count; refused with a status message when out of range."""
        try:
            check_frames(frames)
        except ConfigError as exc:
            self.statusMessage.emit(f"Frames {exc.reason}")
            return False
        self.frames_spin.setValue(int(frames))
        return True

    def set_label(self, label: int) -> None:
        """The class chosen in the Generate panel: a CVAE's empty places take it, and in "keep" mode
        every frame is decoded as it."""
        if label != self._label:
            self._label = label
            self._update_condition_note()
            self.rebuild()

    def _class_mode_changed(self) -> None:
        self._update_condition_note()
        self.rebuild()

    def _update_condition_note(self) -> None:
        model = self.session.model
        conditional = model is not None and model.config.is_conditional
        self.settings_form.setRowVisible(self.class_combo, conditional)
        if not conditional:
            self.condition_note.hide()
            return
        name = class_name(self.session.class_names, self._label)
        if self.changes_class:
            self.condition_note.setText(
                "CVAE: the class changes along the path with z, from each point's class to the next: "
                "c(t) = (1−t)·c₀ + t·c₁. An empty place you click takes the class chosen in Generate "
                f"(now “{name}”).")
        else:
            self.condition_note.setText(f"CVAE: every frame is decoded as class “{name}”, the class chosen in "
                                        "Generate. The path morphs the style.")
        self.condition_note.show()

    def waypoint_labels(self) -> list[int]:
        """The class of each picked point: a digit's own (a test digit's, or the class a drawing was
        encoded with), the Generate class for an empty place."""
        return [pick.label if pick.label is not None else self._label for pick in self.endpoints]

    # --- selection ----------------------------------------------------------------------------

    def add_endpoint(self, pick: LatentPick) -> bool:
        """A click: the first starts a pair, the second completes it and plays the morph, the next
        starts a new pair."""
        if self._append_endpoint(pick):
            self._play_when_complete()
            return True
        return False

    def _append_endpoint(self, pick: LatentPick) -> bool:
        if len(self.endpoints) >= 2:
            self.clear()
        if self.endpoints and self._same_place(self.endpoints[0], pick):
            self.statusMessage.emit("That is the first point again: pick a different second point")
            return False
        self.endpoints.append(pick)
        if len(self.endpoints) == 1:
            self.statusMessage.emit(f"Start: {self._describe(pick)}. Now pick the second point.")
        else:
            self.statusMessage.emit(f"Morphing from {self._describe(self.endpoints[0])} to {self._describe(pick)}")
        self.rebuild()
        return True

    def _play_when_complete(self) -> None:
        """The moment a morph has its second point it plays (once its frames arrive): the user chose it
        to watch it."""
        if len(self.endpoints) != 2:
            return
        if self.decoding:
            self._play_on_arrival = True
        elif self.frames is not None:
            self.play_button.setChecked(True)

    def set_endpoints(self, first: LatentPick, second: LatentPick) -> bool:
        """Programmatic selection (scripts, exports, screenshots): it leaves playback to the caller."""
        self.clear()
        return self._append_endpoint(first) and self._append_endpoint(second)

    def add_waypoint(self, pick: LatentPick) -> bool:
        """A Shift-click: the path goes on through this point too (a tour), in the order picked."""
        if not self.endpoints:
            return self.add_endpoint(pick)
        if self._same_place(self.endpoints[-1], pick):
            self.statusMessage.emit("That is the last point again: pick a different one to go on to")
            return False
        self.endpoints.append(pick)
        self.statusMessage.emit(f"Tour: point {len(self.endpoints)} is {self._describe(pick)}")
        self.rebuild()
        self._play_when_complete()
        return True

    def move_waypoint(self, index: int, pick: LatentPick) -> bool:
        """A dragged point: the path now passes through its new place (playback goes on)."""
        if not 0 <= index < len(self.endpoints):
            return False
        self.endpoints[index] = pick
        self.rebuild()
        return True

    def remove_last_waypoint(self) -> bool:
        """Undo: forget the most recently picked point."""
        if not self.endpoints:
            self.statusMessage.emit("No picked point to remove")
            return False
        removed = self.endpoints.pop()
        self.statusMessage.emit(f"Removed {self._describe(removed)}")
        self.rebuild()
        return True

    @staticmethod
    def _same_place(a: LatentPick, b: LatentPick) -> bool:
        if a.index is not None or b.index is not None:
            return a.index == b.index
        return bool(np.allclose(a.latent, b.latent))

    def _describe(self, pick: LatentPick) -> str:
        names = self.session.class_names
        if pick.index is not None:
            return f"digit {class_name(names, pick.label) if pick.label is not None else '?'} (#{pick.index})"
        place = f"the place ({pick.plane[0]:.2f}, {pick.plane[1]:.2f})"
        model = self.session.model
        if model is not None and model.config.is_conditional:
            label = pick.label if pick.label is not None else self._label  # a drawing's own class, else Generate's
            return f"{place} as class “{class_name(names, label)}”"
        return place

    def clear(self) -> None:
        self.play_button.setChecked(False)
        self._play_on_arrival = False
        self.endpoints = []
        self.rebuild()

    def _model_changed(self) -> None:
        self.endpoints = []
        self.play_button.setChecked(False)
        self._play_on_arrival = False
        self._update_condition_note()
        self.rebuild()

    def _points_changed(self) -> None:
        """Digits picked by index follow their new codes after an epoch; places stay put."""
        points = self.session.points
        if points is None or not self.endpoints:
            return
        moved = []
        for pick in self.endpoints:
            if pick.index is None:
                moved.append(pick)
            elif pick.index < len(points.latents):
                moved.append(LatentPick(points.plane[pick.index].copy(), points.latents[pick.index].copy(),
                                        pick.index, int(points.labels[pick.index])))
        self.endpoints = moved
        self.rebuild()

    # --- frames -------------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Lay out the path through the picked points for the settings and ask for its frames, decoded
        off the GUI thread; the frames on screen stay until the new ones arrive (a dragged point's path
        is re-planned 20 times a second). Fewer than two points clear the morph at once."""
        model = self.session.model
        self._update_selection_note()
        if model is None or len(self.endpoints) < 2:
            self.decodes.supersede()
            self._show_morph(None)
            return
        try:
            conditional = model.config.is_conditional
            changes_class = conditional and self.changes_class
            planned = morph_path(np.stack([pick.latent for pick in self.endpoints]), self.frame_count,
                                 self.path_kind, self.easing,
                                 one_hot(self.waypoint_labels(), model.config.num_classes) if changes_class else None)
        except LatentMorphError as exc:
            self._morph_failed(exc)
            return
        condition = planned.conditions if changes_class else (self._label if conditional else None)
        self.decodes.submit(partial(_decode_morph, decoder_for(self.session), planned, condition,
                                    decode_task_judge(self.session)))

    def current_frames(self) -> np.ndarray | None:
        """The frames (T, H, W) for the points and settings as they are now, decoding them here if the
        background decode has not delivered yet: for an export or a screenshot asked for right away."""
        self.decodes.finish_here()
        return self.frames

    @property
    def decoding(self) -> bool:
        """Frames were asked for that have not arrived yet."""
        return self.decodes.pending

    def _morph_failed(self, error: Exception) -> None:
        if not isinstance(error, LatentMorphError):
            raise error
        self.statusMessage.emit(f"Morph: {error}")
        self.decodes.supersede()
        self._show_morph(None)

    def _show_morph(self, morph: DecodedMorph | None) -> None:
        """Show a decoded morph (None: no morph), keeping the frame shown as near as it can."""
        if morph is None:
            self.frames = self.latents = self.conditions = None
            self.waypoint_frames = ()
        else:
            self.frames, self.latents = morph.frames, morph.path.latents
            self.conditions, self.waypoint_frames = morph.path.conditions, morph.path.waypoint_frames
        self.play_button.setEnabled(self.frames is not None)
        if self.frames is None:
            self._play_on_arrival = False
            self.play_button.setChecked(False)
            self.frame_view.set_image(None)
            self.filmstrip.set_tiles(None)
            self.frame_note.setText("–")
        else:
            self.filmstrip.set_tiles(self.frames, filmstrip_columns(len(self.frames)))
            self.t_slider.blockSignals(True)
            self.t_slider.setRange(0, len(self.frames) - 1)
            self.t_slider.blockSignals(False)
        if morph is not None and morph.read:
            self._read_timer.stop()
            self._show_reading(morph.reading, morph.why_not_read)
        else:
            self._schedule_reading()
        self.pathChanged.emit(self.latents)
        if self.frames is not None:
            self.show_frame(min(self.current, len(self.frames) - 1))
            if self._play_on_arrival:
                self._play_on_arrival = False
                self.play_button.setChecked(True)

    def _schedule_reading(self) -> None:
        """Short morphs are read at once; a long one once its points stop moving (a drag rebuilds it
        at every step)."""
        if self.frames is None or len(self.frames) <= READ_AT_ONCE_FRAMES:
            self._read_timer.stop()
            self._read_frames()
            return
        self.reading = None
        self.judge_strip.set_reading(None)
        self.judge_note.setText(f"Reading {len(self.frames)} frames…")
        self.judge_note.show()
        self._read_timer.start()

    def _judge_ready(self, dataset: str) -> None:
        """A judge was trained in the background for this dataset: read the frames on screen now."""
        if dataset == self.session.dataset_name and self.frames is not None:
            self._schedule_reading()

    def _read_frames(self) -> None:
        """The judge's reading of every frame under the filmstrip, or a note saying why there is none."""
        self._show_reading(*((None, None) if self.frames is None else read_digits(self.session, self.frames)))

    def _show_reading(self, reading: JudgeReading | None, why_not: str | None) -> None:
        self.reading = reading
        self.judge_strip.set_reading(self.reading)
        self.judge_strip.setVisible(self.reading is not None)
        self.judge_note.setText(morph_summary(self.reading) if self.reading is not None else why_not or "")
        self.judge_note.setVisible(self.frames is not None)

    def _update_selection_note(self) -> None:
        if not self.endpoints:
            self.selection_note.setText("Click a digit or an empty place in the latent view, then a second one. "
                                        + SELECTION_HELP)
        elif len(self.endpoints) == 1:
            self.selection_note.setText(f"From {self._describe(self.endpoints[0])} to … (click a second point)")
        elif len(self.endpoints) == 2:
            self.selection_note.setText(f"From {self._describe(self.endpoints[0])} "
                                        f"to {self._describe(self.endpoints[1])}. {SELECTION_HELP}")
        else:
            stops = " → ".join(self._describe(pick) for pick in self.endpoints)
            self.selection_note.setText(f"Tour: {stops}. {SELECTION_HELP}")

    def show_frame(self, index: int) -> None:
        if self.frames is None:
            return
        index = int(np.clip(index, 0, len(self.frames) - 1))
        self.current = index
        self.frame_view.set_image(self.frames[index])
        self.filmstrip.set_highlight(index)
        self.judge_strip.set_current(index)
        if self.t_slider.value() != index:
            self.t_slider.blockSignals(True)
            self.t_slider.setValue(index)
            self.t_slider.blockSignals(False)
        t = index / (len(self.frames) - 1)
        self.frame_note.setText(f"{index + 1} / {len(self.frames)}   t = {t:.2f}")
        self.frameChanged.emit(index)

    # --- playback -----------------------------------------------------------------------------

    def play_pause(self) -> None:
        if self.frames is None and self.decoding:  # picked a moment ago: play (or not) once the frames arrive
            self._play_on_arrival = not self._play_on_arrival
            return
        if self.frames is None:
            self.statusMessage.emit("Pick two points in the latent view to morph between them")
            return
        self.play_button.setChecked(not self.play_button.isChecked())

    def _set_playing(self, playing: bool) -> None:
        if playing and self.frames is not None:
            self._direction = 1
            self.timer.start(round(1000 / self.fps))
            self.play_button.setText("Pause")
        else:
            self.timer.stop()
            self.play_button.setText("Play")

    def _fps_changed(self, fps: int) -> None:
        if self.timer.isActive():
            self.timer.setInterval(round(1000 / fps))

    def _tick(self) -> None:
        if self.frames is None:
            self.play_button.setChecked(False)
            return
        if not self.frame_view.ready:
            return  # the last frame is not on screen yet: drop this tick rather than queue it
        last = len(self.frames) - 1
        following = self.current + self._direction
        if self.bounce:
            if following > last or following < 0:
                self._direction = -self._direction
                following = self.current + self._direction
        elif following > last:
            following = 0
        self.show_frame(following)
