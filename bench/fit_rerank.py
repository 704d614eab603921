"""Fit the learned second stage (sdsearch.rerank) on dev, check it, decide on test once.

    python bench/fit_rerank.py cv        # 5-fold cross-validation on the dev splits (long + short)
    python bench/fit_rerank.py fit L2    # fit on all dev rows with L2 strength L2; writes the weights into rerank.py
    python bench/fit_rerank.py dev       # second stage off/on: long dev, short dev, old (check, never trained on)
    python bench/fit_rerank.py final     # off/on on every split, test included (once)

Training rows: for each dev query of eval/retrieval_long.jsonl and eval/retrieval_short.jsonl,
the top ``rerank.DEPTH`` fused candidates of today's default retrieval with their features
(``Retriever.candidate_features``), labelled relevant when the passage covers an eval span.
Loss: pairwise logistic (each relevant candidate above each other one), every query weighted
equally, L2 on standardised features. eval/retrieval.jsonl is never trained on.
"""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from tune_abbrev import INDEX  # noqa: E402
from tune_adaptive import score, setup  # noqa: E402

from sdsearch import rerank  # noqa: E402
from sdsearch.config import Settings  # noqa: E402
from sdsearch.evaluate import PassageLocations  # noqa: E402
from sdsearch.retrieve import Retriever  # noqa: E402

Query = dict[str, Any]  # {"x": (n, F), "y": (n,), "rel": int, "set": str}


def collect(r: Retriever, items: list[dict[str, Any]], loc: Any, name: str) -> list[Query]:
    """Features and labels of the top candidates of each item (today's default retrieval)."""
    r.settings = replace(Settings(), second_stage=True)
    captured: dict[str, tuple[list[int], np.ndarray]] = {}

    def capture(query, p, fused, dense, sparse, subs):  # noqa: ANN001, ANN202
        captured[query] = ([i for i, _ in fused[: rerank.DEPTH]], r.candidate_features(query, p, fused, dense, sparse, subs))
        return fused

    r._second_stage = capture  # type: ignore[method-assign]
    kinds, rerank.KINDS = rerank.KINDS, frozenset({"long", "short", "normal"})  # every dev query is a training row
    locations = PassageLocations(r.index.passages)
    out = []
    for it in items:
        captured.clear()
        r.search([it["query"]])
        ((ids, x),) = captured.values()
        relevant = locations.relevant([loc.find(s["source"], s["span"]) for s in it["relevant"]])
        y = []
        for i in ids:
            p = r.index.passages[i]
            owners = {p.passage_id} | {locations.owner.get((a.source, a.char_start, a.char_end)) for a in p.also_at}
            y.append(float(bool(owners & relevant)))
        out.append({"x": x, "y": np.array(y), "rel": len(relevant), "set": name, "id": it["id"]})
    del r._second_stage
    rerank.KINDS = kinds
    return out


def ndcg10(y_sorted: np.ndarray, n_rel: int) -> float:
    gains = y_sorted[:10] / np.log2(np.arange(2, min(10, len(y_sorted)) + 2))
    ideal = (1.0 / np.log2(np.arange(2, min(10, n_rel) + 2))).sum()
    return float(gains.sum() / ideal) if ideal > 0 else 0.0


