"""New words from pieces of cut words: each character of a new word is drawn by a piece of a
word that has it (the longest pieces, word starts and ends where the new word has them, the
line's page first), and stitch --new-words makes a deterministic set of new words."""

from __future__ import annotations

import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.datasets import load_dataset
from inkreader.pieces import EDGE_PX, NovelWords, PieceIndex
from inkreader.preprocess import HEIGHT
from inkreader.stitch import Word, WordBank, char_bounds

from .test_stitch import _one_page_tsv

# Each test character is a 16-px block: an ink band on rows 40-50 (the core band, the same in
# every word) and a mark on rows 60-64 whose width names the character.
MARK = {"c": 1, "a": 2, "t": 3, "b": 4, "z": 5, "e": 6, ".": 7, "T": 8}
BLOCK = 16


def _word(text: str, page: str, paper: int = 230) -> Word:
    img = np.full((HEIGHT, BLOCK * len(text)), paper, np.uint8)
    img[40:50] = 20
    for k, ch in enumerate(text):
        img[60:64, k * BLOCK + 5:k * BLOCK + 5 + MARK[ch]] = 20
    return Word(img, text, page, tuple(range(0, BLOCK * len(text) + 1, BLOCK)))


def _read(img: np.ndarray) -> str:
    """The characters a test image draws, from the widths of its marks, left to right."""
    dark = np.concatenate(([False], img[62] < 128, [False]))
    edges = np.flatnonzero(dark[1:] != dark[:-1]).reshape(-1, 2)
    by_width = {w: ch for ch, w in MARK.items()}
    return "".join(by_width[int(b - a)] for a, b in edges)


def _index(*words: Word) -> PieceIndex:
    return PieceIndex(WordBank(list(words), np.array([1]), 1, 0))


def test_char_bounds_take_the_palest_column_between_aligned_characters():
    spans = np.array([[0, 1], [3, 4], [4, 5]])  # frames of three characters, stride 8
    ink = np.full(48, 50.0)
    ink[13] = 1.0  # between the first (ends at x 8) and the second (starts at x 24)
    ink[30] = 0.0  # inside the second: not a candidate
    assert char_bounds(spans, ink, stride=8) == [13, 32]


def test_a_new_word_is_spelt_from_the_longest_pieces_with_word_starts_and_ends():
    index = _index(_word("cat", "p"), _word("tab", "p"), _word("zeb", "q"))
    rng = np.random.default_rng(0)
    bat = index.make_word("bat", "p", rng)
    assert bat.text == "bat" and bat.image.shape[0] == HEIGHT
    # no word starts with b: its b is the end of "tab", with paper put before it; "at" is
    # the end of "cat" (one piece: 2 characters wide, no seam inside it)
    assert _read(bat.image) == "bat"
    assert bat.image.shape[1] == EDGE_PX + BLOCK + 2 * BLOCK - 3
    # z and e only on page q: taken from there; t and a from page p
    assert _read(index.make_word("zeta", "p", rng).image) == "zeta"
    assert index.make_word("cx", "p", rng) is None  # x is in no word


def test_pieces_come_from_the_lines_page_when_it_has_them():
    index = _index(_word("ab", "p"), _word("ab", "q", paper=180))
    for seed in range(8):
        for page, paper in (("p", 230), ("q", 180)):
            made = index.make_word("ab", page, np.random.default_rng(seed)).image
            assert int(np.percentile(made, 90)) == paper


def test_novel_words_keep_punctuation_and_capitals_and_leave_other_words():
    index = _index(_word("Tab", "p"), _word("cat.", "p"))
    novel = NovelWords.from_words(index, ["ta", "don't", "U.K."], np.array([1.0, 0.0, 0.0]), 1.0)
    assert novel.vocabulary == ["ta", "don't"]  # only plain words
    rng = np.random.default_rng(1)
    assert novel.replace(_word("cat.", "p"), rng).text == "ta."
    made = novel.replace(Word(_word("cat", "p").image, "Cat", "p"), rng)
    assert made.text == "Ta" and _read(made.image) == "Ta"
    amp = Word(_word("cat", "p").image, "&", "p")
    assert novel.replace(amp, rng) is amp


def test_stitch_new_words_makes_a_deterministic_set_of_words_the_page_lacks(tmp_path, capsys):
    src, page = _one_page_tsv(tmp_path, 8)
    source_words = {w for s in load_dataset(src) for w in s.text.split(" ")}
    args = ["--count", "12", "--from", str(src), "--seed", "4", "--max-cer", "0.5",
            "--new-words", "0.6"]
    assert main(["stitch", str(tmp_path / "a"), *args]) == 0
    assert main(["stitch", str(tmp_path / "b"), *args]) == 0
    made = load_dataset(tmp_path / "a" / "lines.tsv")
    assert (tmp_path / "a" / "lines.tsv").read_text() == (tmp_path / "b" / "lines.tsv").read_text()
    words = [w for s in made for w in s.text.split(" ")]
    new = [w for w in words if w not in source_words]
    assert len(new) >= len(words) // 4  # about 60 % of the plain words are new
    charset = Charset.gnhk()
    for s in made:
        assert not charset.unknown(s.text)
        assert (tmp_path / "a" / s.id).read_bytes() == (tmp_path / "b" / s.id).read_bytes()
    assert "new_word_vocabulary" in (tmp_path / "a" / "stitch.json").read_text()


@pytest.mark.parametrize("rate", ["-0.1", "1.5"])
def test_stitch_refuses_a_new_word_rate_outside_0_1(tmp_path, capsys, rate):
    src, _ = _one_page_tsv(tmp_path, 2)
    assert main(["stitch", str(tmp_path / "o"), "--count", "1", "--from", str(src),
                 "--new-words", rate]) == 2
    assert "--new-words must be between 0 and 1" in capsys.readouterr().err
