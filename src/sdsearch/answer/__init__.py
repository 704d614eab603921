"""Answers: the one to three sentences from the top passages that best answer a question.

How an answer is found, in four explainable steps, one module each:

1. **Read the question** (`question.analyse_question`): the kind of fact it asks for (an
   amount for "hoeveel"/"wat kost", a date for "wanneer", an organisation or person for
   "wie", a reason for "waarom"), its focus words weighted by their IDF in the index, and
   the gemeenten and years it names.
2. **Mark the span** of the fact in a sentence (`spans.fact_span`): the number, date,
   name or reason clause.
3. **Score each sentence of the top passages** (`scoring.score_sentences`) on encoder
   similarity, focus coverage alone / with a neighbour / in context, the asked-for fact
   and the words around it, and the rank of its passage; a sentence from another
   gemeente or year than the question names is marked down. All weights: `scoring.Weights`.
4. **Decide** (`decide.decide`): two calibrated heads over the best sentence's signals —
   P(right), shown as the confidence ("zekerheid"), and P(answerable); below
   ``Settings.answer_threshold`` the answer is "no clear answer"; the hits are still returned.
"""

from __future__ import annotations

from .compare import answer_per_gemeente
from .decide import CALIBRATION, Calibration, Decision, StatedAnswer, answer_question, confidence, decide
from .question import Bag, FocusWord, QuestionInfo, analyse_question, asks_money, counted_word, coverage, question_type
from .scoring import WEIGHTS, ScoredSentence, Weights, score_sentences
from .spans import fact_span, fact_spans

__all__ = [
    "CALIBRATION",
    "WEIGHTS",
    "Calibration",
    "Decision",
    "StatedAnswer",
    "decide",
    "Bag",
    "FocusWord",
    "QuestionInfo",
    "ScoredSentence",
    "Weights",
    "analyse_question",
    "answer_per_gemeente",
    "answer_question",
    "asks_money",
    "confidence",
    "counted_word",
    "coverage",
    "fact_span",
    "fact_spans",
    "question_type",
    "score_sentences",
]
