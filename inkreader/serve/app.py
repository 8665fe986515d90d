"""The HTTP service and web page: ``create_app(ServeConfig())`` -> a FastAPI app.

    POST /v1/lines   multipart field ``file``: one line image  -> the line's JSON result
    POST /v1/pages   multipart field ``file``: one page image  -> the page's lines, in order
                     (optional field ``layout``: its PAGE-XML / ALTO, whose lines are read;
                     ``?format=pagexml|alto``: the page as PAGE-XML 2019 / ALTO 4.4)
    GET  /health     model, backend, load;  GET /docs: OpenAPI;  GET /: the web page

Inference never runs on the event loop: decoding runs in threads, recognition and segmentation
in a pool of ``workers`` threads. At most ``workers + queue`` requests are admitted at once; the
next gets 503 at once (with Retry-After) instead of waiting without bound. Concurrent
/v1/lines requests are micro-batched: the first waits up to ``batch_wait_ms`` for others (up to
``batch_size``), then one Recognizer call reads them all and each gets its own result back.
Bad input gets a 4xx with a JSON body ``{"error": code, "detail": message}`` naming the
problem: 400 missing field / empty / not an image / a layout without outlines, 413 upload or
image too large.
"""

from __future__ import annotations

import asyncio
import copy
import io
import logging
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import PurePath
from typing import Annotated

import numpy as np

from .. import __version__
from ..extras import as_missing_extra, require

try:
    from fastapi import FastAPI, File, Request, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from starlette.exceptions import HTTPException as StarletteHTTPException
except ModuleNotFoundError as exc:  # the serve extra is not installed: say how to install it
    raise as_missing_extra(exc, "the HTTP service") from None

from ..errors import BackendStalled, DatasetError, ImageError
from ..pages.layout import Layout, parse_layout, render_page
from ..pages.reader import detect_lines, read_lines
from ..preprocess import decode_image
from ..results import LineResult, PageResult
from ..runtime.recognizer import Recognizer
from ..runtime.spec import ReaderSpec

log = logging.getLogger(__name__)

STATIC = files("inkreader.serve") / "static"
MULTIPART_SLACK = 64 * 1024  # bytes of multipart headers allowed on top of the file itself
# Optional in the signature so a missing field is our clear 400, not a generic 422.
LineUpload = Annotated[UploadFile | None, File(description="a line image")]
PageUpload = Annotated[UploadFile | None, File(description="a page image")]
LayoutUpload = Annotated[UploadFile | None, File(description="optional: the page's PAGE-XML "
                                                 "or ALTO; its lines are read")]
PAGE_FORMATS = ("json", "pagexml", "alto")
XML_MEDIA = "application/xml"


@dataclass
class ServeConfig:
    """How the service runs; the defaults are the ``inkreader serve`` defaults. ``reader``:
    the model and decoding (``ReaderSpec``); ``batch_size`` is also its lines per request."""

    reader: ReaderSpec = field(default_factory=ReaderSpec)
    max_upload_mb: float = 20.0
    max_pixels: int = 40_000_000
    workers: int = 2
    queue: int = 32
    batch_size: int = 16
    batch_wait_ms: float = 5.0


class ApiError(Exception):
    """An error answered as ``{"error": code, "detail": detail}`` with ``status``."""

    def __init__(self, status: int, code: str, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


def _error(status: int, code: str, detail: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


class MicroBatcher:
    """Collects line images from concurrent requests into one recognizer call.

    ``submit`` queues an image and awaits its result; the collector takes the first waiting
    image, waits up to ``wait_s`` for more (at most ``max_batch``), then runs ``read`` on the
    executor. At most ``slots`` batches are in flight; while they run, the next batch fills.
    """

    def __init__(self, read: Callable[[list[np.ndarray], list[str]], list[LineResult]],
                 executor: ThreadPoolExecutor, max_batch: int, wait_s: float, slots: int):
        self.read, self.executor = read, executor
        self.max_batch, self.wait_s = max(1, max_batch), max(0.0, wait_s)
        self.queue: asyncio.Queue = asyncio.Queue()
        self.slots = asyncio.Semaphore(max(1, slots))
        self.batches = 0  # calls made (for /health and the tests)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def submit(self, gray: np.ndarray, name: str) -> LineResult:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((gray, name, future))
        return await future

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            deadline = loop.time() + self.wait_s
            while len(batch) < self.max_batch:
                left = deadline - loop.time()
                if left <= 0 and self.queue.empty():
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), max(left, 0)))
                except TimeoutError:
                    break
            await self.slots.acquire()
            self.batches += 1
            job = loop.run_in_executor(self.executor, self.read, [b[0] for b in batch],
                                       [b[1] for b in batch])
            job.add_done_callback(lambda j, batch=batch: self._deliver(j, batch))

    def _deliver(self, job: asyncio.Future, batch: list) -> None:
        self.slots.release()
        for k, (_, _, future) in enumerate(batch):
            if future.done():  # the client went away
                continue
            if job.exception() is not None:
                future.set_exception(job.exception())
            else:
                future.set_result(job.result()[k])


