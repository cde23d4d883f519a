"""Stop, pause and resume from another thread at random moments: no deadlock, no exception."""

import random
import threading
import time

import numpy as np
import torch

from core.latent import decode
from core.training import Trainer
from core.training_control import TrainingControl


def test_random_stop_pause_resume_from_another_thread(tiny_data, small_configs):
    model_config, train_config = small_configs(epochs=3, batch_size=50)
    rng = random.Random(1234)
    statuses = []
    for iteration in range(20):
        control = TrainingControl()
        outcome = {}

        def slow_step(report):
            time.sleep(0.001)  # widen the window in which the controller can act

        def train():
            try:
                outcome["result"] = Trainer(model_config, train_config, tiny_data, control=control,
                                            on_step=slow_step).run()
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcome["error"] = exc

        worker = threading.Thread(target=train, daemon=True)
        worker.start()
        for _ in range(rng.randint(1, 8)):
            time.sleep(rng.uniform(0, 0.02))
            rng.choice([control.pause, control.resume, control.pause, control.resume])()
        time.sleep(rng.uniform(0, 0.02))
        if rng.random() < 0.6:
            control.request_stop()
        else:
            control.resume()
        if rng.random() < 0.3:
            control.pause()  # a pause after the stop must not block either
            control.request_stop()
        worker.join(timeout=20)
        assert not worker.is_alive(), f"iteration {iteration}: training deadlocked"
        assert "error" not in outcome, f"iteration {iteration}: {outcome.get('error')!r}"
        result = outcome["result"]
        statuses.append(result.status)
        assert result.status in ("finished", "cancelled")
        assert all(torch.isfinite(p).all() for p in result.model.parameters())
        images = decode(result.model, np.zeros((2, 2), np.float32))
        assert images.shape == (2, 28, 28) and np.isfinite(images).all()
    assert "cancelled" in statuses, statuses  # the loop really exercised stopping
