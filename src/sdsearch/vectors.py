"""The FAISS index over passage vectors, sized to the corpus.

Vectors are L2-normalised, so inner product is cosine similarity.

* Up to ``EXACT_LIMIT`` vectors: an exact ``IndexFlatIP``. One query (one thread, k=100)
  over 10k / 20k / 50k / 100k vectors took 0.3 / 0.9 / 7 / 14 ms on the 2-core machine,
  so flat stays exact and ~1 ms up to 20k and is replaced above that.
* Above it, up to ``HNSW_LIMIT`` (500k): ``HNSW32,SQ8`` - an HNSW graph (M=32,
  efConstruction=40) over 8-bit scalar quantised codes (a quarter of the float32 size).
* Above ``HNSW_LIMIT``: ``IVF{nlist}_HNSW32,SQ8`` - k-means lists (nlist a power of two near
  2·sqrt(n): 2048 at 1M, 4096 at 3M, 8192 at 10M; trained on 40 vectors per list), an HNSW
  graph over the centroids to pick the lists, SQ8 codes of the residuals. It builds in
  minutes where HNSW takes hours (its cost is k-means on a sample, not a graph insert per
  vector); one query scans ``nprobe`` lists.

Approximate candidates (100, ``SEARCH_K``) are re-scored exactly against ``vectors.npy``
(``rescore``, only the candidates' rows are read), which removes the quantisation error; the
index's misses are all that is left. The search width (efSearch, nprobe) is calibrated at
build time: doubled until recall@10 against exact search on 200 held-out query vectors
reaches ``RECALL_TARGET`` (0.95), then bisected twice, and recorded with the measured recall
in the manifest (``faiss``). Filtered searches pass an ID selector and widen the width by
1 / (allowed share). A single query on a mapped IVF index reads its lists and re-scored rows
ahead in one batch (``willneed``): a cold one-shot search at 1M took 1.8-2.8 s, now 0.5 s.

Measured on 100k synthetic e5-like vectors (bench/scale.py's generator, eval queries):
recall@10 / ms per query - HNSW32,Flat ef=256: 0.954 / 3.7 (181 MB); HNSW32,SQ8 ef=256:
0.941 / 0.9 (66 MB), with re-scoring 0.96-0.98; IVF1024,SQ8 nprobe=128: 0.904.

IVF-SQ8 against HNSW32,SQ8 at 1M (same generator, re-scored, one thread, machine at load 4-6;
recall@10 eval queries / held-out): IVF2048 nprobe 128: 0.903 / 0.830, 5 ms; 256: 0.961 /
0.933, 9-12 ms; 512: 0.994 / 0.982, 22 ms; build 51 s (k-means 29 s). At 3M, IVF4096 nprobe
256: 0.944 / 0.875, 17-31 ms; 512: 0.984 / 0.957, 36-54 ms; build 392 s at load 4. The list
share needed for 0.95 falls slowly with n (IVF4096 at 1M, nprobe 512: 0.944 held-out; at 3M:
0.957). The shortlist hardly matters for SQ8 (100, 200 and 400 gave the same recall): the
misses are lists not probed, not codes mis-ordered. bench/results/scale.md has both indexes
built and searched end to end.

IVF-PQ (``IVF_CODEC = "PQ"``): ``IVF{nlist}_HNSW32,PQ48`` with a ``shortlist`` of 400
re-scored exactly; pq_m recorded in the manifest. At 1M it reached only 0.52-0.80 recall@10
(eval) / 0.31-0.60 (held-out) even with 800 candidates: 48 bytes per 384-dim vector cannot
separate e5's near-tied neighbours. Kept and tested as the smaller codec (48 instead of 384
bytes per vector in the index) for a better PQ to be tried against.
"""

from __future__ import annotations

import ctypes
import math
import mmap
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

