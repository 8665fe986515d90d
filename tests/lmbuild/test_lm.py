"""Character n-gram LM: Kneser-Ney estimates that are distributions, ARPA files that KenLM reads
with the same scores, pruning, text sources, the lexicon and ``inkreader lm build``."""

from __future__ import annotations

import gzip
import math

import pytest

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.data import corpora
from inkreader.decode.lexicon import Lexicon, frequent_english_words, text_words
from inkreader.decode.lm import BOS, EOS, UNK, LMError, resolve_lm_path
from inkreader.lmbuild.arpa import CharLM, perplexity
from inkreader.lmbuild.estimate import build_lm, count_ngrams, mix_lms
from inkreader.synth.text import clean_lines, load_text

from ..conftest import HOOKER_TSV, SHARED

TEXT = ["the cat sat on the mat", "the hat", "a cat and a hat", "that is the end",
        "then the rat ran", "Dear Mr Dyer", "the the the"] * 3
VOCAB = tuple("abcdefghijklmnopqrstuvwxyz DM")


def _total(lm: CharLM, state: str) -> float:
    return sum(math.exp(lm.score(state, c)[0]) for c in (*VOCAB, EOS, UNK))


@pytest.mark.parametrize(("order", "min_count"), [(1, 1), (3, 1), (5, 1), (5, 3)])
def test_every_context_is_a_distribution(order, min_count):
    lm = build_lm(TEXT, order, VOCAB, min_count)
    for context in ["", "th", "the ", "zzz", "Dear M", "q"]:
        state = lm.begin()
        for ch in context:
            state = lm.score(state, ch)[1]
        assert _total(lm, state) == pytest.approx(1.0, abs=1e-6)


def test_unseen_symbols_get_a_probability_and_text_is_preferred():
    lm = build_lm(TEXT, 4, VOCAB)
    assert lm.text_logprob("the cat") > lm.text_logprob("tha cet") > -math.inf
    assert lm.text_logprob("x") > -math.inf  # 'x' never seen: the uniform share
    assert lm.text_logprob("\u00e9") == pytest.approx(lm.text_logprob("\u00e9"))  # unknown


def test_counts_are_kneser_ney_continuation_counts():
    counts = count_ngrams(["abab"], 3)
    assert counts[3]["bab"] == 1 and counts[3][BOS + "ab"] == 1  # raw at the top order
    assert counts[2][BOS + "a"] == 1  # starts with <s>: raw
    assert counts[2]["ab"] == 2  # left neighbours: <s> and b
    assert counts[1]["b"] == 1  # only ever after 'a'


def test_arpa_round_trip_and_kenlm_agree(tmp_path):
    kenlm = pytest.importorskip("kenlm")
    lm = build_lm(TEXT, 5, VOCAB, min_count=2)
    for name in ("m.arpa", "m.arpa.gz"):
        lm.save(tmp_path / name)
        again = CharLM.load(tmp_path / name)
        assert again.order == 5 and again.prob.keys() == lm.prob.keys()
        for s in ("the cat", "Dear Mr Dyer", "zq x"):
            assert again.text_logprob(s) == pytest.approx(lm.text_logprob(s), abs=1e-4)
    model = kenlm.Model(str(tmp_path / "m.arpa"))
    for s in ("the cat sat", "Dear Mr Dyer", "zq x"):
        words = " ".join("<sp>" if c == " " else c for c in s)
        assert model.score(words, bos=True, eos=True) == pytest.approx(
            lm.text_logprob(s) / math.log(10), abs=1e-4)


def test_pruning_makes_a_smaller_model():
    full, pruned = build_lm(TEXT, 5, VOCAB), build_lm(TEXT, 5, VOCAB, min_count=3)
    assert len(pruned.prob) < len(full.prob)
    assert all(len(g) <= 2 or g[:-1] in pruned.prob or g[0] == BOS for g in pruned.prob)


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(LMError, match="not found"):
        CharLM.load(tmp_path / "missing.arpa")
    (tmp_path / "words.arpa").write_text("\\data\\\nngram 1=1\n\n\\1-grams:\n-1.0\thello\n"
                                         "\n\\end\\\n")
    with pytest.raises(LMError, match="not a character model"):
        CharLM.load(tmp_path / "words.arpa")
    (tmp_path / "junk.arpa").write_text("hello\n")
    with pytest.raises(LMError, match="no n-grams|not an ARPA"):
        CharLM.load(tmp_path / "junk.arpa")
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(LMError, match="cannot read"):
        CharLM.load(tmp_path / "bad.gz")
    with pytest.raises(LMError, match="no text"):
        build_lm(["", ""], 3)


