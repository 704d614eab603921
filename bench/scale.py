"""Scale benchmark: index build time, index memory and hybrid query latency at 10k-3M passages.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--queries 100] [--workdir DIR]
                                    [--hnsw-limit N] [--oneshot RUNS]

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
  ``api.bm25_text`` would give, minus the section path), indexed by ``SparseIndex.build``
  as ``build_index`` does (streamed: ``build.sparse_index`` passes a generator).
* **Vectors.** Every unique sentence is embedded with the real encoder
  (``sdsearch.models.load_encoder()``). A passage's vector is the mean of its sentences'
  vectors plus Gaussian noise drawn with the covariance of the sentence vectors, scaled
  so that cos(mean, vector) = 0.94, then L2-normalised. 0.94 is what we measured between
  the real embedding of 96 such 3-6 sentence passages and the mean of their sentence
  embeddings (p5-p95: 0.92-0.96). The noise makes every passage vector distinct and the
  nearest neighbours near-ties, as with real e5 vectors (top-1 cosine 0.86-0.90).
* **Queries.** The "query" field of eval/retrieval.jsonl (real Dutch questions), encoded
  by the real encoder inside ``Retriever.search`` (the timing includes query encoding).

Each size runs in two fresh processes, so memory is measured in a clean one:

* *build*: the build's own steps, streamed as ``build_index`` streams them, under the
  ``BuildLock``: the synthetic passages are made one at a time and written by
  ``build.write_passages`` into the new generation's ``passages.jsonl`` (hashes held for
  the collapse of identical passages; ``collapse=False`` keeps the synthetic repeats as
  rows, as in earlier runs), the vectors into its memory-mapped ``vectors.npy``
  (``store.vector_file``, written rows released from the RSS as the embed step does), then
  ``build.assemble`` with the folder (``build.vector_index`` and ``build.sparse_index``
  timed; FAISS written and freed before BM25) and ``store.write_index``. ``assemble`` gets
  an analyzer that analyses each distinct sentence once (the real ``Analyzer``, cached per
  sentence). Peak RSS is the process's VmHWM;
  VmHWM is reset before each timed step (``reset_peak``), so ``step_mem`` in the JSON gives
  each step's RSS before it and its own peak (the build peak is the largest of the windows).
* *query*: ``store.open_index`` (timed alone: "open"), ``Retriever``, the first query
  (timed: "first"), then every eval query in dense, sparse and hybrid mode, interleaved,
  ``--rounds`` times (default 2); p50/p95 are over all rounds, "min p50" the best round.
  "BM25 alone": each eval query's plan scored three ways (``bm25_core``). Recall@10 of the
  dense retriever against exact search over ``vectors.npy``. Memory:
  VmHWM, RssAnon (private) and RssFile (file pages: shared by every worker that maps the
  same index) and Pss from ``/proc/self/smaps_rollup``.

* *one-shot* (``--oneshot RUNS``, default 5): the CLI a person types, ``sdsearch search
  --index IDX "beschermd wonen"``, each a fresh process (imports, model, open, one hybrid
  query, output), interleaved with the same command on the bundled corpus's index
  (``index/``, built first when missing). "cold" first evicts the index's own files from the
  page cache (``posix_fadvise(DONTNEED)``; the model files stay cached, as for the corpus
  run), "warm" does not. Wall and CPU (user + sys) seconds, medians.

``--hnsw-limit N`` builds with ``vectors.HNSW_LIMIT = N`` (a large N keeps HNSW32,SQ8 above
the default switch to IVF-SQ8, to compare the two at one size).

The machine is shared: timings are noisy (the load average is printed with each row).
``OMP_WAIT_POLICY=PASSIVE`` keeps FAISS's OpenMP threads from spinning on a busy machine.
``--time-limit`` (seconds, default 5400) stops before a size that would start after it.
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
ONESHOT_QUERY = "beschermd wonen"
SENTS_MIN, SENTS_MAX = 4, 8
REPLACE_P = 0.3


# -- synthetic data ------------------------------------------------------------------------


def corpus_sentences() -> tuple[list[str], list[int], object]:
    """Unique corpus sentences, the document number of each, and the ingest report."""
    from sdsearch.ingest import ingest

    report = ingest([ROOT / "corpus"])
    docs = report.documents
    sents: dict[str, int] = {}
    for d_no, d in enumerate(docs):
        for line in d.text.splitlines():
            for s in re.split(r"(?<=[.!?])\s+", line.strip()):
                if s and s not in sents:
                    sents[s] = d_no
    return list(sents), list(sents.values()), report


def sentence_vectors(sents: list[str], cache: Path) -> np.ndarray:
    """Real e5 embeddings of the sentences (cached: ~15 s to compute)."""
    import hashlib

    key = hashlib.sha1("\n".join(sents).encode()).hexdigest()[:16]
    path = cache / f"sentences-{key}.npy"
    if path.exists():
        return np.load(path)
    from sdsearch.models import load_encoder

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


def synth_vectors(ids: np.ndarray, s: np.ndarray, seed: int = 1, out: np.ndarray | None = None) -> np.ndarray:
    """Normalised noisy means of the passages' sentence vectors (see the module docstring)."""
    import scipy.sparse as sp

    from sdsearch.vectors import release

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
    if out is None:
        out = np.empty((n, s.shape[1]), np.float32)
    step = 50_000
    for a in range(0, n, step):
        mean = np.asarray(w[a : a + step] @ s, dtype=np.float32)
        norm = np.linalg.norm(mean, axis=1, keepdims=True)
        noise = rng.standard_normal((len(mean), len(s)), dtype=np.float32) @ basis
        v = mean + norm * np.sqrt(1 / NOISE_COS**2 - 1) * noise
        out[a : a + step] = v / np.linalg.norm(v, axis=1, keepdims=True)
        release(out, a, a + step)  # as the build's embed step: written rows leave the RSS
    return out


