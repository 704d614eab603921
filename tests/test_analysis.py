"""Dutch analysis on real sentences from the reports: numbers, compounds, stems, sentences."""

from __future__ import annotations

import pytest

from sdsearch.analysis import Analyzer, fold, normalise_number, sentence_spans, split_compound

A = Analyzer()


def shares_term(query: str, sentence: str) -> bool:
    return bool(set(A.terms(query)) & set(A.terms(sentence)))


@pytest.mark.parametrize(
    "query, sentence",
    [
        # numbers: thousands separators and currency signs do not matter
        ("1350 bijstand", "In 2022 ontvingen maandelijks gemiddeld 1.350 Velsenaren een bijstandsuitkering."),
        ("700000", "Met het coalitieakkoord ‘Handen uit de mouwen’ is hiervoor een investering van € 700.000 per jaar beschikbaar."),
        ("€ 700.000", "een investering van €700.000 per jaar"),
        ("387", "De wijk telt 387 flexwoningen, een school voor basisonderwijs met 10 klaslokalen en een gymzaal."),
    ],
)
def test_numbers_match_across_notations(query: str, sentence: str) -> None:
    assert shares_term(query, sentence)


@pytest.mark.parametrize(
    "query, sentence",
    [
        ("woning", "De wijk telt 387 flexwoningen, een school voor basisonderwijs met 10 klaslokalen en een gymzaal."),
        ("jeugdhulp", "Per 1 januari 2023 sluiten we contracten af met 4 samenwerkingsverbanden van jeugdhulpaanbieders."),
        ("schuld", "Stroomopwaarts voert de schuldhulpverlening uit voor Maassluis, Vlaardingen en Schiedam."),
        ("maatwerkvoorziening", "kan een beroep doen op een Wmo-maatwerkvoorziening (bijvoorbeeld begeleiding, dagbesteding)"),
        ("netwerken in de wijk", "In de tweede plaats zetten wij in op het verstevigen van de wijknetwerken."),
    ],
)
def test_compound_parts_match(query: str, sentence: str) -> None:
    assert shares_term(query, sentence)


def test_compound_splitting() -> None:
    assert split_compound("flexwoningen") == ("flex", "woningen")
    assert split_compound("jeugdhulpaanbieders")[-1] == "aanbieders"
    assert split_compound("arbeidsmarktregio") == ("arbeidsmarkt", "regio")  # linking -s-
    assert split_compound("ontvingen") == ()  # a common word is no compound
    assert split_compound("wmo") == ()


def test_normalise_number() -> None:
    assert normalise_number("1.350") == "1350"
    assert normalise_number("700.000") == "700000"
    assert normalise_number("1,01") == "1.01"
    assert normalise_number("2023") == "2023"


def test_stopwords_and_case_and_diacritics() -> None:
    assert A.terms("Wat gebeurt er met de Wmo?") == ["wmo"]
    assert fold("Beëindiging Oekraïners") == "beeindiging oekrainers"
    assert A.terms("Oekraïners") == A.terms("oekrainers")


def test_sentences_respect_dutch_abbreviations() -> None:
    text = "Het gaat o.a. om jeugdhulp, bijv. pleegzorg. Dit start per 1 januari 2022.\nLijstregel zonder punt"
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == ["Het gaat o.a. om jeugdhulp, bijv. pleegzorg.", "Dit start per 1 januari 2022.", "Lijstregel zonder punt"]
