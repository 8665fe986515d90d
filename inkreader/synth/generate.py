"""Synthetic handwriting lines: find handwriting fonts, draw text, render, write a dataset.

Output layout (read by ``inkreader.data.datasets.load_tsv``)::

    OUT_DIR/lines/0000000.jpg ...      one grayscale line image each
    OUT_DIR/lines.tsv                  file, text, font (tab-separated, header); written last
    OUT_DIR/lines.tsv.partial          the rows done so far while rendering (renamed at the end)
    OUT_DIR/synth.json                 seed, fonts and text sources (checked by --resume)

Line ``i`` of seed ``s`` is drawn from ``np.random.default_rng([s, i])`` alone, so it is the same
image whatever the number of worker processes and across resumes (given the same fonts and
text sources; ``synth.json`` records them).
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from ..charset import Charset
from ..data.pen import HERSHEY_FONTS, VARIED, hershey_missing, hershey_points
from ..data.pen import render as render_strokes
from ..errors import DatasetError, InkreaderError
from .fonts import find_fonts, group_families
from .render import OUT_HEIGHT, FontFace, PageContext, render_line
from .text import TextSampler, load_corpus

log = logging.getLogger(__name__)

# Bump when a change alters the images or texts of a seed: --resume refuses to mix versions.
SYNTH_VERSION = 2
JPEG_QUALITY = 92
P_ABOVE, P_BELOW, P_BACK = 0.35, 0.35, 0.1
MAX_ATTEMPTS = 3
CHUNK = 64  # lines per task handed to a worker; rows are written in order, chunk by chunk


@dataclass(frozen=True)
class SynthConfig:
    """What defines a synthetic set (saved as ``synth.json``)."""

    seed: int = 0
    gnhk_words: str | None = "../shared/data/gnhk/train_words.csv"
    lines_tsv: str | None = "../shared/data/hooker/lines.tsv"  # its "train" split only
    use_packages: bool = True  # wordfreq's word list and Python's own prose
    # the single-stroke Hershey fonts (pen.HERSHEY_FONTS) as further families, drawn by the pen
    # renderer (inkreader.data.pen) with varied pens, geometry and paper
    hershey: bool = True


HERSHEY = "hershey:"  # the path of a Hershey font's FontFace: "hershey:<font>"


def hershey_faces(charset: Charset) -> list[FontFace]:
    """The Hershey fonts as font faces (``path`` "hershey:<font>"), each with its missing
    symbols, so that the text sampler avoids them."""
    return [FontFace(f"{HERSHEY}{name}", f"Hershey {name}", 0.0,
                     hershey_missing(name, charset.symbols))
            for name in HERSHEY_FONTS]


class Synthesizer:
    """Renders line ``i`` of a seed: ``(image (H, W) uint8, text, font file name)``."""

    def __init__(self, fonts: list[FontFace], config: SynthConfig = SynthConfig(),
                 charset: Charset | None = None):
        if not fonts:
            raise InkreaderError("no handwriting fonts to render with")
        self.config = config
        self.families = group_families(fonts)
        if config.hershey:
            self.families += [[f] for f in hershey_faces(charset or Charset.gnhk())]
        self.sampler = TextSampler(load_corpus(config.gnhk_words, config.lines_tsv,
                                               config.use_packages), charset)

    def line(self, index: int) -> tuple[np.ndarray, str, FontFace]:
        """Line ``index``: drawn from ``default_rng([seed, index])`` alone. A draw that fails
        to render (a bug, logged) is replaced by the draw ``[seed, index, attempt]``, so one bad
        case never stops a long run and the set stays deterministic."""
        for attempt in range(MAX_ATTEMPTS):
            key = [self.config.seed, index] + ([attempt] if attempt else [])
            rng = np.random.default_rng(key)
            family = self.families[int(rng.integers(len(self.families)))]
            face = family[int(rng.integers(len(family)))]
            text = self.sampler.sample(rng, face.missing)
            try:
                if face.path.startswith(HERSHEY):
                    return self._hershey_line(text, face, rng), text, face
                return render_line(text, face, rng, self._context(rng, face)), text, face
            except (ValueError, IndexError, cv2.error, OSError) as exc:
                log.warning("line %d (attempt %d, %s, %r) failed to render: %r", index, attempt,
                            face.name, text, exc)
        raise InkreaderError(f"line {index}: {MAX_ATTEMPTS} draws failed to render")

    @staticmethod
    def _hershey_line(text: str, face: FontFace, rng: np.random.Generator) -> np.ndarray:
        """``text`` in a Hershey font drawn by the pen renderer, at a height of OUT_HEIGHT as
        the font lines."""
        img = render_strokes(hershey_points(text, face.path[len(HERSHEY):]), rng, VARIED)
        h = int(rng.integers(OUT_HEIGHT[0], OUT_HEIGHT[1] + 1))
        w = max(8, round(img.shape[1] * h / img.shape[0]))
        return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)

    def _context(self, rng: np.random.Generator, face: FontFace) -> PageContext:
        """Neighbour lines for some line crops, the back of the sheet for a few."""
        def other(p: float) -> str | None:
            return self.sampler.sample(rng, face.missing) if rng.random() < p else None

        return PageContext(above=other(P_ABOVE), below=other(P_BELOW), back=other(P_BACK))


# --- worker processes ---------------------------------------------------------------------------
_WORKER: dict = {}


def _init_worker(fonts: list[FontFace], config: SynthConfig, out_dir: str) -> None:
    cv2.setNumThreads(1)  # one core per worker process
    _WORKER["synth"] = Synthesizer(fonts, config)
    _WORKER["out"] = Path(out_dir)


def _render_chunk(indices: range) -> list[tuple[str, str, str]]:
    synth: Synthesizer = _WORKER["synth"]
    rows = []
    for i in indices:
        img, text, face = synth.line(i)
        name = f"lines/{i:07d}.jpg"
        if not cv2.imwrite(str(_WORKER["out"] / name), img, [cv2.IMWRITE_JPEG_QUALITY,
                                                            JPEG_QUALITY]):
            raise InkreaderError(f"{_WORKER['out'] / name}: cannot write image")
        rows.append((name, text, face.name))
    return rows


def _chunks(start: int, stop: int, size: int) -> Iterator[range]:
    for a in range(start, stop, size):
        yield range(a, min(stop, a + size))


# --- output folder ------------------------------------------------------------------------------
def _manifest(config: SynthConfig, fonts: list[FontFace]) -> dict:
    return {"version": SYNTH_VERSION, "config": asdict(config), "fonts": [f.name for f in fonts]}


def _read_rows(path: Path) -> list[str]:
    """Complete rows of a TSV (a row cut by a kill, without its newline, is dropped)."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    return [ln for ln in lines[1:-1] if ln]  # lines[-1] is "" or an unfinished row


