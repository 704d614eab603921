"""Answer-quality guard: the real bundled model on the real corpus, scored on fixed eval items.

Fails when a change to the answerer loses answers it used to get. The floors sit a little
under what the current answerer measures (`sdsearch eval eval/answers.jsonl`), so noise
from a changed encoder runtime does not trip them but a real regression does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CORPUS, ROOT

EVAL = ROOT / "eval"

# Measured: accuracy 0.873, no-answer precision 0.938, recall 0.938 on eval/answers.jsonl.
FLOORS = {"answer_accuracy": 0.84, "no_answer_precision": 0.85, "no_answer_recall": 0.85}


@pytest.mark.slow
def test_answer_quality_on_the_old_answer_set_stays_above_its_floor(real_index: Path) -> None:
    from sdsearch.models import load_encoder
    from sdsearch.evaluate import SpanLocator, read_jsonl, run_answers
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    retriever = Retriever(open_index(real_index), load_encoder())
    metrics, rows = run_answers(retriever, read_jsonl(EVAL / "answers.jsonl"), SpanLocator(CORPUS))
    misses = [f"{r['id']} gold {r['gold']!r} got {r['answer']!r}" for r in rows if r["answerable"] and not r.get("correct")]
    for name, floor in FLOORS.items():
        assert metrics[name] >= floor, f"{name} {metrics[name]:.3f} < {floor}; misses: {misses}"
