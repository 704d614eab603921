"""How a server runs: index, address, workers, token, limits.

``sdsearch serve`` builds one ``ServeOptions`` in the parent process; uvicorn's worker
processes are started fresh (spawned), so the options travel to them as JSON in one
environment variable, read back by ``ServeOptions.from_environment``.

The environment itself is read in ``sdsearch.config`` (``serve_token``, ``serve_handover``,
``worker_thread_env``), like every other setting.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..config import SERVE_HANDOVER as HANDOVER_VARIABLE
from ..config import serve_handover, serve_token, worker_thread_env

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
        raw = serve_handover()
        if not raw:
            raise RuntimeError(f"{HANDOVER_VARIABLE} is not set: start the server with `sdsearch serve`")
        data: dict[str, Any] = json.loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def token_from_environment() -> str | None:
    """``SDSEARCH_TOKEN``, when set and not blank."""
    return serve_token()


def worker_threads(workers: int) -> dict[str, str]:
    """Environment for worker processes (see ``config.worker_thread_env``)."""
    return worker_thread_env(workers)
