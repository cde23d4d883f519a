"""Helpers for tests that train through the window."""

from __future__ import annotations

RUN_TIMEOUT_MS = 60_000


def set_form(panel, *, hidden="64", epochs=2, batch=256, latent=2, lr="0.002"):
    """A small, quick model on the CPU (the MNIST sample is the form's default dataset)."""
    panel.hidden_edit.setText(hidden)
    panel.epochs_spin.setValue(epochs)
    panel.batch_spin.setValue(batch)
    panel.latent_spin.setValue(latent)
    panel.lr_edit.setText(lr)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))


def thread_ended(thread) -> bool:
    """True when a run's QThread has finished (the window deletes it soon after it ends)."""
    import shiboken6

    return not shiboken6.isValid(thread) or not thread.isRunning()
