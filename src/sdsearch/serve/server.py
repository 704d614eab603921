"""Starting the server: options checked in the parent process, then uvicorn.

With ``--workers N`` uvicorn starts N processes (spawned, each calling
``app.create_app()``); each opens the same index read-only, memory-mapped, so the
operating system keeps one copy of it for all of them.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

from .options import ServeOptions, token_from_environment, worker_threads


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def prepare(
    index: Path | None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    token: str | None = None,
    log_queries: bool = False,
) -> ServeOptions:
    """Options for ``run``: the index resolved (the default one built when missing) and checked
    as a search would open it.

    Raises the library's errors (no index, damaged index, one a search cannot use) for the
    command line to report.
    """
    from .. import api

    if index is None:
        from ..config import Settings

        index = api.ensure_default_index(Settings.load())  # what it does is logged; the CLI shows it
    from ..retrieve import Retriever
    from ..store import open_index

    # A missing or damaged index, or one a search cannot use (built by an older analyzer,
    # say), stops the command here in one line; in a worker's start-up it would end in
    # uvicorn's traceback.
    idx = open_index(Path(index))
    try:
        Retriever(idx, None)
    finally:
        idx.close()
    return ServeOptions(
        index=str(Path(index).resolve()),
        host=host,
        port=port,
        workers=workers,
        token=(token or "").strip() or token_from_environment(),
        log_queries=log_queries,
    )


def run(opts: ServeOptions) -> None:
    import uvicorn

    os.environ.update(opts.to_environment())
    os.environ.update(worker_threads(opts.workers))
    shown = f"[{opts.host}]" if ":" in opts.host else opts.host
    if not is_loopback(opts.host):
        why = "" if opts.token else "; zonder toegangscode (--token of SDSEARCH_TOKEN) kan iedereen in het netwerk zoeken"
        print(f"sdsearch: waarschuwing: de server luistert op {shown}:{opts.port} en is bereikbaar vanaf andere computers{why}", file=sys.stderr, flush=True)
    workers = f", {opts.workers} werkprocessen" if opts.workers > 1 else ""
    print(f"sdsearch: de pagina staat op http://{shown}:{opts.port}/ (index {opts.index}{workers}; Ctrl-C stopt)", file=sys.stderr, flush=True)
    uvicorn.run(
        "sdsearch.serve.app:create_app",
        factory=True,
        host=opts.host,
        port=opts.port,
        workers=opts.workers,
        log_level="warning",
        access_log=False,  # the app logs one line per request itself
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=5,
        lifespan="on",
    )
