"""Any sentence-transformers model, by Hugging Face name or local folder (``sdsearch[st]``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncoderError


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
                f'model {name_or_path!r} heeft sentence-transformers nodig: pip install "sdsearch[st]"'
            ) from None
        try:
            self._model: Any = SentenceTransformer(name_or_path, device=device or "cpu")
        except Exception as e:  # OSError, ValueError, HF errors: all mean "cannot load"
            where = "de lokale map" if Path(name_or_path).exists() else "het model"
            msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise EncoderError(
                f"kan {where} {name_or_path!r} niet laden met sentence-transformers ({msg}); "
                "zonder netwerk laden alleen lokale mappen en modellen in de cache"
            ) from None
        self._name = name_or_path
        marker = Path(name_or_path) / "sdsearch.json"
        if marker.is_file():  # written by `sdsearch export-model`: the bundled model itself
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
