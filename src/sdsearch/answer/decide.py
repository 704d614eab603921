"""The decision: how sure the best sentence answers, and which sentences make the answer."""

from __future__ import annotations

from ..retrieve import Filters, Retriever
from ..types import Answer, AnswerSentence
from .question import QuestionInfo
from .scoring import WEIGHTS, ScoredSentence, Weights, score_sentences


def confidence(q: QuestionInfo, best: ScoredSentence, w: Weights = WEIGHTS) -> float:
    """How sure the best sentence answers: the share of the question's focus it holds with
    its context, lowered when the asked-for fact is missing or the gemeente/year named in
    the question disagrees."""
    conf = best.context_cover
    if q.kind is not None and not best.fact_ok:
        conf *= w.no_fact_factor
    if best.mismatch:
        conf *= w.mismatch_factor
    return max(0.0, min(1.0, conf))


def answer_question(
    retriever: Retriever,
    question: str,
    k: int = 5,
    filters: Filters | None = None,
    threshold: float | None = None,
    max_sentences: int = 3,
    pool: int = 5,
    weights: Weights = WEIGHTS,
) -> Answer:
    """Answer ``question`` from the top hits; an empty ``sentences`` means no clear answer.

    Sentences are drawn from the top ``max(k, pool)`` passages; the answer carries the
    top ``k`` hits as its sources. Raises ``QueryError`` for an empty question.
    """
    all_hits = retriever.search([question], k=max(k, pool), filters=filters)[0]
    hits = tuple(all_hits[:k])
    threshold = retriever.settings.answer_threshold if threshold is None else threshold
    q, scored = score_sentences(retriever, question, all_hits, weights)
    if not scored:
        return Answer(question, (), 0.0, hits)
    best = scored[0]
    conf = confidence(q, best, weights)
    if conf < threshold:
        return Answer(question, (), conf, hits)
    # The best sentence, with the neighbour that completes it ("Het lukt Veilig Thuis niet
    # ... Dat komt door personeelstekort"), then near-equal sentences that hold the fact too.
    chosen = [best] + ([best.pair] if best.pair is not None else [])
    for c in scored[1:]:
        if len(chosen) >= max_sentences or c.score < best.score - weights.second_margin:
            break
        if c.mismatch or (q.kind is not None and c.span is None) or any(c.text == x.text for x in chosen):
            continue
        chosen.append(c)
    order = {id(c): i for i, c in enumerate(chosen)}
    # Text order within the best sentence's passage, so a pair reads as it does in the report.
    chosen.sort(key=lambda c: (order[id(c)] > 1 or c.hit is not best.hit, c.start if c.hit is best.hit else order[id(c)]))
    # The neighbour is context for the best sentence: only answer sentences mark a span.
    sentences = tuple(
        AnswerSentence(c.text, c.hit, c.start, c.end, None if c is best.pair else c.span, round(c.score, 4)) for c in chosen
    )
    return Answer(question, sentences, conf, hits)
