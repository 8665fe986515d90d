"""``inkreader read IMAGE_OR_DIR...``: read handwritten line images; everything the reference
demo did (its -m -d -ni -cl -dc -tk options keep their short names) on any backend.

Output on stdout, in input order: for a single image its text alone (as the reference demo
printed it); for several, ``path<TAB>text`` a line; with ``--json``, one JSON object a line
(image, text, confidence, chars with their x-spans in the image's pixels, error, size).
A folder stands for its image files (sorted, not recursive). An image that cannot be read is
reported on stderr by name, the others are still read, and the exit code is then 1.
"""

from __future__ import annotations

import json
import sys

from ..recognizer import DEFAULT_BATCH, LineResult, ReadStats, Recognizer, expand_inputs


def add_arguments(p) -> None:
    p.epilog = ("Output: one image -> its text; several -> 'path<TAB>text' lines in input order; "
                "--json -> one object a line. Unreadable images are named on stderr, the others "
                "are still read, and the exit code is then 1.")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="line images or folders")
    p.add_argument("-m", "--model", help="a .pt checkpoint, an .onnx, or an OpenVINO .xml IR "
                   "(official OMZ IRs included); default: the packaged model")
    p.add_argument("-b", "--backend", default="auto",
                   choices=("auto", "torch", "onnx", "openvino"),
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


def run(args) -> int:
    import cv2

    from ..decode import Designated
    from ..errors import InkreaderError

    cv2.setLogLevel(2)  # errors only: our own message names a bad file; OpenCV's WARN repeats it
    if args.iterations is not None and args.iterations < 1:
        raise InkreaderError("--iterations must be at least 1")
    designated = (Designated.load(args.designated_characters, args.top_k)
                  if args.designated_characters else None)
    rec = Recognizer.load(args.model, backend=args.backend, device=args.device,
                          fixed_width=args.fixed_width, charlist=args.charlist,
                          batch_size=args.batch_size, designated=designated)
    entries = expand_inputs(args.inputs)
    paths = [e for e in entries if not isinstance(e, LineResult)]
    read = iter(rec.read_paths(paths) if paths else [])
    results = [e if isinstance(e, LineResult) else next(read) for e in entries]
    runs = [rec.stats]
    for _ in range((args.iterations or 1) - 1):
        rec.read_paths(paths)
        runs.append(rec.stats)
    _print_results(results, args.json)
    if args.iterations:
        print(latency_report(runs, rec), file=sys.stderr)
    return 1 if any(not r.ok for r in results) else 0


def _print_results(results: list[LineResult], as_json: bool) -> None:
    for r in results:
        if not r.ok:
            print(f"inkreader read: error: {r.error}", file=sys.stderr)
        if as_json:
            print(json.dumps(r.to_json(), ensure_ascii=False))
        elif r.ok:
            print(r.text if len(results) == 1 else f"{r.name}\t{r.text}")
    sys.stdout.flush()


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
