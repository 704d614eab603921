"""The search engine of one server process: one search thread, batches, index swaps.

* **One search thread.** Every library call that touches the open index runs on one
  thread per process, so nothing in the library has to be thread-safe; the event loop
  only waits for results. Parallelism comes from worker processes (``--workers``), which
  share the index through the page cache: every data file is memory-mapped.
* **Batches.** Searches that queue up while the thread is busy, with the same k and
  filters, are answered by one ``search_with`` call: one encoder call for all of them.
  Under light load a batch is one search and nothing waits for company.
* **Swaps.** A watcher thread looks at the index's ``CURRENT`` pointer; when a build has
  made a new generation live, it opens it beside the old one (re-using the loaded model)
  and hands it to the search thread, which switches between two batches. Searches that
  are running finish on the generation they began with; none fails. A generation that
  cannot be opened is logged and the old one stays in use.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import api, store
from .checks import Selection
from .errors import ApiError, known_error_types

log = logging.getLogger("sdsearch.serve")

WARM_QUERY = "beschermd wonen"


@dataclass
class _Job:
    kind: str  # "search" | "ask"
    query: str
    k: int
    selection: Selection
    future: Future = field(default_factory=Future)

    def key(self) -> tuple[Any, ...]:
        return (self.kind, self.k, self.selection.key())


@dataclass(frozen=True)
class Result:
    value: Any  # list[Hit] for a search, Answer for ask
    generation: str


class Engine:
    """Open an index and answer searches and questions on it until ``close``."""

    def __init__(self, index_dir: Path, max_batch: int = 16, max_pending: int = 512, poll_seconds: float = 0.5):
        self.index_dir = Path(index_dir)
        self.max_batch = max(1, max_batch)
        self.max_pending = max_pending
        self.poll_seconds = poll_seconds
        self._cv = threading.Condition()
        self._pending: deque[_Job] = deque()
        self._retriever: Any = None
        self._swap: tuple[Any, str, dict[str, Any]] | None = None
        self._stop = False
        self._stopped = threading.Event()  # for the watcher; only the search thread waits on _cv
        self._threads: list[threading.Thread] = []
        self.generation = ""
        self.facets: dict[str, Any] = {}
        self.swaps = 0
        self.batches = 0
        self.searches = 0
        self._failed_generation: str | None = None
        self._docs: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._docs_lock = threading.Lock()
        self._doc_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sdsearch-docs")
        self.initial_encoder: Any = None  # tests hand in a small encoder; otherwise the index's model loads

    # -- life --------------------------------------------------------------------------

    def start(self) -> None:
        """Open the live generation and warm it up (blocking); then start the threads.

        Raises the library's errors (missing or damaged index, model) for the caller to report.
        """
        retriever, generation, facets = self._open(self.initial_encoder)
        self._install(retriever, generation, facets)
        for name, target in (("sdsearch-search", self._search_loop), ("sdsearch-watch", self._watch_loop)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def close(self) -> None:
        self._stopped.set()
        with self._cv:
            self._stop = True
            pending = list(self._pending)
            self._pending.clear()
            self._cv.notify_all()
        for job in pending:
            if not job.future.done():
                job.future.set_exception(ApiError(503, "De server stopt; probeer het zo opnieuw."))
        for t in self._threads:
            t.join(timeout=5)
        self._doc_pool.shutdown(wait=False, cancel_futures=True)

    def _open(self, encoder: Any) -> tuple[Any, str, dict[str, Any]]:
        """A retriever on the live generation, its name and its facets (all of the same one)."""
        for _ in range(5):
            before = store.current_generation_name(self.index_dir)
            retriever = api.open_searcher(self.index_dir, encoder=encoder)
            facets = api.facets(self.index_dir)
            after = store.current_generation_name(self.index_dir)
            if before == after == facets["generation"]:
                return retriever, facets["generation"], facets
            retriever.index.close()  # a build swapped again while we opened: open the newer one
        raise api.StoreError(f"de index in {self.index_dir} verandert steeds; probeer het opnieuw als het bouwen klaar is")

    def _install(self, retriever: Any, generation: str, facets: dict[str, Any]) -> None:
        api.search_with(retriever, [WARM_QUERY], k=10)  # maps the files and fills caches before traffic
        old = self._retriever
        self._retriever, self.generation, self.facets = retriever, generation, facets
        if old is not None:
            old.index.close()
            self.swaps += 1
            log.info("index %s in use", generation)

    # -- public, called from the event loop ------------------------------------------

    async def search(self, query: str, k: int, selection: Selection) -> Result:
        return await self._submit(_Job("search", query, k, selection))

    async def ask(self, query: str, k: int, selection: Selection) -> Result:
        return await self._submit(_Job("ask", query, k, selection))

    async def _submit(self, job: _Job) -> Result:
        with self._cv:
            if self._stop:
                raise ApiError(503, "De server stopt; probeer het zo opnieuw.")
            if len(self._pending) >= self.max_pending:
                raise ApiError(503, "De server is druk; probeer het zo opnieuw.")
            self._pending.append(job)
            self._cv.notify()
        return await asyncio.wrap_future(job.future)

    async def document(self, source: str) -> Any:
        """The report ``source`` as its reader extracts it (cached), on a thread of its own."""
        key = (self.generation, source)
        with self._docs_lock:
            if key in self._docs:
                self._docs.move_to_end(key)
                return self._docs[key]
        loop = asyncio.get_running_loop()
        doc = await loop.run_in_executor(self._doc_pool, api.source_document, source, self.index_dir)
        with self._docs_lock:
            self._docs[key] = doc
            while len(self._docs) > 32:
                self._docs.popitem(last=False)
        return doc

    # -- the search thread -------------------------------------------------------------

    def _take(self) -> tuple[list[_Job], tuple[Any, str, dict[str, Any]] | None]:
        with self._cv:
            while not self._pending and self._swap is None and not self._stop:
                self._cv.wait()
            swap, self._swap = self._swap, None
            if not self._pending:
                return [], swap
            first = self._pending.popleft()
            batch = [first]
            if first.kind == "search" and self._pending and self.max_batch > 1:
                rest: deque[_Job] = deque()
                key = first.key()
                while self._pending:
                    job = self._pending.popleft()
                    if len(batch) < self.max_batch and job.key() == key:
                        batch.append(job)
                    else:
                        rest.append(job)
                self._pending = rest
            return batch, swap

    def _search_loop(self) -> None:
        while True:
            batch, swap = self._take()
            if swap is not None:
                try:
                    self._install(*swap)
                except Exception as e:  # a new generation that fails its warm-up: keep the old one
                    log.warning("nieuwe index %s niet in gebruik genomen: %s", swap[1], e)
                    self._failed_generation = swap[1]
            if not batch:
                if self._stop:
                    return
                continue
            self._run(batch)

    def _run(self, batch: list[_Job]) -> None:
        retriever, generation = self._retriever, self.generation
        first = batch[0]
        live = [j for j in batch if j.future.set_running_or_notify_cancel()]
        if not live:
            return
        self.batches += 1
        self.searches += len(live)
        try:
            if first.kind == "search":
                found = api.search_with(retriever, [j.query for j in live], k=first.k, **first.selection.kwargs())
                for job, hits in zip(live, found, strict=True):
                    job.future.set_result(Result(hits, generation))
            else:
                (job,) = live
                job.future.set_result(Result(api.ask_with(retriever, job.query, k=job.k, **job.selection.kwargs()), generation))
        except BaseException as e:
            if len(live) > 1:  # one bad query must not fail the others: answer each alone
                for job in live:
                    try:
                        (hits,) = api.search_with(retriever, [job.query], k=job.k, **job.selection.kwargs())
                        job.future.set_result(Result(hits, generation))
                    except BaseException as one:
                        job.future.set_exception(one)
            else:
                live[0].future.set_exception(e)

    # -- the watcher thread ------------------------------------------------------------

    def _watch_loop(self) -> None:
        known = known_error_types()
        while True:
            if self._stopped.wait(self.poll_seconds):
                return
            try:
                name = store.current_generation_name(self.index_dir)
            except OSError:
                continue
            if not name or name == self.generation or name == self._failed_generation:
                continue
            t0 = time.perf_counter()
            try:
                opened = self._open(self._retriever.encoder)
            except known as e:
                log.warning("nieuwe index %s kan niet worden geopend (%s); de vorige blijft in gebruik", name, e)
                self._failed_generation = name
                continue
            except Exception as e:  # never let the watcher die
                log.warning("nieuwe index %s kan niet worden geopend (%s: %s); de vorige blijft in gebruik", name, type(e).__name__, e)
                self._failed_generation = name
                continue
            log.info("opened index %s in %.2f s", opened[1], time.perf_counter() - t0)
            with self._cv:
                if self._swap is not None:  # an older opened one was never taken: drop it
                    self._swap[0].index.close()
                self._swap = opened
                self._cv.notify()
