"""Sentence scoring: every sentence of the top passages, scored against the question.

The score of a sentence is a weighted sum of explainable signals (``ScoredSentence.signals``):
encoder similarity to the question; how much of the question's focus (IDF-weighted) the
sentence holds, alone, with its better neighbour, and with its context (section heading,
both neighbours, the document's gemeente and year); whether it holds the asked-for kind
of fact and whether the words around that fact are focus words ("387 flexwoningen" for
"hoeveel flexwoningen"); and the rank of its passage. A sentence from another gemeente
or year than the question names is marked down. Every weight is in ``Weights``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..analysis import fold, sentence_spans
from ..retrieve import Retriever
from ..types import Hit
from .question import YEAR, Bag, QuestionInfo, analyse_question, asks_money, coverage, has_word
from .spans import fact_span, words_near


@dataclass(frozen=True)
class Weights:
    """Every number that shapes an answer; tuned on eval/answers.jsonl, kept few and round."""

    cos: float = 1.0  # encoder similarity of sentence and question
    cover: float = 0.35  # focus coverage by the sentence itself
    pair: float = 0.35  # ... by the sentence with its better neighbour
    context: float = 0.2  # ... by the sentence with heading, neighbours and metadata
    fact: float = 0.3  # the sentence holds the asked-for kind of fact (minus when it does not)
    agree: float = 0.15  # ... and the words around that fact are focus words
    named: float = 0.05  # the sentence itself names the gemeente or year asked about
    rank: float = 0.05  # prior for higher-ranked passages: rank / passage rank
    mismatch: float = 0.5  # score penalty for a sentence about another gemeente or year
    bare_money: float = 0.5  # fact signal for a bare number where a euro amount was asked
    # Focus coverage: another inflection of a word, a part of a compound (share of the word).
    inflection: float = 0.75
    compound_part: float = 0.5
    other_word_share: float = 0.5  # weight of verbs and other non-nouns relative to nouns and names
    # A neighbour completes the sentence: previous counts fully, next for this share of what it adds ...
    prev_share: float = 1.0
    next_share: float = 0.8
    pair_gain: float = 0.1  # ... and is taken only when it adds more than this to the coverage
    second_margin: float = 0.05  # further answer sentences must score within this of the best
    # Confidence factors: asked-for fact missing, other gemeente/year.
    no_fact_factor: float = 0.4
    mismatch_factor: float = 0.3


WEIGHTS = Weights()


@dataclass(eq=False)
class ScoredSentence:
    """One candidate sentence and the signals that scored it (``signals`` explains ``score``)."""

    hit: Hit
    start: int  # into the document text
    end: int
    text: str
    heading: str = ""
    prev: ScoredSentence | None = None  # the neighbouring sentences in the same passage
    next: ScoredSentence | None = None
    cos: float = 0.0
    cover: float = 0.0  # focus coverage by the sentence alone
    pair_cover: float = 0.0  # ... by the sentence with its better neighbour
    pair: ScoredSentence | None = None  # that neighbour, when it adds to the coverage
    context_cover: float = 0.0  # ... with both neighbours, the heading and the metadata
    span: tuple[int, int] | None = None
    fact_ok: bool = False  # the span is the asked-for fact (for "hoeveel X": a number of X)
    agree: float = 0.0
    mismatch: bool = False
    score: float = 0.0
    signals: dict[str, float] = field(default_factory=dict)


_VEC_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_VEC_CACHE_SIZE = 20_000


def encode_sentences(retriever: Retriever, texts: list[str]) -> np.ndarray:
    """Passage-side vectors for sentences, memoised (the same passages come back often)."""
    enc = retriever.encoder
    assert enc is not None
    keys = [(enc.model_id, t) for t in texts]
    todo = list(dict.fromkeys(k for k in keys if k not in _VEC_CACHE))
    if todo:
        vecs = enc.encode_passages([t for _, t in todo])
        for k, v in zip(todo, vecs, strict=True):
            _VEC_CACHE[k] = v
        while len(_VEC_CACHE) > _VEC_CACHE_SIZE:
            _VEC_CACHE.popitem(last=False)
    for k in keys:
        _VEC_CACHE.move_to_end(k)
    return np.stack([_VEC_CACHE[k] for k in keys])


def candidate_sentences(hits: Sequence[Hit]) -> list[ScoredSentence]:
    """The sentences of ``hits`` (12 characters or more), linked to their neighbours."""
    out: list[ScoredSentence] = []
    for h in hits:
        p = h.passage
        heading = " › ".join(p.section)
        prev: ScoredSentence | None = None
        for s, e in sentence_spans(p.text):
            if e - s < 12:
                continue
            c = ScoredSentence(h, p.char_start + s, p.char_start + e, p.text[s:e], heading, prev)
            if prev is not None:
                prev.next = c
            out.append(c)
            prev = c
    return out


def years_in(text: str) -> set[int]:
    """Years named in ``text``, with periods ("2020-2023", "2022 tot en met 2027") filled in."""
    years = {int(y) for y in YEAR.findall(text)}
    for m in re.finditer(r"((?:19|20)\d{2})\s*(?:[-–/]|tot en met|t/m)\s*((?:19|20)\d{2})", text):
        years |= set(range(int(m.group(1)), int(m.group(2)) + 1))
    return years


def constraint_ok(q: QuestionInfo, c: ScoredSentence) -> bool:
    """False when the sentence is about another gemeente or year than the question names.

    Gemeente: the passage's document (or the sentence itself) must be that gemeente's.
    Year: a sentence that names years must name the asked one; a sentence without years
    takes them from its passage, heading and document.
    """
    p = c.hit.passage
    if q.gemeenten:
        places = {fold(str(p.gemeente or ""))} | {fold(str(loc.source)) for loc in p.also_at}
        if not places & set(q.gemeenten) and not any(g in fold(c.text) for g in q.gemeenten):
            return False
    if q.years:
        own = years_in(c.text)
        if own and not own & set(q.years):
            return False
        around = own | years_in(f"{c.heading}\n{p.text}") | ({p.year} if p.year else set())
        if not set(q.years) <= around:
            return False
    return True


def names_constraint(q: QuestionInfo, text: str) -> bool:
    """Whether the sentence itself names the gemeente or year the question asks about."""
    t = fold(text)
    return any(g in t for g in q.gemeenten) or any(str(y) in t for y in q.years)


def fact_agrees(q: QuestionInfo, sentence: str, span: tuple[int, int], retriever: Retriever) -> bool:
    """For "hoeveel X": X stands next to the number ("387 flexwoningen"), or anywhere in a
    table row (the row label names it: "Personen met een bijstandsuitkering ... 555 359")."""
    if q.counted is None:
        return True
    if has_word(q.counted, Bag.of(retriever, words_near(sentence, *span))):
        return True
    return len(re.findall(r"\d[\d.,]*", sentence)) >= 3 and has_word(q.counted, Bag.of(retriever, sentence))


def score_sentences(
    retriever: Retriever, question: str, hits: Sequence[Hit], w: Weights = WEIGHTS
) -> tuple[QuestionInfo, list[ScoredSentence]]:
    """Every sentence of ``hits`` scored against ``question``, best first."""
    q = analyse_question(retriever, question, w.other_word_share)
    cands = candidate_sentences(hits)
    if not cands:
        return q, []
    if retriever.encoder is not None:
        qv = retriever.encoder.encode_queries([question])[0]
        cos = encode_sentences(retriever, [c.text for c in cands]) @ qv
    else:
        cos = np.zeros(len(cands), dtype=np.float32)

    def cover(bag: Bag) -> float:
        return coverage(q, bag, w.inflection, w.compound_part)

    bags = {id(c): Bag.of(retriever, c.text) for c in cands}
    money = asks_money(question)
    for c, sim in zip(cands, cos, strict=True):
        p = c.hit.passage
        bag = bags[id(c)]
        c.cos = float(sim)
        c.cover = cover(bag)
        c.pair_cover = c.cover
        # The fact often follows the sentence that restates the question ("Dat komt door ..."),
        # so the previous sentence counts fully and the next one for part of what it adds.
        for n, share in ((c.prev, w.prev_share), (c.next, w.next_share)):
            if n is not None:
                pc = c.cover + share * (cover(bag | bags[id(n)]) - c.cover)
                if pc > c.pair_cover + w.pair_gain:
                    c.pair_cover, c.pair = pc, n
        around = " ".join(x.text for x in (c.prev, c.next) if x is not None)
        meta = f"{c.heading}\n{around}\n{p.gemeente or ''} {p.year or ''}"
        c.context_cover = cover(bag | Bag.of(retriever, meta))
        c.span = fact_span(c.text, q.kind, question)
        if c.span is not None:
            c.agree = cover(Bag.of(retriever, words_near(c.text, *c.span)))
        c.mismatch = not constraint_ok(q, c)
        c.fact_ok = c.span is not None and fact_agrees(q, c.text, c.span, retriever)
        has_fact = 0.0 if q.kind is None else (1.0 if c.fact_ok else 0.0 if c.span else -1.0)
        if money and c.span and "€" not in c.text[c.span[0] : c.span[1]]:
            has_fact = w.bare_money  # a bare number where a euro amount was asked (tables say "x € 1.000")
        c.signals = {
            "cos": w.cos * c.cos,
            "cover": w.cover * c.cover,
            "pair": w.pair * c.pair_cover,
            "context": w.context * c.context_cover,
            "fact": w.fact * has_fact,
            "agree": w.agree * c.agree,
            "named": w.named if names_constraint(q, c.text) else 0.0,
            "rank": w.rank / c.hit.rank,
            "mismatch": -w.mismatch if c.mismatch else 0.0,
        }
        c.score = sum(c.signals.values())
    cands.sort(key=lambda c: -c.score)
    return q, cands
