"""Raw folder vs named corpus: the same five reports, once with names and corpus.toml, once without.

    .venv/bin/python bench/raw_folder.py [--out bench/results/raw_folder.md] [--sets retrieval answers ...]

Two issues ask that the five reports indexed as a raw folder (meaningless file names, no
corpus.toml) score within 0.01 nDCG@10 and within 0.03 answer accuracy of the named corpus.
This bench

1. builds the named index from ``corpus/`` (with its corpus.toml) and a raw index from a temp
   folder holding the same files under the seed names from corpus.toml's ``origin`` field
   (``000_56565a7e8144f63a.txt`` ...; checked byte-identical with ``/work/shared/seeds`` when
   that folder exists), both with the real bundled model and one encoder;
2. prints the metadata each document got in both indexes (gemeente, year, type, title and
   ``meta_origin``, from the manifests' ``documents``);
3. runs every eval set in ``eval/`` against both; for the raw index the items' ``source``
   fields are rewritten through the name mapping into a temp eval file and the span locator
   reads the raw folder. Sets with a ``split`` field are reported for the test split and all;
4. writes a markdown report: metadata table, parity table (named, raw, difference), the
   queries and answers that changed, and whether the targets hold.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import sys
import tempfile
import time
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sdsearch.build import bm25_text, build_index  # noqa: E402
from sdsearch.config import Settings  # noqa: E402
from sdsearch.evaluate import EvalReport, read_jsonl, run_eval  # noqa: E402
from sdsearch.models import load_encoder  # noqa: E402
from sdsearch.retrieve import Retriever  # noqa: E402
from sdsearch.store import current_generation, read_manifest  # noqa: E402

CORPUS = ROOT / "corpus"
EVAL = ROOT / "eval"
SEEDS = Path("/work/shared/seeds")
SETS = ("retrieval", "retrieval_long", "retrieval_short", "answers", "answers2")
TARGET_RETRIEVAL = 0.01  # nDCG@10
TARGET_ANSWERS = 0.03  # answer accuracy
RET_METRICS = ("nDCG@10", "R@10")
ANS_METRICS = ("answer_accuracy", "no_answer_precision", "no_answer_recall")


# --- the two folders ------------------------------------------------------------------------


def name_mapping(corpus: Path = CORPUS) -> dict[str, str]:
    """Corpus file name → seed file name, from corpus.toml's ``origin = "seed NNN_hash.txt..."``."""
    data = tomllib.loads((corpus / "corpus.toml").read_text(encoding="utf-8"))
    out = {}
    for entry in data.get("document", []):
        m = re.search(r"\bseed\s+(\S+?\.txt)\b", str(entry.get("origin", "")))
        if not m:
            raise SystemExit(f"corpus.toml: no seed name in the origin of {entry.get('path')}")
        out[str(entry["path"])] = m.group(1)
    return out


def make_raw_folder(folder: Path, mapping: dict[str, str], corpus: Path = CORPUS) -> Path:
    """Copy the corpus files under their seed names into ``folder``, without corpus.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    for named, raw in mapping.items():
        data = (corpus / named).read_bytes()
        seed = SEEDS / raw
        if seed.is_file() and seed.read_bytes() != data:
            raise SystemExit(f"{seed} differs from corpus/{named}")
        (folder / raw).write_bytes(data)
    return folder


def rewrite_eval(src: Path, dst: Path, mapping: dict[str, str]) -> Path:
    """The eval set with every ``source`` (items, ``relevant`` entries, ``also`` places) renamed."""

    def ren(d: dict[str, Any]) -> None:
        if isinstance(d.get("source"), str):
            d["source"] = mapping.get(d["source"], d["source"])

    lines = []
    for item in read_jsonl(src):
        ren(item)
        for key in ("relevant", "also"):
            for entry in item.get(key) or ():
                ren(entry)
        lines.append(json.dumps(item, ensure_ascii=False))
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


def documents(index: Path) -> dict[str, dict[str, Any]]:
    """The manifest's document entries by source."""
    manifest = read_manifest(current_generation(index))
    return {d["source"]: d for d in manifest.get("documents", [])}


