"""Training data: lines decoded once, resized to height 96 and kept in memory as lossless PNG
(stage 9's mixture of 104,882 lines: 2.6 GB instead of 6.5 GB of raw pixels; decoding a line
back costs about half a millisecond),
an epoch plan drawn from the weighted mixture, and a batch-level torch Dataset so a DataLoader
worker builds whole batches.

Every random choice is a function of (seed, epoch, batch, position), so a run killed at batch k
and resumed replays exactly the same batches k, k+1, ... with the same augmentation.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import multiprocessing
import os
import pickle
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from ..charset import Charset
from ..data.datasets import ctc_feasible, holdout, load_dataset
from ..data.pagexml import PageImages, line_image
from ..data.sample import LineSample
from ..degrade.augment import DEFAULT, AugmentConfig, augment_line
from ..errors import DatasetError, InkreaderError
from ..preprocess import AS_IS, CNN_CONTEXT, STRIDE, Reading, pad_width, stack_lines, upright
from ..runtime.backends import cpu_count
from .config import DataSource

log = logging.getLogger(__name__)


class LineImages:
    """A list of (H, W) uint8 line images held as PNG bytes: ``images[i]`` decodes line i
    (lossless, about 1 ms), ``images[a:b]`` is a LineImages, ``widths`` needs no decoding."""

    def __init__(self, images: list[np.ndarray] | None = None) -> None:
        self._png: list[bytes] = []
        self._widths: list[int] = []
        for img in images or []:
            self.append(img)

    @classmethod
    def from_png(cls, png: list[bytes], widths: list[int]) -> LineImages:
        """Lines already encoded (``png``, as kept by another LineImages) and their widths."""
        images = cls()
        images._png, images._widths = list(png), list(widths)
        return images

    @property
    def png(self) -> list[bytes]:
        """The encoded lines (``from_png`` takes them back with ``widths``)."""
        return self._png

    def append(self, img: np.ndarray) -> None:
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise InkreaderError(f"cannot encode a line image of shape {img.shape}")
        self._png.append(buf.tobytes())
        self._widths.append(img.shape[1])

    def __len__(self) -> int:
        return len(self._png)

    def __getitem__(self, i: int | slice) -> np.ndarray | LineImages:
        if isinstance(i, slice):
            return LineImages.from_png(self._png[i], self._widths[i])
        return cv2.imdecode(np.frombuffer(self._png[i], np.uint8), cv2.IMREAD_GRAYSCALE)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def widths(self) -> np.ndarray:
        return np.array(self._widths, dtype=int)

    @property
    def nbytes(self) -> int:
        return sum(len(b) for b in self._png)


@dataclass
class LoadedSource:
    """A data source in memory: resized images (96, W) uint8 and encoded labels."""

    source: DataSource
    images: LineImages
    labels: list[list[int]]
    ids: list[str]

    def __post_init__(self) -> None:
        if not isinstance(self.images, LineImages):
            self.images = LineImages(self.images)

    @property
    def widths(self) -> np.ndarray:
        return self.images.widths

    def spread(self, n: int) -> LoadedSource:
        """``n`` lines spread evenly over the source (every k-th line), all of them if ``n`` is
        not smaller. A val file lists its letters one after another, so its first ``n`` lines
        would come from a few letters only; an even spread samples every one of them."""
        if n >= len(self.images):
            return self
        keep = np.unique(np.linspace(0, len(self.images) - 1, n).round().astype(int))
        images = LineImages()
        for i in keep:
            images.append(self.images[i])
        return LoadedSource(self.source, images,
                            [self.labels[i] for i in keep], [self.ids[i] for i in keep])


def load_source(source: DataSource, charset: Charset, height: int, max_width: int,
                show_progress: bool = True, held_out: bool = False,
                reading: Reading = AS_IS, spread: int | None = None,
                cache: str | Path | None = None) -> LoadedSource:
    """Decode, resize to ``height`` as the model will read (``reading``: cut to the ink band,
    stretched, then sheared upright, each if the model does) and encode every usable line;
    drop (and log by id) the unusable ones: unreadable images, characters
    outside the charset, CTC-infeasible labels. With ``source.holdout``, only the held-out
    pages (``held_out``, validation) or only the others. ``spread`` N: only N of the lines,
    spread evenly over the source, the others not decoded.

    ``cache``: a folder where the prepared lines are kept (``line_cache_key``); a later load of
    the same lines, read the same way by the same code, comes from there in seconds."""
    samples = _selected(source, held_out, spread)
    cached = None
    if cache is not None:
        cached = Path(cache) / f"{line_cache_key(samples, charset, height, max_width, reading)}.pkl"
        loaded = _read_cache(cached, source)
        if loaded is not None:
            return loaded
    loaded, dropped = _prepare(source, samples, charset, height, max_width, reading,
                               show_progress)
    _report(source, loaded.images, dropped)
    if cached is not None:
        _write_cache(cached, loaded, dropped)
    return loaded


def _selected(source: DataSource, held_out: bool, spread: int | None) -> list[LineSample]:
    """The samples of ``source`` that a load reads: its (non-)held-out pages, its ``limit``,
    then ``spread`` of them; lines of pen strokes drawn ``renderings`` times each."""
    samples = source_samples(source)
    if source.holdout is not None:
        n_pages = len({s.page_key for s in samples})
        samples = holdout(samples, source.holdout, held_out)
        part = "held-out" if held_out else "not held-out"
        if not samples:
            raise DatasetError(f"{source.path}: holdout = {source.holdout} leaves no {part} "
                               f"lines ({n_pages} pages in all); choose another fraction")
        log.info("%s: %d lines of the %s pages (holdout %g of %d pages)", source.path,
                 len(samples), part, source.holdout, n_pages)
    if source.limit is not None:
        samples = samples[: source.limit]
    if spread is not None and len(samples) > spread:
        step = len(samples) // spread
        samples = samples[: step * spread: step]
    return _drawn(samples, source)


def _prepare(source: DataSource, samples: list[LineSample], charset: Charset, height: int,
             max_width: int, reading: Reading,
             show_progress: bool) -> tuple[LoadedSource, dict[str, list[str]]]:
    """Every usable sample decoded, read as the model reads and encoded; the ids of the others
    by the reason they were dropped."""
    images, labels, ids = LineImages(), [], []
    dropped: dict[str, list[str]] = {"unreadable": [], "charset": [], "empty": [], "ctc": []}
    usable = []
    for s in samples:
        text = charset.normalize(s.text)
        if not text:
            dropped["empty"].append(s.id)
        elif charset.unknown(text):
            dropped["charset"].append(s.id)
        else:
            usable.append((s, charset.encode(text)))
    read = functools.partial(_read_line, height=height, max_width=max_width, reading=reading)
    drawn = any(s.pen is not None for s, _ in usable)  # pen strokes: drawn on every core
    with _line_pool(drawn) as pool:
        lines = (pool.imap(read, (s for s, _ in usable), chunksize=32) if pool
                 else map(read, (s for s, _ in usable)))
        for (s, label), img in tqdm(zip(usable, lines, strict=True), total=len(usable),
                                    desc=f"loading {source.path}", disable=not show_progress,
                                    mininterval=5, leave=False):
            if isinstance(img, str):
                dropped["unreadable"].append(f"{s.id} ({img})")
                continue
            if not ctc_feasible(pad_width(img.shape[1], None, margin=0) // STRIDE, label):
                dropped["ctc"].append(s.id)
                continue
            images.append(img)
            labels.append(label)
            ids.append(s.id)
    return LoadedSource(source, images, labels, ids), dropped


_PAGES = PageImages()  # lines cut from page polygons decode their page once (per process)


def _read_line(s: LineSample, height: int, max_width: int, reading: Reading
               ) -> np.ndarray | str:
    """A sample's pixels read as the model reads them, or why they cannot be."""
    try:
        img = reading.resize(line_image(s, _PAGES), height)
        if reading.deslant:
            img = upright(img)
    except InkreaderError as exc:
        return str(exc)
    if img.shape[1] > max_width:
        img = cv2.resize(img, (max_width, height), interpolation=cv2.INTER_AREA)
    return img


