"""The decision: which sentences make the answer, and how sure it is.

The answer is the smallest window that holds the fact and reads on its own: the best
sentence, plus the neighbour it leans on (an anaphor or connective, a colon lead-in, the
header line of a table row) — at most three sentences and 450 characters — with the
fact's span marked in the best sentence.

Two logistic heads read the decision's raw signals (``Calibration.signals``): P(the answer
is right) — the "zekerheid" shown — and P(the reports answer the question), which decides
between an answer and "geen duidelijk antwoord" at ``Settings.answer_threshold``; the hits
stay either way. Both are fitted by ``bench/answer_calibrate.py`` on out-of-fold decisions of
development questions (questions the scorer was not fitted on), each weight held to the
direction its signal can push (a missing fact never makes an answer more likely right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from ..config import Settings
from ..retrieve import Filters, Retriever
from ..types import Answer, AnswerSentence, Hit
from .question import QuestionInfo, is_keyword_query, question_type
from .scoring import WEIGHTS, ScoredSentence, Weights, score_sentences, softmax


@dataclass(frozen=True)
class StatedAnswer(Answer):
    """An answer whose fact needs words the text does not print together: a table cell with
    its row, column and unit ("Lasten 2020: 137.096 (x € 1.000)"). ``span`` gives that."""

    statement: str | None = None

    @property
    def span(self) -> str | None:  # type: ignore[override]
        return self.statement or super().span


# Kinds answered by a clause or a list, not a fact to state on its own ("Antwoord:" shows no span
# for them; on dev their spans made a right "Antwoord:" line 4 times out of 11, against 0.94 for
# the rest). "welke wijk/projecten/…" ("which") joined in 0.2.4: on dev (answers3 and the dev
# questions) its one marked name was the answer 19 times out of 36, often one item of a list.
CLAUSE_KINDS = ("definition", "how", "reason", "which")
HARD_KINDS = ("amount", "date", "who")  # kinds whose fact is a number, date or name: missing means no answer


@dataclass(frozen=True)
class Calibration:
    """Logistic map from the decision's raw signals to P(answer is right); fitted by
    ``python bench/answer_calibrate.py`` (see its docstring) and pasted here."""

    intercept: float = -1.0
    p_top: float = 1.0  # softmax share of the best candidate among all candidates (0 when a fact is missing)
    margin: float = 0.8  # score of the best minus the second best, at most 5 (0 when a fact is missing)
    context: float = 0.0  # focus coverage of the best sentence in its context
    cover: float = 0.8  # ... by its window
    low_cover: float = -3.0  # how far the window's coverage falls under 0.4
    hard_missing: float = -2.5  # an amount, date or name was asked and the window has none that fits
    soft_missing: float = -0.7  # a cause, definition, ... was asked and no cue for it was found
    top_missing: float = -0.5  # the question's rarest focus word is nowhere in the window, heading or neighbours
    mismatch: float = -1.5  # the best sentence is about another gemeente or year
    no_data: float = -1.0  # the addressed table cell is empty ("g.g.b.")
    keyword: float = 0.0  # keyword-style input
    open_kind: float = 0.0  # the question asks what, how, why or which (a clause), not an amount, date or name

    def signals(self, q: QuestionInfo, scored: list[ScoredSentence]) -> dict[str, float]:
        best = scored[0]
        probs = softmax([c.score for c in scored])
        second = scored[1].score if len(scored) > 1 else best.score - 5.0
        f = best.features
        cover = best.cover + f.get("lean_prev", 0.0) + f.get("lean_next", 0.0)
        fact_ok = best.fact_at is not None and best.fact_at.fact_ok
        keyword = is_keyword_query(q.text)
        # Keyword input asks no kind of fact, unless it names a figure ("tarief wmo vervoer velsen").
        missing = q.kind is not None and not fact_ok and (not keyword or q.kind == "amount")
        if q.kind is not None and q.kind not in HARD_KINDS and not keyword:
            missing = missing and max(v for k, v in f.items() if k.startswith("cue_")) == 0.0
        hard = missing and q.kind in HARD_KINDS
        no_data = best.fact_at is not None and best.fact_at.no_data
        # How far ahead the best candidate is means something only when it holds the fact
        # and is about the gemeente and year asked.
        gate = hard or best.mismatch or no_data
        return {
            "p_top": 0.0 if gate else probs[0],
            "margin": 0.0 if gate else min(5.0, best.score - second),
            "context": best.context_cover,
            "cover": min(1.0, cover),
            "low_cover": max(0.0, 0.4 - min(1.0, cover)),
            "hard_missing": 1.0 if hard else 0.0,
            "soft_missing": 1.0 if missing and q.kind not in HARD_KINDS else 0.0,
            "top_missing": 0.0 if best.top_seen else 1.0,
            "mismatch": 1.0 if best.mismatch else 0.0,
            "no_data": 1.0 if no_data else 0.0,
            "keyword": 1.0 if keyword else 0.0,
            "open_kind": 1.0 if q.kind not in HARD_KINDS and not keyword else 0.0,
        }

    def rescaled(self, a: float, b: float) -> Calibration:
        """The same map with its logit z turned into a·z + b (Platt scaling): same order, other level."""
        return Calibration(**{f.name: getattr(self, f.name) * a + (b if f.name == "intercept" else 0.0) for f in fields(self)})

    def probability(self, signals: dict[str, float]) -> float:
        z = self.intercept + sum(getattr(self, k) * v for k, v in signals.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# P(the answer shown is right): the "zekerheid" shown with an answer. Its weights are fitted by
# ``bench/answer_calibrate.py`` on out-of-fold decisions of dev questions (DEV_CALIBRATION); on
# questions written after the rules were frozen it was too sure (eval/answers4.jsonl, split
# "cal": 0.8-0.9 said where 0.64 were right), so its logit is rescaled there, z → a·z + b, by
# ``bench/answer_recalibrate.py``: two numbers fitted on cal, the order of answers unchanged.
DEV_CALIBRATION = Calibration(intercept=-0.611, p_top=4.350, margin=0.000, context=0.000, cover=0.812, low_cover=-0.966, hard_missing=-3.484, soft_missing=-0.386, top_missing=0.000, mismatch=-2.195, no_data=-0.406, keyword=-0.760, open_kind=-1.013)
CALIBRATION = DEV_CALIBRATION.rescaled(0.507, 0.143)
# P(the reports answer the question at all): an answer is shown only when this reaches
# ``Settings.answer_threshold``. Fitted by ``bench/answer_calibrate.py`` on out-of-fold
# decisions of dev questions, with "answerable" as the target, so a question the reports answer
# is not declined just because the best sentence is unsure. (Refitted on the cal questions it
# did no better there: 126 against 125 questions right out of 165, bench/results/answer_eval.md.)
ANSWERABLE = Calibration(intercept=1.698, p_top=2.634, margin=0.000, context=0.000, cover=0.525, low_cover=0.000, hard_missing=-5.146, soft_missing=0.000, top_missing=0.000, mismatch=-3.645, no_data=-0.540, keyword=0.000, open_kind=0.000)


# P(answerable) below which the answer is "geen duidelijk antwoord": inside the range (0.40-0.80
# after the issue-11 refit) where out-of-fold no-answer precision and recall on dev are both
# highest (bench/answer_calibrate.py). Its one home is ``Settings.answer_threshold``.
ANSWER_THRESHOLD = Settings.answer_threshold


def _threshold(retriever: Retriever) -> float:
    """``Settings.answer_threshold``: the fitted ANSWER_THRESHOLD unless a user set another."""
    return float(retriever.settings.answer_threshold)


@dataclass
class Decision:
    """Everything behind one answer: what is shown, what would be shown at any confidence,
    and the scored candidate sentences (best first), for evaluation and explanation."""

    answer: Answer  # no sentences when the confidence is under the threshold
    candidate: Answer  # the best answer regardless of the threshold
    question: QuestionInfo
    scored: list[ScoredSentence]
    threshold: float
    signals: dict[str, float]
    answerable: float = 0.0  # P(the reports answer the question); shown when >= threshold


def decide(
    retriever: Retriever,
    question: str,
    k: int = 5,
    filters: Filters | None = None,
    threshold: float | None = None,
    pool: int = 5,
    weights: Weights = WEIGHTS,
    calibration: Calibration = CALIBRATION,
    answerability: Calibration = ANSWERABLE,
) -> Decision:
    """Score the sentences of the top hits and decide what to answer (see ``answer_question``)."""
    all_hits = retriever.search([question], k=max(k, pool), filters=filters)[0]
    hits = tuple(all_hits[:k])
    threshold = _threshold(retriever) if threshold is None else threshold
    q, scored = score_sentences(retriever, question, all_hits, weights)
    if not scored:
        none = Answer(question, (), 0.0, hits)
        return Decision(none, none, q, scored, threshold, {}, 0.0)
    signals = calibration.signals(q, scored)
    conf = calibration.probability(signals)
    answerable = answerability.probability(signals)
    candidate = compose(question, scored[0], conf, hits)
    shown = candidate if answerable >= threshold else Answer(question, (), conf, hits)
    return Decision(shown, candidate, q, scored, threshold, signals, answerable)


def answer_question(
    retriever: Retriever,
    question: str,
    k: int = 5,
    filters: Filters | None = None,
    threshold: float | None = None,
    pool: int = 5,
    weights: Weights = WEIGHTS,
) -> Answer:
    """Answer ``question`` from the top hits; an empty ``sentences`` means no clear answer.

    Sentences are drawn from the top ``max(k, pool)`` passages (and the sentences right
    beside them); the answer carries the top ``k`` hits as its sources. Raises
    ``QueryError`` for an empty question.
    """
    return decide(retriever, question, k, filters, threshold, pool, weights).answer


def compose(question: str, best: ScoredSentence, conf: float, hits: tuple[Hit, ...]) -> Answer:
    """The answer ``best`` gives: its window, the fact's span marked where it stands."""
    win = best.window or [best]
    at = best.fact_at
    sentences = tuple(
        AnswerSentence(c.text, c.hit, c.start, c.end, c.span if c is at else None, round(best.score, 4))
        for c in sorted(win, key=lambda c: c.start)
    )
    if at is not None and at.statement:
        return StatedAnswer(question, sentences, conf, hits, statement=at.statement)
    return Answer(question, sentences, conf, hits, states_fact=question_type(question) not in CLAUSE_KINDS)


def confidence(q: QuestionInfo, scored: list[ScoredSentence], calibration: Calibration = CALIBRATION) -> float:
    """P(the best candidate answers the question), from the calibrated logistic map."""
    return calibration.probability(calibration.signals(q, scored)) if scored else 0.0
