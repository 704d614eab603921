"""Fit the answerer's two confidence heads and its threshold on the calibration set only.

    python bench/answer_recalibrate.py [--index DIR] [--fresh] [--folds 5] [--out FILE]

``bench/answer_calibrate.py`` fits the scorer's weights and the heads on development questions
(eval/answers.jsonl and the dev split of answers2), out of fold. Out of fold hides a question
from the fitted weights, but not from the hand-written rules (spans, cues, question types) that
were developed while reading those same questions: the heads learned how sure to be on questions
the rules were shaped on, and were too sure on new ones (answers2 test: zekerheid ≥ 0.8 right
0.874, against 0.92 out of fold on dev).

This script leaves the scorer as it is (``WEIGHTS``, every rule) and fits only what turns its
signals into numbers people read, on eval/answers4.jsonl (split "cal"): questions written by
another hand after the rules were frozen, used for nothing else. The zekerheid is fitted two
ways and the one with the lower cross-fitted log-loss on cal is printed: every weight refitted,
or the dev-fitted head (``DEV_CALIBRATION``) kept and its logit rescaled, z → a·z + b (Platt
scaling; 0.2.3 uses this: ``CALIBRATION = DEV_CALIBRATION.rescaled(a, b)``).

1. Every cal question is answered by the current scorer (``score_sentences`` with ``WEIGHTS``,
   the retriever over the bundled corpus) and judged by the eval's own judge; the decision's
   signals (``Calibration.signals``) are kept.
2. Two logistic heads refitted, each weight held to its signal's direction (``answer_calibrate.SIGNS``):
   P(the answer is right) — the zekerheid shown — and P(the reports answer the question). The
   regularisation C of each is the one with the lowest cross-fitted (K-fold) log-loss on cal.
3. The threshold on P(answerable): the value, on the cross-fitted probabilities, that makes the
   most questions come out right (answerable ones answered right, unanswerable ones declined);
   among equal ones the middle of the range.

Prints the cross-fitted reliability table and no-answer precision / recall on cal, and the
``Calibration(...)`` literals and threshold to paste into ``src/sdsearch/answer/decide.py`` and
``Settings.answer_threshold``. Held-out sets (answers2 test, answers3) are not read here:
``bench/answer_eval.py`` reports them once the constants are in.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from answer_calibrate import FEATURES, SIGNAL_NAMES, cached_extract, decision_rows, fit_calibration, probs  # noqa: E402

from sdsearch.answer.decide import ANSWERABLE, DEV_CALIBRATION  # noqa: E402
from sdsearch.answer.scoring import WEIGHTS  # noqa: E402
from sdsearch.config import Settings  # noqa: E402
from sdsearch.evaluate import read_jsonl, select_split  # noqa: E402

BUCKETS = ((0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 0.9), (0.9, 1.01))
# Whether the reports answer a question cannot depend on its being typed as keywords (as in
# answer_calibrate: the answerable head does not get that signal).
DROPS = {"right": (), "answerable": (SIGNAL_NAMES.index("keyword"),)}


def folds_of(n: int, k: int, seed: int = 11) -> np.ndarray:
    fold = np.zeros(n, dtype=int)
    fold[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    return fold


def cross_fit(F: np.ndarray, target: np.ndarray, fold: np.ndarray, C: float, drop: tuple[int, ...]) -> np.ndarray:
    p = np.zeros(len(F))
    for k in np.unique(fold):
        tr, te = fold != k, fold == k
        b, coef = fit_calibration(F[tr], target[tr], C, drop)
        p[te] = probs(F[te], b, coef)
    return p


def logloss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def outcome(right: np.ndarray, answerable: np.ndarray, p_ans: np.ndarray, t: float) -> dict[str, float]:
    shown = p_ans >= t
    declined = ~shown
    return {
        "acc": float((right * shown)[answerable].mean()),
        "na_p": float((~answerable[declined]).mean()) if declined.any() else 0.0,
        "na_r": float(declined[~answerable].mean()),
        "ok": float(((right > 0) & shown & answerable).sum() + (declined & ~answerable).sum()),
    }


def choose_threshold(right: np.ndarray, answerable: np.ndarray, p_ans: np.ndarray) -> float:
    grid = np.round(np.arange(0.20, 0.91, 0.01), 2)
    ok = np.array([outcome(right, answerable, p_ans, t)["ok"] for t in grid])
    best = grid[ok == ok.max()]
    return float(best[len(best) // 2])


def platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of P(right) = σ(a·z + b), a logistic regression on the logit ``z`` (C=1)."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1.0).fit(z[:, None], y)
    return float(lr.coef_[0][0]), float(lr.intercept_[0])


def report(title: str, right: np.ndarray, answerable: np.ndarray, p_right: np.ndarray, p_ans: np.ndarray, t: float) -> None:
    """Reliability of the zekerheid shown, and the no-answer decision at ``t``, on cal."""
    o = outcome(right, answerable, p_ans, t)
    print(f"\n{title}; threshold {t:.2f}: accuracy {o['acc']:.3f}, no-answer P {o['na_p']:.3f} R {o['na_r']:.3f}")
    print("| zekerheid | questions | right |\n|---|---|---|")
    for lo, hi in BUCKETS:
        m = (p_right >= lo) & (p_right < hi)
        print(f"| {lo:.1f}–{min(hi, 1.0):.1f} | {m.sum()} | {right[m].mean() if m.any() else float('nan'):.2f} |")
    m = (p_right >= 0.8) & (p_ans >= t)
    print(f"answers shown with zekerheid ≥ 0.8: {m.sum()}, right {right[m].mean() if m.any() else float('nan'):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index")
    ap.add_argument("--cache", default="/tmp/sdsearch_answer_recalibrate.pkl")
    ap.add_argument("--fresh", action="store_true", help="re-answer the questions even if the cache exists")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--pool", type=int, default=5)
    ap.add_argument("--out", help="write the constants and the cross-fitted per-question numbers as JSON")
    args = ap.parse_args()
    items = [("cal", it) for it in select_split(read_jsonl(ROOT / "eval" / "answers4.jsonl"), "cal")]
    data = cached_extract(Path(args.cache), args.fresh, args.index, items, ROOT / "corpus", args.pool)
    w = np.array([getattr(WEIGHTS, f) for f in FEATURES], dtype=np.float64)
    F, right = decision_rows(data, w)
    answerable = np.array([d.answerable for d in data])
    print(f"{len(data)} cal questions ({answerable.sum()} answerable): the current scorer's answer is right "
          f"for {right[answerable].mean():.3f} of the answerable ones")
    # The heads fitted on dev (bench/answer_calibrate.py), on the same questions (not fitted on
    # these): what a person read in 0.2.2.
    before = {}
    for name, cal in (("right", DEV_CALIBRATION), ("answerable", ANSWERABLE)):
        coef_now = np.array([getattr(cal, n) for n in SIGNAL_NAMES])
        before[name] = probs(F, cal.intercept, coef_now)
    t_now = Settings().answer_threshold
    report("the heads fitted on dev (0.2.2's zekerheid)", right, answerable, before["right"], before["answerable"], t_now)
    fold = folds_of(len(data), args.folds)
    heads = {}
    for name, target in (("right", right), ("answerable", answerable.astype(float))):
        losses = {C: logloss(cross_fit(F, target, fold, C, DROPS[name]), target) for C in (0.1, 0.3, 1.0, 3.0, 10.0)}
        C = min(losses, key=losses.get)
        print(f"{name}: cross-fitted log-loss by C " + "  ".join(f"{c:g} {v:.4f}" for c, v in losses.items()) + f"  → C={C:g}")
        heads[name] = (fit_calibration(F, target, C, DROPS[name]), cross_fit(F, target, fold, C, DROPS[name]))
    # The zekerheid two ways: every weight refitted on cal (above), or the dev-fitted head kept
    # and only its logit rescaled, z → a·z + b (Platt scaling: two numbers, so far less to
    # overfit on 165 questions; the order of the answers by zekerheid stays the dev head's).
    z = DEV_CALIBRATION.intercept + F @ np.array([getattr(DEV_CALIBRATION, n) for n in SIGNAL_NAMES])
    p_scaled = np.zeros(len(z))
    for k in np.unique(fold):
        a_k, b_k = platt(z[fold != k], right[fold != k])
        p_scaled[fold == k] = probs(z[fold == k, None], b_k, np.array([a_k]))
    a, b0 = platt(z, right)
    scaled = (DEV_CALIBRATION.intercept * a + b0, np.array([getattr(DEV_CALIBRATION, n) for n in SIGNAL_NAMES]) * a)
    loss_refit, loss_scaled = logloss(heads["right"][1], right), logloss(p_scaled, right)
    print(f"zekerheid: cross-fitted log-loss on cal: every weight refitted {loss_refit:.4f}, "
          f"the dev head rescaled (a={a:.3f}, b={b0:.3f}) {loss_scaled:.4f}"
          f"  → {'rescaled' if loss_scaled <= loss_refit else 'refitted'}")
    if loss_scaled <= loss_refit:
        heads["right"] = (scaled, p_scaled)
    (b, coef), p_right = heads["right"]
    (ba, coefa), p_ans = heads["answerable"]
    t = choose_threshold(right, answerable, p_ans)
    report("fitted on cal (cross-fitted: each question's numbers from heads fitted without it)",
           right, answerable, p_right, p_ans, t)
    print("answer when P(answerable) ≥ t (cross-fitted, cal):")
    for tt in sorted({0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, t}):
        o = outcome(right, answerable, p_ans, tt)
        print(f"  t {tt:.2f}: accuracy {o['acc']:.3f}  no-answer P {o['na_p']:.3f} R {o['na_r']:.3f}  right outcomes {o['ok']:.0f}"
              + ("  ← chosen" if tt == t else ""))
    lit = ", ".join
    if loss_scaled <= loss_refit:
        print(f"\nCALIBRATION = DEV_CALIBRATION.rescaled({a:.3f}, {b0:.3f})")
    else:
        print("\nCALIBRATION = Calibration(intercept=" + f"{b:.3f}, " + lit(f"{n}={v:.3f}" for n, v in zip(SIGNAL_NAMES, coef, strict=True)) + ")")
    print("ANSWERABLE = Calibration(intercept=" + f"{ba:.3f}, " + lit(f"{n}={v:.3f}" for n, v in zip(SIGNAL_NAMES, coefa, strict=True)) + ")")
    print(f"answer_threshold = {t:.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps({
            "calibration": {"intercept": b, **dict(zip(SIGNAL_NAMES, coef.tolist(), strict=True))},
            "answerable": {"intercept": ba, **dict(zip(SIGNAL_NAMES, coefa.tolist(), strict=True))},
            "threshold": t,
            "cross_fitted": [
                {"id": d.qid, "kind": d.kind, "answerable": bool(a), "right": bool(rr), "confidence": round(float(pr), 4),
                 "p_answerable": round(float(pa), 4)}
                for d, a, rr, pr, pa in zip(data, answerable, right, p_right, p_ans, strict=True)
            ],
        }, indent=1))


if __name__ == "__main__":
    main()