def prepare_out_dir(out_dir: Path, mode: str, manifest: dict) -> list[str]:
    """Check ``out_dir`` for ``mode`` ("new", "resume" or "overwrite"); return the rows already
    done (resume), after removing the previous set's files (overwrite)."""
    final, partial, meta = (out_dir / "lines.tsv", out_dir / "lines.tsv.partial",
                            out_dir / "synth.json")
    if out_dir.exists() and not out_dir.is_dir():
        raise DatasetError(f"{out_dir}: exists and is not a folder")
    busy = out_dir.is_dir() and any(out_dir.iterdir())
    if busy and mode == "new":
        raise DatasetError(f"{out_dir}: folder is not empty; pass --resume to continue a set "
                           "there or --overwrite to replace it")
    rows: list[str] = []
    if busy and mode == "resume":
        if not meta.is_file():
            raise DatasetError(f"{out_dir}: no synth.json, not a synthetic set to resume")
        old = json.loads(meta.read_text(encoding="utf-8"))
        if old != manifest:
            raise DatasetError(f"{out_dir}: seed, text sources, fonts or renderer version differ "
                               "from the set there (synth.json); resuming would mix two sets")
        if final.is_file():
            final.replace(partial)  # a finished set being extended: continue its table
        rows = _read_rows(partial) if partial.is_file() else []
    if busy and mode == "overwrite":
        for p in (final, partial, meta):
            p.unlink(missing_ok=True)
        if (out_dir / "lines").is_dir():
            for p in (out_dir / "lines").glob("*.jpg"):
                p.unlink()
    (out_dir / "lines").mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return rows


def _row(name: str, text: str, font: str) -> str:
    return f"{name}\t{text}\t{font}"


def generate(out_dir: str | Path, count: int, config: SynthConfig = SynthConfig(),
             fonts: list[FontFace] | None = None, workers: int = 1, mode: str = "new",
             progress: Callable[[int], None] | None = None,
             chunk: int = CHUNK) -> tuple[int, float]:
    """Render lines ``0..count-1`` into ``out_dir``; returns (lines rendered now, seconds).

    ``lines.tsv`` appears only when every line is written (rows go to ``lines.tsv.partial``
    first and it is renamed at the end), so a reader never sees a half set.
    """
    if count < 1:
        raise DatasetError(f"--count must be at least 1, got {count}")
    out_dir = Path(out_dir)
    fonts = find_fonts() if fonts is None else fonts
    rows = prepare_out_dir(out_dir, mode, _manifest(config, fonts))[:count]
    start = len(rows)
    partial = out_dir / "lines.tsv.partial"
    t0 = time.perf_counter()
    with open(partial, "w", encoding="utf-8", newline="") as f:
        f.write("file\ttext\tfont\n" + "".join(r + "\n" for r in rows))
        f.flush()
        if progress and start:
            progress(start)
        if workers <= 1:
            _init_worker(fonts, config, str(out_dir))
            results: Iterator = map(_render_chunk, _chunks(start, count, chunk))
            _write_rows(f, results, progress)
        else:
            # forkserver, not fork: forking a process that already runs threads (a caller's
            # thread pools, tqdm's monitor) can deadlock a worker on a lock held at fork time
            methods = mp.get_all_start_methods()
            ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
            with ctx.Pool(workers, _init_worker, (fonts, config, str(out_dir))) as pool:
                _write_rows(f, pool.imap(_render_chunk, _chunks(start, count, chunk)), progress)
    os.replace(partial, out_dir / "lines.tsv")
    seconds = time.perf_counter() - t0
    log.info("%s: %d lines (%d new) in %.1f s", out_dir, count, count - start, seconds)
    return count - start, seconds


def _write_rows(f, results: Iterator, progress: Callable[[int], None] | None) -> None:
    for chunk in results:
        f.write("".join(_row(*r) + "\n" for r in chunk))
        f.flush()
        if progress:
            progress(len(chunk))
