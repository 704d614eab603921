"""Cold start: a one-shot ``sdsearch search`` and ``ask`` against the bare runtime imports.

    .venv/bin/python bench/cold_start.py [--runs 15] [--hyperfine] [--no-breakdown] [--out FILE]

Each round runs, in turn, three fresh processes on the bundled corpus and its default index:

* bare    ``python -c "import numpy, faiss, onnxruntime"`` (the floor a search stands on)
* search  ``sdsearch search "beschermd wonen"``
* ask     ``sdsearch ask "Hoeveel flexwoningen telt de wijk Mrija?"``

Rounds interleave the three (bare, search, ask, bare, ...), so a machine whose speed drifts
(other jobs) slows all three alike; each process's wall time (``time.perf_counter`` around
it) and CPU time (user + sys from ``os.wait4``) are recorded, and the ratio search/bare and
ask/bare is taken per round. One warm-up round goes first (it also builds the default index
when it is missing). ``--hyperfine`` also times each command with hyperfine (``apt install
hyperfine``), in blocks rather than interleaved, as a cross-check. The breakdown is one
extra in-process run that times the expensive steps of a search (imports, index, tokenizer,
ONNX session, first query).

Targets (issue 15): search ≤ 1.0 s wall and ≤ 6× bare; ask ≤ 1.3 s.
Writes bench/results/cold_start.md (``--out`` to change).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERY = "beschermd wonen"
QUESTION = "Hoeveel flexwoningen telt de wijk Mrija?"
TARGET_SEARCH_S, TARGET_RATIO, TARGET_ASK_S = 1.0, 6.0, 1.3


def sdsearch_cmd() -> list[str]:
    script = Path(sys.executable).with_name("sdsearch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sdsearch"]


def commands(other: Path | None) -> dict[str, tuple[list[str], Path]]:
    """name → (command, checkout it runs in)."""
    out = {
        "bare": ([sys.executable, "-c", "import numpy, faiss, onnxruntime"], ROOT),
        "search": (sdsearch_cmd() + ["search", QUERY], ROOT),
        "ask": (sdsearch_cmd() + ["ask", QUESTION], ROOT),
    }
    if other is not None:
        out["search (--compare)"] = (out["search"][0], other)
        out["ask (--compare)"] = (out["ask"][0], other)
    return out


def env(tree: Path = ROOT) -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(tree / "src")}


def run_once(cmd: list[str], tree: Path = ROOT) -> tuple[float, float]:
    """(wall s, cpu s) of one process in checkout ``tree``; raises when it fails."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env(tree), cwd=tree)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    if p.stderr:
        p.stderr.close()
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def hyperfine(cmds: dict[str, tuple[list[str], Path]], runs: int) -> dict[str, dict[str, float]]:
    exe = shutil.which("hyperfine")
    if not exe:
        print("hyperfine not found (apt install hyperfine); skipped", file=sys.stderr)
        return {}
    out: dict[str, dict[str, float]] = {}
    for i, (name, (cmd, tree)) in enumerate(cmds.items()):
        path = ROOT / "bench" / "results" / f".hyperfine-{i}.json"
        subprocess.run([exe, "-N", "--warmup", "1", "--runs", str(runs), "--export-json", str(path),
                        " ".join(_quote(c) for c in cmd)], check=True, env=env(tree), cwd=tree,
                       stdout=subprocess.DEVNULL)
        r = json.loads(path.read_text())["results"][0]
        path.unlink()
        out[name] = {"median": r["median"], "min": r["min"], "max": r["max"]}
    return out


def _quote(s: str) -> str:
    return f'"{s}"' if " " in s else s


BREAKDOWN = r'''
import sys, time, json
T = {}
t0 = time.perf_counter()
def mark(name, t):
    T[name] = T.get(name, 0.0) + (time.perf_counter() - t)
t = time.perf_counter(); import numpy, faiss, onnxruntime; mark("import numpy, faiss, onnxruntime", t)
t = time.perf_counter(); import tokenizers; mark("import tokenizers", t)
t = time.perf_counter(); import click; import sdsearch.cli; mark("import click, sdsearch.cli", t)
t = time.perf_counter(); import sdsearch.api; mark("import sdsearch.api (retrieve, store, build, ...)", t)
try:
    t = time.perf_counter(); import bm25s; mark("import bm25s (scipy.sparse, tqdm)", t)
except ImportError:
    pass
try:
    t = time.perf_counter(); import onnx; mark("import onnx", t)
except ImportError:
    pass
import onnxruntime as ort
_Session = ort.InferenceSession
class Session(_Session):
    def __init__(self, *a, **k):
        t = time.perf_counter(); super().__init__(*a, **k); mark("ONNX Runtime session", t)
ort.InferenceSession = Session
_Tok = tokenizers.Tokenizer
class TokShim:
    @staticmethod
    def from_file(path):
        t = time.perf_counter(); tok = _Tok.from_file(path); mark("tokenizer.json load", t); return tok
tokenizers.Tokenizer = TokShim
from sdsearch.models import e5_weights, cache
_sha = e5_weights.sha256_file
def sha(p):
    t = time.perf_counter(); r = _sha(p); mark("sha256 of the weights file", t); return r
cache.sha256_file = sha
from sdsearch import analysis
t = time.perf_counter(); analysis._lexicon(); mark("compound lexicon", t)
from sdsearch.config import Settings
from sdsearch.api import get_retriever
t = time.perf_counter(); r = get_retriever(None, Settings.load()); mark("open index + encoder (all)", t)
t = time.perf_counter(); r.search([sys.argv[1]]); mark("first search", t)
T["total (this process)"] = time.perf_counter() - t0
print(json.dumps(T))
'''


