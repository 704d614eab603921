"""Span-based relevance and the eval runner (fake encoder; real corpus spans)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sdsearch.evaluate import (
    EvalError,
    PassageLocations,
    Span,
    SpanLocator,
    covers,
    read_jsonl,
    run_eval,
    write_trec_run,
)
from sdsearch.retrieve import Retriever
from sdsearch.store import open_index
from sdsearch.types import Location

from conftest import FakeEncoder


@pytest.mark.parametrize(
    "loc, expected",
    [
        ((100, 200), True),  # contains the span
        ((140, 400), True),  # holds 60 of 100 chars
        ((170, 400), False),  # holds only 30 of 100 chars
        ((120, 160), True),  # lies inside a long span (the span was cut into passages)
        ((0, 100), False),  # touches but does not overlap
    ],
)
def test_a_passage_covers_a_span_when_it_holds_half_of_it(loc: tuple[int, int], expected: bool) -> None:
    span = Span("a.txt", 100, 200)
    assert covers(Location("a.txt", *loc), span) is expected
    assert not covers(Location("b.txt", *loc), span)


def test_relevant_passages_are_judged_against_the_index(small_corpus: Path, small_index: Path) -> None:
    idx = open_index(small_index)
    locations = PassageLocations(idx.passages)
    loc = SpanLocator(small_corpus)
    s = "Wie het niet zelfstandig redt, kan een beroep doen op een Wmo-maatwerkvoorziening."
    # The same paragraph in two reports is one passage (indexed once): citing it counts for both.
    a = locations.relevant([loc.find("maassluis-programmabegroting-2023.txt", s)])
    b = locations.relevant([loc.find("vlaardingen-jaarstukken-2023.txt", s)])
    assert a == b and len(a) == 1


def test_missing_span_is_a_clear_error(small_corpus: Path) -> None:
    with pytest.raises(EvalError, match="fragment niet gevonden"):
        SpanLocator(small_corpus).find("vlaardingen-jaarstukken-2023.txt", "deze zin staat er niet")


def test_eval_runner_reports_ir_measures_and_misses(tmp_path: Path, small_corpus: Path, small_index: Path) -> None:
    items = [
        {"id": "q1", "query": "387 flexwoningen Mrija", "relevant": [{"source": "vlaardingen-jaarstukken-2023.txt", "span": "De wijk telt 387 flexwoningen."}], "tags": ["number"]},
        {"id": "q2", "query": "energiecoaches", "relevant": [{"source": "maassluis-programmabegroting-2023.txt", "span": "De energiecoaches helpen inwoners met een hoge energierekening."}]},
    ]
    f = tmp_path / "set.jsonl"
    f.write_text("\n".join(json.dumps(i) for i in items), encoding="utf-8")
    r = Retriever(open_index(small_index), FakeEncoder())
    rep = run_eval(r, f, corpus=small_corpus)
    assert set(rep.metrics) == {"nDCG@10", "RR@10", "R@1", "R@5", "R@10"}
    assert rep.metrics["R@10"] == 1.0
    assert rep.per_query[0]["first_relevant_rank"] == 1
    assert rep.by_tag["number"]["n"] == 1
    run = tmp_path / "run.trec"
    write_trec_run(rep, run)
    first = run.read_text().splitlines()[0].split()
    assert first[0] == "q1" and first[1] == "Q0" and first[3] == "1"


@pytest.mark.parametrize("content, message", [("{not json", "geen geldige JSON"), ("", "bevat geen vragen"), ("[1, 2]", "JSON-object")])
def test_bad_eval_files_fail_clearly(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(EvalError, match=message):
        read_jsonl(f)


# --- splits, the answer judge, per-miss detail ---------------------------------------------

from sdsearch.evaluate import headline, headline_right, judge, reliability_table, select_split  # noqa: E402
from sdsearch.types import Answer, AnswerSentence, Hit, Passage  # noqa: E402


def _answer(text: str, source: str = "a.txt", start: int = 0, span: tuple[int, int] | None = None) -> Answer:
    p = Passage("p1", source, source, text, start, start + len(text), "T")
    return Answer("q", (AnswerSentence(text, Hit(p, 1.0, 1), start, start + len(text), span),), 0.9)


def test_select_split_keeps_one_split_and_refuses_sets_without_one() -> None:
    items = [{"id": "a", "split": "dev"}, {"id": "b", "split": "test"}, {"id": "c", "split": "dev"}]
    assert [i["id"] for i in select_split(items, "dev")] == ["a", "c"]
    assert [i["id"] for i in select_split(items, "test")] == ["b"]
    assert select_split(items, None) == items and select_split(items, "all") == items
    with pytest.raises(EvalError, match="geen veld 'split'"):
        select_split([{"id": "a"}], "dev")
    with pytest.raises(EvalError, match="dev, test, cal of all"):
        select_split(items, "train")


def test_an_answer_holding_a_distinct_gold_counts_wherever_it_comes_from() -> None:
    gold_place = [(Span("a.txt", 500, 560), "Velsen besteedt de re-integratie uit aan IJmond Werkt!.", "IJmond Werkt!")]
    # Another sentence, another place, same organisation: right (this was listed as a miss).
    assert judge(_answer("De uitvoering ligt bij IJmond Werkt!, het leerwerkbedrijf."), gold_place)
    # A bare number elsewhere proves nothing.
    number = [(Span("a.txt", 500, 540), "De wijk telt 10 klaslokalen.", "10")]
    assert not judge(_answer("Er zijn 10 deelnemers."), number)
    assert judge(_answer("De wijk telt 10 klaslokalen.", start=500), number)


def test_a_table_answer_must_mark_the_right_cell() -> None:
    row = "Lasten 137.096 135.097 134.019 132.910"
    place = [(Span("a.txt", 100, 100 + len(row)), row, "137.096")]
    assert judge(_answer(row, start=100, span=(7, 14)), place)
    assert not judge(_answer(row, start=100, span=(15, 22)), place)  # 2021's cell, same row


def test_the_antwoord_line_is_judged_on_its_own() -> None:
    sentence = "Vanaf 2022 voert Stroomopwaarts de nieuwe Wet inburgering uit."
    assert headline(_answer(sentence, span=(17, 31))) == "Stroomopwaarts"
    assert headline(_answer(sentence)) is None  # no marked fact: only the sentence is shown
    assert headline(_answer("x" * 100, span=(0, 100))) is None  # too long for the "Antwoord:" line
    assert headline_right("Stroomopwaarts", ["Stroomopwaarts"])
    assert not headline_right("Maassluis", ["Stroomopwaarts"])  # a name from the same sentence is wrong
    assert headline_right("Lasten 2020: 137.096 (x € 1.000)", ["137.096"])
    assert headline_right("CPB", ["het CPB"]) and headline_right("3", ["3 partijen"])
    assert not headline_right("3", ["3 keer 3 jaar"]) and not headline_right("23", ["18 tot en met 23 jaar"])
    assert not headline_right("IJmond", ["de gemeenten in de IJmond, Zuid-Kennemerland en Haarlemmermeer"])


def test_reliability_table_buckets_by_confidence() -> None:
    rows = [{"confidence": c, "candidate_correct": ok} for c, ok in [(0.95, True), (0.92, True), (0.85, False), (0.1, False)]]
    table = {(b["lo"], round(b["hi"], 1)): (b["n"], b["accuracy"]) for b in reliability_table(rows)}
    assert table[(0.9, 1.0)] == (2.0, 1.0)
    assert table[(0.8, 0.9)] == (1.0, 0.0)
    assert table[(0.0, 0.2)] == (1.0, 0.0)


def test_answer_eval_reports_per_split_and_the_gold_rank_of_misses(tmp_path: Path, small_corpus: Path, small_index: Path) -> None:
    items = [
        {"id": "a1", "question": "Hoeveel flexwoningen telt de wijk?", "source": "vlaardingen-jaarstukken-2023.txt",
         "answer": "387", "context": "De wijk telt 387 flexwoningen.", "split": "dev"},
        {"id": "a2", "question": "Sinds wanneer ligt Skaeve Huse aan de Broekeroog?", "source": "velsen-jaarverslag-2022.txt",
         "answer": "sinds 2021", "context": "Aan de Broekeroog ligt sinds 2021 Skaeve Huse, een woonvorm voor mensen die overlast veroorzaken.",
         "split": "test"},
        {"id": "u1", "question": "Hoeveel kost de Wmo in Amsterdam?", "answer": None, "split": "test"},
    ]
    f = tmp_path / "answers.jsonl"
    f.write_text("\n".join(json.dumps(i) for i in items), encoding="utf-8")
    r = Retriever(open_index(small_index), FakeEncoder())
    rep = run_eval(r, f, corpus=small_corpus)
    assert set(rep.answers_by_split) == {"dev", "test", "all"}
    assert rep.answers_by_split["dev"]["answerable"] == 1 and rep.answers_by_split["test"]["unanswerable"] == 1
    rows = {row["id"]: row for row in rep.answer_rows}
    assert rows["a1"]["gold_rank"] is not None and rows["a1"]["gold_rank"] >= 1
    assert rows["u1"]["gold_rank"] is None
    assert rep.reliability and sum(b["n"] for b in rep.reliability) == 3
    only_dev = run_eval(r, f, corpus=small_corpus, split="dev")
    assert [row["id"] for row in only_dev.answer_rows] == ["a1"]


def test_retrieval_eval_reports_per_split(tmp_path: Path, small_corpus: Path, small_index: Path) -> None:
    items = [
        {"id": "q1", "query": "387 flexwoningen", "split": "dev",
         "relevant": [{"source": "vlaardingen-jaarstukken-2023.txt", "span": "De wijk telt 387 flexwoningen."}]},
        {"id": "q2", "query": "energiecoaches", "split": "test",
         "relevant": [{"source": "maassluis-programmabegroting-2023.txt", "span": "De energiecoaches helpen inwoners met een hoge energierekening."}]},
    ]
    f = tmp_path / "set.jsonl"
    f.write_text("\n".join(json.dumps(i) for i in items), encoding="utf-8")
    rep = run_eval(Retriever(open_index(small_index), FakeEncoder()), f, corpus=small_corpus)
    assert set(rep.by_split) == {"dev", "test", "all"}
    assert rep.by_split["dev"]["n"] == 1 and rep.by_split["all"]["n"] == 2
    assert set(rep.by_split["test"]) >= {"nDCG@10", "R@5", "n"}
    # A set without splits reports no per-split block (backward compatible output).
    plain = tmp_path / "plain.jsonl"
    plain.write_text("\n".join(json.dumps({k: v for k, v in i.items() if k != "split"}) for i in items), encoding="utf-8")
    assert run_eval(Retriever(open_index(small_index), FakeEncoder()), plain, corpus=small_corpus).by_split == {}
