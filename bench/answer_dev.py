"""Answer quality on the development questions only: eval/answers.jsonl (all of it) and the
dev split of eval/answers2.jsonl. Test items are dropped when the file is read and never
looked at here.

    python bench/answer_dev.py [--index DIR] [--misses] [--rows OUT.json] [--kind KIND] [--headlines]

Prints accuracy and no-answer precision/recall per set and per kind, the reliability table,
and with --misses every miss (gold, what was answered, rank of the gold sentence).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "src"))  # an installed or PYTHONPATH sdsearch comes first

from sdsearch.evaluate import (  # noqa: E402
    SpanLocator,
    answer_metrics,
    read_jsonl,
    reliability_table,
    run_answers,
    select_split,
)

SETS = {"old": (ROOT / "eval" / "answers.jsonl", None), "dev2": (ROOT / "eval" / "answers2.jsonl", "dev")}


def dev_items(name: str) -> list[dict]:
    path, split = SETS[name]
    items = read_jsonl(path)
    return select_split(items, split) if split else items


def retriever_for(index: str | None):
    from sdsearch.models import load_encoder
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    return Retriever(open_index(index or str(ROOT / "index")), load_encoder())


def fmt(m: dict) -> str:
    return (
        f"acc {m['answer_accuracy']:.3f} ({m['answerable']:.0f})  answered {m['answered_rate']:.3f}  "
        f"no-answer P {m['no_answer_precision']:.3f} R {m['no_answer_recall']:.3f} ({m['unanswerable']:.0f})  "
        f"headline shown {m['headline_shown']:.2f} right {m['headline_precision']:.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index")
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--misses", action="store_true")
    ap.add_argument("--rows")
    ap.add_argument("--headlines", action="store_true", help="list every wrong 'Antwoord:' line of a right answer")
    ap.add_argument("--kind")
    ap.add_argument("--sets", default="old,dev2")
    args = ap.parse_args()
    r = retriever_for(args.index)
    loc = SpanLocator(Path(args.corpus))
    all_rows = []
    t = time.perf_counter()
    for name in args.sets.split(","):
        items = dev_items(name)
        if args.kind:
            items = [i for i in items if (i.get("kind") or i.get("type")) == args.kind]
        m, rows = run_answers(r, items, loc)
        for row in rows:
            row["set"] = name
        all_rows += rows
        print(f"{name:<5} {fmt(m)}")
        kinds = sorted({str(x['kind']) for x in rows})
        print("      " + "  ".join(f"{k} {answer_metrics([x for x in rows if str(x['kind']) == k])['answer_accuracy']:.2f}/{sum(str(x['kind']) == k for x in rows)}" for k in kinds))
    print(f"both  {fmt(answer_metrics(all_rows))}   ({time.perf_counter() - t:.0f} s)")
    print("reliability (all dev rows): " + "  ".join(f"[{b['lo']:.1f},{b['hi']:.1f}) {b['accuracy']:.2f}/{b['n']:.0f}" for b in reliability_table(all_rows)))
    if args.misses:
        for x in all_rows:
            bad = (x["answerable"] and not x["correct"]) or (not x["answerable"] and x["answered"])
            if bad:
                print(f"- {x['id']} [{x['kind']}] {x['question']}\n    gold {x['gold']!r}  rank {x['gold_rank']}  conf {x['confidence']:.2f} answered {x['answered']}\n    got  {(x['candidate'] or '—')[:300]!r}")
    if args.headlines:
        for x in all_rows:
            if x["answerable"] and x["correct"] and x.get("headline") is not None and not x["headline_right"]:
                print(f"- {x['id']} [{x['kind']}] {x['question']}\n    gold {x['gold']!r}  shown {x['headline']!r}")
    if args.rows:
        Path(args.rows).write_text(json.dumps(all_rows, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