# -- phases ----------------------------------------------------------------------------------


def reset_peak() -> float:
    """The peak RSS so far (VmHWM), then a new window: writing 5 to clear_refs resets VmHWM
    to the current RSS (Linux), so a step's own peak can be read after it."""
    before = mem_mb()["VmHWM"]
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return before


def mem_mb() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS", "RssAnon", "RssFile", "VmHWM")):
            k, v = line.split(":")
            out[k] = int(v.split()[0]) / 1024
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith(("Pss:", "Shared_Clean:", "Private_Clean:", "Private_Dirty:")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) / 1024
    except OSError:
        pass
    return out


class SentenceAnalyzer:
    """The real ``Analyzer``, run once per distinct line or sentence and cached: synthetic
    passages repeat ~640 sentences, so analysing each passage whole would only cost time."""

    _SPLIT = re.compile(r"(?<=[.!?])\s+|\n")

    def __init__(self) -> None:
        from sdsearch.analysis import Analyzer

        self._a = Analyzer()
        self._cache: dict[str, list[str]] = {}

    def settings(self) -> dict:
        return self._a.settings()

    def terms(self, text: str) -> list[str]:
        out: list[str] = []
        for piece in self._SPLIT.split(text):
            t = self._cache.get(piece)
            if t is None:
                t = self._cache[piece] = self._a.terms(piece)
            out += t
        return out


class EncoderInfo:
    """What the build records of the encoder (the query phase loads the real one)."""

    def __init__(self) -> None:
        from sdsearch.models import load_encoder

        enc = load_encoder()
        self.model_id, self.dim = enc.model_id, enc.dim
        self.query_prefix, self.passage_prefix = enc.query_prefix, enc.passage_prefix


def synth_passages(ids: np.ndarray, sents: list[str], sent_doc: list[int], docs: list):  # noqa: ANN201
    """One ``Passage`` per row of sentence numbers, made one at a time (a generator, as a
    build's chunker yields them); its document is its first sentence's."""
    from sdsearch.types import Passage

    first = ids[:, 0]
    for i in range(len(ids)):
        row = ids[i]
        d = docs[sent_doc[first[i]]]
        text = " ".join(sents[j] for j in row[row >= 0])
        yield Passage(f"syn-{i:08d}", d.doc_id, d.source, text, 0, len(text), d.title, d.gemeente, d.year, d.doc_type)


