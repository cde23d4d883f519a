"""Error types the engine raises with messages a user can act on."""


class LatentMorphError(Exception):
    """Base class: the message is meant to be shown to the user as is."""


class ConfigError(LatentMorphError, ValueError):
    """A setting is out of range. ``field`` names the setting."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message  # the message without the field name, for forms that show the field


class DatasetError(LatentMorphError):
    """A dataset could not be found, downloaded or read."""


class DatasetMissing(DatasetError):
    """A standard dataset that is neither on disk under ``root`` nor downloadable (``reason``). The message
    names the command line's ways out; a window names its own from these fields."""

    def __init__(self, name: str, root: str, reason: str):
        super().__init__(f"{name} is not in {root} and could not be downloaded ({reason}). Use the offline "
                         "sample (--dataset mnist-sample), point --data-dir at a folder that holds it, or train "
                         "on your own images with --dataset folder:PATH")
        self.name, self.root, self.reason = name, root, reason


class CheckpointError(LatentMorphError):
    """A model file is missing, corrupt, truncated or incompatible."""


class ExportError(LatentMorphError):
    """An export could not be written; nothing was left at the target path."""


class TrainingDiverged(LatentMorphError):
    """The loss became NaN or infinite."""
