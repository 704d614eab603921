"""Abbreviations learned from the indexed text (sdsearch.abbrev), stored with the index, used by a search."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from sdsearch import build
from sdsearch.abbrev import Abbreviations, best_long_form, expansions, find_definitions, mine, mine_initials
from sdsearch.analysis import Analyzer
from sdsearch.api import build_index
from sdsearch.config import Settings
from sdsearch.query import plan, with_long_forms
from sdsearch.retrieve import Retriever
from sdsearch.store import ABBREVIATIONS_FILE, StoreError, current_generation, open_index

from conftest import FakeEncoder, write_corpus


def pairs(text: str) -> list[tuple[str, str]]:
    return [(d.short, d.long) for d in find_definitions(text)]


def test_definitions_in_both_orders() -> None:
    assert pairs("De Wet maatschappelijke ondersteuning (Wmo) regelt dit.") == [("Wmo", "Wet maatschappelijke ondersteuning")]
    assert pairs("Onder de Wmo (Wet maatschappelijke ondersteuning) valt dit.") == [("Wmo", "Wet maatschappelijke ondersteuning")]
    assert pairs("Een persoonsgebonden budget (pgb) of zorg in natura.") == [("pgb", "persoonsgebonden budget")]
    assert pairs("Taken voor beschermd wonen (BW) gaan naar de regio.") == [("BW", "beschermd wonen")]
    assert pairs("met de Gecertificeerde Instellingen (GI’s), het LTA") == [("GI’s".removesuffix("’s"), "Gecertificeerde Instellingen")]
    assert pairs("‘Wet verplichte geestelijke gezondheidszorg (Wvggz)’") == [("Wvggz", "Wet verplichte geestelijke gezondheidszorg")]


def test_asides_in_brackets_are_no_definitions() -> None:
    assert pairs("een pilot (acute) logeerzorg") == []
    assert pairs("instellingen voor (gesloten) jeugdhulp") == []
    assert pairs("in 2022 (zie bijlage 3) en verder") == []
    assert pairs("reële tarieven (AmvB). Ook") == []  # no b in the words before the bracket
    assert pairs("(Wmo)") == []


def test_best_long_form_needs_the_first_letter_at_a_word_start() -> None:
    assert best_long_form("pgb", "een persoonsgebonden budget") == "persoonsgebonden budget"
    assert best_long_form("xyz", "een persoonsgebonden budget") is None


def test_mine_keeps_the_most_used_long_form_first() -> None:
    texts = [
        "De Wet maatschappelijke ondersteuning (Wmo) en de Jeugdwet.",
        "Wmo (wet maatschappelijke ondersteuning) geldt ook hier.",
        "Een Wet maatschappelijke opvang (Wmo) bestaat niet.",
    ]
    a = mine(texts)
    assert a.get("WMO") == ["Wet maatschappelijke ondersteuning", "Wet maatschappelijke opvang"]
    assert a.long_forms["wmo"][0][1] == 2 and "wmo" in a and "WMO" in a


def test_initials_of_a_phrase_the_text_repeats() -> None:
    texts = ["Het budget voor beschermd wonen stijgt.", "Beschermd wonen gaat naar de regio.", "Over beschermd wonen en betaald werk."]
    assert mine_initials(texts)["bw"] == ("beschermd wonen", 3)
    # Twice as often as the next phrase with the same initials, or nothing.
    assert "bw" not in mine_initials(texts + ["Betaald werk loont.", "Betaald werk, zeker."])


def test_initials_of_a_name_seen_once_unless_the_text_uses_them() -> None:
    texts = ["Samen met het Centrum voor Jeugd en Gezin en de huisartsen.", "Onder de Wonen en Maatschappelijke Opvang valt veel. De Wmo helpt."]
    got = mine_initials(texts)
    assert got["cjg"] == ("centrum voor jeugd en gezin", 1)
    assert "wmo" not in got  # the text writes "Wmo" itself: one capitalised phrase is not enough
    assert "wet" not in mine_initials(["Werk en transitie. Werk en transitie. Werk en transitie. De wet."])


def test_json_round_trip_and_damage_reads_as_none() -> None:
    a = mine(["Een persoonsgebonden budget (pgb) helpt.", "Het Centrum voor Jeugd en Gezin helpt."])
    back = Abbreviations.from_json(json.loads(json.dumps(a.to_json())))
    assert back == a and back.get("pgb") == ["persoonsgebonden budget"] and back.get("CJG") == ["centrum voor jeugd en gezin"]
    for bad in (None, [], {"format": 99}, {"format": 1, "short_forms": []}, {"format": 1, "short_forms": {"x": [[1, "a"]]}}):
        assert len(Abbreviations.from_json(bad)) == 0


def test_expansions_both_ways_case_insensitive() -> None:
    a = Abbreviations({"wmo": [("Wet maatschappelijke ondersteuning", 3)]}, {"bw": ("beschermd wonen", 12)})
    tok = Analyzer().tokens
    assert [(e.short, e.long, e.direction) for e in expansions("WMO-vervoer", a, tok("WMO-vervoer"))] == [
        ("wmo", "Wet maatschappelijke ondersteuning", "long")
    ]
    assert [e.long for e in expansions("bw velsen", a, tok("bw velsen"))] == ["beschermd wonen"]
    q = "Wat regelt de wet maatschappelijke ondersteuning?"
    assert [(e.short, e.direction) for e in expansions(q, a, tok(q))] == [("wmo", "short")]
    assert expansions("beschermd wonen", a, tok("beschermd wonen")) == []  # initials are not added back
    assert expansions("wmo", Abbreviations(), ["wmo"]) == []


def test_plan_adds_the_long_form_to_bm25_and_the_dense_text() -> None:
    a, s = Analyzer(), Settings()
    ab = Abbreviations({}, {"bw": ("beschermd wonen", 12), "cjg": ("centrum voor jeugd en gezin", 1)})
    p = plan("bw velsen", a, s, abbreviations=ab)
    assert p.terms["bw"] == 1 and p.terms["beschermd"] == s.abbrev_weight and p.terms["won"] == s.abbrev_weight
    assert p.dense_text == "bw (beschermd wonen) velsen" and p.expanded == (("bw", "beschermd wonen"),)
    assert plan("bw velsen", a, replace(s, abbrev_dense=False), abbreviations=ab).dense_text is None
    off = plan("bw velsen", a, replace(s, abbrev_weight=0.0), abbreviations=ab)
    assert "beschermd" not in off.terms and off.dense_text is None and off.expanded == ()
    assert plan("bw velsen", a, s).terms == off.terms  # no abbreviations known: as before
    assert with_long_forms("Wat doet het CJG?", expansions("Wat doet het CJG?", ab, a.tokens("Wat doet het CJG?"))) == (
        "Wat doet het CJG (centrum voor jeugd en gezin)?"
    )


def test_defaults_expand_abbreviations() -> None:
    s = Settings()
    assert s.abbrev_weight == 0.5 and s.abbrev_dense


ABBREV_CORPUS = {
    "velsen-jaarverslag-2022.txt": (
        "Beschermd wonen\n"
        "Vanaf 2024 gaat beschermd wonen naar de regio. Velsen bereidde zich op beschermd wonen voor.\n"
        "Jeugd\n"
        "Het Centrum voor Jeugd en Gezin helpt ouders met opvoedvragen.\n"
        "Zorg\n"
        "Een persoonsgebonden budget (pgb) is een vorm van zorg die inwoners zelf inkopen.\n"
    ),
    "maassluis-programmabegroting-2023.txt": (
        "Beschermd wonen\nBeschermd wonen is in 2021 succesvol aanbesteed.\n"
        "Werk\nMeer inwoners vinden betaald werk via het werkgeversservicepunt.\n"
    ),
}


@pytest.fixture
def abbrev_index(tmp_path: Path, fake_encoder: FakeEncoder) -> Path:
    corpus = write_corpus(tmp_path / "corpus", ABBREV_CORPUS)
    build_index([corpus], tmp_path / "index", Settings(), encoder=fake_encoder)
    return tmp_path / "index"


def test_the_index_stores_what_its_text_defines(abbrev_index: Path) -> None:
    idx = open_index(abbrev_index)
    assert ABBREVIATIONS_FILE in idx.manifest["files"]
    assert idx.manifest["abbreviations"]["defined"] >= 1
    a = Abbreviations.from_json(idx.abbreviations)
    assert a.get("pgb") == ["persoonsgebonden budget"]
    assert a.get("cjg") == ["centrum voor jeugd en gezin"]
    assert a.get("bw") == ["beschermd wonen"]


def test_a_short_form_finds_the_passage_that_writes_it_out(abbrev_index: Path, fake_encoder: FakeEncoder) -> None:
    r = Retriever(open_index(abbrev_index), fake_encoder, Settings())
    for q, want in (("cjg", "Centrum voor Jeugd en Gezin"), ("CJG", "Centrum voor Jeugd en Gezin"), ("bw velsen", "beschermd wonen")):
        for mode in ("sparse", "hybrid"):
            hits = r.search([q], mode=mode)[0]
            assert hits and want in hits[0].text, (q, mode)
    r.settings = Settings(abbrev_weight=0.0)
    assert r.search(["cjg"], mode="sparse")[0] == []


def test_an_index_without_the_file_searches_as_before(tmp_path: Path, fake_encoder: FakeEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    real = build.assemble
    monkeypatch.setattr(build, "assemble", lambda *a, **k: replace(real(*a, **k), abbreviations=None))
    corpus = write_corpus(tmp_path / "corpus", ABBREV_CORPUS)
    build_index([corpus], tmp_path / "index", Settings(), encoder=fake_encoder)
    idx = open_index(tmp_path / "index")
    assert ABBREVIATIONS_FILE not in idx.manifest["files"] and idx.abbreviations == {}
    r = Retriever(idx, fake_encoder, Settings())
    assert len(r.abbreviations) == 0
    assert r.search(["cjg"], mode="sparse")[0] == [] and r.search(["beschermd wonen"])[0]


def test_a_damaged_abbreviations_file_is_found_on_load(abbrev_index: Path) -> None:
    gen = current_generation(abbrev_index)
    assert gen is not None
    path = gen / ABBREVIATIONS_FILE
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"pgb", b"xyz"))  # same size, other bytes
    with pytest.raises(StoreError, match="abbreviations.json"):
        open_index(abbrev_index)


def test_the_default_index_from_before_abbreviations_is_rebuilt(tmp_path: Path, fake_encoder: FakeEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    from sdsearch import api

    corpus = write_corpus(tmp_path / "corpus", ABBREV_CORPUS)
    s = Settings(corpus=corpus, index=tmp_path / "index")
    real = build.assemble

    def old_assemble(*a, **k):  # noqa: ANN002, ANN003, ANN202
        data = real(*a, **k)
        data.manifest.pop("abbreviations")
        return replace(data, abbreviations=None)

    monkeypatch.setattr(build, "assemble", old_assemble)
    build_index([corpus], s.index, s, encoder=fake_encoder)
    monkeypatch.setattr(build, "assemble", real)
    monkeypatch.setattr(api, "build_index", lambda paths, index, settings: build_index(paths, index, settings, encoder=fake_encoder))
    api.ensure_default_index(s)
    assert ABBREVIATIONS_FILE in open_index(s.index).manifest["files"]
    before = current_generation(s.index)
    api.ensure_default_index(s)  # current now: left alone
    assert current_generation(s.index) == before


def test_initials_that_are_common_words_are_not_kept() -> None:
    texts = ["De Bron Vlaardingen helpt.", "Via Bron Vlaardingen.", "Bij Bron Vlaardingen loopt het."]
    assert "bv" not in mine_initials(texts)  # "bv." means "bijvoorbeeld" in a query


def test_the_long_form_is_what_a_hit_highlights(abbrev_index: Path, fake_encoder: FakeEncoder) -> None:
    r = Retriever(open_index(abbrev_index), fake_encoder, Settings())
    hit = r.search(["cjg"], mode="sparse")[0][0]
    assert {"centrum", "jeugd", "gezin"} <= set(hit.matched_terms)


def test_a_short_form_inside_a_hyphenated_word_gets_its_long_form_at_the_end() -> None:
    a = Analyzer()
    ab = Abbreviations({}, {"bw": ("beschermd wonen", 12)})
    q = "hoeveel BW-instellingen zijn er?"
    assert with_long_forms(q, expansions(q, ab, a.tokens(q))) == "hoeveel BW-instellingen zijn er? (beschermd wonen)"
