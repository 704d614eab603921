"""Scale benchmark: index build time, index memory and hybrid query latency at 10k-1M passages.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--queries 100] [--workdir DIR]

Writes a markdown table to stdout and to bench/results/scale.md. Not a test: timings
depend on the machine (and on whatever else runs on it).

Synthetic data, built from the real corpus so both retrievers see realistic statistics:

* **Passages.** The corpus is split into its ~640 unique sentences. A passage is 4-8
  sentences (about the 700-character chunk size): a run of consecutive sentences from a
  random start, each replaced with probability 0.3 by a random sentence from anywhere in
  the corpus. Its document (and so gemeente, year, type for filters and BM25 metadata
  terms) is that of its first sentence.
* **BM25.** Each unique sentence is analysed once with the real ``Analyzer``; a passage's
  terms are its document's metadata terms plus its sentences' terms (what
  ``api.bm25_text`` would give, minus the section path), indexed by bm25s as ``build_index``
  does.
* **Vectors.** Every unique sentence is embedded with the real encoder
  (``sdsearch.embed.load_encoder()``). A passage's vector is the mean of its sentences'
  vectors plus Gaussian noise drawn with the covariance of the sentence vectors, scaled
  so that cos(mean, vector) = 0.94, then L2-normalised. 0.94 is what we measured between
  the real embedding of 96 such 3-6 sentence passages and the mean of their sentence
  embeddings (p5-p95: 0.92-0.96). The noise makes every passage vector distinct and the
  nearest neighbours near-ties, as with real e5 vectors (top-1 cosine 0.86-0.90).
* **Queries.** The "query" field of eval/retrieval.jsonl (real Dutch questions), encoded
  by the real encoder inside ``Retriever.search`` (the timing includes query encoding).

Each size runs in two fresh processes: *build* (synthesise, ``vectors.build_vector_index``,
bm25s, ``store.write_index``) and *query* (``store.open_index`` + ``Retriever`` and timed
``search([q], k=10, mode="hybrid")``), so memory is measured in a clean process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

NOISE_COS = 0.94
SENTS_MIN, SENTS_MAX = 4, 8
REPLACE_P = 0.3


# -- synthetic data ------------------------------------------------------------------------


def corpus_sentences() -> tuple[list[str], list[int], list]:
    """Unique corpus sentences, the document number of each, and the documents."""
    from sdsearch.ingest import ingest

    docs = ingest([ROOT / "corpus"]).documents
    sents: dict[str, int] = {}
    for d_no, d in enumerate(docs):
        for line in d.text.splitlines():
            for s in re.split(r"(?<=[.!?])\s+", line.strip()):
                if s and s not in sents:
                    sents[s] = d_no
    return list(sents), list(sents.values()), docs


def sentence_vectors(sents: list[str], cache: Path) -> np.ndarray:
    """Real e5 embeddings of the sentences (cached: ~15 s to compute)."""
    import hashlib

    key = hashlib.sha1("\n".join(sents).encode()).hexdigest()[:16]
    path = cache / f"sentences-{key}.npy"
    if path.exists():
        return np.load(path)
    from sdsearch.embed import load_encoder

    vecs = load_encoder().encode_passages(sents, batch_size=16)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def compose(n: int, n_sent: int, seed: int = 0) -> np.ndarray:
    """(n, SENTS_MAX) sentence numbers per passage, -1 padded."""
    rng = np.random.default_rng(seed)
    m = rng.integers(SENTS_MIN, SENTS_MAX + 1, n)
    start = rng.integers(0, n_sent, n)
    ids = (start[:, None] + np.arange(SENTS_MAX)[None, :]) % n_sent
    ids = np.where(rng.random((n, SENTS_MAX)) < REPLACE_P, rng.integers(0, n_sent, (n, SENTS_MAX)), ids)
    ids[np.arange(SENTS_MAX)[None, :] >= m[:, None]] = -1
    return ids


def synth_vectors(ids: np.ndarray, s: np.ndarray, seed: int = 1) -> np.ndarray:
    """Normalised noisy means of the passages' sentence vectors (see the module docstring)."""
    import scipy.sparse as sp

    n = len(ids)
    valid = ids >= 0
    m = valid.sum(1)
    w = sp.csr_matrix(
        (np.repeat(1.0 / m, m).astype(np.float32), (np.repeat(np.arange(n), m), ids[valid])), shape=(n, len(s))
    )
    centred = s - s.mean(0)
    # rows of basis @ N(0, I) have the sentence covariance's shape and E|noise|^2 = 1
    basis = (centred / np.sqrt((centred**2).sum(1).mean()) / np.sqrt(len(s))).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, s.shape[1]), np.float32)
    step = 50_000
    for a in range(0, n, step):
        mean = np.asarray(w[a : a + step] @ s, dtype=np.float32)
        norm = np.linalg.norm(mean, axis=1, keepdims=True)
        noise = rng.standard_normal((len(mean), len(s)), dtype=np.float32) @ basis
        v = mean + norm * np.sqrt(1 / NOISE_COS**2 - 1) * noise
        out[a : a + step] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


