"""Where models are: the shipped default and user paths (no torch import here, so the ONNX
and OpenVINO paths start fast)."""

from __future__ import annotations

from pathlib import Path


def default_model_path() -> Path:
    """The model shipped inside the package (``inkreader/models/default.pt``)."""
    from importlib.resources import files

    return Path(str(files("inkreader") / "models" / "default.pt"))


def resolve_model_path(spec: str | Path | None) -> Path:
    """``None`` or ``"default"`` -> the shipped model; anything else is a path."""
    if spec is None or str(spec) == "default":
        return default_model_path()
    return Path(spec)
