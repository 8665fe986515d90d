"""Opening a model: a path, a backend, a device, threads and precision in; a ``LoadedModel`` out.

    model = open_model("best.pt", backend="onnx", threads=2)
    model.backend, model.charset, model.height, model.fixed_width, model.reading

A .pt checkpoint runs eagerly on PyTorch, or on ONNX Runtime / OpenVINO as a dynamic ONNX graph
exported once and kept in the export cache for the next start; an .onnx or OpenVINO .xml file
runs as it is, with the charset and reading an inkreader export embedded in its metadata.
Everything that decides what a model is and how it reads a line happens here; ``Recognizer``
only reads with the result.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..charset import Charset
from ..decode.options import DecodingOptions, default_decoding
from ..errors import CharsetError, ModelError
from ..paths import resolve_model_path
from ..preprocess import AS_IS, FIXED_WIDTH, HEIGHT, X_SCALE_RANGE, Reading
from .backends import (
    BACKENDS,
    Backend,
    OnnxBackend,
    OpenVinoBackend,
    TorchBackend,
    cpu_count,
)
from .graph import CHARSET_KEY, CONFIG_KEY, onnx_bytes

log = logging.getLogger(__name__)

# What "auto" runs for a .pt checkpoint (issue 5, docs/inference.md; bench/inference.py
# --variants re-measures it). Measured 2026-11-24 on this project's 2-core AMD EPYC (AVX-512 with
# BF16), untrained default model, the 953 Hooker test lines, batch 16, ONE core usable (training
# pinned to the other, so process CPU time, not wall time): lines per CPU-second of a cold pass
#   OpenVINO bf16 182, OpenVINO f32 109, ONNX Runtime f32 106-114, PyTorch eager 38.
# The network is compute-bound (OpenVINO's conv and LSTM kernels run close to its own GEMM
# ceiling), and bf16 dot products do twice the work per instruction. "auto" precision is
# OpenVINO's own default: bf16 on CPUs with native bf16 (the reference demo gets bf16 there
# too), f32 elsewhere; its CER must stay within 0.5 point of f32 (checked by the bench).
AUTO_BACKEND = "openvino"
AUTO_PRECISION = "auto"
EXPLICIT_PRECISION = "f32"  # an explicitly chosen backend keeps exact f32 unless asked


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to run: its ``backend``, the ``charset`` its classes spell, the input
    ``height``, the ``fixed_width`` every line is padded to (None: each line at its own width)
    and how it reads a line (``reading``; the reference's as-is reading at a fixed width).
    ``foreign_charset``: the charset was given from outside the model (a charlist)."""

    path: Path
    backend: Backend
    charset: Charset
    height: int
    fixed_width: int | None
    reading: Reading = AS_IS
    foreign_charset: bool = False

    @property
    def reference(self) -> bool:
        """The reference contract: a fixed input width (asked for, or the model's own) or a
        charlist from outside the model."""
        return bool(self.fixed_width or self.backend.static_width or self.foreign_charset)

    def default_decoding(self, designated: bool = False) -> DecodingOptions:
        """The decoding when none is asked for: the reference demo's greedy decoding on the
        reference contract (``reference``, or ``designated`` characters), else the tuned beam
        search (``decode.options.default_decoding``). The one place this rule is decided."""
        return default_decoding(self.reference or designated)