# --- scores --------------------------------------------------------------------------------


def scores(report: EvalReport, kind: str) -> dict[str, dict[str, float]]:
    """split → metric → value; "all" always, "test" when the set carries a split."""
    if kind == "retrieval":
        out = {sp: {m: v[m] for m in (*RET_METRICS, "n")} for sp, v in report.by_split.items() if sp in ("test", "all")}
        out.setdefault("all", {**{m: report.metrics[m] for m in RET_METRICS}, "n": float(len(report.per_query))})
        return out
    out = {
        sp: {**{m: v[m] for m in ANS_METRICS}, "n": v["answerable"] + v["unanswerable"]}
        for sp, v in report.answers_by_split.items()
        if sp in ("test", "all")
    }
    a = report.answers
    out.setdefault("all", {**{m: a[m] for m in ANS_METRICS}, "n": a["answerable"] + a["unanswerable"]})
    return out


def top_texts(report: EvalReport, retriever: Retriever) -> dict[str, list[str]]:
    """Per query, the texts of its top-10 passages in order (ids differ between the indexes)."""
    text = {p.passage_id: p.text for p in retriever.index.passages}
    out: dict[str, list[str]] = {}
    for qid, pid, _rank, _score in report.run:
        out.setdefault(qid, []).append(text[pid])
    return out


def retrieval_changes(named: EvalReport, raw: EvalReport, ntexts: dict, rtexts: dict) -> tuple[list[dict], int]:
    """Queries whose nDCG@10 changed, and how many queries' top-10 texts differ at all."""
    rq = {r["id"]: r for r in raw.per_query}
    changed = []
    for n in named.per_query:
        r = rq[n["id"]]
        dn, dr = n["metrics"]["nDCG@10"], r["metrics"]["nDCG@10"]
        if abs(dn - dr) > 1e-9:
            changed.append(
                {
                    "id": n["id"],
                    "split": n.get("split"),
                    "query": n["query"],
                    "named": dn,
                    "raw": dr,
                    "rank_named": n["first_relevant_rank"],
                    "rank_raw": r["first_relevant_rank"],
                    "top_named": n["top_hit"],
                    "top_raw": r["top_hit"],
                }
            )
    differ = sum(ntexts.get(q) != rtexts.get(q) for q in ntexts)
    return changed, differ


def answer_changes(named: EvalReport, raw: EvalReport) -> list[dict]:
    """Questions whose outcome (correct / answered) or answer text changed."""
    rr = {r["id"]: r for r in raw.answer_rows}
    out = []
    for n in named.answer_rows:
        r = rr[n["id"]]
        same = n.get("correct") == r.get("correct") and n["answered"] == r["answered"] and n["answer"] == r["answer"]
        if not same:
            out.append(
                {
                    "id": n["id"],
                    "split": n.get("split"),
                    "question": n["question"],
                    "gold": n["gold"],
                    "named": (n.get("correct"), n["answered"], n["confidence"], n["answer"]),
                    "raw": (r.get("correct"), r["answered"], r["confidence"], r["answer"]),
                }
            )
    return out


# --- report ----------------------------------------------------------------------------------


def _origin(d: dict[str, Any]) -> str:
    o = d.get("meta_origin") or {}
    return "; ".join(f"{k}: {v}" for k, v in o.items()) or "—"


def metadata_rows(mapping: dict[str, str], ndocs: dict, rdocs: dict) -> list[str]:
    rows = [
        "| named file → raw file | field | named | raw | raw origin | same |",
        "|---|---|---|---|---|---|",
    ]
    for named, raw in mapping.items():
        n, r = ndocs[named], rdocs[raw]
        for key in ("gemeente", "year", "doc_type", "title"):
            origin = (r.get("meta_origin") or {}).get(key, "—")
            ok = "✓" if n.get(key) == r.get(key) else "✗"
            who = f"`{named}` → `{raw}`" if key == "gemeente" else ""
            rows.append(f"| {who} | {key} | {n.get(key)} | {r.get(key)} | {origin} | {ok} |")
    return rows


