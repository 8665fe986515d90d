"""inkreader beside the offline OCR engines a user would otherwise try, on the same real
handwriting lines: the IAM-OnDB val lines (904 lines of about 220 modern writers, drawn with
inkreader's fixed plain pen, `inkreader strokes`) and the Hooker test split (953 lines of one
19th-century hand, scanned).

Engines: inkreader (greedy, the reference's decoding, and the default decoding: beam search
with the shipped LM and word list), Tesseract 5 (Debian ``tesseract-ocr`` +
``tesseract-ocr-eng``, LSTM engine, ``--psm 7``: one text line) and RapidOCR (``pip install
rapidocr``: PP-OCRv6's recogniser on ONNX Runtime, its models shipped in the wheel; text
recognition only, as every image is already one line). Each engine reads every line image as
stored and is scored with the same metric (``inkreader.metrics.ErrorRates``: corpus CER and
WER; an engine error counts as an empty prediction). Times are wall-clock per line, one line at
a time in one process (Tesseract's process start included: that is how its CLI is used).
Neither Tesseract nor RapidOCR is a dependency of inkreader: install them for this benchmark
only. Run from the repository root:

    .venv/bin/python bench/compare_engines.py --write-doc docs/comparison.md

``--lines N`` reads only the first N lines of each set (a smoke run; not a result);
``--model FILE`` reads with another inkreader model.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/decoding.py, beside this script (a script's folder is on sys.path when it runs)
from decoding import HOOKER, machine, split_lines

from inkreader.decode.options import GREEDY, DecodingOptions
from inkreader.metrics import ErrorRates
from inkreader.runtime.recognizer import Recognizer

IAM = Path("../shared/data/iam-ondb")


def iam_val_lines(folder: Path, limit: int | None) -> list[tuple[Path, str]]:
    """The IAM-OnDB val lines drawn with the plain pen into ``folder`` (PNG, lossless)."""
    import cv2

    from inkreader.data.datasets import load_dataset
    from inkreader.data.pen import render_line
    out = []
    for s in load_dataset(IAM, "val")[:limit]:
        path = folder / f"{s.id}.png"
        cv2.imwrite(str(path), render_line(IAM, s.id, "plain"))
        out.append((path, s.text))
    return out


def tesseract_read(path: Path) -> str:
    """One line through the Tesseract CLI; an error is reported and read as ''."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    proc = subprocess.run(["tesseract", str(path), "stdout", "--psm", "7", "-l", "eng"],
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        print(f"warning: tesseract failed on {path}: {proc.stderr.strip()}", file=sys.stderr)
        return ""
    return " ".join(proc.stdout.split())


def rapidocr_reader():
    """``read(path) -> text`` with RapidOCR's recogniser (no detection: a line image)."""
    from rapidocr import RapidOCR

    engine = RapidOCR()

    def read(path: Path) -> str:
        result = engine(str(path), use_det=False, use_cls=False, use_rec=True)
        return " ".join(" ".join(result.txts or ()).split())

    return read


def inkreader_reader(model: str | None, beam: bool):
    """``read(path) -> text`` with an inkreader model, greedy or the default decoding."""
    rec = Recognizer.load(model, backend="auto", decoding=DecodingOptions() if beam else GREEDY)

    def read(path: Path) -> str:
        result = rec.read_paths([path])[0]
        return result.text if result.ok else ""

    return read


def score(lines: list[tuple[Path, str]], read) -> tuple[ErrorRates, float, list[str]]:
    """Corpus error rates of ``read(path) -> text`` on ``lines``, seconds per line, the texts."""
    rates, texts = ErrorRates(), []
    start = time.perf_counter()
    for path, label in lines:
        text = read(path)
        rates.update(text, label)
        texts.append(text)
    return rates, (time.perf_counter() - start) / max(1, len(lines)), texts


def engines(model: str | None) -> list[tuple[str, object]]:
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True,
                             check=False).stdout.splitlines()[0]
    from importlib.metadata import version as package_version
    name = "default model" if model is None else Path(model).name
    return [(f"inkreader ({name}), greedy (the reference's decoding)",
             lambda: inkreader_reader(model, beam=False)),
            (f"inkreader ({name}), default decoding (beam + character LM + word list)",
             lambda: inkreader_reader(model, beam=True)),
            (f"{version} (LSTM, --psm 7, eng)", lambda: tesseract_read),
            (f"RapidOCR {package_version('rapidocr')} (PP-OCRv6 recogniser)", rapidocr_reader)]


def table(title: str, lines: list, rows: list) -> str:
    out = [f"### {title} ({len(lines)} lines)", "", "| engine | CER % | WER % | ms / line |",
           "|---|---|---|---|"]
    out += [f"| {n} | {100 * r.cer:.2f} | {100 * r.wer:.2f} | {1000 * s:.1f} |"
            for n, r, s, _ in rows]
    out += ["", "The first lines:", "", "| label | " + " | ".join(
        ("inkreader greedy", "inkreader default", "Tesseract", "RapidOCR")) + " |",
            "|---|---|---|---|---|"]
    for i in range(min(4, len(lines))):
        cells = [lines[i][1]] + [texts[i] for *_, texts in rows]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="inkreader model (default: shipped)")
    parser.add_argument("--lines", type=int, default=None)
    parser.add_argument("--write-doc", type=Path, default=None)
    args = parser.parse_args(argv)
    if shutil.which("tesseract") is None:
        parser.error("tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng)")
    try:
        import rapidocr  # noqa: F401
    except ImportError:
        parser.error("rapidocr is not installed (pip install rapidocr)")
    sections = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = [("IAM-OnDB val, plain pen", iam_val_lines(Path(tmp), args.lines)),
                ("Hooker test split", split_lines(HOOKER, "test", args.lines))]
        for title, lines in sets:
            rows = []
            for name, make in engines(args.model):
                rates, seconds, texts = score(lines, make())
                print(f"{title}: {name}: CER {100 * rates.cer:.2f} %, WER "
                      f"{100 * rates.wer:.2f} %, {1000 * seconds:.1f} ms/line", flush=True)
                rows.append((name, rates, seconds, texts))
            sections.append(table(title, lines, rows))
    report = "\n\n".join(sections)
    print(report)
    if args.write_doc:
        args.write_doc.write_text(
            "# inkreader beside other offline OCR engines\n\n"
            f"{__doc__.split(chr(10) + chr(10), 1)[1].split('``--lines')[0].strip()}\n\n"
            f"Measured {datetime.date.today().isoformat()} on {machine()}, Python "
            f"{platform.python_version()}.\n\n{report}\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
