"""The default decoding (issue 39): one frozen ``DecodingOptions`` value behind the library, the
CLI and the server; the beam search with the shipped LM and word list by default, reading real
lines better than greedy; ``--greedy``; the reference contract keeping greedy decoding; the
shipped LM readable by KenLM; no spaces at either end of a read line."""

from __future__ import annotations

import argparse
import dataclasses
import math

import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.cli.decoding import add_decoding_arguments, decoding_options
from inkreader.decode.beam import BeamDecoder, load_kenlm
from inkreader.decode.greedy import GreedyDecoder, greedy_decode
from inkreader.decode.lm import default_lm_path
from inkreader.decode.options import GREEDY, DecodingOptions, default_decoding
from inkreader.errors import InkreaderError
from inkreader.lmbuild.arpa import CharLM
from inkreader.lmbuild.estimate import build_lm
from inkreader.metrics import ErrorRates
from inkreader.runtime.recognizer import Recognizer

from ..conftest import HOOKER_TSV

VAL_LINES = 24  # real Hooker val lines (never test lines) read by both decoders


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_decoding_arguments(p)
    return p.parse_args(list(argv))


def val_lines(n: int) -> list[tuple[str, str]]:
    rows = [r.split("\t") for r in HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]]
    return [(str(HOOKER_TSV.parent / f), t) for f, sp, _, t in rows if sp == "val"][:n]


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    return Recognizer.load()


@pytest.fixture(scope="module")
def rec_greedy() -> Recognizer:
    return Recognizer.load(decoding=GREEDY)


# --- the options value ----------------------------------------------------------------------

def test_options_are_one_frozen_value_with_the_defaults_in_one_place():
    d = DecodingOptions()
    assert not d.greedy and d.lm == "default" and d.lexicon == "default" and not d.tta
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.lm_weight = 1.0  # type: ignore[misc]
    assert d == DecodingOptions() and hash(d) == hash(DecodingOptions())
    assert d.with_(tta=True) != d and d.with_(tta=True).tta
    assert default_decoding() == d and default_decoding(reference=True) == GREEDY
    assert d.describe()["decoder"] == "beam" and d.describe()["lm_weight"] == d.lm_weight
    assert GREEDY.describe() == {"decoder": "greedy", "tta": False}
    for bad in ({"beam_width": 0}, {"token_beam": 0}, {"lm_weight": math.nan},
                {"blank_penalty": math.inf}, {"beam_threshold": 0.0},
                {"beam_threshold": math.inf}):
        with pytest.raises(InkreaderError, match="must be"):
            DecodingOptions(**bad)


def test_the_command_line_builds_the_same_value():
    assert decoding_options(parse()) is None  # nothing asked: the library's default
    assert decoding_options(parse("--tta")) is None  # the reader's tta, with its default
    assert decoding_options(parse("--greedy")) == GREEDY
    assert decoding_options(parse("--greedy", "--tta")) == GREEDY.with_(tta=True)
    # a beam option asks for the beam (also on the reference contract, where the default is
    # greedy: runtime.loading.LoadedModel.default_decoding)
    assert decoding_options(parse("--lm", "default")) == DecodingOptions()
    got = decoding_options(parse("--lm", "none", "--lexicon", "none", "--beam-width", "4",
                                 "--lm-weight", "0.5", "--blank-penalty", "1",
                                 "--lexicon-penalty", "2", "--token-beam", "3",
                                 "--beam-threshold", "12"))
    assert got == DecodingOptions(lm=None, lexicon=None, beam_width=4, lm_weight=0.5,
                                  blank_penalty=1.0, lexicon_penalty=2.0, token_beam=3,
                                  beam_threshold=12.0)
    assert got.decoder(Charset(tuple(" ab"))).threshold == 12.0
    assert decoding_options(parse("--sure-blank", "none")) == DecodingOptions(sure_blank=None)
    assert decoding_options(parse("--sure-blank", "0.99")) == DecodingOptions(sure_blank=0.99)
    with pytest.raises(InkreaderError, match="--greedy cannot be combined"):
        decoding_options(parse("--greedy", "--lm", "default"))


