"""The vector index: exact below the threshold, approximate (and accurate enough) above it."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from sdsearch import vectors as V


def clustered(n: int, dim: int = 64, centres: int = 40, seed: int = 0) -> np.ndarray:
    """Normalised vectors around a few dozen centres, like topic clusters of passages."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    x = c[rng.integers(0, centres, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


@pytest.fixture()
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(V, "EXACT_LIMIT", 2_000)
    return 2_000


def test_exact_below_threshold(small_limit: int) -> None:
    index, factory, info = V.build_vector_index(clustered(small_limit))
    assert factory == "Flat" and info["exact"] is True
    assert isinstance(index, faiss.IndexFlatIP) and index.ntotal == small_limit
    assert V.search_params(index, info) is None


def test_empty_index() -> None:
    index, factory, info = V.build_vector_index(np.zeros((0, 16), dtype=np.float32))
    assert factory == "Flat" and index.ntotal == 0 and info["exact"]


def test_approximate_above_threshold_records_settings(small_limit: int) -> None:
    x = clustered(3_000)
    index, factory, info = V.build_vector_index(x)
    assert factory.startswith("HNSW") and info["exact"] is False
    assert index.ntotal == len(x)
    assert info["efSearch"] >= V.EF_SEARCH and info["recall_at_10"] >= V.RECALL_TARGET
    params = V.search_params(index, info)
    assert isinstance(params, faiss.SearchParametersHNSW) and params.efSearch == info["efSearch"]


def test_recall_vs_exact(small_limit: int) -> None:
    x = clustered(4_000, seed=1)
    index, _, info = V.build_vector_index(x)
    rng = np.random.default_rng(7)
    q = x[rng.integers(0, len(x), 100)] + 0.3 * rng.standard_normal((100, x.shape[1])).astype(np.float32)
    q = np.ascontiguousarray(q / np.linalg.norm(q, axis=1, keepdims=True), dtype=np.float32)
    truth = V.exact_top(x, q, 10)
    scores, ids = V.search(index, info, x, q, 100)
    assert V.recall_at(ids, truth, 10) >= 0.95
    # re-scored candidates carry exact inner products, best first
    np.testing.assert_allclose(scores[:, 0], np.einsum("ij,ij->i", x[ids[:, 0]], q), rtol=1e-5)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)


def test_deterministic(small_limit: int) -> None:
    x = clustered(2_500, seed=3)
    a, _, ia = V.build_vector_index(x)
    b, _, ib = V.build_vector_index(x)
    assert ia == ib
    q = x[:20]
    assert np.array_equal(V.search(a, ia, x, q, 10)[1], V.search(b, ib, x, q, 10)[1])


@pytest.mark.parametrize("n", [1_500, 3_000])
def test_filtered_search_returns_only_allowed_and_k(small_limit: int, n: int) -> None:
    x = clustered(n, seed=2)
    index, _, info = V.build_vector_index(x)
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(5).choice(n, n // 5, replace=False)] = True
    bitmap = np.packbits(mask, bitorder="little")
    sel = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bitmap))
    q = x[~mask][:10]
    _, ids = V.search(index, info, x, q, 10, selector=sel, fraction=mask.mean())
    assert ids.shape == (10, 10)
    assert np.all(ids >= 0) and mask[ids].all()
    allowed = np.flatnonzero(mask)
    truth = allowed[V.exact_top(x[allowed], q, 10)]
    assert V.recall_at(ids, truth) >= 0.9


