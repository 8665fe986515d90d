"""A line's text does not depend on the lines read with it: real Hooker lines read alone, in
one batch, in reversed order and beside other neighbours give the same text on every backend
(issue 47). The Recognizer sorts lines by width and cuts batches of at most ``batch_size``, so
each arrangement below puts a line beside different neighbours or none."""

from __future__ import annotations

import pytest

from inkreader.decode.options import GREEDY
from inkreader.runtime.recognizer import Recognizer

from ..conftest import HOOKER_TSV

# Backends as a user picks them: OpenVINO also as it runs by default ("auto" precision: bf16
# on CPUs with native bf16, else f32; ``Backend.precision`` says which this CPU ran).
BACKENDS = [("torch", None), ("onnx", None), ("openvino", "f32"), ("openvino", "bf16")]


def _test_lines(n: int, skip: int = 0) -> list:
    rows = [r.split("\t") for r in HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]]
    return [HOOKER_TSV.parent / r[0] for r in rows if r[1] == "test"][skip:skip + n]


LINES = _test_lines(10)  # greedy read of these differed alone and batched before issue 47
OTHERS = _test_lines(6, skip=40)


@pytest.mark.parametrize(("backend", "precision"), BACKENDS,
                         ids=[f"{b}-{p}" if p else b for b, p in BACKENDS])
def test_a_line_reads_the_same_alone_and_beside_any_neighbours(backend, precision):
    rec = Recognizer.load(None, backend=backend, precision=precision, decoding=GREEDY,
                          threads=1, batch_size=16)
    alone = [rec.read_paths([p])[0].text for p in LINES]
    assert len(set(alone)) == len(LINES) and all(alone)  # real lines read, not one constant
    together = [r.text for r in rec.read_paths(LINES)]
    reversed_ = [r.text for r in rec.read_paths(LINES[::-1])][::-1]
    mixed = [r.text for r in rec.read_paths(OTHERS[:3] + LINES + OTHERS[3:])][3:-3]
    rec.batch_size = 3  # other cuts: each line among two others, or fewer
    threes = [r.text for r in rec.read_paths(LINES)]
    for name, texts in [("one batch", together), ("reversed", reversed_),
                        ("other neighbours", mixed), ("batches of 3", threes)]:
        diff = [(p.name, a, t) for p, a, t in zip(LINES, alone, texts, strict=True) if a != t]
        assert not diff, f"{backend} {rec.backend.precision}, {name}: {diff}"
