"""Every ``inkreader`` command once: its happy path on tiny real data (../shared, the shipped
model, the smallest settings) and one bad input, which must end with exit status 2 and one
``inkreader COMMAND: error:`` line naming the file or option and the problem, no traceback.
(``read`` and ``info`` have their own files here; deeper tests of each command live beside
its package.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from inkreader.cli import COMMANDS, main
from inkreader.paths import resolve_model_path
from inkreader.train.config import dump_config

from ..conftest import HOOKER_TSV, ROOT, SAMPLE_LINE, SHARED, hooker_subset
from ..fakegnhk import make_pages
from ..train.test_train import tiny_config

PAGES = SHARED / "data" / "hooker" / "test_pages"
PAGE = PAGES / "JDH_2_16_72_007.jpg"  # three written lines
IAM = SHARED / "data" / "iam-ondb"
COVERED_ELSEWHERE_HERE = {"read", "info"}  # tests/cli/test_read.py, tests/cli/test_info.py


def _failed(capsys, command: str, *words: str) -> None:
    """The last call printed one error line of ``command`` holding ``words``."""
    err = capsys.readouterr().err
    assert f"inkreader {command}: error:" in err, err
    assert all(w in err for w in words), err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def val_tsv(tmp_path_factory) -> Path:
    return hooker_subset(tmp_path_factory.mktemp("val"), "val", 3)


@pytest.fixture(scope="module")
def report(tmp_path_factory, val_tsv) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.tsv"
    assert main(["evaluate", str(val_tsv), "--greedy", "--report", str(out)]) == 0
    return out


def test_every_command_is_tested_here():
    tested = {name.removeprefix("test_").replace("_", "-")
              for name in globals() if name.startswith("test_")}
    assert set(COMMANDS) - COVERED_ELSEWHERE_HERE <= tested


def test_read_page(tmp_path, capsys):
    assert main(["read-page", str(PAGE), "--greedy", "--format", "json"]) == 0
    page = json.loads(capsys.readouterr().out)
    assert page["image"] == str(PAGE) and len(page["lines"]) >= 3 and page["error"] is None
    assert set(page["lines"][0]) == {"id", "block", "polygon", "baseline", "text",
                                     "confidence", "chars", "error"}
    assert main(["read-page", str(PAGE), str(PAGE), "--format", "pagexml"]) == 2
    _failed(capsys, "read-page", "pagexml of several pages needs --out-dir")


def test_batch(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    shutil.copy(SAMPLE_LINE, tmp_path / "src")
    store = tmp_path / "s.store"
    args = ["batch", str(tmp_path / "src"), "--out", str(store), "--greedy", "--workers", "1",
            "--no-progress"]
    assert main(args) == 0
    (record,) = [json.loads(x) for x in next(store.glob("part-*.jsonl")).read_text().splitlines()]
    assert record["kind"] == "line" and record["status"] == "ok" and record["text"]
    assert main(["batch", str(tmp_path / "gone"), "--out", str(store), "--greedy"]) == 2
    _failed(capsys, "batch", "gone: no such file or folder")


def test_evaluate(tmp_path, capsys, val_tsv, report):
    assert main(["evaluate", str(val_tsv), "--greedy", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["lines"] == 3 and 0 <= figures["cer"] < 1
    assert main(["evaluate", str(val_tsv), "--report", str(report)]) == 2
    _failed(capsys, "evaluate", f"{report}: report file exists")


def test_compare(tmp_path, capsys, report):
    assert main(["compare", str(report), str(report), "--resamples", "200"]) == 0
    assert "B - A: +0.00 points" in capsys.readouterr().out
    assert main(["compare", str(report), str(tmp_path / "missing.tsv")]) == 2
    _failed(capsys, "compare", "missing.tsv")


def test_errors(tmp_path, capsys, report):
    assert main(["errors", str(report)]) == 0
    assert "label characters" in capsys.readouterr().out
    bad = tmp_path / "bad.tsv"
    bad.write_text("not\ta report\n", encoding="utf-8")
    assert main(["errors", str(bad)]) == 2
    _failed(capsys, "errors", f"{bad}: not an `inkreader evaluate --report` file")


def test_prepare_gnhk(tmp_path, capsys):
    make_pages(tmp_path / "pages" / "test", count=1, seed=2, special=False)
    assert main(["prepare-gnhk", str(tmp_path / "pages"), str(tmp_path / "lines"),
                 "--split", "test"]) == 0
    assert (tmp_path / "lines" / "test_img_id_gt.txt").read_text().count("\n") >= 1
    assert main(["prepare-gnhk", str(tmp_path / "nowhere"), str(tmp_path / "l2")]) == 2
    _failed(capsys, "prepare-gnhk", "nowhere")


def test_corpus(tmp_path, capsys):
    root = tmp_path / "pages" / "JDH_2_16_72"
    root.mkdir(parents=True)
    for suffix in (".xml", ".jpg"):
        shutil.copy(PAGE.with_suffix(suffix), root)
    assert main(["corpus", str(tmp_path / "pages"), "--out", str(tmp_path / "out"),
                 "--workers", "1"]) == 0
    assert "lines: train" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nrepo = "a/b"\ncommit = "abc"\n', encoding="utf-8")
    assert main(["corpus", str(bad), "--out", str(tmp_path / "o2")]) == 2
    _failed(capsys, "corpus", "full 40-digit hash")


def test_synth(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "out"), "--count", "2", "--workers", "1",
                 "--gnhk-words", str(SHARED / "data" / "gnhk" / "train_words.csv"),
                 "--lines-tsv", str(HOOKER_TSV)]) == 0
    assert len(list((tmp_path / "out" / "lines").glob("*.jpg"))) == 2
    assert main(["synth", str(tmp_path / "out"), "--count", "2"]) == 2  # never overwritten
    _failed(capsys, "synth", f"{tmp_path / 'out'}: folder is not empty")


def test_stitch(tmp_path, capsys):
    src = hooker_subset(tmp_path, "train", 4)
    # one page, as the stitcher cuts words of lines of one hand
    rows = src.read_text(encoding="utf-8").splitlines()
    src.write_text("file\ttext\tpage\n" + "".join(f"{r}\tp\n" for r in rows[1:]),
                   encoding="utf-8")
    assert main(["stitch", str(tmp_path / "out"), "--count", "2", "--from", str(src),
                 "--max-cer", "1.0"]) == 0
    assert (tmp_path / "out" / "lines.tsv").read_text().count("\n") == 3  # header + 2
    assert main(["stitch", str(tmp_path / "o2"), "--count", "1", "--from", str(HOOKER_TSV)]) == 2
    _failed(capsys, "stitch", "test")


def test_strokes(tmp_path, capsys):
    assert main(["strokes", str(IAM), "--out", str(tmp_path / "out"), "--limit", "2"]) == 0
    assert len(list((tmp_path / "out").rglob("*.png"))) == 2
    assert main(["strokes", str(tmp_path), "--out", str(tmp_path / "o2")]) == 2
    _failed(capsys, "strokes", str(tmp_path))


def test_train(tmp_path, capsys):
    train, val = hooker_subset(tmp_path, "train", 8), hooker_subset(tmp_path, "val", 2)
    config = tmp_path / "c.toml"
    config.write_text(dump_config(tiny_config(train, val, tmp_path / "run")), encoding="utf-8")
    assert main(["train", "--config", str(config), "--max-steps", "1"]) == 0
    assert (tmp_path / "run" / "last.pt").is_file()
    config.write_text(dump_config(tiny_config(tmp_path / "nowhere.tsv", val, tmp_path / "r2")),
                      encoding="utf-8")
    assert main(["train", "--config", str(config), "--max-steps", "1"]) == 2
    _failed(capsys, "train", "nowhere.tsv: no such dataset")


def test_export(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", "--format", "onnx", "--out", str(out),
                 "--check-images", str(SAMPLE_LINE)]) == 0
    assert out.is_file() and "model" in capsys.readouterr().out
    assert main(["export", "--format", "onnx", "--out", str(out)]) == 2  # never overwritten
    _failed(capsys, "export", str(out))


def test_average(tmp_path, capsys):
    shipped = resolve_model_path(None)
    out = tmp_path / "avg.pt"
    assert main(["average", str(shipped), str(shipped), "--out", str(out)]) == 0
    assert out.is_file()
    assert main(["average", str(shipped), "--out", str(tmp_path / "avg.onnx")]) == 2
    _failed(capsys, "average", "avg.onnx: the averaged model is a .pt checkpoint")


def test_tune_scale(tmp_path, capsys, val_tsv):
    out = tmp_path / "scaled.pt"
    assert main(["tune-scale", str(resolve_model_path(None)), str(val_tsv), "--scales", "1.0",
                 "--out", str(out)]) == 0
    assert "x_scale 1 ->" in capsys.readouterr().out and out.is_file()
    assert main(["tune-scale", str(tmp_path / "m.onnx"), str(val_tsv), "--out",
                 str(tmp_path / "x.pt")]) == 2
    _failed(capsys, "tune-scale", "m.onnx: tune-scale writes a .pt checkpoint")


def test_lm(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 5, encoding="utf-8")
    out = tmp_path / "lm.arpa"
    assert main(["lm", "build", str(text), "--order", "3", "--out", str(out)]) == 0
    assert "\\data\\" in out.read_text()[:200]
    assert main(["lm", "build", str(tmp_path / "none.txt"), "--out", str(tmp_path / "x")]) == 2
    _failed(capsys, "lm", "none.txt")


def test_serve(tmp_path, capsys):
    assert main(["serve", "--workers", "0"]) == 2
    _failed(capsys, "serve", "--workers must be positive")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "inkreader.cli", "serve", "--port",
                             str(port), "--greedy"], cwd=ROOT, stderr=subprocess.PIPE,
                            text=True)
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/health", proc)
        assert health["status"] == "ok" and health["decoding"]["decoder"] == "greedy"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + 15 and "interrupted (SIGTERM)" in err


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 120.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return json.loads(answer.read())
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url}: no answer in {seconds:g} s")