class UploadLimit:
    """ASGI middleware: a /v1/ request body over ``max_bytes`` is refused with 413 before the
    app parses it (by its Content-Length, or by counting a chunked body); the body is buffered
    (at most ``max_bytes``) and replayed to the app."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            if int(declared) <= 4 * self.max_bytes:  # drain it so the client reads the answer
                await self._drain(receive)
            return await self._refuse(scope, receive, send, int(declared))
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                if more:
                    await self._drain(receive)
                return await self._refuse(scope, receive, send, len(body))
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _drain(self, receive) -> None:
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    async def _refuse(self, scope, receive, send, size: int):
        limit = (self.max_bytes - MULTIPART_SLACK) / 2**20
        response = _error(413, "upload_too_large", f"upload of {size:,} bytes is over the "
                          f"limit of {limit:g} MB")
        return await response(scope, receive, send)


class Service:
    """The recognizer, the worker pool, the admission count and the line micro-batcher."""

    def __init__(self, config: ServeConfig, recognizer: Recognizer | None = None):
        self.config = config
        self.rec = recognizer or replace(config.reader,
                                         batch_size=config.batch_size).recognizer()
        self.pool = ThreadPoolExecutor(max(1, config.workers), thread_name_prefix="serve")
        self.capacity = max(1, config.workers) + max(0, config.queue)
        self.active = 0
        self.batcher: MicroBatcher | None = None

    def admit(self) -> None:
        if self.active >= self.capacity:
            raise ApiError(503, "busy", f"server busy: {self.active} requests in progress "
                           f"(limit {self.capacity}); retry later", {"Retry-After": "1"})
        self.active += 1

    def read_line_batch(self, images: list[np.ndarray], names: list[str]) -> list[LineResult]:
        return self.rec.read_arrays(images, names)

    def read_page(self, gray: np.ndarray, name: str, layout: Layout | None = None) -> PageResult:
        start = time.perf_counter()
        page = PageResult(name, size=(int(gray.shape[0]), int(gray.shape[1])), layout=layout)
        page.lines = copy.deepcopy(layout.lines) if layout is not None else detect_lines(gray)
        # detected "lines" without ink are dropped; a given layout's lines are all kept
        read_lines(self.rec, [page], [gray], drop_blank=layout is None)
        page.seconds = time.perf_counter() - start
        return page


async def _upload_image(file: UploadFile | None, config: ServeConfig) -> tuple[np.ndarray, str]:
    """The uploaded image as (H, W) uint8 gray and its file name, or an ApiError."""
    if file is None or not hasattr(file, "read"):
        raise ApiError(400, "missing_file", "no file: send the image as multipart/form-data "
                       "in the field 'file'")
    name = PurePath(file.filename or "upload").name or "upload"
    data = await file.read()
    if not data:
        raise ApiError(400, "empty_file", f"{name}: empty file (0 bytes)")
    if len(data) > config.max_upload_mb * 2**20:
        raise ApiError(413, "upload_too_large", f"{name}: {len(data):,} bytes is over the "
                       f"limit of {config.max_upload_mb:g} MB")
    return await asyncio.to_thread(_decode, data, name, config.max_pixels), name


async def _upload_layout(file: UploadFile | None, image: str) -> Layout | None:
    """The uploaded layout of the page ``image`` (None if none was sent), or an ApiError."""
    if file is None or not hasattr(file, "read"):
        return None
    name = PurePath(file.filename or "layout.xml").name or "layout.xml"
    try:
        return parse_layout(await file.read(), name, image)
    except DatasetError as exc:  # a LayoutError, or points that are not numbers
        raise ApiError(400, "bad_layout", str(exc)) from None


def _decode(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            w, h = Image.open(io.BytesIO(data)).size
    except Image.DecompressionBombError:
        raise ApiError(413, "image_too_large", f"{name}: image too large to decode") from None
    except Exception:
        raise ApiError(400, "not_an_image", f"{name}: not an image (unrecognised format)") \
            from None
    if w * h > max_pixels:
        raise ApiError(413, "image_too_large", f"{name}: image too large ({w}x{h} = "
                       f"{w * h:,} px; limit {max_pixels:,} pixels)")
    try:
        return decode_image(data, name)
    except ImageError as exc:
        raise ApiError(400, "bad_image", str(exc)) from None


def _decoding(rec: Recognizer) -> dict:
    """How the service decodes (its ``DecodingOptions``, or the class of a decoder given as
    it is)."""
    if rec.decoding is not None:
        return rec.decoding.describe()
    return {"decoder": type(rec.decoder).__name__, "tta": rec.tta}


def create_app(config: ServeConfig | None = None, recognizer: Recognizer | None = None) -> FastAPI:
    """The service as an ASGI app (pass a loaded ``recognizer`` to share one)."""
    require("serve", "the HTTP service")  # python-multipart too, which FastAPI imports late
    config = config or ServeConfig()
    service = Service(config, recognizer)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.batcher = MicroBatcher(service.read_line_batch, service.pool, config.batch_size,
                                       config.batch_wait_ms / 1000, max(1, config.workers))
        service.batcher.start()
        yield
        await service.batcher.stop()
        service.pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="inkreader", version=__version__, lifespan=lifespan,
                  description="Reads handwritten English: line images and whole pages.")
    app.state.service = service
    app.add_middleware(UploadLimit, max_bytes=int(config.max_upload_mb * 2**20)
                       + MULTIPART_SLACK)
    _add_error_handlers(app)

    @app.get("/health")
    async def health() -> dict:
        """Liveness and load: model, backend, requests in progress, the limits."""
        return {"status": "ok", "model": service.rec.backend.source,
                "backend": service.rec.backend.name, "active": service.active,
                "capacity": service.capacity, "workers": config.workers,
                "line_batches": service.batcher.batches if service.batcher else 0,
                "max_upload_mb": config.max_upload_mb, "max_pixels": config.max_pixels,
                "decoding": _decoding(service.rec)}

    @app.post("/v1/lines")
    async def read_line(file: LineUpload = None):
        """Read one handwritten line image: text, confidence, characters with x-spans."""
        service.admit()
        try:
            gray, name = await _upload_image(file, config)
            start = time.perf_counter()
            result = await service.batcher.submit(gray, name)
            body = result.to_json() | {"seconds": round(time.perf_counter() - start, 4)}
            if not result.ok:
                raise ApiError(422, "unreadable_line", result.error or "unreadable")
            return body
        finally:
            service.active -= 1

    @app.post("/v1/pages")
    async def read_page(file: PageUpload = None, layout: LayoutUpload = None,
                        format: str = "json"):
        """Find the text lines of a page image (or take those of its PAGE-XML / ALTO
        ``layout``) and read them, in reading order. ``format``: json (default), pagexml
        (PAGE-XML 2019) or alto (ALTO 4.4); a layout in its own format comes back filled
        in."""
        if format not in PAGE_FORMATS:
            raise ApiError(400, "bad_format", f"format {format!r}: one of "
                           f"{', '.join(PAGE_FORMATS)}")
        service.admit()
        try:
            gray, name = await _upload_image(file, config)
            given = await _upload_layout(layout, name)
            loop = asyncio.get_running_loop()
            page = await loop.run_in_executor(service.pool, service.read_page, gray, name,
                                              given)
            if format == "json":
                return page.to_json()
            return Response(render_page(page, format), media_type=XML_MEDIA)
        finally:
            service.active -= 1

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.detail, exc.headers)

    @app.exception_handler(BackendStalled)
    async def stalled(_request: Request, exc: BackendStalled) -> JSONResponse:
        return _error(503, "backend_stalled", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        return _error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                          for e in exc.errors())
        return _error(400, "bad_request", f"malformed request ({where})")