def parity_rows(results: dict[str, dict]) -> list[str]:
    rows = [
        "| set | split | n | metric | named | raw | raw − named | target |",
        "|---|---|---:|---|---:|---:|---:|---|",
    ]
    for name, res in results.items():
        kind = res["kind"]
        metrics = RET_METRICS if kind == "retrieval" else ANS_METRICS
        for sp in ("test", "all"):
            if sp not in res["named"]:
                continue
            n, r = res["named"][sp], res["raw"][sp]
            for m in metrics:
                diff = r[m] - n[m]
                target = ""
                if m == "nDCG@10":
                    target = "✓ ≤ 0.01" if abs(diff) <= TARGET_RETRIEVAL + 1e-12 else "✗ > 0.01"
                elif m == "answer_accuracy":
                    target = "✓ ≤ 0.03" if abs(diff) <= TARGET_ANSWERS + 1e-12 else "✗ > 0.03"
                rows.append(
                    f"| {name} | {sp} | {int(n['n'])} | {m} | {n[m]:.4f} | {r[m]:.4f} | {diff:+.4f} | {target} |"
                )
    return rows


def _short(text: Any, n: int = 90) -> str:
    s = " ".join(str(text).split()).replace("|", "\\|")
    return s if len(s) <= n else s[: n - 1] + "…"


def change_rows(results: dict[str, dict]) -> list[str]:
    out: list[str] = []
    for name, res in results.items():
        if res["kind"] == "retrieval":
            ch = res["changes"]
            out.append(
                f"**{name}**: {len(ch)} of {res['n_items']} queries change nDCG@10; "
                f"{res['top10_differ']} have a different top-10 (passage texts in order)."
            )
            if ch:
                out += [
                    "",
                    "| id | split | query | nDCG named | nDCG raw | first rel. rank named → raw |",
                    "|---|---|---|---:|---:|---|",
                ]
                for c in ch:
                    out.append(
                        f"| {c['id']} | {c['split'] or ''} | {_short(c['query'], 70)} | {c['named']:.3f} | {c['raw']:.3f} "
                        f"| {c['rank_named']} → {c['rank_raw']} |"
                    )
        else:
            ch = res["changes"]
            flips = [c for c in ch if c["named"][:2] != c["raw"][:2]]
            out.append(
                f"**{name}**: {len(ch)} of {res['n_items']} questions give another answer text or outcome; "
                f"{len(flips)} change outcome (correct / answered)."
            )
            if ch:
                out += [
                    "",
                    "| id | split | question | gold | named: correct, answered, conf. | raw: correct, answered, conf. |",
                    "|---|---|---|---|---|---|",
                ]
                for c in ch:
                    nc, na, nconf, _ = c["named"]
                    rc, ra, rconf, _ = c["raw"]
                    out.append(
                        f"| {c['id']} | {c['split'] or ''} | {_short(c['question'], 70)} | {_short(c['gold'], 30)} "
                        f"| {nc}, {na}, {nconf:.3f} | {rc}, {ra}, {rconf:.3f} |"
                    )
        out.append("")
    return out


def verdict(results: dict[str, dict]) -> list[str]:
    lines = []
    for name, res in results.items():
        m, target = ("nDCG@10", TARGET_RETRIEVAL) if res["kind"] == "retrieval" else ("answer_accuracy", TARGET_ANSWERS)
        for sp in ("test", "all"):
            if sp in res["named"]:
                d = res["raw"][sp][m] - res["named"][sp][m]
                ok = abs(d) <= target + 1e-12
                lines.append(f"- {name} ({sp}): {m} {d:+.4f} — {'holds' if ok else 'FAILS'} (≤ {target})")
    return lines


# --- main -----------------------------------------------------------------------------------


