"""The build on a Ray cluster: the same steps as ``build.build_index``, with reading, chunking
and embedding placed on Ray (``pip install "sdsearch[ray]"``).

    report = build_index_ray(["rapporten/"], "mijn-index", Settings.load(), address="local")

``address``: ``"local"`` starts a Ray cluster on this machine (all its cores, or ``num_cpus``)
and stops it afterwards; ``"auto"`` joins the cluster started here with ``ray start``;
``"ray://host:10001"`` (or ``host:6379``) joins a running cluster. When Ray is already
initialised in this process, that cluster is used and left running.

What runs where:

* driver (this process): the index lock, discovery of the files (``ingest.discover``) and
  their ``corpus.toml``, the cross-document collapse of identical passages
  (``build.write_passages``, which writes them into the new generation as they come from the
  tasks, in file order: ``read_and_chunk_stream``), a ``build.DocInfo`` per document for the
  manifest (never a document's text, blocks or pages), the
  embedding plan (``build.plan_written``: vectors of unchanged text are copied from the live
  index), the vector index, BM25 and manifest (``build.assemble``) and the atomic swap
  (``store.write_index``);
* Ray tasks (Ray Data ``map``): reading one file (``ingest.iter_documents`` of that file, so
  skip reasons and notes are the local build's) and chunking its document
  (``chunk.chunk_document``); a task hands back the document's ``DocInfo`` and passages, the
  file's skip reasons and notes, not the ``Document``;
* Ray actors (Ray Data ``map_batches`` with a class): the encoder, loaded once per actor
  (one thread and one CPU each by default), fed batches of exactly the texts the local
  build passes to one ``encode_passages`` call (``build.EMBED_BATCH``, in plan order), so
  the vectors are those of a local build.

The local build collapses the passages of ``chunk_document`` of each document in order
(``build.write_passages``); the Ray build hands it the same passages in the same order, so
the passages, their ids and ``also_at`` are the local build's. The read dataset keeps its
blocks' order (Ray Data's ``preserve_order``) and the driver takes each file's result as it
comes, in file order (one that comes early waits for those before it), so the driver holds
the results of the files not yet written, not the passages of the whole corpus, and no
document's text: at national scale (tens of thousands of 250-page reports) that was several
GB.

An actor that dies is restarted and its batch retried (``retries`` times); past that, or for
any other failure on the cluster, the build stops with one ``BuildError`` line and the
previous index stays live: the new generation's passages and vectors go into its temporary
folder, which is removed, and nothing is swapped in before every vector is in.

The corpus folders and sdsearch itself (same version, with its dependencies) must be
present on every node at the same paths; joining a cluster checks the version first.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import sys
import time
import warnings
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from . import build as _build
from .build import BuildReport, DocInfo
from .chunk import ChunkSettings, chunk_document, dedupe
from .config import Settings, default_corpus, default_index
from .errors import BuildError, IngestError, SdsearchError
from .ingest import IngestReport, discover, display_name, iter_documents, load_manifest
from .models import Encoder, load_encoder
from .store import BuildLock, new_generation, remove_leftovers, write_index
from .types import Passage
from .vectors import release

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
EncoderFactory = Callable[[], Encoder]

INSTALL_HINT = 'pip install "sdsearch[ray]"'
LOCAL = "local"
# Times an actor is restarted and a batch retried after its actor died (Ray's max_restarts /
# max_task_retries); past that the build fails with one line instead of retrying for ever.
RETRIES = 3
# Read blocks per CPU of the cluster: small enough for big and small files to balance.
READ_BLOCKS_PER_CPU = 4


# --- the cluster ---------------------------------------------------------------------------


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise BuildError(f"Ray is niet geïnstalleerd; installeer het met `{INSTALL_HINT}` of indexeer zonder --ray") from None
    return ray


def _quiet_ray_data(ray: Any) -> None:
    """No progress bars or per-dataset log lines from Ray Data: the CLI shows its own progress."""
    with warnings.catch_warnings():  # Ray 2.60's own context warns about its deprecated fields
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.enable_operator_progress_bars = False
    ctx.enable_auto_log_stats = False
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def ray_cluster(address: str | None = LOCAL, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray, connected: ``"local"`` starts a cluster here (stopped on exit), anything else joins one.

    A Ray already initialised in this process is used as it is and left running.
    """
    local = address in (None, "", LOCAL)
    if local and "ray" not in sys.modules:
        # A cluster on this machine listens on loopback only (Ray otherwise binds its
        # services to the machine's network address). Read by Ray when it is imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = _import_ray()
    if ray.is_initialized():
        _quiet_ray_data(ray)
        yield ray
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False}
    try:
        if local:
            ray.init(num_cpus=num_cpus, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, TimeoutError, ValueError, RuntimeError) as e:
        where = "op deze machine" if local else f"op {address}"
        raise BuildError(f"kan geen Ray-cluster {'starten' if local else 'bereiken'} {where}: {_one_line(e)}") from None
    try:
        _quiet_ray_data(ray)
        if not local:
            _check_cluster(ray, address or "")
        yield ray
    finally:
        ray.shutdown()


