"""Load benchmark for `sdsearch serve`: throughput and latency with 1, 8 and 32 concurrent clients.

    .venv/bin/python bench/serve_load.py [--sizes bundled,100k] [--workers 1,2] [--clients 1,8,32]
                                         [--seconds 10] [--no-rebuild] [--workdir DIR]

For each index size and worker count it starts `sdsearch serve` on 127.0.0.1 (a free
port), and for each number of clients runs a closed loop: every client keeps one
keep-alive connection and sends `GET /api/search?q=…&k=10` again as soon as the answer
is in, for ``--seconds`` after a 2-second warm-up (at most ``--max-requests`` requests).
Queries are the 145 eval questions (eval/retrieval.jsonl), each client starting at
another one. Then, with 8 clients, it rebuilds the index into the same folder while the
load runs, and measures until every client has seen the new generation (response header
``x-sdsearch-generation``) — at most ``--rebuild-limit`` seconds.

An error is any answer but 200, a body that is not a search result, or a failed
connection. The clients run in this process (asyncio, raw HTTP/1.1 on loopback, about
40 µs of CPU per request) on the same cores as the server; their CPU time is reported.

Indexes: *bundled* is corpus/ indexed with the bundled model; *100k* is bench/scale.py's
synthetic 100,000-passage index (built with its ``--phase build``). Only loopback
addresses are used; every loop is bounded in requests and time.

Writes a markdown report to stdout and bench/results/serve_load.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
HOST = "127.0.0.1"


# -- the load ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def eval_queries() -> list[str]:
    return [json.loads(line)["query"] for line in (ROOT / "eval" / "retrieval.jsonl").open(encoding="utf-8") if line.strip()]


def request_bytes(query: str, k: int) -> bytes:
    from urllib.parse import urlencode

    return f"GET /api/search?{urlencode({'q': query, 'k': k})} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\n\r\n".encode()


class Client:
    """One keep-alive HTTP/1.1 connection; ``get`` returns (status, headers, body)."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


async def run_load(
    port: int, clients: int, seconds: float, max_requests: int, queries: list[str], warmup: float = 2.0,
    until: Any = None, limit: float | None = None, server_cpu: Any = None,
) -> dict[str, Any]:
    """Closed-loop load; ``until(seen)`` (optional) ends it early once it returns True."""
    raws = [request_bytes(q, 10) for q in queries]
    lat: list[float] = []
    errors: list[str] = []
    gens: list[list[str]] = [[] for _ in range(clients)]
    state = {"measuring": False, "stop": False, "sent": 0}

    async def one(ci: int) -> None:
        c = Client(port)
        i = ci * 7
        try:
            while not state["stop"]:
                raw = raws[i % len(raws)]
                i += 1
                t0 = time.perf_counter()
                try:
                    status, headers, body = await asyncio.wait_for(c.get(raw), timeout=30)
                    ok = status == 200 and body.startswith(b'{"query": ')
                    why = "" if ok else f"HTTP {status}: {body[:120]!r}"
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as e:
                    ok, why, headers = False, f"{type(e).__name__}: {e}", {}
                    await c.close()
                dt = (time.perf_counter() - t0) * 1000
                if state["measuring"]:
                    state["sent"] += 1
                    lat.append(dt)
                    if not ok:
                        errors.append(why)
                    if headers.get("x-sdsearch-generation") and (not gens[ci] or gens[ci][-1] != headers["x-sdsearch-generation"]):
                        gens[ci].append(headers["x-sdsearch-generation"])
                    if state["sent"] >= max_requests:
                        state["stop"] = True
        finally:
            await c.close()

    tasks = [asyncio.create_task(one(ci)) for ci in range(clients)]
    await asyncio.sleep(warmup)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    s0 = server_cpu() if server_cpu else 0.0
    state["measuring"] = True
    t0 = time.perf_counter()
    deadline = t0 + (limit if limit is not None else seconds)
    while not state["stop"] and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        if until is None and time.perf_counter() - t0 >= seconds:
            break
        if until is not None and until(gens):
            break
    state["stop"] = True
    elapsed = time.perf_counter() - t0
    s1 = server_cpu() if server_cpu else 0.0
    await asyncio.gather(*tasks, return_exceptions=True)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))] if lat else float("nan")

    return {
        "clients": clients,
        "requests": len(lat),
        "seconds": elapsed,
        "throughput": len(lat) / elapsed if elapsed else 0.0,
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "max": lat[-1] if lat else float("nan"),
        "mean": statistics.fmean(lat) if lat else float("nan"),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
        "client_cpu_s": (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime),
        "server_cpu_ms": (s1 - s0) * 1000 / max(1, len(lat)),
        "generations": gens,
    }


