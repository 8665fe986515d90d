"""Synthetic handwriting lines: fonts, text, rendering, the output folder and the command.

Needs the handwriting fonts of scripts/install_fonts.sh (a few are enough)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.data.datasets import load_tsv
from inkreader.errors import DatasetError, InkreaderError
from inkreader.synth.fonts import find_fonts
from inkreader.synth.generate import SynthConfig, Synthesizer, generate
from inkreader.synth.render import PageContext, render_line
from inkreader.synth.text import TextSampler, load_corpus, load_gnhk_words

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
GNHK_WORDS = SHARED / "gnhk" / "train_words.csv"
HOOKER = SHARED / "hooker" / "lines.tsv"
CHARSET = Charset.gnhk()


@pytest.fixture(scope="module")
def fonts():
    found = find_fonts()  # fails with the install hint when no font is installed
    # a few families, spread over the list, keep the tests fast
    families = sorted({f.family for f in found})[::12]
    return [f for f in found if f.family in families]


@pytest.fixture(scope="module")
def config():
    return SynthConfig(seed=7, gnhk_words=str(GNHK_WORDS), lines_tsv=str(HOOKER))


@pytest.fixture(scope="module")
def synth(fonts, config):
    return Synthesizer(fonts, config)


def test_fonts_cover_the_charset(fonts):
    assert fonts
    for f in fonts:
        assert len(f.missing) <= 2 and f.x_height > 0
        assert not f.missing - set(CHARSET.symbols)


def test_no_font_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "broken.ttf").write_bytes(b"not a font")
    with pytest.raises(InkreaderError, match="no handwriting font.*install_fonts.sh"):
        find_fonts([tmp_path / "fonts"])
    code = main(["synth", str(tmp_path / "out"), "--count", "2",
                 "--fonts-dir", str(tmp_path / "fonts")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no handwriting font" in err and str(tmp_path / "fonts") in err
    assert not (tmp_path / "out").exists()


def test_same_seed_same_line_and_seeds_differ(synth, fonts, config):
    again = Synthesizer(fonts, config)
    for i in (0, 5, 11):
        img, text, face = synth.line(i)
        img2, text2, face2 = again.line(i)
        assert (text, face) == (text2, face2)
        assert np.array_equal(img, img2)
    other = Synthesizer(fonts, SynthConfig(seed=8, gnhk_words=config.gnhk_words,
                                           lines_tsv=config.lines_tsv))
    assert [other.line(i)[1] for i in range(5)] != [synth.line(i)[1] for i in range(5)]


def test_images_are_grayscale_lines_with_ink(synth):
    for i in range(12):
        img, text, _ = synth.line(i)
        assert img.dtype == np.uint8 and img.ndim == 2
        assert 64 <= img.shape[0] <= 128
        assert img.shape[1] >= 8 and img.shape[1] <= 60 * max(len(text), 2) * 2
        dark = (img < np.percentile(img, 90) - 40).mean()
        assert 0.002 < dark < 0.6, (i, text)  # some ink, and mostly paper


def test_text_statistics_look_like_gnhk_lines():
    sampler = TextSampler(load_corpus(GNHK_WORDS, HOOKER))
    texts = [sampler.sample(np.random.default_rng([3, i])) for i in range(2000)]
    assert all(t and t == t.strip() and "  " not in t for t in texts)
    assert all(not CHARSET.unknown(t) for t in texts)
    lengths = np.array([len(t) for t in texts])
    # GNHK test lines: mean 21.7 characters, median 20, 95th percentile 49
    assert 15 < lengths.mean() < 30 and 12 <= np.median(lengths) <= 26
    assert np.percentile(lengths, 95) < 70
    joined = "".join(texts)
    assert 0.02 < sum(c.isupper() for c in joined) / len(joined) < 0.15
    assert 0.01 < sum(c.isdigit() for c in joined) / len(joined) < 0.08
    assert 0.05 < np.mean([any(c.isdigit() for c in t) for t in texts]) < 0.4
    assert "£" in joined and "." in joined and "," in joined and "&" in joined


def test_gnhk_tags_are_not_text(tmp_path):
    csv = tmp_path / "w.csv"
    csv.write_text("image_filename,text\na_1_0.jpg,Dear\na_1_1.jpg,%math%\na_1_2.jpg,Sir\n"
                   'a_1_3.jpg,"yes,"\nb_2_0.jpg,%SC%\nb_2_1.jpg,Hi\n', encoding="utf-8")
    assert load_gnhk_words(csv) == [["Dear"], ["Sir", "yes,"], ["Hi"]]


def test_avoided_glyphs_are_not_in_the_text():
    sampler = TextSampler(load_corpus(None, None))
    avoid = frozenset("e")
    for i in range(50):
        assert "e" not in sampler.sample(np.random.default_rng(i), avoid)


def _rows(out: Path) -> list[str]:
    return (out / "lines.tsv").read_text(encoding="utf-8").splitlines()


def test_generate_writes_a_loadable_set_independent_of_workers(tmp_path, fonts, config):
    one, two = tmp_path / "one", tmp_path / "two"
    generate(one, 10, config, fonts, workers=1, chunk=3)
    generate(two, 10, config, fonts, workers=2, chunk=3)
    assert _rows(one) == _rows(two)
    assert _rows(one)[0] == "file\ttext\tfont"
    samples = load_tsv(one / "lines.tsv")
    assert [s.id for s in samples] == [f"lines/{i:07d}.jpg" for i in range(10)]
    for s in samples:
        assert not CHARSET.unknown(s.text) and s.text
        img = cv2.imread(str(s.path), cv2.IMREAD_UNCHANGED)
        assert img.ndim == 2 and 64 <= img.shape[0] <= 128
        assert np.array_equal(img, cv2.imread(str(two / s.id), cv2.IMREAD_UNCHANGED))
    assert not (one / "lines.tsv.partial").exists()


def test_out_dir_modes(tmp_path, fonts, config):
    out = tmp_path / "set"
    generate(out, 4, config, fonts)
    with pytest.raises(DatasetError, match="not empty.*--resume.*--overwrite"):
        generate(out, 4, config, fonts)
    # a run killed mid-way: three rows done and one cut short; resume finishes the same set
    rows = _rows(out)
    (out / "lines.tsv").unlink()
    (out / "lines.tsv.partial").write_text("\n".join(rows[:4]) + "\nlines/000", "utf-8")
    done, _ = generate(out, 6, config, fonts, mode="resume")
    assert done == 3
    full = tmp_path / "full"
    generate(full, 6, config, fonts)
    assert _rows(out) == _rows(full)
    other = SynthConfig(seed=99, gnhk_words=config.gnhk_words, lines_tsv=config.lines_tsv)
    with pytest.raises(DatasetError, match="differ"):
        generate(out, 6, other, fonts, mode="resume")
    (out / "notes.txt").write_text("mine", "utf-8")
    generate(out, 2, other, fonts, mode="overwrite")
    assert len(_rows(out)) == 3 and len(list((out / "lines").glob("*.jpg"))) == 2
    assert (out / "notes.txt").read_text("utf-8") == "mine"  # not ours: left alone


def test_cli_writes_the_set(tmp_path, fonts, capsys):
    font_dir = Path(fonts[0].path).parent
    out = tmp_path / "cli"
    code = main(["synth", str(out), "--count", "3", "--seed", "2", "--fonts-dir", str(font_dir),
                 "--gnhk-words", str(GNHK_WORDS), "--lines-tsv", str(HOOKER)])
    assert code == 0
    assert len(load_tsv(out / "lines.tsv")) == 3
    assert "lines/s" in capsys.readouterr().out


def test_a_line_that_fails_to_render_is_redrawn_deterministically(fonts, config, monkeypatch):
    import inkreader.synth.generate as synth_mod

    real = synth_mod.render_line
    calls = []

    def flaky(text, face, rng, context):
        calls.append(text)
        if len(calls) == 1:
            raise ValueError("low >= high")
        return real(text, face, rng, context)

    monkeypatch.setattr(synth_mod, "render_line", flaky)
    config = dataclasses.replace(config, hershey=False)  # font files only: render_line
    first = Synthesizer(fonts, config).line(3)
    calls.clear()
    again = Synthesizer(fonts, config).line(3)
    assert first[1] == again[1] and np.array_equal(first[0], again[0])
    assert len(calls) == 2  # the failed draw, then the redraw


def test_page_context_renders_neighbours_and_back(fonts):
    face = fonts[0]
    context = PageContext(above="Hypothesis gjpq", below="Below the line", back="the back")
    alone = render_line("Dear Sir", face, np.random.default_rng(5))
    both = render_line("Dear Sir", face, np.random.default_rng(5), context)
    again = render_line("Dear Sir", face, np.random.default_rng(5), context)
    assert np.array_equal(both, again)
    assert both.ndim == 2 and 64 <= both.shape[0] <= 128
    assert not np.array_equal(alone, both)
    for text in (".", "£", "'", "i"):  # one tiny glyph still gives a proper line image
        img = render_line(text, face, np.random.default_rng(1), context)
        assert img.shape[0] >= 64 and img.shape[1] >= 8


def test_hershey_fonts_are_drawn_by_the_pen_as_further_families(fonts, config):
    from inkreader.data.pen import HERSHEY_FONTS, hershey_missing, hershey_points
    from inkreader.synth.generate import HERSHEY, hershey_faces

    points = hershey_points("Dear Sir,", "cursive")
    assert points.ndim == 2 and points.shape[1] == 3 and points[:, 2].sum() >= 5
    assert "£" in hershey_missing("cursive", "ab£") and "a" not in hershey_missing("cursive", "a")
    faces = hershey_faces(Charset.gnhk())
    assert [f.path for f in faces] == [HERSHEY + f for f in HERSHEY_FONTS]
    synth = Synthesizer(fonts, config)
    assert len(synth.families) == len(Synthesizer(
        fonts, dataclasses.replace(config, hershey=False)).families) + len(HERSHEY_FONTS)
    img = Synthesizer._hershey_line("Dear Sir,", faces[0], np.random.default_rng(1))
    assert img.dtype == np.uint8 and 64 <= img.shape[0] <= 128 and img.shape[1] > img.shape[0]
    assert img.min() < np.percentile(img, 90) - 50  # ink on paper
    with pytest.raises(ValueError, match="unknown single-stroke font"):
        hershey_points("x", "wingdings")