def compare(work: Path, raw_folder: Path, mapping: dict[str, str], sets: list[str], s: Settings) -> dict[str, Any]:
    """Build both indexes with ``s`` (one encoder) and run ``sets`` on both."""
    enc = load_encoder(s.model, s.runtime, threads=s.threads, variant=s.e5_variant)
    t = time.perf_counter()
    named_idx, raw_idx = work / f"named-index-{s.e5_variant}", work / f"raw-index-{s.e5_variant}"
    for folder, idx in ((CORPUS, named_idx), (raw_folder, raw_idx)):
        if idx.exists():
            shutil.rmtree(idx)
        rep = build_index([folder], idx, s, encoder=enc)
        print(f"built {idx.name}: {rep.documents} documents, {rep.passages} passages, {rep.seconds:.1f} s", flush=True)
    build_s = time.perf_counter() - t
    ndocs, rdocs = documents(named_idx), documents(raw_idx)
    named_r = Retriever.open(named_idx, encoder=enc, settings=s)
    raw_r = Retriever.open(raw_idx, encoder=enc, settings=s)
    nvec = {p.text: i for i, p in enumerate(named_r.index.passages)}
    results: dict[str, dict] = {}
    for name in sets:
        path = EVAL / f"{name}.jsonl"
        raw_path = rewrite_eval(path, work / f"{name}.raw.jsonl", mapping)
        kind = "retrieval" if name.startswith("retrieval") else "answers"
        t = time.perf_counter()
        n_rep = run_eval(named_r, path, CORPUS)
        r_rep = run_eval(raw_r, raw_path, raw_folder)
        res: dict[str, Any] = {"kind": kind, "named": scores(n_rep, kind), "raw": scores(r_rep, kind)}
        if kind == "retrieval":
            res["n_items"] = len(n_rep.per_query)
            res["changes"], res["top10_differ"] = retrieval_changes(
                n_rep, r_rep, top_texts(n_rep, named_r), top_texts(r_rep, raw_r)
            )
        else:
            res["n_items"] = len(n_rep.answer_rows)
            res["changes"] = answer_changes(n_rep, r_rep)
        results[name] = res
        print(f"\n{name} [{s.e5_variant}] ({time.perf_counter() - t:.0f} s)")
        for sp in ("test", "all"):
            if sp in res["named"]:
                ms = RET_METRICS if kind == "retrieval" else ANS_METRICS
                cells = "  ".join(f"{m} {res['named'][sp][m]:.4f}/{res['raw'][sp][m]:.4f}" for m in ms)
                print(f"  {sp:4} named/raw  {cells}")
        print(f"  changed items: {len(res['changes'])}", flush=True)
    # How far the same passage's vector is between the two builds (batch effects of the encoder).
    nv = np.load(current_generation(named_idx) / "vectors.npy")
    rv = np.load(current_generation(raw_idx) / "vectors.npy")
    cos = [float(nv[nvec[p.text]] @ rv[i]) for i, p in enumerate(raw_r.index.passages)]
    same_bm25 = sorted(bm25_text(p) for p in named_r.index.passages) == sorted(
        bm25_text(p) for p in raw_r.index.passages
    )
    return {
        "variant": s.e5_variant,
        "ndocs": ndocs,
        "rdocs": rdocs,
        "results": results,
        "build_s": build_s,
        "cos_min": min(cos),
        "cos_mean": sum(cos) / len(cos),
        "same_vectors": sum(c >= 1 - 1e-6 for c in cos),
        "passages": len(cos),
        "same_bm25": same_bm25,
    }


