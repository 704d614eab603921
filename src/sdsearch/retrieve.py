"""Retrieval: dense (FAISS) and sparse (BM25) candidates, fused, filtered, de-duplicated.

Filters are applied before the top-k cut (as a mask on both retrievers), so a filtered
query still returns k hits when k exist. Near-identical passages in the ranking are shown
once; the others are listed in the kept hit's ``also_at``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from concurrent import futures
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from . import rerank
from .abbrev import Abbreviations
from .analysis import ANALYZER_VERSION, Analyzer, fold
from .config import Settings
from .errors import FilterError, QueryError  # noqa: F401  (re-exported)
from .models import Encoder
from .query import QueryPlan, SpellIndex, plan, rm3_expansion
from .store import Index, StoreError, open_index, rebuild_hint
from .types import Hit, Passage
from .vectors import rescore
from .vectors import search as vector_search

MODES = ("dense", "sparse", "hybrid")
_EXACT_FILTER_LIMIT = 50_000  # below this many allowed passages, filtered dense search is exact numpy
# ``unmatched_dense`` measures the question's words in this many of the dense side's best passages.
UNMATCHED_ROWS = 3
# Queries are cut to this many characters (about the 512 tokens the e5 model reads), with a
# notice on the "sdsearch" logger: the CLI prints it as "sdsearch: note: ...".
MAX_QUERY_CHARS = 2000
_QUERY_NOISE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # whole terminal escape sequences
    r"|[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_HAS_WORD = re.compile(r"[^\W_]")
log = logging.getLogger("sdsearch")


def tidy_query(query: str) -> str:
    """A query as the retrievers take it: control characters gone, spaces collapsed, cut to
    ``MAX_QUERY_CHARS`` at a word boundary (logged). Raises ``QueryError`` for non-text."""
    if not isinstance(query, str):
        raise QueryError(f"een zoekvraag moet tekst zijn, geen {type(query).__name__}")
    q = " ".join(_QUERY_NOISE.sub(" ", query).split())
    if len(q) > MAX_QUERY_CHARS:
        cut = q.rfind(" ", MAX_QUERY_CHARS // 2, MAX_QUERY_CHARS + 1)
        q = q[: cut if cut > 0 else MAX_QUERY_CHARS]
        log.warning("zoekvraag van %s tekens ingekort tot de eerste %s (het model leest ongeveer 512 tokens)", f"{len(query):,}".replace(",", "."), f"{len(q):,}".replace(",", "."))
    return q


@dataclass(frozen=True)
class Filters:
    """Metadata filters: a passage matches when one of its locations' documents matches all."""

    gemeente: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    doc_type: tuple[str, ...] = ()

    @classmethod
    def make(
        cls,
        gemeente: str | Sequence[str] | None = None,
        year: int | str | tuple[int | None, int | None] | None = None,
        doc_type: str | Sequence[str] | None = None,
    ) -> Filters:
        """Build filters from user input: ``year`` may be 2022, "2022", "2020-2023" or (2020, None)."""

        def names(v: str | Sequence[str] | None) -> tuple[str, ...]:
            if v is None:
                return ()
            items = [v] if isinstance(v, str) else list(v)
            return tuple(fold(s.strip()) for item in items for s in str(item).split(",") if s.strip())

        y_min = y_max = None
        if isinstance(year, tuple):
            y_min, y_max = year
        elif year is not None and str(year).strip():
            m = re.fullmatch(r"\s*(\d{4})?\s*(?:(-|–|\.\.|t/m)\s*(\d{4})?)?\s*", str(year))
            if not m or not (m.group(1) or m.group(3)):
                raise QueryError(f"jaar moet zijn als 2022 of 2020-2023, niet {year!r}")
            y_min = int(m.group(1)) if m.group(1) else None
            y_max = int(m.group(3)) if m.group(3) else (y_min if not m.group(2) else None)
        if y_min is not None and y_max is not None and y_min > y_max:
            raise QueryError(f"jaarbereik {y_min}-{y_max} is leeg")
        return cls(names(gemeente), y_min, y_max, names(doc_type))

    def __bool__(self) -> bool:
        return bool(self.gemeente or self.doc_type or self.year_min is not None or self.year_max is not None)

    def matches(self, doc: dict[str, Any]) -> bool:
        if self.gemeente and fold(str(doc.get("gemeente") or "")) not in self.gemeente:
            return False
        if self.doc_type and fold(str(doc.get("doc_type") or "")) not in self.doc_type:
            return False
        year = doc.get("year")
        if self.year_min is not None and (year is None or year < self.year_min):
            return False
        if self.year_max is not None and (year is None or year > self.year_max):
            return False
        return True

    def unknown(self, documents: Sequence[dict[str, Any]]) -> str | None:
        """Why these filters can match nothing in ``documents``, in Dutch, or None when they can.

        Names what the index holds and suggests a near miss ("bedoelde u Vlaardingen?"), so a
        typo or a gemeente that is not indexed never looks like "nothing found".
        """
        for key, wanted, label in (("gemeente", self.gemeente, "gemeente"), ("doc_type", self.doc_type, "documenttype")):
            if not wanted:
                continue
            held = sorted({str(d.get(key)) for d in documents if d.get(key)}, key=str.casefold)
            by_fold = {fold(h): h for h in held}
            missing = [w for w in wanted if w not in by_fold]
            if missing:
                return _unknown_message(label, missing, held)
        if self.year_min is not None or self.year_max is not None:
            years = sorted({int(d["year"]) for d in documents if isinstance(d.get("year"), int)})
            in_range = [y for y in years if (self.year_min is None or y >= self.year_min) and (self.year_max is None or y <= self.year_max)]
            if not in_range:
                asked = f"{self.year_min}" if self.year_min == self.year_max else f"{self.year_min or ''}–{self.year_max or ''}"
                held_years = ", ".join(map(str, years)) or "geen"
                return f"geen documenten uit {asked} in de index; jaren in de index: {held_years}"
        return None

    def describe(self) -> str:
        parts = []
        if self.gemeente:
            parts.append("gemeente " + ", ".join(self.gemeente))
        if self.year_min is not None or self.year_max is not None:
            if self.year_min == self.year_max:
                parts.append(f"jaar {self.year_min}")
            else:
                parts.append(f"jaar {self.year_min or ''}–{self.year_max or ''}")
        if self.doc_type:
            parts.append("type " + ", ".join(self.doc_type))
        return "; ".join(parts)


