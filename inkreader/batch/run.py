"""Reading a whole archive into a result store, resumably, on one machine or a cluster.

    spec = BatchSpec()                                  # the packaged model, guessed kinds
    summary = run_batch(["letters/"], "letters.store", spec, LocalEngine())

The driver (this module) lists the images, leaves out those the store already holds as they
are now (same size and mtime, and with ``verify_hash`` the same SHA-256), cuts the rest into
tasks and hands them to an engine (``batch.engines``: local processes or a Dask cluster). Each
worker loads the model once and reads its tasks with the same page reader and Recognizer as
``inkreader read-page`` / ``read``; each finished task comes back as records and is committed
as one shard of the store (``batch.store``). A run killed at any moment loses at most the
tasks in flight; the same command reads them again.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

from ..decode.options import DecodingOptions
from ..errors import InkreaderError
from ..results import LineResult, PageResult
from ..runtime.recognizer import IMAGE_SUFFIXES, Recognizer
from ..runtime.spec import ReaderSpec
from .store import Store

log = logging.getLogger(__name__)

KINDS = ("auto", "page", "line")
# The web page's guess (inkreader/serve/static/app.js, guessKind): a line image is short and wide.
LINE_MAX_HEIGHT = 200  # px: a scan this short is one line
LINE_MIN_ASPECT = 5.0  # width / height: a strip this long is one line
LIST_SUFFIXES = (".txt", ".lst")  # a SOURCE with one image path a line
DEFAULT_TASK_SIZE = 16  # images a task (one shard): a recognizer batch of lines, ~30 s of pages
PAGE_CHUNK = 8  # pages segmented and read per recognizer call, as `inkreader read-page`


# --- what is read and how ---------------------------------------------------------------------

@dataclass(frozen=True)
class ImageFile:
    """One image to read: its absolute path and the file as the driver saw it."""

    path: str
    bytes: int | None  # None: the file is missing
    mtime_ns: int | None


@dataclass(frozen=True)
class BatchSpec:
    """How every image is read; the same on every worker (it travels to them pickled).
    ``reader``: the model and decoding (``ReaderSpec``; its ``decoding`` is given, the
    library's default unless the command line asks for other, so that the store can record
    it); ``kind``: "page", "line" or "auto" (guessed from each image's size)."""

    reader: ReaderSpec = field(default_factory=lambda: ReaderSpec(decoding=DecodingOptions()))
    kind: str = "auto"

    def reading(self) -> dict:
        """What a store records about how its results were read (``store.json``)."""
        from ..paths import resolve_model_path

        path = resolve_model_path(self.reader.model)
        decoding = self.reader.decoding or DecodingOptions()
        if self.reader.tta:
            decoding = decoding.with_(tta=True)
        return {"model": str(path), "model_sha256": file_sha256(path),
                "backend": self.reader.backend, "kind": self.kind,
                "decoding": decoding.describe()}

    def load(self, threads: int | None = None) -> Worker:
        """The loaded reader of one worker (the model is loaded here, once)."""
        from ..paths import resolve_model_path
        from ..preprocess import quiet_opencv

        quiet_opencv()
        rec = replace(self.reader, threads=threads).recognizer()
        path = resolve_model_path(self.reader.model)
        model = {"path": str(path), "sha256": file_sha256(path), "backend": rec.backend.name}
        return Worker(rec, self.kind, model)


@dataclass
class Worker:
    """A worker's loaded recognizer, the kind option and the model's identity."""

    rec: Recognizer
    kind: str
    model: dict
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


# --- the worker side --------------------------------------------------------------------------

def guess_kind(width: int, height: int) -> str:
    """"line" or "page" from an image's size, as the web page guesses."""
    return "line" if height <= LINE_MAX_HEIGHT or width / height >= LINE_MIN_ASPECT else "page"


def image_kind(path: str, kind: str) -> str:
    """``kind`` unless "auto"; then the guess from the image header (unreadable: "page", as
    the web page does, and the page reader reports the error)."""
    if kind != "auto":
        return kind
    from PIL import Image as PILImage

    try:
        with PILImage.open(path) as im:
            return guess_kind(*im.size)
    except Exception:  # any failure to probe: read as a page, which names the error
        return "page"


def read_task(reader: Worker, task: Sequence[ImageFile]) -> list[dict]:
    """Read one task's images; one record each, in task order. Pages go through the page
    reader in chunks (``PAGE_CHUNK``, as read-page), line images through one Recognizer call."""
    from ..pages.layout import is_layout, read_layout_files
    from ..pages.reader import read_page_files

    start = time.perf_counter()
    kinds = ["layout" if is_layout(im.path) else image_kind(im.path, reader.kind)
             for im in task]
    pages = [im.path for im, k in zip(task, kinds, strict=True) if k == "page"]
    lines = [im.path for im, k in zip(task, kinds, strict=True) if k == "line"]
    layouts = [im.path for im, k in zip(task, kinds, strict=True) if k == "layout"]
    results: dict[str, dict] = {}
    for i in range(0, len(pages), PAGE_CHUNK):
        for page in read_page_files(reader.rec, pages[i:i + PAGE_CHUNK]):
            results[page.name] = _page_record(page)
    for i in range(0, len(layouts), PAGE_CHUNK):
        chunk = layouts[i:i + PAGE_CHUNK]
        for xml, page in zip(chunk, read_layout_files(reader.rec, chunk), strict=True):
            results[xml] = {**_page_record(page), "page_image": page.name}
    for line in reader.rec.read_paths(lines) if lines else []:
        results[line.name] = _line_record(line)
    share = (time.perf_counter() - start) / max(1, len(task))
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    out = []
    for im, kind in zip(task, kinds, strict=True):
        rec = {"image": im.path, "kind": kind, **results[im.path], "file": _file_record(im.path),
               "model": reader.model, "worker": reader.name, "seconds": round(share, 3),
               "read_at": stamp}
        out.append(rec)
    return out


def _page_record(page: PageResult) -> dict:
    confidence = page.confidence
    return _record(page, None if confidence is None else round(confidence, 4))


def _line_record(line: LineResult) -> dict:
    """A line image as a page of one line whose outline is the whole image, with the line's
    own confidence."""
    return _record(line.as_page(), line.confidence)


def _record(page: PageResult, confidence: float | None) -> dict:
    """A record's reading: the page's JSON (``results``) with its status and ``confidence``;
    the task adds the image, its share of the seconds and the rest."""
    record = {k: v for k, v in page.to_json().items() if k not in ("image", "seconds")}
    return {**record, "status": "ok" if page.ok else "error", "confidence": confidence}


def _file_record(path: str) -> dict:
    try:
        st = os.stat(path)
        return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": file_sha256(path)}
    except OSError:
        return {"bytes": None, "mtime_ns": None, "sha256": None}


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


# --- the driver -------------------------------------------------------------------------------

def expand_sources(sources: Sequence[str | Path], layouts: bool = False) -> list[ImageFile]:
    """SOURCEs -> images, in order, each once: a folder is walked (recursively, sorted) for
    image files (with ``layouts``: for PAGE-XML / ALTO ``.xml`` files instead), a .txt/.lst
    file lists image paths (one a line, relative to the list's folder; blank lines and '#'
    comments skipped), anything else is an image (an ``.xml`` file: a layout, read on its
    image). A missing SOURCE is an error; a missing image in a list becomes an error record
    when read."""
    from ..pages.layout import LAYOUT_SUFFIXES

    wanted = LAYOUT_SUFFIXES if layouts else IMAGE_SUFFIXES
    paths: list[Path] = []
    for raw in sources:
        p = Path(raw)
        if p.is_dir():
            paths.extend(sorted(f for f in p.rglob("*")
                                if f.is_file() and f.suffix.lower() in wanted))
        elif p.suffix.lower() in LIST_SUFFIXES and p.is_file():
            paths.extend(_listed(p))
        elif p.exists():
            paths.append(p)
        else:
            raise InkreaderError(f"{p}: no such file or folder")
    seen, images = set(), []
    for p in paths:
        path = os.path.abspath(p)
        if path in seen:
            continue
        seen.add(path)
        try:
            st = os.stat(path)
            images.append(ImageFile(path, st.st_size, st.st_mtime_ns))
        except OSError:
            images.append(ImageFile(path, None, None))
    return images


def _listed(listing: Path) -> list[Path]:
    try:
        rows = listing.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InkreaderError(f"{listing}: cannot read the list of images ({exc})") from None
    out = []
    for row in rows:
        row = row.strip()
        if row and not row.startswith("#"):
            out.append(listing.parent / row)
    return out


@dataclass
class Plan:
    """What a run reads: ``todo`` images; ``stale`` stored images to read again; ``kept``
    images already in the store as they are now."""

    todo: list[ImageFile]
    stale: set[str]
    kept: int


def plan(images: Iterable[ImageFile], store: Store, verify_hash: bool = False,
         retry_errors: bool = False) -> Plan:
    """Compare the images with the store's records (by path; size and mtime, and with
    ``verify_hash`` the SHA-256 too)."""
    # only what the comparison needs: a big store's records (polygons, chars) are not kept
    stored = {r["image"]: {"file": r.get("file"), "status": r.get("status")}
              for r in store.records()}
    todo, stale, kept = [], set(), 0
    for im in images:
        rec = stored.get(im.path)
        if rec is not None and _unchanged(im, rec, verify_hash) and not (
                retry_errors and rec.get("status") != "ok"):
            kept += 1
            continue
        if rec is not None:
            stale.add(im.path)
        todo.append(im)
    return Plan(todo, stale, kept)


def _unchanged(im: ImageFile, rec: dict, verify_hash: bool) -> bool:
    f = rec.get("file") or {}
    if (f.get("bytes"), f.get("mtime_ns")) != (im.bytes, im.mtime_ns):
        return False
    if not verify_hash or im.bytes is None:
        return True
    try:
        return file_sha256(im.path) == f.get("sha256")
    except OSError:
        return False


class Engine(Protocol):
    """Runs tasks on workers that each load ``spec`` once; yields (task, records or the
    exception that lost the task) as tasks finish."""

    name: str

    def run(self, spec: BatchSpec, tasks: list[list[ImageFile]]
            ) -> Iterator[tuple[list[ImageFile], list[dict] | BaseException]]: ...


@dataclass
class Summary:
    images: int  # in the sources
    kept: int  # already in the store
    read: int = 0  # records committed by this run
    errors: int = 0  # of those, images that could not be read
    lost: int = 0  # images of tasks the engine lost (a worker kept dying): read by the next run
    stale: int = 0  # records dropped because their file changed
    seconds: float = 0.0
    shards: int = 0
    engine: str = ""
    lost_reasons: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict:
        return {**asdict(self), "rate": round(self.rate, 3)}


def run_batch(sources: Sequence[str | Path], store_path: str | Path, spec: BatchSpec,
              engine: Engine, task_size: int = DEFAULT_TASK_SIZE, verify_hash: bool = False,
              retry_errors: bool = False,
              on_commit: Callable[[list[dict], Summary], None] | None = None,
              layouts: bool = False) -> Summary:
    """Read every image of ``sources`` that ``store_path`` does not hold yet; each finished
    task is committed as one shard before ``on_commit`` (a progress display) is called with
    its records (and once with none before the first task). ``layouts``: folders give their
    PAGE-XML / ALTO files, each read on its image with the lines it defines."""
    if task_size < 1:
        raise InkreaderError(f"--task-size must be at least 1, got {task_size}")
    if spec.kind not in KINDS:
        raise InkreaderError(f"unknown kind {spec.kind!r} ({', '.join(KINDS)})")
    check_model(spec)
    images = expand_sources(sources, layouts)
    if not images:  # nothing to read: no store is made
        return Summary(0, 0, engine=engine.name)
    connect = getattr(engine, "connect", None)
    if connect is not None:  # a cluster: reached before the store is made
        connect()
    with Store.open(store_path, spec.reading()) as store:
        todo = plan(images, store, verify_hash, retry_errors)
        summary = Summary(len(images), todo.kept, engine=engine.name)
        summary.stale = store.drop(todo.stale)
        if summary.stale:
            log.info("%d stored results were of files changed since: reading them again",
                     summary.stale)
        tasks = [todo.todo[i:i + task_size] for i in range(0, len(todo.todo), task_size)]
        start = time.perf_counter()
        if on_commit is not None:
            on_commit([], summary)  # the run starts: nothing committed yet
        for task, outcome in engine.run(spec, tasks) if tasks else ():
            if isinstance(outcome, BaseException):
                summary.lost += len(task)
                summary.lost_reasons.append(f"{task[0].path} (+{len(task) - 1}): {outcome}")
                continue
            store.commit(outcome)
            summary.shards += 1
            summary.read += len(outcome)
            summary.errors += sum(r["status"] != "ok" for r in outcome)
            summary.seconds = time.perf_counter() - start
            if on_commit is not None:
                on_commit(outcome, summary)
        summary.seconds = time.perf_counter() - start
    return summary


def check_model(spec: BatchSpec) -> None:
    """Fail early, on the driver, for a model path that does not exist."""
    from ..errors import ModelError
    from ..paths import resolve_model_path

    path = resolve_model_path(spec.reader.model)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")

