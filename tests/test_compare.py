"""bench/paired.py: the paired bootstrap that compares two models' reports line by line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PAIRED = Path(__file__).resolve().parents[1] / "bench" / "paired.py"


def write_report(path: Path, distances: list[int]) -> Path:
    rows = ["id\tlabel\tprediction\tdistance\terror"]
    rows += [f"line{i}.jpg\tten chars!\tx\t{d}\t" for i, d in enumerate(distances)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PAIRED), *map(str, args), "--resamples", "2000"],
                          capture_output=True, text=True, timeout=120)


def test_a_clearly_better_model_has_an_interval_below_zero(tmp_path):
    # 200 lines of 10 characters: A makes 3 errors a line, B 1 on most lines
    a = write_report(tmp_path / "a.tsv", [3] * 200)
    b = write_report(tmp_path / "b.tsv", [1] * 180 + [4] * 20)
    out = run(a, b)
    assert out.returncode == 0, out.stderr
    assert "CER A 30.00 %  B 13.00 %" in out.stdout
    assert "B - A: -17.00 points" in out.stdout
    lo, hi = (float(x) for x in out.stdout.split("interval [")[1].split("]")[0].split(", "))
    assert -20 < lo < hi < -14
    assert "better / worse / same: 180 / 20 / 0" in out.stdout


def test_equal_models_have_an_interval_around_zero(tmp_path):
    rng_like = [(i * 7) % 5 for i in range(300)]
    a = write_report(tmp_path / "a.tsv", rng_like)
    b = write_report(tmp_path / "b.tsv", rng_like[1:] + rng_like[:1])  # same errors, shuffled
    out = run(a, b)
    assert out.returncode == 0, out.stderr
    lo, hi = (float(x) for x in out.stdout.split("interval [")[1].split("]")[0].split(", "))
    assert lo < 0 < hi


def test_reports_of_different_lines_are_refused(tmp_path):
    a = write_report(tmp_path / "a.tsv", [1] * 10)
    b = write_report(tmp_path / "b.tsv", [1] * 11)
    out = run(a, b)
    assert out.returncode == 1
    assert "not reports of the same lines (1 ids in only one of them)" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_file_that_is_not_a_report_is_named(tmp_path):
    a = write_report(tmp_path / "a.tsv", [1] * 10)
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n", encoding="utf-8")
    out = run(a, bad)
    assert out.returncode == 1
    assert f"{bad}: not an `inkreader evaluate --report` file" in out.stderr
    missing = run(a, tmp_path / "missing.tsv")
    assert "missing.tsv: No such file or directory" in missing.stderr
