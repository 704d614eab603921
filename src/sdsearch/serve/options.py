"""How a server runs: index, address, workers, token, limits.

``sdsearch serve`` builds one ``ServeOptions`` in the parent process; uvicorn's worker
processes are started fresh (spawned), so the options travel to them as JSON in one
environment variable, read back by ``ServeOptions.from_environment``.

ENVIRONMENT: this module is the one place in ``sdsearch.serve`` that reads environment
variables (``SDSEARCH_TOKEN`` and the parent-to-worker hand-over); move it into
``sdsearch.config`` together with the other ``SDSEARCH_*`` settings.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

HANDOVER_VARIABLE = "SDSEARCH_SERVE_OPTIONS"  # parent -> worker processes, not for users
TOKEN_VARIABLE = "SDSEARCH_TOKEN"

MAX_QUERY_CHARS = 2000  # what the model reads (retrieve.MAX_QUERY_CHARS); longer is refused
MAX_K = 100
MAX_QUERY_STRING = 8192  # bytes of the URL's query string
MAX_PATH = 2048
MAX_BODY = 4096  # only the login form has a body


@dataclass(frozen=True)
class ServeOptions:
    index: str
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    token: str | None = None
    log_queries: bool = False
    max_batch: int = 16  # searches answered by one encoder call when requests queue up
    max_pending: int = 512  # queued searches per worker before "busy" (503)
    poll_seconds: float = 0.5  # how often a worker looks for a finished build

    @property
    def index_dir(self) -> Path:
        return Path(self.index)

    def to_environment(self) -> dict[str, str]:
        return {HANDOVER_VARIABLE: json.dumps(asdict(self))}

    @classmethod
    def from_environment(cls) -> ServeOptions:
        raw = os.environ.get(HANDOVER_VARIABLE)
        if not raw:
            raise RuntimeError(f"{HANDOVER_VARIABLE} is not set: start the server with `sdsearch serve`")
        data: dict[str, Any] = json.loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def token_from_environment() -> str | None:
    """``SDSEARCH_TOKEN``, when set and not blank."""
    value = os.environ.get(TOKEN_VARIABLE, "").strip()
    return value or None


def worker_threads(workers: int) -> dict[str, str]:
    """Environment for worker processes: one inference thread each unless the user chose.

    Cores are shared out among the workers, and one worker never takes all of them (the
    event loop and the other worker need some): on 2 cores, 1 thread per worker. The
    encoder (``SDSEARCH_THREADS``) and FAISS (``OMP_NUM_THREADS``) read these at start.
    """
    env = {}
    threads = os.environ.get("SDSEARCH_THREADS") or str(max(1, (os.cpu_count() or 1) // max(2, workers)))
    if "SDSEARCH_THREADS" not in os.environ:
        env["SDSEARCH_THREADS"] = threads
    if "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = threads
    return env
