"""Would another signal tell answerable questions from near-misses? Development sets only.

    python bench/answer_signals.py [--index DIR] [--out bench/results/answer_signals.md]

The no-answer head (``decide.ANSWERABLE``) reads the decision's signals. On the fresh sets a
near-miss — a question the reports do not answer, whose best sentence holds a fact of the asked
kind about something else — still gets an answer too often (no-answer recall 0.53–0.56). This
bench answers the development sets (eval/answers.jsonl, answers2 dev, answers3, answers5 and
answers4's cal split; never answers2 test, answers6 or answers7) with the answerer as it is,
and measures four signals the head does not read:

- ``sentence_cos``: the best sentence's cosine with the question (a scorer feature);
- ``hit_score``: the retriever's fused score of the passage it comes from;
- ``agreement``: the softmax share of the candidates that point at the same fact;
- ``span_cos``: the question's cosine with the few words around the marked fact (six on
  either side), encoded as a passage: a fact about something else should sit among other
  words than the question's.

For each: its AUC for "the reports answer this" per set (the head's own P(answerable) beside
it); then, leaving one set out at a time, a logistic fit of answerable ~ logit(P(answerable)) +
the signal (standardised) on the other dev sets, scored by AUC on the one left out; and how
many of the left-out set's decisions at ``Settings.answer_threshold`` that fit would turn.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "src"))

from sdsearch.answer.decide import decide  # noqa: E402
from sdsearch.answer.scoring import softmax  # noqa: E402
from sdsearch.config import Settings  # noqa: E402
from sdsearch.evaluate import read_jsonl, select_split  # noqa: E402

SIGNALS = ("sentence_cos", "hit_score", "agreement", "span_cos")


def dev_sets() -> dict[str, list[dict]]:
    ev = ROOT / "eval"
    return {
        "answers": read_jsonl(ev / "answers.jsonl"),
        "answers2 dev": select_split(read_jsonl(ev / "answers2.jsonl"), "dev"),
        "answers3": read_jsonl(ev / "answers3.jsonl"),
        "answers5": read_jsonl(ev / "answers5.jsonl"),
        "cal": select_split(read_jsonl(ev / "answers4.jsonl"), "cal"),
    }


def around(text: str, span: str, words: int = 6) -> str:
    """``span`` with up to ``words`` words of ``text`` on either side (the whole text if absent)."""
    at = text.find(span)
    if at < 0 or not span:
        return text
    return " ".join(text[:at].split()[-words:] + [span] + text[at + len(span) :].split()[:words])


def collect(retriever, sets: dict[str, list[dict]]) -> list[dict]:
    rows = []
    for name, items in sets.items():
        for it in items:
            d = decide(retriever, it["question"])
            if not d.scored:
                continue
            best = d.scored[0]
            probs = softmax([c.score for c in d.scored])

            def fact_key(c):  # noqa: ANN001, ANN202
                at = c.fact_at or c
                return (at.hit.passage.source, at.start)

            agreement = sum(p for c, p in zip(d.scored, probs, strict=True) if fact_key(c) == fact_key(best))
            rows.append({
                "set": name, "answerable": it.get("answer") is not None, "p_ans": d.answerable,
                "sentence_cos": best.cos, "hit_score": best.hit.score, "agreement": agreement,
                "question": it["question"], "around": around(d.candidate.text, d.candidate.span or ""),
            })
    q = np.asarray(retriever.encoder.encode_queries([r["question"] for r in rows]))
    p = np.asarray(retriever.encoder.encode_passages([r["around"] for r in rows]))
    for r, a, b in zip(rows, q, p, strict=True):
        r["span_cos"] = float(a @ b)
    return rows


def auc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    from sdsearch.models import load_encoder
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=str(ROOT / "index"))
    ap.add_argument("--out")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = collect(Retriever(open_index(Path(args.index)), load_encoder()), dev_sets())
    names = list(dict.fromkeys(r["set"] for r in rows))
    t = Settings().answer_threshold
    lines = [
        f"# Signals for the no-answer head, development sets ({time.strftime('%Y-%m-%d')})",
        "",
        "`python bench/answer_signals.py` (answers2 test, answers6 and answers7 are not read)",
        "",
        "AUC for \"the reports answer this\", per set (P(answerable) is the head's own):",
        "",
        "| set | questions (unanswerable) | P(answerable) | " + " | ".join(SIGNALS) + " |",
        "|---|---|---|" + "---|" * len(SIGNALS),
    ]
    for n in names:
        rs = [r for r in rows if r["set"] == n]
        y = np.array([r["answerable"] for r in rs])
        cells = [f"{auc(y, np.array([r[k] for r in rs])):.3f}" for k in ("p_ans", *SIGNALS)]
        lines.append(f"| {n} | {len(rs)} ({int((~y).sum())}) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Left out in turn: logistic fit of answerable ~ logit(P(answerable)) [+ the signal, standardised] on the other "
        f"dev sets; AUC on the one left out, and its decisions at the threshold {t:.2f} that the signal turns "
        "(declined → answered / answered → declined):",
        "",
        "| left out | head alone | " + " | ".join(SIGNALS) + " |",
        "|---|---|" + "---|" * len(SIGNALS),
    ]
    for n in names:
        train = [r for r in rows if r["set"] != n]
        test = [r for r in rows if r["set"] == n]
        y_tr = np.array([r["answerable"] for r in train])
        y_te = np.array([r["answerable"] for r in test])
        base_tr = np.array([[logit(r["p_ans"])] for r in train])
        base_te = np.array([[logit(r["p_ans"])] for r in test])
        m0 = LogisticRegression().fit(base_tr, y_tr)
        cells = [f"{auc(y_te, m0.predict_proba(base_te)[:, 1]):.3f}"]
        for k in SIGNALS:
            v_tr = np.array([r[k] for r in train])
            mu, sd = v_tr.mean(), v_tr.std() or 1.0
            x_tr = np.hstack([base_tr, ((v_tr - mu) / sd)[:, None]])
            x_te = np.hstack([base_te, ((np.array([r[k] for r in test]) - mu) / sd)[:, None]])
            m = LogisticRegression().fit(x_tr, y_tr)
            # The signal's push on the head's own logit: z + (c / a) · signal, decided at the threshold.
            a, c = m.coef_[0]
            z0 = base_te[:, 0]
            z1 = z0 + (c / a) * (x_te[:, 1] - ((v_tr - mu) / sd).mean()) if a > 0 else z0
            shown0, shown1 = z0 >= logit(t), z1 >= logit(t)
            cells.append(f"{auc(y_te, m.predict_proba(x_te)[:, 1]):.3f} ({int((~shown0 & shown1).sum())} / {int((shown0 & ~shown1).sum())})")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines += ["", f"({len(rows)} questions, {time.perf_counter() - t0:.0f} s)"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
