"""inkreader evaluate: counts, report format, and the metric recomputed from the report with
an independent Levenshtein (whatever the model reads, the sums must agree), beam options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.decode.options import GREEDY, DecodingOptions
from inkreader.errors import DatasetError
from inkreader.evaluation.evaluate import Evaluation, LineRecord, read_report, write_report
from inkreader.runtime.recognizer import Recognizer
from inkreader.train.config import DataSource
from inkreader.train.data import load_source

from ..conftest import HOOKER_TSV, SHARED, hooker_subset

PAGES = SHARED / "data" / "hooker" / "test_pages"


def levenshtein(a, b) -> int:
    """Plain dynamic programming over two sequences (characters or words)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i]
        for j, y in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def read_tsv_report(path: Path) -> list[dict]:
    lines = path.read_text(encoding="utf-8").split("\n")
    header = lines[0].split("\t")
    assert header == ["id", "label", "prediction", "distance", "error"]
    return [dict(zip(header, ln.split("\t"), strict=True)) for ln in lines[1:] if ln]


def run_json(args: list[str], capsys) -> tuple[int, dict, str]:
    rc = main(["evaluate", *args, "--backend", "torch", "--json"])
    out, err = capsys.readouterr()
    return rc, json.loads(out), err


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """12 real Hooker lines, plus a missing and a corrupt image."""
    tsv = hooker_subset(tmp_path, "test", 12)
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG at all")
    with open(tsv, "a", encoding="utf-8") as f:
        f.write(f"{tmp_path / 'missing.jpg'}\tlost line\n")
        f.write(f"{tmp_path / 'corrupt.jpg'}\t broken  one \n")
    return tsv


def test_report_recomputes_to_the_summary(dataset, tmp_path, capsys):
    report = tmp_path / "report.tsv"
    rc, s, err = run_json([str(dataset), "--report", str(report)], capsys)
    assert rc == 1  # some lines could not be read
    assert "missing.jpg" in err and "corrupt.jpg" in err
    rows = read_tsv_report(report)
    assert len(rows) == s["lines"] == 14
    char_errors = sum(levenshtein(r["prediction"], r["label"]) for r in rows)
    chars = sum(len(r["label"]) for r in rows)
    word_errors = sum(levenshtein(r["prediction"].split(), r["label"].split()) for r in rows)
    words = sum(len(r["label"].split()) for r in rows)
    assert [int(r["distance"]) for r in rows] == [
        levenshtein(r["prediction"], r["label"]) for r in rows]
    assert (s["chars"], s["char_errors"], s["words"], s["word_errors"]) == (
        chars, char_errors, words, word_errors)
    assert s["accuracy"] == 1 - char_errors / chars and s["cer"] == char_errors / chars
    assert s["wer"] == word_errors / words
    nocase = sum(levenshtein(r["prediction"].lower(), r["label"].lower()) for r in rows)
    assert s["cer_nocase"] == nocase / chars
    # unreadable lines: counted, an empty prediction, the whole (stripped) label wrong
    bad = {r["label"]: r for r in rows if r["error"]}
    assert set(bad) == {"lost line", "broken  one"} and s["unreadable"] == 2
    assert all(r["prediction"] == "" and int(r["distance"]) == len(r["label"])
               for r in bad.values())
    assert "missing.jpg" in bad["lost line"]["error"]


def test_predictions_stay_with_their_lines(tmp_path, capsys):
    tsv = hooker_subset(tmp_path, "test", 10)
    report = tmp_path / "r.jsonl"
    rc, s, _ = run_json([str(tsv), "--report", str(report)], capsys)
    assert rc == 0 and s["lines"] == 10 and s["unreadable"] == 0
    rows = [json.loads(x) for x in report.read_text(encoding="utf-8").splitlines()]
    paths = [row.split("\t")[0] for row in tsv.read_text(encoding="utf-8").splitlines()[1:]]
    direct = Recognizer.load(backend="torch", threads=1).read_paths(paths)
    assert [r["prediction"] for r in rows] == [d.text for d in direct]
    assert [r["id"] for r in rows] == paths and all(r["error"] is None for r in rows)


def test_the_default_is_the_beam_with_the_lm_and_greedy_is_asked_for(tmp_path, capsys):
    tsv = hooker_subset(tmp_path, "val", 10)
    paths = [row.split("\t")[0] for row in tsv.read_text(encoding="utf-8").splitlines()[1:]]
    predictions = {}
    for name, flags in (("default", []), ("greedy", ["--greedy"])):
        report = tmp_path / f"{name}.jsonl"
        rc, s, _ = run_json([str(tsv), *flags, "--report", str(report)], capsys)
        assert rc == 0 and s["lines"] == 10
        predictions[name] = [json.loads(x)["prediction"]
                             for x in report.read_text(encoding="utf-8").splitlines()]
    for name, options in (("default", DecodingOptions()), ("greedy", GREEDY)):
        rec = Recognizer.load(backend="torch", threads=1, decoding=options)
        assert predictions[name] == [r.text for r in rec.read_paths(paths)]
    assert predictions["default"] != predictions["greedy"]  # the LM really changed the reading
    assert main(["evaluate", str(tsv), "--beam-width", "0"]) == 2
    assert "beam-width must be at least 1" in capsys.readouterr().err


