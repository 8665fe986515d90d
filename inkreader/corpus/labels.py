"""Transcriptions of page ground truth -> labels in the model's charset, or a reason to drop.

One function, ``normalise``, used for every source. What it does, in order:

1. Lines the transcriber marked illegible (``<>`` or ``><``, CREMMA / HTR-United guidelines)
   are dropped: the image holds ink the label does not.
2. Editorial marks around text that IS written on the page are removed, their text kept:
   ``>word<`` (struck out but readable, CREMMA), ``⟦word⟧`` (deleted, Leiden), ``^`` (the next
   letters are superscript: ``M^r`` is written Mr with a raised r).
3. Abbreviations stored glued to their expansion (``MrMonsieur``, ``StSaint``,
   ``Bdboulevard``, ``Vitry s/ SeineVitry-sur-Seine``), only for sources that store them so
   (``glued_expansions``): the page shows the abbreviation, so the expansion is cut.
4. Characters mapped to what the page shows in the GNHK charset: typographic quotes,
   guillemets, dashes, ligatures (``æ œ ß``), long s, the line-end hyphen ``¬``, the raised
   ``°`` of ``n°`` (an o), ``_`` used as a dash between words, tabs and non-breaking spaces.
5. NFKD, combining accents dropped (``é`` -> ``e``).
6. A line with any character still outside the charset is dropped, never altered further.

Every drop carries a reason; the builder counts them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ILLEGIBLE = re.compile(r"<>|><")
STRUCK = re.compile(r">([^<>]*)<")
DELETED = re.compile(r"⟦([^⟦⟧]*)⟧")
# characters mapped before NFKD (NFKD would drop or keep them wrong)
CHAR_MAP = str.maketrans({
    "’": "'", "‘": "'", "‚": ",", "ʼ": "'", "´": "'", "`": "'",
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‹": "'", "›": "'",
    "—": "-", "–": "-", "‐": "-", "‑": "-", "‒": "-", "─": "-", "¬": "-", "⸗": "-",
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ſ": "s", "ẜ": "s",
    "°": "o", "º": "o", "ª": "a",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\t": " ",
    "…": "...", "×": "x",
})
# ``_`` standing alone between words is a dash (``R. _ Les services``, ``_ succession``);
# inside a word (``imp_wikitexte``) it is written as such and kept.
LONE_UNDERSCORE = re.compile(r"(?:(?<=\s)|^)_+(?=\s|$)")
_WORD = re.compile(r"\w{5,}")
_VOWELS = set("aeiouyAEIOUYéèêàâîôûÉ")
_GLUED_PLACE = re.compile(r"(\w+)([A-Z][\w]*(?:-[\w/]+)+)")


@dataclass(frozen=True)
class Label:
    """The label, or ``None`` and why the line is dropped."""

    text: str | None
    reason: str = ""
    outside: str = ""  # the characters outside the charset, for "outside charset"


def _subsequence(short: str, long: str) -> bool:
    it = iter(long.lower())
    return all(ch in it for ch in short.lower())


def _is_expansion(abbr: str, expansion: str) -> bool:
    """``Mr`` of ``Monsieur``, ``Vve`` of ``veuve``, ``frs`` of ``francs``: the expansion is
    longer, begins with the abbreviation's first letter and ends with its last, and holds its
    letters in order; the abbreviation begins with two consonants (which keeps ``testaments``,
    ``usufruits``, ``entendant`` whole)."""
    return (len(expansion) > len(abbr) and not _VOWELS & set(abbr[:2])
            and expansion[0].lower() == abbr[0].lower()
            and expansion[-1].lower() == abbr[-1].lower() and _subsequence(abbr, expansion))


def _cut_glued_word(m: re.Match) -> str:
    word = m.group(0)
    for k in range(2, 5):
        if _is_expansion(word[:k], word[k:]):
            return word[:k]
    return word


def _cut_glued_place(m: re.Match) -> str:
    last, expansion = m.group(1), m.group(2)
    return last if expansion.endswith(last) and len(expansion) > len(last) else m.group(0)


def cut_glued_expansions(text: str) -> str:
    """``MrMonsieur`` -> ``Mr``, ``StSaint`` -> ``St``, ``Bdboulevard`` -> ``Bd``,
    ``s/ SeineVitry-sur-Seine`` -> ``s/ Seine``: an abbreviation followed, without a space, by
    an expansion that begins with its first letter and contains its letters in order, or a
    place name followed by its hyphenated expansion ending with it."""
    text = _GLUED_PLACE.sub(_cut_glued_place, text)
    return _WORD.sub(_cut_glued_word, text)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise(text: str, charset: set[str], glued_expansions: bool = False) -> Label:
    """A transcription -> its label in ``charset`` (a set of symbols), or a reason to drop."""
    if ILLEGIBLE.search(text):
        return Label(None, "illegible mark")
    text = STRUCK.sub(r"\1", text)
    text = DELETED.sub(r"\1", text)
    text = text.replace("^", "")
    if glued_expansions:
        text = cut_glued_expansions(text)
    text = text.translate(CHAR_MAP)
    text = LONE_UNDERSCORE.sub("-", text)
    text = " ".join(strip_accents(text).split())
    if not text:
        return Label(None, "empty")
    outside = sorted({c for c in text if c not in charset})
    if outside:
        return Label(None, "outside charset", "".join(outside))
    return Label(text)
