"""The corpus normaliser: HTR-United transcriptions -> GNHK-charset labels, or a drop."""

from __future__ import annotations

import pytest

from inkreader.charset import Charset
from inkreader.corpus.labels import cut_glued_expansions, normalise

CHARSET = set(Charset.gnhk().symbols)


@pytest.mark.parametrize("raw, label", [
    ("Lieutenant au 80^ème Régiment d’Infanterie", "Lieutenant au 80eme Regiment d'Infanterie"),
    ("de prié >au< a la Commedie", "de prie au a la Commedie"),       # struck out, readable
    ("qui ⟦il⟧ ne rentre", "qui il ne rentre"),                      # deleted (Leiden)
    ("R. _ Les services", "R. - Les services"),                       # "_" as a dash
    ("imp_wikitexte", "imp_wikitexte"),                               # "_" inside a word
    ("« cœur » — Æther ß ſoit", '" coeur " - AEther ss soit'),
    ("dans son¬", "dans son-"),                                       # line-end hyphen
    ("n° 12\u00a0rue\tX", "no 12 rue X"),                             # raised o, nbsp, tab
    ("  Ça  va ", "Ca va"),
])
def test_maps_into_the_charset(raw, label):
    assert normalise(raw, CHARSET).text == label


@pytest.mark.parametrize("raw, reason", [
    ("elle ne brade pas son humanité, sa <> <>", "illegible mark"),
    ("tres importantes & >< avec une", "illegible mark"),
    ("μῆνιν ἄειδε", "outside charset"),
    ("vrẽ ⁊ ꝗ", "outside charset"),
    ("^", "empty"),
])
def test_drops_what_it_cannot_map(raw, reason):
    label = normalise(raw, CHARSET)
    assert label.text is None and label.reason == reason


def test_a_character_outside_the_charset_drops_the_line_and_is_named():
    label = normalise("un ꝑ mot", CHARSET)
    assert label.text is None and label.outside == "ꝑ"


@pytest.mark.parametrize("raw, cut", [
    ("dans les mains de MrMonsieur Vicher 1 avenue", "dans les mains de Mr Vicher 1 avenue"),
    ("Le Mesnil StSaint Denis", "Le Mesnil St Denis"),
    ("époux de MmeMadame Le Bescond", "époux de Mme Le Bescond"),
    ("102 Bdboulevard Victor-Hugo", "102 Bd Victor-Hugo"),
    ("a la Vveveuve, 50 frsfrancs", "a la Vve, 50 frs"),
    ("testaments usufruits entendant maman", "testaments usufruits entendant maman"),
    ("à St GermainSaint-Germain 23 Rue", "à St Germain 23 Rue"),
    ("Vitry s/ SeineVitry-sur-Seine le neuf", "Vitry s/ Seine le neuf"),
    # not expansions: left as they are
    ("10 HP DeDion,", "10 HP DeDion,"),
    ("fernandChazot-Gariel", "fernandChazot-Gariel"),
    ("au sequestre, MrBartes, que", "au sequestre, MrBartes, que"),
])
def test_glued_expansions_are_cut_only_where_they_are_expansions(raw, cut):
    assert cut_glued_expansions(raw) == cut


def test_glued_expansions_only_for_sources_that_store_them():
    assert normalise("MrMonsieur Vicher", CHARSET).text == "MrMonsieur Vicher"
    assert normalise("MrMonsieur Vicher", CHARSET, glued_expansions=True).text == "Mr Vicher"
