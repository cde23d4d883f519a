"""Helpers for tests of the panels whose decodes run off the GUI thread (gui.workers.LatestOnly)."""

from __future__ import annotations

DECODE_TIMEOUT_MS = 5000


def decode_jobs(owner) -> list:
    """The LatestOnly decode queues of a workspace, or of one panel or view."""
    if hasattr(owner, "latent_view"):
        return [owner.latent_view.manifold_jobs, owner.morph_panel.decodes, owner.generate_panel.decodes]
    return [getattr(owner, "manifold_jobs", None) or owner.decodes]


def settle(qtbot, *owners) -> None:
    """Wait until every decode asked for has been applied and no decode thread runs any more."""
    jobs = [job for owner in owners for job in decode_jobs(owner)]
    qtbot.waitUntil(lambda: all(job.idle and not job.pending for job in jobs), timeout=DECODE_TIMEOUT_MS)


def spy_decoder(monkeypatch, model, record) -> list:
    """``record(model, z, labels)`` for every decode by a model of ``model``'s class, whichever thread
    makes it: the panels decode with a private copy of the session's model on a worker thread."""
    seen: list = []
    cls = type(model)
    original = cls.decode

    def spy(self, z, labels=None):
        seen.append(record(self, z, labels))
        return original(self, z, labels)

    monkeypatch.setattr(cls, "decode", spy)
    return seen


def spy_judge_threads(monkeypatch) -> list:
    """The thread of every read by a digit judge (core.judge.Judge.read), in order."""
    import threading

    from core.judge import Judge

    threads: list = []
    read = Judge.read

    def spying_read(judge, images, *args, **kwargs):
        threads.append(threading.current_thread())
        return read(judge, images, *args, **kwargs)

    monkeypatch.setattr(Judge, "read", spying_read)
    return threads