EXACT_LIMIT = 20_000  # at most this many vectors: exact flat search
# Above this many vectors: IVF with SQ8 codes instead of HNSW (see the module docstring and
# bench/results/scale.md: at 1M it meets the recall target at HNSW's latency and builds in a
# fraction of HNSW's time, which grows to hours at 10M on 2 cores).
HNSW_LIMIT = 500_000
# The IVF codes: "SQ8" (8-bit scalar, 384 bytes per vector; the default) or "PQ" (PQ_M bytes:
# 0.52-0.80 recall@10 at 1M, kept and tested for smaller machines and better codecs).
IVF_CODEC = "SQ8"
PQ_M = 48
IVF_LISTS_MIN, IVF_LISTS_MAX = 1024, 16384
TRAIN_PER_LIST = 40  # k-means sample: this many vectors per list
KMEANS_ITER = 12
ADD_BLOCK = 100_000
SHORTLIST = 400  # IVF-PQ candidates re-scored exactly from vectors.npy (SQ8 orders well: SEARCH_K)
NPROBE = 16  # first nprobe tried by the calibration (doubled until the recall target is met)
NPROBE_MAX = 1024
HNSW_M = 32
EF_CONSTRUCTION = 40
EF_SEARCH = 128  # first efSearch tried by the calibration (doubled until the recall target is met)
EF_SEARCH_MAX = 2048
RECALL_TARGET = 0.95
RECALL_QUERIES = 200
RECALL_K = 10
SEARCH_K = 100  # candidates the retriever asks for (Settings.candidates); calibration searches as deep
SEED = 1234
# Fewer queries than this search on one thread: OpenMP's fork/join costs more than it saves
# for one query, and on a busy 2-core machine a 2-thread flat search of 10k vectors took
# 32 ms against 0.5 ms on one thread (spinning threads waiting for a descheduled peer).
SMALL_BATCH = 8


def is_exact(info: dict[str, Any] | None) -> bool:
    return not info or bool(info.get("exact", True))


def ivf_lists(n: int) -> int:
    """IVF lists for ``n`` vectors: a power of two near 2·sqrt(n), 1024-16384."""
    target = 2.0 * math.sqrt(max(n, 1))
    return int(min(IVF_LISTS_MAX, max(IVF_LISTS_MIN, 2 ** round(math.log2(target)))))


def build_vector_index(
    vectors: np.ndarray, exact_limit: int | None = None, hnsw_limit: int | None = None, ivf_codec: str | None = None
) -> tuple[Any, str, dict[str, Any]]:
    """A FAISS index over ``vectors``: (index, factory string, settings for the manifest).

    ``exact_limit`` overrides ``EXACT_LIMIT`` (the switch from exact to approximate),
    ``hnsw_limit`` overrides ``HNSW_LIMIT`` (the switch from HNSW to IVF), ``ivf_codec``
    overrides ``IVF_CODEC`` ("SQ8" or "PQ"). ``vectors`` may be memory-mapped: IVF trains
    on a sample and adds in blocks, so the build holds no second copy of them, and the rows
    it has read leave its resident memory (``release``).
    """
    import faiss

    x = vectors if vectors.dtype == np.float32 and vectors.flags.c_contiguous else np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = x.shape
    limit = EXACT_LIMIT if exact_limit is None else exact_limit
    if n <= limit:
        index = faiss.IndexFlatIP(dim)
        if n:
            index.add(np.ascontiguousarray(x))
        return index, "Flat", {"exact": True, "type": "flat", "exact_limit": limit}
    h_limit = HNSW_LIMIT if hnsw_limit is None else hnsw_limit
    codec = IVF_CODEC if ivf_codec is None else ivf_codec
    if n > h_limit and (codec == "SQ8" or dim % PQ_M == 0):
        return _build_ivf(x, limit, h_limit, codec)

    factory = f"HNSW{HNSW_M},SQ8"
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    hnsw = faiss.downcast_index(index)
    hnsw.hnsw.efConstruction = EF_CONSTRUCTION
    # SQ8 trains per-dimension min/max; a seeded sample keeps builds deterministic and quick.
    index.train(_sample(x, 200_000))
    index.add(np.ascontiguousarray(x))
    release(x)
    info: dict[str, Any] = {
        "exact": False,
        "type": "hnsw",
        "exact_limit": limit,
        "hnsw_limit": h_limit,
        "M": HNSW_M,
        "efConstruction": EF_CONSTRUCTION,
        "rescore": True,
        "recall_target": RECALL_TARGET,
    }
    ef, recall = calibrate(index, x, info)
    release(x)
    info["efSearch"] = ef
    info["recall_at_10"] = round(recall, 4)
    return index, factory, info