# -- phases ----------------------------------------------------------------------------------


def rss_mb() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS", "RssAnon", "RssFile", "VmHWM")):
            k, v = line.split(":")
            out[k] = int(v.split()[0]) / 1024
    return out


def phase_build(n: int, folder: Path, cache: Path) -> dict:
    import bm25s

    from sdsearch.store import BuildLock, IndexData, write_index
    from sdsearch.analysis import Analyzer
    from sdsearch.types import Passage
    from sdsearch.vectors import build_vector_index

    t0 = time.perf_counter()
    sents, sent_doc, docs = corpus_sentences()
    svecs = sentence_vectors(sents, cache)
    ids = compose(n, len(sents))
    vectors = synth_vectors(ids, svecs)
    analyzer = Analyzer()
    sent_terms = [analyzer.terms(s) for s in sents]
    meta_terms = [analyzer.terms(" ".join(str(x) for x in (d.gemeente, d.doc_type, d.year) if x)) for d in docs]
    passage_doc = np.array([sent_doc[r[0]] for r in ids], dtype=np.int32)
    passages, corpus_terms = [], []
    for i, row in enumerate(ids):
        row = row[row >= 0]
        d = docs[passage_doc[i]]
        text = " ".join(sents[j] for j in row)
        passages.append(
            Passage(f"syn-{i:07d}", d.doc_id, d.source, text, 0, len(text), d.title, d.gemeente, d.year, d.doc_type)
        )
        terms = list(meta_terms[passage_doc[i]])
        for j in row:
            terms += sent_terms[j]
        corpus_terms.append(terms)
    t_synth = time.perf_counter() - t0

    t = time.perf_counter()
    faiss_index, factory, faiss_info = build_vector_index(vectors)
    t_vec = time.perf_counter() - t
    t = time.perf_counter()
    bm25 = bm25s.BM25()
    bm25.index(corpus_terms, show_progress=False)
    t_bm25 = time.perf_counter() - t
    del corpus_terms
    data = IndexData(
        passages=passages,
        vectors=vectors,
        faiss_index=faiss_index,
        faiss_factory=factory,
        bm25=bm25,
        passage_doc=passage_doc,
        extra_doc_pairs=np.zeros((0, 2), dtype=np.int32),
        manifest={
            "model": {"id": _encoder_meta()["id"], "dim": int(vectors.shape[1]), **_encoder_meta()["prefixes"]},
            "analyzer": analyzer.settings(),
            "faiss": faiss_info,
            "bm25": {"k1": bm25.k1, "b": bm25.b, "method": bm25.method},
            "counts": {"documents": len(docs)},
            "documents": [
                {"source": d.source, "title": d.title, "gemeente": d.gemeente, "year": d.year, "doc_type": d.doc_type}
                for d in docs
            ],
        },
    )
    t = time.perf_counter()
    with BuildLock(folder):
        gen = write_index(folder, data)
    t_write = time.perf_counter() - t
    sizes = {p.relative_to(gen).as_posix(): p.stat().st_size for p in gen.rglob("*") if p.is_file()}
    return {
        "n": n,
        "synth_s": t_synth,
        "vector_s": t_vec,
        "bm25_s": t_bm25,
        "write_s": t_write,
        "factory": factory,
        "faiss": faiss_info,
        "sizes": sizes,
        "build_peak_mb": rss_mb().get("VmHWM", 0.0),
    }


def _encoder_meta() -> dict:
    from sdsearch.embed import load_encoder

    enc = load_encoder()
    return {"id": enc.model_id, "prefixes": {"query_prefix": enc.query_prefix, "passage_prefix": enc.passage_prefix}}


def phase_query(folder: Path, n_queries: int) -> dict:
    from sdsearch.embed import load_encoder
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index
    from sdsearch.vectors import exact_top, recall_at
    from sdsearch.vectors import search as vsearch

    queries = [json.loads(line)["query"] for line in (ROOT / "eval" / "retrieval.jsonl").open(encoding="utf-8")]
    queries = queries[:n_queries]
    enc = load_encoder()
    enc.encode_queries(["opwarmen"])
    before = rss_mb()
    t = time.perf_counter()
    index = open_index(folder)
    r = Retriever(index, enc)
    for q in queries[:10]:  # warm: load FAISS, BM25, page in what queries touch
        r.search([q], k=10, mode="hybrid")
    t_open = time.perf_counter() - t
    lat = []
    for q in queries:
        t = time.perf_counter()
        r.search([q], k=10, mode="hybrid")
        lat.append((time.perf_counter() - t) * 1000)
    after = rss_mb()
    # where the time goes: encoder, dense, sparse (averages over the same queries)
    qv = np.ascontiguousarray(enc.encode_queries(queries), dtype=np.float32)
    parts = {"encode": [], "dense": [], "sparse": []}
    for i, q in enumerate(queries):
        t = time.perf_counter()
        enc.encode_queries([q])
        parts["encode"].append(time.perf_counter() - t)
        t = time.perf_counter()
        r.dense(qv[i : i + 1], 100, None)
        parts["dense"].append(time.perf_counter() - t)
        t = time.perf_counter()
        r.sparse(q, 100, None)
        parts["sparse"].append(time.perf_counter() - t)
    info = index.manifest.get("faiss", {})
    truth = exact_top(index.vectors, qv, 10)
    _, got = vsearch(index.faiss_index, info, index.vectors, qv, 100)
    return {
        "p50": statistics.median(lat),
        "p95": float(np.percentile(lat, 95)),
        "open_s": t_open,
        "rss_before": before,
        "rss_after": after,
        "parts_ms": {k: 1000 * statistics.median(v) for k, v in parts.items()},
        "recall_queries": recall_at(got, truth, 10),
    }


