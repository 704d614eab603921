"""Abbreviations learned from the corpus (issue 12): tune on dev, decide on test, once.

    python bench/tune_abbrev.py mined   # what the bundled corpus defines (and its initials)
    python bench/tune_abbrev.py dev     # grid on the dev splits (long, short), old set as a check
    python bench/tune_abbrev.py final   # off and the chosen setting on dev and test
    python bench/tune_abbrev.py latency # p50 search latency, real encoder, off / on / on + second stage

Builds an index of the bundled corpus with the bundled model in /tmp/abbrev-index (once; it
carries abbreviations.json). Query vectors are cached as in bench/tune_adaptive.py, so every
configuration runs the real ``Retriever.search`` and ``evaluate.run_retrieval``.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from tune_adaptive import score  # noqa: E402
from tune_adaptive import setup as _setup  # noqa: E402

from sdsearch.abbrev import Abbreviations  # noqa: E402
from sdsearch.config import Settings  # noqa: E402
from sdsearch.retrieve import Retriever  # noqa: E402

INDEX = Path("/tmp/abbrev-index")
OFF: dict[str, Any] = dict(abbrev_weight=0.0)


def configure(r: Retriever, full: Abbreviations, part: str, **kw: Any) -> None:
    r.settings = replace(Settings(), **kw)
    r._spell = None
    r.abbreviations = {
        "all": full,
        "defined": Abbreviations(full.long_forms, {}),
        "initials": Abbreviations({}, full.initials),
    }[part]


def table(cols: list[tuple[str, str | None]], configs: list[tuple[str, str, dict[str, Any]]]) -> None:
    r, enc, loc, items = _setup(INDEX)
    full = r.abbreviations
    head = " | ".join(f"{n} {sp or 'all'}" for n, sp in cols)
    print(f"| configuration | {head} | abbreviation-tagged dev (short) |\n|---" + "|---" * len(cols) + "|---|")
    for label, part, kw in configs:
        configure(r, full, part, **kw)
        cells = []
        for name, sp in cols:
            m = score(r, items[name], loc, sp)
            cells.append(f"{m['nDCG@10']:.3f} / {m['R@10']:.3f}")
        ab = [it for it in items["short"] if it["split"] == "dev" and "abbreviation" in it["tags"]]
        cells.append(f"{score(r, ab, loc, 'dev')['nDCG@10']:.3f}")
        enc.save()
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


def mined() -> None:
    r, _, _, _ = _setup(INDEX)
    a = r.abbreviations
    print(f"{len(a.long_forms)} defined short forms, {len(a.initials)} initials\n")
    for sf, lfs in a.long_forms.items():
        print(f"  {sf:8s} {'; '.join(f'{lf} ({n}x)' for lf, n in lfs)}")


def dev() -> None:
    cols = [("long", "dev"), ("short", "dev"), ("old", None)]
    configs: list[tuple[str, str, dict[str, Any]]] = [("off (before)", "all", OFF)]
    for w in (0.25, 0.5, 1.0):
        for dense in (False, True):
            for part in ("defined", "all"):
                configs.append((f"{part}, weight {w}{', dense text' if dense else ''}", part, dict(abbrev_weight=w, abbrev_dense=dense)))
    configs.append(("initials only, weight 0.5, dense text", "initials", dict(abbrev_weight=0.5, abbrev_dense=True)))
    configs.append(("all, dense text only (weight 0.01)", "all", dict(abbrev_weight=0.01, abbrev_dense=True)))
    table(cols, configs)


# Chosen on dev; Settings' defaults since the test check (bench/results/tune_abbrev.md).
CHOSEN: dict[str, Any] = dict(abbrev_weight=0.5, abbrev_dense=True)


def final() -> None:
    cols = [("long", "test"), ("short", "test"), ("old", None), ("long", "dev"), ("short", "dev")]
    table(cols, [("off (before)", "all", OFF), (f"chosen: {CHOSEN}", "all", CHOSEN)])




def latency() -> None:
    """p50 search latency with the real encoder (nothing cached), every query of the three sets."""
    import statistics
    import time

    r, enc, _, items = _setup(INDEX)
    real = Retriever(r.index, enc.inner, Settings())
    queries = [it["query"] for its in items.values() for it in its]
    for label, kw in (("off", OFF), ("on (default)", {}), ("on + second stage", dict(second_stage=True))):
        real.settings = replace(Settings(), **kw)
        real.search(["warming up", "bw velsen"])
        ms = []
        for q in queries:
            t = time.perf_counter()
            real.search([q])
            ms.append((time.perf_counter() - t) * 1000)
        print(f"latency {label}: p50 {statistics.median(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms over {len(ms)} queries", flush=True)


if __name__ == "__main__":
    {"mined": mined, "dev": dev, "final": final, "latency": latency}[sys.argv[1] if len(sys.argv) > 1 else "dev"]()
