"""Ablation of the sparse side on eval/retrieval.jsonl: analyzer parts, BM25 text, k1/b.

    python bench/ablate_sparse.py

Builds the default index into a temporary folder, then swaps in BM25 indexes built with
each variant and evaluates sparse alone and hybrid (default fusion, no gemeente boost).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sdsearch.analysis import Analyzer  # noqa: E402
from sdsearch.build import bm25_text, build_index  # noqa: E402
from sdsearch.chunk import context_prefix  # noqa: E402
from sdsearch.config import Settings  # noqa: E402
from sdsearch.evaluate import SpanLocator, read_jsonl, run_retrieval  # noqa: E402
from sdsearch.models import load_encoder  # noqa: E402
from sdsearch.retrieve import Retriever  # noqa: E402
from sdsearch.sparse import SparseIndex  # noqa: E402
from sdsearch.store import open_index  # noqa: E402
from sdsearch.types import Passage  # noqa: E402

TextFn = Callable[[Passage, Analyzer], list[str]]
TEXTS: dict[str, TextFn] = {
    "metadata + section + text": lambda p, a: a.terms(bm25_text(p)),
    "text only": lambda p, a: a.terms(p.text),
    "section counted twice": lambda p, a: a.terms(bm25_text(p)) + a.terms(context_prefix(p)),
}
ANALYZERS = {"full": Analyzer(), "no decompounding": Analyzer(decompound=False), "no stemming": Analyzer(stem=False)}
PARAMS = [(1.5, 0.75), (0.9, 0.4), (1.2, 0.75), (1.2, 0.5), (1.2, 0.9)]  # first: the default


def main() -> None:
    items = read_jsonl(ROOT / "eval" / "retrieval.jsonl")
    locator = SpanLocator(ROOT / "corpus")
    enc = load_encoder()
    tmp = Path(tempfile.mkdtemp())
    build_index([ROOT / "corpus"], tmp / "idx", Settings(), encoder=enc)
    idx = open_index(tmp / "idx")
    passages = list(idx.passages)
    print("| analyzer | BM25 text | k1 | b | sparse nDCG@10 | hybrid nDCG@10 |")
    print("|---|---|---|---|---|---|")
    for an_name, analyzer in ANALYZERS.items():
        for text_name, text_fn in TEXTS.items():
            if an_name != "full" and text_name != "metadata + section + text":
                continue
            tokens = [text_fn(p, analyzer) for p in passages]
            for k1, b in PARAMS:
                if (an_name, text_name) != ("full", "metadata + section + text") and (k1, b) != PARAMS[0]:
                    continue
                idx.use_sparse(SparseIndex.build(tokens, k1=k1, b=b))
                scores = []
                for mode in ("sparse", "hybrid"):
                    r = Retriever(idx, enc, Settings(gemeente_boost=0.0), analyzer=analyzer)
                    scores.append(run_retrieval(r, items, locator, mode).metrics["nDCG@10"])
                print(f"| {an_name} | {text_name} | {k1} | {b} | {scores[0]:.3f} | {scores[1]:.3f} |", flush=True)


if __name__ == "__main__":
    main()
