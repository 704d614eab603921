"""A learned second stage: re-order the top fused candidates with a linear model over features
the first stage already has (BM25 and dense scores and ranks, the fused score, query kind,
term coverage in text and headings, passage length, abbreviation and sub-question matches).

The weights are fitted by ``bench/fit_rerank.py`` (pairwise logistic loss on the dev splits
of eval/retrieval_long.jsonl and eval/retrieval_short.jsonl) and shipped as constants below;
``Settings.second_stage`` switches the stage on. Everything here is cheap numpy over at most
``DEPTH`` candidates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .query import QueryPlan

DEPTH = 30  # candidates re-ordered; the rest keep their fused order below them
# The query kinds the model was fitted on (the dev sets hold long questions and short inputs,
# no ordinary questions): other queries keep the fused order.
KINDS = frozenset({"long", "short"})

FEATURES = (
    "fused",  # fused score / best fused score of the query
    "fused_rr",  # 1 / fused rank
    "sparse",  # BM25 score / best BM25 score (0: not a BM25 candidate)
    "sparse_rr",  # 1 / BM25 rank
    "dense",  # cosine - best cosine of the query
    "dense_rr",  # 1 / dense rank
    "coverage",  # IDF-weighted share of the query's terms in the passage
    "heading",  # share of the query's terms in the passage's title and section path
    "length",  # log of the passage length in characters, centred at 500
    "long",  # a long (raadsvragen-style) question
    "short",  # a short typed input
    "sparse_long",
    "dense_long",
    "sparse_short",
    "dense_short",
    "abbrev",  # share of the query's expanded long forms the passage writes out
    "subq",  # best sub-question score / best fused score
    "gemeente",  # the passage's gemeente is named in the query
    "number",  # share of the query's numbers in the passage
    "bigram",  # share of the query's adjacent term pairs that are adjacent in the passage
    "digits",  # share of digits in the passage text (tables, figures)
)

# Fitted by bench/fit_rerank.py (see bench/results/second_stage.md); standardised inputs.
# `python bench/fit_rerank.py fit 0.003`
MEAN = np.array([0.321533, 0.133166, 0.179942, 0.101533, -0.0484552, 0.123149, 0.0912215, 0.044128, 0.0379948, 0.54717, 0.383648, 0.117195, -0.0311898, 0.0465863, -0.014585, 0.00356394, 0.0768991, 0.367715, 0.057914, 0.0271472, 0.021996])
SCALE = np.array([0.184484, 0.18975, 0.229571, 0.19721, 0.0281829, 0.192792, 0.16827, 0.112565, 0.43701, 0.49777, 0.486274, 0.187025, 0.0358142, 0.160242, 0.0233383, 0.0595923, 0.132572, 0.482183, 0.22982, 0.116127, 0.051366])
WEIGHTS = np.array([0.298383, 0.218691, 0.404519, 0.176059, 0.204271, 0.224082, 0.461328, -0.16048, -0.0247278, 0, 0, 0.416588, 0.0357931, -0.0138782, 0.19783, 0.226468, 0.020941, -0.086187, 0.168935, 0.285571, 0.199942])

_NUMBER = re.compile(r"\d[\d.,]*")


@dataclass(frozen=True)
class Candidate:
    """What the second stage reads of one candidate passage."""

    index: int  # row in the index
    terms: frozenset[str]  # its BM25 terms
    bigrams: frozenset[tuple[str, str]]  # its adjacent BM25 term pairs
    heading_terms: frozenset[str]  # terms of its title and section path
    chars: int
    text: str
    gemeente: str  # folded


def features(
    query: str,
    plan: QueryPlan,
    candidates: Sequence[Candidate],
    fused: Sequence[tuple[int, float]],
    dense: dict[int, float],
    sparse: dict[int, float],
    sub_scores: Sequence[dict[int, float]],
    idf: Callable[[str], float],
    expansion_terms: Sequence[frozenset[str]] = (),
    named_gemeenten: frozenset[str] = frozenset(),
    query_terms: Sequence[str] = (),
) -> np.ndarray:
    """(len(candidates), len(FEATURES)) for the candidates in fused order (``fused[:len]``)."""
    top_fused = max((s for _, s in fused), default=1.0) or 1.0
    sparse_rank = {i: r for r, (i, _) in enumerate(sorted(sparse.items(), key=lambda t: (-t[1], t[0])), start=1)}
    dense_rank = {i: r for r, (i, _) in enumerate(sorted(dense.items(), key=lambda t: (-t[1], t[0])), start=1)}
    top_sparse = max(sparse.values(), default=1.0) or 1.0
    top_dense = max(dense.values(), default=0.0)
    qterms = {t: w for t, w in plan.terms.items() if w >= 1.0}
    q_idf = {t: idf(t) for t in qterms}
    total_idf = sum(q_idf.values()) or 1.0
    numbers = set(_NUMBER.findall(query))
    is_long, is_short = float(plan.kind == "long"), float(plan.kind == "short")
    q_bigrams = set(zip(query_terms, query_terms[1:], strict=False))
    rows = []
    for rank, (c, (idx, score)) in enumerate(zip(candidates, fused, strict=False), start=1):
        sp = sparse.get(idx, 0.0) / top_sparse
        de = dense.get(idx, top_dense - 0.2) - top_dense if dense else 0.0
        cov = sum(v for t, v in q_idf.items() if t in c.terms) / total_idf
        head = sum(1 for t in qterms if t in c.heading_terms) / max(1, len(qterms))
        ab = sum(1 for e in expansion_terms if e and e <= c.terms) / len(expansion_terms) if expansion_terms else 0.0
        sub = max((sc.get(idx, 0.0) for sc in sub_scores), default=0.0) / top_fused
        num = sum(1 for n in numbers if n in c.text) / len(numbers) if numbers else 0.0
        big = len(q_bigrams & c.bigrams) / len(q_bigrams) if q_bigrams else 0.0
        digits = sum(ch.isdigit() for ch in c.text) / max(1, len(c.text))
        rows.append(
            [
                score / top_fused,
                1.0 / rank,
                sp,
                1.0 / sparse_rank[idx] if idx in sparse_rank else 0.0,
                de,
                1.0 / dense_rank[idx] if idx in dense_rank else 0.0,
                cov,
                head,
                math.log(max(c.chars, 1) / 500.0),
                is_long,
                is_short,
                sp * is_long,
                de * is_long,
                sp * is_short,
                de * is_short,
                ab,
                sub,
                float(bool(c.gemeente) and c.gemeente in named_gemeenten),
                num,
                big,
                digits,
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES))


def score(x: np.ndarray, mean: np.ndarray = MEAN, scale: np.ndarray = SCALE, weights: np.ndarray = WEIGHTS) -> np.ndarray:
    """The model's score of each row of ``x`` (higher: more likely relevant)."""
    return ((x - mean) / scale) @ weights


def reorder(fused: list[tuple[int, float]], scores: np.ndarray) -> list[tuple[int, float]]:
    """The first ``len(scores)`` candidates ordered by ``scores``, above the rest in fused order."""
    n = len(scores)
    head = fused[:n]
    order = sorted(range(n), key=lambda j: (-scores[j], j))
    top = max((s for _, s in fused), default=0.0)
    lo = float(scores.min()) if n else 0.0
    # Scores that keep the new order and stay above the tail (callers sort by score).
    out = [(head[j][0], top + 1.0 + float(scores[j] - lo)) for j in order]
    return out + fused[n:]
