"""``inkreader read`` end to end: output forms, the same JSON text on every backend, broken files
reported by name while the good ones are read, the reference demo's options."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys

import pytest

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.model import save_checkpoint

from ..conftest import SAMPLE_LINE, SHARED
from ..test_model import busy_model

HOOKER = sorted((SHARED / "data" / "hooker" / "lines").glob("*.jpg"))[:4]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "busy.pt"
    save_checkpoint(path, busy_model(), Charset.gnhk())
    return str(path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("lines")
    for p in [SAMPLE_LINE, *HOOKER]:
        shutil.copy(p, out / p.name)
    return out


def read(capsys, *argv) -> tuple[int, str, str]:
    code = main(["read", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_one_image_prints_its_text_alone(capsys, model):
    code, out, err = read(capsys, SAMPLE_LINE, "-m", model, "--backend", "torch")
    assert code == 0 and err == ""
    assert len(out.splitlines()) == 1 and "\t" not in out and len(out.strip()) > 3


def test_json_text_is_the_same_on_every_backend(capsys, model, folder):
    texts = {}
    for backend in ("torch", "onnx", "openvino"):
        code, out, _ = read(capsys, folder, "-m", model, "--backend", backend, "--json")
        rows = [json.loads(line) for line in out.splitlines()]
        assert code == 0 and len(rows) == 5
        assert [r["image"] for r in rows] == sorted(str(p) for p in folder.iterdir())
        assert all(r["error"] is None and 0 <= r["confidence"] <= 1 for r in rows)
        assert all({"char", "confidence", "x0", "x1"} <= set(r["chars"][0]) for r in rows)
        texts[backend] = [r["text"] for r in rows]
    assert texts["torch"] == texts["onnx"] == texts["openvino"]


def test_broken_files_are_named_and_the_good_ones_read(capsys, model, folder, tmp_path):
    shutil.copytree(folder, tmp_path / "mixed")
    (tmp_path / "mixed" / "zero.jpg").write_bytes(b"")
    (tmp_path / "mixed" / "notes.png").write_text("not an image")
    (tmp_path / "empty").mkdir()
    code, out, err = read(capsys, tmp_path / "mixed", tmp_path / "empty", tmp_path / "gone.jpg",
                          "-m", model, "--backend", "onnx")
    assert code == 1
    good = [line.split("\t") for line in out.splitlines()]
    assert len(good) == 5 and all(len(g) == 2 and g[1] for g in good)
    for name, problem in [("zero.jpg", "empty file"), ("notes.png", "not an image"),
                          ("empty", "no image files"), ("gone.jpg", "no such file")]:
        assert any(name in line and problem in line and line.startswith("inkreader read: error")
                   for line in err.splitlines()), name


def test_iterations_report_latency(capsys, model):
    code, out, err = read(capsys, SAMPLE_LINE, "-m", model, "--backend", "onnx",
                          "--fixed-width", "-ni", "3")
    assert code == 0 and out.strip()
    assert "Average latency:" in err and "over 3 iterations (3 requests" in err


def test_designated_characters(capsys, model, tmp_path):
    allowed = tmp_path / "digits.txt"
    allowed.write_text("\n".join("0123456789") + "\n", encoding="utf-8")
    code, out, _ = read(capsys, SAMPLE_LINE, "-m", model, "--backend", "torch",
                        "-dc", allowed, "-tk", "95")  # top-95: every class is a candidate
    assert code == 0 and out.strip() and set(out.strip()) <= set("0123456789")


def test_charlist_mismatch_and_missing_model_are_clear_errors(capsys, model, tmp_path):
    charlist = tmp_path / "abc.txt"
    charlist.write_text("a\nb\nc\n", encoding="utf-8")
    code, out, err = read(capsys, SAMPLE_LINE, "-m", model, "-cl", charlist)
    assert code == 2 and out == ""
    assert f"charlist {charlist} has 3 symbols, 4 classes" in err and "95 classes" in err
    code, _, err = read(capsys, SAMPLE_LINE, "-m", tmp_path / "nope.pt")
    assert code == 2 and "nope.pt: model file not found" in err


def test_a_reader_that_leaves_early_stops_it_quietly(model, folder):
    """`inkreader read FOLDER | head -0`: the pipe's reader is gone before the first line is
    written; the command stops with SIGPIPE's status and no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "inkreader.cli", "read", str(folder), "-m",
                             model, "--backend", "torch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # long before the lines are read
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 128 + signal.SIGPIPE
    assert "Traceback" not in err and "BrokenPipeError" not in err
