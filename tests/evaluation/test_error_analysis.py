"""inkreader.evaluation.error_analysis and `inkreader errors`: a report's character errors by kind
of edit and of character, confusions and doubled letters."""

from __future__ import annotations

from inkreader.cli import main
from inkreader.evaluation.error_analysis import analyse_report

from .test_compare import write_report


def _report(path, pairs: list[tuple[str, str]]):
    rows = ["id\tlabel\tprediction\tdistance\terror"]
    rows += [f"l{i}.jpg\t{label}\t{pred}\t0\t" for i, (label, pred) in enumerate(pairs)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_edits_are_counted_by_kind_and_class(tmp_path, capsys):
    # "hello" read as "helo": one deleted lower-case letter of a doubled pair; "Ab 1" read as
    # "Ab 7x": a digit substituted (1 -> 7) and an inserted x
    report = _report(tmp_path / "r.tsv", [("hello", "helo"), ("Ab 1", "Ab 7x")])
    t = analyse_report(report)
    assert t.chars == 9
    assert t.errors == {("deleted", "lower case"): 1, ("substituted", "digit"): 1,
                        ("inserted", "lower case"): 1}
    assert t.confusions == {("1", "7"): 1} and t.deleted == {"l": 1} and t.inserted == {"x": 1}
    assert (t.doubled, t.doubled_deleted) == (2, 1)
    assert main(["errors", str(report), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "9 label characters, 3 character errors (CER 33.33 %)" in out
    assert "| substituted | digit | 1 | 11.11 | 100.00 |" in out
    assert "| in a doubled pair | 2 | 1 | 50.00 |" in out


def test_a_file_that_is_not_a_report_is_named(tmp_path, capsys):
    good = write_report(tmp_path / "a.tsv", [0])
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n", encoding="utf-8")
    assert main(["errors", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert f"{bad}: not an `inkreader evaluate --report` file" in captured.err
    assert captured.out == ""  # every file is read before anything is printed
