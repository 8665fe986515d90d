"""inkreader vs Tesseract on the same real handwriting lines (the Hooker test split).

Tesseract 5 (Debian ``tesseract-ocr`` + ``tesseract-ocr-eng``, its LSTM engine, ``--psm 7``:
"treat the image as a single text line") is the offline OCR engine a user would otherwise reach
for. Each engine reads every line image as stored (no binarisation or cropping of our own) and
is scored with the same metric (``inkreader.metrics.ErrorRates``: corpus CER and WER; an
unreadable line or an engine error counts as an empty prediction). Times are wall-clock per line
on one process, one line at a time, process start-up included for Tesseract (that is how its CLI
is used). Tesseract is not a dependency of inkreader: install it for this benchmark only. The
beam row is inkreader's default decoding (``DecodingOptions()``: the beam search with the
shipped LM and word list, its defaults in ``inkreader/decoding.py``, tuned on the val split by
``bench/decoding.py --tune``). Run from the repository root:

    .venv/bin/python bench/compare_engines.py --write-doc docs/comparison.md

``--lines N`` reads only the first N test lines (a smoke run; not a result).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

# bench/decoding.py, beside this script (a script's folder is on sys.path when it runs)
from decoding import HOOKER, machine, split_lines

from inkreader.decoding import GREEDY, DecodingOptions
from inkreader.metrics import ErrorRates
from inkreader.recognizer import Recognizer


def tesseract_read(path: Path) -> str:
    """One line through the Tesseract CLI; an error is reported and read as ''."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    proc = subprocess.run(["tesseract", str(path), "stdout", "--psm", "7", "-l", "eng"],
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        print(f"warning: tesseract failed on {path}: {proc.stderr.strip()}", file=sys.stderr)
        return ""
    return " ".join(proc.stdout.split())


def score(lines: list[tuple[Path, str]], read) -> tuple[ErrorRates, float, list[str]]:
    """Corpus error rates of ``read(path) -> text`` on ``lines``, seconds per line, the texts."""
    rates, texts = ErrorRates(), []
    start = time.perf_counter()
    for path, label in lines:
        text = read(path)
        rates.update(text, label)
        texts.append(text)
    return rates, (time.perf_counter() - start) / max(1, len(lines)), texts


def inkreader_reader(beam: bool):
    """``read(path) -> text`` with the shipped model, greedy or the default decoding."""
    rec = Recognizer.load(None, backend="auto", decoding=DecodingOptions() if beam else GREEDY)

    def read(path: Path) -> str:
        result = rec.read_paths([path])[0]
        return result.text if result.ok else ""

    return read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tsv", type=Path, default=HOOKER)
    parser.add_argument("--split", default="test")
    parser.add_argument("--lines", type=int, default=None)
    parser.add_argument("--write-doc", type=Path, default=None)
    args = parser.parse_args(argv)
    if shutil.which("tesseract") is None:
        parser.error("tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng)")

    lines = split_lines(args.tsv, args.split, args.lines)
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True,
                             check=False).stdout.splitlines()[0]
    rows = []
    for name, fn in (("inkreader, shipped model, greedy (the reference decoding)",
                      lambda: score(lines, inkreader_reader(beam=False))),
                     ((f"inkreader, shipped model, default decoding (beam "
                      f"{DecodingOptions().beam_width} + character 6-gram LM + word list)"),
                      lambda: score(lines, inkreader_reader(beam=True))),
                     (f"{version} (LSTM, --psm 7, eng)", lambda: score(lines, tesseract_read))):
        rates, seconds, texts = fn()
        print(f"{name}: CER {100 * rates.cer:.2f} %, WER {100 * rates.wer:.2f} %, "
              f"{1000 * seconds:.1f} ms/line", flush=True)
        rows.append((name, rates, seconds, texts))

    table = ["| engine | CER % | WER % | ms / line |", "|---|---|---|---|"]
    table += [f"| {n} | {100 * r.cer:.2f} | {100 * r.wer:.2f} | {1000 * s:.1f} |"
              for n, r, s, _ in rows]
    examples = ["| label | " + " | ".join(("inkreader greedy", "inkreader beam+LM", "Tesseract"))
                + " |", "|---|---|---|---|"]
    for i in range(min(5, len(lines))):
        cells = [lines[i][1]] + [texts[i] for *_, texts in rows]
        examples.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    report = "\n".join(table) + "\n\nThe first lines of the split:\n\n" + "\n".join(examples)
    print(report)
    if args.write_doc:
        args.write_doc.write_text(
            "# inkreader and Tesseract on the same handwriting lines\n\n"
            f"{__doc__.split(chr(10) + chr(10), 1)[1].split('``--lines')[0].strip()}\n\n"
            f"{len(lines)} lines of the Hooker `{args.split}` split, "
            f"{datetime.date.today().isoformat()}, {machine()}, Python {platform.python_version()}."
            f"\n\n{report}\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
