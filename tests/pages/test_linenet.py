"""The learned line finder: its target, its bands -> ridges step, the shipped weights on real
Hooker pages against the classical finder, the fallback without weights, and training."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inkreader.data.pagexml import read_page_xml
from inkreader.pages import linenet, linenet_train, segment
from inkreader.preprocess import read_gray

from ..conftest import SHARED

PAGES = SHARED / "data" / "hooker" / "test_pages"
# Pages where the blurred-ink ridges merge neighbouring lines (words written between lines,
# a crowded letter): the learned bands keep them apart.
CROWDED = ["JDH_2_16_68_004", "JDH_2_16_72_005"]


def matched(truth, found, level=0.5) -> int:
    """Ground-truth polygons with a detected polygon at IoU >= level (one-to-one, greedy)."""
    pairs = []
    for i, t in enumerate(truth):
        for j, f in enumerate(found):
            pts = np.concatenate([np.int32(t), np.int32(f)])
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            a = np.zeros((hi[1] - lo[1] + 1, hi[0] - lo[0] + 1), np.uint8)
            b = a.copy()
            cv2.fillPoly(a, [np.int32(t) - lo], 1)
            cv2.fillPoly(b, [np.int32(f) - lo], 1)
            iou = np.count_nonzero(a & b) / max(1, np.count_nonzero(a | b))
            if iou >= level:
                pairs.append((iou, i, j))
    used_t, used_f = set(), set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
    return len(used_t)


def truth_and_page(name):
    samples = read_page_xml(PAGES / f"{name}.xml")
    return [s.polygon for s in samples], read_gray(samples[0].path)


@pytest.fixture
def classical(monkeypatch):
    def run(gray):
        monkeypatch.setattr(segment, "METHOD", "classical")
        try:
            return [ln.polygon for ln in segment.find_lines(gray)]
        finally:
            monkeypatch.setattr(segment, "METHOD", "net")
    return run


def test_the_weights_are_shipped_and_small():
    net = linenet.load()
    assert net is not None, f"{linenet.WEIGHTS} is missing"
    assert linenet.WEIGHTS.stat().st_size < 200_000
    assert sum(p.numel() for p in net.parameters()) < 30_000


@pytest.mark.parametrize("name", CROWDED)
def test_the_net_finds_lines_the_blurred_ink_merges(name, classical):
    truth, gray = truth_and_page(name)
    found = [ln.polygon for ln in segment.find_lines(gray)]
    ours, before = matched(truth, found), matched(truth, classical(gray))
    assert ours >= 0.7 * len(truth), (ours, len(truth))
    assert ours > before, (ours, before)
    assert len(found) <= 1.15 * len(truth)  # not by cutting the page into pieces


def test_gold_baseline_bands_become_one_ridge_per_line():
    """The target drawn from a page's gold baselines, read back by the same step that reads
    the net's output: one ridge per baseline, on its line (within a third of a spacing)."""
    planes, target = linenet_train.page_example(PAGES / "JDH_2_16_72_007.xml")
    spacing = linenet.PITCH  # read at the input's scale: 1 output px = 2 input px
    ridges = linenet.ridges_from_bands(target.astype(np.float32), 2.0, spacing)
    bands = cv2.connectedComponents(target, connectivity=8)[0] - 1
    assert len(ridges) == bands >= 3
    centres = sorted(float(r.ys.mean()) for r in ridges)
    assert all(b - a > 0.6 * spacing for a, b in zip(centres, centres[1:], strict=False))
    ys, _ = np.nonzero(target)
    assert min(centres) >= 2 * ys.min() - 1 and max(centres) <= 2 * ys.max() + 2


def test_without_weights_the_classical_finder_is_used(monkeypatch, classical):
    _, gray = truth_and_page("JDH_2_16_72_007")
    expected = classical(gray)
    monkeypatch.setattr(linenet, "load", lambda *a: None)
    assert [ln.polygon for ln in segment.find_lines(gray)] == expected


def test_missing_weights_file_loads_as_none(tmp_path):
    assert linenet.load.__wrapped__(tmp_path / "none.pt") is None


def test_training_is_deterministic_and_changes_the_weights():
    import torch

    example = linenet_train.page_example(PAGES / "JDH_2_16_72_007.xml")
    torch.manual_seed(3)  # what train() starts from with seed 3
    start = linenet.new_net().state_dict()
    threads = torch.get_num_threads()
    nets = [linenet_train.train([example], steps=3, batch=2, seed=3, lr=1e-2)
            for _ in range(2)]
    assert torch.get_num_threads() == threads  # the process's settings are given back
    a, b = (n.state_dict() for n in nets)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], start[k]) for k in a)


def test_training_command_names_a_missing_folder(tmp_path, capsys):
    assert linenet_train.main(["--pages", str(tmp_path / "nope"), "--out",
                               str(tmp_path / "w.pt")]) == 2
    assert "nope: no such folder" in capsys.readouterr().err
