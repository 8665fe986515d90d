"""The word-level search (flashlight's ``LexiconDecoder`` + a word n-gram LM): word LMs built by
the shared Kneser-Ney code and read by KenLM with our scores, the search reading only listed
spellings (capitalised, in capitals, digits and punctuation, letter by letter when allowed), the
word LM settling an ambiguous word, real Hooker val lines, the options and the command line,
and clear errors for a bad word LM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.cli.decoding import add_decoding_arguments, decoding_options
from inkreader.decode.greedy import GreedyDecoder
from inkreader.decode.lexicon import Lexicon, text_words
from inkreader.decode.lm import BOS, EOS, UNK, LMError
from inkreader.decode.options import DecodingOptions
from inkreader.decode.words import WordDecoder, WordModel, word_spellings
from inkreader.errors import InkreaderError
from inkreader.lmbuild.arpa import WordLM, perplexity, word_tokens
from inkreader.lmbuild.estimate import build_lm, count_ngrams, mix_lms
from inkreader.runtime.recognizer import Recognizer
from inkreader.synth.text import load_line_texts

from ..conftest import HOOKER_TSV, SAMPLE_LINE

TEXT = ["the cat sat on the mat.", "the hat, the cat", "a cat and a hat", "Dear Mr Dyer",
        "then the rat ran", "the cat ate the rat"] * 3
CS = Charset(tuple(" ,.acdehmnorstyTHECADM19"))


def frames(cs: Charset, rows: list[dict[str, float]]) -> np.ndarray:
    """Logits of frames whose posteriors are ``rows`` ({symbol: p}, '' the blank), the rest
    of each frame's mass spread thinly."""
    k = {s: i for i, s in enumerate(cs.symbols, start=1)}
    probs = np.full((len(rows), cs.num_classes), 1e-4)
    for t, row in enumerate(rows):
        for s, p in row.items():
            probs[t, k[s] if s else 0] = p
    probs /= probs.sum(axis=1, keepdims=True)
    return np.log(probs)


def spelt(text: str, cs: Charset = CS) -> np.ndarray:
    """Sure frames of ``text``, each character followed by a blank frame."""
    return frames(cs, [r for ch in text for r in ({ch: 0.98}, {"": 0.98})])


@pytest.fixture(scope="module")
def word_arpa(tmp_path_factory):
    path = tmp_path_factory.mktemp("wordlm") / "words.arpa"
    build_lm(TEXT, 3, unit="word").save(path)
    return path


def model(arpa, words=("the", "cat", "hat", "sat", "rat", "mat", "dear", "mr", "dyer", "on"),
          letters=True) -> WordModel:
    return WordModel(arpa, Lexicon(words), CS, letters)


# --- the word LM ----------------------------------------------------------------------------

def test_word_tokens_are_lower_cased_words_and_single_symbols():
    assert word_tokens("Dear Mr Dyer, it's 1900.") == \
        ["dear", "mr", "dyer", ",", "it's", "1", "9", "0", "0", "."]


def test_word_counts_share_the_kneser_ney_code():
    counts = count_ngrams([("a", "b", "a", "b")], 3)
    assert counts[3][("b", "a", "b")] == 1 and counts[3][(BOS, "a", "b")] == 1
    assert counts[2][("a", "b")] == 2  # left neighbours: <s> and b
    assert counts[1][("b",)] == 1  # only ever after 'a'


@pytest.mark.parametrize(("order", "min_count"), [(1, 1), (2, 1), (3, 1), (3, 2)])
def test_every_word_context_is_a_distribution(order, min_count):
    lm = build_lm(TEXT, order, ["zebra"], min_count, unit="word")
    assert isinstance(lm, WordLM)
    vocab = {g[0] for g in lm.prob if len(g) == 1} | {UNK}
    assert "zebra" in vocab  # listed, never seen: the uniform share
    for context in [(), ("the",), ("the", "cat"), ("zebra", "zebra"), (",",)]:
        state = lm.begin()
        for w in context:
            state = lm.score(state, w)[1]
        assert sum(math.exp(lm.score(state, w)[0]) for w in vocab) == pytest.approx(1, abs=1e-6)
    assert EOS in vocab