def _sample(x: np.ndarray, count: int) -> np.ndarray:
    """A seeded sample of rows of ``x`` (in file order, so a memory map is read forwards)."""
    if len(x) <= count:
        return np.ascontiguousarray(x, dtype=np.float32)
    rng = np.random.default_rng(SEED)
    rows = np.sort(rng.choice(len(x), count, replace=False))
    sample = np.empty((count, x.shape[1]), dtype=np.float32)
    for a in range(0, count, 8192):  # in blocks, each released: the kernel maps pages around each row read
        r = rows[a : a + 8192]
        sample[a : a + len(r)] = x[r]
        release(x, int(r[0]), int(r[-1]) + 1)
    return sample


def _build_ivf(x: np.ndarray, exact_limit: int, hnsw_limit: int, codec: str) -> tuple[Any, str, dict[str, Any]]:
    """IVF: coarse lists over a k-means of a sample (an HNSW graph over the centroids finds
    the lists to probe), SQ8 or PQ codes of the residuals; the shortlist it returns is
    re-scored exactly from ``vectors.npy``."""
    import faiss

    n, dim = x.shape
    nlist = ivf_lists(n)
    code = "SQ8" if codec == "SQ8" else f"PQ{PQ_M}"
    factory = f"IVF{nlist}_HNSW32,{code}"
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.extract_index_ivf(index)
    ivf.cp.niter = KMEANS_ITER
    ivf.cp.seed = SEED
    ivf.cp.max_points_per_centroid = TRAIN_PER_LIST
    train = _sample(x, min(n, TRAIN_PER_LIST * nlist))
    index.train(train)
    del train
    for start in range(0, n, ADD_BLOCK):  # blocks: a memory-mapped input is never copied whole
        index.add(np.ascontiguousarray(x[start : start + ADD_BLOCK], dtype=np.float32))
        release(x, start, start + ADD_BLOCK)
    info: dict[str, Any] = {
        "exact": False,
        "type": "ivf",
        "exact_limit": exact_limit,
        "hnsw_limit": hnsw_limit,
        "nlist": nlist,
        "codec": code,
        "quantizer": "HNSW32",
        "train_size": int(min(n, TRAIN_PER_LIST * nlist)),
        "shortlist": SEARCH_K if code == "SQ8" else SHORTLIST,
        "rescore": True,
        "recall_target": RECALL_TARGET,
    }
    if code != "SQ8":
        info["pq_m"] = PQ_M
    nprobe, recall = calibrate(index, x, info)
    release(x)
    info["nprobe"] = nprobe
    info["recall_at_10"] = round(recall, 4)
    return index, factory, info


def search_params(index: Any, info: dict[str, Any] | None, selector: Any = None, fraction: float = 1.0) -> Any:
    """FAISS search parameters for ``index`` as recorded in ``info`` (None for exact, unfiltered).

    ``selector`` restricts results to allowed ids; ``fraction`` (the share of passages it
    allows) widens the search so a filtered query still finds its neighbours.
    """
    import faiss

    if is_exact(info):
        return faiss.SearchParameters(sel=selector) if selector is not None else None
    assert info is not None
    widen = 1.0 / max(fraction, 1e-6)
    if info.get("type") == "hnsw":
        ef = int(info.get("efSearch", EF_SEARCH))
        ef = int(min(max(ef * widen, ef), 16 * EF_SEARCH_MAX))
        if selector is None:
            return faiss.SearchParametersHNSW(efSearch=ef)
        return faiss.SearchParametersHNSW(sel=selector, efSearch=ef)
    if info.get("type") == "ivf":
        nprobe = int(min(max(int(info.get("nprobe", 1)) * widen, 1), int(info.get("nlist", 1))))
        params = faiss.SearchParametersIVF(nprobe=nprobe) if selector is None else faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        if info.get("quantizer") == "HNSW32":
            # the coarse quantizer is a graph over the list centroids: it must look at least nprobe deep
            params.quantizer_params = faiss.SearchParametersHNSW(efSearch=max(2 * nprobe, 64))
        return params
    raise ValueError(f"unknown vector index type {info.get('type')!r}")


