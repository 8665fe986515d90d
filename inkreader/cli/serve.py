"""``inkreader serve``: the HTTP service and the web page on one port (localhost by default).

    inkreader serve                       # http://127.0.0.1:8000/  (API docs at /docs)
    inkreader serve --greedy              # the reference's greedy decoding (default: beam + LM)

POST /v1/lines and /v1/pages take a multipart image upload in the field ``file``; see
``inkreader.serve.app`` for the limits and the batching.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

from ..errors import InkreaderError
from ..serve.app import ServeConfig
from .model_options import add_model_arguments, load_recognizer, reader_spec


def add_arguments(p) -> None:
    d = ServeConfig()
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-upload-mb", type=float, default=d.max_upload_mb,
                   help=f"largest upload accepted (default {d.max_upload_mb:g} MB; 413 above)")
    p.add_argument("--max-pixels", type=int, default=d.max_pixels,
                   help=f"largest image accepted, width x height (default {d.max_pixels:,})")
    p.add_argument("--workers", type=int, default=d.workers,
                   help=f"inference threads (default {d.workers})")
    p.add_argument("--queue", type=int, default=d.queue,
                   help=f"requests waiting beyond the workers before 503 (default {d.queue})")
    p.add_argument("--batch-size", type=int, default=d.batch_size,
                   help=f"most line requests read in one call (default {d.batch_size})")
    p.add_argument("--batch-wait-ms", type=float, default=d.batch_wait_ms,
                   help=f"how long a line request waits for others (default {d.batch_wait_ms:g})")
    add_model_arguments(p)


def run(args) -> int:
    from ..extras import require

    require("serve", "the HTTP service")
    import uvicorn

    from ..serve.app import create_app

    for name in ("max_upload_mb", "max_pixels", "workers", "batch_size"):
        if getattr(args, name) <= 0:
            raise InkreaderError(f"--{name.replace('_', '-')} must be positive")
    if args.queue < 0 or args.batch_wait_ms < 0:
        raise InkreaderError("--queue and --batch-wait-ms cannot be negative")
    config = ServeConfig(reader=reader_spec(args), max_upload_mb=args.max_upload_mb,
                         max_pixels=args.max_pixels, workers=args.workers, queue=args.queue,
                         batch_size=args.batch_size, batch_wait_ms=args.batch_wait_ms)
    app = create_app(config, load_recognizer(args))
    print(f"inkreader serve: http://{args.host}:{args.port}/ (API docs: /docs)",
          file=sys.stderr, flush=True)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
    server = _server_class()(config)
    server.run()
    if server.stopped_by is None:
        return 0
    # uvicorn finished the requests in flight, then stopped: one line, 128 + the signal
    print(f"inkreader serve: interrupted ({signal.Signals(server.stopped_by).name})",
          file=sys.stderr)
    return 128 + server.stopped_by


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, remembering the signal that stopped it."""

        stopped_by: int | None = None

        def handle_exit(self, sig: int, frame) -> None:
            if self.stopped_by is None:
                self.stopped_by = sig
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self):
            # uvicorn's own, less its raising the signal again once stopped (the command
            # reports the stop itself)
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handlers = {sig: signal.signal(sig, self.handle_exit)
                        for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in handlers.items():
                    signal.signal(sig, handler)

    return Server