# -- servers and indexes -------------------------------------------------------------------


def build_bundled(folder: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([PY, "-m", "sdsearch", "index", str(ROOT / "corpus"), "--index", str(folder)], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def build_100k(workdir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([PY, str(ROOT / "bench" / "scale.py"), "--phase", "build", "--n", "100000", "--workdir", str(workdir)],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def rebuild_command(size: str, index: Path, workdir: Path) -> list[str]:
    if size == "bundled":
        return [PY, "-m", "sdsearch", "index", str(ROOT / "corpus"), "--index", str(index)]
    return [PY, str(ROOT / "bench" / "scale.py"), "--phase", "build", "--n", "100000", "--workdir", str(workdir)]


class Server:
    def __init__(self, index: Path, workers: int, log: Path):
        self.port = free_port()
        self.log = log
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        env.pop("SDSEARCH_TOKEN", None)
        self.proc = subprocess.Popen(
            [PY, "-m", "sdsearch", "serve", "--index", str(index), "--host", HOST, "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=open(log, "w"),
        )

    def wait(self, limit: float = 300) -> float:
        t0 = time.time()
        import urllib.request

        while time.time() - t0 < limit:
            if self.proc.poll() is not None:
                raise SystemExit(f"server stopped: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return time.time() - t0
            except OSError:
                time.sleep(0.3)
        raise SystemExit("server did not start in time")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server and its workers so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in [self.proc.pid] + children(self.proc.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                pass
        return total

    def memory(self) -> dict[str, float]:
        """RSS, anonymous RSS and PSS (shared pages split among their users) of the serving processes, MB."""
        pids = [self.proc.pid] + children(self.proc.pid)
        out = {"rss": 0.0, "anon": 0.0, "file": 0.0, "pss": 0.0, "processes": 0}
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            out["processes"] += 1
            for line in status.splitlines():
                if line.startswith(("VmRSS:", "RssAnon:", "RssFile:")):
                    key = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file"}[line.split()[0]]
                    out[key] += int(line.split()[1]) / 1024
            for line in rollup.splitlines():
                if line.startswith("Pss:"):
                    out["pss"] += int(line.split()[1]) / 1024
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def children(parent: int) -> list[int]:
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def generation(index: Path) -> str:
    return (index / "CURRENT").read_text().split("\n", 1)[0].strip()


def rebuild_phase(
    server: Server, size: str, index: Path, workdir: Path, workers: int, a: argparse.Namespace, queries: list[str]
) -> tuple[dict[str, Any], str]:
    """Load with ``--rebuild-clients`` clients while a build writes a new generation into the
    served folder; until every client has been answered by the new one (or the time limit)."""
    old = generation(index)
    log = open(workdir / f"rebuild-{size}-{workers}.log", "w")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    builder: dict[str, Any] = {}

    def until(gens: list[list[str]]) -> bool:
        proc = builder.get("proc")
        if proc is None or proc.poll() is None:
            return False
        new = generation(index)
        builder.setdefault("done", time.perf_counter())
        return new != old and all(g and g[-1] == new for g in gens) and time.perf_counter() - builder["done"] > 1

    async def with_rebuild() -> dict[str, Any]:
        task = asyncio.create_task(
            run_load(server.port, a.rebuild_clients, a.seconds, a.max_requests * 10, queries, until=until, limit=a.rebuild_limit,
                     server_cpu=server.cpu_seconds)
        )
        await asyncio.sleep(3.0)  # the 2 s warm-up, then one second of load before the build starts
        builder["proc"] = subprocess.Popen(rebuild_command(size, index, workdir), env=env, stdout=log, stderr=log)
        return await task

    t0 = time.perf_counter()
    r = asyncio.run(with_rebuild())
    proc = builder["proc"]
    if proc.poll() is None:
        proc.wait()
    log.close()
    new = generation(index)
    seen = sorted({g for gs in r["generations"] for g in gs})
    note = (
        f"{size}, {workers} worker(s), rebuild: build exit {proc.returncode}, {time.perf_counter() - t0:.0f} s under load; "
        f"generations answered: {len(seen)} ({'old and new' if old in seen and new in seen else ', '.join(seen)}); "
        f"every client ended on the new one: {all(g and g[-1] == new for g in r['generations'])}; errors {r['errors']}"
    )
    return r, note


# -- report --------------------------------------------------------------------------------


def row(size: str, workers: int, phase: str, r: dict[str, Any]) -> str:
    return (
        f"| {size} | {workers} | {phase} | {r['clients']} | {r['requests']} | {r['throughput']:.1f} "
        f"| {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['max']:.0f} | {r['errors']} "
        f"| {r['server_cpu_ms']:.1f} | {r['client_cpu_s'] / r['seconds'] * 100:.0f}% |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="bundled,100k")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-requests", type=int, default=20000)
    ap.add_argument("--rebuild-clients", type=int, default=8)
    ap.add_argument("--rebuild-limit", type=float, default=240.0)
    ap.add_argument("--no-rebuild", action="store_true")
    ap.add_argument("--workdir", default="/tmp/sdsearch-serve-load")
    ap.add_argument("--keep", action="store_true", help="keep the index folders for the next run")
    a = ap.parse_args()
    workdir = Path(a.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    queries = eval_queries()
    load_before = os.getloadavg()
    rows: list[str] = []
    notes: list[str] = []
    for size in [s.strip() for s in a.sizes.split(",") if s.strip()]:
        index = workdir / ("bundled" if size == "bundled" else "idx-100000")
        if not (index / "CURRENT").exists():
            print(f"building the {size} index …", file=sys.stderr, flush=True)
            build_bundled(index) if size == "bundled" else build_100k(workdir)
        for workers in [int(w) for w in a.workers.split(",")]:
            server = Server(index, workers, workdir / f"server-{size}-{workers}.log")
            try:
                started = server.wait()
                print(f"{size}, {workers} worker(s): up in {started:.1f} s", file=sys.stderr, flush=True)
                for clients in [int(c) for c in a.clients.split(",")]:
                    r = asyncio.run(run_load(server.port, clients, a.seconds, a.max_requests, queries, server_cpu=server.cpu_seconds))
                    rows.append(row(size, workers, "steady", r))
                    print(rows[-1], file=sys.stderr, flush=True)
                    for e in r["error_examples"]:
                        notes.append(f"{size}/{workers}w/{clients}c error: {e}")
                mem = server.memory()
                notes.append(
                    f"{size}, {workers} worker(s): {mem['processes']} processes, RSS {mem['rss']:.0f} MB "
                    f"(anonymous {mem['anon']:.0f}, file-backed {mem['file']:.0f}), PSS {mem['pss']:.0f} MB"
                )
                if not a.no_rebuild:
                    r, note = rebuild_phase(server, size, index, workdir, workers, a, queries)
                    rows.append(row(size, workers, "rebuild + swap", r))
                    print(rows[-1], file=sys.stderr, flush=True)
                    notes.append(note)
                    for e in r["error_examples"]:
                        notes.append(f"{size}/{workers}w rebuild error: {e}")
            finally:
                server.stop()
        if not a.keep and size == "bundled":
            shutil.rmtree(index, ignore_errors=True)
    load_after = os.getloadavg()
    out = (
        "# sdsearch serve: load benchmark\n\n"
        f"{time.strftime('%Y-%m-%d %H:%M')} · {platform.machine()} · {os.cpu_count()} cores · python {platform.python_version()} · "
        f"`python bench/serve_load.py --sizes {a.sizes} --workers {a.workers} --clients {a.clients} --seconds {a.seconds:g}`\n\n"
        f"Load average before / after: {load_before[0]:.1f} / {load_after[0]:.1f} (other jobs on the machine make it pessimistic).\n\n"
        "`GET /api/search?q=<eval question>&k=10` (hybrid, query encoding included), closed loop, keep-alive, after a 2 s warm-up; "
        "latencies in ms as the client saw them. Server CPU is the CPU time (user + system) of the server's processes per "
        "answered search: it hardly depends on what else runs, so 2000 / server CPU estimates what two idle cores could answer. "
        "Client CPU is the load generator's share of one core (it runs on the same cores). In the rebuild rows the server CPU "
        "includes opening the new generation, but not the build (another process).\n\n"
        "| index | workers | phase | clients | requests | searches/s | p50 | p95 | p99 | max | errors | server CPU ms/search | client CPU |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    )
    print(out)
    res = ROOT / "bench" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / "serve_load.md").write_text(out, encoding="utf-8")


if __name__ == "__main__":
    main()
