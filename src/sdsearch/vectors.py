"""The FAISS index over passage vectors, sized to the corpus.

Vectors are L2-normalised, so inner product is cosine similarity. Small corpora get an
exact flat index; the choice and its parameters are recorded in the manifest.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def build_vector_index(vectors: np.ndarray) -> tuple[Any, str, dict[str, Any]]:
    """A FAISS index over ``vectors``: (index, factory string, settings for the manifest)."""
    import faiss

    dim = vectors.shape[1]
    index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index, "Flat", {"exact": True}
