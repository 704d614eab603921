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
    with pytest.raises(EvalError, match="span not found"):
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


@pytest.mark.parametrize("content, message", [("{not json", "not valid JSON"), ("", "holds no items"), ("[1, 2]", "JSON object")])
def test_bad_eval_files_fail_clearly(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(EvalError, match=message):
        read_jsonl(f)