def search(
    index: Any,
    info: dict[str, Any] | None,
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    selector: Any = None,
    fraction: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the top ``k`` per query; approximate candidates re-scored exactly.

    ``vectors`` are the float32 passage vectors (may be memory-mapped): only the rows of
    the candidates are read. Missing results have id -1 and score -inf.
    """
    q = np.ascontiguousarray(queries, dtype=np.float32)
    params = search_params(index, info, selector, fraction)
    exact = is_exact(info) or not (info or {}).get("rescore", False)
    # approximate indexes return a longer shortlist, re-scored exactly and cut to k
    depth = k if exact else min(max(k, int((info or {}).get("shortlist", k))), max(index.ntotal, 1))
    with _threads(1 if len(q) < SMALL_BATCH else 0):
        if (info or {}).get("type") == "ivf" and len(q) < SMALL_BATCH and params is not None:
            scores, ids = _search_ivf_prefetched(index, q, depth, params)
        else:
            scores, ids = index.search(q, depth, params=params) if params is not None else index.search(q, depth)
    if exact:
        return scores, ids
    scores, ids = rescore(vectors, q, ids)
    return scores[:, :k], ids[:, :k]


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run FAISS with ``n`` OpenMP threads inside the block (0: leave as is)."""
    import faiss

    if n <= 0:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


# -- reading mapped pages: one batch of reads instead of one page fault after another ----------
# A one-shot search on a large index finds its pages on disk: the IVF lists it probes and the
# rows it re-scores are scattered over files of gigabytes, and touching them faults them in
# one at a time (~4 ms each on a virtual disk). madvise(MADV_WILLNEED) on every range first
# lets the kernel read them all at once; on pages already in memory it costs ~1 µs per range.
_MADV_WILLNEED = 3
_libc: object | None = None


def _madvise() -> object | None:
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True).madvise if sys.platform.startswith("linux") else False
        except (OSError, AttributeError):
            _libc = False
    return _libc or None


_MADV_DONTNEED = 4


