"""``inkreader read IMAGE_OR_DIR...``: read handwritten line images; everything the reference
demo did (its -m -d -ni -cl -dc -tk options keep their short names) on any backend.

Output on stdout, in input order: for a single image its text alone (as the reference demo
printed it); for several, ``path<TAB>text`` a line; with ``--json``, one JSON object a line
(image, text, confidence, chars with their x-spans in the image's pixels, error, size).
A folder stands for its image files (sorted, not recursive). An image that cannot be read is
reported on stderr by name, the others are still read, and the exit code is then 1.

Decoding: beam search with the shipped character LM and word list by default, ``--greedy`` for
the reference's greedy decoding (the default on the reference contract: ``--fixed-width``,
``-cl``, ``-dc``, a fixed-width IR; docs/decoding.md). Beyond the reference: review flags
(``--min-confidence``) and span drawings (``--draw``, docs/confidence.md).
"""

from __future__ import annotations

import json
import sys

from ..errors import InkreaderError
from ..runtime.backends import BACKENDS
from ..runtime.recognizer import DEFAULT_BATCH, LineResult, ReadStats, Recognizer, expand_inputs
from .decoding import add_decoding_arguments, decoding_options

REVIEW_MARK = "\t[review]"  # after the text of a line flagged by --min-confidence


def add_arguments(p) -> None:
    p.epilog = ("Output: one image -> its text; several -> 'path<TAB>text' lines in input order; "
                "--json -> one object a line. Unreadable images are named on stderr, the others "
                "are still read, and the exit code is then 1.")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="line images or folders")
    p.add_argument("-m", "--model", help="a .pt checkpoint, an .onnx, or an OpenVINO .xml IR "
                   "(official OMZ IRs included); default: the packaged model")
    p.add_argument("-b", "--backend", default="auto",
                   choices=("auto", *BACKENDS),
                   help="auto: OpenVINO for an .xml, else the fastest measured here")
    p.add_argument("-d", "--device", default="CPU", help="OpenVINO device (default CPU)")
    p.add_argument("-cl", "--charlist", help="charlist file, one symbol a line (default: the "
                   "model's own; the GNHK charset for .onnx/.xml without one)")
    p.add_argument("-dc", "--designated-characters", metavar="FILE",
                   help="allowed characters, one a line: others are replaced by the best "
                   "allowed class among the frame's top-k")
    p.add_argument("-tk", "--top-k", type=int, default=20,
                   help="top-k for --designated-characters (default 20)")
    p.add_argument("--fixed-width", action="store_true",
                   help="pad every line to the reference's fixed width (2000) instead of "
                   "reading it at its own width")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                   help=f"lines per inference request (default {DEFAULT_BATCH}; 1 for a model "
                   "with a static batch)")
    p.add_argument("-ni", "--iterations", type=int, metavar="N",
                   help="read everything N times and report the average inference latency "
                   "(as the reference demo's -ni)")
    p.add_argument("--json", action="store_true", help="one JSON object a line")
    g = add_decoding_arguments(p)
    g.add_argument("--min-confidence", type=float, metavar="X",
                   help="flag lines whose confidence is below X for review ('review': true in "
                   "--json, a tab and '[review]' after the text otherwise)")
    g.add_argument("--draw", metavar="OUT.png", help="draw each line with its characters' spans "
                   "and the text under it; several images: OUT is a folder (or holds {stem})")


def run(args) -> int:
    from ..decode.base import Designated
    from ..preprocess import quiet_opencv

    quiet_opencv()
    if args.iterations is not None and args.iterations < 1:
        raise InkreaderError("--iterations must be at least 1")
    designated = (Designated.load(args.designated_characters, args.top_k)
                  if args.designated_characters else None)
    if args.min_confidence is not None and not 0 <= args.min_confidence <= 1:
        raise InkreaderError(f"--min-confidence must be in [0, 1], got {args.min_confidence}")
    reference = bool(args.fixed_width or args.charlist or designated)
    rec = Recognizer.load(args.model, backend=args.backend, device=args.device,
                          fixed_width=args.fixed_width, charlist=args.charlist,
                          batch_size=args.batch_size, designated=designated,
                          decoding=decoding_options(args, reference))
    entries = expand_inputs(args.inputs)
    paths = [e for e in entries if not isinstance(e, LineResult)]
    targets = _draw_targets(args.draw, paths) if args.draw else []
    read = iter(rec.read_paths(paths) if paths else [])
    results = [e if isinstance(e, LineResult) else next(read) for e in entries]
    runs = [rec.stats]
    for _ in range((args.iterations or 1) - 1):
        rec.read_paths(paths)
        runs.append(rec.stats)
    _print_results(results, args.json, args.min_confidence)
    if args.iterations:
        print(latency_report(runs, rec), file=sys.stderr)
    drawn_ok = _draw([r for e, r in zip(entries, results, strict=True)
                      if not isinstance(e, LineResult)], targets)
    return 1 if any(not r.ok for r in results) or not drawn_ok else 0


def needs_review(result: LineResult, min_confidence: float | None) -> bool:
    """A read line whose confidence is below ``min_confidence`` (never when it is None)."""
    return (min_confidence is not None and result.ok
            and (result.confidence or 0.0) < min_confidence)


def _print_results(results: list[LineResult], as_json: bool,
                   min_confidence: float | None = None) -> None:
    for r in results:
        if not r.ok:
            print(f"inkreader read: error: {r.error}", file=sys.stderr)
        review = needs_review(r, min_confidence)
        if as_json:
            row = r.to_json()
            if min_confidence is not None:
                row["review"] = review
            print(json.dumps(row, ensure_ascii=False))
        elif r.ok:
            text = r.text + REVIEW_MARK if review else r.text
            print(text if len(results) == 1 else f"{r.name}\t{text}")
    sys.stdout.flush()


def _draw_targets(out: str, paths: list) -> list:
    from ..pages.draw import draw_outputs

    return draw_outputs(out, [str(p) for p in paths])


def _draw(results: list[LineResult], targets: list) -> bool:
    """Write one picture per read line (``--draw``; ``targets`` beside ``results``); one that
    cannot be written is named on stderr and the others are still written. True when all were."""
    from ..pages.draw import save_drawing

    ok = True
    for r, target in zip(results, targets, strict=False):  # no targets: no --draw
        if not r.ok:
            continue
        try:
            save_drawing(r, target)
            print(f"drew {target}", file=sys.stderr)
        except InkreaderError as exc:
            print(f"inkreader read: error: {exc}", file=sys.stderr)
            ok = False
    return ok


def latency_report(runs: list[ReadStats], rec: Recognizer) -> str:
    """The reference demo's latency line, plus the batched view: inference time per request
    and per line, and the end-to-end rate (decoding the images included)."""
    requests = sum(s.requests for s in runs)
    lines = sum(s.lines for s in runs)
    infer = sum(s.infer_seconds for s in runs)
    wall = sum(s.wall_seconds for s in runs)
    per_request = 1000 * infer / max(1, requests)
    return (f"Average latency: {per_request:.2f} ms per inference request over {len(runs)} "
            f"iterations ({requests} requests, up to {rec.batch_size} lines each, "
            f"{rec.backend.name}); {1000 * infer / max(1, lines):.2f} ms of inference per line; "
            f"end to end {lines / wall if wall else 0:.1f} lines/s")
