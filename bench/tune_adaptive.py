"""Query-adaptive retrieval (issue 12, items 1-2): tune on dev, decide on test, once.

    python bench/tune_adaptive.py dev        # grids on the dev splits (long, short), old set as a check
    python bench/tune_adaptive.py final      # baseline / each part / all kept parts on dev and test
    python bench/tune_adaptive.py boilerplate  # the term list behind query.BOILERPLATE

Builds an index of the bundled corpus with the bundled model in /tmp/adapt-index (once).
Query vectors are encoded once per text and cached in /tmp/sdsearch-adapt-cache/qvecs-<model>.npz,
so every configuration after the first runs the real ``Retriever.search`` (sparse, fusion,
de-duplication) and ``evaluate.run_retrieval`` without touching the encoder.
Tuning looks at dev splits only; eval/retrieval.jsonl (no split) is reported as a check.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sdsearch.config import Settings  # noqa: E402
from sdsearch.evaluate import SpanLocator, read_jsonl, run_retrieval  # noqa: E402
from sdsearch.query import profile  # noqa: E402
from sdsearch.retrieve import Retriever  # noqa: E402

INDEX = Path("/tmp/adapt-index")
CACHE = Path("/tmp/sdsearch-adapt-cache")
SETS = {"old": "retrieval.jsonl", "long": "retrieval_long.jsonl", "short": "retrieval_short.jsonl"}
# Every part off: the retrieval of sdsearch before 0.2 (today's default).
BASELINE = dict(adaptive=False)
OFF = dict(
    adaptive=True, dense_weight_long=0.4, dense_weight_short=0.4, long_boilerplate=False,
    subquestion_weight=0.0, prf_weight=0.0, spell_correct=False, abbrev_weight=0.0, long_min_idf=0.0,
    unmatched_dense=0.0,
)


class CachedEncoder:
    """The real encoder, each query text encoded once (kept on disk between runs)."""

    def __init__(self, inner: Any, path: Path):
        self.inner, self.path = inner, path
        self.vecs: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path) as z:
                self.vecs = {k: z[k] for k in z.files}
        self.dirty = False
        self.encode_ms: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = [t for t, k in zip(texts, keys, strict=True) if k not in self.vecs]
        if missing:
            t0 = time.perf_counter()
            out = self.inner.encode_queries(missing)
            self.encode_ms.append((time.perf_counter() - t0) * 1000 / len(missing))
            for t, v in zip(missing, out, strict=True):
                self.vecs[hashlib.sha1(t.encode()).hexdigest()] = np.asarray(v, dtype=np.float32)
            self.dirty = True
        return np.stack([self.vecs[k] for k in keys])

    def save(self) -> None:
        if self.dirty:
            CACHE.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, **self.vecs)
            self.dirty = False


def qvec_cache(encoder: Any) -> Path:
    """The cache file for this encoder's query vectors: one per model and vector revision
    (a new encoder revision makes other vectors; an old cache would mix them)."""
    tag = hashlib.sha1(f"{encoder.model_id}\0{getattr(encoder, 'vector_revision', '')}".encode()).hexdigest()[:10]
    return CACHE / f"qvecs-{tag}.npz"


def setup(index: Path = INDEX) -> tuple[Retriever, CachedEncoder, SpanLocator, dict[str, list[dict[str, Any]]]]:
    """The bundled corpus's index in ``index`` (built once), a retriever over it with cached
    query vectors, the span locator and the eval sets."""
    if not (index / "CURRENT").is_file():
        from sdsearch.build import build_index

        build_index([ROOT / "corpus"], str(index))
    base = Retriever.open(index, settings=Settings())
    enc = CachedEncoder(base.encoder, qvec_cache(base.encoder))
    r = Retriever(base.index, enc, Settings())
    items = {name: read_jsonl(ROOT / "eval" / f) for name, f in SETS.items()}
    return r, enc, SpanLocator(ROOT / "corpus"), items


def score(r: Retriever, items: list[dict[str, Any]], loc: SpanLocator, split: str | None, mode: str = "hybrid") -> dict[str, float]:
    chosen = [it for it in items if split is None or it.get("split") == split]
    rep = run_retrieval(r, chosen, loc, mode)
    return {"nDCG@10": rep.metrics["nDCG@10"], "R@10": rep.metrics["R@10"], "p50": rep.latency_ms["p50"], "rows": rep.per_query}


def with_settings(r: Retriever, **kw: Any) -> Retriever:
    r.settings = replace(Settings(), **kw)
    r._spell = None
    return r


def dev_grid() -> None:
    r, enc, loc, items = setup()
    dev = {"long": "dev", "short": "dev", "old": None}

    def run(label: str, **kw: Any) -> None:
        with_settings(r, **kw)
        cells = []
        for name in ("long", "short", "old"):
            m = score(r, items[name], loc, dev[name])
            cells.append(f"{m['nDCG@10']:.3f} / {m['R@10']:.3f}")
        enc.save()
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)

    print("| configuration | long dev nDCG/R@10 | short dev | old (check) |\n|---|---|---|---|")
    run("baseline (today's default)", **BASELINE)
    for lw in (20, 25, 30):
        for a in (0.0, 0.1, 0.2, 0.3):
            run(f"dense_weight_long={a}, long≥{lw} words", **{**OFF, "dense_weight_long": a, "long_query_words": lw})
    for sw in (1, 2, 3):
        for a in (0.3, 0.5, 0.6):
            run(f"dense_weight_short={a}, short≤{sw} words", **{**OFF, "dense_weight_short": a, "short_query_words": sw})
    run("long_boilerplate", **{**OFF, "long_boilerplate": True})
    for b in (0.25, 0.5, 1.0):
        run(f"subquestion_weight={b}", **{**OFF, "subquestion_weight": b})
    for docs in (3, 5):
        for nt in (10, 20):
            for lam in (0.2, 0.4):
                run(f"prf docs={docs} terms={nt} weight={lam}", **{**OFF, "prf_docs": docs, "prf_terms": nt, "prf_weight": lam})
    run("spell_correct", **{**OFF, "spell_correct": True})


def combos() -> None:
    r, enc, loc, items = setup()
    dev = {"long": "dev", "short": "dev", "old": None}

    def run(label: str, **kw: Any) -> None:
        with_settings(r, **kw)
        cells = []
        for name in ("long", "short", "old"):
            m = score(r, items[name], loc, dev[name])
            cells.append(f"{m['nDCG@10']:.3f} / {m['R@10']:.3f}")
        enc.save()
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)

    print("| configuration (RM3 on long questions only) | long dev nDCG/R@10 | short dev | old (check) |\n|---|---|---|---|")
    for docs, nt, lam in ((3, 10, 0.2), (3, 10, 0.3), (3, 5, 0.2), (2, 10, 0.2), (5, 20, 0.2)):
        run(f"prf docs={docs} terms={nt} weight={lam}", **{**OFF, "prf_docs": docs, "prf_terms": nt, "prf_weight": lam})
    run("dw_long 0.2 + prf 3/10/0.2", **{**OFF, "dense_weight_long": 0.2, "prf_weight": 0.2})
    run("dw_long 0.2 + prf + subq 0.5", **{**OFF, "dense_weight_long": 0.2, "prf_weight": 0.2, "subquestion_weight": 0.5})
    run("dw_long 0.2 + prf + subq 0.5 + boilerplate", **{**OFF, "dense_weight_long": 0.2, "prf_weight": 0.2, "subquestion_weight": 0.5, "long_boilerplate": True})
    run("dw_long 0.2 + prf + subq 0.5 + spell", **{**OFF, "dense_weight_long": 0.2, "prf_weight": 0.2, "subquestion_weight": 0.5, "spell_correct": True})
    run("dw_long 0.3 + prf + subq 0.5 + spell", **{**OFF, "dense_weight_long": 0.3, "prf_weight": 0.2, "subquestion_weight": 0.5, "spell_correct": True})


# Chosen on dev (each part alone in `dev`, together in `combos`); looked at on test once.
PARTS = {
    "dense weight 0.2 for long questions": dict(dense_weight_long=0.2),
    "RM3 on long questions (3 passages, 10 terms, 0.2)": dict(prf_docs=3, prf_terms=10, prf_weight=0.2),
    "sub-questions (weight 0.5)": dict(subquestion_weight=0.5),
    "spelling correction (short inputs)": dict(spell_correct=True),
    "boilerplate terms dropped (long)": dict(long_boilerplate=True),
}
FINAL = dict(dense_weight_long=0.2, prf_docs=3, prf_terms=10, prf_weight=0.2, subquestion_weight=0.5, spell_correct=True)


def final() -> None:
    r, enc, loc, items = setup()
    cols = [("long", "dev"), ("long", "test"), ("short", "dev"), ("short", "test"), ("old", None)]
    head = " | ".join(f"{n} {sp or 'all'}" for n, sp in cols)
    print(f"nDCG@10 / R@10 (hybrid, bundled corpus, analyzer {r.analyzer.settings()['version']})\n")
    print(f"| configuration | {head} |\n|---" * 1 + "|---" * len(cols) + "|")
    configs = [("baseline (today's default)", BASELINE)]
    configs += [(f"+ {k} alone", {**OFF, **v}) for k, v in PARTS.items()]
    configs += [("final (kept parts together)", {**OFF, **FINAL})]
    for label, kw in configs:
        with_settings(r, **kw)
        cells = []
        for name, sp in cols:
            m = score(r, items[name], loc, sp)
            cells.append(f"{m['nDCG@10']:.3f} / {m['R@10']:.3f}")
        enc.save()
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    for mode in ("sparse", "dense"):
        with_settings(r, **BASELINE)
        cells = [f"{score(r, items[n], loc, sp, mode)['nDCG@10']:.3f}" for n, sp in cols]
        print(f"| {mode} alone (reference) | " + " | ".join(cells) + " |", flush=True)
    # Latency with the real encoder (nothing cached), every query of the three sets.
    real = Retriever(r.index, enc.inner, Settings())
    queries = [it["query"] for its in items.values() for it in its]
    print()
    for label, kw in (("baseline", BASELINE), ("final", {**OFF, **FINAL})):
        real.settings = replace(Settings(), **kw)
        real.search(["warming up"])
        per_kind: dict[str, list[float]] = {}
        for q in queries:
            t = time.perf_counter()
            real.search([q])
            kind = profile(q, real.analyzer).kind(Settings())
            per_kind.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
        allv = [v for vs in per_kind.values() for v in vs]
        detail = ", ".join(f"{k} {statistics.median(v):.0f} ms" for k, v in sorted(per_kind.items()))
        print(f"latency {label}: p50 {statistics.median(allv):.0f} ms over {len(allv)} queries ({detail})", flush=True)


def boilerplate() -> None:
    r, _, _, items = setup()
    dev = [it for it in items["long"] if it["split"] == "dev"]
    c: Counter[str] = Counter()
    for it in dev:
        c.update(set(r.analyzer.terms(it["query"])))
    sp = r.index.sparse
    for t, n in c.most_common(60):
        if n / len(dev) >= 0.10 or sp.idf(t) > 2.8 and n >= 5:
            print(f"{t:14s} in {n:3d}/{len(dev)} long dev questions, df {sp.document_frequency(t)}")


if __name__ == "__main__":
    {"dev": dev_grid, "combos": combos, "final": final, "boilerplate": boilerplate}[sys.argv[1] if len(sys.argv) > 1 else "dev"]()
