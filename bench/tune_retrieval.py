"""Measure retrieval settings on eval/retrieval.jsonl: chunk size, headings, fusion, analyzer.

    python bench/tune_retrieval.py                 # the full grid (a few minutes on 2 cores)
    python bench/tune_retrieval.py --quick         # current defaults only, all modes

Each chunk-size/headings variant is indexed once into a temporary folder (with the real
bundled model); fusion variants are then evaluated on the same index in-process.
Prints one row per configuration: nDCG@10, RR@10, R@5 and p50 query latency.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sdsearch.api import build_index  # noqa: E402
from sdsearch.config import Settings  # noqa: E402
from sdsearch.evaluate import SpanLocator, read_jsonl, run_retrieval  # noqa: E402
from sdsearch.models import load_encoder  # noqa: E402
from sdsearch.retrieve import Retriever  # noqa: E402
from sdsearch.store import open_index  # noqa: E402


def row(label: str, rep) -> str:  # noqa: ANN001
    m = rep.metrics
    return f"| {label:<44} | {m['nDCG@10']:.3f} | {m['RR@10']:.3f} | {m['R@5']:.3f} | {rep.latency_ms['p50']:5.1f} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--eval", default=str(ROOT / "eval" / "retrieval.jsonl"))
    args = ap.parse_args()
    items = read_jsonl(Path(args.eval))
    locator = SpanLocator(ROOT / "corpus")
    enc = load_encoder()
    base = Settings()
    print(f"encoder: {type(enc).__name__}; {len(items)} queries")
    print(f"| {'configuration':<44} | nDCG@10 | RR@10 | R@5 | p50 ms |")
    print(f"|{'-' * 46}|---------|-------|-----|--------|")
    grid = [(base.chunk_chars, base.embed_headings)] if args.quick else [
        (c, h) for c in (500, 700, 900, 1200) for h in (True, False)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for chunk_chars, headings in grid:
            s = dataclasses.replace(base, chunk_chars=chunk_chars, embed_headings=headings)
            idx_dir = Path(tmp) / f"idx-{chunk_chars}-{headings}"
            t = time.perf_counter()
            build_index([ROOT / "corpus"], idx_dir, s, encoder=enc)
            build_s = time.perf_counter() - t
            idx = open_index(idx_dir)
            label = f"chunk {chunk_chars}, headings {'on' if headings else 'off'}"
            variants = [("dense", {}), ("sparse", {})]
            variants += [("hybrid", {"fusion": "rrf", "rrf_k": k, "dense_weight": w, "gemeente_boost": 0.0}) for k in (10, 60) for w in (0.4, 0.5)]
            variants += [("hybrid", {"fusion": "weighted", "dense_weight": w, "gemeente_boost": 0.0}) for w in (0.3, 0.4, 0.5)]
            variants += [("hybrid", {"fusion": "weighted", "dense_weight": w, "gemeente_boost": b}) for w in (0.3, 0.4, 0.5) for b in (0.1, 0.2, 0.3)]
            if args.quick:
                variants = [("dense", {}), ("sparse", {}), ("hybrid", {})]
            for mode, over in variants:
                r = Retriever(idx, enc, dataclasses.replace(s, mode=mode, **over))
                rep = run_retrieval(r, items, locator, mode)
                desc = mode + ("" if not over else " " + ",".join(f"{k}={v}" for k, v in over.items()))
                print(row(f"{label}: {desc}", rep), flush=True)
            print(f"|   (index built in {build_s:.1f} s, {len(idx)} passages) |", flush=True)


if __name__ == "__main__":
    main()