def fit(queries: list[Query], l2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from scipy.optimize import minimize

    allx = np.vstack([q["x"] for q in queries])
    mean, scale = allx.mean(0), allx.std(0)
    scale[scale < 1e-9] = 1.0
    diffs, weights = [], []
    for q in queries:
        z = (q["x"] - mean) / scale
        pos, neg = np.flatnonzero(q["y"] > 0), np.flatnonzero(q["y"] == 0)
        if len(pos) == 0 or len(neg) == 0:
            continue
        d = (z[pos][:, None, :] - z[neg][None, :, :]).reshape(-1, z.shape[1])
        diffs.append(d)
        weights.append(np.full(len(d), 1.0 / len(d)))
    dm, wm = np.vstack(diffs), np.concatenate(weights)
    nq = len(diffs)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        m = dm @ w
        lv = np.logaddexp(0.0, -m)
        g = -(wm * (1.0 / (1.0 + np.exp(m)))) @ dm
        return float((wm * lv).sum() / nq + l2 * w @ w), g / nq + 2 * l2 * w

    res = minimize(loss, np.zeros(dm.shape[1]), jac=True, method="L-BFGS-B")
    return mean, scale, res.x


def evaluate(queries: list[Query], model: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> float:
    vals = []
    for q in queries:
        if model is None:
            order = np.arange(len(q["y"]))
        else:
            s = rerank.score(q["x"], *model)
            order = sorted(range(len(s)), key=lambda j: (-s[j], j))
        vals.append(ndcg10(q["y"][order], q["rel"]))
    return float(np.mean(vals)) if vals else 0.0


def dev_queries() -> list[Query]:
    r, enc, loc, items = setup(INDEX)
    qs = []
    for name in ("long", "short"):
        qs += collect(r, [it for it in items[name] if it["split"] == "dev"], loc, name)
    enc.save()
    return qs


def cv() -> None:
    qs = dev_queries()
    rng = np.random.default_rng(12)
    folds = rng.permutation(len(qs)) % 5
    print(f"{len(qs)} dev queries, {sum(len(q['y']) for q in qs)} candidates, {int(sum(q['y'].sum() for q in qs))} relevant among them\n")
    print("| L2 | long dev (cv) | short dev (cv) | all dev (cv) |\n|---|---|---|---|")
    base = {n: evaluate([q for q in qs if q["set"] == n], None) for n in ("long", "short")}
    print(f"| off (fused order, candidate nDCG@10) | {base['long']:.3f} | {base['short']:.3f} | {evaluate(qs, None):.3f} |")
    for l2 in (0.0001, 0.001, 0.01, 0.1, 1.0):
        held: list[Query] = []
        scored: dict[str, list[float]] = {"long": [], "short": []}
        for f in range(5):
            train = [q for q, k in zip(qs, folds, strict=True) if k != f]
            test = [q for q, k in zip(qs, folds, strict=True) if k == f]
            model = fit(train, l2)
            for q in test:
                scored[q["set"]].append(evaluate([q], model))
            held += test
        allv = np.mean(scored["long"] + scored["short"])
        print(f"| {l2} | {np.mean(scored['long']):.3f} | {np.mean(scored['short']):.3f} | {allv:.3f} |", flush=True)


def write_weights(model: tuple[np.ndarray, np.ndarray, np.ndarray], l2: float) -> None:
    path = ROOT / "src" / "sdsearch" / "rerank.py"
    text = path.read_text(encoding="utf-8")

    def arr(a: np.ndarray) -> str:
        return "np.array([" + ", ".join(f"{v:.6g}" for v in a) + "])"

    block = (
        f"# Fitted by bench/fit_rerank.py (see bench/results/second_stage.md); standardised inputs.\n"
        f"# `python bench/fit_rerank.py fit {l2}`\n"
        f"MEAN = {arr(model[0])}\nSCALE = {arr(model[1])}\nWEIGHTS = {arr(model[2])}\n"
    )
    text = re.sub(r"# Fitted by bench/fit_rerank\.py.*?\nWEIGHTS = [^\n]*\n", lambda _: block, text, flags=re.S)
    path.write_text(text, encoding="utf-8")


def fit_all(l2: float) -> None:
    qs = dev_queries()
    model = fit(qs, l2)
    for name, w in zip(rerank.FEATURES, model[2], strict=True):
        print(f"  {name:14s} {w:+.3f}")
    print(f"in-sample candidate nDCG@10: off {evaluate(qs, None):.3f}, on {evaluate(qs, model):.3f}")
    write_weights(model, l2)


def table(cols: list[tuple[str, str | None]]) -> None:
    r, enc, loc, items = setup(INDEX)
    head = " | ".join(f"{n} {sp or 'all'}" for n, sp in cols)
    print(f"| second stage | {head} |\n|---" + "|---" * len(cols) + "|")
    kinds = rerank.KINDS
    for label, on, use in (
        ("off (today's default)", False, kinds),
        (f"on, {'/'.join(sorted(kinds))} queries (rerank.KINDS)", True, kinds),
        ("on, every query", True, frozenset({"long", "short", "normal"})),
    ):
        r.settings = replace(Settings(), second_stage=on)
        rerank.KINDS = use
        cells = []
        for name, sp in cols:
            m = score(r, items[name], loc, sp)
            cells.append(f"{m['nDCG@10']:.3f} / {m['R@10']:.3f}")
        enc.save()
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "cv"
    if cmd == "cv":
        cv()
    elif cmd == "fit":
        fit_all(float(sys.argv[2]))
    elif cmd == "dev":
        table([("long", "dev"), ("short", "dev"), ("old", None)])
    elif cmd == "final":
        table([("long", "test"), ("short", "test"), ("old", None), ("long", "dev"), ("short", "dev")])
