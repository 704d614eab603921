"""Answers: the one to three sentences from the top passages that best answer a question.

Each sentence of the top hits is scored against the question with the encoder (cosine)
and with term overlap, plus a bonus when it holds the kind of fact asked for (an amount
for "hoeveel", a date for "wanneer", an organisation or person for "wie", a reason for
"waarom"). The exact span of that fact is marked. When the best score is below the
calibrated threshold the answer is "no answer", and the closest passages are still shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .retrieve import Filters, Retriever
from .text import fold, sentence_spans
from .types import Answer, AnswerSentence, Hit

_MONTHS = "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
_NUMBER = re.compile(
    r"(?:€\s?)?\d{1,3}(?:\.\d{3})+(?:,\d+)?(?:\s?(?:miljoen|mln|miljard))?|(?:€\s?)?\d+(?:,\d+)?(?:\s?(?:miljoen|mln|miljard|procent|%))?"
)
_DATE = re.compile(
    rf"(?:\d{{1,2}}\s+(?:{_MONTHS})\s+\d{{4}}|(?:begin|eind|halverwege|medio|per|vanaf|sinds|in)\s+(?:(?:{_MONTHS})\s+)?\d{{4}}|(?:{_MONTHS})\s+\d{{4}}|\b(?:19|20)\d{{2}}\b)",
    re.I,
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b(?:[A-Z][\w’'-]*(?:\s+(?:van|de|voor|en|het|der)?\s*[A-Z][\w’'-]*)*|[A-Z]{2,}[\w-]*)")
_REASON = re.compile(r"\b(omdat|doordat|vanwege|daardoor|daarom|zodat|om\s+\w+.*\s+te\b|waardoor|door\s+de)\b", re.I)

QUESTION_TYPES = {
    "hoeveel": "amount",
    "hoe veel": "amount",
    "wat kost": "amount",
    "welk bedrag": "amount",
    "wanneer": "date",
    "sinds wanneer": "date",
    "per wanneer": "date",
    "in welk jaar": "date",
    "wie": "who",
    "welke organisatie": "who",
    "met wie": "who",
    "waarom": "reason",
    "hoe komt": "reason",
}


def question_type(question: str) -> str | None:
    q = fold(question).strip()
    for cue, kind in sorted(QUESTION_TYPES.items(), key=lambda kv: -len(kv[0])):
        if q.startswith(cue) or f" {cue} " in f" {q} ":
            return kind
    return None


def fact_span(sentence: str, kind: str | None, question: str) -> tuple[int, int] | None:
    """Offsets in ``sentence`` of the fact the question asks for, if one is there."""
    qf = fold(question)
    if kind == "amount":
        cands = [m for m in _NUMBER.finditer(sentence) if not re.fullmatch(r"(19|20)\d{2}", m.group(0))]
        # A number the question already mentions is context, not the answer.
        cands = [m for m in cands if fold(m.group(0)) not in qf]
        return (cands[0].start(), cands[0].end()) if cands else None
    if kind == "date":
        cands = [m for m in _DATE.finditer(sentence) if fold(m.group(0)) not in qf]
        if not cands:
            return None
        best = max(cands, key=lambda m: len(m.group(0)))
        return (best.start(), best.end())
    if kind == "who":
        cands = [m for m in _NAME.finditer(sentence) if m.start() > 0 and fold(m.group(0)) not in qf and len(m.group(0)) > 2]
        return (cands[0].start(), cands[0].end()) if cands else None
    if kind == "reason":
        m = _REASON.search(sentence)
        return (m.start(), len(sentence.rstrip("."))) if m else None
    return None


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    start: int  # into the document text
    end: int
    text: str


def answer_question(
    retriever: Retriever,
    question: str,
    k: int = 5,
    filters: Filters | None = None,
    threshold: float | None = None,
    max_sentences: int = 3,
) -> Answer:
    """Answer ``question`` from the top ``k`` hits; an empty ``sentences`` means no clear answer."""
    hits = retriever.search([question], k=k, filters=filters)[0]
    threshold = retriever.settings.answer_threshold if threshold is None else threshold
    if not hits:
        return Answer(question, (), 0.0, tuple(hits))
    cands: list[_Candidate] = []
    for h in hits:
        p = h.passage
        for s, e in sentence_spans(p.text):
            if e - s >= 15:
                cands.append(_Candidate(h, p.char_start + s, p.char_start + e, p.text[s:e]))
    if not cands:
        return Answer(question, (), 0.0, tuple(hits))
    kind = question_type(question)
    qterms = set(retriever.analyzer.terms(question))
    if retriever.encoder is not None:
        qv = retriever.encoder.encode_queries([question])[0]
        sv = retriever.encoder.encode_passages([c.text for c in cands])
        cos = sv @ qv
    else:
        cos = np.zeros(len(cands), dtype=np.float32)
    scored = []
    for c, sim in zip(cands, cos, strict=True):
        terms = set(retriever.analyzer.terms(c.text))
        overlap = len(qterms & terms) / len(qterms) if qterms else 0.0
        span = fact_span(c.text, kind, question)
        type_bonus = 0.0 if kind is None else (0.1 if span else -0.1)
        rank_prior = 0.05 / c.hit.rank
        score = float(sim) + 0.25 * overlap + type_bonus + rank_prior
        scored.append((score, float(sim), overlap, c, span))
    scored.sort(key=lambda t: -t[0])
    best_score, best_sim, best_overlap, _, _ = scored[0]
    # Confidence: the encoder's similarity, lifted by lexical support; calibrated on eval/answers.jsonl.
    confidence = max(0.0, min(1.0, (best_sim - 0.75) * 5 + 0.5 * best_overlap))
    if confidence < threshold:
        return Answer(question, (), confidence, tuple(hits))
    chosen: list[AnswerSentence] = []
    for score, _sim, _ov, c, span in scored:
        if len(chosen) >= max_sentences or score < best_score - 0.05:
            break
        if any(abs(c.start - x.char_start) < 5 for x in chosen):
            continue
        chosen.append(AnswerSentence(c.text, c.hit, c.start, c.end, span, score))
    return Answer(question, tuple(chosen), confidence, tuple(hits))