def phase_bm25(n: int, builder: str, folder: Path) -> dict:
    """The BM25 step alone on the same synthetic passages: ``build.sparse_index`` as it is
    (``lean``: streamed into ``SparseIndex.build``) or as it was (``bm25s``: every passage's
    terms in one list, ``SparseIndex.build_bm25s``), with its own peak (VmHWM reset before)."""
    from sdsearch import build
    from sdsearch.config import Settings
    from sdsearch.sparse import SparseIndex

    t0 = time.perf_counter()
    sents, sent_doc, report = corpus_sentences()
    passages = list(synth_passages(compose(n, len(sents)), sents, sent_doc, report.documents))
    analyzer, s = SentenceAnalyzer(), Settings()
    analyzer.terms(" ".join(sents))  # fill the sentence cache before the window
    t_synth = time.perf_counter() - t0
    peak_synth = reset_peak()
    before = mem_mb()["VmRSS"]
    t = time.perf_counter()
    if builder == "bm25s":
        sparse = SparseIndex.build_bm25s([analyzer.terms(build.bm25_text(p)) for p in passages], k1=s.bm25_k1, b=s.bm25_b)
    else:
        sparse = build.sparse_index(passages, s, analyzer)
    t_build = time.perf_counter() - t
    after = mem_mb()
    t = time.perf_counter()
    sparse.save(folder)
    t_save = time.perf_counter() - t
    return {
        "n": n, "builder": builder, "synth_s": t_synth, "build_s": t_build, "save_s": t_save,
        "peak_before_mb": peak_synth, "rss_before_mb": before, "build_peak_mb": after["VmHWM"],
        "rss_after_mb": after["VmRSS"], "save_peak_mb": mem_mb()["VmHWM"],
        "postings": int(sparse._indptr[-1]), "terms": len(sparse._vocab),
        "load": os.getloadavg()[0], "cpu_s": time.process_time(),
    }


