"""Incremental indexing measured: first build, unchanged re-run, one changed file.

    python bench/incremental.py [--pages 60]

The folder holds the five bundled reports plus a generated PDF report of ``--pages``
pages (bench/ingest_pdf.py's generator: running headers, footers, tables, two columns).
Each step runs the real `sdsearch index` code path with the bundled model in-process,
with a fresh extraction cache, and prints wall time, what was embedded and re-used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from ingest_pdf import build_pdf  # noqa: E402

from sdsearch.api import build_index  # noqa: E402
from sdsearch.config import Settings  # noqa: E402
from sdsearch.models import load_encoder  # noqa: E402


def _model_cache() -> Path:
    """The converted ONNX model (not what is measured here), copied so it is not rebuilt."""
    from sdsearch.config import cache_root

    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    return root


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=60)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    # A fresh extraction cache, so the first build really parses the PDF.
    os.environ["SDSEARCH_CACHE"] = str(tmp / "cache")
    for model_dir in _model_cache().glob("e5-*"):
        shutil.copytree(model_dir, tmp / "cache" / model_dir.name)
    folder = tmp / "rapporten"
    shutil.copytree(ROOT / "corpus", folder)
    build_pdf(folder / "voorbeeld-jaarstukken-2023.pdf", args.pages)
    enc = load_encoder()  # loaded once, outside the timings
    s = Settings()
    print(f"folder: 5 text reports + a {args.pages}-page PDF; encoder {type(enc).__name__}")
    print("| step | wall s | documents | passages | embedded | re-used | added/updated/removed/unchanged |")
    print("|---|---|---|---|---|---|---|")

    def step(label: str) -> float:
        t = time.perf_counter()
        r = build_index([folder], tmp / "index", s, encoder=enc)
        wall = time.perf_counter() - t
        counts = f"{len(r.added)}/{len(r.updated)}/{len(r.removed)}/{len(r.unchanged)}"
        print(f"| {label} | {wall:.1f} | {r.documents} | {r.passages} | {r.embedded} | {r.reused} | {counts} |", flush=True)
        return wall

    first = step("first build")
    again = step("re-run, nothing changed")
    txt = folder / "velsen-jaarverslag-2022-participatie.txt"
    txt.write_text(txt.read_text(encoding="utf-8").replace("1.350 Velsenaren", "1.400 Velsenaren"), encoding="utf-8")
    changed = step("one paragraph of one report changed")
    print(f"\nre-run takes {again / first:.0%} of the first build; one changed paragraph {changed / first:.0%}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