def open_model(model: str | Path | None = None, backend: str = "auto", device: str = "CPU",
               threads: int | None = None, precision: str | None = None,
               streams: int | None = None, fixed_width: bool = False,
               charlist: str | Path | None = None) -> LoadedModel:
    """Open a .pt checkpoint (None: the packaged default), an .onnx or an OpenVINO .xml.

    ``backend`` "auto" is ONNX Runtime for an .onnx, else OpenVINO (``AUTO_BACKEND``, measured
    fastest here). ``precision`` (OpenVINO's inference precision: "f32", "bf16", "f16" or
    "auto" for OpenVINO's own choice) defaults to ``AUTO_PRECISION`` with backend "auto" and
    to exact "f32" with an explicitly chosen backend. ``threads`` (default: the cores) run as
    ``streams`` concurrent requests (default: as many as threads, one thread each). A model
    with a static input width runs at that width; ``fixed_width`` pads every line to the
    reference's width (2000 or the checkpoint's). ``charlist`` overrides the charset (for
    .onnx/.xml without an embedded one the GNHK charset is the default); it must fit the
    class count."""
    path = resolve_model_path(model)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    suffix = path.suffix.lower()
    if backend == "auto":
        backend = "onnx" if suffix == ".onnx" else AUTO_BACKEND
        precision = precision or AUTO_PRECISION
    precision = precision or EXPLICIT_PRECISION
    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r} (torch, onnx, openvino or auto)")
    asked, threads = threads, threads or cpu_count()
    streams = 1 if backend == "torch" else max(1, min(streams or threads, threads))
    if suffix in (".onnx", ".xml"):
        engine = file_backend(path, backend, device, threads, streams, precision)
        embedded = embedded_charset(engine)
        own = Charset(tuple(embedded)) if embedded else None
        charset = choose_charset(charlist, own, engine.num_classes, path)
        height = engine.height or HEIGHT
        width = engine.static_width or (FIXED_WIDTH if fixed_width else None)
        reading = embedded_reading(engine)
    else:
        engine, charset, config = _checkpoint_engine(path, backend, device, threads, asked,
                                                     streams, precision, charlist)
        height = config["height"]
        width = config["fixed_width"] if fixed_width else None
        reading = Reading.of(config)
    log.debug("model %s on %s (%d threads, %d streams)", path, backend, threads, streams)
    if engine.num_classes is not None and engine.num_classes != charset.num_classes:
        raise CharsetError(f"the charset has {len(charset)} symbols ({charset.num_classes} "
                           f"classes with the blank) but {engine.source} outputs "
                           f"{engine.num_classes} classes")
    # the fixed width is the reference's, and so is its as-is reading
    return LoadedModel(path, engine, charset, height, width,
                       AS_IS if width is not None else reading, charlist is not None)


def _checkpoint_engine(path: Path, backend: str, device: str, threads: int, asked: int | None,
                       streams: int, precision: str,
                       charlist: str | Path | None) -> tuple[Backend, Charset, dict]:
    """A .pt checkpoint on ``backend``: its cached ONNX export when there is one (no torch
    import, no export), else the checkpoint itself (exported in memory and cached for the next
    start). Returns the engine, the charset and the model config (as a dict)."""
    cache = export_cache_path(path) if backend != "torch" else None
    if cache is not None and cache.is_file():
        try:
            engine = file_backend(cache, backend, device, threads, streams, precision,
                                  label=f"{path} (cached ONNX export {cache})")
            config = json.loads(engine.metadata[CONFIG_KEY])
            symbols = embedded_charset(engine)
            if not symbols:
                raise KeyError("no embedded charset")
            own = Charset(tuple(symbols))
            touch_cached(cache)
            return engine, choose_charset(charlist, own, engine.num_classes, path), config
        except (ModelError, KeyError, ValueError) as exc:  # a damaged entry: export anew
            log.warning("ignoring the cached export %s (%s)", cache, exc)
            cache.unlink(missing_ok=True)
    from ..model import load_checkpoint

    net, own, _ = load_checkpoint(path)
    charset = choose_charset(charlist, own, net.config.num_classes, path)
    # torch's thread count is process-wide: change it only when the caller asked.
    engine = checkpoint_backend(net, backend, str(path), device,
                                asked if backend == "torch" else threads, streams, precision,
                                charset=own, cache=cache)
    return engine, charset, asdict(net.config)


def choose_charset(charlist: str | Path | None, own: Charset | None,
                   num_classes: int | None, model: Path) -> Charset:
    """--charlist, else the model's own charset, else GNHK; it must fit the class count (the
    reference demo's check: len(charlist) + 1 == classes)."""
    if charlist is not None:
        charset, origin, hint = Charset.load(charlist), f"charlist {charlist}", ""
    elif own is not None:
        charset, origin, hint = own, "the model's own charset", ""
    else:
        charset, origin = Charset.gnhk(), "the default GNHK charlist"
        hint = " (give the model's charlist with --charlist)"
    if num_classes is not None and charset.num_classes != num_classes:
        raise CharsetError(f"{origin} has {len(charset)} symbols, {charset.num_classes} classes "
                           f"with the blank, but the model {model} has {num_classes} classes"
                           + hint)
    return charset


def checkpoint_backend(model, backend: str, source: str, device: str, threads: int | None,
                       streams: int, precision: str, charset=None,
                       cache: Path | None = None) -> Backend:
    """A checkpoint's model on ``backend``; ONNX Runtime and OpenVINO get a dynamic ONNX graph
    exported in memory once (compiled once, reused for every call). With ``cache`` the graph
    (``charset`` and config in its metadata) is also written there for the next start."""
    if backend == "torch":
        return TorchBackend(model, source, threads)
    threads = threads or cpu_count()
    graph = onnx_bytes(model, fixed_width=False, charset=charset)
    if cache is not None:
        _store(cache, graph)
    label = f"{source} (exported to ONNX in memory)"
    if backend == "onnx":
        return OnnxBackend(graph, threads, streams, label)
    return OpenVinoBackend(graph, device, threads, streams, precision, label)


