"""The sparse index: BM25 over the Dutch analyzer's terms, with bm25s behind one class.

Nobody else touches bm25s: the build calls ``SparseIndex.build`` and ``save``; search
calls ``load``, ``top`` and ``scores``; answering asks ``document_frequency``. Terms come
in already analysed (``analysis.Analyzer.terms``), so this room knows nothing of Dutch.

bm25s computes every term's BM25 weight per passage at build time and saves them as a
column-compressed matrix (``.npy`` arrays, a JSON vocabulary and parameters; no pickle).
Searching only sums columns, so ``load`` reads those files itself, memory-mapped, and
scores with numpy exactly as bm25s does (same float32 sums in the same order): a
one-shot search never imports bm25s (nor scipy, which it brings along).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import StoreError

# bm25s variants whose saved matrix is the whole score (the others add a per-term constant).
_SUMMED_METHODS = ("lucene", "robertson", "atire")


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
        self._built = built  # the bm25s object of a fresh build, for ``save``

    # -- building and files --------------------------------------------------------------

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> SparseIndex:
        bm25 = _bm25s().BM25(k1=k1, b=b)
        bm25.index([list(t) for t in token_lists], show_progress=False)
        sc = bm25.scores
        params = {"k1": bm25.k1, "b": bm25.b, "method": bm25.method, "dtype": str(np.dtype(bm25.dtype))}
        return cls(sc["data"], sc["indices"], sc["indptr"], dict(bm25.vocab_dict), int(sc["num_docs"]), params, built=bm25)

    def save(self, folder: Path) -> None:
        if self._built is None:
            raise StoreError("alleen een zojuist gebouwde BM25-index kan worden opgeslagen")
        self._built.save(str(folder), show_progress=False)

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
        scores = np.zeros(self.num_docs, dtype=self._dtype)
        indptr, indices, data = self._indptr, self._indices, self._data
        for t in ids:  # term by term, as bm25s sums them: the same float32 result
            start, end = int(indptr[t]), int(indptr[t + 1])
            # A term's postings name each passage once, so a plain indexed add equals bm25s's
            # np.add.at (bit for bit) and is many times faster on long posting lists.
            scores[indices[start:end]] += data[start:end]
        if mask is not None:
            scores *= mask.astype(np.float32)
        return scores

    def top(self, terms: Sequence[str], n: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``n`` best passages (row, score) with a positive score, best first."""
        scores = self.scores(terms, mask)
        if scores is None or n <= 0:
            return []
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