def _remote_versions() -> tuple[str | None, str]:
    import socket

    try:
        from sdsearch import __version__ as v
    except ImportError:
        v = None
    return v, socket.gethostname()


def _check_cluster(ray: Any, address: str) -> None:
    """A joined cluster must run this sdsearch version (its tasks import it)."""
    try:
        theirs, host = ray.get(ray.remote(num_cpus=0.01)(_remote_versions).remote(), timeout=120)
    except Exception as e:  # import failure on the node, or no node answering
        raise BuildError(f"het Ray-cluster op {address} kan sdsearch niet draaien: {_one_line(e)}; installeer daar `{INSTALL_HINT}`") from None
    if theirs != __version__:
        have = f"versie {theirs}" if theirs else "geen sdsearch"
        raise BuildError(f"de Ray-node {host} heeft {have}, hier is het {__version__}; installeer op elke node dezelfde versie")


_ADDRESS = re.compile(r"^(?:ray://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


def check_address(address: str | None) -> str:
    """``"local"``, ``"auto"``, ``ray://host:port`` or ``host:port``; anything else is one line naming the forms.

    ``sdsearch index --ray rapporten/`` reads the folder as the address: that is said too.
    """
    if address in (None, "", LOCAL):
        return LOCAL
    if address == "auto" or _ADDRESS.match(address):
        return address
    hint = f" ({address} is een map of bestand: zet die vóór --ray, of schrijf --ray local)" if Path(address).exists() else ""
    raise BuildError(f"onbekend Ray-adres {address!r}: gebruik local, auto, ray://host:poort of host:poort{hint}")


def cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


# --- failures as one line -------------------------------------------------------------------


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__


def _chain(e: BaseException) -> list[BaseException]:
    """``e`` and the exceptions Ray wrapped in it (``cause`` of a task error, ``__cause__``)."""
    out: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and all(cur is not x for x in out) and len(out) < 20:
        out.append(cur)
        cur = getattr(cur, "cause", None) or cur.__cause__
    return out


_DEATHS = ("ActorDiedError", "ActorUnavailableError", "RayActorError", "WorkerCrashedError", "NodeDiedError", "OutOfMemoryError", "ObjectLostError")
_WRAPPERS = ("SystemException", "UserCodeException", "RayTaskError")


def _failed(stage: str, e: BaseException, retries: int) -> BuildError:
    """One Dutch line for a failure on the cluster: sdsearch's own message, a lost worker, or the error."""
    chain = _chain(e)
    for x in chain:
        if isinstance(x, SdsearchError):
            return BuildError(f"{stage} op Ray mislukt: {_one_line(x)}; de vorige index blijft in gebruik")
    if any(type(x).__name__ in _DEATHS for x in chain):
        why = f"een Ray-worker viel weg, ook na {retries} herstart{'s' if retries != 1 else ''}"
    else:
        x = next((x for x in chain if not type(x).__name__.startswith(_WRAPPERS)), chain[-1])
        why = f"{type(x).__name__}: {_one_line(x)}"
    return BuildError(f"{stage} op Ray mislukt ({why}); de vorige index blijft in gebruik")


# --- reading and chunking: Ray tasks ---------------------------------------------------------

# A file's documents as a Ray task hands them back: each one's manifest record and passages
# (before the cross-document collapse); with the file's skip reasons and notes beside them.
FileDocs = list[tuple[DocInfo, list[Passage]]]


def _read_and_chunk(row: dict[str, Any], max_file_mb: float | None, extract_cache: bool, chunking: ChunkSettings) -> dict[str, Any]:
    """One file → its documents' ``DocInfo`` and passages, skip reasons and notes, pickled.

    Not the ``Document``: its text, blocks and pages stay in the task (``ingest.iter_documents``
    of that file, so skip reasons and notes are the local build's).
    """
    root = Path(os.fsdecode(row["root"]))
    f = Path(os.fsdecode(row["path"]))
    if not os.path.lexists(f):
        import socket

        return {"i": row["i"], "payload": pickle.dumps(("missing", socket.gethostname()))}
    rep = IngestReport([], [], [])
    read = iter_documents([f], root=root, max_file_mb=max_file_mb, extract_cache=extract_cache, report=rep)
    docs = [(DocInfo.of(d), chunk_document(d, chunking)) for d in read]
    result = ("ok", docs, rep.skipped, rep.notes)
    return {"i": row["i"], "payload": pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)}