def test_word_arpa_is_read_by_kenlm_with_our_scores(tmp_path):
    kenlm = pytest.importorskip("kenlm")
    lm = build_lm(TEXT, 3, min_count=2, unit="word")
    assert lm.text_logprob("the cat sat") > lm.text_logprob("cat the sat")
    for name in ("w.arpa", "w.arpa.gz"):
        lm.save(tmp_path / name)
        again = WordLM.load(tmp_path / name)
        assert again.order == 3 and again.prob.keys() == lm.prob.keys()
    model = kenlm.Model(str(tmp_path / "w.arpa"))
    assert model.order == 3
    for text in ("the cat sat on the mat.", "Dear Mr Dyer", "zebra cat"):
        ours = lm.text_logprob(text) / math.log(10)
        assert model.score(" ".join(word_tokens(text)), bos=True, eos=True) == \
            pytest.approx(ours, abs=1e-4)
    assert perplexity(lm, ["the cat sat"]) < perplexity(lm, ["sat cat the"])


def test_word_models_mix_into_a_distribution():
    other = ["a rat ran", "the mat, 1900", "dear sir"] * 3
    vocab = set(word_tokens(" ".join(TEXT + other)))
    a = build_lm(TEXT, 2, vocab, unit="word")
    b = build_lm(other, 2, vocab, unit="word")
    mixed = mix_lms([a, b], [0.5, 0.5])
    assert isinstance(mixed, WordLM)
    vocab = {g[0] for g in mixed.prob if len(g) == 1} | {UNK}
    for context in [(), ("the",), ("dear",), ("1",)]:
        state = mixed.begin()
        for w in context:
            state = mixed.score(state, w)[1]
        assert sum(math.exp(mixed.score(state, w)[0]) for w in vocab) == \
            pytest.approx(1, abs=1e-6)
    with pytest.raises(LMError, match="cannot mix a character model with a word model"):
        mix_lms([a, build_lm(TEXT, 2)], [1, 1])
    with pytest.raises(LMError, match="different vocabularies"):
        mix_lms([a, build_lm(other, 2, unit="word")], [1, 1])


def test_flashlight_reads_the_word_lm_with_our_scores(word_arpa):
    ours = WordLM.load(word_arpa)
    m = model(word_arpa)
    text = "the cat sat on the mat."
    state, total = m.lm.start(False), 0.0
    for w in word_tokens(text):  # flashlight's KenLM answers log10 per word index
        state, lp = m.lm.score(state, m.words.get_index(w))
        total += lp
    total += m.lm.finish(state)[1]
    assert total * math.log(10) == pytest.approx(ours.text_logprob(text), abs=1e-3)


