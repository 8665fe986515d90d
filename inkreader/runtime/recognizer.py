"""Recognizer: one object that reads line images with any backend and returns typed results.

    rec = Recognizer.load()                          # the packaged model, fastest backend
    for r in rec.read_paths(["a.jpg", "b.png"]):     # results in input order
        print(r.name, r.text, r.confidence, r.error)

The fast path (issue 5): lines are sorted by width and cut into batches of similar width
(variable width, no padding to 2000); several batches are in flight at once (``streams``), and
the worker threads decode and prepare the next images while others run inference (OpenCV,
Pillow, ONNX Runtime and OpenVINO release the GIL). A bad image becomes a result with ``error``
set; the other lines are still read.

A watchdog (issue 38): a read in which no batch finishes for ``stall_seconds`` (default
``STALL_SECONDS``, or the environment's ``INKREADER_STALL_SECONDS``; 0 waits for ever) raises
``BackendStalled`` naming the backend instead of hanging. The workers are daemon threads, so a
stuck one cannot keep the process from exiting.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..charset import Charset
from ..decode.base import DecodedLine, Decoder, Designated, log_softmax
from ..decode.options import DecodingOptions
from ..errors import BackendStalled, CharsetError, ImageError, InkreaderError, ModelError
from ..preprocess import (
    CNN_CONTEXT,
    FIXED_WIDTH,
    Line,
    has_ink,
    pad_width,
    prepare_line,
    read_gray,
    resized_width,
    shift_rows,
    stack_lines,
)
from ..results import CharResult, LineResult
from .loading import LoadedModel, open_model

log = logging.getLogger(__name__)

DEFAULT_BATCH = 16
MAX_LINE_WIDTH = 32_000  # px at height 96 (16x the reference's 2000): longer is not one line
# Test-time augmentation (``tta``): every batch is read three times, as it is and shifted up and
# down by 3 rows (at height 96, the edge rows repeated), and the frame-wise log-posteriors are
# averaged before decoding; the width is unchanged, so the frames line up. About 3x the model
# time; docs/decoding.md has what it gains on the Hooker val split.
TTA_SHIFTS = (0, -3, 3)
# The watchdog: seconds without a finished batch before a read gives up. A batch takes well under
# 10 s even beside other work on this project's 2-core machines (16 lines of at most 2,000
# columns each, or one line of up to MAX_LINE_WIDTH); ten minutes leaves room for a machine
# slowed many times over, and a deadlocked backend still ends with an error, not for ever.
STALL_SECONDS = 600.0
STALL_ENV = "INKREADER_STALL_SECONDS"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif",
                  ".pbm", ".pgm", ".ppm", ".jp2")


@dataclass
class ReadStats:
    """What the last read did: lines, inference requests, and seconds spent. ``batches`` holds,
    per request, (lines in it, its padded input width, seconds from the start of preparing its
    images to the end of decoding its lines: the latency each of its lines saw)."""

    lines: int = 0
    requests: int = 0
    infer_seconds: float = 0.0
    wall_seconds: float = 0.0
    batches: list[tuple[int, int, float]] = field(default_factory=list)


@dataclass
class _Item:
    index: int
    name: str
    load: Callable[[], np.ndarray]  # -> (H, W) uint8 gray
    width: int  # estimated width at the model's height, for sorting



class Recognizer:
    """Reads line images with a loaded model (``loading.open_model``) and a decoder."""

    def __init__(self, model: LoadedModel, decoder: Decoder, *, batch_size: int = DEFAULT_BATCH,
                 decoding: DecodingOptions | None = None, stall_seconds: float | None = None):
        self.model = model
        self.backend = model.backend
        self.charset = model.charset
        self.height = model.height
        self.fixed_width = model.fixed_width
        self.reading = model.reading  # tune-scale tries other scales on it
        self.batch_size = model.backend.static_batch or max(1, batch_size)
        self.decoder = decoder
        # the options the decoder was built from (None: a decoder given as it is); their
        # ``tta`` reads every batch also shifted (``TTA_SHIFTS``)
        self.decoding = decoding
        self.tta = bool(decoding and decoding.tta)
        # the watchdog: no finished batch for this long ends a read (0: wait for ever)
        self.stall_seconds = stall_seconds_default() if stall_seconds is None else stall_seconds
        self.stats = ReadStats()
        self._lock = threading.Lock()
        # At most ``streams`` requests in flight; the extra worker prepares the next batch.
        self._gate = threading.BoundedSemaphore(model.backend.streams)

    @classmethod
    def load(cls, model: str | Path | None = None, *, backend: str = "auto",
             device: str = "CPU", threads: int | None = None, precision: str | None = None,
             streams: int | None = None, fixed_width: bool = False,
             charlist: str | Path | None = None, designated: Designated | None = None,
             decoding: DecodingOptions | None = None, tta: bool = False,
             decoder: Decoder | None = None, batch_size: int = DEFAULT_BATCH,
             stall_seconds: float | None = None) -> Recognizer:
        """``open_model`` (its arguments) with the decoder ``decoding`` asks for (``decoder``:
        this one instead), reading ``batch_size`` lines a request. ``tta`` adds test-time
        augmentation to any decoding. ``stall_seconds``: the watchdog (default
        ``STALL_SECONDS`` or ``INKREADER_STALL_SECONDS``; 0: none)."""
        loaded = open_model(model, backend, device, threads, precision, streams, fixed_width,
                            charlist)
        if decoder is not None:
            return cls(loaded, decoder, batch_size=batch_size, stall_seconds=stall_seconds)
        decoding = decoding or loaded.default_decoding(designated is not None)
        if tta:
            decoding = decoding.with_(tta=True)
        return cls(loaded, decoding.decoder(loaded.charset, designated), batch_size=batch_size,
                   decoding=decoding, stall_seconds=stall_seconds)

    # --- reading -----------------------------------------------------------------------------

    def read_paths(self, paths: Sequence[str | Path]) -> list[LineResult]:
        """Read image files; results in input order, a bad file as a result with ``error``."""
        items = [_Item(i, str(p), _loader(p), self._probe_width(p)) for i, p in enumerate(paths)]
        return self._read(items)

    def read_arrays(self, images: Sequence[np.ndarray],
                    names: Sequence[str] | None = None) -> list[LineResult]:
        """Read (H, W) uint8 grayscale arrays; results in input order."""
        names = names or [f"<image {i}>" for i in range(len(images))]
        if len(names) != len(images):
            raise ValueError(f"{len(images)} images but {len(names)} names")
        items = []
        for i, (a, name) in enumerate(zip(images, names, strict=True)):
            h, w = a.shape[:2] if a.ndim >= 2 and a.size else (1, 0)
            items.append(_Item(i, name, (lambda a=a: a),
                               resized_width(h, w, self.height, self.reading.x_scale) if w else 0))
        return self._read(items)

    def _read(self, items: list[_Item]) -> list[LineResult]:
        start = time.perf_counter()
        self.stats = ReadStats(lines=len(items))
        results: list[LineResult | None] = [None] * len(items)
        # A backend that cannot read lines of different widths apart in one batch gets
        # batches of one width (all widths are one under --fixed-width).
        mixed = self.backend.mixed_lengths or self.fixed_width is not None
        batches = plan_batches([it.width for it in items], self.batch_size,
                               self.batch_size * max(FIXED_WIDTH, self.fixed_width or 0), mixed)
        # Widest first: OpenVINO grows its buffers when a request is larger than any before; in
        # ascending order every batch of a cold pass grew them (+40-60% on that batch,
        # measured), in descending order only the first does.
        batches.reverse()
        for chunk in self._run_batches([[items[i] for i in b] for b in batches]):
            for r_index, result in chunk:
                results[r_index] = result
        self.stats.wall_seconds = time.perf_counter() - start
        return results  # type: ignore[return-value]  # every index was filled

    def _run_batches(self, batches: list[list[_Item]]) -> Iterator[list[tuple[int, LineResult]]]:
        """``_read_batch`` of every batch on streams + 1 daemon threads (one prepares a batch
        while ``streams`` run inference), yielded as they finish, under the watchdog."""
        todo: queue.SimpleQueue = queue.SimpleQueue()
        for batch in batches:
            todo.put(batch)
        done: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                try:
                    batch = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    done.put((None, self._read_batch(batch)))
                except Exception as exc:  # re-raised on the calling thread
                    done.put((exc, None))
                    return

        workers = [threading.Thread(target=work, name=f"ink_{k}", daemon=True)
                   for k in range(min(len(batches), self.backend.streams + 1))]
        for t in workers:
            t.start()
        timeout = self.stall_seconds if self.stall_seconds > 0 else None
        for finished in range(len(batches)):
            try:
                error, chunk = done.get(timeout=timeout)
            except queue.Empty:
                stop.set()
                raise BackendStalled(self._stall_message(finished, len(batches))) from None
            if error is not None:
                stop.set()  # the others finish their batch, so no request outlives this call
                for t in workers:
                    t.join(timeout)
                raise error
            yield chunk

    def _stall_message(self, finished: int, total: int) -> str:
        b = self.backend
        return (f"the {b.name} backend ({b.source}) made no progress for "
                f"{self.stall_seconds:g} s ({finished} of {total} batches read): its inference "
                f"threads are stuck; set {STALL_ENV} to wait longer (0: for ever)")

    def _read_batch(self, items: list[_Item]) -> list[tuple[int, LineResult]]:
        start = time.perf_counter()
        out, good = [], []
        for it in items:
            try:
                line = self._prepare(it)
            except ImageError as exc:
                out.append((it.index, LineResult(it.name, error=str(exc))))
                continue
            if has_ink(line.pixels[:, :line.width], self.height):
                good.append((it, line))
            else:  # no ink, no text: the network would read invented words into paper
                out.append((it.index, LineResult(it.name, "", 0.0, size=line.source_size)))
        for group in self._groups(good):
            out.extend(self._read_group(group, start))
        return out

    def _groups(self, good: list[tuple[_Item, Line]]) -> list[list[tuple[_Item, Line]]]:
        """``good`` as one request, or, for a backend that reads lines of different widths
        alike only apart (not ``mixed_lengths``), one request per width: the batch plan groups
        by the width estimated from the file's header, which a band cut or a deslant changes."""
        if not good or self.backend.mixed_lengths or self.fixed_width is not None:
            return [good] if good else []
        by_width: dict[int, list[tuple[_Item, Line]]] = {}
        for pair in good:
            by_width.setdefault(pair[1].pixels.shape[1], []).append(pair)
        return list(by_width.values())

    def _read_group(self, good: list[tuple[_Item, Line]],
                    start: float) -> list[tuple[int, LineResult]]:
        batch, widths = self._stack([ln for _, ln in good])
        with self._gate:
            t0 = time.perf_counter()
            logits = self._infer(batch, widths)  # (T, B, C)
            seconds = time.perf_counter() - t0
        with self._lock:
            self.stats.requests += 1
            self.stats.infer_seconds += seconds
        if logits.ndim != 3 or logits.shape[1] != len(batch):
            raise ModelError(f"{self.backend.source}: output shape {logits.shape} is not "
                             f"(T, {len(batch)}, C)")
        if logits.shape[2] != self.charset.num_classes:
            raise CharsetError(f"{self.backend.source} outputs {logits.shape[2]} classes but "
                               f"the charset has {len(self.charset)} symbols + blank")
        # input columns per frame (8 here); a model given the widths has the widest's frames
        columns = batch.shape[3] if widths is None else int(widths.max())
        stride = columns / logits.shape[0]
        out = []
        for col, (it, line) in enumerate(good):
            frames = logits.shape[0]
            if self.fixed_width is None:  # only the line's own frames, not the batch padding
                frames = min(frames, math.ceil(pad_width(line.width, None) / stride))
            decoded = self.decoder.decode(logits[:frames, col])
            out.append((it.index, _result(it.name, decoded, line, stride, self.charset)))
        with self._lock:
            self.stats.batches.append((len(good), batch.shape[3], time.perf_counter() - start))
        return out

    def _stack(self, lines: list[Line]) -> tuple[np.ndarray, np.ndarray | None]:
        """The network input of prepared lines: (B, 1, H, W) pixels and, for a model that takes
        them, the lines' own widths. Each line is edge-padded to the widest; with the widths,
        ``CNN_CONTEXT`` more, so that a line's last frames see its own paper (as read alone)."""
        widths = None
        if self.backend.takes_widths and self.fixed_width is None:
            widths = np.array([ln.pixels.shape[1] for ln in lines], dtype=np.int64)
        extra = CNN_CONTEXT if widths is not None else 0
        batch = stack_lines([ln.pixels for ln in lines],
                            max(ln.pixels.shape[1] for ln in lines) + extra)
        fill = (self.backend.static_batch or 0) - len(lines)
        if fill > 0:  # a model with a static batch > 1 needs full batches: repeat the last line
            batch = np.concatenate([batch, np.repeat(batch[-1:], fill, axis=0)])
            if widths is not None:
                widths = np.concatenate([widths, np.repeat(widths[-1:], fill)])
        return batch, widths

    def _infer(self, batch: np.ndarray, widths: np.ndarray | None) -> np.ndarray:
        """(B, 1, H, W) -> (T, B, C) logits; with ``tta`` the mean log-posteriors of the
        shifted copies (``TTA_SHIFTS``)."""
        if not self.tta:
            return self.backend.run(batch, widths)
        runs = [log_softmax(self.backend.run(shift_rows(batch, dy), widths))
                for dy in TTA_SHIFTS]
        return np.mean(runs, axis=0)

    def _prepare(self, item: _Item) -> Line:
        gray = item.load()
        if gray.ndim != 2 or gray.size == 0:
            raise ImageError(f"{item.name}: expected a non-empty (H, W) gray image, got shape "
                             f"{gray.shape}")
        width = resized_width(*gray.shape, self.height, self.reading.x_scale)
        if self.backend.static_width and width > self.backend.static_width:
            raise ImageError(f"{item.name}: {width} px wide at height {self.height}, wider than "
                             f"the model's fixed input width {self.backend.static_width}")
        if width > MAX_LINE_WIDTH:
            raise ImageError(f"{item.name}: {width} px wide at height {self.height} (limit "
                             f"{MAX_LINE_WIDTH:,}): not a single text line; cut it into lines")
        return prepare_line(gray, self.height, self.fixed_width, item.name, self.reading)

    def _probe_width(self, path: str | Path) -> int:
        """The width at the model's height from the image header alone (for sorting; a file
        that cannot be probed sorts first and fails properly when read)."""
        from PIL import Image

        try:
            with Image.open(path) as im:
                w, h = im.size
            return resized_width(h, w, self.height, self.reading.x_scale)
        except Exception:
            return 0


