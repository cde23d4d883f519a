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


class CheckpointError(LatentMorphError):
    """A model file is missing, corrupt, truncated or incompatible."""


class ExportError(LatentMorphError):
    """An export could not be written; nothing was left at the target path."""


class TrainingDiverged(LatentMorphError):
    """The loss became NaN or infinite."""
