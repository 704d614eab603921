"""Dutch analysis on real sentences from the reports: numbers, compounds, stems, sentences.

The analyzer imports no language library (issue 15): its tokenizer and sentence splitter are
ports of spaCy's Dutch rules, its stemmer is PyStemmer and its word lists are files in
sdsearch/data. The agreement tests at the end check them against spaCy, NLTK and wordfreq
on the bundled reports and the eval sets (skipped where those libraries are not installed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sdsearch.analysis import (
    Analyzer,
    _lexicon,
    fold,
    normalise_number,
    sentence_spans,
    split_compound,
    stem,
    stopwords,
    token_spans,
)

ROOT = Path(__file__).resolve().parents[1]

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


def test_sentences_follow_the_sentencizer_rules() -> None:
    text = "Zie www.vng.nl. Het budget is € 1,5 mln.  (Zie bijlage.) Klaar? Ja! «Nee.» Dat is 2022. Einde"
    spans = [text[s:e] for s, e in sentence_spans(text)]
    # As spaCy's sentencizer: "mln." is an abbreviation, and punctuation after "!" ("«")
    # stays with the sentence it ends.
    assert spans == [
        "Zie www.vng.nl.",
        "Het budget is € 1,5 mln.  (Zie bijlage.)",
        "Klaar?",
        "Ja! «",
        "Nee.»",
        "Dat is 2022.",
        "Einde",
    ]
    assert sentence_spans("  \n\n ") == []
    assert sentence_spans("abc. def", 5) == [(5, 8)]


# --- tokens: spaCy's Dutch rules (expected values are spaCy 3.8's tokens) -------------------


@pytest.mark.parametrize(
    "chunk, tokens",
    [
        ("€700.000", ["€", "700.000"]),
        ("(€700)", ["(", "€", "700", ")"]),
        ("regio’s", ["regio", "’s"]),  # an exception rejoined after the infix split
        ("zo’n", ["zo", "’n"]),
        ("(bijv.", ["(", "bijv."]),  # an abbreviation keeps its period
        ("o.a.)", ["o.a.", ")"]),
        ("e.o.", ["e.o."]),
        ("g.g.b.", ["g.g.b", "."]),
        ("J.", ["J."]),
        ("WMO.", ["WMO", "."]),
        ("2022.", ["2022", "."]),
        ("zorg.De", ["zorg", ".", "De"]),
        ("10km.", ["10", "km", "."]),
        ("°C.", ["°", "C", "."]),
        ("120%", ["120%"]),
        ("a--b", ["a", "--", "b"]),
        ("https://www.vng.nl/a?b=c,", ["https://www.vng.nl/a?b=c", ","]),
        ("1/1/'20", ["1/1/'20"]),
    ],
)
def test_tokens_follow_spacy_dutch_rules(chunk: str, tokens: list[str]) -> None:
    assert [chunk[a:b] for a, b in token_spans(chunk)] == tokens


def test_analyzer_tokens() -> None:
    assert A.tokens("Het Wmo-vervoer kost € 1.350 per jaar (o.a. regio’s).") == [
        "het", "wmo", "vervoer", "kost", "1350", "per", "jaar", "o.a", "regio", "s"
    ]


@pytest.mark.parametrize(
    "word, expected",
    [("woningen", "woning"), ("gemeenten", "gemeent"), ("maatschappelijke", "maatschapp"),
     ("uitkeringen", "uitker"), ("wonen", "won"), ("jeugdhulpaanbieders", "jeugdhulpaanbieder")],
)
def test_stems_are_the_classic_snowball_dutch(word: str, expected: str) -> None:
    # The classic (Porter) Dutch stemmer, as NLTK and PyStemmer's "dutch_porter" give it;
    # Snowball 3's new "dutch" would give "gemeenten" → "meen".
    assert stem(word) == expected


def test_word_lists_load_from_package_data() -> None:
    lex = _lexicon()
    assert len(lex) > 50_000
    assert lex["jeugd"] == pytest.approx(4.92) and lex["de"] == pytest.approx(7.73)
    assert all(w == fold(w) for w in list(lex)[:2000])
    assert {"de", "het", "wat", "hoeveel", "gebeurt"} <= stopwords()


def test_query_path_imports_no_language_library() -> None:
    code = (
        "import sys\n"
        "import sdsearch.retrieve, sdsearch.answer\n"
        "from sdsearch.analysis import Analyzer, sentence_spans\n"
        "Analyzer().terms('Wat kost de jeugdhulp in Vlaardingen? Zie o.a. bijlage 2.')\n"
        "sentence_spans('Eerste zin. Tweede zin.')\n"
        "heavy = {'spacy', 'thinc', 'nltk', 'scipy', 'sklearn', 'wordfreq', 'torch', 'pandas'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# --- agreement with the libraries the analyzer replaces --------------------------------------


def _report_texts() -> list[str]:
    """The bundled reports, line by line, and every query, question and span of eval/."""
    texts = [line for p in sorted((ROOT / "corpus").glob("*.txt")) for line in p.read_text(encoding="utf-8").split("\n")]
    for p in sorted((ROOT / "eval").glob("*.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            texts += [item[k] for k in ("query", "question", "answer", "context") if isinstance(item.get(k), str)]
            texts += [r["span"] for r in item.get("relevant") or [] if isinstance(r, dict) and "span" in r]
    return [t for t in texts if t.strip()]


@pytest.fixture(scope="module")
def spacy_nl():
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("nl")
    nlp.add_pipe("sentencizer")
    return nlp


def _spacy_sentences(nlp, text: str) -> list[tuple[int, int]]:
    """sdsearch 0.1's sentence_spans: spaCy's sentencizer, one line at a time, trimmed."""
    import re

    spans = []
    for m in re.finditer(r"[^\n]+", text):
        for sent in nlp(m.group(0)).sents:
            s, e = m.start() + sent.start_char, m.start() + sent.end_char
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s:
                spans.append((s, e))
    return spans


@pytest.mark.slow  # loads spaCy, NLTK or wordfreq for the agreement check
def test_tokens_and_sentences_agree_with_spacy_on_the_reports(spacy_nl) -> None:
    texts = _report_texts()
    assert len(texts) > 1000
    for text in texts:
        want = [(t.idx, t.idx + len(t.text)) for t in spacy_nl.tokenizer(text) if not t.is_space]
        assert token_spans(text) == want, text
    for p in sorted((ROOT / "corpus").glob("*.txt")):
        text = p.read_text(encoding="utf-8")
        assert sentence_spans(text) == _spacy_sentences(spacy_nl, text), p.name


@pytest.mark.slow  # loads spaCy, NLTK or wordfreq for the agreement check
def test_tokens_and_sentences_agree_with_spacy_on_odd_text(spacy_nl) -> None:
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    pieces = list("aAbBeEsStTmMkK0123456789.,;:!?()[]\"'’‘-–/…%€$+=<>&#_°²«» ßÉπ→©\t") + [
        "o.a.", "bijv.", "e.o.", "J.", "Dr.", "'s", "’s", "zo’n", "www.vng.nl", "10km", "°C.", "US$", "1.350",
        "2022.", "WMO.", "a--b", "  ", "regio", "Wmo-vervoer",
    ]

    @hypothesis.settings(max_examples=400, deadline=None, derandomize=True)
    @hypothesis.given(st.lists(st.sampled_from(pieces), min_size=1, max_size=10))
    def check(parts: list[str]) -> None:
        text = "".join(parts)
        want = [(t.idx, t.idx + len(t.text)) for t in spacy_nl.tokenizer(text) if not t.is_space]
        assert token_spans(text) == want
        assert sentence_spans(text) == _spacy_sentences(spacy_nl, text)

    check()


@pytest.mark.slow  # loads spaCy, NLTK or wordfreq for the agreement check
def test_stems_agree_with_nltk() -> None:
    snowball = pytest.importorskip("nltk.stem.snowball")
    nltk_stem = snowball.SnowballStemmer("dutch").stem
    words = {t for text in _report_texts() for t in Analyzer(stem=False).terms(text) if t.isalpha()}
    words |= set(_lexicon())
    assert len(words) > 50_000
    assert [w for w in sorted(words) if stem(w) != nltk_stem(w)] == []


@pytest.mark.slow  # loads spaCy, NLTK or wordfreq for the agreement check
def test_data_files_are_what_spacy_and_wordfreq_give() -> None:
    pytest.importorskip("spacy")
    pytest.importorskip("wordfreq")
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "make_analysis_data.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
