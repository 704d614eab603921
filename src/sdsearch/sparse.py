"""The sparse index: BM25 over the Dutch analyzer's terms, with bm25s behind one class.

Nobody else touches bm25s: the build calls ``SparseIndex.build`` and ``save``; search
calls ``load``, ``top`` and ``scores``; answering asks ``document_frequency``. Terms come
in already analysed (``analysis.Analyzer.terms``), so this room knows nothing of Dutch.
Files are bm25s's own ``.npy`` arrays and JSON (no pickle), memory-mapped when loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _bm25s() -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
    return bm25s


class SparseIndex:
    """BM25 ("lucene" variant) over pre-analysed terms, one row per passage."""

    def __init__(self, bm25: Any):
        self._bm25 = bm25
        self._vocab: dict[str, int] = bm25.vocab_dict
        indptr = bm25.scores["indptr"]
        self._df = np.diff(np.asarray(indptr)).astype(np.int64)  # postings per term = passages holding it
        self.num_docs = int(bm25.scores.get("num_docs", 0))

    # -- building and files --------------------------------------------------------------

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> SparseIndex:
        bm25 = _bm25s().BM25(k1=k1, b=b)
        bm25.index([list(t) for t in token_lists], show_progress=False)
        return cls(bm25)

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> SparseIndex:
        return cls(_bm25s().BM25.load(str(folder), mmap=mmap, allow_pickle=False))

    def settings(self) -> dict[str, Any]:
        """What the manifest records: k1, b and the variant."""
        return {"k1": self._bm25.k1, "b": self._bm25.b, "method": self._bm25.method}

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
        weight_mask = mask.astype(np.float32) if mask is not None else None
        return np.asarray(self._bm25.get_scores_from_ids(ids, weight_mask=weight_mask))

    def top(self, terms: Sequence[str], n: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``n`` best passages (row, score) with a positive score, best first."""
        scores = self.scores(terms, mask)
        if scores is None or n <= 0:
            return []
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
