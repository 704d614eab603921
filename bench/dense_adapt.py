"""Issue 12, item 4: does label-free adaptation of the bundled e5 to Dutch report text gain?

A measurement, not a shipped change.  Steps (each a sub-command, results under a work dir):

  export   the bundled multilingual-e5-small as a sentence-transformers folder (base)
  pairs    inverse-cloze pairs from the bundled corpus's passages: one sentence of a
           passage as the pseudo-query ("query: ..."), the rest of the passage as its
           positive ("passage: ..."). No labels; but the text is the evaluated corpus's
           own text (transductive) -- there is no other same-domain text offline.
  train    one epoch of MultipleNegativesRankingLoss (in-batch negatives) on the CPU;
           batches are built so that no two pairs of a batch come from the same passage
           (a second pair of the same passage would be a false in-batch negative).
  eval     dense-only and hybrid nDCG@10 / R@10 on every eval set and split, for one
           model (a folder, or the bundled name for the int8 ONNX default).
  report   the markdown table (bench/results/dense_adapt.md is written from it by hand).

    .venv/bin/python bench/dense_adapt.py export
    .venv/bin/python bench/dense_adapt.py pairs --max-pairs 2000
    .venv/bin/python bench/dense_adapt.py train --steps 5          # time per step
    .venv/bin/python bench/dense_adapt.py train --max-steps N
    .venv/bin/python bench/dense_adapt.py eval --model /tmp/dense_adapt/base --label base
    .venv/bin/python bench/dense_adapt.py eval --model /tmp/dense_adapt/adapted --label adapted
    .venv/bin/python bench/dense_adapt.py report
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
EVAL_SETS = {
    "retrieval": ROOT / "eval" / "retrieval.jsonl",
    "retrieval_long": ROOT / "eval" / "retrieval_long.jsonl",
    "retrieval_short": ROOT / "eval" / "retrieval_short.jsonl",
}
WORK = Path(os.environ.get("DENSE_ADAPT_WORK", "/tmp/dense_adapt"))


# ---------------------------------------------------------------- export

def cmd_export(a: argparse.Namespace) -> None:
    from sdsearch.models.export import export_sentence_transformers

    out = WORK / "base"
    export_sentence_transformers(out)
    from sentence_transformers import SentenceTransformer

    m = SentenceTransformer(str(out), device="cpu")
    print(f"exported {out}: dim {m.get_sentence_embedding_dimension()}")


# ---------------------------------------------------------------- pairs

def _passages():
    from sdsearch.build import chunk_documents, read
    from sdsearch.config import Settings

    s = Settings()
    return chunk_documents(read([CORPUS], s).documents, s)


def cmd_pairs(a: argparse.Namespace) -> None:
    from sdsearch.analysis import sentence_spans

    rng = random.Random(a.seed)
    passages = _passages()
    per_passage: list[list[dict]] = []
    for p in passages:
        spans = [(s, e) for s, e in sentence_spans(p.text) if sum(1 for w in p.text[s:e].split() if re.search(r"[^\W\d_]{2,}", w)) >= a.min_words]
        if len(spans) < 3:
            continue
        rng.shuffle(spans)
        pairs = []
        for s, e in spans:
            rest = (p.text[:s].rstrip() + " " + p.text[e:].lstrip()).strip()
            pairs.append({"pid": p.passage_id, "query": "query: " + p.text[s:e], "positive": "passage: " + rest})
        per_passage.append(pairs)
    # Rounds: round r holds the r-th sentence of every passage that has one, so a batch cut
    # out of one round never holds two pairs of the same passage.
    rounds: list[list[dict]] = []
    r = 0
    while True:
        rnd = [pp[r] for pp in per_passage if len(pp) > r]
        if not rnd:
            break
        rng.shuffle(rnd)
        rounds.append(rnd)
        r += 1
    batches: list[list[dict]] = []
    total = 0
    for rnd in rounds:
        for i in range(0, len(rnd), a.batch_size):
            b = rnd[i : i + a.batch_size]
            if len(b) < a.min_batch:
                continue
            if total + len(b) > a.max_pairs:
                break
            batches.append(b)
            total += len(b)
    rng.shuffle(batches)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "batches.json").write_text(json.dumps(batches, ensure_ascii=False), encoding="utf-8")
    info = {
        "passages": len(passages),
        "passages_with_3plus_sentences": len(per_passage),
        "pairs": total,
        "batches": len(batches),
        "batch_size": a.batch_size,
        "rounds_used": len(rounds),
    }
    (WORK / "pairs_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    print(json.dumps(info))
    print("example:", json.dumps(batches[0][0], ensure_ascii=False)[:400])


# ---------------------------------------------------------------- train

def cmd_train(a: argparse.Namespace) -> None:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    batches = json.loads((WORK / "batches.json").read_text(encoding="utf-8"))
    n_steps = min(len(batches), a.max_steps) if a.max_steps else len(batches)
    if a.steps:  # a timing probe
        n_steps = min(n_steps, a.steps)
    batches = batches[:n_steps]
    model = SentenceTransformer(str(WORK / "base"), device="cpu")
    model.max_seq_length = a.max_seq_length
    if a.freeze_embeddings:  # the 250k-row vocabulary is 80% of the weights; its AdamW step dominates on 2 cores
        for prm in model[0].auto_model.embeddings.parameters():
            prm.requires_grad = False
    model.train()
    loss_fn = MultipleNegativesRankingLoss(model, scale=a.scale)
    opt = torch.optim.AdamW([x for x in model.parameters() if x.requires_grad], lr=a.lr, weight_decay=0.01)
    warm = max(1, round(0.1 * n_steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: (step + 1) / warm if step < warm else max(0.0, (n_steps - step) / max(1, n_steps - warm))
    )

    def feats(texts: list[str]) -> dict:
        f = model.tokenize(texts)
        return {k: v for k, v in f.items()}

    losses, times = [], []
    t_all = time.perf_counter()
    for step, b in enumerate(batches):
        if a.deadline and time.perf_counter() - t_all > a.deadline:
            print(f"deadline: stopping after {step} of {n_steps} steps", flush=True)
            break
        t = time.perf_counter()
        q = feats([x["query"] for x in b])
        d = feats([x["positive"] for x in b])
        loss = loss_fn([q, d], None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(float(loss.detach()))
        times.append(time.perf_counter() - t)
        print(f"step {step + 1}/{n_steps} loss {losses[-1]:.4f} {times[-1]:.1f}s", flush=True)
    total = time.perf_counter() - t_all
    info = {
        "steps_planned": n_steps,
        "steps": len(losses),
        "pairs_seen": sum(len(b) for b in batches[: len(losses)]),
        "freeze_embeddings": a.freeze_embeddings,
        "seconds": round(total, 1),
        "seconds_per_step": round(statistics.fmean(times), 2),
        "loss_first5": round(statistics.fmean(losses[:5]), 4),
        "loss_last5": round(statistics.fmean(losses[-5:]), 4),
        "lr": a.lr,
        "scale": a.scale,
        "max_seq_length": a.max_seq_length,
        "threads": a.threads,
    }
    print(json.dumps(info))
    if a.steps:
        return
    model.eval()
    out = WORK / "adapted"
    model.save(str(out))
    (WORK / "train_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    print(f"saved {out}")


# ---------------------------------------------------------------- eval

def _metrics(report, rows_filter) -> dict:
    rows = [r for r in report.per_query if rows_filter(r)]
    return {
        "n": len(rows),
        "nDCG@10": statistics.fmean(r["metrics"]["nDCG@10"] for r in rows),
        "R@10": statistics.fmean(r["metrics"]["R@10"] for r in rows),
    }


def cmd_eval(a: argparse.Namespace) -> None:
    from sdsearch.build import build_index
    from sdsearch.config import Settings
    from sdsearch.evaluate import SpanLocator, read_jsonl, run_retrieval
    from sdsearch.retrieve import Retriever

    s = Settings(model=a.model)
    locator = SpanLocator(CORPUS)
    out: dict = {"model": a.model, "label": a.label, "sets": {}}
    with tempfile.TemporaryDirectory(prefix="dense_adapt_") as tmp:
        idx = Path(tmp) / "index"
        t = time.perf_counter()
        build_index([CORPUS], idx, s)
        out["build_seconds"] = round(time.perf_counter() - t, 1)
        retriever = Retriever.open(idx, settings=s)
        out["passages"] = len(retriever.index.passages)
        for name, path in EVAL_SETS.items():
            items = read_jsonl(path)
            has_split = any("split" in it for it in items)
            res: dict = {}
            for mode in ("dense", "hybrid"):
                rep = run_retrieval(retriever, items, locator, mode)
                groups = {"all": lambda r: True}
                if has_split:
                    groups = {sp: (lambda r, sp=sp: r.get("split") == sp) for sp in ("dev", "test")} | groups
                res[mode] = {g: _metrics(rep, f) for g, f in groups.items()}
                print(name, mode, json.dumps({g: round(v["nDCG@10"], 4) for g, v in res[mode].items()}), flush=True)
            out["sets"][name] = res
    (WORK / f"eval_{a.label}.json").write_text(json.dumps(out, indent=2), encoding="utf-8")


# ---------------------------------------------------------------- report

def cmd_report(a: argparse.Namespace) -> None:
    labels = [lab for lab in ("int8-onnx", "base", "adapted") if (WORK / f"eval_{lab}.json").is_file()]
    res = {lab: json.loads((WORK / f"eval_{lab}.json").read_text()) for lab in labels}
    print("| set | split | n | mode | " + " | ".join(f"{lab} nDCG@10 / R@10" for lab in labels) + " | Δ nDCG (adapted − base) |")
    print("|---|---|---|---|" + "---|" * len(labels) + "---|")
    for name in EVAL_SETS:
        for mode in ("dense", "hybrid"):
            splits = res[labels[0]]["sets"][name][mode]
            for sp in [x for x in ("dev", "test", "all") if x in splits]:
                cells = []
                for lab in labels:
                    m = res[lab]["sets"][name][mode][sp]
                    cells.append(f"{m['nDCG@10']:.4f} / {m['R@10']:.4f}")
                delta = ""
                if "base" in res and "adapted" in res:
                    d = res["adapted"]["sets"][name][mode][sp]["nDCG@10"] - res["base"]["sets"][name][mode][sp]["nDCG@10"]
                    delta = f"{d:+.4f}"
                n = splits[sp]["n"]
                print(f"| {name} | {sp} | {n} | {mode} | " + " | ".join(cells) + f" | {delta} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("export")
    p = sub.add_parser("pairs")
    p.add_argument("--max-pairs", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--min-batch", type=int, default=8)
    p.add_argument("--min-words", type=int, default=5)
    p.add_argument("--seed", type=int, default=13)
    p = sub.add_parser("train")
    p.add_argument("--steps", type=int, default=0, help="timing probe: run this many steps, save nothing")
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--scale", type=float, default=20.0)
    p.add_argument("--max-seq-length", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--freeze-embeddings", action="store_true")
    p.add_argument("--deadline", type=float, default=0, help="stop (and save) after this many seconds")
    p.add_argument("--seed", type=int, default=13)
    p = sub.add_parser("eval")
    p.add_argument("--model", required=True)
    p.add_argument("--label", required=True)
    sub.add_parser("report")
    a = ap.parse_args(argv)
    {"export": cmd_export, "pairs": cmd_pairs, "train": cmd_train, "eval": cmd_eval, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
