"""Fit the answer scorer's feature weights and its confidence calibration on development
questions only: eval/answers.jsonl (all) and the dev split of eval/answers2.jsonl. Test
items are dropped when the file is read.

    python bench/answer_calibrate.py [--index DIR] [--cache FILE] [--folds 5] [--l2 1.0]

1. Every candidate sentence of every dev question is scored with the features of
   ``sdsearch.answer.scoring`` and labelled by the eval's own judge: would answering with
   this candidate (its window) be right?
2. Feature weights: a conditional logit over each answerable question's candidates
   (maximise the probability of the right ones), L2-regularised, fitted by L-BFGS.
3. Calibration: K-fold cross-fitting — for each fold, the scorer is fitted on the other
   folds and the fold's questions are answered with it, so every calibration example
   comes from a scorer that never saw that question. A logistic regression on the
   decision's signals (``Calibration.signals``) then maps them to P(right); unanswerable
   questions count as "not right". The threshold is the lowest probability at which
   out-of-fold answers are still right often enough (see ``choose_threshold``).

   Each head's weights are held to the direction their signal can push (``SIGNS``; a
   wrong-signed weight among correlated signals is dropped and the head refitted).

Prints the ``Weights(...)`` and ``Calibration(...)`` literals to paste into
``src/sdsearch/answer/scoring.py`` / ``decide.py``, and the out-of-fold scores; ``--out``
writes the constants and each dev question's out-of-fold confidence as JSON.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "src"))  # an installed or PYTHONPATH sdsearch comes first

from sdsearch.answer.decide import Calibration, compose  # noqa: E402
from sdsearch.answer.scoring import WEIGHTS, Weights, score_sentences  # noqa: E402
from sdsearch.evaluate import SpanLocator, _gold_places, judge, read_jsonl, select_split  # noqa: E402

FEATURES = Weights.feature_names()
# The L2 fit pulls towards these hand-set weights (the first guess, before any fitting), so the
# fitted constants are reproducible whatever the source holds now.
PRIOR = {
    "cos": 4.0, "cover": 1.0, "context": 0.5, "heading": 0.3, "lean_prev": 0.8, "lean_next": 0.8, "novelty": 0.5,
    "fact": 1.0, "no_fact": -1.0, "restate": -0.8, "cue_reason": 0.6, "cue_define": 0.6, "cue_which": 0.6,
    "cue_keyword": 0.6, "ordinal": 1.5, "typed": 0.5, "rank": 0.3, "mismatch": -2.0,
    "header": -3.0, "short": -0.5,
}
SIGNALS = tuple(f.name for f in fields(Calibration) if f.name not in ("intercept", "p_top", "margin"))


@dataclass
class QData:
    qid: str
    set: str
    kind: str | None
    answerable: bool
    X: np.ndarray  # candidates × features
    y: np.ndarray  # candidate would answer right
    S: np.ndarray  # candidates × weight-independent calibration signals (SIGNALS)
    question: str = ""
    gold: str | None = None
    texts: tuple[str, ...] = ()


def dev_items() -> list[tuple[str, dict]]:
    old = read_jsonl(ROOT / "eval" / "answers.jsonl")
    new = select_split(read_jsonl(ROOT / "eval" / "answers2.jsonl"), "dev")
    return [("old", it) for it in old] + [("dev2", it) for it in new]


def extract(retriever, items: list[tuple[str, dict]], locator: SpanLocator, pool: int = 5) -> list[QData]:
    out = []
    cal = Calibration()
    for n, (name, item) in enumerate(items, start=1):
        q_text = item["question"]
        hits = retriever.search([q_text], k=pool)[0]
        q, scored = score_sentences(retriever, q_text, hits, WEIGHTS)
        if not scored:
            continue
        X = np.array([[c.features[f] for f in FEATURES] for c in scored], dtype=np.float64)
        S = []
        for i in range(len(scored)):
            sig = cal.signals(q, [scored[i]] + scored[:i] + scored[i + 1 :])
            S.append([sig[s] for s in SIGNALS])
        y = np.zeros(len(scored))
        if item.get("answer") is not None:
            places = [(locator.find(s, c), c, a) for s, c, a in _gold_places(item, str(item.get("id")))]
            for i, c in enumerate(scored):
                y[i] = float(judge(compose(q_text, c, 1.0, tuple(hits)), places))
        out.append(
            QData(
                str(item.get("id")), name, item.get("kind") or item.get("type"), item.get("answer") is not None,
                X, y, np.array(S), q_text, item.get("answer"), tuple(c.text for c in scored),
            )
        )
        if n % 50 == 0:
            print(f"  {n}/{len(items)} questions", file=sys.stderr)
    return out


def cached_extract(
    cache: Path, fresh: bool, index: str | None, items: list[tuple[str, dict]], corpus: Path, pool: int
) -> list[QData]:
    """``extract`` over the index (default: the checkout's ``index/``), kept in ``cache``:
    read from there unless ``fresh`` or missing."""
    if cache.is_file() and not fresh:
        return pickle.loads(cache.read_bytes())
    from sdsearch.models import load_encoder
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    r = Retriever(open_index(index or str(ROOT / "index")), load_encoder())
    t = time.perf_counter()
    data = extract(r, items, SpanLocator(corpus), pool)
    print(f"answered {len(data)} questions in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    cache.write_bytes(pickle.dumps(data))
    return data


def _loss_grad(w: np.ndarray, data: list[QData], l2: float, prior: np.ndarray) -> tuple[float, np.ndarray]:
    loss, grad = 0.0, np.zeros_like(w)
    for d in data:
        s = d.X @ w
        m = s.max()
        e = np.exp(s - m)
        z = e.sum()
        pos = d.y > 0
        zp = e[pos].sum()
        loss += -np.log(zp) + np.log(z)
        grad += -(e[pos] / zp) @ d.X[pos] + (e / z) @ d.X
    diff = w - prior
    return loss + l2 * float(diff @ diff), grad + 2 * l2 * diff


def fit_weights(data: list[QData], l2: float, prior: np.ndarray) -> np.ndarray:
    from scipy.optimize import minimize

    train = [d for d in data if d.answerable and d.y.any() and not d.y.all()]
    res = minimize(_loss_grad, prior.copy(), args=(train, l2, prior), jac=True, method="L-BFGS-B")
    return res.x


def decision_rows(data: list[QData], w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per question: the calibration signals of the chosen candidate, and whether it is right."""
    feats, right = [], []
    for d in data:
        s = d.X @ w
        order = np.argsort(-s, kind="stable")
        b = order[0]
        p = np.exp(s - s.max())
        p /= p.sum()
        margin = min(5.0, float(s[b] - s[order[1]])) if len(s) > 1 else 5.0
        gate = any(d.S[b][SIGNALS.index(n)] > 0 for n in ("hard_missing", "mismatch", "no_data"))
        feats.append([0.0 if gate else float(p[b]), 0.0 if gate else margin, *d.S[b]])
        right.append(float(d.y[b]) if d.answerable else 0.0)
    return np.array(feats), np.array(right)


# The direction each decision signal can only push P(right) and P(answerable): a fact that is
# missing, another gemeente or year, a low coverage never make an answer more likely right. A
# signal whose fitted weight points the other way is fitting noise among correlated signals
# (margin beside p_top, context beside cover), so it is left out and the head refitted.
SIGNS = {
    "p_top": 1, "margin": 1, "context": 1, "cover": 1, "low_cover": -1, "hard_missing": -1, "soft_missing": -1,
    "top_missing": -1, "mismatch": -1, "no_data": -1, "keyword": 0, "open_kind": -1,
}
SIGNAL_NAMES = ("p_top", "margin", *SIGNALS)


def fit_calibration(
    F: np.ndarray, r: np.ndarray, C: float, drop: tuple[int, ...] = (), signs: bool = True
) -> tuple[float, np.ndarray]:
    """Logistic regression; the columns in ``drop`` are left out (their weight is 0), and with
    ``signs`` so is any column whose weight comes out against its direction in ``SIGNS``."""
    from sklearn.linear_model import LogisticRegression

    keep = [j for j in range(F.shape[1]) if j not in drop]
    while True:
        lr = LogisticRegression(C=C, max_iter=2000)
        lr.fit(F[:, keep], r)
        coef = np.zeros(F.shape[1])
        coef[keep] = lr.coef_[0]
        wrong = [j for j in keep if signs and SIGNS[SIGNAL_NAMES[j]] * coef[j] < 0]
        if not wrong:
            return float(lr.intercept_[0]), coef
        keep.remove(max(wrong, key=lambda j: abs(coef[j])))


def probs(F: np.ndarray, b: float, coef: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(b + F @ coef)))


