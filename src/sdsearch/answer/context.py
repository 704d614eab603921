"""The report around a hit: the passages before and after it in the same document.

An answer sentence often leans on the sentence before it ("Deze wet komt in de plaats
van ...") or a table row on a header line, and those can sit in the neighbouring passage.
The index keeps passages, not documents, so the neighbours are found through the
passage → document map (``Index.passage_doc``): a vectorised scan per document asked
about, cached per index.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ..types import Passage

_MAX_GAP = 400  # characters between two passages that still count as neighbours (headings, blank lines)


class Neighbours:
    """Passages of one index in document order, looked up per source on demand."""

    def __init__(self, index: Any):
        self.index = index
        self._doc_of: dict[str, int] = {}
        for i, d in enumerate(getattr(index, "documents", []) or []):
            src = d.get("source")
            if src is not None:
                self._doc_of.setdefault(str(src), i)
        self._by_source: OrderedDict[str, list[Passage]] = OrderedDict()

    def passages(self, source: str) -> list[Passage]:
        """Every passage whose first location is in ``source``, in text order."""
        got = self._by_source.get(source)
        if got is not None:
            self._by_source.move_to_end(source)
            return got
        doc = self._doc_of.get(source)
        out: list[Passage] = []
        passage_doc = getattr(self.index, "passage_doc", None)
        if doc is not None and passage_doc is not None:
            rows = np.flatnonzero(np.asarray(passage_doc) == doc)
            out = [self.index.passages[int(r)] for r in rows]
            out = [p for p in out if p.source == source]
            out.sort(key=lambda p: p.char_start)
        self._by_source[source] = out
        while len(self._by_source) > 64:
            self._by_source.popitem(last=False)
        return out

    def beside(self, p: Passage, step: int) -> Passage | None:
        """The passage right before (``step=-1``) or after (``step=1``) ``p`` in its report."""
        ps = self.passages(p.source)
        starts = [x.char_start for x in ps]
        i = int(np.searchsorted(starts, p.char_start))
        if step < 0:
            j = i - 1
            while j >= 0 and ps[j].char_end > p.char_start:
                j -= 1
            if j >= 0 and p.char_start - ps[j].char_end <= _MAX_GAP:
                return ps[j]
            return None
        j = i
        while j < len(ps) and ps[j].char_start < p.char_end:
            j += 1
        if j < len(ps) and ps[j].char_start - p.char_end <= _MAX_GAP:
            return ps[j]
        return None


_CACHE: OrderedDict[int, tuple[Any, Neighbours]] = OrderedDict()


def neighbours(index: Any) -> Neighbours:
    """The ``Neighbours`` of ``index``, made once per index object."""
    key = id(index)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is index:
        _CACHE.move_to_end(key)
        return hit[1]
    n = Neighbours(index)
    _CACHE[key] = (index, n)
    while len(_CACHE) > 4:
        _CACHE.popitem(last=False)
    return n
