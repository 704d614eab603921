"""Long questions in other words than the reports (eval/retrieval_paraphrase.jsonl): prototypes
of retrieval changes for long questions, measured on DEV splits only.

    python bench/tune_paraphrase.py [--only LABEL ...] [--out FILE]   # every configuration (CONFIGS)
    python bench/tune_paraphrase.py --sweep [--out FILE]   # unmatched_dense: signal × size
    python bench/tune_paraphrase.py --diagnose             # each side alone; share signals
    python bench/tune_paraphrase.py --stats LABEL ...      # per-question differences vs the default

Every configuration runs the real ``Retriever.search`` over the real index (index/) with the
bundled model (query vectors cached: ``bench/tune_adaptive.setup``/``score``), wrapped by
``Proto`` below, which changes only what a *long* question (``QueryPlan.kind == "long"``, ≥ 20
words) gets:

- ``prf_source``: where RM3's feedback passages come from: "bm25" (the default: BM25's own top),
  "dense" (the dense top of the whole question) or "fused" (the top of the min-max fusion of the
  dense list and BM25 without feedback, at the question's dense weight); ``prf_gate``: "dense"
  only for questions whose share (below) is under a threshold;
- ``maxp=lambda``: a passage's dense score also counts its best sentence's (sentence vectors of
  the passages, encoded once and cached);
- ``rocchio=(m, beta)``: dense pseudo-relevance feedback on the vector side (Rocchio):
  q' = q + beta · mean of the m best passages' vectors, re-normalised, then searched again;
- ``mv=(agg, gamma, unit)``: a multi-vector dense query: each sentence ("sent") or clause
  ("clause") of the question is encoded on its own; a passage's dense score becomes
  (1 − gamma) · sim(question) + gamma · agg_s sim(part s), agg = max or mean;
- ``long_fusion="rrf"``: reciprocal-rank fusion instead of the min-max sum for long questions;
- ``ud_form``: how ``unmatched_dense`` measures "BM25's terms match poorly": the share
  (``Retriever._matched_share``: idf-weighted fraction of the question's BM25 terms a passage
  holds) of BM25's top passage (the default), of the dense top passage, their mean, the max over
  the dense top 3, or a ramp;
- ``step=(theta, W)``: when the mean of the shares of BM25's top and the dense top passage is
  under theta, the dense weight is at least W (the best one found; bench/results/tune_paraphrase.md).

Only dev lines are scored (``split == "dev"``); eval/retrieval.jsonl (no split, no long
questions) is the guard. Test lines are never evaluated here.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import tune_adaptive as ta  # noqa: E402

from sdsearch.build import embed_text  # noqa: E402
from sdsearch.config import Settings  # noqa: E402
from sdsearch.evaluate import read_jsonl  # noqa: E402
from sdsearch.query import rm3_expansion  # noqa: E402
from sdsearch.retrieve import Retriever, tidy_query, weighted_sum  # noqa: E402

# Our own query-vector cache (the shared one of tune_adaptive is read, never written).
MY_CACHE = Path("/tmp/sdsearch-tune-paraphrase/qvecs.npz")
SENT_CACHE = Path("/tmp/sdsearch-tune-paraphrase/sentvecs.npz")
_SENT = re.compile(r"[^?.!;:]+[?.!;:]*")
_CLAUSE = re.compile(r"[^?.!;:,]+[?.!;:,]*")


def parts(query: str, unit: str) -> list[str]:
    """The question's sentences ("sent") or clauses ("clause", split at , ; : too), each of
    at least 4 words (shorter pieces are joined to the next)."""
    rx = _SENT if unit == "sent" else _CLAUSE
    out: list[str] = []
    carry = ""
    for piece in rx.findall(query):
        piece = (carry + " " + piece).strip() if carry else piece.strip()
        if len(piece.split()) < 4:
            carry = piece
            continue
        out.append(piece)
        carry = ""
    if carry:
        if out:
            out[-1] = out[-1] + " " + carry
        else:
            out.append(carry)
    return out


class Proto(Retriever):
    """The Retriever with prototype changes for long questions (one query per search call)."""

    def __init__(self, index: Any, encoder: Any, settings: Settings, **opts: Any):
        super().__init__(index, encoder, settings)
        self.opts = opts
        self._query = ""
        self._kind = ""
        self._dense_rows: list[list[tuple[int, float]]] = []

    # Which query is being searched: run_retrieval searches one at a time.
    def search(self, queries, k=None, filters=None, mode=None):  # noqa: ANN001, ANN201
        q = tidy_query(queries[0]) if len(queries) == 1 else ""
        self._query = q
        self._kind = self.plan(q).kind if q else ""
        self._dense_rows = []
        return super().search(queries, k, filters, mode)

    def _long(self) -> bool:
        return self._kind == "long" and self.settings.adaptive

    # -- the vector side -------------------------------------------------------------
    def dense(self, qvecs, n, mask):  # noqa: ANN001, ANN201
        out = super().dense(qvecs, n, mask)
        o = self.opts
        if self._long() and mask is None and (o.get("rocchio") or o.get("mv") or o.get("maxp")):
            V = np.asarray(self.index.vectors, dtype=np.float32)
            q = np.asarray(qvecs[0], dtype=np.float32)
            s = V @ q
            if o.get("rocchio"):
                m, beta = o["rocchio"]
                top = np.argsort(-s)[:m]
                q2 = q + beta * V[top].mean(axis=0)
                q2 /= np.linalg.norm(q2)
                s = V @ q2
            if o.get("maxp"):
                # Sentence-level passage vectors: a passage also scores by its best sentence.
                lam = o["maxp"]
                W, owner = self._sentence_vectors()
                best = np.full(len(V), -1.0, dtype=np.float32)
                np.maximum.at(best, owner, W @ q)
                s = (1 - lam) * s + lam * np.where(best > -1.0, best, s)
            if o.get("mv"):
                agg, gamma, unit = o["mv"]
                ps = parts(self._query, unit)
                if len(ps) >= 2:
                    P = np.asarray(self.encoder.encode_queries(ps), dtype=np.float32)
                    S = V @ P.T
                    a = S.max(axis=1) if agg == "max" else S.mean(axis=1)
                    s = (1 - gamma) * s + gamma * a
            top = np.argsort(-s)[:n]
            out[0] = [(int(t), float(s[t])) for t in top]
        self._dense_rows = out
        return out

    def _sentence_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Each passage's sentences (≥ 4 words), with its section path as ``build.embed_text``
        writes it, encoded as passages; cached in SENT_CACHE by text."""
        if getattr(self, "_sent", None) is None:
            texts, owner = [], []
            for i, p in enumerate(self.index.passages):
                for sent in parts(p.text, "sent"):
                    texts.append(embed_text(replace(p, text=sent), self.settings.embed_headings))
                    owner.append(i)
            cache: dict[str, np.ndarray] = {}
            if SENT_CACHE.is_file():
                with np.load(SENT_CACHE) as z:
                    cache = {k: z[k] for k in z.files}
            keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
            missing = [t for t, k in zip(texts, keys, strict=True) if k not in cache]
            if missing:
                vecs = self.encoder.encode_passages(missing)
                for t, v in zip(missing, vecs, strict=True):
                    cache[hashlib.sha1(t.encode()).hexdigest()] = np.asarray(v, dtype=np.float32)
                SENT_CACHE.parent.mkdir(parents=True, exist_ok=True)
                np.savez(SENT_CACHE, **cache)
            self._sent = (np.stack([cache[k] for k in keys]), np.asarray(owner))
        return self._sent

    # -- the BM25 side: where RM3's feedback passages come from ------------------------
    def sparse_planned(self, p, n, mask, feedback=True):  # noqa: ANN001, ANN201
        src = self.opts.get("prf_source", "bm25")
        s = self.settings
        gate = self.opts.get("prf_gate")
        if gate is not None and p.kind == "long" and self._dense_rows and p.terms:
            # RM3 from the dense top only for a question the dense top passage barely matches
            # (gate: a number) or both top passages barely match (("mean", theta): the mean of
            # the dense top's share and the share of BM25's top without feedback).
            if isinstance(gate, tuple):
                plain = Retriever.sparse_planned(self, p, 1, mask, feedback=False)
                low = bool(plain) and self._share(gate[0], p.terms, plain[0][0]) < gate[1]
            else:
                low = Retriever._matched_share(self, p.terms, self._dense_rows[0][0][0]) < gate
            src = "dense" if low else "bm25"
        if (
            src == "bm25"
            or not feedback
            or p.kind != "long"
            or not self._dense_rows
            or not (s.adaptive and s.prf_weight > 0 and s.prf_docs > 0)
        ):
            return super().sparse_planned(p, n, mask, feedback)
        sparse = self.index.sparse
        terms = p.terms
        if s.long_min_idf > 0:  # the same cut as Retriever.sparse_planned
            rare = {t: w for t, w in terms.items() if sparse.idf(t) >= s.long_min_idf}
            terms = rare if any(w > 0 and t in sparse for t, w in rare.items()) else terms
        dense = self._dense_rows[0]
        if src == "dense":
            fb = dense[: s.prf_docs]
        else:  # "fused": dense + BM25 without feedback, at the question's dense weight
            plain = sparse.top_weighted(terms, n, mask)
            fused = weighted_sum(dict(dense), dict(plain), p.dense_weight)
            fb = sorted(fused.items(), key=lambda t: (-t[1], t[0]))[: s.prf_docs]
        if self.opts.get("prf_uniform"):
            fb = [(i, 1.0) for i, _ in fb]

        def expand(_top: list[tuple[int, float]]) -> dict[str, float]:
            return rm3_expansion([(self._passage_terms(i), sc) for i, sc in fb], s.prf_terms)

        return sparse.top_feedback(terms, n, s.prf_docs, expand, s.prf_weight, mask)

    # -- "BM25 matches poorly" ------------------------------------------------------
    def _matched_share(self, terms, row):  # noqa: ANN001, ANN201
        form = self.opts.get("ud_form", "top1")
        if form == "top1":
            return super()._matched_share(terms, row)
        if form == "dense_top1" and self._dense_rows:
            # How much of the question's BM25 evidence the DENSE side's best passage holds.
            return super()._matched_share(terms, self._dense_rows[0][0][0])
        if form in ("max_both", "mean_both") and self._dense_rows:
            # Both top passages: BM25's (``row``) and the dense side's.
            a = super()._matched_share(terms, row)
            b = super()._matched_share(terms, self._dense_rows[0][0][0])
            return max(a, b) if form == "max_both" else (a + b) / 2
        if isinstance(form, tuple) and self._dense_rows:
            # ("ramp", signal, theta): unmatched u = clip(1 − share/theta, 0, 1), share the mean
            # of the two top passages' shares ("mean") or the dense top's ("dense"); returned as
            # 1 − u, so the dense weight grows by unmatched_dense · u.
            _, signal, theta = form
            return 1.0 - min(1.0, max(0.0, 1.0 - self._share(signal, terms, row) / theta))
        if form == "max_top3_dense" and self._dense_rows:
            return max(Retriever._matched_share(self, terms, i) for i, _ in self._dense_rows[0][:3])
        raise ValueError(form)

    def _share(self, signal: str, terms: dict[str, float], bm25_top: int) -> float:
        b = Retriever._matched_share(self, terms, self._dense_rows[0][0][0])
        if signal == "dense":
            return b
        return (Retriever._matched_share(self, terms, bm25_top) + b) / 2

    # -- fusion ------------------------------------------------------------------------
    def _fuse(self, query, dense, sparse, mode, dense_weight=None, sub_scores=()):  # noqa: ANN001, ANN201
        step = self.opts.get("step")
        if step and self._long() and mode == "hybrid" and dense and sparse:
            # (theta, W): when the mean of the matched shares of BM25's top passage and the dense
            # top passage is under theta, the dense weight is at least W (else as it was).
            terms = self.plan(self._query).terms
            if terms and self._share("mean", terms, sparse[0][0]) < step[0]:
                dense_weight = max(dense_weight if dense_weight is not None else self.settings.dense_weight, step[1])
        if self._long() and mode == "hybrid" and self.opts.get("long_fusion") == "rrf":
            keep = self.settings
            self.settings = replace(keep, fusion="rrf", rrf_k=self.opts.get("rrf_k", 60))
            try:
                return super()._fuse(query, dense, sparse, mode, dense_weight, sub_scores)
            finally:
                self.settings = keep
        return super()._fuse(query, dense, sparse, mode, dense_weight, sub_scores)


# (label, Settings overrides, Proto options). The first row is the current default.
CONFIGS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("default (0.2.3)", {}, {}),
    # references: one dense weight for every long question (no unmatched_dense)
    ("ref: long dense weight 0.2, unmatched_dense 0", dict(unmatched_dense=0.0), {}),
    ("ref: long dense weight 0.4, unmatched_dense 0", dict(dense_weight_long=0.4, unmatched_dense=0.0), {}),
    ("ref: long dense weight 0.6, unmatched_dense 0", dict(dense_weight_long=0.6, unmatched_dense=0.0), {}),
    ("ref: long dense weight 0.8, unmatched_dense 0", dict(dense_weight_long=0.8, unmatched_dense=0.0), {}),
    # (1) RM3 from other feedback passages
    ("RM3 from dense top 3", {}, dict(prf_source="dense")),
    ("RM3 from fused top 3", {}, dict(prf_source="fused")),
    ("RM3 from dense top 3, weight 0.4", dict(prf_weight=0.4), dict(prf_source="dense")),
    ("RM3 from fused top 3, weight 0.4", dict(prf_weight=0.4), dict(prf_source="fused")),
    # (2) multi-vector dense query
    ("multi-vector: sentences, max, gamma 0.5", {}, dict(mv=("max", 0.5, "sent"))),
    ("multi-vector: sentences, mean, gamma 0.5", {}, dict(mv=("mean", 0.5, "sent"))),
    ("multi-vector: clauses, max, gamma 0.5", {}, dict(mv=("max", 0.5, "clause"))),
    # dense PRF on the vector side (Rocchio)
    ("Rocchio dense PRF: 3 passages, beta 0.5", {}, dict(rocchio=(3, 0.5))),
    ("Rocchio dense PRF: 5 passages, beta 1.0", {}, dict(rocchio=(5, 1.0))),
    # (3) fusion
    ("RRF (k 60) for long questions", {}, dict(long_fusion="rrf")),
    ("unmatched share of the dense top passage", {}, dict(ud_form="dense_top1")),
    ("unmatched_dense 0.6", dict(unmatched_dense=0.6), {}),
    # round 2: the dense top passage's share as the "other words" signal
    ("dense-top share, unmatched_dense 0.6", dict(unmatched_dense=0.6), dict(ud_form="dense_top1")),
    ("RM3 from dense top 3 when dense-top share < 0.3", {}, dict(prf_gate=0.3)),
    ("RM3 from dense top 3 when dense-top share < 0.2", {}, dict(prf_gate=0.2)),
    ("dense-top share (0.4) + RM3 gate 0.3", {}, dict(ud_form="dense_top1", prf_gate=0.3)),
    ("share: max of BM25 top and dense top", {}, dict(ud_form="max_both")),
    ("share: mean of BM25 top and dense top", {}, dict(ud_form="mean_both")),
    ("share: mean of both, unmatched_dense 0.6", dict(unmatched_dense=0.6), dict(ud_form="mean_both")),
    # round 3: a ramp that is 0 above theta (own words) and 1 at share 0
    ("ramp on mean share, theta 0.4, +0.6", dict(unmatched_dense=0.6), dict(ud_form=("ramp", "mean", 0.4))),
    ("ramp on mean share, theta 0.4, +0.5", dict(unmatched_dense=0.5), dict(ud_form=("ramp", "mean", 0.4))),
    ("ramp on dense-top share, theta 0.3, +0.6", dict(unmatched_dense=0.6), dict(ud_form=("ramp", "dense", 0.3))),
    ("RM3 from dense top 3 when mean share < 0.25", {}, dict(prf_gate=("mean", 0.25))),
    (
        "ramp mean 0.4 +0.6 + RM3 dense gate mean 0.25",
        dict(unmatched_dense=0.6),
        dict(ud_form=("ramp", "mean", 0.4), prf_gate=("mean", 0.25)),
    ),
    # round 4: sentence-level passage vectors (MaxP), long questions
    ("MaxP: passage + best sentence, lambda 0.5", {}, dict(maxp=0.5)),
    ("MaxP: best sentence only, lambda 1.0", {}, dict(maxp=1.0)),
    # round 5: variants of the dense-top share (A) and of the gated dense RM3 (B)
    ("dense-top share, unmatched_dense 0.3", dict(unmatched_dense=0.3), dict(ud_form="dense_top1")),
    ("max share of the dense top 3, unmatched_dense 0.4", {}, dict(ud_form="max_top3_dense")),
    ("max share of the dense top 3, unmatched_dense 0.6", dict(unmatched_dense=0.6), dict(ud_form="max_top3_dense")),
    ("dense-top share (0.4) + RM3 dense gate mean 0.25", {}, dict(ud_form="dense_top1", prf_gate=("mean", 0.25))),
    # round 6: one signal (mean share of the two top passages), a step instead of a slope
    ("mean share < 0.2: dense weight >= 0.6", {}, dict(step=(0.2, 0.6))),
    ("mean share < 0.25: dense weight >= 0.6", {}, dict(step=(0.25, 0.6))),
    ("mean share < 0.3: dense weight >= 0.6", {}, dict(step=(0.3, 0.6))),
    ("mean share < 0.25: dense weight >= 0.7", {}, dict(step=(0.25, 0.7))),
    ("mean share < 0.25: dense weight >= 0.5", {}, dict(step=(0.25, 0.5))),
    (
        "mean share < 0.2: dense weight >= 0.6 and RM3 from dense top 3",
        {},
        dict(step=(0.2, 0.6), prf_gate=("mean", 0.2)),
    ),
    (
        "max share of the dense top 3 (0.4) + mean share < 0.25: dense weight >= 0.6",
        {},
        dict(ud_form="max_top3_dense", step=(0.25, 0.6)),
    ),
]