def test_lexicon(tmp_path):
    lex = Lexicon(["Cat", "hat", "the"])
    assert "cat" in lex and lex.is_prefix("ca") and not lex.is_prefix("cx")
    path = tmp_path / "words.txt"
    path.write_text("apple 12\nbanana\t3\n\n", encoding="utf-8")
    assert Lexicon.load(path).words == {"apple", "banana"}
    (tmp_path / "empty.txt").write_text("\n", encoding="utf-8")
    with pytest.raises(LMError, match="no words"):
        Lexicon.load(tmp_path / "empty.txt")


def test_text_sources(tmp_path):
    cs = Charset.gnhk()
    train = load_text(str(HOOKER_TSV), "train")
    val = load_text(str(HOOKER_TSV), "val")
    assert len(train) > 4000 and 900 < len(val) < 1000  # one split only
    words = load_text(str(SHARED / "data" / "gnhk" / "train_words.csv"))
    assert words and max(len(w.split()) for w in words) <= 8
    (tmp_path / "a.txt").write_text("Caf\u00e9 \u201cok\u201d\n  spaced   out \n", encoding="utf-8")
    lines, dropped = clean_lines(load_text(str(tmp_path / "a.txt")), cs)
    assert lines == ["spaced out"] and dropped == 1  # the e-acute is not in the charset
    with pytest.raises(LMError, match="no such text"):
        load_text(str(tmp_path / "missing.txt"))
    assert resolve_lm_path("default").name.startswith("english-char-")


