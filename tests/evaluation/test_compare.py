"""inkreader.evaluation.compare and `inkreader compare`: the paired bootstrap that compares two
models' reports line by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from inkreader.cli import main
from inkreader.errors import DatasetError
from inkreader.evaluation.compare import compare_reports


def write_report(path: Path, distances: list[int]) -> Path:
    rows = ["id\tlabel\tprediction\tdistance\terror"]
    rows += [f"line{i}.jpg\tten chars!\tx\t{d}\t" for i, d in enumerate(distances)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_clearly_better_model_has_an_interval_below_zero(tmp_path, capsys):
    # 200 lines of 10 characters: A makes 3 errors a line, B 1 on most lines
    a = write_report(tmp_path / "a.tsv", [3] * 200)
    b = write_report(tmp_path / "b.tsv", [1] * 180 + [4] * 20)
    result = compare_reports(a, b, resamples=2000)
    assert (result.lines, result.chars) == (200, 2000)
    assert (result.cer_a, result.cer_b) == pytest.approx((30.0, 13.0))
    assert result.difference == pytest.approx(-17.0)
    lo, hi = result.interval
    assert -20 < lo < hi < -14 and result.b_better == 1.0
    assert (result.lines_better, result.lines_worse, result.lines_same) == (180, 20, 0)
    assert main(["compare", str(a), str(b), "--resamples", "2000"]) == 0
    out = capsys.readouterr().out
    assert "CER A 30.00 %  B 13.00 %" in out and "B - A: -17.00 points" in out
    assert f"95 % interval [{lo:+.2f}, {hi:+.2f}]" in out
    assert "better / worse / same: 180 / 20 / 0" in out


def test_equal_models_have_an_interval_around_zero(tmp_path):
    rng_like = [(i * 7) % 5 for i in range(300)]
    a = write_report(tmp_path / "a.tsv", rng_like)
    b = write_report(tmp_path / "b.tsv", rng_like[1:] + rng_like[:1])  # same errors, shuffled
    result = compare_reports(a, b, resamples=2000)
    lo, hi = result.interval
    assert result.difference == 0 and lo < 0 < hi
    same = compare_reports(a, a)  # no difference on any line: a zero interval, no warning
    assert (same.difference, same.interval, same.lines_same) == (0, (0, 0), 300)


def test_reports_of_different_lines_are_refused(tmp_path, capsys):
    a = write_report(tmp_path / "a.tsv", [1] * 10)
    b = write_report(tmp_path / "b.tsv", [1] * 11)
    with pytest.raises(DatasetError, match=r"1 ids in only one of them"):
        compare_reports(a, b)
    assert main(["compare", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "inkreader compare: error:" in err
    assert "not reports of the same lines (1 ids in only one of them)" in err
    assert "Traceback" not in err


def test_a_file_that_is_not_a_report_is_named(tmp_path, capsys):
    a = write_report(tmp_path / "a.tsv", [1] * 10)
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n", encoding="utf-8")
    assert main(["compare", str(a), str(bad)]) == 2
    assert f"{bad}: not an `inkreader evaluate --report` file" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path / "missing.tsv")]) == 2
    assert "missing.tsv: No such file or directory" in capsys.readouterr().err


def test_several_sets_compare_by_their_mean_with_a_stratified_bootstrap(tmp_path, capsys):
    from inkreader.evaluation.compare import compare_sets

    # set 1: B makes 1.5 errors fewer a line of 10 characters (-15 points); set 2: no change
    a1 = write_report(tmp_path / "a1.tsv", [3, 2] * 50)
    b1 = write_report(tmp_path / "b1.tsv", [1, 1] * 50)
    a2 = write_report(tmp_path / "a2.tsv", [2, 0] * 50)
    b2 = write_report(tmp_path / "b2.tsv", [0, 2] * 50)
    macro = compare_sets([(a1, b1), (a2, b2)], resamples=2000)
    assert [c.difference for c in macro.sets] == pytest.approx([-15.0, 0.0])
    assert macro.difference == pytest.approx(-7.5)
    lo, hi = macro.interval
    assert lo < -7.5 < hi and hi < 0 and macro.b_better == 1.0
    assert main(["compare", str(a1), str(b1), str(a2), str(b2), "--resamples", "2000"]) == 0
    out = capsys.readouterr().out
    assert "mean CER of 2 sets: A 17.50 %  B 10.00 %" in out and "B - A: -7.50 points" in out
    assert main(["compare", str(a1), str(b1), str(a2)]) != 0
    assert "pairs of reports" in capsys.readouterr().err
