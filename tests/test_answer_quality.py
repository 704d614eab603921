"""Answer-quality guard: the real bundled model on the real corpus, scored on fixed eval items.

Fails when a change to the answerer loses answers it used to get. The items are the ones the
scorer was fitted on — eval/answers.jsonl and the dev split of eval/answers2.jsonl — never the
test split, which stays for measuring (bench/answer_eval.py). The floors sit a few questions
under what the answerer measures (see FLOORS), so a different encoder runtime does not trip
them but a real regression does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CORPUS, ROOT

EVAL = ROOT / "eval"

# Measured (bench/answer_dev.py): old set accuracy 0.944, no-answer precision 0.933, recall
# 0.875; answers2 dev accuracy 0.848, no-answer precision 0.92-0.93, recall 0.75-0.81.
FLOORS = {
    "old": {"answer_accuracy": 0.90, "no_answer_precision": 0.85, "no_answer_recall": 0.75},
    "dev": {"answer_accuracy": 0.80, "no_answer_precision": 0.85, "no_answer_recall": 0.68},
}


@pytest.fixture(scope="module")
def retriever(real_index: Path):  # type: ignore[no-untyped-def]
    from sdsearch.models import load_encoder
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    return Retriever(open_index(real_index), load_encoder())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["old", "dev"])
def test_answer_quality_stays_above_its_floor(retriever, name: str) -> None:  # type: ignore[no-untyped-def]
    from sdsearch.evaluate import SpanLocator, read_jsonl, run_answers, select_split

    items = read_jsonl(EVAL / "answers.jsonl") if name == "old" else select_split(read_jsonl(EVAL / "answers2.jsonl"), "dev")
    metrics, rows = run_answers(retriever, items, SpanLocator(CORPUS))
    misses = [f"{r['id']} gold {r['gold']!r} got {r['answer']!r}" for r in rows if r["answerable"] and not r.get("correct")]
    for metric, floor in FLOORS[name].items():
        assert metrics[metric] >= floor, f"{name}: {metric} {metrics[metric]:.3f} < {floor}; misses: {misses}"


@pytest.mark.slow
def test_a_table_answer_states_row_column_and_unit(retriever) -> None:  # type: ignore[no-untyped-def]
    """The issue's example: the row 'Lasten', the 2020 column, the header's unit — not the unit as the answer."""
    from sdsearch.answer import answer_question

    ans = answer_question(retriever, "wat zijn de lasten van het sociaal domein in Vlaardingen in 2020?")
    assert ans.answered
    assert ans.span == "Lasten 2020: 137.096 (x € 1.000)"
    assert any(s.span_text == "137.096" for s in ans.sentences)


@pytest.mark.slow
def test_no_cost_figure_is_no_answer_not_a_number_of_contracts(retriever) -> None:  # type: ignore[no-untyped-def]
    from sdsearch.answer import answer_question

    ans = answer_question(retriever, "hoeveel kost de jeugdhulp in Velsen")
    assert not ans.answered, ans.text