def breakdown() -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", BREAKDOWN, QUERY], capture_output=True, text=True, env=env(), cwd=ROOT)
    if out.returncode != 0:
        print(f"breakdown failed:\n{out.stderr[-2000:]}", file=sys.stderr)
        return {}
    return json.loads(out.stdout.strip().splitlines()[-1])


def stats(xs: list[float]) -> tuple[float, float, float]:
    return min(xs), statistics.median(xs), max(xs)


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="interleaved rounds (default 15)")
    ap.add_argument("--hyperfine", action="store_true", help="also time each command with hyperfine")
    ap.add_argument("--no-breakdown", action="store_true", help="skip the in-process step timing")
    ap.add_argument("--compare", type=Path, metavar="CHECKOUT",
                    help="also run search and ask from another checkout (e.g. a git worktree of an older commit), interleaved")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cold_start.md")
    args = ap.parse_args()

    cmds = commands(args.compare.resolve() if args.compare else None)
    load_before = os.getloadavg()
    for cmd, tree in cmds.values():  # warm-up: page cache, model cache, default index
        run_once(cmd, tree)
    wall: dict[str, list[float]] = {k: [] for k in cmds}
    cpu: dict[str, list[float]] = {k: [] for k in cmds}
    for i in range(args.runs):
        for name, (cmd, tree) in cmds.items():
            w, c = run_once(cmd, tree)
            wall[name].append(w)
            cpu[name].append(c)
        print(f"round {i + 1}/{args.runs}: " + ", ".join(f"{k} {wall[k][-1]:.2f} s" for k in cmds), file=sys.stderr)
    load_after = os.getloadavg()
    hf = hyperfine(cmds, max(3, args.runs // 2)) if args.hyperfine else {}
    steps = {} if args.no_breakdown else breakdown()

    ratio = {k: [w / b for w, b in zip(wall[k], wall["bare"], strict=True)] for k in cmds if k != "bare"}
    med = {k: statistics.median(v) for k, v in wall.items()}
    lines = [
        "# Cold start (issue 15)",
        "",
        f"`{' '.join([Path(sys.executable).name, 'bench/cold_start.py'] + sys.argv[1:])}` on "
        f"{dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}; {machine()}.",
        f"Load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        f"({os.cpu_count()} CPUs){': the machine was shared with other jobs, so wall times are inflated' if max(load_before[0], load_after[0]) > (os.cpu_count() or 1) else ''}; "
        "rounds interleave the three commands and the ratios are per round.",
        "",
        "| command | wall min | wall median | wall max | CPU median | median ratio to bare (per round) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    labels = {"bare": 'python -c "import numpy, faiss, onnxruntime"', "search": f'sdsearch search "{QUERY}"',
              "ask": f'sdsearch ask "{QUESTION}"'}
    if args.compare:
        labels["search (--compare)"] = labels["search"] + f"` in `{args.compare}"
        labels["ask (--compare)"] = labels["ask"] + f"` in `{args.compare}"
    for k in cmds:
        lo, mid, hi = stats(wall[k])
        r = f"{statistics.median(ratio[k]):.1f}×" if k in ratio else "1"
        lines.append(f"| `{labels[k]}` | {lo:.2f} s | {mid:.2f} s | {hi:.2f} s | {statistics.median(cpu[k]):.2f} s | {r} |")
    lines += [
        "",
        f"{args.runs} interleaved rounds after one warm-up round, default index over the bundled corpus.",
        f"Targets: search ≤ {TARGET_SEARCH_S} s ({'met' if med['search'] <= TARGET_SEARCH_S else 'not met'} here) and "
        f"≤ {TARGET_RATIO:g}× bare ({'met' if statistics.median(ratio['search']) <= TARGET_RATIO else 'not met'}); "
        f"ask ≤ {TARGET_ASK_S} s ({'met' if med['ask'] <= TARGET_ASK_S else 'not met'}).",
    ]
    if hf:
        lines += ["", "hyperfine (blocks, not interleaved; `hyperfine -N --warmup 1`):", "",
                  "| command | min | median | max |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| `{labels[k]}` | {v['min']:.2f} s | {v['median']:.2f} s | {v['max']:.2f} s |" for k, v in hf.items()]
    if steps:
        lines += ["", "Where a search's time goes (one in-process run, wall seconds; steps overlap where nested):", "",
                  "| step | s |", "| --- | ---: |"]
        lines += [f"| {k} | {v:.3f} |" for k, v in steps.items()]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