def test_build_command_writes_a_word_model(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("\n".join(TEXT) + "\n", encoding="utf-8")
    out = tmp_path / "w.arpa.gz"
    assert main(["lm", "build", str(text), "--unit", "word", "--min-count", "1",
                 "--out", str(out), "--eval", str(text)]) == 0
    printed = capsys.readouterr().out
    assert "order 3" in printed and "per word" in printed
    lm = WordLM.load(out)
    assert lm.order == 3 and ("the", "cat") in lm.prob
    assert ("£",) in lm.prob and ("q",) in lm.prob  # every charset symbol is a token


# --- the search -----------------------------------------------------------------------------

def test_spellings_cover_case_digits_and_punctuation():
    pairs = set(word_spellings(Lexicon(["the", "dyer"]), CS, letters=False))
    assert {("the", "the"), ("the", "The"), ("the", "THE"), ("dyer", "Dyer")} <= pairs
    assert ("dyer", "DYER") not in pairs  # 'Y' and 'R' are not in the charset
    assert {(",", ","), ("1", "1"), ("9", "9")} <= pairs
    assert ("t", "t") not in pairs
    assert {("t", "t"), ("t", "T"), ("a", "a")} <= set(word_spellings(Lexicon([]), CS, True))


def test_sure_text_of_listed_words_reads_as_it_is(word_arpa):
    dec = WordDecoder(CS, model(word_arpa), width=16)
    for text in ("the cat sat on the mat.", "Dear Mr Dyer, 1919", "THE CAT"):
        out = dec.decode(spelt(text))
        assert out.text == text
        assert len(out.classes) == len(out.spans) == len(text)


def test_the_word_lm_settles_an_ambiguous_word(word_arpa):
    # 'the ?at' where the model prefers 'm' (0.5) to 'c' (0.45): "the cat" is what the LM knows
    rows = [r for ch in "the " for r in ({ch: 0.98}, {"": 0.98})]
    rows += [{"m": 0.5, "c": 0.45}, {"": 0.98}, {"a": 0.98}, {"": 0.98}, {"t": 0.98}]
    logits = frames(CS, rows)
    assert GreedyDecoder(CS).decode(logits).text == "the mat"
    assert WordDecoder(CS, model(word_arpa), width=16, lm_weight=0.0).decode(logits).text \
        == "the mat"
    assert WordDecoder(CS, model(word_arpa), width=16, lm_weight=1.0).decode(logits).text \
        == "the cat"


def test_a_word_outside_the_list_is_spelt_letter_by_letter_or_not_at_all(word_arpa):
    logits = spelt("the Tod")
    assert WordDecoder(CS, model(word_arpa), width=16).decode(logits).text == "the Tod"
    # without one-letter words only listed spellings can be read
    strict = WordDecoder(CS, model(word_arpa, letters=False), width=16,
                         unk_score=-math.inf).decode(logits).text
    assert strict != "the Tod"
    assert all(w in {"the", "The", "THE", "rat", "mat", "hat", "cat", "sat", "on", "dear",
                     "mr", "dyer"} or not w.isalpha() for w in strict.split())
    # an unknown-prefix score lets prefixes of listed words stand as words: T(he) o(n) d(ear)
    assert WordDecoder(CS, model(word_arpa, letters=False), width=16, unk_score=-2.0) \
        .decode(logits).text == "the Tod"


def test_empty_input_and_a_blank_line(word_arpa):
    dec = WordDecoder(CS, model(word_arpa))
    assert dec.decode(np.zeros((0, CS.num_classes), np.float32)).text == ""
    assert dec.decode(frames(CS, [{"": 0.98}] * 5)).text == ""
    assert dec.decode(spelt("  the  ")).text == "the"  # no spaces at either end, none doubled


def test_a_bad_word_lm_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.arpa"
    bad.write_text("not an arpa file\n", encoding="utf-8")
    for path, message in ((tmp_path / "none.arpa", "word language model file not found"),
                          (bad, "cannot read the word language model")):
        with pytest.raises(LMError, match=message) as err:
            WordModel(path, Lexicon(["the"]), CS)
        assert str(path) in str(err.value)
    with pytest.raises(InkreaderError, match="needs a word list"):
        DecodingOptions(word_lm=str(bad), lexicon=None)


def test_read_with_a_bad_word_lm_names_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.arpa.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    assert main(["read", str(SAMPLE_LINE), "--word-lm", str(bad)]) != 0
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err


# --- options, command line, real lines ------------------------------------------------------

def test_options_and_command_line_ask_for_the_word_search(word_arpa, tmp_path):
    import argparse

    p = argparse.ArgumentParser()
    add_decoding_arguments(p)
    got = decoding_options(p.parse_args(["--word-lm", str(word_arpa), "--word-score", "1.5",
                                         "--word-lm-weight", "0.5", "--unk-score", "-8"]))
    assert got == DecodingOptions(word_lm=str(word_arpa), word_score=1.5, word_lm_weight=0.5,
                                  unk_score=-8.0)
    described = got.describe()
    assert described["decoder"] == "words" and "blank_penalty" not in described
    assert DecodingOptions(word_lm="x", unk_score=-math.inf).describe()["unk_score"] is None
    assert "word_lm" not in DecodingOptions().describe()
    assert decoding_options(p.parse_args(["--word-lm", "none"])) == DecodingOptions()
    words = tmp_path / "words.txt"
    Lexicon(["the", "cat"]).save(words)
    decoder = got.with_(lexicon=str(words)).decoder(Charset.gnhk())
    assert isinstance(decoder, WordDecoder) and decoder.word_score == 1.5


def test_real_val_lines_read_as_listed_words(tmp_path):
    # a word 3-gram and a word list of the Hooker train lines (never val or test text)
    train = load_line_texts(HOOKER_TSV, "train")
    arpa, words = tmp_path / "hooker-train-words.arpa.gz", tmp_path / "hooker-train-words.txt"
    build_lm(train, 3, min_count=2, unit="word").save(arpa)
    lexicon = Lexicon(text_words(train))
    lexicon.save(words)
    rows = [r.split("\t") for r in HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]]
    val = [(str(HOOKER_TSV.parent / f), t) for f, sp, _, t in rows if sp == "val"][4:8]
    rec = Recognizer.load(decoding=DecodingOptions(word_lm=str(arpa), lexicon=str(words),
                                                   word_letters=False))
    read = rec.read_paths([p for p, _ in val])
    for (_, label), line in zip(val, read, strict=True):
        print(repr(label), "->", repr(line.text))
        assert line.ok and line.text
        # without one-letter words every word read is a listed one
        assert set(text_words([line.text])) <= lexicon.words, line.text
    assert read[0].text == val[0][1] == "My dear Dyer"
