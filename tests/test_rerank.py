"""The learned second stage (sdsearch.rerank): features, re-ordering, and the switch that keeps it off."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sdsearch import rerank
from sdsearch.config import Settings
from sdsearch.retrieve import Retriever
from sdsearch.store import open_index

from conftest import FakeEncoder


@pytest.fixture
def retriever(small_index: Path, fake_encoder: FakeEncoder) -> Retriever:
    return Retriever(open_index(small_index), fake_encoder)


def test_off_by_default_and_weights_match_the_features() -> None:
    assert not Settings().second_stage
    assert rerank.MEAN.shape == rerank.SCALE.shape == rerank.WEIGHTS.shape == (len(rerank.FEATURES),)
    assert (rerank.SCALE > 0).all()


def test_reorder_puts_the_scored_head_above_the_tail() -> None:
    fused = [(7, 0.9), (3, 0.8), (5, 0.5), (1, 0.1)]
    out = rerank.reorder(fused, np.array([0.1, 2.0, -1.0]))
    assert [i for i, _ in out] == [3, 7, 5, 1]
    assert [s for _, s in out] == sorted((s for _, s in out), reverse=True)


def test_features_of_the_top_candidates(retriever: Retriever) -> None:
    captured = {}

    def capture(query, p, fused, dense, sparse, subs):  # noqa: ANN001, ANN202
        captured["x"] = retriever.candidate_features(query, p, fused, dense, sparse, subs)
        captured["n"] = len(fused)
        return fused

    retriever.settings = Settings(second_stage=True)
    retriever._second_stage = capture  # type: ignore[method-assign]
    retriever.search(["mrija"])
    x = captured["x"]
    assert x.shape == (min(rerank.DEPTH, captured["n"]), len(rerank.FEATURES))
    col = dict(zip(rerank.FEATURES, x[0], strict=True))
    assert col["fused"] == pytest.approx(1.0) and col["fused_rr"] == 1.0 and col["short"] == 1.0 and col["long"] == 0.0
    assert np.isfinite(x).all()


def test_second_stage_reorders_only_the_kinds_it_was_fitted_on(retriever: Retriever) -> None:
    normal = "hoeveel flexwoningen heeft Mrija in Vlaardingen?"
    retriever.settings = Settings()
    before = retriever.search(["mrija", normal])
    retriever.settings = Settings(second_stage=True)
    after = retriever.search(["mrija", normal])
    assert {h.passage_id for h in after[0]} <= {p.passage_id for p in retriever.index.passages}
    assert [h.passage_id for h in after[1]] == [h.passage_id for h in before[1]]  # "normal": untouched
    for mode in ("dense", "sparse"):
        assert retriever.search(["mrija"], mode=mode)  # hybrid only; other modes unchanged and working