def vector_line(run: dict[str, Any]) -> str:
    return (
        f"Passage vectors, same text in both indexes ({run['variant']}): cosine min {run['cos_min']:.5f}, "
        f"mean {run['cos_mean']:.5f}, identical {run['same_vectors']} of {run['passages']}; "
        f"BM25 texts (metadata, section path, text) {'identical' if run['same_bm25'] else 'DIFFER'}."
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "raw_folder.md")
    ap.add_argument("--sets", nargs="*", default=list(SETS), choices=SETS)
    ap.add_argument("--keep", type=Path, help="build the folders and indexes here instead of a temp folder")
    ap.add_argument(
        "--control",
        action="store_true",
        help="also run with the fp32 graph, whose vectors do not depend on the batch a passage is encoded in",
    )
    args = ap.parse_args()

    command = "python bench/raw_folder.py" + "".join(f" {a}" for a in sys.argv[1:])
    s = Settings()
    mapping = name_mapping()
    tmp_ctx = tempfile.TemporaryDirectory(prefix="sdsearch-raw-") if args.keep is None else None
    work = Path(tmp_ctx.name) if tmp_ctx else args.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        raw_folder = make_raw_folder(work / "raw", mapping)
        assert not (raw_folder / "corpus.toml").exists()
        main_run = compare(work, raw_folder, mapping, args.sets, s)
        ndocs, rdocs, results = main_run["ndocs"], main_run["rdocs"], main_run["results"]
        print("\nmetadata (named | raw | raw origin)")
        for named, raw in mapping.items():
            n, r = ndocs[named], rdocs[raw]
            print(f"  {named} → {raw}")
            for key in ("gemeente", "year", "doc_type", "title"):
                mark = "" if n.get(key) == r.get(key) else "   <-- differs"
                print(
                    f"    {key:9} {n.get(key)!s:55} | {r.get(key)!s:45} | {(r.get('meta_origin') or {}).get(key, '—')}{mark}"
                )
            print(f"    named origin: {_origin(n)}")
        print("\n" + vector_line(main_run))
        control = None
        if args.control and s.e5_variant != "fp32":
            control = compare(work, raw_folder, mapping, args.sets, replace(s, e5_variant="fp32"))
            print("\n" + vector_line(control))

        lines = [
            "# Raw folder vs named corpus",
            "",
            f"The same five reports indexed twice with the bundled model (one encoder, default `Settings()`, "
            f"e5 graph `{s.e5_variant}`):",
            "**named** is `corpus/` with its file names and `corpus.toml`; **raw** is a folder holding the",
            "same bytes under the seed hash names (`000_56565a7e8144f63a.txt` …) and no corpus.toml, so",
            "gemeente, year, type and title come from the text (`ingest/fromtext.py`). Eval items name",
            "sources by corpus file name; for the raw index they were renamed through the mapping.",
            "Targets (issues): raw within 0.01 nDCG@10 and within 0.03 answer accuracy of named.",
            "",
            f"Command: `{command}` · date: {dt.date.today().isoformat()} · "
            f"build of both indexes: {main_run['build_s']:.0f} s",
            "",
            "## Metadata",
            "",
            *metadata_rows(mapping, ndocs, rdocs),
            "",
            "## Parity",
            "",
            "`test` rows only for the sets with a fixed dev/test split; `all` is every item.",
            "",
            *parity_rows(results),
            "",
            vector_line(main_run),
            "",
            "## Targets",
            "",
            *verdict(results),
            "",
        ]
        if control:
            lines += [
                "## Control: fp32 graph",
                "",
                "The int8 graph quantises activations per batch, so a passage's vector depends on the",
                "passages it is encoded with, and the raw folder's file order (hash names) batches them",
                "differently. With the fp32 graph that effect is gone; what remains is metadata.",
                "",
                *parity_rows(control["results"]),
                "",
                vector_line(control),
                "",
                *verdict(control["results"]),
                "",
            ]
        lines += ["## What changed", ""]
        if control and not any(r["changes"] for r in control["results"].values()):
            lines += [
                "With the fp32 graph nothing changes, so every change below comes from the int8 graph's",
                "batch-dependent vectors (files read in another order), not from the metadata.",
                "",
            ]
        lines += change_rows(results)
        if control:
            lines += ["### fp32 control", "", *change_rows(control["results"])]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
        print("\n" + "\n".join(verdict(results)))
        if control:
            print("fp32 control:\n" + "\n".join(verdict(control["results"])))
        print(f"\nwrote {args.out}")
    finally:
        if tmp_ctx:
            tmp_ctx.cleanup()


if __name__ == "__main__":
    main()
