"""Query analysis: what kind of query this is, and how retrieval adapts to it.

``plan(query, analyzer, sparse, settings)`` looks at a query once (words, BM25 terms,
questions, numbers, names) and says how to search it: the dense weight of the fusion, the
weighted BM25 terms, and the sub-questions of a long multi-part question. Everything here
is cheap string work; the Retriever does the searching (``retrieve.py``). Which parts are
on by default, and why, is measured in bench/tune_adaptive.py (README, "Retrieval quality").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .abbrev import Abbreviations, Expansion, expansions
from .analysis import Analyzer
from .config import Settings

# Terms (stemmed) that raadsvragen-style questions use in nearly every question without
# saying what they are about: learned from the dev split of eval/retrieval_long.jsonl as the
# terms in ≥ 10 % of the long dev questions, minus gemeente names and topic words
# (`python bench/tune_adaptive.py boilerplate`). Terms the index does not hold ("colleg",
# "aangev") cost nothing in BM25 and need no entry.
BOILERPLATE = frozenset(
    {"inwoner", "gemeent", "nieuw", "jar", "daarbij", "mak", "manier", "sam", "del", "tak", "rol", "via", "per", "regel", "werkt", "betrok"}
)

_WORD = re.compile(r"[^\W_][\w'’.-]*", re.UNICODE)
_NUMBER = re.compile(r"\d")
_SENTENCE = re.compile(r"[^?.!]+[?.!]*")


class TermIndex(Protocol):
    """What the plan asks of the sparse index (``sparse.SparseIndex``)."""

    def __contains__(self, term: str) -> bool: ...

    def document_frequency(self, term: str) -> int: ...


@dataclass(frozen=True)
class QueryProfile:
    words: int
    terms: int  # distinct BM25 terms
    questions: int  # question marks
    has_number: bool
    has_name: bool  # a capitalised word that does not start a sentence

    def kind(self, settings: Settings) -> str:
        """"short" (typed input), "long" (raadsvragen-style) or "normal"."""
        if self.words >= settings.long_query_words:
            return "long"
        if self.words <= settings.short_query_words:
            return "short"
        return "normal"


@dataclass(frozen=True)
class QueryPlan:
    kind: str
    dense_weight: float
    # BM25 terms with their weights (a repeated term counts twice, as in plain BM25).
    terms: dict[str, float] = field(default_factory=dict)
    # Long multi-part questions: the questions on their own (empty when not split).
    subquestions: tuple[str, ...] = ()
    corrected: tuple[tuple[str, str], ...] = ()  # (term, replacement) for the log
    # Abbreviations expanded: (short form, long form) for the log.
    expanded: tuple[tuple[str, str], ...] = ()
    # The text the encoder reads when it differs from the query (long forms written in).
    dense_text: str | None = None


def profile(query: str, analyzer: Analyzer) -> QueryProfile:
    words = _WORD.findall(query)
    starts = {m.end() for m in re.finditer(r"(?:^|[.?!:]\s*)", query)}
    named = any(
        w[:1].isupper() and not w.isupper() and m.start() not in starts
        for m in _WORD.finditer(query)
        for w in [m.group()]
    )
    return QueryProfile(
        words=len(words),
        terms=len(set(analyzer.terms(query))),
        questions=query.count("?"),
        has_number=bool(_NUMBER.search(query)),
        has_name=named,
    )


def subquestions(query: str) -> tuple[str, ...]:
    """The questions of a multi-part question ("Is het college …? Welke …?"), each on its own.

    A query with fewer than two questions is not split (empty tuple).
    """
    parts = [s.strip() for s in _SENTENCE.findall(query) if s.strip()]
    qs = tuple(s for s in parts if s.endswith("?") and len(s.split()) >= 3)
    return qs if len(qs) >= 2 else ()


class SpellIndex:
    """Known BM25 terms by their one-letter deletions: finds a known term one edit (or one
    swap of neighbours) away from an unknown one. Built on first use from the index vocabulary."""

    def __init__(self, vocabulary: Sequence[str]):
        self._by_delete: dict[str, list[str]] = {}
        for term in vocabulary:
            if len(term) < 4 or not term.isalpha():
                continue
            for d in {term} | _deletes(term):
                self._by_delete.setdefault(d, []).append(term)

    def candidates(self, term: str) -> set[str]:
        out: set[str] = set()
        for d in {term} | _deletes(term):
            out.update(self._by_delete.get(d, ()))
        out.discard(term)
        return out


def _deletes(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


def correct(
    terms: Sequence[str], index: TermIndex, spell: SpellIndex, analyzer: Analyzer
) -> tuple[list[str], list[tuple[str, str]]]:
    """Replace each term the index does not hold (a typo: "jeugdzrog") by the most frequent
    known term one edit away, with that term's compound parts ("jeugdzorg", "jeugd", "zorg")."""
    out: list[str] = []
    fixed: list[tuple[str, str]] = []
    for t in terms:
        if t in index or len(t) < 5 or not t.isalpha():
            out.append(t)
            continue
        cands = spell.candidates(t)
        if not cands:
            out.append(t)
            continue
        best = max(sorted(cands), key=index.document_frequency)
        fixed.append((t, best))
        out.extend(analyzer.terms(best) or [best])
    return out, fixed