@contextlib.contextmanager
def _line_pool(wanted: bool):
    """A pool of processes, one a core, when ``wanted`` and there is more than one core."""
    cores = cpu_count()
    if not wanted or cores < 2:
        yield None
        return
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                      else "spawn")
    with ctx.Pool(cores) as pool:
        yield pool


def _report(source: DataSource, images: LineImages, dropped: dict[str, list[str]]) -> None:
    for why, which in dropped.items():
        if which:
            log.warning("%s: dropped %d lines (%s), e.g. %s", source.path, len(which), why,
                        ", ".join(which[:5]))
    if not images:
        raise InkreaderError(f"{source.path}: no usable lines")
    log.info("%s: %d lines (%.0f MB as PNG)", source.path, len(images), images.nbytes / 1e6)


CACHE_FIELDS = ("png", "widths", "labels", "ids", "dropped")
# The code that decides what a prepared line is: a change to any of these files makes new keys.
_PREPARING_CODE = ("train/data.py", "preprocess.py", "data/pagexml.py", "charset.py",
                   "data/pen.py", "degrade/paper.py")


def line_cache_key(samples: list[LineSample], charset: Charset, height: int, max_width: int,
                   reading: Reading) -> str:
    """A digest of everything a prepared line depends on: every line's file (path, size,
    modification time), polygon and text, the charset, the height, width cap and reading, and
    the code that prepares lines. Any change gives another key, so a stale cache is never read."""
    digest = hashlib.sha256()
    package = Path(__file__).parents[1]  # the files are named from the inkreader package
    for name in _PREPARING_CODE:
        digest.update((package / name).read_bytes())
    digest.update(repr((height, max_width, sorted(asdict(reading).items()),
                        charset.symbols)).encode())
    stats: dict[Path, tuple[int, int] | None] = {}
    for s in samples:
        if s.path not in stats:
            try:
                st = os.stat(s.path)
                stats[s.path] = (st.st_size, st.st_mtime_ns)
            except OSError:
                stats[s.path] = None  # unreadable now; the load will say so
        digest.update(repr((str(s.path), stats[s.path], s.polygon, s.text, s.id, s.pen, s.seed,
                            s.rendering)).encode())
    return digest.hexdigest()[:32]


