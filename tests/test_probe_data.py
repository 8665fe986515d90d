"""scripts/probe_more_data.py: the data probe's line lists (configs/probe-more-data*.toml) split
the val letters in two, add one half to the train lines, and never take a test line."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from .conftest import HOOKER_TSV, ROOT


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_the_halves_split_the_val_letters_and_no_test_line_is_taken(tmp_path):
    out = tmp_path / "probe"
    run = [sys.executable, "scripts/probe_more_data.py", str(out)]
    subprocess.run(run, cwd=ROOT, check=True, capture_output=True)
    shared = {(Path(r["file"]).name, r["text"]): r["split"] for r in rows(HOOKER_TSV)}
    key = lambda r: (Path(r["file"]).name, r["text"])  # noqa: E731
    half_a, half_b = rows(out / "valA.tsv"), rows(out / "valB.tsv")
    assert {shared[key(r)] for r in half_a + half_b} == {"val"}
    assert len(half_a) + len(half_b) == list(shared.values()).count("val")
    letters = [{"_".join(Path(r["file"]).stem.split("_")[:4]) for r in h} for h in (half_a, half_b)]
    assert letters[0] and letters[1] and not letters[0] & letters[1]
    for half, other in ((half_a, "A"), (half_b, "B")):
        train = rows(out / f"train-plus-val{other}.tsv")
        assert {r["split"] for r in train} == {"train"}
        origins = [shared[key(r)] for r in train]  # quotes in labels survive: keys still match
        assert "test" not in origins
        assert origins.count("val") == len(half)
        assert origins.count("train") == list(shared.values()).count("train")
        assert all(Path(r["file"]).is_absolute() and Path(r["file"]).exists() for r in train[:5])
    # an existing folder is refused: nothing the user has is overwritten
    again = subprocess.run(run, cwd=ROOT, capture_output=True, text=True)
    assert again.returncode != 0 and "already exists" in again.stderr
