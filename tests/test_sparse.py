"""SparseIndex: built by our streaming builder into the very files bm25s saves (byte for byte,
checked against bm25s itself); at search time those arrays scored with numpy, identically."""

from __future__ import annotations

import filecmp
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sdsearch.sparse import SparseIndex

from conftest import ROOT

WORDS = "wmo jeugd hulp wonen beschermd bijstand schuld armoede gemeente velsen maassluis budget zorg werk".split()


def _docs(n: int, seed: int = 1) -> list[list[str]]:
    rng = random.Random(seed)
    return [[rng.choice(WORDS) for _ in range(rng.randint(3, 40))] for _ in range(n)]


@pytest.fixture
def saved(tmp_path: Path) -> tuple[SparseIndex, Path]:
    built = SparseIndex.build(_docs(300), k1=1.5, b=0.75)
    built.save(tmp_path / "bm25")
    return built, tmp_path / "bm25"


def _same_files_as_bm25s(docs: list[list[str]], folder: Path, **kw: float) -> SparseIndex:
    """Build both ways, save both, and require the same files with the same bytes."""
    ours = SparseIndex.build(iter(docs), **kw)  # a stream, as build.sparse_index passes it
    ours.save(folder / "ours")
    ref = SparseIndex.build_bm25s(docs, **kw)
    ref.save(folder / "bm25s")
    names = sorted(p.name for p in (folder / "bm25s").iterdir())
    assert names == sorted(p.name for p in (folder / "ours").iterdir())
    assert names == [f"{a}.csc.index.npy" for a in ("data", "indices", "indptr")] + ["params.index.json", "vocab.index.json"]
    for name in names:
        assert filecmp.cmp(folder / "ours" / name, folder / "bm25s" / name, shallow=False), name
    for a, b in ((ours._data, ref._data), (ours._indices, ref._indices), (ours._indptr, ref._indptr)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert ours._vocab == ref._vocab and list(ours._vocab) == list(ref._vocab) and ours.num_docs == ref.num_docs
    return ours


def test_build_writes_the_files_of_bm25s_for_the_bundled_corpus(tmp_path: Path) -> None:
    from sdsearch.analysis import Analyzer
    from sdsearch.build import bm25_text, chunk_documents, read
    from sdsearch.config import Settings

    s = Settings()
    passages = chunk_documents(read([ROOT / "corpus"], s).documents, s)
    analyzer = Analyzer()
    docs = [analyzer.terms(bm25_text(p)) for p in passages]
    assert len(docs) > 50
    _same_files_as_bm25s(docs, tmp_path, k1=s.bm25_k1, b=s.bm25_b)


@pytest.mark.parametrize("chunk", [7, 1 << 21])
def test_build_writes_the_files_of_bm25s_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """Empty passages, repeats, unicode, "" as a term, a term in every passage, rare terms; counted
    in chunks of a few terms (passages cut across no chunk) or all at once."""
    import sdsearch.sparse as sparse

    monkeypatch.setattr(sparse, "CHUNK_TOKENS", chunk)
    rng = random.Random(5)
    words = WORDS + ["ĳsselmonde", "één", "straße", "日本", "😀", "", "a b", "0", "null"] + [f"r{i}" for i in range(500)]
    docs = [["gemeente"] + [rng.choice(words[: rng.choice([3, 30, len(words)])]) for _ in range(rng.randint(0, 80))] for _ in range(700)]
    docs[3] = docs[500] = []
    docs[10] = ["wmo"] * 50
    ours = _same_files_as_bm25s(docs, tmp_path, k1=1.2, b=0.5)
    assert ours.document_frequency("gemeente") == 700 - 3 and ours.document_frequency("wmo") > 1


def test_build_writes_the_files_of_bm25s_for_generated_corpora(tmp_path_factory: pytest.TempPathFactory) -> None:
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    term = st.one_of(st.sampled_from(WORDS + ["", "één", "日本"]), st.text(min_size=0, max_size=4))
    doc = st.lists(term, max_size=30)

    @hypothesis.settings(max_examples=150, deadline=None, derandomize=True)
    @hypothesis.given(
        docs=st.lists(doc, min_size=1, max_size=40).filter(lambda d: any(d)),
        k1=st.sampled_from([0.9, 1.2, 1.5, 2.0]),
        b=st.sampled_from([0.0, 0.4, 0.75, 1.0]),
        every=st.booleans(),
    )
    def check(docs: list[list[str]], k1: float, b: float, every: bool) -> None:
        if every:
            docs = [d + ["overal"] for d in docs]
        _same_files_as_bm25s(docs, tmp_path_factory.mktemp("h"), k1=k1, b=b)

    check()


def test_build_does_not_import_bm25s(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from sdsearch.sparse import SparseIndex;"
        f"SparseIndex.build([['wmo', 'zorg'], [], ['wmo']]).save(Path({str(tmp_path / 'bm25')!r}));"
        "print(sorted(m for m in ('bm25s', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert SparseIndex.load(tmp_path / "bm25").document_frequency("wmo") == 2


def test_loaded_scores_equal_bm25s_scores(saved: tuple[SparseIndex, Path]) -> None:
    import bm25s

    built, folder = saved
    ref = bm25s.BM25.load(str(folder), mmap=True, allow_pickle=False)
    ours = SparseIndex.load(folder)
    rng = random.Random(7)
    mask = np.array([i % 3 != 0 for i in range(ours.num_docs)])
    for _ in range(50):
        q = [rng.choice(WORDS + ["onbekend"]) for _ in range(rng.randint(1, 8))]
        ids = [ref.vocab_dict[t] for t in q if t in ref.vocab_dict]
        if not ids:
            assert ours.scores(q) is None
            continue
        assert np.array_equal(ours.scores(q), ref.get_scores_from_ids(ids))
        assert np.array_equal(ours.scores(q, mask), ref.get_scores_from_ids(ids, weight_mask=mask.astype(np.float32)))
        assert np.array_equal(built.scores(q), ours.scores(q))


def test_frequencies_settings_and_top(saved: tuple[SparseIndex, Path]) -> None:
    built, folder = saved
    ours = SparseIndex.load(folder)
    docs = _docs(300)
    for w in WORDS:
        assert ours.document_frequency(w) == sum(w in d for d in docs)
    assert ours.document_frequency("onbekend") == 0 and ours.idf("onbekend") > ours.idf("wmo")
    assert ours.settings() == built.settings() == {"k1": 1.5, "b": 0.75, "method": "lucene"}
    top = ours.top(["beschermd", "wonen"], 5)
    assert len(top) == 5 and [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    assert set(ours.vocabulary()) == set(WORDS)


def test_a_loaded_index_cannot_be_saved_again(saved: tuple[SparseIndex, Path], tmp_path: Path) -> None:
    from sdsearch.errors import StoreError

    with pytest.raises(StoreError):
        SparseIndex.load(saved[1]).save(tmp_path / "kopie")


def test_search_does_not_import_bm25s_or_scipy(saved: tuple[SparseIndex, Path]) -> None:
    code = (
        "import sys; from pathlib import Path; from sdsearch.sparse import SparseIndex;"
        f"s = SparseIndex.load(Path({str(saved[1])!r})); s.top(['wmo', 'zorg'], 3);"
        "print(sorted(m for m in ('bm25s', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "src")}, check=True)
    assert out.stdout.strip() == "[]", out.stdout


# -- weighted queries and MaxScore pruning --------------------------------------------------


def _zipf_docs(n: int, seed: int = 3) -> list[list[str]]:
    """Passages over a skewed vocabulary: a few very common terms, many rare ones."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(400)]
    p = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    p /= p.sum()
    return [list(rng.choice(vocab, size=int(rng.integers(5, 60)), p=p)) for _ in range(n)]


@pytest.fixture(scope="module")
def zipf() -> SparseIndex:
    return SparseIndex.build(_zipf_docs(4_000), k1=1.5, b=0.75)


def test_weighted_scores_equal_the_per_term_sum_bit_for_bit(zipf: SparseIndex) -> None:
    rng = np.random.default_rng(4)
    mask = rng.random(zipf.num_docs) < 0.7
    for _ in range(30):
        terms = {f"w{int(i)}": float(w) for i, w in zip(rng.integers(0, 420, 6), rng.choice([0.3, 1.0, 2.0, 0.07, -1.0], 6), strict=True)}
        for m in (None, mask):
            total = None
            for t, w in terms.items():  # what a caller without weighted_scores adds up, array by array
                sc = zipf.scores([t], m) if w > 0 else None
                if sc is not None:
                    total = w * sc if total is None else total + w * sc
            got = zipf.weighted_scores(terms, m)
            assert (got is None and total is None) or np.array_equal(got, total)
    flat = ["w1", "w1", "w7"]  # an integer weight is the term repeated
    assert np.array_equal(zipf.weighted_scores({"w1": 2.0, "w7": 1.0}), zipf.scores(flat))


def test_the_compiled_kernel_adds_postings_as_numpy_does(zipf: SparseIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """Long posting lists go through scipy's csc_matvec: the same float32 scores, bit for bit."""
    from sdsearch import sparse as S

    rng = np.random.default_rng(7)
    queries = [{f"w{int(i)}": float(w) for i, w in zip(rng.integers(0, 60, 8), rng.choice([1.0, 0.3, 2.0, 0.07], 8), strict=True)} for _ in range(20)]
    mask = rng.random(zipf.num_docs) < 0.6
    monkeypatch.setattr(S, "KERNEL_MIN_POSTINGS", 10**12)  # numpy everywhere
    want = [(zipf.weighted_scores(q), zipf.weighted_scores(q, mask), zipf.scores(list(q))) for q in queries]
    monkeypatch.setattr(S, "KERNEL_MIN_POSTINGS", 1)  # the kernel everywhere
    calls = 0
    real = S._csc_matvec()
    assert real is not None  # scipy is installed with sdsearch

    def counting():  # noqa: ANN202
        nonlocal calls
        calls += 1
        return real

    monkeypatch.setattr(S, "_csc_matvec", counting)
    for q, (plain, masked, unweighted) in zip(queries, want, strict=True):
        assert np.array_equal(zipf.weighted_scores(q), plain)
        assert np.array_equal(zipf.weighted_scores(q, mask), masked)
        assert np.array_equal(zipf.scores(list(q)), unweighted)
    assert calls >= 20 * 8


@pytest.mark.parametrize("rows", [1, 37, 256, 5_000])
def test_summing_block_by_block_gives_the_same_scores(zipf: SparseIndex, monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    """From BLOCK_MIN_DOCS passages on the rows are filled a block at a time: the same float32
    scores, bit for bit, whatever the block size (one row, uneven, a whole index in one)."""
    from sdsearch import sparse as S

    rng = np.random.default_rng(11)
    queries = [{f"w{int(i)}": float(w) for i, w in zip(rng.integers(0, 420, 9), rng.choice([1.0, 0.3, 2.0, 0.07], 9), strict=True)} for _ in range(15)]
    queries.append({"w0": 1.0, "w0 ": 1.0, "w3": 0.5})  # an unknown term among them
    mask = rng.random(zipf.num_docs) < 0.6
    want = [(zipf.weighted_scores(q), zipf.weighted_scores(q, mask), zipf.scores(list(q))) for q in queries]
    monkeypatch.setattr(S, "BLOCK_ROWS", rows)
    monkeypatch.setattr(S, "BLOCK_MIN_DOCS", 0)
    summed = []
    real = zipf._sum_postings
    monkeypatch.setattr(zipf, "_sum_postings", lambda terms: summed.append(len(terms)) or real(terms))
    for q, (plain, masked, unweighted) in zip(queries, want, strict=True):
        assert np.array_equal(zipf.weighted_scores(q), plain)
        assert np.array_equal(zipf.weighted_scores(q, mask), masked)
        assert np.array_equal(zipf.scores(list(q)), unweighted)
    assert len(summed) == 3 * len(queries) and max(summed) >= 8
    n = 3
    top = zipf.top_weighted(queries[0], n)
    assert [r for r, _ in top] == [int(i) for i in np.argsort(-want[0][0], kind="stable")[:n]]


def test_a_short_posting_list_does_not_load_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    from sdsearch import sparse as S

    scores = np.zeros(10, dtype=np.float32)
    monkeypatch.setattr(S, "_csc_matvec", lambda: pytest.fail("the kernel is for long lists"))
    S._add_postings(scores, np.array([1, 4], dtype=np.int32), np.array([0.5, 2.0], dtype=np.float32))
    assert scores.tolist() == [0, 0.5, 0, 0, 2.0, 0, 0, 0, 0, 0]


def test_posting_lists_are_sorted_by_passage(zipf: SparseIndex) -> None:
    indptr, indices = zipf._indptr, zipf._indices
    starts = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    same_term = starts[1:] == starts[:-1]
    assert np.all(np.diff(indices)[same_term] > 0)  # MaxScore's binary search relies on it


@pytest.mark.parametrize("n", [1, 10, 100])
def test_maxscore_top_equals_the_full_sum(zipf: SparseIndex, monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    from sdsearch import sparse as S

    monkeypatch.setattr(S, "PRUNE_MIN_DOCS", 0)
    monkeypatch.setattr(S, "COMPLETE_COST", 0.05)  # prune whenever it can (a small index is cheap either way)
    pruned = 0
    real = zipf._top_maxscore

    def counting(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        nonlocal pruned
        got = real(*a, **kw)
        pruned += got is not None
        return got

    monkeypatch.setattr(zipf, "_top_maxscore", counting)
    rng = np.random.default_rng(n)
    mask = rng.random(zipf.num_docs) < 0.5
    for trial in range(60):
        common = [f"w{int(i)}" for i in rng.integers(0, 5, 2)]
        rare = [f"w{int(i)}" for i in rng.integers(30, 400, int(rng.integers(1, 4)))]
        terms = {t: float(rng.choice([1.0, 2.0, 0.35])) for t in common + rare}
        m = mask if trial % 3 == 0 else None
        got = zipf.top_weighted(terms, n, m)
        full = zipf.weighted_scores(terms, m)
        want = sorted((-float(full[i]), int(i)) for i in np.flatnonzero(full > 0))[:n]
        assert [s for _, s in got] == [-s for s, _ in want]  # the same scores, best first
        last = want[-1][0] if want else 0.0
        assert {i for i, s in got if -s < last} == {i for s, i in want if s < last}  # same passages but for ties at the cut
        assert all(float(full[i]) == s for i, s in got)
    assert pruned >= 20  # the pruned path ran, not only the fallback


def test_top_of_a_large_array_ranks_only_the_chunks_that_can_hold_the_top(monkeypatch: pytest.MonkeyPatch) -> None:
    from sdsearch import sparse as S

    rng = np.random.default_rng(8)
    cases = [
        rng.random(50_000).astype(np.float32),  # every row scored
        np.where(rng.random(50_000) < 0.01, rng.random(50_000), 0).astype(np.float32),  # mostly zero
        np.round(rng.random(50_000) * 20).astype(np.float32),  # many ties
        np.zeros(50_000, dtype=np.float32),
        np.concatenate([rng.random(50_000), [5.0, 0.0, 4.0]]).astype(np.float32),  # the best rows after the last whole chunk
        np.where(np.arange(50_000) % 997 == 0, 1.0, 0.0).astype(np.float32),  # few rows, all tied
    ]
    for scores in cases:
        for n in (1, 10, 100, 5_000):
            reference = S._top(scores, n)
            monkeypatch.setattr(S, "PRUNE_MIN_DOCS", 0)
            fast = S._top(scores, n)
            monkeypatch.setattr(S, "PRUNE_MIN_DOCS", 200_000)
            assert [s for _, s in fast] == [s for _, s in reference]
            cut = reference[-1][1] if reference else 0.0
            assert {i for i, s in fast if s > cut} == {i for i, s in reference if s > cut}
            assert all(scores[i] == s for i, s in fast)
            if n < len(scores) // S.TOP_CHUNK:  # ranked from the groups that can hold the top: ties go to the lower row
                order = np.lexsort((np.arange(len(scores)), -scores))[:n]
                assert fast == [(int(i), float(scores[i])) for i in order if scores[i] > 0]
