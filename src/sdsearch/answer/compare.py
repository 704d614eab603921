"""Comparing gemeenten: the same question answered once per gemeente in the index.

``answer_per_gemeente`` asks the question of each gemeente's reports alone (the other
filters stay), so each answer cites its own gemeente, and a gemeente whose reports hold no
clear answer gets an ``Answer`` without sentences ("geen antwoord in de rapporten van X").
"""

from __future__ import annotations

from dataclasses import replace

from ..analysis import fold
from ..retrieve import Filters, Retriever
from ..types import Answer
from .decide import answer_question


def gemeenten(retriever: Retriever) -> list[str]:
    """The gemeenten in the index, alphabetically (case-insensitive)."""
    names = {str(d["gemeente"]) for d in retriever.index.documents if d.get("gemeente")}
    return sorted(names, key=str.casefold)


def answer_per_gemeente(
    retriever: Retriever,
    question: str,
    k: int = 5,
    filters: Filters | None = None,
    threshold: float | None = None,
) -> dict[str, Answer]:
    """``{gemeente: Answer}`` for every gemeente in the index (within ``filters``), in
    alphabetical order. Unknown filter values raise ``FilterError`` once, up front."""
    base = filters or Filters()
    retriever.allowed_mask(base)  # unknown gemeente/year/type: one clear error, not one per gemeente
    wanted = {fold(g) for g in (base.gemeente or ())}
    out: dict[str, Answer] = {}
    for g in gemeenten(retriever):
        if wanted and fold(g) not in wanted:
            continue
        f = replace(base, gemeente=Filters.make(g).gemeente)
        out[g] = answer_question(retriever, question, k=k, filters=f, threshold=threshold)
    return out