# --- what the decoders read -----------------------------------------------------------------

def test_no_decoder_reads_spaces_at_either_end():
    cs = Charset(tuple(" ab"))
    path = [1, 0, 2, 0, 1, 3, 0, 1, 1]  # " a b " with a space between a and b
    logits = np.full((len(path), cs.num_classes), -6.0)
    logits[np.arange(len(path)), path] = 6.0
    assert greedy_decode(logits, cs)[0] == " a b "  # the reference's own function, as it was
    for decoder in (GreedyDecoder(cs), BeamDecoder(cs, width=8)):
        out = decoder.decode(logits)
        assert out.text == "a b" and len(out.classes) == len(out.spans) == 3
        assert out.spans.tolist() == [[2, 3], [4, 5], [5, 6]]


def test_the_shipped_lm_is_read_by_kenlm_with_our_scores(tmp_path):
    import kenlm

    shipped = kenlm.Model(str(default_lm_path()))
    assert shipped.order == 6
    text = "the cat sat"
    lm = build_lm([text, "a cat", "the hat"] * 4, 3, " acehst")
    lm.save(tmp_path / "small.arpa")
    ours = CharLM.load(tmp_path / "small.arpa")
    cs = Charset(tuple(" acehst"))
    fl = load_kenlm(tmp_path / "small.arpa", cs)
    state, total = fl.start(0), 0.0
    for ch in text:  # flashlight's KenLM answers log10 per class index
        state, lp = fl.score(state, cs.index[ch])
        total += lp
    total += fl.finish(state)[1]
    assert total * math.log(10) == pytest.approx(ours.text_logprob(text), abs=1e-3)


def test_a_missing_or_broken_lm_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.arpa"
    bad.write_text("not an arpa file\n", encoding="utf-8")
    for path, message in ((tmp_path / "none.arpa", "language model file not found"),
                          (bad, "cannot read the language model")):
        with pytest.raises(InkreaderError, match=message):
            BeamDecoder(Charset(tuple("ab")), lm=path)


def test_the_default_reads_real_lines_better_than_greedy(rec, rec_greedy):
    lines = val_lines(VAL_LINES)
    paths = [p for p, _ in lines]
    assert rec.decoding == DecodingOptions() and rec_greedy.decoding == GREEDY
    default = rec.read_paths(paths)
    greedy = rec_greedy.read_paths(paths)
    rates = {"default": ErrorRates(), "greedy": ErrorRates()}
    for (_, label), d, g in zip(lines, default, greedy, strict=True):
        assert d.ok and d.text == d.text.strip() and d.text == "".join(c.char for c in d.chars)
        rates["default"].update(d.text, label)
        rates["greedy"].update(g.text, label)
    # the LM and the word list really read better, by more than 3 points on these lines
    assert rates["default"].cer < rates["greedy"].cer - 0.03


def test_read_greedy_and_the_reference_contract(rec, rec_greedy, capsys):
    path = next(p for p, text in val_lines(40) if len(text) > 30)
    assert main(["read", path]) == 0
    default = capsys.readouterr().out.strip()
    assert main(["read", path, "--greedy"]) == 0
    greedy = capsys.readouterr().out.strip()
    assert default == rec.read_paths([path])[0].text
    assert greedy == rec_greedy.read_paths([path])[0].text and greedy != default
    # the reference contract (fixed width): the reference demo's greedy decoding by default
    fixed = Recognizer.load(fixed_width=True)
    assert fixed.decoding == GREEDY and isinstance(fixed.decoder, GreedyDecoder)
    assert main(["read", path, "--fixed-width"]) == 0
    assert capsys.readouterr().out.strip() == fixed.read_paths([path])[0].text
    assert main(["read", path, "--greedy", "--lexicon", "none"]) == 2
    assert "--greedy cannot be combined" in capsys.readouterr().err
