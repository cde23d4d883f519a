"""Morph between picked places (two, or a tour through several): decode every frame once, off the
GUI thread (gui.morph_decode), then play from the cache (gui.morph_player), with the digit judge's
reading of the frames under them (gui.morph_reading). A CVAE's class moves along the path with z unless
the user keeps one class."""

from __future__ import annotations

from functools import partial

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from core.data import class_name
from core.errors import ConfigError, LatentMorphError
from core.latent import EASINGS, MAX_FRAMES, check_frames, morph_path, one_hot
from gui.judge_strip import JudgeReading, decode_task_judge
from gui.latent_view import LatentPick
from gui.model_tasks import decoder_for
from gui.morph_decode import DecodedMorph, decode_morph
from gui.morph_player import MorphPlayer
from gui.morph_reading import MorphReadingView
from gui.session import ModelSession
from gui.workers import LatestOnly

DEFAULT_FRAMES = 24
PATH_LABELS = {"linear": "Straight line (lerp)", "slerp": "Spherical (slerp)"}
CLASS_MODES = {"change": "Changes with the points", "keep": "Stays the class chosen in Generate"}
SELECTION_HELP = "Shift-click adds a point to the tour, drag a point to move it, Ctrl+Z removes the last, Esc clears."


class MorphPanel(MorphPlayer):
    """Picked points in, frames out: decoded once per selection or setting change, played by MorphPlayer.
    ``pathChanged`` carries the frame latents (T, latent) or None.

    ``endpoints`` holds the picked points in order: the two ends of a morph, or a tour's waypoints.
    """

    pathChanged = Signal(object)
    statusMessage = Signal(str)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.endpoints: list[LatentPick] = []
        self.latents: np.ndarray | None = None  # (T, latent)
        self.conditions: np.ndarray | None = None  # (T, classes) a CVAE's class mix per frame, when it changes
        self.waypoint_frames: tuple[int, ...] = ()  # the frame at which each picked point is reached
        self._label = 0
        self._play_on_arrival = False  # the second point was picked: play once its frames arrive
        self.decodes = LatestOnly(self._show_morph, self._morph_failed, self)

        self.selection_note = QLabel("Click a digit or an empty place in the latent view, then a second one.")
        self.selection_note.setWordWrap(True)
        self.condition_note = QLabel()
        self.condition_note.setWordWrap(True)
        self.t_slider.setRange(0, DEFAULT_FRAMES - 1)  # until the first frames arrive
        self.frames_spin = QSpinBox()
        self.frames_spin.setRange(2, MAX_FRAMES)
        self.frames_spin.setValue(DEFAULT_FRAMES)
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
        self.reading_view = MorphReadingView(session)
        self.judge_strip, self.judge_note = self.reading_view.judge_strip, self.reading_view.judge_note

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
        layout.addWidget(self.reading_view)

        self._redecode_timer = QTimer(self, singleShot=True, interval=200)  # epochs: re-decode once they settle
        self._redecode_timer.timeout.connect(self.rebuild)
        self.frameChanged.connect(self.judge_strip.set_current)
        self.judge_strip.frameClicked.connect(self.t_slider.setValue)
        for combo in (self.path_combo, self.easing_combo):
            combo.currentIndexChanged.connect(self.rebuild)
        self.class_combo.currentIndexChanged.connect(self._class_mode_changed)
        self.frames_spin.valueChanged.connect(self.rebuild)
        session.modelChanged.connect(self._model_changed)
        session.weightsChanged.connect(self._redecode_timer.start)
        session.pointsChanged.connect(self._points_changed)
        self._model_changed()

    # --- settings -----------------------------------------------------------------------------

    @property
    def reading(self) -> JudgeReading | None:
        """What the digit judge reads in each frame."""
        return self.reading_view.reading

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
    def changes_class(self) -> bool:
        """CVAE: the class follows the points along the path (else: the Generate class throughout)."""
        return self.class_combo.currentData() == "change"

    def set_changes_class(self, changes: bool) -> None:
        self.class_combo.setCurrentIndex(self.class_combo.findData("change" if changes else "keep"))

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
        self.decodes.submit(partial(decode_morph, decoder_for(self.session), planned, condition,
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
            self.latents = self.conditions = None
            self.waypoint_frames = ()
            self._play_on_arrival = False
        else:
            self.latents = morph.path.latents
            self.conditions, self.waypoint_frames = morph.path.conditions, morph.path.waypoint_frames
        self.set_frames(None if morph is None else morph.frames)
        self.reading_view.show_morph(morph)
        self.pathChanged.emit(self.latents)
        if self.frames is not None:
            self.show_frame(min(self.current, len(self.frames) - 1))
            if self._play_on_arrival:
                self._play_on_arrival = False
                self.play_button.setChecked(True)

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

    # --- playback -----------------------------------------------------------------------------

    def play_pause(self) -> None:
        if self.frames is None and self.decoding:  # picked a moment ago: play (or not) once the frames arrive
            self._play_on_arrival = not self._play_on_arrival
            return
        if self.frames is None:
            self.statusMessage.emit("Pick two points in the latent view to morph between them")
            return
        self.play_button.setChecked(not self.play_button.isChecked())
