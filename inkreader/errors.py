"""The one exception base of inkreader, so callers can catch every error we raise on purpose."""


class InkreaderError(Exception):
    """Base class of all errors inkreader raises for bad input or bad use."""


class ImageError(InkreaderError):
    """An image that cannot be read: missing, empty, truncated, not an image, too large."""


class CharsetError(InkreaderError):
    """A charset that does not fit the model or the text."""


class ModelError(InkreaderError):
    """A model file that cannot be loaded or does not fit the contract."""


class DatasetError(InkreaderError):
    """A dataset description (gt file, TSV, PAGE-XML) that cannot be parsed."""


class BackendStalled(InkreaderError):
    """An inference backend that made no progress for the recognizer's ``stall_seconds``: its
    threads are stuck (a deadlock, a wedged device) and cannot be stopped from Python."""


class MissingExtra(InkreaderError):
    """A feature whose optional dependencies (the pip extra ``extra`` of inkreader) are not
    installed; the message ends with the pip command that installs them."""

    def __init__(self, extra: str, what: str, modules: tuple[str, ...] = ()):
        self.extra, self.what, self.modules = extra, what, tuple(modules)
        missing = (f"{', '.join(modules)} {'is' if len(modules) == 1 else 'are'} not installed"
                   if modules else f"the '{extra}' extra is not installed")
        super().__init__(f"{what}: {missing}; pip install 'inkreader[{extra}]'")


class TrainingStopped(KeyboardInterrupt):
    """SIGTERM / SIGINT before a run's first step (while its lines load): nothing to save.

    A KeyboardInterrupt, not an InkreaderError: the handlers that skip a bad line or file
    (``except InkreaderError``) must not swallow it."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum
