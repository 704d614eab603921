"""Long questions: BM25 work and quality with and without the two cuts of 0.2.3, and the
dense weight that grows when BM25's best passage lacks the question's words.

    python bench/long_queries.py quality                 # bundled corpus, dev then test splits
    python bench/long_queries.py latency --index DIR [--rounds 2] [--limit N] [--defaults-only | --blocks] [--sparse-from FILE]
    (either with --out FILE: the markdown table is appended there too)

The cuts (``Settings``): ``subquestion_prf`` off (a sub-question of a long multi-part question
gets no RM3 feedback of its own; the whole question still does) and ``long_min_idf`` 2.0 (a
long question's BM25 leaves out its terms with idf under 2, i.e. in more than ~12 % of the
passages). ``unmatched_dense`` 0.4: a long question's dense weight grows by 0.4 × the share of
its idf-weighted BM25 terms that BM25's best passage lacks (a question put in other words
leans on the vectors). Configurations: 0.2.2's settings, each cut alone, both, and both with
``unmatched_dense`` (the default).

*quality*: nDCG@10 / R@10 of the hybrid retriever on the dev and test splits of
eval/retrieval_long.jsonl, retrieval_paraphrase.jsonl (long questions sharing no content word
with their answer) and retrieval_short.jsonl and on eval/retrieval.jsonl (no split; a check),
over the bundled corpus's index (``bench/tune_adaptive.setup``: built once, query
vectors cached). The cuts were chosen on the dev split; test was run once for the choice.

*latency*: an index from ``bench/scale.py --keep`` (synthetic passages, real query encoding).
Every eval query runs in each configuration in turn, one per call, the order rotating, after a
warm-up. Reports hybrid p50 / p95 per query set and the BM25 work of a long question: searches
(the question and its sub-questions), the postings their full sums read (a search MaxScore
answers reads fewer and is not counted: rare for long questions) and BM25 ms. With
``--blocks`` the default settings run twice, BM25's postings summed block by block
(``sparse.BLOCK_ROWS`` rows at a time, 0.2.6) and term after term over the whole score array
(as 0.2.5 did: ``BLOCK_MIN_DOCS`` out of reach), interleaved in one process on the same index.
``--sparse-from FILE`` adds the defaults once more with an older checkout's ``sparse.py`` (e.g.
0.2.5's) over the same BM25 files, in the same rotation: a baseline measured in the same
process, on the same page cache.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from sdsearch.config import Settings  # noqa: E402
from sdsearch.evaluate import read_jsonl  # noqa: E402

CONFIGS: dict[str, dict[str, Any]] = {
    "no cuts (0.2.2's settings)": dict(long_min_idf=0.0, subquestion_prf=True, unmatched_dense=0.0),
    "sub-questions without feedback": dict(long_min_idf=0.0, subquestion_prf=False, unmatched_dense=0.0),
    "long_min_idf 2.0 alone": dict(long_min_idf=2.0, subquestion_prf=True, unmatched_dense=0.0),
    "both cuts": dict(long_min_idf=2.0, subquestion_prf=False, unmatched_dense=0.0),
    "both cuts + unmatched_dense 0.4 (default)": dict(long_min_idf=2.0, subquestion_prf=False, unmatched_dense=0.4),
}
SETS = {"retrieval.jsonl": None, "retrieval_long.jsonl": "long", "retrieval_short.jsonl": "short"}


def emit(lines: list[str], out: str | None) -> None:
    text = "\n".join(lines)
    print(text, flush=True)
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(text + "\n")


def quality(out: str | None) -> None:
    import tune_adaptive as ta

    r, enc, loc, items = ta.setup(ROOT / "index") if (ROOT / "index" / "CURRENT").is_file() else ta.setup()
    items["para"] = read_jsonl(ROOT / "eval" / "retrieval_paraphrase.jsonl")
    lines = [
        f"## Quality, bundled corpus ({len(r.index)} passages; {time.strftime('%Y-%m-%d %H:%M')})",
        "",
        "`python bench/long_queries.py quality` · nDCG@10 / R@10, hybrid",
        "",
        "| configuration | long dev | long test | paraphrase dev | paraphrase test | short dev | short test | retrieval.jsonl (check) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, kw in CONFIGS.items():
        r.settings = replace(Settings(), **kw)
        r._spell = None
        cells = []
        for name, split in (("long", "dev"), ("long", "test"), ("para", "dev"), ("para", "test"), ("short", "dev"), ("short", "test"), ("old", None)):
            m = ta.score(r, items[name], loc, split)
            cells.append(f"{m['nDCG@10']:.3f} / {m['R@10']:.3f}")
        enc.save()
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    emit(lines, out)


BLOCK_CONFIGS = {"term after term": False, "block by block (default)": True}


def _baseline_sparse(path: str) -> Any:
    """``SparseIndex`` as another checkout's ``src/sdsearch/sparse.py`` defines it (loaded as a
    module of this sdsearch, so its relative imports resolve)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sdsearch._baseline_sparse", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "sdsearch"
    spec.loader.exec_module(module)
    return module.SparseIndex


def latency(
    index_dir: str, rounds: int, limit: int, out: str | None, defaults_only: bool = False, blocks: bool = False,
    sparse_from: str | None = None,
) -> None:
    from parallel_hybrid import pct

    from sdsearch import sparse as sparse_module
    from sdsearch.models import load_encoder
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    index = open_index(Path(index_dir))
    enc = load_encoder()
    configs: dict[str, dict[str, Any]] = {"this checkout's defaults": {}} if defaults_only else dict(CONFIGS)
    if blocks:
        configs = {label: {} for label in BLOCK_CONFIGS}
    block_min = sparse_module.BLOCK_MIN_DOCS

    def set_blocks(label: str) -> None:
        if blocks and label in BLOCK_CONFIGS:
            sparse_module.BLOCK_MIN_DOCS = block_min if BLOCK_CONFIGS[label] else 1 << 62
    retrievers = {label: Retriever(index, enc, Settings(**kw)) for label, kw in configs.items()}
    if sparse_from:  # the defaults once more, on another sparse.py over the same files
        baseline = open_index(Path(index_dir))
        baseline.use_sparse(_baseline_sparse(sparse_from).load(baseline.folder / "bm25", mmap=True))
        label = f"sparse.py of {sparse_from}"
        configs[label] = {}
        retrievers[label] = Retriever(baseline, enc, Settings())
    # BM25 work per question: searches (``Retriever.sparse_planned`` calls: the question, its
    # sub-questions), the postings their full sums read (the feedback pass reads its expansion
    # terms), and their wall time.
    work: dict[str, list[float]] = {}
    current: list[str] = [""]

    def count_postings(sp: Any) -> None:
        full_sum: Callable[..., Any] = sp.weighted_scores

        def counted_sum(terms: Any, *a: Any, **k: Any) -> Any:
            w = work.setdefault(current[0], [0.0, 0.0, 0.0])
            w[1] += sum(sp.document_frequency(t) for t, x in (terms.items() if isinstance(terms, dict) else terms) if x > 0)
            return full_sum(terms, *a, **k)

        sp.weighted_scores = counted_sum

    for sp in {id(r.index.sparse): r.index.sparse for r in retrievers.values()}.values():
        count_postings(sp)
    for r in retrievers.values():
        planned: Callable[..., Any] = r.sparse_planned

        def counted(*a: Any, _inner: Callable[..., Any] = planned, **k: Any) -> Any:
            t0 = time.perf_counter()
            found = _inner(*a, **k)
            w = work.setdefault(current[0], [0.0, 0.0, 0.0])
            w[0] += 1
            w[2] += time.perf_counter() - t0
            return found

        r.sparse_planned = counted  # type: ignore[method-assign]
    qs: list[tuple[str, str]] = []
    for name in SETS:
        for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                qs.append((name, json.loads(line)["query"]))
    if limit:
        per = {n: [q for q in qs if q[0] == n][:limit] for n in SETS}
        qs = [q for n in SETS for q in per[n]]
    labels = list(configs)
    for label in labels:  # warm-up: the first touch of the index pages is not in the numbers
        set_blocks(label)
        retrievers[label].search([qs[0][1]], k=10)
    times: dict[tuple[str, str], list[float]] = {}
    load0 = os.getloadavg()[0]
    cpu0 = time.process_time()
    for rnd in range(rounds):
        for i, (name, q) in enumerate(qs):
            for j in range(len(labels)):
                label = labels[(i + j + rnd) % len(labels)]
                current[0] = f"{label}\0{name}"
                set_blocks(label)
                t0 = time.perf_counter()
                retrievers[label].search([q], k=10)
                times.setdefault((label, name), []).append(time.perf_counter() - t0)
    load1 = os.getloadavg()[0]
    lines = [
        f"## Latency, {len(index):,} passages ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        f"`python bench/long_queries.py latency --index {index_dir} --rounds {rounds}"
        + (f" --limit {limit}" if limit else "")
        + (" --defaults-only" if defaults_only else "")
        + (" --blocks" if blocks else "")
        + (f" --sparse-from {sparse_from}" if sparse_from else "")
        + f"` · hybrid, one query per call, k=10, {os.cpu_count()} cores, vector side beside BM25 "
        + f"from {Settings().parallel_from:,} passages",
        "",
        "| configuration | " + " | ".join(f"{n} p50 / p95 ms" for n in SETS) + " | long question: BM25 searches / postings read (M) / ms |",
        "|---|" + "---|" * len(SETS) + "---|",
    ]
    for label in labels:
        cells = []
        for name in SETS:
            xs = [x * 1000 for x in times[(label, name)]]
            cells.append(f"{statistics.median(xs):.0f} / {pct(xs, 0.95):.0f}")
        w = work.get(f"{label}\0retrieval_long.jsonl", [0.0, 0.0, 0.0])
        nq = len(times[(label, "retrieval_long.jsonl")])
        cells.append(f"{w[0] / nq:.1f} / {w[1] / nq / 1e6:.2f} / {w[2] / nq * 1000:.0f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"Queries per set: {', '.join(f'{n} {sum(1 for q in qs if q[0] == n)}' for n in SETS)} × {rounds} rounds. "
              f"Load average before / after: {load0:.2f} / {load1:.2f}; CPU {time.process_time() - cpu0:.0f} s.", ""]
    emit(lines, out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["quality", "latency"])
    ap.add_argument("--index")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="latency: the first N queries of each set (0: all)")
    ap.add_argument("--out")
    ap.add_argument("--defaults-only", action="store_true", help="latency: only Settings() as this checkout has them "
                    "(copied into an older checkout's bench/, it measures that version)")
    ap.add_argument("--blocks", action="store_true", help="latency: the defaults with BM25 summed block by block and term after term")
    ap.add_argument("--sparse-from", help="latency: also the defaults with another checkout's src/sdsearch/sparse.py (a baseline in the same process)")
    args = ap.parse_args()
    if args.what == "quality":
        quality(args.out)
    else:
        if not args.index:
            ap.error("latency needs --index")
        latency(args.index, args.rounds, args.limit, args.out, args.defaults_only, args.blocks, args.sparse_from)


if __name__ == "__main__":
    main()