def stall_seconds_default() -> float:
    """``STALL_SECONDS``, or ``INKREADER_STALL_SECONDS`` from the environment (0: no watchdog)."""
    raw = os.environ.get(STALL_ENV, "").strip()
    if not raw:
        return STALL_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also NaN
        raise InkreaderError(f"{STALL_ENV}={raw!r}: expected seconds >= 0 (0: no watchdog)")
    return seconds


def plan_batches(widths: Sequence[int], batch_size: int, max_columns: int,
                 mixed: bool = True) -> list[list[int]]:
    """Indices sorted by width and cut into batches of at most ``batch_size`` lines and
    ``max_columns`` padded columns; a batch also ends where the next line is over 1.5x the
    batch's narrowest, which keeps edge padding under a third of a batch, and, unless
    ``mixed``, where the next line's padded width differs from the batch's."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(widths)), key=lambda j: widths[j]):
        w = pad_width(widths[i], None)
        first = pad_width(widths[current[0]], None) if current else w
        if current and (len(current) == batch_size or (len(current) + 1) * w > max_columns
                        or w > 1.5 * first or (w != first and not mixed)):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _loader(path: str | Path) -> Callable[[], np.ndarray]:
    return lambda: read_gray(path)


def _result(name: str, decoded: DecodedLine, line: Line, stride: float,
            charset: Charset) -> LineResult:
    """Frame spans -> x-spans in the original image: frame t covers input columns
    [t * stride, (t + 1) * stride) at the model's height, less ``line.shift``, times
    ``line.scale``, clamped."""
    height, width = line.source_size
    chars = []
    for k, (s, e), conf in zip(decoded.classes, decoded.spans, decoded.char_confidences,
                               strict=True):
        x0 = min(max(0, int((s * stride - line.shift) * line.scale)), width - 1)
        x1 = min(max(math.ceil((e * stride - line.shift) * line.scale), x0 + 1), width)
        chars.append(CharResult(charset.symbols[k - 1], float(conf), x0, x1))
    return LineResult(name, decoded.text, decoded.confidence, chars, size=(height, width))


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path | LineResult]:
    """Command-line inputs -> image paths: a folder becomes its image files (sorted, by
    extension, not recursive); an empty folder becomes an error result in its place; any other
    path is kept as given (a missing file fails when read)."""
    out: list[Path | LineResult] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.iterdir()
                           if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            message = f"{p}: no image files in this folder ({', '.join(IMAGE_SUFFIXES)})"
            out.extend(found or [LineResult(str(p), error=message)])
        else:
            out.append(p)
    return out
