"""SparseIndex: bm25s at build time; at search time its saved arrays scored with numpy, identically."""

from __future__ import annotations

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