COLS = (("para", "dev"), ("long", "dev"), ("short", "dev"), ("old", None))


def load() -> tuple[Any, Any, Any, dict[str, list[dict[str, Any]]]]:
    r, enc, loc, items = ta.setup(ROOT / "index")
    enc.path = MY_CACHE
    if MY_CACHE.is_file():
        with np.load(MY_CACHE) as z:
            enc.vecs.update({k: z[k] for k in z.files})
    items["para"] = read_jsonl(ROOT / "eval" / "retrieval_paraphrase.jsonl")
    # Dev lines only from here on (eval/retrieval.jsonl has no split: the guard, all of it).
    for name in ("para", "long", "short"):
        items[name] = [it for it in items[name] if it.get("split") == "dev"]
    return r, enc, loc, items


def save(enc: Any) -> None:
    if enc.dirty:
        MY_CACHE.parent.mkdir(parents=True, exist_ok=True)
        np.savez(MY_CACHE, **enc.vecs)
        enc.dirty = False


def evaluate(
    r: Any,
    enc: Any,
    loc: Any,
    items: dict[str, list[dict[str, Any]]],
    kw: dict[str, Any],
    opts: dict[str, Any],
    mode: str = "hybrid",
) -> dict[str, dict[str, Any]]:
    p = Proto(r.index, enc, replace(Settings(), **kw), **opts)
    out = {}
    for name, split in COLS:
        out[name] = ta.score(p, items[name], loc, split, mode)
    save(enc)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--out")
    ap.add_argument("--diagnose", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="unmatched_dense: signal × size grid")
    ap.add_argument(
        "--stats", nargs="+", metavar="LABEL", help="significance of these configurations against the default"
    )
    args = ap.parse_args()
    r, enc, loc, items = load()
    if args.stats:
        stats(r, enc, loc, items, args.stats)
        return
    if args.sweep:
        sweep(r, enc, loc, items, args.out)
        return
    if args.diagnose:
        diagnose(r, enc, loc, items)
        shares(r, enc, items)
        return
    configs = [c for c in CONFIGS if not args.only or c[0] in args.only or c[0] == CONFIGS[0][0]]
    load0 = os.getloadavg()
    t0 = time.time()
    lines = [
        f"| configuration | paraphrase dev ({len(items['para'])}) | long dev ({len(items['long'])}) | "
        f"short dev ({len(items['short'])}) | retrieval.jsonl ({len(items['old'])}) |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    base = None
    per_q: dict[str, Any] = {}
    for label, kw, opts in configs:
        res = evaluate(r, enc, loc, items, kw, opts)
        cells = [f"{res[n]['nDCG@10']:.3f} / {res[n]['R@10']:.3f}" for n, _ in COLS]
        if base is None:
            base = res
        else:
            # Questions of paraphrase / long dev that gained / lost nDCG@10 against the default.
            for n in ("para", "long"):
                a = [x["metrics"]["nDCG@10"] for x in base[n]["rows"]]
                b = [x["metrics"]["nDCG@10"] for x in res[n]["rows"]]
                up = sum(y > x + 1e-9 for x, y in zip(a, b, strict=True))
                down = sum(y < x - 1e-9 for x, y in zip(a, b, strict=True))
                cells[0 if n == "para" else 1] += f" (+{up}/−{down})"
        per_q[label] = res
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    load1 = os.getloadavg()
    lines += [
        "",
        f"nDCG@10 / R@10, hybrid, {len(r.index)} passages. (+u/−d): dev questions whose nDCG@10 rose / fell "
        f"against the first row. Load average before / after: {load0[0]:.2f} / {load1[0]:.2f}; "
        f"{time.time() - t0:.0f} s wall.",
    ]
    if args.out:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


SWEEP_FORMS = {
    "BM25 top (current)": "top1",
    "dense top": "dense_top1",
    "mean of both tops": "mean_both",
    "max of dense top 3": "max_top3_dense",
}
SWEEP_C = (0.4, 0.5, 0.6, 0.8)


def sweep(r: Any, enc: Any, loc: Any, items: dict[str, list[dict[str, Any]]], out: str | None) -> None:
    """unmatched_dense's signal × its size: paraphrase dev / long dev nDCG@10 (short dev and
    retrieval.jsonl hold no long question: unchanged)."""
    load0 = os.getloadavg()[0]
    lines = [
        "| share measured on \\ unmatched_dense | " + " | ".join(str(c) for c in SWEEP_C) + " |",
        "|---|" + "---|" * len(SWEEP_C),
    ]
    for label, form in SWEEP_FORMS.items():
        cells = []
        for c in SWEEP_C:
            res = evaluate(r, enc, loc, items, dict(unmatched_dense=c), dict(ud_form=form))
            cells.append(f"{res['para']['nDCG@10']:.3f} / {res['long']['nDCG@10']:.3f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    lines += [
        "",
        f"paraphrase dev / long dev nDCG@10. Load average before / after: {load0:.2f} / {os.getloadavg()[0]:.2f}.",
    ]
    print(lines[-1])
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


def stats(r: Any, enc: Any, loc: Any, items: dict[str, list[dict[str, Any]]], labels: list[str]) -> None:
    """Per-question nDCG@10 differences against the default on paraphrase dev: questions up /
    down, an exact two-sided sign test, a paired bootstrap 95 % interval of the mean difference
    (10,000 resamples, seed 0), and the difference on each half of the dev questions (odd /
    even position) as a stability check."""
    from math import comb

    base = evaluate(r, enc, loc, items, {}, {})
    rng = np.random.default_rng(0)
    for label in labels:
        _, kw, opts = next(c for c in CONFIGS if c[0] == label)
        res = evaluate(r, enc, loc, items, kw, opts)
        for name in ("para", "long"):
            a = np.array([x["metrics"]["nDCG@10"] for x in base[name]["rows"]])
            b = np.array([x["metrics"]["nDCG@10"] for x in res[name]["rows"]])
            d = b - a
            up, down = int((d > 1e-9).sum()), int((d < -1e-9).sum())
            n = up + down
            p = min(1.0, 2 * sum(comb(n, i) for i in range(min(up, down) + 1)) / 2**n) if n else 1.0
            boot = d[rng.integers(0, len(d), size=(10_000, len(d)))].mean(axis=1)
            lo, hi = np.quantile(boot, (0.025, 0.975))
            print(
                f"| {label} | {name} dev | {d.mean():+.3f} | +{up} / −{down} | {p:.2f} | [{lo:+.3f}, {hi:+.3f}] | "
                f"{d[0::2].mean():+.3f} / {d[1::2].mean():+.3f} |",
                flush=True,
            )


def diagnose(r: Any, enc: Any, loc: Any, items: dict[str, list[dict[str, Any]]]) -> None:
    """Dev splits: dense / sparse / hybrid alone (defaults otherwise)."""
    print("| mode: variant | " + " | ".join(f"{n} {sp or 'all'}" for n, sp in COLS) + " |\n|---|---|---|---|---|")
    for mode in ("dense", "sparse", "hybrid"):
        res = evaluate(r, enc, loc, items, {}, {}, mode)
        print(
            f"| {mode} alone: default | "
            + " | ".join(f"{res[n]['nDCG@10']:.3f} / {res[n]['R@10']:.3f}" for n, _ in COLS)
            + " |",
            flush=True,
        )
    # The vector-side prototypes on their own (dense mode, long questions only).
    for label, opts in (
        ("MaxP lambda 0.5", dict(maxp=0.5)),
        ("MaxP lambda 1.0", dict(maxp=1.0)),
        ("multi-vector sentences max 0.5", dict(mv=("max", 0.5, "sent"))),
        ("multi-vector sentences mean 0.5", dict(mv=("mean", 0.5, "sent"))),
        ("Rocchio 3 passages beta 0.5", dict(rocchio=(3, 0.5))),
    ):
        res = evaluate(r, enc, loc, items, {}, opts, "dense")
        print(
            f"| dense alone: {label} | "
            + " | ".join(f"{res[n]['nDCG@10']:.3f} / {res[n]['R@10']:.3f}" for n, _ in COLS)
            + " |",
            flush=True,
        )


def shares(r: Any, enc: Any, items: dict[str, list[dict[str, Any]]]) -> None:
    """Dev splits: quantiles of the matched share of BM25's top (with RM3, as the default
    computes it) and of the dense top passage, and how well each signal (and their mean) tells
    a paraphrase question from a long one in the reports' words: the share of (paraphrase,
    long) pairs whose paraphrase question has the lower value (1.0: perfectly separated)."""
    p = Proto(r.index, enc, Settings())
    vals: dict[str, tuple[list[float], list[float]]] = {}
    for name in ("para", "long"):
        a, b = [], []
        vals[name] = (a, b)
        for it in items[name]:
            q = tidy_query(it["query"])
            pl = p.plan(q)
            d = p.dense(enc.encode_queries([pl.dense_text or q]), 100, None)[0]
            sp = p.sparse_planned(pl, 100, None)
            a.append(Retriever._matched_share(p, pl.terms, sp[0][0]))
            b.append(Retriever._matched_share(p, pl.terms, d[0][0]))
        qs = (0.1, 0.25, 0.5, 0.75, 0.9)
        print(
            f"{name} dev, share quantiles 10/25/50/75/90 %: BM25 top {np.round(np.quantile(a, qs), 2).tolist()}, "
            f"dense top {np.round(np.quantile(b, qs), 2).tolist()}",
            flush=True,
        )
    for label, f in (
        ("BM25 top", lambda a, b: a),
        ("dense top", lambda a, b: b),
        ("mean of both", lambda a, b: (a + b) / 2),
    ):
        x = [f(a, b) for a, b in zip(*vals["para"], strict=True)]
        y = [f(a, b) for a, b in zip(*vals["long"], strict=True)]
        auc = np.mean([(xi < yi) + 0.5 * (xi == yi) for xi in x for yi in y])
        print(f"separation by {label}: {auc:.3f}", flush=True)


if __name__ == "__main__":
    main()