def test_mmap_round_trip(small_limit: int, tmp_path) -> None:
    x = clustered(3_000, seed=4)
    for limit in (small_limit, 10_000):  # approximate, then exact
        index, _, info = V.build_vector_index(x, exact_limit=limit)
        path = str(tmp_path / f"v{limit}.faiss")
        faiss.write_index(index, path)
        loaded = faiss.read_index(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        assert loaded.ntotal == len(x)
        q = x[:8]
        a = V.search(index, info, x, q, 10)
        b = V.search(loaded, info, x, q, 10)
        assert np.array_equal(a[1], b[1])
        np.testing.assert_allclose(a[0], b[0], rtol=1e-6)


class _FakeIndex:
    def __init__(self, x: np.ndarray, index: object, info: dict) -> None:
        self.vectors, self.faiss_index, self.manifest = x, index, {"faiss": info}

    def __len__(self) -> int:
        return len(self.vectors)


@pytest.mark.parametrize("share", [0.05, 0.6])
def test_retriever_dense_filtered_approximate(small_limit: int, monkeypatch: pytest.MonkeyPatch, share: float) -> None:
    from sdsearch import retrieve

    monkeypatch.setattr(retrieve, "_EXACT_FILTER_LIMIT", 50)  # force the FAISS selector path
    x = clustered(3_000, seed=6)
    index, _, info = V.build_vector_index(x)
    r = object.__new__(retrieve.Retriever)
    r.index = _FakeIndex(x, index, info)
    mask = np.random.default_rng(8).random(len(x)) < share
    q = x[:5]
    got = r.dense(q, 20, mask)
    allowed = np.flatnonzero(mask)
    truth = allowed[V.exact_top(x[allowed], q, 10)]
    for row, t in zip(got, truth, strict=True):
        assert len(row) == 20 and all(mask[i] for i, _ in row)
        assert len({i for i, _ in row[:10]} & set(t.tolist())) >= 9
    unfiltered = r.dense(q, 10, None)
    assert [row[0][0] for row in unfiltered] == list(range(5))


# -- IVF (above HNSW_LIMIT): SQ8 (default) or PQ codes, shortlist re-scored exactly -----------


@pytest.fixture()
def sq8_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """IVF-SQ8 (the default codec) from 2k vectors on, with few lists, so the path runs on a small set."""
    monkeypatch.setattr(V, "EXACT_LIMIT", 1_000)
    monkeypatch.setattr(V, "HNSW_LIMIT", 2_000)
    monkeypatch.setattr(V, "IVF_LISTS_MIN", 32)
    monkeypatch.setattr(V, "IVF_LISTS_MAX", 64)


@pytest.fixture()
def ivf_limits(sq8_limits: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same with IVF-PQ codes."""
    monkeypatch.setattr(V, "IVF_CODEC", "PQ")
    monkeypatch.setattr(V, "PQ_M", 16)


def test_ivf_sq8_is_the_default_above_the_hnsw_limit() -> None:
    assert V.EXACT_LIMIT < V.HNSW_LIMIT <= 1_000_000 and V.IVF_CODEC == "SQ8"


def test_ivf_sq8_above_hnsw_limit_meets_recall_and_records_settings(sq8_limits: None, tmp_path) -> None:
    x = clustered(4_000, dim=64, seed=21)
    index, factory, info = V.build_vector_index(x)
    assert factory == "IVF64_HNSW32,SQ8" and info["codec"] == "SQ8" and "pq_m" not in info
    assert info["type"] == "ivf" and info["rescore"] is True and info["shortlist"] == V.SEARCH_K
    assert info["recall_at_10"] >= V.RECALL_TARGET and V.NPROBE <= info["nprobe"] <= info["nlist"]
    rng = np.random.default_rng(5)
    q = x[rng.integers(0, len(x), 50)] + 0.3 * rng.standard_normal((50, 64)).astype(np.float32)
    q = np.ascontiguousarray(q / np.linalg.norm(q, axis=1, keepdims=True), dtype=np.float32)
    scores, ids = V.search(index, info, x, q, 10)
    assert V.recall_at(ids, V.exact_top(x, q, 10)) >= 0.9
    np.testing.assert_allclose(scores, np.take_along_axis(q @ x.T, ids, axis=1), rtol=1e-5)  # exact re-scores
    path = str(tmp_path / "v.faiss")
    faiss.write_index(index, path)
    loaded = faiss.read_index(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    mask = np.random.default_rng(9).random(len(x)) < 0.2
    bitmap = np.packbits(mask, bitorder="little")
    sel = faiss.IDSelectorBitmap(len(x), faiss.swig_ptr(bitmap))
    _, fids = V.search(loaded, info, x, q[:8], 10, selector=sel, fraction=float(mask.mean()))
    assert np.all(fids >= 0) and mask[fids].all()
    assert np.array_equal(V.search(loaded, info, x, q, 10)[1], ids)
    # one query at a time: lists and rows read ahead (willneed), then the lists scanned - same results
    one = np.vstack([V.search(loaded, info, x, q[i : i + 1], 10)[1] for i in range(len(q))])
    assert np.array_equal(one, ids)
    one = np.vstack([V.search(loaded, info, x, q[i : i + 1], 10, selector=sel, fraction=float(mask.mean()))[1] for i in range(8)])
    assert np.array_equal(one, fids) and mask[one].all()


def test_calibration_bisects_to_the_smallest_width_that_meets_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    needed = 300  # recall reaches the target from this width on
    top = lambda q, k, shift: np.tile(np.arange(k) + shift, (len(q), 1))  # noqa: E731
    monkeypatch.setattr(V, "exact_top", lambda x, q, k: top(q, k, 0))
    calls = []

    def fake_search(index, info, x, q, k):  # noqa: ANN001, ANN202
        calls.append(info["efSearch"])
        ok = info["efSearch"] >= needed
        return None, top(q, k, 0 if ok else k)

    monkeypatch.setattr(V, "search", fake_search)
    width, recall = V.calibrate(None, np.zeros((10, 4), dtype=np.float32), {"type": "hnsw"}, queries=np.zeros((3, 4), np.float32))
    assert calls == [128, 256, 512, 384, 320] and width == 320 and recall == 1.0


@pytest.mark.slow  # IVF-PQ training: tens of seconds on a busy 2-core machine
def test_ivfpq_above_hnsw_limit_records_settings(ivf_limits: None) -> None:
    x = clustered(4_000, dim=64, seed=11)
    index, factory, info = V.build_vector_index(x)
    assert factory.startswith("IVF") and factory.endswith(",PQ16")
    assert info["type"] == "ivf" and info["exact"] is False and info["rescore"] is True
    assert info["nlist"] == faiss.extract_index_ivf(index).nlist == V.ivf_lists(len(x))
    assert {"nprobe", "shortlist", "pq_m", "train_size", "recall_at_10"} <= set(info)
    assert info["recall_at_10"] >= V.RECALL_TARGET and index.ntotal == len(x)
    params = V.search_params(index, info)
    assert isinstance(params, faiss.SearchParametersIVF) and params.nprobe == info["nprobe"]


@pytest.mark.slow  # IVF-PQ training: tens of seconds on a busy 2-core machine
def test_ivfpq_rescore_is_exact_when_the_shortlist_covers_the_top(ivf_limits: None) -> None:
    x = clustered(3_000, dim=64, seed=12)
    index, _, info = V.build_vector_index(x)
    rng = np.random.default_rng(3)
    q = x[rng.integers(0, len(x), 20)] + 0.2 * rng.standard_normal((20, 64)).astype(np.float32)
    q = np.ascontiguousarray(q / np.linalg.norm(q, axis=1, keepdims=True), dtype=np.float32)
    wide = {**info, "nprobe": info["nlist"], "shortlist": len(x)}  # every list, every vector re-scored
    scores, ids = V.search(index, wide, x, q, 10)
    truth = V.exact_top(x, q, 10)
    assert ids.shape == (20, 10)
    assert np.array_equal(ids, truth)
    np.testing.assert_allclose(scores, np.take_along_axis(q @ x.T, truth, axis=1), rtol=1e-5)


@pytest.mark.slow  # IVF-PQ training: tens of seconds on a busy 2-core machine
def test_ivfpq_filtered_and_mmap(ivf_limits: None, tmp_path) -> None:
    x = clustered(3_000, dim=64, seed=13)
    index, _, info = V.build_vector_index(x)
    path = str(tmp_path / "v.faiss")
    faiss.write_index(index, path)
    loaded = faiss.read_index(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    mask = np.random.default_rng(9).random(len(x)) < 0.2
    bitmap = np.packbits(mask, bitorder="little")
    sel = faiss.IDSelectorBitmap(len(x), faiss.swig_ptr(bitmap))
    q = x[:8]
    _, ids = V.search(loaded, info, x, q, 10, selector=sel, fraction=float(mask.mean()))
    assert np.all(ids >= 0) and mask[ids].all()
    assert np.array_equal(V.search(index, info, x, q, 10)[1], V.search(loaded, info, x, q, 10)[1])


def test_ivf_lists_grow_with_the_corpus() -> None:
    assert V.ivf_lists(1_000_000) == 2048 and V.ivf_lists(3_000_000) == 4096 and V.ivf_lists(10_000_000) == 8192
    assert V.ivf_lists(10) == V.IVF_LISTS_MIN and V.ivf_lists(10**12) == V.IVF_LISTS_MAX