def _results_in_order(
    ray: Any, pairs: Sequence[tuple[Path, Path]], s: Settings, retries: int
) -> Generator[tuple, None, None]:
    """Each file's unpickled task result, in file order, as the Ray tasks finish.

    The dataset keeps its blocks' order (``preserve_order``); a result that still comes early
    waits here (as bytes) for the ones before it. A failure on the cluster is one ``BuildError``.
    """
    if not pairs:
        return
    rows = [{"i": i, "root": os.fsencode(base), "path": os.fsencode(f)} for i, (base, f) in enumerate(pairs)]
    blocks = max(1, min(len(rows), READ_BLOCKS_PER_CPU * cluster_cpus(ray)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # max_retries: see embed_on_ray
        ds = ray.data.from_items(rows, override_num_blocks=blocks).map(
            _read_and_chunk,
            fn_kwargs={
                "max_file_mb": s.max_file_mb if s.max_file_mb > 0 else None,
                "extract_cache": s.extract_cache,
                "chunking": _build.chunk_settings(s),
            },
            num_cpus=1,
            # A reader that kills its process (a crashing PDF library, memory) is retried this
            # often, not for ever as Ray Data would.
            max_retries=retries,
        )
    ds.context.execution_options.preserve_order = True  # this dataset's own copy of the context
    del rows
    waiting: dict[int, bytes] = {}
    done = 0  # results of files [0, done) handed out
    try:
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            for i, payload in zip(batch["i"].tolist(), batch["payload"], strict=True):
                waiting[i] = payload
            del batch
            while done in waiting:
                payload = waiting.pop(done)
                done += 1
                yield pickle.loads(payload)
                del payload
    except SdsearchError:
        raise
    except Exception as e:
        raise _failed("lezen", e, retries) from None
    if done < len(pairs):
        f = pairs[done][1]
        raise BuildError(f"lezen op Ray mislukt: geen resultaat voor {display_name(str(f))}; de vorige index blijft in gebruik")


def _files(
    ray: Any, pairs: Sequence[tuple[Path, Path]], s: Settings, retries: int, report: IngestReport
) -> Generator[FileDocs, None, None]:
    """Each file's documents (``DocInfo`` and passages), in file order; its skip reasons and
    notes go into ``report`` as they come."""
    results = _results_in_order(ray, pairs, s, retries)
    try:
        for (base, f), res in zip(pairs, results, strict=False):  # fewer results: said when ``results`` ends
            if res[0] == "missing":
                if os.path.lexists(f):
                    raise BuildError(
                        f"{display_name(str(f))} is niet zichtbaar op Ray-node {res[1]}; de corpusmap moet op elke node op hetzelfde pad staan"
                    )
                source = display_name(f.relative_to(base).as_posix() if f.is_relative_to(base) else f.name)
                report.skipped.append((source, "bestand verdwenen"))
                continue
            _ok, docs, skipped, notes = res
            del res
            report.skipped.extend(skipped)
            report.notes.extend(notes)
            yield docs
            del docs  # not held while the next file's result is read
        next(results, None)  # past the last file: a missing result is said there
    finally:
        results.close()  # a build that stops early lets go of the Ray iterator now


def _passages(
    first: FileDocs, files: Generator[FileDocs, None, None], record: list[DocInfo]
) -> Generator[Passage, None, None]:
    try:
        docs: FileDocs | None = first
        del first  # let go like the others
        while docs is not None:
            for info, passages in docs:
                record.append(info)  # before its passages, as ``build.chunk_stream`` does
                yield from passages
            docs = None  # not held while the next file's result is read
            docs = next(files, None)
    finally:
        files.close()


def read_and_chunk_stream(
    ray: Any, roots: Sequence[Path], s: Settings, retries: int = RETRIES, record: list[DocInfo] | None = None
) -> tuple[IngestReport, Generator[Passage, None, None]]:
    """``build.read_stream`` + ``build.chunk_stream`` with each file read and chunked in a Ray task.

    Returns the report (its ``skipped`` and ``notes`` complete once the passages are exhausted,
    its ``documents`` left empty, as ``build.read_stream``'s) and every document's passages in
    file order, before identical ones are collapsed, as the tasks finish: the driver holds the
    results of the files not yet consumed, never a ``Document``. ``record``: each document's
    ``DocInfo`` is appended to it before its passages come (``build.write_passages``'s ``docs``).

    Results are read up to the first document before this returns, so a corpus with nothing
    readable fails here with ``build.check_readable``'s ``BuildError``; so does a broken
    ``corpus.toml`` or a missing path. Close the generator when stopping early.
    """
    report = IngestReport([], [], [])
    try:
        pairs = discover(roots, errors=report.skipped)  # sorted; raises for a path that does not exist
        for base in dict.fromkeys(base for base, _f in pairs):
            load_manifest(base)  # a broken corpus.toml fails here, as in the local build
    except IngestError as e:
        raise BuildError(str(e)) from None
    files = _files(ray, pairs, s, retries, report)
    first = next(filter(None, files), [])  # up to the first file with a document
    if not first:
        files.close()
        _build.check_readable(report, roots)  # nothing readable: the local build's one line, naming why
    return report, _passages(first, files, record if record is not None else [])


def read_and_chunk(
    ray: Any, roots: Sequence[Path], s: Settings, retries: int = RETRIES, collapse: bool = True
) -> tuple[IngestReport, list[DocInfo], list[Passage]]:
    """``read_and_chunk_stream`` into lists: the report (``documents`` left empty), each
    document's ``DocInfo`` (its manifest fields, not its text) and the passages.

    Same documents in the same order, same skip reasons and notes, same passages as
    ``build.read`` + ``build.chunk_documents``. ``collapse=False``: identical passages not yet
    collapsed (``build.chunk_stream``'s list, for ``build.write_passages``).
    """
    docs: list[DocInfo] = []
    report, stream = read_and_chunk_stream(ray, roots, s, retries, record=docs)
    chunks = list(stream)
    return report, docs, dedupe(chunks) if collapse else chunks


# --- embedding: Ray actors that hold the encoder ---------------------------------------------


class _Embedder:
    """A Ray Data actor: loads the encoder once, then embeds batches of rows.

    Each row is one call of the local build (``rows``, ``texts``: up to ``EMBED_BATCH``
    passages); the output is one row per passage (``row``, ``vector``).
    """

    def __init__(self, factory: EncoderFactory, model_id: str, dim: int):
        self.enc = factory()
        if self.enc.model_id != model_id or self.enc.dim != dim:
            raise BuildError(
                f"de encoder op de Ray-node is {self.enc.model_id!r} ({self.enc.dim} dimensies), niet {model_id!r} ({dim})"
            )
        self.dim = dim

    def __call__(self, batch: Any) -> dict[str, np.ndarray]:
        rows: list[int] = []
        vecs: list[np.ndarray] = []
        for ids, texts in zip(batch.column("rows").to_pylist(), batch.column("texts").to_pylist(), strict=True):
            v = np.asarray(self.enc.encode_passages(list(texts), batch_size=_build.EMBED_BATCH), dtype=np.float32)
            if v.shape != (len(texts), self.dim):
                raise BuildError(f"de encoder gaf {v.shape} terug voor {len(texts)} teksten")
            rows += ids
            vecs.append(v)
        out = np.concatenate(vecs) if vecs else np.zeros((0, self.dim), np.float32)
        return {"row": np.asarray(rows, dtype=np.int64), "vector": out}


def default_encoder_factory(s: Settings, threads: int = 1) -> EncoderFactory:
    """What each actor runs to load its encoder: the settings' model with ``threads`` threads."""
    return partial(load_encoder, s.model, s.runtime, threads=threads, variant=s.e5_variant)


def embed_on_ray(
    ray: Any,
    plan: _build.EmbedPlan,
    enc: Encoder,
    factory: EncoderFactory,
    *,
    actors: int,
    cpus_per_actor: float = 1.0,
    batch_rows: int = 1,
    retries: int = RETRIES,
    progress: Progress | None = None,
) -> None:
    """``build.embed`` on a pool of ``actors`` Ray actors: fills the rows ``plan.todo`` of ``plan.vectors``."""
    todo = np.asarray(plan.todo, dtype=np.int64)
    if not len(todo):
        return
    size = _build.EMBED_BATCH
    rows = [
        {"rows": todo[i : i + size].tolist(), "texts": [plan.texts[j] for j in todo[i : i + size].tolist()]}
        for i in range(0, len(todo), size)
    ]
    blocks = max(1, min(len(rows), 4 * actors))
    with warnings.catch_warnings():
        # Ray 2.60 marks max_restarts / max_task_retries in map_batches as deprecated (removed in
        # 2.64, hence the pin in pyproject.toml); without them Ray Data retries a dying batch for ever.
        warnings.simplefilter("ignore", DeprecationWarning)
        ds = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            _Embedder,
            fn_constructor_kwargs={"factory": factory, "model_id": enc.model_id, "dim": enc.dim},
            batch_size=max(1, batch_rows),
            batch_format="pyarrow",
            concurrency=max(1, actors),
            num_cpus=cpus_per_actor,
            max_restarts=retries,
            max_task_retries=retries,
        )
    got = np.zeros(len(plan.vectors), dtype=bool)
    done = 0
    try:
        for out in ds.iter_batches(batch_size=None, batch_format="numpy"):
            ids = out["row"]
            plan.vectors[ids] = out["vector"]
            if len(ids):
                release(plan.vectors, int(ids.min()), int(ids.max()) + 1)
            got[ids] = True
            done += len(ids)
            if progress:
                progress(min(done, len(todo)), len(todo))
    except SdsearchError:
        raise
    except Exception as e:
        raise _failed("inbedden", e, retries) from None
    missing = len(todo) - int(got[todo].sum())
    if missing:
        raise BuildError(f"inbedden op Ray onvolledig: {missing} passages zonder vector; de vorige index blijft in gebruik")


# --- the whole build -------------------------------------------------------------------------


def build_index_ray(
    paths: Sequence[str | Path] | None = None,
    index: str | Path | None = None,
    settings: Settings | None = None,
    address: str | None = LOCAL,
    progress: Progress | None = None,
    *,
    num_cpus: int | None = None,
    actors: int | None = None,
    threads_per_actor: int = 1,
    batch_rows: int = 1,
    retries: int = RETRIES,
    encoder_factory: EncoderFactory | None = None,
) -> BuildReport:
    """``build.build_index`` with reading, chunking and embedding on a Ray cluster; same index.

    ``address``: ``"local"`` (a cluster on this machine with ``num_cpus`` CPUs, default all),
    ``"auto"`` or ``"ray://host:port"``. ``actors``: encoder actors (default: the cluster's
    CPUs ÷ ``threads_per_actor``); each reserves ``threads_per_actor`` CPUs and runs that
    many encoder threads. ``batch_rows``: encoder calls of ``EMBED_BATCH`` passages per Ray
    batch. ``encoder_factory``: a picklable callable each actor (and the driver, for the
    model's identity) calls to load its encoder; default the settings' model.
    Raises ``BuildError`` (one Dutch line) when Ray is missing, the cluster cannot be
    reached or a stage fails past its retries; ``StoreError`` when another build holds the index.
    """
    t0 = time.perf_counter()
    s = settings or Settings.load()
    roots = [Path(p) for p in (paths or [default_corpus(s)])]
    index_dir = Path(index) if index is not None else default_index(s)
    address = check_address(address)
    _import_ray()  # a bad address or a missing extra is said before the lock and the cluster
    factory = encoder_factory or default_encoder_factory(s, threads_per_actor)
    with BuildLock(index_dir):  # first: a second build is refused before any work
        remove_leftovers(index_dir)
        # The model's identity (id, dim, prefixes, runtime) for the plan and the manifest, loaded
        # before the corpus is read so a model that does not load fails at once (and its converted
        # files are in the cache before the actors start); one thread: it embeds nothing.
        enc = encoder_factory() if encoder_factory else load_encoder(s.model, s.runtime, threads=1, variant=s.e5_variant)
        tmp = None
        try:
            with ray_cluster(address, num_cpus) as ray:
                docs: list[DocInfo] = []  # filled as the files' results come in, in file order
                report, chunks = read_and_chunk_stream(ray, roots, s, retries, record=docs)
                try:
                    try:
                        fingerprint = _build.corpus_fingerprint(roots)
                    except (UnicodeEncodeError, OSError):  # a file name that is not UTF-8 (skipped) or a file that vanished
                        fingerprint = ""
                    tmp = new_generation(index_dir)  # written as locally: passages, vectors, FAISS, BM25
                    # Collapsed and written as the results come: no list of all passages, no Document.
                    passages = _build.write_passages(chunks, tmp, docs, enc, s)
                finally:
                    chunks.close()  # a build that stops early lets go of the Ray read before the cluster stops
                plan = _build.plan_written(passages, enc, index_dir, s, tmp)
                n_actors = actors or max(1, int(cluster_cpus(ray) // max(1, threads_per_actor)))
                n_actors = max(1, min(n_actors, -(-len(plan.todo) // _build.EMBED_BATCH) or 1))
                t_embed = time.perf_counter()
                embed_on_ray(
                    ray, plan, enc, factory, actors=n_actors, cpus_per_actor=max(1, threads_per_actor),
                    batch_rows=batch_rows, retries=retries, progress=progress,
                )
                embed_seconds = time.perf_counter() - t_embed
            if len(plan.todo):
                log.info("Ray: %d passages ingebed door %d actors in %.1f s", len(plan.todo), n_actors, embed_seconds)
            # The cluster is stopped (or left to its owner); the index is assembled and swapped here, as locally.
            data = _build.assemble(roots, report, passages, plan, enc, s, fingerprint=fingerprint, tmp=tmp, docs=docs)
        except BaseException:
            if tmp is not None:
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
            raise
        write_index(index_dir, data, tmp)
    return _build.summarize(index_dir, report, passages, plan, t0, embed_seconds, docs=docs)


__all__ = [
    "INSTALL_HINT",
    "RETRIES",
    "BuildReport",
    "build_index_ray",
    "check_address",
    "default_encoder_factory",
    "embed_on_ray",
    "ray_cluster",
    "read_and_chunk",
    "read_and_chunk_stream",
]

