"""``inkreader batch SOURCE... --out STORE``: read a whole archive of page and line images
into a result store (a folder of JSON Lines shards, one record an image), resumably.

Killed at any moment and started again with the same command, it reads only what the store
does not hold yet (a file changed since it was read is read again). Locally by default (one
worker process a core); ``--cluster tcp://host:8786`` runs the same reading on a Dask
cluster (the ``batch`` extra). docs/batch.md has the record format, the engines and figures.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from ..batch.run import DEFAULT_TASK_SIZE, KINDS, BatchSpec, Summary, run_batch
from ..batch.xmlout import XML_FORMATS, XmlOut
from ..decode.options import DecodingOptions
from .model_options import add_model_arguments, reader_spec


def add_arguments(p) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="folders (walked recursively), image files, or .txt/.lst lists of "
                   "image paths (one a line)")
    p.add_argument("--out", required=True, metavar="STORE",
                   help="the result store: a folder of JSON Lines shards (made if missing)")
    p.add_argument("--layouts", action="store_true",
                   help="folders give their PAGE-XML / ALTO files instead of their images: "
                   "each is read on its image with the lines it defines (an .xml SOURCE "
                   "always is)")
    p.add_argument("--xml-out", metavar="DIR",
                   help="also write each page into DIR as <name>.xml: a layout filled in, an "
                   "image as --xml-format")
    p.add_argument("--xml-format", choices=XML_FORMATS,
                   help="pagexml (PAGE-XML 2019) or alto (ALTO 4.4) for --xml-out (default: a "
                   "layout's own format, pagexml for images)")
    p.add_argument("--kind", choices=KINDS, default="auto",
                   help="page or line images; auto (default) guesses each as the web page "
                   "does: at most 200 px high or at least 5x wider than high is a line")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="a Dask scheduler (tcp://host:8786) to run on; default: this machine")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local worker processes (default: one per core)")
    p.add_argument("--task-size", type=int, default=DEFAULT_TASK_SIZE, metavar="N",
                   help=f"images per task, committed together as one shard (default "
                   f"{DEFAULT_TASK_SIZE})")
    p.add_argument("--verify-hash", action="store_true",
                   help="also compare each stored file's SHA-256, not only its size and mtime")
    p.add_argument("--retry-errors", action="store_true",
                   help="read again the images whose stored record is an error")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_model_arguments(p, model_help="a .pt, .onnx or OpenVINO .xml model (default: the "
                        "packaged model); on a cluster the path must exist on every worker")


def run(args) -> int:
    reader = reader_spec(args)
    # the store records the decoding it was read with: the default named, not left to the model
    decoding = reader.decoding or DecodingOptions(tta=reader.tta)
    spec = BatchSpec(replace(reader, decoding=decoding), kind=args.kind)
    engine = _engine(args)
    bar = _Progress(disabled=args.no_progress)
    xml = XmlOut(args.xml_out, args.xml_format) if args.xml_out else None

    def committed(records: list[dict], summary: Summary) -> None:
        if xml is not None:
            xml.write(records)
        bar.update(records, summary)

    try:
        summary = run_batch(args.sources, args.out, spec, engine, task_size=args.task_size,
                            verify_hash=args.verify_hash, retry_errors=args.retry_errors,
                            on_commit=committed, layouts=args.layouts)
    finally:
        bar.close()
    if not summary.images:  # as `read` of an empty folder: an error, and no store made
        print(f"inkreader batch: error: no image files in {', '.join(args.sources)}",
              file=sys.stderr)
        return 1
    print(_report(summary, args.out), file=sys.stderr)
    if xml is not None:
        print(f"{xml.written} pages written to {args.xml_out}"
              + (f", {xml.failed} could not be (see above)" if xml.failed else ""),
              file=sys.stderr)
    return 1 if summary.errors or summary.lost or (xml and xml.failed) else 0


def _engine(args):
    if args.cluster:
        try:
            from ..batch.cluster import DaskEngine
        except ImportError:
            from ..errors import InkreaderError

            raise InkreaderError("--cluster needs Dask distributed: pip install "
                                 "'inkreader[batch]'") from None
        return DaskEngine(args.cluster)
    from ..batch.engines import LocalEngine

    return LocalEngine(args.workers)


class _Progress:
    """A tqdm bar over the images this run reads: done / total, images/s and the ETA."""

    def __init__(self, disabled: bool):
        self.disabled = disabled
        self.bar = None

    def update(self, records: list[dict], summary: Summary) -> None:
        if self.disabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            todo = summary.images - summary.kept
            self.bar = tqdm(total=todo, unit="img", desc="batch", file=sys.stderr,
                            mininterval=1.0 if sys.stderr.isatty() else 30.0)
        self.bar.update(len(records))
        self.bar.set_postfix(errors=summary.errors, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _report(s: Summary, store: str) -> str:
    lines = [f"{s.images} images: {s.kept} already in the store, {s.read} read in "
             f"{s.seconds:.1f} s ({s.rate:.2f} images/s on {s.engine}), {s.errors} of them "
             f"errors (status 'error' in the store)"]
    if s.stale:
        lines.append(f"{s.stale} stored results were of files changed since, read again")
    if s.lost:
        lines.append(f"{s.lost} images not read (their tasks failed; run the same command "
                     "again to read them):")
        lines += [f"  {r}" for r in s.lost_reasons[:10]]
    lines.append(f"store: {store} ({s.shards} new shards)")
    return "\n".join(lines)
