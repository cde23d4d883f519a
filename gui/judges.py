"""The judge each model's images are read by, for the whole window (one ``JudgeProvider``).

An MNIST model is read by the shipped judge. Any other dataset (Fashion-MNIST, KMNIST, a folder of
images) is read by a judge trained for it: the one kept beside the data from an earlier run, else one
trained here on a worker thread the first time a view asks for a reading (about 25 s on one core for
60,000 images; core.judge_training). Until it is ready, views show a note with its progress, and
``ready`` tells them to read again. The window never waits for it: closing it cancels the training.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from core.data import DatasetSplits, dataset_title
from core.errors import LatentMorphError
from core.judge import NO_DATASET, Judge, JudgeUnavailable, find_judge
from gui.workers import BackgroundTask, start_detached


class JudgeProvider(QObject):
    """Finds, loads once and, where needed, trains the judge of each dataset the window shows.

    ``judge_for(dataset, data)`` answers at once with (judge, None) or (None, a note saying why not);
    ``data`` (that dataset's splits) lets it start training one when none exists yet."""

    ready = Signal(str)  # a dataset whose judge is now there, or whose training failed (judge_for says why)
    progressed = Signal(str, float)  # dataset, share of its judge's training done
    trainingStarted = Signal(str)  # dataset

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir: str | None = None  # where torchvision sets live, and so their judges
        self._judges: dict[str, Judge] = {}
        self._failures: dict[str, str] = {}
        self._training: dict[str, tuple[BackgroundTask, float]] = {}  # dataset -> (task, share done)
        # datasets found without a judge while their data was not at hand: why, until data comes (a
        # folder's check lists its files, and every morph asks)
        self._untrained: dict[str, str] = {}
        self._loading: set[str] = set()  # datasets whose judge load_ahead is loading

    def judge_for(self, dataset: str, data: DatasetSplits | None = None) -> tuple[Judge | None, str | None]:
        if dataset in self._judges:
            return self._judges[dataset], None
        if dataset in self._failures:
            return None, self._failures[dataset]
        if dataset in self._training:
            return None, self.waiting_note(dataset)
        has_data = data is not None and data.name == dataset
        if dataset in self._untrained and not has_data:
            return None, self._untrained[dataset]
        try:
            judge = find_judge(dataset, self.data_dir)
        except JudgeUnavailable as exc:
            if not exc.trainable:
                self._failures[dataset] = str(exc)
                return None, str(exc)
            if not has_data:
                self._untrained[dataset] = str(exc)  # asked again once the data is loaded
                return None, str(exc)
            self._untrained.pop(dataset, None)
            self._train(data)
            return None, self.waiting_note(dataset)
        self._judges[dataset] = judge
        return judge, None

    def load_ahead(self, dataset: str) -> None:
        """Load the judge of ``dataset`` on a worker thread, if one is kept and not loaded yet, so that
        the views' first reading does not load it on the GUI thread (30-35 ms, at the end of a training
        run's first epoch). A dataset without one is left for ``judge_for`` to deal with."""
        if (not dataset or dataset in self._judges or dataset in self._failures or dataset in self._training
                or dataset in self._loading):
            return
        data_dir = self.data_dir
        task = start_detached(lambda _report: find_judge(dataset, data_dir))
        self._loading.add(dataset)
        task.succeeded.connect(lambda judge: self._judges.setdefault(dataset, judge))
        task.finished.connect(lambda: self._loading.discard(dataset))

    def never_reads(self, dataset: str) -> str | None:
        """Why no judge can read ``dataset`` here (no dataset named, a failure seen before), or None when
        one is there, can be loaded or can be trained. Starts nothing and loads nothing: it is asked
        whenever a model is shown, on the GUI thread."""
        if not dataset:
            return NO_DATASET
        return self._failures.get(dataset)

    def is_training(self, dataset: str) -> bool:
        return dataset in self._training

    def waiting_note(self, dataset: str) -> str:
        """What a view says while the judge it needs is trained."""
        return (f"a judge for {dataset_title(dataset)} is being trained in the background; what it reads shows "
                "here when it is ready")

    def training_note(self, dataset: str) -> str:
        """The status bar's line while the judge for ``dataset`` is trained: how far along it is."""
        share = self._training[dataset][1] if dataset in self._training else 0.0
        return f"Training a judge for {dataset_title(dataset)} in the background: {share:.0%}"

    def forget(self) -> None:
        """Drop what was found and failed (a judge file put back, or replaced, is read anew); training
        under way goes on."""
        self._judges.clear()
        self._failures.clear()
        self._untrained.clear()

    def cancel(self) -> None:
        """Stop every judge training under way (the window is closing): each ends at its next report."""
        for task, _ in self._training.values():
            task.cancel()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return all(task.wait(timeout_ms) for task, _ in list(self._training.values()))

    def _train(self, data: DatasetSplits) -> None:
        from core.judge_training import train_judge_for  # torch-heavy; only when a judge must be trained

        dataset, data_dir = data.name, self.data_dir
        task = start_detached(lambda report: train_judge_for(data, data_dir, report=report))
        self._training[dataset] = (task, 0.0)
        task.progressed.connect(lambda share: self._progressed(dataset, share))
        task.succeeded.connect(lambda judge: self._trained(dataset, judge))
        task.failed.connect(lambda error: self._failed(dataset, error))
        task.cancelled.connect(lambda: self._training.pop(dataset, None))
        self.trainingStarted.emit(dataset)

    def _progressed(self, dataset: str, share: float) -> None:
        if dataset in self._training:
            self._training[dataset] = (self._training[dataset][0], share)
            self.progressed.emit(dataset, share)

    def _trained(self, dataset: str, judge: Judge) -> None:
        self._training.pop(dataset, None)
        self._judges[dataset] = judge
        self.ready.emit(dataset)

    def _failed(self, dataset: str, error: Exception) -> None:
        self._training.pop(dataset, None)
        text = str(error) if isinstance(error, LatentMorphError) else f"{type(error).__name__}: {error}"
        self._failures[dataset] = f"the judge for {dataset_title(dataset)} could not be trained: {text}"
        self.ready.emit(dataset)


_provider: JudgeProvider | None = None


def judge_provider() -> JudgeProvider:
    """The window's one JudgeProvider, made on first use (on the GUI thread)."""
    global _provider
    if _provider is None:
        _provider = JudgeProvider()
    return _provider
