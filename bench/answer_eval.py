"""The answer numbers for the README: eval/answers.jsonl, and eval/answers2.jsonl per split
(dev, test, the gap), with the reliability table (confidence bucket → accuracy, count).

    python bench/answer_eval.py [--index DIR] [--corpus DIR] [--out bench/results/answer_eval.md]

Uses ``sdsearch.evaluate.run_eval`` exactly as ``sdsearch eval`` does. The scorer and the
answerable head were fitted on the old set and the dev split only (bench/answer_calibrate.py),
the zekerheid on eval/answers4.jsonl (split cal, bench/answer_recalibrate.py); answers2's test
split, eval/answers7.jsonl (fresh in 0.2.6) and eval/answers6.jsonl (0.2.5's fresh set, looked at
to keep or drop 0.2.5's changes, never to read its misses) are read here, for measuring.
eval/answers3.jsonl (fresh in 0.2.2-0.2.3) and eval/answers5.jsonl (fresh in 0.2.4) are
development sets now: later rules were read on their misses.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "src"))  # an installed or PYTHONPATH sdsearch comes first

from sdsearch.evaluate import answer_metrics, reliability_table, run_eval  # noqa: E402


def line(name: str, m: dict[str, float]) -> str:
    return (
        f"| {name} | {m['answer_accuracy']:.3f} | {m['answerable']:.0f} | {m['no_answer_precision']:.3f} | "
        f"{m['no_answer_recall']:.3f} | {m['unanswerable']:.0f} | {m['headline_shown']:.2f} / {m['headline_precision']:.3f} |"
    )


def reliability(name: str, rows: list[dict]) -> list[str]:
    """The reliability table of one held-out set and the share right of answers shown at zekerheid ≥ 0.8."""
    out = ["", f"Reliability on {name} (every question, with the answer it would show at its confidence):", ""]
    out += ["| zekerheid | questions | right |", "|---|---|---|"]
    for b in reliability_table(rows):
        acc = "—" if b["n"] == 0 else f"{b['accuracy']:.2f}"
        out.append(f"| {b['lo']:.1f}–{b['hi']:.1f} | {b['n']:.0f} | {acc} |")
    hi = [row for row in rows if row["answered"] and row["confidence"] >= 0.8]
    if hi:
        right = sum(bool(row.get("correct")) for row in hi) / len(hi)
        out += ["", f"Answers shown with zekerheid ≥ 0.8 on {name}: {len(hi)}, right {right:.3f}."]
    # Proper scores of the zekerheid over every question (its answer right or not): lower is better.
    p = [min(max(float(row["confidence"]), 1e-4), 1 - 1e-4) for row in rows]
    y = [1.0 if row["candidate_correct"] else 0.0 for row in rows]
    brier = sum((a - b) ** 2 for a, b in zip(p, y, strict=True)) / len(rows)
    loss = -sum(b * math.log(a) + (1 - b) * math.log(1 - a) for a, b in zip(p, y, strict=True)) / len(rows)
    out.append(f"Zekerheid over all {len(rows)} questions: Brier {brier:.4f}, log-loss {loss:.4f}.")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=str(ROOT / "index"))
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--eval-dir", default=str(ROOT / "eval"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--rows", default=None, help="write every question's row (answer, right, zekerheid) as JSON, per set")
    args = ap.parse_args()
    from sdsearch.models import load_encoder
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    r = Retriever(open_index(Path(args.index)), load_encoder())
    t = time.perf_counter()
    old = run_eval(r, Path(args.eval_dir) / "answers.jsonl", Path(args.corpus))
    new = run_eval(r, Path(args.eval_dir) / "answers2.jsonl", Path(args.corpus))
    out = [
        "| set | answer accuracy | answerable | no-answer precision | no-answer recall | unanswerable | 'Antwoord:' line shown / right |",
        "|---|---|---|---|---|---|---|",
    ]
    out.append(line("eval/answers.jsonl (old, fitted on)", old.answers))
    for sp in ("dev", "test"):
        out.append(line(f"eval/answers2.jsonl {sp}" + (" (fitted on)" if sp == "dev" else " (held out)"), new.answers_by_split[sp]))
    extra = {}
    for name, label in (
        ("answers3.jsonl", "eval/answers3.jsonl (0.2.2's fresh set; rules read on it since 0.2.4)"),
        ("answers4.jsonl", "eval/answers4.jsonl (cal: the zekerheid is fitted on it)"),
        ("answers5.jsonl", "eval/answers5.jsonl (0.2.4's fresh set; rules read on it since 0.2.5)"),
        ("answers6.jsonl", "eval/answers6.jsonl (0.2.5's fresh set, held out; 5 looks)"),
        ("answers7.jsonl", "eval/answers7.jsonl (fresh in 0.2.6, held out)"),
    ):
        if (Path(args.eval_dir) / name).exists():
            extra[name] = run_eval(r, Path(args.eval_dir) / name, Path(args.corpus))
            out.append(line(label, extra[name].answers))
    secs = time.perf_counter() - t
    dev, test = new.answers_by_split["dev"], new.answers_by_split["test"]
    out.append("")
    out.append(
        f"gap dev − test: accuracy {dev['answer_accuracy'] - test['answer_accuracy']:+.3f}, "
        f"no-answer precision {dev['no_answer_precision'] - test['no_answer_precision']:+.3f}, "
        f"recall {dev['no_answer_recall'] - test['no_answer_recall']:+.3f}"
    )
    test_rows = [row for row in new.answer_rows if row["split"] == "test"]
    out += reliability("answers2 test", test_rows)
    held = [("answers2 test", test_rows)]
    for name, label in (("answers5.jsonl", "answers5 (dev since 0.2.5)"), ("answers6.jsonl", "answers6 (0.2.5's fresh set)"), ("answers7.jsonl", "answers7 (fresh)")):
        if name in extra:
            out += reliability(label, extra[name].answer_rows)
            held.append((label, extra[name].answer_rows))
    out.append("")
    for name, rows in held:
        kinds = sorted({str(row["kind"]) for row in rows if row["answerable"]})
        out.append(f"Accuracy per kind, {name}: " + ", ".join(
            f"{k} {answer_metrics([x for x in rows if str(x['kind']) == k and x['answerable']])['answer_accuracy']:.2f} "
            f"({sum(1 for x in rows if str(x['kind']) == k and x['answerable'])})"
            for k in kinds
        ))
    out.append("")
    n = len(old.answer_rows) + len(new.answer_rows) + sum(len(e.answer_rows) for e in extra.values())
    out.append(f"({secs:.0f} s for {n} questions)")
    if args.rows:
        import json

        sets = {"answers.jsonl": old, "answers2.jsonl": new, **extra}
        Path(args.rows).write_text(json.dumps({k: v.answer_rows for k, v in sets.items()}, ensure_ascii=False, default=str))
    text = "\n".join(out)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