# -- driver ------------------------------------------------------------------------------------


def run_phase(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{' '.join(args[:2])} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_n(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def _mb(sizes: dict[str, int], prefixes: list[str]) -> float:
    return sum(v for k, v in sizes.items() if any(k.startswith(x) for x in prefixes)) / 1e6


def table(rows: list[dict]) -> str:
    head = (
        "| passages | vector index | efSearch | recall@10 (held-out / eval queries) | hybrid p50 ms | p95 ms "
        "| encode / dense / sparse ms (p50) | RSS after load+queries MB (anon + file) | faiss MB | vectors.npy MB "
        "| bm25 MB | passages MB | build s: vectors / bm25 / write |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for b, q in rows:
        sz = b["sizes"]
        ra, rb = q["rss_after"], q["rss_before"]
        f = b["faiss"]
        rec = f.get("recall_at_10")
        lines.append(
            f"| {fmt_n(b['n'])} | {b['factory']} | {f.get('efSearch', '-')} "
            f"| {rec if rec is not None else 'exact'} / {q['recall_queries']:.3f} "
            f"| {q['p50']:.1f} | {q['p95']:.1f} "
            f"| {q['parts_ms']['encode']:.1f} / {q['parts_ms']['dense']:.1f} / {q['parts_ms']['sparse']:.1f} "
            f"| +{ra['VmRSS'] - rb['VmRSS']:.0f} (+{ra['RssAnon'] - rb['RssAnon']:.0f} + {ra['RssFile'] - rb['RssFile']:.0f}) "
            f"| {_mb(sz, ['vectors.faiss']):.0f} | {_mb(sz, ['vectors.npy']):.0f} | {_mb(sz, ['bm25']):.0f} "
            f"| {_mb(sz, ['passages']):.0f} | {b['vector_s']:.1f} / {b['bm25_s']:.1f} / {b['write_s']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--workdir", default="/tmp/sdsearch-scale")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "sdsearch-bench"))
    ap.add_argument("--keep", action="store_true", help="keep the index folders")
    ap.add_argument("--phase", choices=["build", "query"], help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    os.environ.setdefault("SDSEARCH_THREADS", "2")
    if a.phase == "build":
        print(json.dumps(phase_build(a.n, Path(a.workdir) / f"idx-{a.n}", Path(a.cache))))
        return
    if a.phase == "query":
        print(json.dumps(phase_query(Path(a.workdir) / f"idx-{a.n}", a.queries)))
        return
    import shutil

    rows = []
    for n in [int(s) for s in a.sizes.split(",") if s.strip()]:
        folder = Path(a.workdir) / f"idx-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        common = ["--workdir", a.workdir, "--cache", a.cache, "--n", str(n), "--queries", str(a.queries)]
        b = run_phase(["--phase", "build", *common])
        print(
            f"built {fmt_n(n)}: {json.dumps({k: v for k, v in b.items() if k != 'sizes'})}", file=sys.stderr, flush=True
        )
        q = run_phase(["--phase", "query", *common])
        print(f"queried {fmt_n(n)}: {json.dumps(q)}", file=sys.stderr, flush=True)
        rows.append((b, q))
        if not a.keep:
            shutil.rmtree(folder, ignore_errors=True)
    import platform

    out = (
        f"# sdsearch scale benchmark\n\n{time.strftime('%Y-%m-%d %H:%M')} · {platform.machine()} · "
        f"{os.cpu_count()} cores · {a.queries} eval queries, k=10, hybrid, one query per call\n\n"
        + table(rows)
        + "\n\nRSS: increase of the query process after open_index + Retriever + 10 warm-up queries + the timed "
        "queries (the encoder is loaded before the baseline). File sizes are on disk; FAISS and BM25 are "
        "memory-mapped, vectors.npy is read only for re-scoring candidates.\n"
    )
    print(out)
    res = ROOT / "bench" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / "scale.md").write_text(out, encoding="utf-8")


if __name__ == "__main__":
    main()
