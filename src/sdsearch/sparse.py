"""The sparse index: BM25 ("lucene" variant) over the Dutch analyzer's terms, in bm25s's files.

The build calls ``SparseIndex.build`` and ``save``; search calls ``load``, ``top`` and
``scores``; answering asks ``document_frequency``. Terms come in already analysed
(``analysis.Analyzer.terms``), so this room knows nothing of Dutch.

Every term's BM25 weight per passage is computed at build time and saved as a
column-compressed matrix (``.npy`` arrays, a JSON vocabulary and parameters; no pickle), the
format of bm25s. ``build`` streams the passages' terms through ``_LeanBuilder`` (term ids
and counts in numpy arrays, a counting sort into columns) and ``save`` writes the very bytes
bm25s's ``index`` + ``save`` would (``build_bm25s`` is that path, kept as the reference the
tests compare with, file by file): bm25s held Python objects per token and passage (its step
peaked 3.6 GB above the build's memory at 1M passages, this one 0.9 GB). Searching only
sums columns, so ``load`` reads those files itself, memory-mapped, and scores with numpy
exactly as bm25s does (same float32 sums in the same order): neither the build nor a
search imports bm25s. A posting list of ``KERNEL_MIN_POSTINGS`` or more is added by scipy's
compiled sparse matrix-vector kernel, one pass instead of numpy's gather, add and scatter (3×
faster on the long lists of a long question at 10M passages; the same float32 values: the
weight is applied first and the kernel adds each value once); below that scipy is not imported,
so a search on a small index never loads it. From ``BLOCK_MIN_DOCS`` passages on, a query's
postings are summed one block of rows at a time, every term's slice of that block in turn, so
the block's scores stay in the cache (``_sum_postings``: the same additions in the same order
per passage, so the same float32 scores; 2× faster on a long question's lists at 10M).

Weighted queries (``weighted_scores``, ``top_weighted``) sum weight · BM25 of each term into
one array, postings only: the same float32 values as adding ``weight * scores([term])``
array by array, without touching every passage once per term. Above ``PRUNE_MIN_DOCS``
passages ``top_weighted`` skips the postings of common terms when they cannot change the
top n (MaxScore, Turtle & Flood 1995): the exact scores of the passages holding the rarest
terms give a threshold θ (the n-th best); terms whose largest weighted contributions
together stay below θ are "non-essential", so a passage holding only those cannot enter
the top n. Only the postings of the essential terms are read whole; every candidate's score
is then completed term by term, in the query's order (the same float32 sum), by binary
search in each term's posting list (bm25s stores them sorted by passage). Same top n and
scores as the full sum; only the order of exactly tied scores may differ (by row here).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import StoreError

# bm25s variants whose saved matrix is the whole score (the others add a per-term constant).
_SUMMED_METHODS = ("lucene", "robertson", "atire")
# From this many passages on ``top_weighted`` prunes (MaxScore); below, a full sum is ~1 ms
# and its result (ties included) is the reference the eval sets were measured with.
PRUNE_MIN_DOCS = 200_000
# MaxScore's first threshold comes from the rarest terms' passages: at least this many × n.
SEED_FACTOR = 4
# ``_top`` on a large array: rows per group whose maximum is taken (a lower bound for the cut).
TOP_CHUNK = 64
# Completing one candidate's score for one term (binary search + gathers) costs about this many
# scattered posting adds (measured at 1M passages: 130 ns against 13 ns). MaxScore runs only when
# its completions cost at most half of adding every posting; else the full sum is cheaper.
COMPLETE_COST = 10
# From this many postings on, one term's postings are added by scipy's compiled kernel
# (``_add_postings``): ~3 ns a posting at 10M passages against ~9–14 ns for numpy's indexed add.
KERNEL_MIN_POSTINGS = 1 << 16
# A query's postings are summed one block of this many rows at a time (4 MB of float32 scores,
# which stay in the cache while every term adds its postings of that block), from
# ``BLOCK_MIN_DOCS`` passages on; a block's slice of a posting list goes to the kernel from
# ``BLOCK_KERNEL_MIN`` postings. Below that, term after term over the whole array.
BLOCK_ROWS = 1 << 20
BLOCK_MIN_DOCS = 2 * BLOCK_ROWS
BLOCK_KERNEL_MIN = 256

_kernel: Any = None  # scipy's csc_matvec once looked up; False when scipy cannot give it


def _csc_matvec() -> Any:
    """scipy's compiled ``csc_matvec`` (y += A·x for a column-compressed A), or None."""
    global _kernel
    if _kernel is None:
        try:
            from scipy.sparse import _sparsetools

            _kernel = _sparsetools.csc_matvec
        except (ImportError, AttributeError):  # another scipy layout: numpy's add does the same
            _kernel = False
    return _kernel or None


