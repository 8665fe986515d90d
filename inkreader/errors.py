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
