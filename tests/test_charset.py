"""Charset: blank 0, the 94 GNHK symbols in the reference's order, charlist files as the demo."""

from __future__ import annotations

import pytest

from inkreader.charset import BLANK, Charset
from inkreader.errors import CharsetError

from .conftest import SHARED

SPEC_SYMBOLS = (" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_"
                "abcdefghijklmnopqrstuvwxyz{|}~£")


def test_gnhk_charset_is_the_reference_one():
    cs = Charset.gnhk()
    assert "".join(cs.symbols) == SPEC_SYMBOLS
    assert len(cs) == 94 and cs.num_classes == 95 and BLANK == 0
    assert cs.symbols[0] == " " and "\\" not in cs.symbols and "`" not in cs.symbols
    assert cs.index["a"] == SPEC_SYMBOLS.index("a") + 1  # class k is symbols[k - 1]


def test_shared_charset_file_loads_to_the_same_charset():
    assert Charset.load(SHARED / "data" / "gnhk" / "charset.txt") == Charset.gnhk()


def test_encode_decode_round_trip():
    cs = Charset.gnhk()
    text = "Picture ID. and Passport photo £5"
    assert cs.decode(cs.encode(text)) == text
    assert cs.encode(" !") == [1, 2]
    with pytest.raises(CharsetError, match="'é'"):
        cs.encode("café")
    assert cs.unknown("café\\") == {"é", "\\"}


def test_charlist_lines_as_the_reference_demo(tmp_path):
    path = tmp_path / "chars.txt"
    path.write_text(" \na\nbc\n日\n", encoding="utf-8")  # a line of two symbols gives both
    cs = Charset.load(path)
    assert cs.symbols == (" ", "a", "b", "c", "日") and cs.num_classes == 6


def test_bad_charlists(tmp_path):
    with pytest.raises(CharsetError, match="not found"):
        Charset.load(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CharsetError, match="empty"):
        Charset.load(empty)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("é\n".encode("latin-1"))
    with pytest.raises(CharsetError, match="cannot read"):
        Charset.load(latin1)


def test_save_load_round_trip(tmp_path):
    cs = Charset.gnhk()
    cs.save(tmp_path / "c.txt")
    assert Charset.load(tmp_path / "c.txt") == cs


def test_normalize_training_text():
    cs = Charset.gnhk()
    assert cs.normalize("  \u201cIt\u2019s\u201d \u2014 fine\u2026 ") == "\"It's\" - fine..."