def _read_cache(path: Path, source: DataSource) -> LoadedSource | None:
    try:
        with open(path, "rb") as f:
            payload = pickle.load(f)
        png, widths, labels, ids, dropped = (payload[k] for k in CACHE_FIELDS)
    except FileNotFoundError:
        return None
    except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError) as exc:
        log.warning("%s: unreadable line cache (%r); preparing the lines again", path, exc)
        return None
    images = LineImages.from_png(png, widths)
    _report(source, images, dropped)
    log.info("%s: prepared lines read from %s", source.path, path)
    return LoadedSource(source, images, labels, ids)


def _write_cache(path: Path, loaded: LoadedSource, dropped: dict[str, list[str]]) -> None:
    images = loaded.images
    payload = dict(zip(CACHE_FIELDS, (images.png, images.widths.tolist(), loaded.labels,
                                      loaded.ids, dropped), strict=True))
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)  # atomic: a kill mid-write leaves no half cache
    except OSError as exc:
        log.warning("%s: cannot write the line cache (%s); training goes on without it", path,
                    exc)
        tmp.unlink(missing_ok=True)
        return
    log.info("%s: prepared lines kept in %s (%.0f MB)", loaded.source.path, path,
             path.stat().st_size / 1e6)


def source_samples(source: DataSource) -> list[LineSample]:
    """The labelled lines a source may use: its split (a file with a 'test' split must name
    one, so that test lines never leak in), without the lines its exclude list names."""
    samples = load_dataset(source.path, source.split)
    if source.split is None and any(s.split == "test" for s in samples):
        raise DatasetError(f"{source.path}: has a 'test' split; a training or validation source "
                           "must name the split it uses (split = \"train\") so that test lines "
                           "never leak in")
    if source.exclude is not None:
        samples = _exclude(samples, source)
    return samples


def _drawn(samples: list[LineSample], source: DataSource) -> list[LineSample]:
    """Pen-stroke lines drawn as the source asks: its ``pen`` style, ``renderings`` renderings
    of every line under its ``seed``. Other lines as they are (they take none of these keys)."""
    strokes = bool(samples) and samples[0].pen is not None
    if not strokes:
        if (source.pen, source.renderings) != (None, 1):
            raise DatasetError(f"{source.path}: 'pen' and 'renderings' are for folders of pen "
                               "strokes (strokes.npz + lines.tsv), and this source has images")
        return samples
    pen = source.pen or "plain"
    return [replace(s, pen=pen, seed=source.seed, rendering=k)
            for s in samples for k in range(source.renderings)]