def test_fixed_width_excludes_as_the_reference(tmp_path, capsys):
    lines = tmp_path / "lines"
    lines.mkdir()
    cv2.imwrite(str(lines / "ok.jpg"), np.full((48, 1000), 255, np.uint8))  # exactly 2000
    cv2.imwrite(str(lines / "wide.jpg"), np.full((48, 1001), 255, np.uint8))  # 2002
    gt = lines / "test_img_id_gt.txt"
    gt.write_text("ok.jpg,fits, just\nwide.jpg,too wide\n", encoding="utf-8")
    rc, s, _ = run_json([str(gt), "--fixed-width"], capsys)
    assert rc == 0 and (s["lines"], s["excluded"], s["chars"]) == (1, 1, len("fits, just"))
    rc, s, _ = run_json([str(gt)], capsys)  # variable width: every line is read
    assert (s["lines"], s["excluded"]) == (2, 0)


def test_page_folder_and_report_refusal(tmp_path, capsys):
    folder = tmp_path / "pages"
    folder.mkdir()
    for suffix in (".xml", ".jpg"):
        shutil.copy(PAGES / f"JDH_2_16_145_001{suffix}", folder)
    report = tmp_path / "r.tsv"
    rc, s, _ = run_json([str(folder), "--report", str(report)], capsys)
    rows = read_tsv_report(report)
    assert rc == 0 and s["lines"] == len(rows) > 5
    assert rows[0]["id"] == "JDH_2_16_145_001__r2l1" and rows[0]["label"] == "[145]"
    assert main(["evaluate", str(folder), "--report", str(report)]) == 2
    assert "never overwritten" in capsys.readouterr().err


def test_text_summary(tmp_path, capsys):
    tsv = hooker_subset(tmp_path, "test", 3)
    assert main(["evaluate", str(tsv), "--backend", "torch"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "CER" in out and "WER" in out and "lines 3" in out


def test_holdout_reads_the_lines_a_training_run_validated_on(tmp_path, capsys):
    """--holdout F scores exactly the lines a config's [val] holdout = F validates on (the
    trainer's loader, another code path), and refuses a fraction outside (0, 1)."""
    rows, per_page = [], {}
    for row in HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]:
        file, split, page, text = row.split("\t")
        if split == "val" and len(text) <= 30 and per_page.get(page, 0) < 2:
            per_page[page] = per_page.get(page, 0) + 1
            rows.append(f"{HOOKER_TSV.parent / file}\t{page}\t{text}")
    tsv = tmp_path / "val.tsv"
    tsv.write_text("file\tpage\ttext\n" + "\n".join(rows) + "\n", encoding="utf-8")
    report = tmp_path / "held.tsv"
    rc, s, _ = run_json([str(tsv), "--holdout", "0.35", "--report", str(report)], capsys)
    held = load_source(DataSource(str(tsv), holdout=0.35), Charset.gnhk(), 96, 1600,
                       show_progress=False, held_out=True)
    ids = [r["id"] for r in read_tsv_report(report)]
    assert rc == 0 and ids == held.ids and 0 < s["lines"] < len(rows)
    assert main(["evaluate", str(tsv), "--holdout", "1.5"]) == 2
    assert "--holdout must be a fraction between 0 and 1" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl"])
def test_read_report_reads_what_write_report_wrote(tmp_path, suffix):
    records = [LineRecord("a.jpg", "Dear Sir", "Dear Sin", 1),
               LineRecord("b.jpg", "lost line", "", 9, error="b.jpg: file not found")]
    path = tmp_path / f"r{suffix}"
    write_report(Evaluation(records=records), path)
    rows = read_report(path)
    assert [(r["id"], r["label"], r["prediction"], r["distance"]) for r in rows] == [
        ("a.jpg", "Dear Sir", "Dear Sin", 1), ("b.jpg", "lost line", "", 9)]
    assert rows[1]["error"] == "b.jpg: file not found"


def test_read_report_names_a_file_that_is_not_one(tmp_path):
    notes = tmp_path / "notes.tsv"
    notes.write_text("a\tb\n1\t2\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="notes.tsv: not an `inkreader evaluate --report`"):
        read_report(notes)
    with pytest.raises(DatasetError, match="gone.jsonl: No such file"):
        read_report(tmp_path / "gone.jsonl")


def test_several_sets_in_one_call_and_their_mean(tmp_path, capsys):
    a, b = hooker_subset(tmp_path, "val", 3), hooker_subset(tmp_path, "test", 2)
    assert main(["evaluate", str(a), "--backend", "torch", "--json"]) == 0
    cer_a = json.loads(capsys.readouterr().out)["cer"]
    assert main(["evaluate", str(b), "--backend", "torch", "--json"]) == 0
    cer_b = json.loads(capsys.readouterr().out)["cer"]
    assert main(["evaluate", str(a), str(b), "--backend", "torch", "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert both["sets"][str(a)]["cer"] == cer_a and both["sets"][str(b)]["cer"] == cer_b
    assert both["mean_cer"] == pytest.approx((cer_a + cer_b) / 2)
    assert main(["evaluate", str(a), str(b), "--backend", "torch"]) == 0
    out = capsys.readouterr().out
    assert f"== {a}" in out and f"== {b}" in out and "mean CER of 2 sets" in out
    assert main(["evaluate", str(a), str(b), "--report", str(tmp_path / "r.tsv")]) != 0
    assert "one dataset" in capsys.readouterr().err
