"""Slow motion for a class: single optimiser steps while paused, and a delay after each step."""

from __future__ import annotations

import threading
import time

from core.config import ModelConfig, TrainConfig
from core.training import Trainer
from core.training_control import TrainingControl

MODEL = ModelConfig(hidden=(32,))
TRAIN = TrainConfig(epochs=1, batch_size=50, device="cpu", seed=3)


def _wait(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def test_one_step_advances_exactly_one_optimiser_step(tiny_data):
    control = TrainingControl()
    control.pause()
    steps = []
    trainer = Trainer(MODEL, TRAIN, tiny_data, control=control, on_step=lambda r: steps.append(r.global_step))
    thread = threading.Thread(target=trainer.run)
    thread.start()
    try:
        _wait(lambda: control.parked)
        assert steps == []
        for expected in ([1], [1, 2], [1, 2, 3]):
            control.advance(1)
            _wait(lambda: len(steps) == len(expected) and control.parked)  # held again after exactly one
            assert steps == expected and trainer.position.global_step == len(expected)
        control.advance(2)
        _wait(lambda: len(steps) == 5 and control.parked)
        assert trainer.position.global_step == 5
    finally:
        control.resume()
        thread.join(30)
    assert steps == list(range(1, trainer.steps_per_epoch + 1))  # then the rest of the epoch, in order


def test_slow_motion_waits_after_each_step_and_a_stop_cuts_the_wait_short(tiny_data):
    control = TrainingControl()
    control.step_delay = 0.05
    started = time.perf_counter()
    result = Trainer(MODEL, TRAIN, tiny_data, control=control).run()
    steps = Trainer(MODEL, TRAIN, tiny_data).steps_per_epoch
    assert result.status == "finished" and time.perf_counter() - started >= steps * 0.05
    control = TrainingControl()
    control.step_delay = 30.0
    trainer = Trainer(MODEL, TRAIN, tiny_data, control=control,
                      on_step=lambda report: control.request_stop())
    started = time.perf_counter()
    assert trainer.run().status == "cancelled" and time.perf_counter() - started < 10