def plan(
    query: str,
    analyzer: Analyzer,
    settings: Settings,
    index: TermIndex | None = None,
    spell: SpellIndex | None = None,
    abbreviations: Abbreviations | None = None,
) -> QueryPlan:
    """How to search ``query``: dense weight, weighted BM25 terms, sub-questions, and the long
    forms of the abbreviations it uses (``abbreviations``: learned from the index's text)."""
    terms = analyzer.terms(query)
    if not settings.adaptive:
        return QueryPlan("normal", settings.dense_weight, dict(Counter(terms)))
    prof = profile(query, analyzer)
    kind = prof.kind(settings)
    weight = {"long": settings.dense_weight_long, "short": settings.dense_weight_short}.get(kind, settings.dense_weight)
    fixed: list[tuple[str, str]] = []
    exp = expansions(query, abbreviations, analyzer.tokens(query)) if abbreviations and settings.abbrev_weight > 0 else []
    if kind == "long" and settings.long_boilerplate:
        kept = [t for t in terms if t not in BOILERPLATE]
        terms = kept or terms
    if kind == "short" and settings.spell_correct and index is not None and spell is not None:
        # A known short form is no typo: it is expanded below, not corrected.
        known = {t for e in exp if e.direction == "long" for t in analyzer.terms(e.short)}
        kept = [t for t in terms if t in known]
        terms, fixed = correct([t for t in terms if t not in known], index, spell, analyzer)
        terms += kept
    weighted: dict[str, float] = dict(Counter(terms))
    for e in exp:
        for t in dict.fromkeys(analyzer.terms(e.long if e.direction == "long" else e.short)):
            weighted[t] = weighted.get(t, 0.0) + settings.abbrev_weight
    dense_text = with_long_forms(query, exp) if exp and settings.abbrev_dense else None
    subs = subquestions(query) if kind == "long" and settings.subquestion_weight > 0 else ()
    expanded = tuple((e.short, e.long if e.direction == "long" else e.short) for e in exp)
    return QueryPlan(kind, weight, weighted, subs, tuple(fixed), expanded, dense_text)


def with_long_forms(query: str, exp: Sequence[Expansion]) -> str:
    """``query`` with each short form's long form written after it: "bw velsen" → "bw (beschermd
    wonen) velsen"; the short forms of spelled-out long forms are added at the end."""
    out = query
    for e in exp:
        if e.direction != "long":
            continue
        # A standalone short form gets its long form right after it; one inside a hyphenated
        # word ("BW-instellingen") at the end of the query.
        m = re.search(rf"(?<![\w-]){re.escape(e.short)}(?![\w-])", out, flags=re.IGNORECASE)
        if m:
            out = f"{out[: m.end()]} ({e.long}){out[m.end():]}"
        else:
            out = f"{out} ({e.long})"
    shorts = [e.short.upper() for e in exp if e.direction == "short"]
    return f"{out} ({', '.join(shorts)})" if shorts else out


def rm3_expansion(
    feedback: Sequence[tuple[Sequence[str], float]], n_terms: int, exclude: set[str] | None = None
) -> dict[str, float]:
    """RM3's relevance model over the feedback passages: Σ_d P(t|d)·P(d), with P(d) the
    passages' BM25 scores normalised to sum 1; the ``n_terms`` best terms, weights summing to 1."""
    total = sum(max(s, 0.0) for _, s in feedback)
    if total <= 0 or n_terms <= 0:
        return {}
    model: Counter[str] = Counter()
    for doc_terms, score in feedback:
        if not doc_terms or score <= 0:
            continue
        tf = Counter(doc_terms)
        n = len(doc_terms)
        for t, c in tf.items():
            model[t] += (c / n) * (score / total)
    if exclude:
        for t in exclude:
            model.pop(t, None)
    best = model.most_common(n_terms)
    z = sum(w for _, w in best)
    return {t: w / z for t, w in best} if z > 0 else {}