def read_exclude_list(path: str | Path) -> set[str]:
    """Line ids or page names, one a line; blank lines and '#' comments ignored."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{path}: exclude list not found") from None
    return {ln.split("#", 1)[0].strip() for ln in text.splitlines()} - {""}


def _exclude(samples: list[LineSample], source: DataSource) -> list[LineSample]:
    names = read_exclude_list(source.exclude)
    kept = [s for s in samples if s.id not in names and s.page_key not in names]
    used = {s.id for s in samples} | {s.page_key for s in samples}
    unknown = sorted(names - used)
    if unknown:
        log.warning("%s: %d names match no line or page of %s, e.g. %s", source.exclude,
                    len(unknown), source.path, ", ".join(unknown[:5]))
    log.info("%s: left out %d lines listed in %s", source.path, len(samples) - len(kept),
             source.exclude)
    return kept


def epoch_plan(sources: list[LoadedSource], epoch_lines: int, batch_size: int, seed: int,
               epoch: int) -> list[np.ndarray]:
    """The batches of one epoch: rows of (source, index), drawn by weight, bucketed by width."""
    rng = np.random.default_rng([seed, epoch])
    total_w = sum(s.source.weight for s in sources)
    picks = []
    for k, s in enumerate(sources):
        n = int(round(epoch_lines * s.source.weight / total_w))
        # without replacement until the source is used up, then a fresh permutation
        perms = [rng.permutation(len(s.images)) for _ in range(-(-n // len(s.images)))]
        idx = np.concatenate(perms)[:n] if perms else np.array([], dtype=int)
        picks.append(np.stack([np.full(len(idx), k), idx], axis=1))
    items = np.concatenate(picks)
    source_widths = [s.widths for s in sources]
    widths = np.array([source_widths[k][i] for k, i in items])
    from ..data.datasets import width_buckets
    return [items[b] for b in width_buckets(widths, batch_size, rng)]


class BatchDataset(torch.utils.data.Dataset):
    """Item b = the collated batch b of an epoch plan (augmentation seeded by its position)."""

    def __init__(self, sources: list[LoadedSource], plan: list[np.ndarray], seed: int,
                 epoch: int, start: int = 0, margin: int = 0,
                 augment: AugmentConfig = DEFAULT, equal_widths: bool = False):
        self.sources, self.plan, self.seed = sources, plan, seed
        self.epoch, self.start, self.margin, self.augment = epoch, start, margin, augment
        self.equal_widths = equal_widths

    def __len__(self) -> int:
        return len(self.plan) - self.start

    def __getitem__(self, i: int) -> dict:
        b = self.start + i
        images, labels, ids = [], [], []
        for pos, (k, idx) in enumerate(self.plan[b]):
            src = self.sources[k]
            img = src.images[idx]
            if src.source.augment:
                rng = np.random.default_rng([self.seed, self.epoch, b, pos])
                aug = augment_line(img, rng, self.augment)
                # keep the augmented line only if CTC can still align its label
                if ctc_feasible(pad_width(aug.shape[1], None, margin=0) // STRIDE, src.labels[idx]):
                    img = aug
            images.append(img)
            labels.append(src.labels[idx])
            ids.append(src.ids[idx])
        return collate(images, labels, ids, self.margin, self.equal_widths)


def collate(images: list[np.ndarray], labels: list[list[int]], ids: list[str],
            margin: int = 0, equal_widths: bool = False) -> dict:
    """Lines -> {x (B,1,H,W) float32, widths, targets (sum L,), target_lengths, ids}.

    Each line is edge-padded by at least ``margin`` columns (the Recognizer's tail margin) and
    its width, hence its CTC input length and the frames its LSTMs read, counts them; the
    batch is ``CNN_CONTEXT`` wider than its widest line, as the Recognizer reads. With
    ``equal_widths`` every line's width is the widest's (its edge padding counts as its own
    paper), so the model reads the batch unpacked."""
    widths = torch.tensor([pad_width(im.shape[1], None, margin) for im in images])
    if equal_widths:
        widths = torch.full_like(widths, int(widths.max()))
    x = torch.from_numpy(stack_lines(images, int(widths.max()) + CNN_CONTEXT))
    return {"x": x, "widths": widths,
            "targets": torch.tensor([c for lab in labels for c in lab], dtype=torch.long),
            "target_lengths": torch.tensor([len(lab) for lab in labels]), "ids": ids}