def _unknown_message(label: str, missing: Sequence[str], held: Sequence[str]) -> str:
    """ "onbekende gemeente amsterdam; in de index: Maassluis, Velsen, Vlaardingen" + a near miss."""
    import difflib

    by_fold = {fold(h): h for h in held}
    msg = f"onbekende {label} {', '.join(missing)}; in de index: {', '.join(held) or 'geen'}"
    near = difflib.get_close_matches(missing[0], list(by_fold), n=1, cutoff=0.6)
    if near:
        msg += f" (bedoelde u {by_fold[near[0]]}?)"
    return msg


def _shingles(text: str, n: int = 3) -> frozenset[str]:
    words = re.findall(r"\w+", fold(text))
    if len(words) < n:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def rrf(rankings: Sequence[Sequence[int]], k: int = 60, weights: Sequence[float] | None = None) -> dict[int, float]:
    """Reciprocal rank fusion: Σ w / (k + rank) over the lists a candidate appears in."""
    out: dict[int, float] = {}
    for li, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[li]
        for rank, idx in enumerate(ranking, start=1):
            out[idx] = out.get(idx, 0.0) + w / (k + rank)
    return out


# Query kinds RM3 feedback applies to: on dev it helped long questions and hurt the
# ordinary questions of eval/retrieval.jsonl (bench/results/tune_adaptive.md).
_PRF_KINDS = frozenset({"long"})


