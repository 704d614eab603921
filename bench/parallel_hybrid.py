"""Hybrid search with its vector side beside BM25 (two threads) against one after the other,
on one index, the same queries, interleaved.

    python bench/parallel_hybrid.py --index DIR [--rounds 2] [--out bench/results/parallel_hybrid.md]

The queries are those of eval/retrieval.jsonl, retrieval_long.jsonl and retrieval_short.jsonl
(their text only), one per call, with the bundled encoder. Each query runs both ways in turn,
the order alternating, after a warm-up; p50 / p95 include query encoding. ``Settings.parallel_from``
decides the way in sdsearch itself; here it is forced both ways. Prints the index size, both
rows, whether the hits were the same, the load average and CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "src"))  # an installed or PYTHONPATH sdsearch comes first

from sdsearch.config import Settings  # noqa: E402
from sdsearch.models import load_encoder  # noqa: E402
from sdsearch.retrieve import Retriever  # noqa: E402
from sdsearch.store import open_index  # noqa: E402

SETS = ("retrieval.jsonl", "retrieval_long.jsonl", "retrieval_short.jsonl")


def queries() -> list[tuple[str, str]]:
    """(set, query) of every eval query."""
    out = []
    for name in SETS:
        for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append((name, json.loads(line)["query"]))
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N queries (0: all)")
    ap.add_argument("--out")
    args = ap.parse_args()
    index = open_index(Path(args.index))
    enc = load_encoder()
    one = Retriever(index, enc, Settings(parallel_from=0))
    two = Retriever(index, enc, Settings(parallel_from=1))
    qs = queries()[: args.limit or None]
    for _, q in qs[:10]:  # warm-up: pages, caches, the thread pool
        one.search([q], k=10)
        two.search([q], k=10)
    load0 = os.getloadavg()
    cpu0 = time.process_time()
    times: dict[str, list[float]] = {"one after the other": [], "vector side beside BM25": []}
    by_set: dict[tuple[str, str], list[float]] = {}
    same = 0
    for r in range(args.rounds):
        for i, (set_name, q) in enumerate(qs):
            order = [("one after the other", one), ("vector side beside BM25", two)]
            if (i + r) % 2:
                order.reverse()
            hits = {}
            for name, ret in order:
                t = time.perf_counter()
                hits[name] = ret.search([q], k=10)[0]
                times[name].append((time.perf_counter() - t) * 1000)
                by_set.setdefault((set_name, name), []).append(times[name][-1])
            a, b = ([(h.passage_id, round(h.score, 6)) for h in hits[n]] for n in times)
            same += a == b
    cpu = time.process_time() - cpu0
    load1 = os.getloadavg()
    lines = [
        f"# Hybrid: vector side beside BM25 or one after the other ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        f"`python bench/parallel_hybrid.py {' '.join(sys.argv[1:])}` · {len(index)} passages · "
        f"{len(qs)} eval queries × {args.rounds} rounds, each both ways, interleaved · {os.cpu_count()} cores",
        "",
        "| way | p50 ms | p95 ms | mean ms |",
        "|---|---:|---:|---:|",
    ]
    for name, xs in times.items():
        lines.append(f"| {name} | {statistics.median(xs):.1f} | {pct(xs, 0.95):.1f} | {statistics.fmean(xs):.1f} |")
    lines += ["", "Per query set (p50 / p95 ms):", "", "| set | queries | one after the other | beside BM25 |", "|---|---:|---:|---:|"]
    for set_name in SETS:
        a, b = (by_set.get((set_name, n), []) for n in times)
        if a:
            lines.append(
                f"| {set_name} | {len(a) // args.rounds} | {statistics.median(a):.1f} / {pct(a, 0.95):.1f} | "
                f"{statistics.median(b):.1f} / {pct(b, 0.95):.1f} |"
            )
    lines += [
        "",
        f"Same hits and scores both ways: {same} of {len(qs) * args.rounds} searches. "
        f"Load average before / after: {load0[0]:.2f} / {load1[0]:.2f}; CPU {cpu:.0f} s.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