def _add_postings(scores: np.ndarray, rows: np.ndarray, values: np.ndarray, kernel_min: int | None = None) -> None:
    """``scores[rows] += values`` for distinct ``rows`` (one term's postings), in place.

    A list of ``kernel_min`` postings or more (default ``KERNEL_MIN_POSTINGS``) goes through
    scipy's ``csc_matvec`` as a one-column matrix times 1: it reads each posting once and adds
    it where numpy gathers, adds and scatters in three passes. Each value is added once (x·1 is
    exact), so the float32 result is numpy's, bit for bit.
    """
    if len(rows) >= (KERNEL_MIN_POSTINGS if kernel_min is None else kernel_min) and scores.dtype == values.dtype == np.float32:
        kernel = _csc_matvec()
        rows, values = np.ascontiguousarray(rows), np.ascontiguousarray(values)
        if kernel is not None and rows.dtype in (np.int32, np.int64) and scores.flags.c_contiguous:
            span = np.array([0, len(rows)], dtype=rows.dtype)
            kernel(len(scores), 1, span, rows, values, np.ones(1, dtype=np.float32), scores)
            return
    scores[rows] += values


def _bm25s() -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
    return bm25s


class SparseIndex:
    """BM25 ("lucene" variant) over pre-analysed terms, one row per passage."""

    def __init__(
        self,
        data: np.ndarray,
        indices: np.ndarray,
        indptr: np.ndarray,
        vocab: dict[str, int],
        num_docs: int,
        params: dict[str, Any],
        built: Any = None,
    ):
        self._data = data
        self._indices = indices
        self._indptr = indptr
        self._vocab = vocab
        self._df = np.diff(np.asarray(indptr)).astype(np.int64)  # postings per term = passages holding it
        self.num_docs = int(num_docs)
        self._params = params
        self._dtype = np.dtype(params.get("dtype", "float32"))
        self._built = built  # for ``save``: a fresh build's params (bm25s's object when ``build_bm25s`` built it)
        self._max: dict[int, float] = {}  # largest BM25 weight per term id, read on first use

    # -- building and files --------------------------------------------------------------

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> SparseIndex:
        """BM25 over the passages' terms, streamed: the files ``save`` writes are byte for byte
        those of bm25s (``build_bm25s``), without its Python objects per token and passage."""
        return _LeanBuilder(k1, b).run(token_lists)

    @classmethod
    def build_bm25s(cls, token_lists: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> SparseIndex:
        """The same index built by bm25s itself: the reference ``build`` is checked against."""
        bm25 = _bm25s().BM25(k1=k1, b=b)
        bm25.index([list(t) for t in token_lists], show_progress=False)
        sc = bm25.scores
        params = {"k1": bm25.k1, "b": bm25.b, "method": bm25.method, "dtype": str(np.dtype(bm25.dtype))}
        return cls(sc["data"], sc["indices"], sc["indptr"], dict(bm25.vocab_dict), int(sc["num_docs"]), params, built=bm25)

    def save(self, folder: Path) -> None:
        """The files bm25s's ``save`` writes: three ``.npy`` arrays, the vocabulary and parameters."""
        if self._built is None:
            raise StoreError("alleen een zojuist gebouwde BM25-index kan worden opgeslagen")
        if not isinstance(self._built, dict):  # built by bm25s
            self._built.save(str(folder), show_progress=False)
            return
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in (("data", self._data), ("indices", self._indices), ("indptr", self._indptr)):
            np.save(folder / f"{name}.csc.index.npy", array, allow_pickle=False)
        with open(folder / "vocab.index.json", "w", encoding="utf-8") as f:
            f.write(_dumps_vocab(self._vocab))
        with open(folder / "params.index.json", "w") as f:
            json.dump(self._built, f, indent=4)

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> SparseIndex:
        """Read the files bm25s saved (memory-mapped), without importing bm25s."""
        folder = Path(folder)
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        if params.get("method", "lucene") not in _SUMMED_METHODS:
            raise StoreError(f"BM25-variant {params.get('method')!r} wordt niet ondersteund; bouw de index opnieuw")
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        mode = "r" if mmap else None
        arrays = [np.load(folder / f"{name}.csc.index.npy", mmap_mode=mode, allow_pickle=False) for name in ("data", "indices", "indptr")]
        return cls(*arrays, vocab=vocab, num_docs=int(params.get("num_docs", 0)), params=params)

    def settings(self) -> dict[str, Any]:
        """What the manifest records: k1, b and the variant."""
        return {"k1": self._params.get("k1"), "b": self._params.get("b"), "method": self._params.get("method")}

    # -- lookups -------------------------------------------------------------------------

    def __contains__(self, term: str) -> bool:
        return term in self._vocab

    def vocabulary(self) -> list[str]:
        """Every term the index holds (for spelling correction against the corpus)."""
        return [t for t in self._vocab if t]

    def term_ids(self, terms: Sequence[str]) -> list[int]:
        """Vocabulary ids of the known terms, repeats kept (a repeated query term counts twice)."""
        vocab = self._vocab
        return [vocab[t] for t in terms if t in vocab]

    def document_frequency(self, term: str) -> int:
        """How many passages hold ``term`` (0 for a term the index has never seen)."""
        tid = self._vocab.get(term)
        return int(self._df[tid]) if tid is not None and tid < len(self._df) else 0

    def idf(self, term: str) -> float:
        """BM25-style inverse document frequency; unseen terms get the highest value."""
        n = max(1, self.num_docs)
        df = self.document_frequency(term)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    # -- scoring -------------------------------------------------------------------------

    def scores(self, terms: Sequence[str], mask: np.ndarray | None = None) -> np.ndarray | None:
        """BM25 score of every passage for ``terms`` (zero where ``mask`` is False); None when no term is known."""
        ids = self.term_ids(terms)
        if not ids or self.num_docs == 0:
            return None
        # Term by term, as bm25s sums them: the same float32 result.
        scores = self._sum_postings([(t, None) for t in ids])
        if mask is not None:
            scores *= mask.astype(np.float32)
        return scores

    def _sum_postings(self, terms: Sequence[tuple[int, float | None]]) -> np.ndarray:
        """Σ weight · BM25 of (term id, weight) over every passage (weight None: 1, unmultiplied).

        Each passage's terms are added in the query's order, and a term's postings name each
        passage once, so a plain indexed add equals bm25s's ``np.add.at``, bit for bit. From
        ``BLOCK_MIN_DOCS`` passages on, the rows are filled one block at a time, every term's
        postings of that block in turn (each list is sorted by row, so a block's postings are
        one slice): per passage the same additions in the same order, so the same float32 sum,
        with the block's scores in the cache instead of a pass over the whole array per term
        (2× faster on a long question's 20 lists at 10M passages).
        """
        scores = np.zeros(self.num_docs, dtype=self._dtype)
        # Plain views of the mapped arrays: slicing a np.memmap costs ~5 µs, a view's slice less.
        indptr, indices, data = (np.asarray(a) for a in (self._indptr, self._indices, self._data))
        dt = self._dtype.type
        spans = [(int(indptr[t]), int(indptr[t + 1]), w) for t, w in terms]
        if self.num_docs < BLOCK_MIN_DOCS or len(spans) < 2:
            for start, end, w in spans:
                values = data[start:end] if w is None else dt(w) * data[start:end]
                _add_postings(scores, indices[start:end], values)
            return scores
        inner = np.arange(BLOCK_ROWS, self.num_docs, BLOCK_ROWS).astype(indices.dtype)  # no cast of the lists
        cuts = [start + np.concatenate(([0], np.searchsorted(indices[start:end], inner), [end - start])) for start, end, _ in spans]
        for b in range(len(inner) + 1):
            for (_, _, w), cut in zip(spans, cuts, strict=True):
                lo, hi = int(cut[b]), int(cut[b + 1])
                if hi > lo:
                    values = data[lo:hi] if w is None else dt(w) * data[lo:hi]
                    _add_postings(scores, indices[lo:hi], values, BLOCK_KERNEL_MIN)
        return scores

    def top(self, terms: Sequence[str], n: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``n`` best passages (row, score) with a positive score, best first."""
        return _top(self.scores(terms, mask), n)

    # -- weighted queries ----------------------------------------------------------------

    def _weighted_ids(self, terms: Mapping[str, float] | Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        """(term id, weight) of the known terms with a positive weight, in the query's order."""
        items = terms.items() if isinstance(terms, Mapping) else terms
        vocab = self._vocab
        return [(vocab[t], float(w)) for t, w in items if w > 0 and t in vocab]

    def weighted_scores(
        self, terms: Mapping[str, float] | Sequence[tuple[str, float]], mask: np.ndarray | None = None
    ) -> np.ndarray | None:
        """Σ weight · BM25(term) of every passage (zero where ``mask`` is False); None when no
        term with a positive weight is known. Bit for bit the float32 sum of
        ``weight * scores([term], mask)`` over the terms in order, in one array instead of
        one per term. (An integer weight w gives what repeating the term w times gives only up
        to float32 rounding: (s + x) + x is not always s + 2x.)"""
        ids = self._weighted_ids(terms)
        if not ids or self.num_docs == 0:
            return None
        scores = self._sum_postings(ids)
        if mask is not None:
            scores *= mask.astype(self._dtype)
        return scores

    def top_weighted(
        self, terms: Mapping[str, float] | Sequence[tuple[str, float]], n: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The ``n`` best passages (row, score) by ``weighted_scores``, best first, positive only.

        From ``PRUNE_MIN_DOCS`` passages on, the postings of common terms are skipped when
        they cannot change the result (MaxScore, see the module docstring): the same
        passages and scores as the full sum.
        """
        ids = self._weighted_ids(terms)
        if not ids or self.num_docs == 0 or n <= 0:
            return []
        if self.num_docs >= PRUNE_MIN_DOCS and len(ids) > 1:
            found = self._top_maxscore(ids, n, mask)
            if found is not None:
                return found
        return _top(self.weighted_scores(terms, mask), n)

    def top_feedback(
        self,
        terms: Mapping[str, float],
        n: int,
        n_feedback: int,
        expand: Callable[[list[tuple[int, float]]], Mapping[str, float]],
        weight: float,
        mask: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """Top ``n`` with pseudo-relevance feedback (RM3): the ``n_feedback`` best passages for
        ``terms`` go to ``expand``, which gives expansion terms (weights summing to 1); the
        result ranks by (1 − weight) · Σ w·BM25 / Σ w + weight · Σ e·BM25(expansion).

        The feedback query's score is that linear mix of two sums, so the first sum is kept and
        only the expansion terms' postings are read again (not the question's own terms a second
        time). Without expansion terms the first ranking is returned as it is.
        """
        base = self.weighted_scores(terms, mask)
        if base is None or n <= 0:
            return []
        top = _top(base, max(n, n_feedback))
        expansion = expand(top[:n_feedback]) if top else {}
        extra = self.weighted_scores(expansion, mask) if expansion and weight > 0 else None
        if extra is None:
            return top[:n]
        dt = self._dtype.type
        base *= dt((1 - weight) / sum(w for w in terms.values() if w > 0))
        extra *= dt(weight)
        base += extra
        return _top(base, n)

    def _term_max(self, t: int) -> float:
        """The largest BM25 weight of term ``t`` in any passage (one contiguous read, cached)."""
        got = self._max.get(t)
        if got is None:
            start, end = int(self._indptr[t]), int(self._indptr[t + 1])
            got = self._max[t] = float(np.max(self._data[start:end])) if end > start else 0.0
        return got

    def _complete(self, ids: list[tuple[int, float]], rows: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """Exact weighted scores of ``rows`` (sorted): each term's weight looked up by binary
        search in its posting list, summed in the query's order as ``weighted_scores`` does."""
        out = np.zeros(len(rows), dtype=self._dtype)
        indptr, indices, data = self._indptr, self._indices, self._data
        zero = self._dtype.type(0)
        for t, w in ids:
            start, end = int(indptr[t]), int(indptr[t + 1])
            if end == start:
                continue
            postings = indices[start:end]
            pos = np.minimum(np.searchsorted(postings, rows), end - start - 1)
            value = np.where(np.asarray(postings[pos]) == rows, np.asarray(data[start:end][pos]), zero)
            out += self._dtype.type(w) * value
        if mask is not None:
            out *= mask[rows].astype(self._dtype)
        return out

    def _top_maxscore(self, ids: list[tuple[int, float]], n: int, mask: np.ndarray | None) -> list[tuple[int, float]] | None:
        """``top_weighted`` by MaxScore; None when pruning would not save work (the caller sums all)."""
        indptr, indices = self._indptr, self._indices
        spans = [(int(indptr[t]), int(indptr[t + 1])) for t, _ in ids]
        sizes = [end - start for start, end in spans]
        budget = 0.5 * sum(sizes) / (COMPLETE_COST * len(ids))  # candidate rows worth completing

        def holders(js: list[int]) -> np.ndarray:
            return np.unique(np.concatenate([np.asarray(indices[spans[j][0] : spans[j][1]]) for j in js]))

        # 1. A threshold: the n-th best exact score among the passages holding the rarest terms
        #    (a lower bound of the final n-th best).
        seed: list[int] = []
        held = 0
        for j in sorted(range(len(ids)), key=sizes.__getitem__):
            if held >= SEED_FACTOR * n or held + sizes[j] > budget / 4:
                break
            seed.append(j)
            held += sizes[j]
        if held < n:
            return None
        scores = self._complete(ids, holders(seed), mask)
        if int((scores > 0).sum()) < n:
            return None
        theta = float(np.partition(scores, len(scores) - n)[len(scores) - n])
        # 2. Non-essential terms: the smallest bounds that together stay below θ (with a margin
        #    for float32 rounding); a passage holding only those scores below the n-th best.
        bound = [w * self._term_max(t) for t, w in ids]
        below = 0.0
        skipped = set()
        for j in sorted(range(len(ids)), key=bound.__getitem__):
            if (below + bound[j]) * (1 + 1e-4) >= theta:
                break
            below += bound[j]
            skipped.add(j)
        essential = [j for j in range(len(ids)) if j not in skipped]
        if sum(sizes[j] for j in essential) > budget:
            return None
        # 3. Candidates: every passage holding an essential term, scored exactly.
        rows = holders(essential)
        scores = self._complete(ids, rows, mask)
        order = np.lexsort((rows, -scores))[:n]
        return [(int(rows[i]), float(scores[i])) for i in order if scores[i] > 0]


def _top(scores: np.ndarray | None, n: int) -> list[tuple[int, float]]:
    """The ``n`` best rows with a positive score, best first.

    From ``PRUNE_MIN_DOCS`` rows on, a full ``argpartition`` (18 ms at 1M, linear) is avoided:
    the rows fall into groups of ``TOP_CHUNK``, each group's maximum is taken in one pass, and
    the n-th largest of those maxima is a lower bound of the n-th best row (n distinct rows
    reach it); only the groups whose maximum reaches it can hold a row of the top n, so only
    their rows are ranked, and exactly tied scores at the cut go to the lower row (below
    ``PRUNE_MIN_DOCS``, to whichever ``argpartition`` leaves: the reference the eval sets were
    measured with). Same scores as a full sort.
    """
    if scores is None or n <= 0:
        return []
    n = min(n, len(scores))
    rows = None
    groups = len(scores) // TOP_CHUNK
    if len(scores) >= PRUNE_MIN_DOCS and groups > n:
        # Group g holds the rows g, g + groups, g + 2·groups, …: its maximum is an element-wise
        # maximum of TOP_CHUNK contiguous slices, one vectorised pass.
        maxima = scores[: groups * TOP_CHUNK].reshape(TOP_CHUNK, groups).max(axis=0)
        floor = _nth_largest(maxima, n)
        if floor > 0:
            hold = np.flatnonzero(maxima >= floor)
            rows = (np.arange(TOP_CHUNK)[:, None] * groups + hold).ravel()
            tail = np.arange(groups * TOP_CHUNK, len(scores))  # the rows after the last whole group
            rows = np.sort(np.concatenate([rows, tail]) if len(tail) else rows)
            rows = rows[scores[rows] >= floor]
        else:
            rows = np.flatnonzero(scores > 0)
        scores_at = scores[rows]
        # The candidates (a few × n rows, ascending) sorted whole: exactly tied scores at the
        # cut go to the lower row, as MaxScore's top does.
        top = np.argsort(-scores_at, kind="stable")[:n]
        return [(int(rows[i]), float(scores_at[i])) for i in top if scores_at[i] > 0]
    top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def _nth_largest(values: np.ndarray, n: int) -> float:
    """The n-th largest of ``values`` (1 ≤ n ≤ len): first a bound from the maxima of groups of
    ``TOP_CHUNK`` (the n-th largest of those is ≤ the answer), then an exact partition of the
    few values that reach it."""
    groups = len(values) // TOP_CHUNK
    if groups > n:
        bound = _nth_largest(values[: groups * TOP_CHUNK].reshape(TOP_CHUNK, groups).max(axis=0), n)
        values = values[values >= bound]
    return float(np.partition(values, len(values) - n)[len(values) - n])


# -- the streaming builder ---------------------------------------------------------------

# Terms gathered before one chunk is counted (np.unique per chunk); ~50 MB of temporaries.
CHUNK_TOKENS = 1 << 21
# What bm25s (0.3.16) records in params.index.json besides k1, b and the passage count.
_BM25S_PARAMS = {"delta": 0.5, "method": "lucene", "idf_method": "lucene", "dtype": "float32", "int_dtype": "int32"}
_BM25S_FORMAT_VERSION = "0.3.16"


def _bm25s_version() -> str:
    """The bm25s version its files would name (the installed one; else the format's)."""
    from importlib import metadata

    try:
        return metadata.version("bm25s")
    except metadata.PackageNotFoundError:
        return _BM25S_FORMAT_VERSION


def _dumps_vocab(vocab: Mapping[str, int]) -> str:
    """The vocabulary as bm25s writes it (bm25s.utils.json_functions: orjson when installed)."""
    try:
        import orjson
    except ImportError:
        return json.dumps(vocab, ensure_ascii=False)
    return orjson.dumps(vocab).decode("utf-8")


class _LeanBuilder:
    """bm25s's "lucene" index, value for value and in its order, from a stream of passages.

    Per passage only its term ids are kept (one dict maps terms to ids in order of first
    occurrence); every ``CHUNK_TOKENS`` terms one ``np.unique`` over (passage, term) keys
    turns them into postings: term id (int32), term frequency (the smallest unsigned type)
    and postings per passage. At the end, as bm25s does:

    * term ids: bm25s numbers terms in the iteration order of a ``set`` filled passage by
      passage; a set filled with the same distinct terms in the same order (first occurrence)
      iterates in the same order, so the same ``set`` gives the same ids; "" comes last when
      no passage holds it;
    * idf = log(1 + (N - df + 0.5) / (df + 0.5)) with ``math.log`` per distinct df, stored
      float32; the average length ``np.mean`` over the int64 passage lengths;
    * weight = float32(idf · tf / (k1 · ((1 - b) + b · len / avg) + tf)), in float64 as bm25s
      computes it (its float32 term frequencies meet a float64 length factor);
    * the CSC matrix (column = term, rows ascending): a counting sort over term ids, chunk by
      chunk in passage order (``indptr`` int64, ``indices`` int32, ``data`` float32).
    """

    def __init__(self, k1: float, b: float):
        self.k1, self.b = k1, b
        self.vocab: dict[str, int] = {}
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # terms, tf, postings per passage
        self.lengths: list[np.ndarray] = []
        self.df = np.zeros(1024, dtype=np.int64)  # by first-occurrence id

    def run(self, token_lists: Iterable[Sequence[str]]) -> SparseIndex:
        vocab = self.vocab
        setdefault = vocab.setdefault
        ids: list[int] = []
        lengths: list[int] = []
        for terms in token_lists:
            n = len(ids)
            ids += [setdefault(t, len(vocab)) for t in terms]
            lengths.append(len(ids) - n)
            if len(ids) >= CHUNK_TOKENS:
                self._count(ids, lengths)
                ids, lengths = [], []
        if lengths:
            self._count(ids, lengths)
        return self._finish()

    def _count(self, ids: list[int], lengths: list[int]) -> None:
        lens = np.array(lengths, dtype=np.int64)
        self.lengths.append(lens)
        local = np.repeat(np.arange(len(lens), dtype=np.int64), lens)
        keys, tf = np.unique((local << 32) | np.array(ids, dtype=np.int64), return_counts=True)
        del local
        terms = (keys & 0xFFFFFFFF).astype(np.int32)
        per_doc = np.bincount(keys >> 32, minlength=len(lens)).astype(np.int32)
        del keys
        tf = tf.astype(np.min_scalar_type(int(tf.max()))) if len(tf) else tf.astype(np.uint8)
        self.chunks.append((terms, tf, per_doc))
        counts = np.bincount(terms)
        if len(counts) > len(self.df):
            grown = np.zeros(max(len(counts), 2 * len(self.df)), dtype=np.int64)
            grown[: len(self.df)] = self.df
            self.df = grown
        self.df[: len(counts)] += counts

    def _finish(self) -> SparseIndex:
        k1, b = self.k1, self.b
        # bm25s's term ids: a set's iteration order (see the class docstring).
        first = self.vocab
        n_vocab = len(first)
        order = list(first)
        del self.vocab, first
        vocab = {t: i for i, t in enumerate(set(order))}
        remap = np.fromiter(map(vocab.__getitem__, order), dtype=np.int32, count=n_vocab)
        del order
        if "" not in vocab:
            vocab[""] = n_vocab
        df = np.zeros(n_vocab, dtype=np.int64)
        df[remap] = self.df[:n_vocab]
        del self.df

        lens = np.concatenate(self.lengths) if self.lengths else np.zeros(0, dtype=np.int64)
        del self.lengths
        n_docs = len(lens)
        avg = lens.mean() if n_docs else np.float64(0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            norm = k1 * ((1 - b) + b * lens / avg)  # float64, bm25s's operations in its order
        del lens
        values, where = np.unique(df, return_inverse=True)
        idf_values = [math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) if d != 0 else 0.0 for d in values.tolist()]
        idf = np.array(idf_values, dtype=np.float32)[where].astype(np.float64)  # float32 values, as bm25s's idf array
        del values, where

        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        n_postings = int(indptr[-1])
        data = np.empty(n_postings, dtype=np.float32)
        indices = np.empty(n_postings, dtype=np.int32)
        heads = indptr[:-1].copy()
        doc0 = 0
        chunks = self.chunks
        while chunks:
            terms, tf, per_doc = chunks.pop(0)
            terms = remap[terms]
            docs = np.repeat(np.arange(doc0, doc0 + len(per_doc), dtype=np.int32), per_doc)
            doc0 += len(per_doc)
            tf64 = tf.astype(np.float64)
            del tf
            weight = (idf[terms] * (tf64 / (norm[docs] + tf64))).astype(np.float32)
            del tf64
            # Counting sort, stable: postings come in passage order, each term's go to its next free slots.
            by_term = np.argsort(terms, kind="stable")
            terms = terms[by_term]
            starts = np.flatnonzero(np.r_[True, terms[1:] != terms[:-1]]) if len(terms) else np.zeros(0, dtype=np.int64)
            runs = np.diff(np.r_[starts, len(terms)])
            slot = heads[terms] + (np.arange(len(terms)) - np.repeat(starts, runs))
            heads[terms[starts]] += runs
            data[slot] = weight[by_term]
            indices[slot] = docs[by_term]
            del terms, docs, weight, by_term, slot
        params = {"k1": k1, "b": b, **_BM25S_PARAMS, "num_docs": n_docs, "version": _bm25s_version(), "backend": "numpy"}
        return SparseIndex(data, indices, indptr, vocab, n_docs, params, built=params)