def weighted_sum(
    dense: dict[int, float], sparse: dict[int, float], dense_weight: float
) -> dict[int, float]:
    """Min-max normalised scores of each list, combined as α·dense + (1-α)·sparse."""

    def norm(d: dict[int, float]) -> dict[int, float]:
        if not d:
            return {}
        lo, hi = min(d.values()), max(d.values())
        span = hi - lo
        return {i: ((s - lo) / span if span > 0 else 1.0) for i, s in d.items()}

    nd, ns = norm(dense), norm(sparse)
    return {i: dense_weight * nd.get(i, 0.0) + (1 - dense_weight) * ns.get(i, 0.0) for i in set(nd) | set(ns)}


_POOL: futures.ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _dense_pool() -> futures.ThreadPoolExecutor:
    """The threads that run a hybrid search's vector side beside its BM25 side (one per
    search in flight; shared by every Retriever of the process)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="sdsearch-dense")
        return _POOL


class Retriever:
    """Search an index with an encoder: ``Retriever(index, encoder).search(["vraag"])``."""

    def __init__(
        self,
        index: Index,
        encoder: Encoder | None,
        settings: Settings | None = None,
        analyzer: Analyzer | None = None,
    ):
        self.index = index
        self.encoder = encoder
        self.settings = settings or Settings()
        a = index.manifest.get("analyzer", {})
        self.analyzer = analyzer or Analyzer(
            stem=a.get("stem", True), stopwords=a.get("stopwords", True), decompound=a.get("decompound", True)
        )
        if a.get("version") != ANALYZER_VERSION:
            raise StoreError(
                f"de index is gebouwd met Nederlandse analyse versie {a.get('version')}, deze sdsearch gebruikt "
                f"{ANALYZER_VERSION}; {rebuild_hint(index.folder)}"
            )
        self._source_doc = {d["source"]: i for i, d in enumerate(index.documents)}
        self._doc_gemeente = [fold(str(d.get("gemeente") or "")) for d in index.documents]
        self._shingle_cache: dict[int, frozenset[str]] = {}
        self._terms_cache: dict[int, list[str]] = {}
        self._candidate_cache: dict[int, rerank.Candidate] = {}
        self._spell: SpellIndex | None = None
        # Learned from the index's own text at build time (sdsearch.abbrev); none in older indexes.
        self.abbreviations = Abbreviations.from_json(index.abbreviations)
        # The other documents a repeated passage occurs in, looked up per candidate when ranking.
        self._extra_docs: dict[int, list[int]] = {}
        for passage, doc in index.extra_doc_pairs.tolist():
            self._extra_docs.setdefault(passage, []).append(doc)
        if encoder is not None:
            want = index.manifest.get("model", {})
            if want.get("id") != encoder.model_id or int(want.get("dim", encoder.dim)) != encoder.dim:
                raise StoreError(
                    f"de index is gebouwd met model {want.get('id')!r} ({want.get('dim')} dimensies), "
                    f"niet {encoder.model_id!r}; bouw de index opnieuw met `sdsearch index --model {encoder.model_id}`"
                )
            if want.get("query_prefix", encoder.query_prefix) != encoder.query_prefix:
                raise StoreError(f"de index verwacht het voorvoegsel {want.get('query_prefix')!r}; {rebuild_hint(index.folder)}")

    @classmethod
    def open(cls, index_dir: str | Path, encoder: Encoder | None = None, settings: Settings | None = None) -> Retriever:
        """Open ``index_dir`` and load the encoder its manifest names (unless one is given)."""
        from .models import load_encoder

        s = settings or Settings.load()
        idx = open_index(Path(index_dir))
        if encoder is None and s.mode != "sparse":
            encoder = load_encoder(idx.model_id, s.runtime, threads=s.threads, variant=s.e5_variant)
        return cls(idx, encoder, s)

    # -- filtering -------------------------------------------------------------------

    def allowed_mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean mask over passages that match ``filters`` (None when nothing is filtered).

        Raises ``FilterError`` when the filters name a gemeente, type or year the index does not hold.
        """
        if not filters:
            return None
        why = filters.unknown(self.index.documents)
        if why:
            raise FilterError(why)
        if not any(filters.matches(d) for d in self.index.documents):
            # Every value exists, only not together: an empty result, said once (not an error).
            log.warning("geen document in de index voldoet aan alle filters samen (%s)", filters.describe())
        ok_docs = np.array([filters.matches(d) for d in self.index.documents], dtype=bool)
        if ok_docs.size == 0:
            return np.zeros(len(self.index), dtype=bool)
        mask = ok_docs[self.index.passage_doc]
        pairs = self.index.extra_doc_pairs
        if len(pairs):
            hit = pairs[ok_docs[pairs[:, 1]]]
            mask[hit[:, 0]] = True
        return mask

    # -- the two retrievers ------------------------------------------------------------

    def dense(self, qvecs: np.ndarray, n: int, mask: np.ndarray | None) -> list[list[tuple[int, float]]]:
        """Top-n passages by inner product for each query vector (filtered by ``mask``).

        Approximate indexes search with the efSearch/nprobe the manifest records (widened
        for filtered queries) and their candidates are re-scored exactly (``vectors.search``).
        """
        total = len(self.index)
        if total == 0:
            return [[] for _ in range(len(qvecs))]
        qvecs = np.ascontiguousarray(qvecs, dtype=np.float32)
        info = self.index.manifest.get("faiss", {})
        selector = None
        fraction = 1.0
        want = min(n, total)
        if mask is not None:
            ids = np.flatnonzero(mask)
            if len(ids) == 0:
                return [[] for _ in range(len(qvecs))]
            if len(ids) <= _EXACT_FILTER_LIMIT:
                scores = np.asarray(self.index.vectors[ids], dtype=np.float32) @ qvecs.T
                out = []
                for qi in range(len(qvecs)):
                    col = scores[:, qi]
                    top = np.argsort(-col)[:n]
                    out.append([(int(ids[t]), float(col[t])) for t in top])
                return out
            import faiss

            bitmap = np.packbits(np.asarray(mask, dtype=bool), bitorder="little")
            selector = faiss.IDSelectorBitmap(total, faiss.swig_ptr(bitmap))
            selector.bitmap_ref = bitmap  # keep the bits alive as long as the selector
            fraction = len(ids) / total
            want = min(n, len(ids))
        scores_, ids_ = vector_search(
            self.index.faiss_index, info, self.index.vectors, qvecs, want, selector=selector, fraction=fraction
        )
        out = [[(int(i), float(d)) for d, i in zip(scores_[q], ids_[q], strict=True) if i >= 0] for q in range(len(qvecs))]
        if mask is not None:
            # A graph search under a narrow filter can come back short: fill in exactly.
            for qi in range(len(qvecs)):
                if len(out[qi]) >= want:
                    continue
                allowed = np.flatnonzero(mask)
                best_s = np.zeros(0, dtype=np.float32)
                best_i = np.zeros(0, dtype=np.int64)
                for start in range(0, len(allowed), 100_000):
                    block = allowed[start : start + 100_000]
                    best_s = np.concatenate([best_s, np.asarray(self.index.vectors[block], dtype=np.float32) @ qvecs[qi]])
                    best_i = np.concatenate([best_i, block])
                    if len(best_s) > want:
                        top = np.argpartition(-best_s, want - 1)[:want]
                        best_s, best_i = best_s[top], best_i[top]
                order = np.argsort(-best_s, kind="stable")
                out[qi] = [(int(best_i[t]), float(best_s[t])) for t in order]
        return out

    def sparse(self, query: str, n: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        """Top-n passages by BM25 over the Dutch analyzer's terms (filtered by ``mask``)."""
        if len(self.index) == 0:
            return []
        return self.index.sparse.top(self.analyzer.terms(query), n, mask)

    # -- query-adaptive parts (sdsearch.query; measured in bench/tune_adaptive.py) ------------

    def plan(self, query: str) -> QueryPlan:
        """How ``query`` is searched: its kind, dense weight, weighted BM25 terms, sub-questions."""
        s = self.settings
        spell = None
        if s.adaptive and s.spell_correct:
            if self._spell is None:
                self._spell = SpellIndex(self.index.sparse.vocabulary())
            spell = self._spell
        p = plan(query, self.analyzer, s, self.index.sparse, spell, self.abbreviations)
        if p.corrected:
            log.debug("zoektermen verbeterd: %s", ", ".join(f"{a} → {b}" for a, b in p.corrected))
        if p.expanded:
            log.debug("afkortingen uitgebreid: %s", ", ".join(f"{a} → {b}" for a, b in p.expanded))
        return p

    def _passage_terms(self, idx: int) -> list[str]:
        terms = self._terms_cache.get(idx)
        if terms is None:
            if len(self._terms_cache) > 50_000:
                self._terms_cache.clear()
            terms = self._terms_cache[idx] = self.analyzer.terms(self.index.passages[idx].text)
        return terms

    def sparse_planned(
        self, p: QueryPlan, n: int, mask: np.ndarray | None, feedback: bool = True
    ) -> list[tuple[int, float]]:
        """Top-n passages by BM25 over the plan's weighted terms, with RM3 feedback when on
        (and ``feedback``). A long question's common terms (idf under ``long_min_idf``) are
        left out, unless that would leave no term the index holds."""
        if len(self.index) == 0 or not p.terms or n <= 0:
            return []
        sparse = self.index.sparse
        s = self.settings
        terms = p.terms
        if s.adaptive and p.kind == "long" and s.long_min_idf > 0:
            rare = {t: w for t, w in terms.items() if sparse.idf(t) >= s.long_min_idf}
            terms = rare if any(w > 0 and t in sparse for t, w in rare.items()) else terms
        if not (feedback and s.adaptive and s.prf_weight > 0 and s.prf_docs > 0 and p.kind in _PRF_KINDS):
            return sparse.top_weighted(terms, n, mask)

        def expand(top: list[tuple[int, float]]) -> dict[str, float]:
            return rm3_expansion([(self._passage_terms(i), sc) for i, sc in top], s.prf_terms)

        return sparse.top_feedback(terms, n, s.prf_docs, expand, s.prf_weight, mask)

    # -- search ------------------------------------------------------------------------

    def search(
        self,
        queries: Sequence[str],
        k: int | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
    ) -> list[list[Hit]]:
        """Ranked hits for each query (batch first). Raises ``QueryError`` on unusable input."""
        s = self.settings
        k = s.k if k is None else k
        mode = mode or s.mode
        if mode not in MODES:
            raise QueryError(f"mode moet een van {', '.join(MODES)} zijn, niet {mode!r}")
        if k < 1:
            raise QueryError("k moet minstens 1 zijn")
        if isinstance(queries, str):
            raise QueryError("search verwacht een lijst zoekvragen")
        tidy = [tidy_query(q) for q in queries]
        for q, raw in zip(tidy, queries, strict=True):
            if not q and raw.strip():
                raise QueryError("de zoekvraag bevat alleen stuurtekens of onleesbare bytes: typ een vraag of een paar woorden")
            if not q:
                raise QueryError("lege zoekvraag: typ een vraag of een paar woorden")
        queries = tidy
        if not all(_HAS_WORD.search(q) for q in queries):
            # Only punctuation or symbols (emoji): no word to match, so no hits rather than noise.
            keep = [i for i, q in enumerate(queries) if _HAS_WORD.search(q)]
            for q in queries:
                if not _HAS_WORD.search(q):
                    log.warning("zoekvraag %r bevat geen letters of cijfers; er is niets te zoeken", q[:40])
            found = self.search([queries[i] for i in keep], k, filters, mode) if keep else []
            out: list[list[Hit]] = [[] for _ in queries]
            for i, hits in zip(keep, found, strict=True):
                out[i] = hits
            return out
        mask = self.allowed_mask(filters)
        n_cand = max(s.candidates, 3 * k)
        plans = [self.plan(q) for q in queries]
        # Sub-questions are searched next to the whole question (hybrid only), in one batch.
        subs = [p.subquestions if mode == "hybrid" else () for p in plans]
        texts = [p.dense_text or q for p, q in zip(plans, queries, strict=True)] + [sq for qs in subs for sq in qs]
        dense_lists: list[list[tuple[int, float]]] = [[] for _ in queries]
        sub_vecs = np.zeros((0, 0), dtype=np.float32)
        pending = None
        if mode in ("dense", "hybrid"):
            encoder = self.encoder
            if encoder is None:
                raise QueryError("dense zoeken heeft een encoder nodig")

            # On a large index only the whole questions search the vector index; a sub-question's
            # vector scores the candidates the searches found (``_dense_among``).
            searched = len(queries) if 0 < s.subquestion_rescore_from <= len(self.index) else len(texts)

            def dense_part() -> tuple[list[list[tuple[int, float]]], np.ndarray]:
                qvecs = np.ascontiguousarray(encoder.encode_queries(texts), dtype=np.float32)
                return self.dense(qvecs[:searched], n_cand, mask), qvecs[searched:]

            if mode == "hybrid" and 0 < s.parallel_from <= len(self.index) and (os.cpu_count() or 1) > 1:
                # A large index: encoding and FAISS release the GIL, so the vector side runs beside BM25.
                pending = _dense_pool().submit(dense_part)
            else:
                dense_lists, sub_vecs = dense_part()
        sparse_lists: list[list[tuple[int, float]]] = []
        sub_sparse: list[list[list[tuple[int, float]]]] = []
        try:
            for qi, p in enumerate(plans):
                sparse_lists.append(self.sparse_planned(p, n_cand, mask) if mode in ("sparse", "hybrid") else [])
                sub_sparse.append(
                    [
                        self.sparse_planned(replace(self.plan(sq), kind=p.kind), n_cand, mask, s.subquestion_prf)
                        for sq in subs[qi]
                    ]
                )
        except BaseException:
            if pending is not None:
                futures.wait([pending])  # never leave the vector side running behind an error
            raise
        if pending is not None:
            dense_lists, sub_vecs = pending.result()
        results = []
        at = 0  # the next sub-question, over all queries
        for qi, q in enumerate(queries):
            p = plans[qi]
            sparse_list = sparse_lists[qi]
            sub_scores = []
            for sub_list in sub_sparse[qi]:
                if len(sub_vecs):
                    found = {row for row, _ in dense_lists[qi]} | {row for row, _ in sparse_list} | {row for row, _ in sub_list}
                    sub_dense = self._dense_among(sub_vecs[at], found, n_cand)
                else:
                    sub_dense = dense_lists[len(queries) + at]
                sub_scores.append(weighted_sum(dict(sub_dense), dict(sub_list), p.dense_weight))
                at += 1
            weight = p.dense_weight
            if mode == "hybrid" and s.adaptive and s.unmatched_dense > 0 and p.kind == "long" and sparse_list and p.terms and dense_lists[qi]:
                # Put in other words than the text: even the passages found by meaning hold
                # little of the question's BM25 evidence (the best of the dense side's top 3).
                share = max(self._matched_share(p.terms, row) for row, _ in dense_lists[qi][:UNMATCHED_ROWS])
                weight = min(1.0, weight + s.unmatched_dense * (1.0 - share))
            fused = self._fuse(q, dense_lists[qi], sparse_list, mode, dense_weight=weight, sub_scores=sub_scores)
            if s.adaptive and s.second_stage and mode == "hybrid" and fused and p.kind in rerank.KINDS:
                fused = self._second_stage(q, p, fused, dict(dense_lists[qi]), dict(sparse_list), sub_scores)
            # Highlight what was searched: the query's terms, their corrections and long forms.
            results.append(self._hits(q, fused, k, filters, frozenset(self.analyzer.terms(q)) | frozenset(p.terms)))
        return results

    def _dense_among(self, qvec: np.ndarray, rows: set[int], n: int) -> list[tuple[int, float]]:
        """The ``n`` best of ``rows`` by inner product with ``qvec``, exactly, best first: a
        sub-question's dense list on a large index (``Settings.subquestion_rescore_from``).
        There the vector index is approximate anyway (recall@10 ~0.95) and each search of it
        costs ~60 ms at 10M passages; the fused ranking holds only passages some list found."""
        if not rows:
            return []
        ids = np.fromiter(sorted(rows), dtype=np.int64, count=len(rows))
        scores, order = rescore(self.index.vectors, qvec[None, :], ids[None, :])  # rows read ahead together
        return [(int(i), float(d)) for d, i in zip(scores[0][:n], order[0][:n], strict=True)]

    def _matched_share(self, terms: dict[str, float], row: int) -> float:
        """How much of the query's BM25 evidence (idf-weighted terms) passage ``row`` holds:
        low when the query is put in other words than the text."""
        sparse = self.index.sparse
        held = set(self._passage_terms(row))
        weights = {t: w * sparse.idf(t) for t, w in terms.items() if w > 0 and t in sparse}
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in held) / total if total > 0 else 1.0

    def _fuse(
        self,
        query: str,
        dense: list[tuple[int, float]],
        sparse: list[tuple[int, float]],
        mode: str,
        dense_weight: float | None = None,
        sub_scores: Sequence[dict[int, float]] = (),
    ) -> list[tuple[int, float]]:
        if mode == "dense":
            return dense
        if mode == "sparse":
            return sparse
        s = self.settings
        alpha = s.dense_weight if dense_weight is None else dense_weight
        if s.fusion == "weighted":
            scores = weighted_sum(dict(dense), dict(sparse), alpha)
        else:
            w = (2 * alpha, 2 * (1 - alpha))
            scores = rrf([[i for i, _ in dense], [i for i, _ in sparse]], k=s.rrf_k, weights=w)
        if sub_scores and s.subquestion_weight > 0 and scores:
            # A multi-part question: a passage that answers one sub-question well counts, even
            # when the whole question's wording is about the other parts.
            beta = s.subquestion_weight
            for i in set(scores).union(*sub_scores):
                scores[i] = scores.get(i, 0.0) + beta * max(sc.get(i, 0.0) for sc in sub_scores)
        if s.gemeente_boost and scores:
            self._boost_named_gemeente(query, scores, s.gemeente_boost)
        return sorted(scores.items(), key=lambda t: (-t[1], t[0]))

    def _candidate(self, idx: int) -> rerank.Candidate:
        c = self._candidate_cache.get(idx)
        if c is None:
            if len(self._candidate_cache) > 50_000:
                self._candidate_cache.clear()
            p = self.index.passages[idx]
            head = " ".join([p.title or "", *p.section])
            terms = self._passage_terms(idx)
            c = self._candidate_cache[idx] = rerank.Candidate(
                idx,
                frozenset(terms),
                frozenset(zip(terms, terms[1:], strict=False)),
                frozenset(self.analyzer.terms(head)),
                len(p.text),
                p.text,
                self._doc_gemeente[int(self.index.passage_doc[idx])],
            )
        return c

    def candidate_features(
        self,
        query: str,
        p: QueryPlan,
        fused: list[tuple[int, float]],
        dense: dict[int, float],
        sparse: dict[int, float],
        sub_scores: Sequence[dict[int, float]],
    ) -> np.ndarray:
        """The second stage's features (``rerank.FEATURES``) of the top ``rerank.DEPTH`` candidates."""
        cands = [self._candidate(i) for i, _ in fused[: rerank.DEPTH]]
        words = set(re.findall(r"\w+", fold(query)))
        named = frozenset(g for g in self._doc_gemeente if g and g in words)
        expansion = [frozenset(self.analyzer.terms(long)) for short, long in p.expanded if long != short]
        return rerank.features(
            query, p, cands, fused, dense, sparse, sub_scores, self.index.sparse.idf, expansion, named, self.analyzer.terms(query)
        )

    def _second_stage(
        self,
        query: str,
        p: QueryPlan,
        fused: list[tuple[int, float]],
        dense: dict[int, float],
        sparse: dict[int, float],
        sub_scores: Sequence[dict[int, float]],
    ) -> list[tuple[int, float]]:
        """The top candidates re-ordered by the learned model (``rerank.py``)."""
        x = self.candidate_features(query, p, fused, dense, sparse, sub_scores)
        return rerank.reorder(fused, rerank.score(x))

    def _boost_named_gemeente(self, query: str, scores: dict[int, float], boost: float) -> None:
        """Lift passages from a gemeente the query names ("beschermd wonen velsen")."""
        words = set(re.findall(r"\w+", fold(query)))
        named = {i for i, g in enumerate(self._doc_gemeente) if g and g in words}
        if not named:
            return
        lift = boost * max(scores.values())
        for i in scores:
            if int(self.index.passage_doc[i]) in named or not named.isdisjoint(self._extra_docs.get(i, ())):
                scores[i] += lift

    def _present(self, p: Passage, filters: Filters | None) -> Passage:
        """Under a filter, cite a location that matches it (the same text may occur elsewhere first)."""
        if not filters or not p.also_at:
            return p
        docs = self.index.documents
        first_doc = docs[self._source_doc[p.source]] if p.source in self._source_doc else {}
        if filters.matches(first_doc):
            return p
        for loc in p.also_at:
            d = docs[self._source_doc[loc.source]] if loc.source in self._source_doc else None
            if d is not None and filters.matches(d):
                others = (p.location,) + tuple(x for x in p.also_at if x != loc)
                return replace(
                    p,
                    doc_id=loc.source,
                    source=loc.source,
                    char_start=loc.char_start,
                    char_end=loc.char_end,
                    section=loc.section,
                    page=loc.page,
                    page_end=loc.page_end,
                    title=d.get("title", p.title),
                    gemeente=d.get("gemeente"),
                    year=d.get("year"),
                    doc_type=d.get("doc_type"),
                    also_at=others,
                )
        return p

    def _hits(
        self, query: str, ranked: list[tuple[int, float]], k: int, filters: Filters | None, terms: frozenset[str] | None = None
    ) -> list[Hit]:
        kept: list[tuple[Passage, float, frozenset[str]]] = []
        for idx, score in ranked:
            p = self._present(self.index.passages[idx], filters)
            sh = self._shingle_cache.get(idx)
            if sh is None:
                if len(self._shingle_cache) > 50_000:
                    self._shingle_cache.clear()
                sh = self._shingle_cache[idx] = _shingles(p.text)
            dup_of = next((j for j, (_, _, ksh) in enumerate(kept) if _jaccard(sh, ksh) >= 0.6), None)
            if dup_of is not None:
                kp, ks, ksh = kept[dup_of]
                kept[dup_of] = (replace(kp, also_at=kp.also_at + (p.location,) + p.also_at), ks, ksh)
                continue
            kept.append((p, score, sh))
            if len(kept) >= k:
                break
        qterms = frozenset(self.analyzer.terms(query)) if terms is None else terms
        return [
            Hit(passage=p, score=score, rank=r, matched_terms=_matched(self.analyzer, qterms, p.text))
            for r, (p, score, _) in enumerate(kept, start=1)
        ]


@lru_cache(maxsize=50_000)
def _word_terms(analyzer: Analyzer, word: str) -> frozenset[str]:
    return frozenset(analyzer.terms(word))


_WORD = re.compile(r"\w[\w.,'’-]*\w|\w")


def _matched(analyzer: Analyzer, qterms: frozenset[str], text: str) -> tuple[str, ...]:
    """Words of ``text`` that share a BM25 term with the query (what the UI highlights)."""
    if not qterms:
        return ()
    words = dict.fromkeys(_WORD.findall(text.lower()))
    return tuple(w for w in words if _word_terms(analyzer, w) & qterms)
