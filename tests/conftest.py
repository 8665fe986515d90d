"""Shared fixtures: paths to ../shared data, small TSVs of real Hooker lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()
HOOKER_TSV = SHARED / "data" / "hooker" / "lines.tsv"
SAMPLE_LINE = SHARED / "data" / "gnhk" / "sample_line.jpg"

# Tests run beside other work on 2 cores: one torch thread keeps them predictable.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


def hooker_subset(tmp: Path, split: str, n: int, max_chars: int = 40) -> Path:
    """A TSV of the first ``n`` short Hooker lines of ``split`` with absolute image paths."""
    rows = HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]
    picked = []
    for row in rows:
        file, sp, _page, text = row.split("\t")
        if sp == split and 3 <= len(text) <= max_chars:
            picked.append(f"{HOOKER_TSV.parent / file}\t{text}")
        if len(picked) == n:
            break
    out = tmp / f"{split}-{n}.tsv"
    out.write_text("file\ttext\n" + "\n".join(picked) + "\n", encoding="utf-8")
    return out


@pytest.fixture
def tiny_tsvs(tmp_path: Path) -> tuple[Path, Path]:
    return hooker_subset(tmp_path, "train", 24), hooker_subset(tmp_path, "val", 6)
