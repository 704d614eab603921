"""The five bundled reports as a raw folder — meaningless file names, no corpus.toml — indexed
and answered like the named corpus: does answering lean on the metadata the names give?

    python bench/answer_rawfolder.py [--named-index DIR] [--out bench/results/answer_rawfolder.md]

Copies corpus/*.txt to a temporary folder as r1.txt ... r5.txt (a fixed shuffle), builds an
index of it with the bundled model, rewrites the eval sets' source names to match, and runs
eval/answers.jsonl, eval/answers2.jsonl (dev and test) and the sets written from random passages
(answers3, answers4 = cal, answers5, answers6, and answers7, the fresh set) on both indexes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "src"))  # an installed or PYTHONPATH sdsearch comes first

from sdsearch.evaluate import run_eval  # noqa: E402


def rename_sources(items: list[dict], names: dict[str, str]) -> list[dict]:
    out = []
    for it in items:
        it = dict(it)
        if it.get("source") in names:
            it["source"] = names[it["source"]]
        if it.get("also"):
            it["also"] = [{**a, "source": names.get(a["source"], a["source"])} for a in it["also"]]
        out.append(it)
    return out


def measure(index: Path, corpus: Path, eval_dir: Path) -> dict[str, dict[str, float]]:
    from sdsearch.models import load_encoder
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    r = Retriever(open_index(index), load_encoder())
    old = run_eval(r, eval_dir / "answers.jsonl", corpus)
    new = run_eval(r, eval_dir / "answers2.jsonl", corpus)
    out = {"old": old.answers, "dev": new.answers_by_split["dev"], "test": new.answers_by_split["test"]}
    for name in RANDOM_SETS:
        if (eval_dir / name).is_file():
            out[name.removesuffix(".jsonl")] = run_eval(r, eval_dir / name, corpus).answers
    return out


# The answer sets written from passages drawn at random (eval/README.md); answers7 is the fresh one.
RANDOM_SETS = ("answers3.jsonl", "answers4.jsonl", "answers5.jsonl", "answers6.jsonl", "answers7.jsonl")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--named-index", default=str(ROOT / "index"))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    from sdsearch.api import build_index
    from sdsearch.config import Settings

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        raw = tmp_path / "rapporten"
        raw.mkdir()
        files = sorted(p for p in (ROOT / "corpus").glob("*.txt"))
        order = [2, 4, 0, 3, 1][: len(files)]
        names = {files[i].name: f"r{n + 1}.txt" for n, i in enumerate(order)}
        for src, dst in names.items():
            shutil.copyfile(ROOT / "corpus" / src, raw / dst)
        eval_dir = tmp_path / "eval"
        eval_dir.mkdir()
        for name in ("answers.jsonl", "answers2.jsonl", *RANDOM_SETS):
            if not (ROOT / "eval" / name).is_file():
                continue
            items = [json.loads(x) for x in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines() if x.strip()]
            (eval_dir / name).write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in rename_sources(items, names)), encoding="utf-8")
        index = tmp_path / "index"
        build_index([raw], index, Settings.load())
        from sdsearch.store import open_index

        docs = open_index(index).documents
        meta = "; ".join(f"{d['source']}: {d.get('gemeente')}, {d.get('year')}, {d.get('doc_type')}" for d in docs)
        raw_m = measure(index, raw, eval_dir)
    named_m = measure(Path(args.named_index), ROOT / "corpus", ROOT / "eval")
    lines = [
        "| set | named corpus: accuracy / no-answer P / R | raw folder: accuracy / no-answer P / R | accuracy difference |",
        "|---|---|---|---|",
    ]
    for k in named_m:
        a, b = named_m[k], raw_m[k]
        lines.append(
            f"| {k} | {a['answer_accuracy']:.3f} / {a['no_answer_precision']:.3f} / {a['no_answer_recall']:.3f} | "
            f"{b['answer_accuracy']:.3f} / {b['no_answer_precision']:.3f} / {b['no_answer_recall']:.3f} | "
            f"{b['answer_accuracy'] - a['answer_accuracy']:+.3f} |"
        )
    lines += ["", f"Metadata the raw folder's index found: {meta}"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