def folds_of(data: list[QData], k: int, seed: int = 7) -> list[int]:
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(data))
    fold = [0] * len(data)
    for j, i in enumerate(idx):
        fold[i] = j % k
    return fold


def metrics(right: np.ndarray, answerable: np.ndarray, conf: np.ndarray, t: float) -> dict[str, float]:
    answered = conf >= t
    acc = float((right * answered)[answerable].mean())
    none = ~answered
    prec = float((~answerable[none]).mean()) if none.any() else 0.0
    rec = float(none[~answerable].mean()) if (~answerable).any() else 0.0
    return {"acc": acc, "na_p": prec, "na_r": rec}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index")
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--cache", default="/tmp/sdsearch_answer_calibrate.pkl")
    ap.add_argument("--fresh", action="store_true", help="re-extract features even if the cache exists")
    ap.add_argument("--out", default="/tmp/sdsearch_answer_calibrate.json", help="the fitted constants as JSON")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--pool", type=int, default=5, help="passages whose sentences are candidates (decide's pool)")
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--C", type=float, default=None, help="calibration regularisation (default: best out-of-fold log-loss)")
    ap.add_argument("--free-signs", action="store_true", help="let calibration weights take any sign (see SIGNS)")
    args = ap.parse_args()
    data = cached_extract(Path(args.cache), args.fresh, args.index, dev_items(), Path(args.corpus), args.pool)
    prior = np.array([PRIOR[f] for f in FEATURES], dtype=np.float64)
    answerable = np.array([d.answerable for d in data])
    reachable = np.mean([d.y.any() for d in data if d.answerable])
    print(f"{len(data)} dev questions ({answerable.sum()} answerable); a right candidate exists for {reachable:.3f}")

    # Out-of-fold: scorer and calibration never see the question they judge.
    fold = folds_of(data, args.folds)
    F_oof = np.zeros((len(data), 2 + len(SIGNALS)))
    r_oof = np.zeros(len(data))
    for k in range(args.folds):
        tr = [d for d, f in zip(data, fold, strict=True) if f != k]
        te_idx = [i for i, f in enumerate(fold) if f == k]
        w = fit_weights(tr, args.l2, prior)
        F, r = decision_rows([data[i] for i in te_idx], w)
        F_oof[te_idx], r_oof[te_idx] = F, r
    top1 = r_oof[answerable].mean()
    print(f"out-of-fold: the chosen candidate is right for {top1:.3f} of answerable questions")
    # Two logistic heads on the out-of-fold decisions, each with its regularisation chosen by
    # cross-fitted log-loss: P(the answer is right) — the confidence shown — and P(the
    # question is answerable) — what decides between an answer and "geen duidelijk antwoord".
    target_ans = answerable.astype(float)

    sets = np.array([d.set for d in data])
    on_new = sets == "dev2"

    names = ("p_top", "margin", *SIGNALS)
    # Whether the reports answer a question cannot depend on whether it was typed as keywords:
    # the answerable head does not get that signal (every keyword question in dev happens to be
    # answerable, so it would learn "keywords → answerable").
    drops = {"right": (), "answerable": (names.index("keyword"),)}

    def cross_cal(C: float, target: np.ndarray, use: np.ndarray, drop: tuple[int, ...] = ()) -> np.ndarray:
        p = np.zeros(len(data))
        for k in range(args.folds):
            tr = [i for i, f in enumerate(fold) if f != k and use[i]]
            te = [i for i, f in enumerate(fold) if f == k]
            bk, ck = fit_calibration(F_oof[tr], target[tr], C, drop, not args.free_signs)
            p[te] = probs(F_oof[te], bk, ck)
        return p

    def logloss(p: np.ndarray, target: np.ndarray) -> float:
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))

    # Which questions to calibrate on (all dev questions, or only the independently written
    # answers2 dev ones, which are like a new user's) and how strongly to regularise: the
    # choice with the lowest cross-fitted log-loss on the answers2 dev questions.
    heads = {}
    for name, target in (("right", r_oof), ("answerable", target_ans)):
        Cs = [args.C] if args.C else [0.1, 0.3, 1.0, 3.0, 10.0]
        losses = {}
        for who, use in (("all", np.ones(len(data), bool)), ("dev2", on_new)):
            for C in Cs:
                p = cross_cal(C, target, use, drops[name])
                losses[(who, C)] = logloss(p[on_new], target[on_new])
        who, C = min(losses, key=losses.get)
        use = on_new if who == "dev2" else np.ones(len(data), bool)
        print(f"{name}: answers2-dev log-loss by (questions, C) " + "  ".join(f"{w}/{c:g} {v:.4f}" for (w, c), v in losses.items()) + f"  → {who}, C={C:g}")
        heads[name] = (fit_calibration(F_oof[use], target[use], C, drops[name], not args.free_signs), cross_cal(C, target, use, drops[name]))
    (b, coef), p_oof = heads["right"]
    (ba, coefa), pa_oof = heads["answerable"]
    print("reliability (out-of-fold, dev): confidence bucket → right, n")
    for lo, hi in ((0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 0.9), (0.9, 1.01)):
        m = (p_oof >= lo) & (p_oof < hi)
        print(f"  [{lo:.1f}, {min(hi, 1):.1f})  {r_oof[m].mean() if m.any() else float('nan'):.3f}  {m.sum()}")
    for name in ("old", "dev2"):
        m = (p_oof >= 0.8) & (sets == name)
        print(f"  ≥ 0.8 on {name}: {r_oof[m].mean():.3f} right of {m.sum()}")
    m = p_oof >= 0.8
    print(f"  ≥ 0.8: {r_oof[m].mean():.3f} right of {m.sum()}")
    print("answer when P(answerable) ≥ t (out-of-fold, dev):")
    for t in (0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85):
        print(f"  t {t:.2f}: " + "  ".join(f"{k} {v:.3f}" for k, v in metrics(r_oof, answerable, pa_oof, t).items()))
    w_all = fit_weights(data, args.l2, prior)
    print("\nWeights(" + ", ".join(f"{f}={v:.3f}" for f, v in zip(FEATURES, w_all, strict=True)) + ")")
    print("CALIBRATION = Calibration(intercept=" + f"{b:.3f}, " + ", ".join(f"{n}={v:.3f}" for n, v in zip(names, coef, strict=True)) + ")")
    print("ANSWERABLE = Calibration(intercept=" + f"{ba:.3f}, " + ", ".join(f"{n}={v:.3f}" for n, v in zip(names, coefa, strict=True)) + ")")
    by_kind: dict[str, list[float]] = {}
    for d, rr in zip(data, r_oof, strict=True):
        if d.answerable:
            by_kind.setdefault(f"{d.set}:{d.kind}", []).append(rr)
    print("out-of-fold right by set:kind: " + "  ".join(f"{k} {np.mean(v):.2f}/{len(v)}" for k, v in sorted(by_kind.items())))
    Path(args.out).write_text(
        json.dumps(
            {
                "weights": dict(zip(FEATURES, w_all.tolist(), strict=True)),
                "calibration": {"intercept": b, **dict(zip(names, coef.tolist(), strict=True))},
                "answerable": {"intercept": ba, **dict(zip(names, coefa.tolist(), strict=True))},
                # Per dev question, out of fold: is the chosen answer right, P(right), P(answerable).
                "out_of_fold": [
                    {"id": d.qid, "set": d.set, "kind": d.kind, "answerable": d.answerable, "right": bool(rr),
                     "confidence": round(float(pr), 4), "p_answerable": round(float(pa), 4)}
                    for d, rr, pr, pa in zip(data, r_oof, p_oof, pa_oof, strict=True)
                ],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