def file_backend(path: Path, backend: str, device: str, threads: int, streams: int,
                 precision: str, label: str | None = None) -> Backend:
    """An .onnx or OpenVINO .xml file on ``backend`` (``label`` names it in messages)."""
    suffix = path.suffix.lower()
    if suffix == ".xml" and backend != "openvino":
        raise ModelError(f"{path}: an OpenVINO IR runs only on --backend openvino")
    if backend == "torch":
        raise ModelError(f"{path}: the torch backend needs a .pt checkpoint")
    if suffix == ".xml" and not path.with_suffix(".bin").is_file():
        raise ModelError(f"{path}: its weights {path.with_suffix('.bin').name} are missing")
    if backend == "onnx":
        return OnnxBackend(path, threads, streams, label)
    return OpenVinoBackend(path, device, threads, streams, precision, label)


# --- the export cache: a checkpoint's ONNX graph, kept for the next start -----------------------
# Reading a .pt with ONNX Runtime or OpenVINO costs a torch import and an ONNX export, about 1 s
# of a command's start (measured: 0.75 s import, 0.25 s export, on an idle core). The graph is
# kept in the cache folder under a key of the checkpoint's bytes and the exporting versions, so
# a later start needs neither torch nor the export.
CACHE_ENV = "INKREADER_CACHE"  # a folder, or "off"
CACHE_FORMAT = 2  # bump when the cached graph's form changes
CACHE_ENTRIES = 4  # checkpoints kept; the least recently used go first


def export_cache_path(checkpoint: Path) -> Path | None:
    """Where ``checkpoint``'s ONNX graph is cached (it may not exist yet); None when the cache
    is off (``INKREADER_CACHE=off``) or the checkpoint cannot be read."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    folder = os.environ.get(CACHE_ENV)
    if folder is not None and folder.strip().lower() in ("", "off", "0", "no"):
        return None
    if folder is None:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        folder = Path(base) / "inkreader"
    try:
        torch_version = version("torch")
    except PackageNotFoundError:
        torch_version = "?"
    digest = hashlib.sha256(f"{CACHE_FORMAT} {__version__} {torch_version}".encode())
    package = Path(__file__).parents[1]
    for source in ("runtime/graph.py", "model.py"):  # a change to the tracing or the network
        digest.update((package / source).read_bytes())
    try:
        with open(checkpoint, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return Path(folder) / f"{digest.hexdigest()[:24]}.onnx"


def touch_cached(path: Path) -> None:
    """Mark a cache entry as just used (the least recently used are removed first)."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _store(path: Path, graph: bytes) -> None:
    """Write a cache entry atomically and trim the cache; any failure only skips caching."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(graph)
        tmp.replace(path)
        entries = sorted(path.parent.glob("*.onnx"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-CACHE_ENTRIES]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("export cache not written (%s)", exc)


def embedded_charset(backend: Backend) -> list[str] | None:
    """The charset an inkreader export stored in the model's metadata, if any."""
    raw = backend.metadata.get(CHARSET_KEY)
    if not raw:
        return None
    try:
        symbols = json.loads(raw)
    except ValueError:
        log.warning("%s: unreadable embedded charset ignored", backend.source)
        return None
    return symbols if isinstance(symbols, list) and symbols else None


def embedded_reading(backend: Backend) -> Reading:
    """How an inkreader export's model reads a line (``Reading``, from the model config it
    stored); ``Reading()``, the reference's, without one. A config that cannot be read, or an
    x_scale outside ``X_SCALE_RANGE``, is warned about and ignored."""
    raw = backend.metadata.get(CONFIG_KEY)
    if not raw:
        return AS_IS
    try:
        config = json.loads(raw)
        reading = Reading.of(config) if isinstance(config, dict) else None
    except (ValueError, TypeError):
        reading = None
    if reading is None:
        log.warning("%s: unreadable embedded model config ignored", backend.source)
        return AS_IS
    low, high = X_SCALE_RANGE
    if not low <= reading.x_scale <= high:
        log.warning("%s: embedded x_scale %s ignored (not within %g-%g)", backend.source,
                    reading.x_scale, low, high)
        return replace(reading, x_scale=1.0)
    return reading