def release(x: np.ndarray, start: int = 0, stop: int | None = None) -> None:
    """Take rows ``start:stop`` of a memory-mapped file array out of this process's resident
    memory (``madvise(MADV_DONTNEED)``) once the build has read or written them.

    The pages stay in the page cache (written rows are dirty there and reach the file as
    usual; a later read maps them again), but the build's RSS and peak no longer grow with
    every row of ``vectors.npy`` it touched: 15 GB of mapped file pages at 10M passages.
    Only for shared file maps (``np.memmap`` modes r, r+, w+); anything else is left alone
    (on a private copy-on-write map it would drop the changes)."""
    if not isinstance(x, np.memmap) or getattr(x, "mode", "c") not in ("r", "r+", "w+") or x.ndim == 0:
        return
    fn = _madvise()
    stop = len(x) if stop is None else min(stop, len(x))
    if fn is None or not x.flags.c_contiguous or stop <= start:
        return
    # whole pages around the rows (a neighbour's page dropped too is only mapped again when read:
    # on a shared file map nothing is lost)
    page = mmap.PAGESIZE
    begin = x.__array_interface__["data"][0] + start * x.strides[0]
    end = begin + (stop - start) * x.strides[0]
    first, last = begin - begin % page, -(-end // page) * page
    fn(ctypes.c_void_p(first), ctypes.c_size_t(last - first), _MADV_DONTNEED)  # type: ignore[operator]


def willneed(ranges: Iterable[tuple[int, int]]) -> None:
    """Ask the kernel to read the (address, length) ranges of mapped memory now, together."""
    fn = _madvise()
    if fn is None:
        return
    page = mmap.PAGESIZE
    for addr, length in ranges:
        if length > 0:
            start = addr - addr % page
            fn(ctypes.c_void_p(start), ctypes.c_size_t(length + addr - start), _MADV_WILLNEED)  # type: ignore[operator]


def _search_ivf_prefetched(index: Any, q: np.ndarray, k: int, params: Any) -> tuple[np.ndarray, np.ndarray]:
    """``index.search`` in two steps: the coarse quantizer picks the lists, their codes and ids
    are read ahead together (``willneed``), then the lists are scanned (same results)."""
    import faiss

    ivf = faiss.downcast_index(index)
    if not isinstance(ivf, faiss.IndexIVF):  # a wrapped IVF (pre-transform): plain search
        return index.search(q, k, params=params)
    qp = getattr(params, "quantizer_params", None)
    dq, lists = ivf.quantizer.search(q, int(params.nprobe), params=qp) if qp is not None else ivf.quantizer.search(q, int(params.nprobe))
    invlists, code_size = ivf.invlists, ivf.code_size
    ranges = []
    for no in np.unique(lists[lists >= 0]).tolist():
        size = invlists.list_size(no)
        if size:
            for ptr, width in ((invlists.get_codes(no), code_size), (invlists.get_ids(no), 8)):
                ranges.append((faiss.rev_swig_ptr(ptr, 1).__array_interface__["data"][0], size * width))
    willneed(ranges)
    n = len(q)
    scores = np.empty((n, k), dtype=np.float32)
    ids = np.empty((n, k), dtype=np.int64)
    lists = np.ascontiguousarray(lists, dtype=np.int64)
    dq = np.ascontiguousarray(dq, dtype=np.float32)
    sp = faiss.swig_ptr
    # the SWIG method itself: faiss's Python wrapper of search_preassigned refuses search parameters
    ivf.search_preassigned_c(n, sp(q), k, sp(lists), sp(dq), sp(scores), sp(ids), False, params)
    return scores, ids


def rescore(vectors: np.ndarray, queries: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner products of ``queries`` with their candidate ``ids``, re-sorted."""
    out_s = np.full(ids.shape, -np.inf, dtype=np.float32)
    out_i = np.full(ids.shape, -1, dtype=np.int64)
    if len(queries) < SMALL_BATCH and len(vectors) and hasattr(vectors, "__array_interface__"):  # rows read ahead together
        base, row = vectors.__array_interface__["data"][0], vectors.strides[0]
        willneed((base + int(i) * row, row) for i in np.unique(ids[ids >= 0]).tolist())
    for qi in range(len(queries)):
        cand = ids[qi][ids[qi] >= 0]
        if not len(cand):
            continue
        order = np.argsort(cand)  # read the memory map in file order
        rows = np.asarray(vectors[cand[order]], dtype=np.float32)
        s = np.empty(len(cand), dtype=np.float32)
        s[order] = rows @ queries[qi]
        top = np.argsort(-s, kind="stable")
        out_s[qi, : len(cand)] = s[top]
        out_i[qi, : len(cand)] = cand[top]
    return out_s, out_i


class FileRows:
    """Rows of a memory-mapped ``.npy`` read from its file (``pread``), for the build's
    scattered reads: a page fault on a mapped file maps the whole page-cache folio around the
    row (up to 2 MB on this machine's kernel), so re-scoring 200 calibration queries x 100
    rows through the map held 1.3 GB of ``vectors.npy`` in the build's RSS at 1M passages.
    Same values as indexing the map; ``FileRows.of`` returns anything else unchanged."""

    def __init__(self, x: np.memmap):
        import os

        self._x, self.shape, self.dtype = x, x.shape, x.dtype
        self._row = int(x.strides[0])
        self._offset = int(x.offset)
        self._fd = os.open(x.filename, os.O_RDONLY)
        self._pread = os.pread

    @classmethod
    def of(cls, x: np.ndarray) -> Any:
        if not (isinstance(x, np.memmap) and x.ndim == 2 and len(x) and x.flags.c_contiguous and getattr(x, "filename", None)):
            return x
        try:
            rows = cls(x)
            # a view into a map keeps the map's offset: only the file's own rows are read this way
            if rows[[0]][0].tobytes() == x[0].tobytes() and rows[[len(x) - 1]][0].tobytes() == x[-1].tobytes():
                return rows
        except (OSError, ValueError, IndexError):
            pass
        return x

    def __len__(self) -> int:
        return len(self._x)

    def __getitem__(self, ids: Any) -> np.ndarray:
        ids = np.atleast_1d(np.asarray(ids))
        out = np.empty((len(ids), self.shape[1]), dtype=self.dtype)
        for j, i in enumerate(ids.tolist()):
            if not 0 <= i < len(self._x):
                raise IndexError(i)
            out[j] = np.frombuffer(self._pread(self._fd, self._row, self._offset + i * self._row), dtype=self.dtype)
        return out

    def __del__(self) -> None:
        import os

        try:
            os.close(self._fd)
        except (OSError, AttributeError):
            pass


def _held_out_queries(x: np.ndarray, count: int, seed: int = SEED) -> np.ndarray:
    """Query-like vectors: normalised midpoints of random pairs of indexed vectors."""
    rng = np.random.default_rng(seed)
    rows = FileRows.of(x)  # random rows: read, not mapped
    a = rows[rng.integers(0, len(x), count)]
    b = rows[rng.integers(0, len(x), count)]
    q = a + b
    return np.ascontiguousarray(q / np.linalg.norm(q, axis=1, keepdims=True), dtype=np.float32)


def exact_top(x: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-``k`` ids by inner product (blocked, so 1M vectors need little extra memory)."""
    import faiss

    flat_d = np.full((len(queries), k), -np.inf, dtype=np.float32)
    flat_i = np.full((len(queries), k), -1, dtype=np.int64)
    step = 200_000
    for start in range(0, len(x), step):
        block = faiss.IndexFlatIP(x.shape[1])
        block.add(np.ascontiguousarray(x[start : start + step], dtype=np.float32))
        release(x, start, start + step)
        d, i = block.search(queries, min(k, block.ntotal))
        d = np.concatenate([flat_d, d], axis=1)
        i = np.concatenate([flat_i, i + start], axis=1)
        top = np.argsort(-d, axis=1, kind="stable")[:, :k]
        flat_d = np.take_along_axis(d, top, axis=1)
        flat_i = np.take_along_axis(i, top, axis=1)
    return flat_i


def recall_at(approx: np.ndarray, truth: np.ndarray, k: int = RECALL_K) -> float:
    hits = [len(set(a[:k].tolist()) & set(t[:k].tolist())) / k for a, t in zip(approx, truth, strict=True)]
    return float(np.mean(hits)) if hits else 1.0


def calibrate(index: Any, x: np.ndarray, info: dict[str, Any], queries: np.ndarray | None = None) -> tuple[int, float]:
    """The smallest search width whose recall@10 (after re-scoring) reaches the target:
    efSearch for HNSW (from ``EF_SEARCH``), nprobe for IVF (from ``NPROBE``). The width is
    doubled until the target is met, then bisected twice between the last two widths, so
    it overshoots by at most an eighth (search time grows about linearly with the width)."""
    q = _held_out_queries(x, RECALL_QUERIES) if queries is None else queries
    truth = exact_top(x, q, RECALL_K)
    k = min(SEARCH_K, len(x))
    if info.get("type") == "ivf":
        key, width, top = "nprobe", NPROBE, min(NPROBE_MAX, int(info["nlist"]))
    else:
        key, width, top = "efSearch", EF_SEARCH, EF_SEARCH_MAX

    rows = FileRows.of(x)  # re-scored rows read, not mapped (see FileRows)

    def measure(w: int) -> float:
        _, ids = search(index, {**info, key: w}, rows, q, k)
        return recall_at(ids, truth)

    recall, below = measure(width), 0
    while recall < RECALL_TARGET and width < top:
        below, width = width, min(top, width * 2)
        recall = measure(width)
    for _ in range(2 if recall >= RECALL_TARGET and below else 0):
        mid = (below + width) // 2
        if mid in (below, width):
            break
        r = measure(mid)
        if r >= RECALL_TARGET:
            width, recall = mid, r
        else:
            below = mid
    return width, recall