def test_build_command(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("\n".join(TEXT), encoding="utf-8")
    out = tmp_path / "lm.arpa.gz"
    assert main(["lm", "build", str(text), "--order", "4", "--out", str(out),
                 "--eval", str(text)]) == 0
    printed = capsys.readouterr().out
    assert "order 4" in printed and "perplexity" in printed
    assert CharLM.load(out).order == 4
    assert main(["lm", "build", str(text), "--out", str(out)]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err
    assert main(["lm", "build", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "x")]) == 2


def test_shipped_model_loads_and_prefers_english():
    lm = CharLM.load(resolve_lm_path("default"))
    assert lm.order == 6
    assert lm.text_logprob("I was sorry to miss you") > lm.text_logprob("I wos sorrv tu miss yau")
    assert lm.begin() == BOS


def test_lexicon_command_and_gzip_round_trip(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("Dear Mr Dyer, don't go\nthe the cat's 1900 hat-stand\n", encoding="utf-8")
    assert text_words(text.read_text().splitlines()) == {
        "dear": 1, "mr": 1, "dyer": 1, "don't": 1, "go": 1, "the": 2, "cat's": 1, "hat": 1,
        "stand": 1}
    out = tmp_path / "words.txt.gz"
    assert main(["lm", "lexicon", str(text), "--min-count", "2", "--out", str(out)]) == 0
    assert Lexicon.load(out).words == {"the"}
    assert main(["lm", "lexicon", str(text), "--out", str(out)]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err
    assert main(["lm", "lexicon", "--out", str(tmp_path / "none.txt")]) == 2
    assert "needs TEXT" in capsys.readouterr().err
    with pytest.raises(LMError, match="lexicon file not found"):
        Lexicon.load(tmp_path / "missing.txt.gz")
    (tmp_path / "bad.txt.gz").write_bytes(b"not gzip")
    with pytest.raises(LMError, match="cannot read the lexicon"):
        Lexicon.load(tmp_path / "bad.txt.gz")


def test_shipped_lexicon_is_built_from_train_text_and_common_words_only():
    lex = Lexicon.load("default")
    assert {"dear", "kew", "the", "because"} <= lex.words
    sources = (set(text_words(load_text(str(HOOKER_TSV), "train")))
               | set(text_words(load_text(str(SHARED / "data" / "gnhk" / "train_words.csv"))))
               | set(frequent_english_words(50_000)))
    assert lex.words <= sources  # never a word seen only in the val or test text
    test = text_words(load_text(str(HOOKER_TSV), "test"))
    assert len(set(test) - sources) > 50


OTHER = ["dear sir i send the plants", "i have the seeds of the palm", "yours very truly",
         "the plants are in the house"] * 3


def test_mixing_is_a_distribution_that_beats_both_parts_on_mixed_text(tmp_path, capsys):
    a, b = build_lm(TEXT, 4, VOCAB), build_lm(OTHER, 4, VOCAB)
    mixed = mix_lms([a, b], [0.5, 0.5])
    for context in ["", "th", "the ", "dear s", "zzz"]:
        state = mixed.begin()
        for ch in context:
            state = mixed.score(state, ch)[1]
        assert _total(mixed, state) == pytest.approx(1.0, abs=1e-6)
    held = ["the cat sat in the house", "dear sir the hat"]
    assert perplexity(mixed, held) < min(perplexity(a, held), perplexity(b, held))
    only_a = mix_lms([a, b], [1.0, 0.0])  # a alone: its own probabilities, in b's n-grams too
    for s in ("the cat", "dear sir", "zq"):
        assert only_a.text_logprob(s) == pytest.approx(a.text_logprob(s), abs=1e-6)
    with pytest.raises(LMError, match="weights"):
        mix_lms([a, b], [1.0])
    a.save(tmp_path / "a.arpa")
    b.save(tmp_path / "b.arpa.gz")
    out, text = tmp_path / "m.arpa.gz", tmp_path / "held.txt"
    text.write_text("\n".join(held), encoding="utf-8")
    args = ["lm", "mix", str(tmp_path / "a.arpa"), str(tmp_path / "b.arpa.gz"), "--out",
            str(out)]
    assert main([*args, "--weights", "0.5", "0.5", "--eval", str(text)]) == 0
    printed = capsys.readouterr().out
    assert "perplexity of the mixture" in printed
    assert CharLM.load(out).text_logprob("the hat") == pytest.approx(
        mixed.text_logprob("the hat"), abs=1e-4)
    assert main([*args, "--weights", "0.5", "0.5"]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--weights", "1", "--force"]) == 2
    assert "2 LMs but 1 --weights" in capsys.readouterr().err


def test_debian_text_sources(tmp_path, monkeypatch):
    fortunes = tmp_path / "fortunes"
    fortunes.mkdir()
    (fortunes / "literature").write_text(
        "A classic is something that everyone wants to have read\nand nobody wants to "
        "read.\n\t\t-- Mark Twain\n%\nShort.\n%\n", encoding="latin-1")
    lines = corpora.load_fortunes(fortunes)
    assert lines == ["A classic is something that everyone wants to", "have read and nobody "
                     "wants to read."]
    gcide = tmp_path / "gcide.dict.dz"
    with gzip.open(gcide, "wt", encoding="utf-8") as f:
        f.write("Affect \\Af*fect\"\\, v. t. [L. affectus.]\n   1. To act upon; to produce an "
                "effect.\n      [1913 Webster]\n\n            The climate affected their "
                "health and spirits.\n                                  --Macaulay.\n"
                "      [1913 Webster]\n")
    assert corpora.load_gcide_quotations(gcide) == [
        "The climate affected their health and", "spirits."]  # no definition, no author
    with pytest.raises(corpora.CorpusError, match="missing.dict.dz: cannot read"):
        corpora.load_gcide_quotations(tmp_path / "missing.dict.dz")
    with pytest.raises(corpora.CorpusError, match="install the Debian package dict-gcide"):
        corpora.locate("usr/share/dictd/no-such.dict.dz", "dict-gcide")
    unpacked = tmp_path / "unpacked" / "usr" / "share" / "dictd"
    unpacked.mkdir(parents=True)
    (unpacked / "gcide.dict.dz").write_bytes(gcide.read_bytes())
    monkeypatch.setenv("INKREADER_LMTEXT", str(tmp_path / "unpacked"))
    assert corpora.locate(corpora.GCIDE_FILE, "dict-gcide") == unpacked / "gcide.dict.dz"


def test_a_word_list_as_lm_text_favours_its_spellings(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("zebra\nquokka\n" + "".join(f"w{i}\n" for i in range(20)), encoding="utf-8")
    lines = load_text(f"words:{words}")
    assert lines == load_text(f"words:{words}")  # seeded: the same text every time
    tokens = [t for ln in lines for t in ln.split(" ")]
    assert sorted(tokens) == sorted([*Lexicon.load(words).words, "Zebra", "Quokka",
                                     *(f"W{i}" for i in range(20))])
    assert max(len(ln.split(" ")) for ln in lines) == 6
    base = build_lm(["the cat sat on a mat", "a dog ran"] * 5, 4)
    mixed = mix_lms([base, build_lm(lines, 4)], [0.8, 0.2])
    # a listed spelling gains, the same letters in another order (as likely to the base
    # model, which saw neither) far less
    for listed, other in (("a zebra", "a zbera"), ("a quokka", "a qoukka")):
        assert base.text_logprob(listed) == pytest.approx(base.text_logprob(other))
        assert mixed.text_logprob(listed) > mixed.text_logprob(other) + 5.0
