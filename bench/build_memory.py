"""Peak memory of a real build as the corpus grows: does the build hold every document's text?

    python bench/build_memory.py [--docs 200 800] [--kb 300] [--src SRC_DIR] [--label LABEL]

Writes ``--docs`` synthetic Dutch reports (plain text, ~``--kb`` KB each: the sentences of the
bundled corpus shuffled into paragraphs under its headings, so texts dominate) into a
temporary folder and builds an index of them with the real build path
(``sdsearch.api.build_index``: ingest, chunk, write passages, embed plan, FAISS, BM25,
manifest, atomic swap), but with a fast fake encoder (a 32-dim hash of each text), so the
number is about ingest and the build, not the model. Each size is built in a fresh Python
subprocess that reports its peak resident memory (``VmHWM`` of /proc/self/status) and its
resident memory before the build (imports done) and when the encoder is first called (every
document read and chunked, passages written; before FAISS and BM25).

``--src``: the ``src`` folder to import sdsearch from in the subprocess (default: this
checkout's). For the code before issue #15 use a worktree of that commit:

    git worktree add /tmp/bm-before 84f0b90
    python bench/build_memory.py --src /tmp/bm-before/src --label before
    python bench/build_memory.py --label after

The extraction cache is off (SDSEARCH_NO_EXTRACT_CACHE=1): every file is read and parsed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"

CHILD = r"""
import hashlib, json, sys, time
import numpy as np
from pathlib import Path


def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024  # MB


class HashEncoder:
    model_id = "bench-hash-32"
    dim = 32
    query_prefix = "query: "
    passage_prefix = "passage: "
    rss_at_embed = None  # MB resident when the encoder is first called: every document read and chunked

    def encode_queries(self, texts):
        v = np.frombuffer(b"".join(hashlib.blake2b(t.encode(), digest_size=32).digest() for t in texts), np.uint8)
        v = v.reshape(len(texts), 32).astype(np.float32) - 127.5
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def encode_passages(self, texts, batch_size=32):
        if self.rss_at_embed is None:
            self.rss_at_embed = status("VmRSS")
        return self.encode_queries(texts)


from sdsearch.api import build_index
from sdsearch.config import Settings
import sdsearch

before = status("VmRSS")
t = time.perf_counter()
enc = HashEncoder()
r = build_index([sys.argv[1]], sys.argv[2], Settings.load(), encoder=enc)
print(json.dumps({
    "sdsearch": str(Path(sdsearch.__file__).parent),
    "documents": r.documents,
    "passages": r.passages,
    "seconds": round(time.perf_counter() - t, 1),
    "rss_before_mb": round(before),
    "rss_at_embed_mb": round(enc.rss_at_embed),
    "peak_mb": round(status("VmHWM")),
}))
"""


def sentences_and_headings() -> tuple[list[str], list[str]]:
    """The bundled corpus's sentences (from its paragraphs) and its headings (short lines, no full stop)."""
    sents: list[str] = []
    heads: list[str] = []
    for f in sorted(CORPUS.glob("*.txt")):
        for line in f.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            if len(line) < 80 and not line.endswith((".", ":", ";")):
                heads.append(line)
            else:
                sents += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", line) if len(s) > 20]
    return sents, heads


def write_report(path: Path, size: int, rng: random.Random, sents: list[str], heads: list[str]) -> int:
    """One synthetic report of about ``size`` characters: headings, each over 3-8 paragraphs of 2-6 sentences."""
    parts: list[str] = []
    n = 0
    while n < size:
        h = rng.choice(heads)
        parts.append(h)
        n += len(h) + 1
        for _ in range(rng.randint(3, 8)):
            para = " ".join(rng.sample(sents, rng.randint(2, 6)))
            parts.append(para)
            n += len(para) + 1
    text = "\n".join(parts) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def make_corpus(folder: Path, docs: int, kb: int, seed: int = 15) -> int:
    """``docs`` reports of ``kb`` ± a third KB each; returns the total bytes written."""
    sents, heads = sentences_and_headings()
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(docs):
        gemeente = ("velsen", "maassluis", "vlaardingen")[i % 3]
        size = int(kb * 1024 * rng.uniform(2 / 3, 4 / 3))
        total += write_report(folder / f"{gemeente}-jaarverslag-{2000 + i % 24}-deel-{i:05d}.txt", size, rng, sents, heads)
    return total


def run_once(corpus: Path, index: Path, src: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "SDSEARCH_NO_EXTRACT_CACHE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(corpus), str(index)], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"build failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, nargs="+", default=[200, 800])
    ap.add_argument("--kb", type=int, default=300, help="mean size of a report in KB")
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the src folder to import sdsearch from")
    ap.add_argument("--label", default="")
    ap.add_argument("--work", type=Path, default=None, help="folder for corpora and indexes (default: a temporary one)")
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="sdsearch-build-memory-"))
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}", flush=True)
    print("| label | documents | text MB | passages | build s | RSS before build MB | RSS at embed MB | peak RSS (VmHWM) MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    try:
        for n in a.docs:
            corpus = work / f"corpus-{n}-{a.kb}"
            if not corpus.is_dir():
                make_corpus(corpus, n, a.kb)
            text_mb = sum(f.stat().st_size for f in corpus.iterdir()) / 2**20
            index = work / f"index-{n}-{a.label or 'run'}"
            shutil.rmtree(index, ignore_errors=True)
            r = run_once(corpus, index, a.src.resolve())
            shutil.rmtree(index, ignore_errors=True)
            print(
                f"| {a.label} | {r['documents']} | {text_mb:.0f} | {r['passages']} | {r['seconds']} "
                f"| {r['rss_before_mb']} | {r['rss_at_embed_mb']} | {r['peak_mb']} |",
                flush=True,
            )
        print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    finally:
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
