"""The optional extras of pyproject.toml: which modules each brings, and a clear error when one
is missing (``pip install 'inkreader[serve]'``) instead of a ModuleNotFoundError traceback.

    require("serve", "the HTTP service")  # MissingExtra unless fastapi, uvicorn, ... import
"""

from __future__ import annotations

import importlib.util

from .errors import MissingExtra

__all__ = ["EXTRAS", "MissingExtra", "as_missing_extra", "extra_of", "require"]

# extra -> the modules it installs, by import name; a tuple of names is any one of them
# (python-multipart is imported as python_multipart, before 0.0.13 as multipart).
EXTRAS: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "serve": ("fastapi", "starlette", "uvicorn", ("python_multipart", "multipart")),
    "synth": ("fontTools", "wordfreq", "HersheyFonts"),
    "quant": ("nncf",),
    "batch": ("distributed",),  # inkreader batch --cluster (Dask)
}


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent that fails to import; a broken entry
        return False


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported (the first name of an alternative)."""
    missing = []
    for entry in EXTRAS[extra]:
        names = (entry,) if isinstance(entry, str) else entry
        if not any(_installed(n) for n in names):
            missing.append(names[0])
    return missing


def require(extra: str, what: str) -> None:
    """Raise MissingExtra naming ``what`` (the feature), the missing modules and the pip
    command unless every module of ``extra`` is installed."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtra(extra, what, tuple(missing))


def extra_of(module: str | None) -> str | None:
    """The extra that installs ``module`` (a dotted name: its top package counts), if any."""
    top = (module or "").split(".")[0]
    for extra, entries in EXTRAS.items():
        for entry in entries:
            if top in ((entry,) if isinstance(entry, str) else entry):
                return extra
    return None


def as_missing_extra(exc: ModuleNotFoundError, what: str) -> Exception:
    """``exc`` as a MissingExtra if an extra installs the module it names, else ``exc``."""
    extra = extra_of(exc.name)
    if extra is None:
        return exc
    return MissingExtra(extra, what, ((exc.name or "").split(".")[0],))