def phase_build(n: int, folder: Path, cache: Path, hnsw_limit: int | None = None) -> dict:
    """The build's own steps on synthetic data, streamed as ``build_index`` streams: the
    passages go through ``build.write_passages`` into the new generation's
    ``passages.jsonl`` as they are made, the vectors into its memory-mapped ``vectors.npy``
    (``store.vector_file``), then ``build.assemble`` with ``tmp`` (FAISS written and freed
    before BM25) and ``store.write_index``, all under the ``BuildLock``."""
    from sdsearch import build
    from sdsearch import vectors as V

    if hnsw_limit is not None:
        V.HNSW_LIMIT = hnsw_limit
    from sdsearch.config import Settings
    from sdsearch.store import BuildLock, new_generation, vector_file, write_index

    t0 = time.perf_counter()
    enc = EncoderInfo()
    s = Settings()
    sents, sent_doc, report = corpus_sentences()
    docs = report.documents
    svecs = sentence_vectors(sents, cache)
    ids = compose(n, len(sents))
    folder.mkdir(parents=True, exist_ok=True)
    lock = BuildLock(folder)
    lock.__enter__()
    tmp = new_generation(folder)
    # collapse=False: the synthetic passages repeat by construction (a run of 4-8 corpus
    # sentences with none replaced); the rows stay as in earlier runs, the hashes are held.
    written = build.write_passages(synth_passages(ids, sents, sent_doc, docs), tmp, docs, enc, s, collapse=False)
    t_passages = time.perf_counter() - t0
    mem_passages = mem_mb()
    vectors = vector_file(tmp, n, svecs.shape[1])
    synth_vectors(ids, svecs, out=vectors)
    del ids
    plan = build.EmbedPlan(texts=build.EmbedTexts(written, s.embed_headings), keys=written.keys, vectors=vectors, todo=[], old_docs={})
    t_synth = time.perf_counter() - t0
    mem_synth = mem_mb()

    timings: dict[str, float] = {}
    peaks: dict[str, float] = {}
    steps: dict[str, dict[str, float]] = {}
    hwm = [0.0]  # the peak before the last reset of VmHWM

    def timed(name: str, fn):  # noqa: ANN001, ANN202
        def run(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            hwm[0] = max(hwm[0], reset_peak())
            before = mem_mb()["VmRSS"]
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                timings[name] = time.perf_counter() - t
                m = mem_mb()
                peaks[name] = max(hwm[0], m["VmHWM"])
                steps[name] = {"rss_before": before, "peak": m["VmHWM"], "rss_after": m["VmRSS"], "anon_after": m["RssAnon"]}

        return run

    build.vector_index = timed("vectors", build.vector_index)
    build.sparse_index = timed("bm25", build.sparse_index)
    t = time.perf_counter()
    data = build.assemble([ROOT / "corpus"], report, written, plan, enc, s, analyzer=SentenceAnalyzer(), tmp=tmp)
    t_assemble = time.perf_counter() - t
    data.manifest["counts"]["embedded"] = n  # synthetic vectors stand in for embedded ones
    data.manifest["counts"]["reused"] = 0
    hwm[0] = max(hwm[0], reset_peak())
    t = time.perf_counter()
    try:
        gen = write_index(folder, data, tmp)
    finally:
        lock.__exit__(None, None, None)
    t_write = time.perf_counter() - t
    sizes = {p.relative_to(gen).as_posix(): p.stat().st_size for p in gen.rglob("*") if p.is_file()}
    return {
        "n": n,
        "passages_s": t_passages,
        "distinct": written.distinct,
        "synth_s": t_synth,
        "vector_s": timings.get("vectors", 0.0),
        "bm25_s": timings.get("bm25", 0.0),
        "rest_s": t_assemble - timings.get("vectors", 0.0) - timings.get("bm25", 0.0),  # FAISS and BM25 files, abbreviations
        "write_s": t_write,
        "factory": data.faiss_factory,
        "faiss": data.manifest["faiss"],
        "sizes": sizes,
        "mem_after_passages": mem_passages,
        "mem_after_synth": mem_synth,
        "peak_after": peaks,
        "step_mem": steps,  # per timed step: RSS before, its own VmHWM (reset before it), RSS after
        "write_peak_mb": mem_mb()["VmHWM"],
        "build_peak_mb": max(hwm[0], mem_mb()["VmHWM"]),
        "load": os.getloadavg()[0],
        "cpu_s": time.process_time(),
    }


def per_term_scores(sp, terms: dict[str, float]):  # noqa: ANN001, ANN201
    """0.2.0's retriever BM25, kept here as the baseline: integer weights as repeated terms in
    one ``scores`` call, else one score array per term, weighted and summed."""
    if all(float(w).is_integer() for w in terms.values()):
        return sp.scores([t for t, w in terms.items() for _ in range(int(w))])
    total = None
    for t, w in terms.items():
        if w <= 0 or t not in sp:
            continue
        sc = sp.scores([t])
        if sc is not None:
            total = w * sc if total is None else total + w * sc
    return total


def bm25_core(r, queries: list[str], rounds: int) -> dict:  # noqa: ANN001
    """BM25 alone, per query plan (weighted terms, no feedback pass), three ways, in turn:
    ``per_term``: 0.2.0's retriever (``per_term_scores``: one score array per term, then summed)
    and a top n;
    ``weighted``: ``SparseIndex.weighted_scores`` (one array, postings only) and a top n;
    ``maxscore``: ``SparseIndex.top_weighted`` (MaxScore pruning above PRUNE_MIN_DOCS).
    ``same``: queries whose top-n scores agree in all three (they must: exact methods)."""
    from sdsearch.sparse import _top

    sp = r.index.sparse
    n = r.settings.candidates
    plans = [r.plan(q).terms for q in queries]
    times: dict[str, list[float]] = {"per_term": [], "weighted": [], "maxscore": []}
    same = 0
    for _ in range(rounds):
        for terms in plans:
            t = time.perf_counter()
            a = _top(per_term_scores(sp, terms), n)
            times["per_term"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            b = _top(sp.weighted_scores(terms, None), n)
            times["weighted"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            c = sp.top_weighted(terms, n)
            times["maxscore"].append((time.perf_counter() - t) * 1000)
            same += [s for _, s in a] == [s for _, s in b] == [s for _, s in c]
    out: dict = {k: {"p50": statistics.median(v), "p95": float(np.percentile(v, 95))} for k, v in times.items()}
    out["same"] = same / max(1, rounds * len(plans))
    return out


def phase_query(folder: Path, n_queries: int, rounds: int) -> dict:
    from sdsearch.models import load_encoder
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index
    from sdsearch.vectors import exact_top, recall_at

    queries = [json.loads(line)["query"] for line in (ROOT / "eval" / "retrieval.jsonl").open(encoding="utf-8")]
    queries = queries[:n_queries]
    enc = load_encoder()
    enc.encode_queries(["opwarmen"])
    before = mem_mb()
    t = time.perf_counter()
    index = open_index(folder)
    t_open = time.perf_counter() - t
    t = time.perf_counter()
    r = Retriever(index, enc)
    t_retriever = time.perf_counter() - t
    t = time.perf_counter()
    r.search([queries[0]], k=10, mode="hybrid")
    t_first = time.perf_counter() - t
    after_open = mem_mb()
    lat: dict[str, list[list[float]]] = {m: [] for m in ("dense", "sparse", "hybrid")}
    for _ in range(rounds):
        this = {m: [] for m in lat}
        for q in queries:
            for mode in lat:  # interleaved, so a burst of load hits every mode alike
                t = time.perf_counter()
                r.search([q], k=10, mode=mode)
                this[mode].append((time.perf_counter() - t) * 1000)
        for m in lat:
            lat[m].append(this[m])
    after = mem_mb()
    qv = np.ascontiguousarray(enc.encode_queries(queries), dtype=np.float32)
    got = [[i for i, _ in row[:10]] for row in r.dense(qv, 100, None)]
    truth = exact_top(index.vectors, qv, 10)
    core = bm25_core(r, queries, rounds)
    out = {
        "bm25_core": core,
        "open_s": t_open,
        "retriever_s": t_retriever,
        "first_s": t_first,
        "rss_before": before,
        "rss_open": after_open,
        "rss_after": after,
        "recall_queries": recall_at(np.array(got), truth, 10),
        "load": os.getloadavg()[0],
        "cpu_s": time.process_time(),
    }
    for m, runs in lat.items():
        flat = [x for run in runs for x in run]
        out[m] = {"p50": statistics.median(flat), "p95": float(np.percentile(flat, 95)), "min_p50": min(statistics.median(x) for x in runs)}
    return out


# -- driver ------------------------------------------------------------------------------------


def _evict(folder: Path) -> None:
    """Drop the page-cache pages of the files under ``folder`` (clean pages only; no root needed)."""
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _cli(index: Path) -> tuple[float, float]:
    """(wall s, cpu s) of one ``sdsearch search --index INDEX`` in a fresh process."""
    script = Path(sys.executable).with_name("sdsearch")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "sdsearch"]
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT / "src"), "OMP_WAIT_POLICY": "PASSIVE"}
    t = time.perf_counter()
    proc = subprocess.Popen([*cmd, "search", "--index", str(index), ONESHOT_QUERY], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"sdsearch search --index {index} failed:\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def oneshot(folder: Path, runs: int) -> dict:
    """Medians of one-shot CLI searches: the bundled corpus's index, ``folder`` cold and warm."""
    corpus_index = ROOT / "index"
    if not (corpus_index / "CURRENT").exists():
        subprocess.run([sys.executable, "-m", "sdsearch", "index", str(ROOT / "corpus"), "--index", str(corpus_index)], check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, cwd=ROOT)
    _cli(corpus_index)  # warm-up: model files into the page cache
    got: dict[str, list[tuple[float, float]]] = {"corpus": [], "cold": [], "warm": []}
    for _ in range(runs):
        got["corpus"].append(_cli(corpus_index))
        _evict(folder)
        got["cold"].append(_cli(folder))
        got["warm"].append(_cli(folder))
    out = {k: {"wall": statistics.median(w for w, _ in v), "cpu": statistics.median(c for _, c in v)} for k, v in got.items()}
    out["load"] = os.getloadavg()[0]
    return out


def run_phase(args: list[str], timeout: float) -> dict | None:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    try:
        out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, timeout=max(timeout, 1))
    except subprocess.TimeoutExpired:
        print(f"{' '.join(args[:2])} stopped after {timeout:.0f} s (--time-limit)", file=sys.stderr, flush=True)
        return None
    if out.returncode:
        sys.exit(f"{' '.join(args[:2])} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_n(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def _mb(sizes: dict[str, int], prefixes: list[str]) -> float:
    return sum(v for k, v in sizes.items() if any(k.startswith(x) for x in prefixes)) / 1e6


def table(rows: list[tuple[dict, dict]]) -> str:
    head = (
        "| passages | vector index (nprobe or efSearch, shortlist) | build s: vectors / bm25 / write | build peak RSS GB "
        "| on disk MB: faiss / vectors.npy / bm25 / passages / meta | open s (+ first query) "
        "| p50 / p95 ms dense | sparse | hybrid | hybrid min p50 | recall@10 (calibration / eval queries) "
        "| BM25 alone p50 / p95 ms: per-term arrays · one array · MaxScore (same top) "
        "| search RSS MB: peak (anon + file) | one-shot CLI s: corpus / cold / warm (CPU s) | CPU s: build / query "
        "| load avg: build / query |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for b, q, o in rows:
        sz = b["sizes"]
        shot = (
            f"{o['corpus']['wall']:.2f} / {o['cold']['wall']:.2f} / {o['warm']['wall']:.2f} "
            f"({o['corpus']['cpu']:.2f} / {o['cold']['cpu']:.2f} / {o['warm']['cpu']:.2f})"
            if o
            else "-"
        )
        f = b["faiss"]
        width = f.get("nprobe", f.get("efSearch", "-"))
        short = f.get("shortlist", "-") if not f.get("exact", True) else "-"
        rec = f.get("recall_at_10")
        ra = q["rss_after"]
        c = q.get("bm25_core")
        core = (
            f"{c['per_term']['p50']:.1f} / {c['per_term']['p95']:.1f} · {c['weighted']['p50']:.1f} / "
            f"{c['weighted']['p95']:.1f} · {c['maxscore']['p50']:.1f} / {c['maxscore']['p95']:.1f} ({c['same']:.0%})"
            if c
            else "-"
        )
        lines.append(
            f"| {fmt_n(b['n'])} | {b['factory']} ({width}, {short}) "
            f"| {b['vector_s']:.0f} / {b['bm25_s']:.0f} / {b['write_s']:.0f} | {b['build_peak_mb'] / 1024:.1f} "
            f"| {_mb(sz, ['vectors.faiss']):.0f} / {_mb(sz, ['vectors.npy']):.0f} / {_mb(sz, ['bm25']):.0f} "
            f"/ {_mb(sz, ['passages']):.0f} / {_mb(sz, ['meta.npz']):.0f} "
            f"| {q['open_s']:.2f} (+{q['first_s']:.2f}) "
            f"| {q['dense']['p50']:.1f} / {q['dense']['p95']:.1f} | {q['sparse']['p50']:.1f} / {q['sparse']['p95']:.1f} "
            f"| {q['hybrid']['p50']:.1f} / {q['hybrid']['p95']:.1f} | {q['hybrid']['min_p50']:.1f} "
            f"| {rec if rec is not None else 'exact'} / {q['recall_queries']:.3f} "
            f"| {core} | {ra['VmHWM']:.0f} ({ra['RssAnon']:.0f} + {ra['RssFile']:.0f}) | {shot} "
            f"| {b.get('cpu_s', 0):.0f} / {q.get('cpu_s', 0):.0f} | {b['load']:.1f} / {q['load']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=5400.0, help="seconds for the whole run")
    ap.add_argument("--workdir", default="/tmp/sdsearch-scale")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "sdsearch-bench"))
    ap.add_argument("--keep", action="store_true", help="keep the index folders")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "scale.md"))
    ap.add_argument("--hnsw-limit", type=int, help="vectors.HNSW_LIMIT for the builds (compare HNSW and IVF)")
    ap.add_argument("--oneshot", type=int, default=5, help="one-shot CLI runs per size (0: none)")
    ap.add_argument("--phase", choices=["build", "query"], help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--bm25-only", choices=["lean", "bm25s"], help="the BM25 step alone at each size, one JSON line each")
    a = ap.parse_args()
    os.environ.setdefault("SDSEARCH_THREADS", "2")
    if a.phase == "build":
        print(json.dumps(phase_build(a.n, Path(a.workdir) / f"idx-{a.n}", Path(a.cache), a.hnsw_limit)))
        return
    if a.phase == "query":
        print(json.dumps(phase_query(Path(a.workdir) / f"idx-{a.n}", a.queries, a.rounds)))
        return
    import shutil

    if a.bm25_only:
        for n in [int(s) for s in a.sizes.split(",") if s.strip()]:
            folder = Path(a.workdir) / f"bm25-{a.bm25_only}-{n}"
            shutil.rmtree(folder, ignore_errors=True)
            print(json.dumps(phase_bm25(n, a.bm25_only, folder)), flush=True)
            if not a.keep:
                shutil.rmtree(folder, ignore_errors=True)
        return
    deadline = time.monotonic() + a.time_limit
    rows = []
    for n in [int(s) for s in a.sizes.split(",") if s.strip()]:
        folder = Path(a.workdir) / f"idx-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        common = ["--workdir", a.workdir, "--cache", a.cache, "--n", str(n), "--queries", str(a.queries), "--rounds", str(a.rounds)]
        limit = ["--hnsw-limit", str(a.hnsw_limit)] if a.hnsw_limit is not None else []
        b = run_phase(["--phase", "build", *common, *limit], deadline - time.monotonic())
        if b is None:
            break
        print(f"built {fmt_n(n)}: {json.dumps({k: v for k, v in b.items() if k != 'sizes'})}", file=sys.stderr, flush=True)
        q = run_phase(["--phase", "query", *common], deadline - time.monotonic())
        if q is None:
            break
        print(f"queried {fmt_n(n)}: {json.dumps(q)}", file=sys.stderr, flush=True)
        o = oneshot(folder, a.oneshot) if a.oneshot > 0 else None
        print(f"one-shot {fmt_n(n)}: {json.dumps(o)}", file=sys.stderr, flush=True)
        rows.append((b, q, o))
        if not a.keep:
            shutil.rmtree(folder, ignore_errors=True)
    import platform

    cmd = "python bench/scale.py " + " ".join(sys.argv[1:])
    out = (
        f"# sdsearch scale benchmark\n\n{time.strftime('%Y-%m-%d %H:%M')} · {platform.machine()} · "
        f"{os.cpu_count()} cores · `{cmd}` · {a.queries} eval queries × {a.rounds} rounds, k=10, one query per call\n\n"
        + table(rows)
        + "\n\nopen: `open_index` alone (manifest, size checks, maps); first: the first hybrid query after it. "
        "p50/p95 include query encoding. Search RSS: the query process's peak, with the encoder loaded; anon is "
        "private, file is mapped index pages that every worker on the same index shares.\n"
    )
    print(out)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(out, encoding="utf-8")


if __name__ == "__main__":
    main()
