"""A second stage measured: re-score the top candidates with the encoder on sentence windows.

    python bench/second_stage.py

Every passage is also embedded as sentence windows (two sentences, with the section path)
— the vectors a second stage would store at index time so that it costs no encoding at
query time. For each query the top-N fused candidates are re-scored with
``(1 - w) * fused + w * max window cosine`` (both min-max normalised over the candidates).
Prints nDCG@10 and p50 latency for each w, next to hybrid without the stage.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sdsearch.analysis import sentence_spans  # noqa: E402
from sdsearch.api import build_index  # noqa: E402
from sdsearch.chunk import context_prefix  # noqa: E402
from sdsearch.config import Settings  # noqa: E402
from sdsearch.evaluate import SpanLocator, read_jsonl, run_retrieval  # noqa: E402
from sdsearch.models import load_encoder  # noqa: E402
from sdsearch.retrieve import Retriever  # noqa: E402
from sdsearch.store import open_index  # noqa: E402

TOP_N = 20


class SecondStage(Retriever):
    weight = 0.0
    owner: np.ndarray
    windows: np.ndarray
    _qvec: np.ndarray

    def dense(self, qvecs, n, mask):  # noqa: ANN001, ANN201
        self._qvec = qvecs[0]
        return super().dense(qvecs, n, mask)

    def _fuse(self, query, dense, sparse, mode):  # noqa: ANN001, ANN201
        fused = super()._fuse(query, dense, sparse, mode)
        if not self.weight or not fused:
            return fused
        head, tail = fused[:TOP_N], fused[TOP_N:]
        ids = np.array([i for i, _ in head])
        sims = self.windows @ self._qvec
        best = np.array([sims[self.owner == i].max() if (self.owner == i).any() else 0.0 for i in ids])
        f = np.array([s for _, s in head])

        def norm(x: np.ndarray) -> np.ndarray:
            return (x - x.min()) / (x.max() - x.min()) if x.max() > x.min() else np.ones_like(x)

        new = (1 - self.weight) * norm(f) + self.weight * norm(best)
        order = np.argsort(-new)
        top = max(s for _, s in fused) + 1.0  # keep re-scored candidates above the rest
        return [(int(ids[j]), float(top + new[j])) for j in order] + tail


def main() -> None:
    items = read_jsonl(ROOT / "eval" / "retrieval.jsonl")
    locator = SpanLocator(ROOT / "corpus")
    enc = load_encoder()
    tmp = Path(tempfile.mkdtemp())
    s = Settings()
    build_index([ROOT / "corpus"], tmp / "idx", s, encoder=enc)
    idx = open_index(tmp / "idx")
    owner, texts = [], []
    for i, p in enumerate(idx.passages):
        spans = sentence_spans(p.text)
        for j in range(len(spans)):
            a, b = spans[j][0], spans[min(j + 1, len(spans) - 1)][1]
            owner.append(i)
            texts.append(f"{context_prefix(p)}\n{p.text[a:b]}")
    t = time.perf_counter()
    windows = enc.encode_passages(texts)
    print(f"{len(texts)} sentence windows for {len(idx)} passages embedded in {time.perf_counter() - t:.1f} s")
    print("| second stage | nDCG@10 | RR@10 | R@5 | p50 ms |")
    print("|---|---|---|---|---|")
    for w in (0.0, 0.2, 0.35, 0.5):
        r = SecondStage(idx, enc, dataclasses.replace(s))
        r.weight, r.owner, r.windows = w, np.array(owner), windows
        rep = run_retrieval(r, items, locator, "hybrid")
        m = rep.metrics
        label = "none (hybrid)" if w == 0 else f"sentence windows, w={w}"
        print(f"| {label} | {m['nDCG@10']:.3f} | {m['RR@10']:.3f} | {m['R@5']:.3f} | {statistics.median([rep.latency_ms['p50']]):.1f} |", flush=True)


if __name__ == "__main__":
    main()
