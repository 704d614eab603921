"""The facade: ``build_index``, ``search``, ``ask`` and ``evaluate`` in one call each.

    >>> import sdsearch
    >>> for hit in sdsearch.search("wat gebeurt er met beschermd wonen", k=3):
    ...     print(hit.rank, hit.citation)

The default corpus and index are ``corpus/`` and ``index/`` in the working directory (or
in the sdsearch checkout when the working directory has no ``corpus/``); ``search`` and
``ask`` build the default index on first use, and update it when ``corpus/`` changed
(checked on the first search of each process).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .chunk import ChunkSettings, chunk, context_prefix
from .config import Settings
from .embed import Encoder, load_encoder
from .ingest import READERS, IngestError, ingest
from .render import clean
from .retrieve import Filters, QueryError, Retriever
from .store import BuildLock, IndexData, StoreError, current_generation, open_index, read_manifest, write_index
from .text import Analyzer
from .types import Answer, Document, Hit, Passage

Progress = Callable[[int, int], None]


class BuildError(Exception):
    """Nothing could be indexed; the message is one line that says why."""


@dataclass
class BuildReport:
    index: Path
    documents: int
    passages: int
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0


# --- default locations ------------------------------------------------------------------

_CHECKOUT = Path(__file__).resolve().parents[2]


def default_corpus() -> Path:
    """``$SDSEARCH_CORPUS``, else ./corpus, else the corpus of the sdsearch checkout."""
    if os.environ.get("SDSEARCH_CORPUS"):
        return Path(os.environ["SDSEARCH_CORPUS"])
    if Path("corpus").is_dir() or not (_CHECKOUT / "corpus").is_dir():
        return Path("corpus")
    return _CHECKOUT / "corpus"


def default_index() -> Path:
    """``$SDSEARCH_INDEX``, else ./index (beside ./corpus), else the checkout's index/."""
    if os.environ.get("SDSEARCH_INDEX"):
        return Path(os.environ["SDSEARCH_INDEX"])
    if Path("corpus").is_dir() or not (_CHECKOUT / "corpus").is_dir():
        return Path("index")
    return _CHECKOUT / "index"


def corpus_fingerprint(paths: Sequence[Path]) -> str:
    """A cheap fingerprint of the files a build would read (names, sizes, mtimes)."""
    h = hashlib.sha256()
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            if f.suffix.lower() in READERS or f.name == "corpus.toml":
                st = f.stat()
                h.update(f"{f.as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


# --- building ---------------------------------------------------------------------------


def embed_text(p: Passage, with_headings: bool) -> str:
    """The text the encoder sees for a passage: its section path, then the passage."""
    prefix = context_prefix(p) if with_headings else ""
    return f"{prefix}\n{p.text}" if prefix else p.text


def bm25_text(p: Passage) -> str:
    """The text BM25 indexes: metadata and section path count as words of the passage."""
    meta = " ".join(str(x) for x in (p.gemeente, p.doc_type, p.year) if x)
    return f"{meta}\n{context_prefix(p)}\n{p.text}"


def _embed_key(model_id: str, prefix: str, text: str) -> bytes:
    return hashlib.sha1(f"{model_id}\0{prefix}\0{text}".encode()).hexdigest()[:32].encode()


def _previous_vectors(index_dir: Path, model_id: str, dim: int) -> tuple[dict[bytes, int], np.ndarray | None, dict[str, str]]:
    """Vectors of the live index keyed by embed key, for re-use; empty when incompatible."""
    try:
        gen = current_generation(index_dir)
        if gen is None:
            return {}, None, {}
        manifest = read_manifest(gen)
        old_docs = {d["source"]: d.get("content_hash", "") for d in manifest.get("documents", [])}
        if manifest.get("model", {}).get("id") != model_id or manifest.get("model", {}).get("dim") != dim:
            return {}, None, old_docs
        keys = np.load(gen / "meta.npz", allow_pickle=False)["embed_keys"]
        vecs = np.load(gen / "vectors.npy", mmap_mode="r", allow_pickle=False)
        if len(keys) != len(vecs):
            return {}, None, old_docs
        return {bytes(k): i for i, k in enumerate(keys)}, vecs, old_docs
    except (StoreError, OSError, KeyError, ValueError):
        return {}, None, {}


def build_index(
    paths: Sequence[str | Path] | None = None,
    index: str | Path | None = None,
    settings: Settings | None = None,
    encoder: Encoder | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Ingest ``paths`` (default: the corpus), chunk, embed and write the index atomically.

    Vectors of passages whose text is unchanged are re-used from the live index. Files
    that cannot be read are skipped and listed in the report. Raises ``BuildError`` when
    nothing can be indexed, ``StoreError`` when another build holds the index.
    """
    t0 = time.perf_counter()
    s = settings or Settings.load()
    roots = [Path(p) for p in (paths or [default_corpus()])]
    index_dir = Path(index) if index is not None else default_index()
    # Take the lock first: a second build is refused at once, before any reading or embedding.
    with BuildLock(index_dir):
        return _build_locked(roots, index_dir, s, encoder, progress, t0)


def _build_locked(
    roots: list[Path],
    index_dir: Path,
    s: Settings,
    encoder: Encoder | None,
    progress: Progress | None,
    t0: float,
) -> BuildReport:
    try:
        report = ingest(roots, max_file_mb=s.max_file_mb if s.max_file_mb > 0 else None)
    except IngestError as e:
        raise BuildError(str(e)) from None
    if not report.documents:
        why = f" ({len(report.skipped)} file(s) skipped)" if report.skipped else ""
        raise BuildError(f"no readable documents in {', '.join(map(str, roots))}{why}")
    docs = report.documents
    try:
        fingerprint = corpus_fingerprint(roots)
    except (UnicodeEncodeError, OSError):  # a file name that is not UTF-8 (skipped) or a file that vanished
        fingerprint = ""
    chunk_cfg = ChunkSettings(s.chunk_chars, s.chunk_min_chars, s.chunk_overlap_sentences)
    passages = chunk(docs, chunk_cfg)
    enc = encoder or load_encoder(s.model, s.runtime)
    analyzer = Analyzer()

    try:  # re-use vectors only from a live index that passes every checksum
        open_index(index_dir, verify=True).close()
        old_keys, old_vecs, old_docs = _previous_vectors(index_dir, enc.model_id, enc.dim)
    except StoreError:  # none yet, or damaged: embed everything afresh
        old_keys, old_vecs, old_docs = {}, None, {}
    texts = [embed_text(p, s.embed_headings) for p in passages]
    keys = [_embed_key(enc.model_id, enc.passage_prefix, t) for t in texts]
    vectors = np.zeros((len(passages), enc.dim), dtype=np.float32)
    todo = []
    for i, key in enumerate(keys):
        j = old_keys.get(key)
        if j is not None and old_vecs is not None:
            vectors[i] = old_vecs[j]
        else:
            todo.append(i)
    t_embed = time.perf_counter()
    batch = 32
    for start in range(0, len(todo), batch):
        ids = todo[start : start + batch]
        vectors[ids] = enc.encode_passages([texts[i] for i in ids], batch_size=batch)
        if progress:
            progress(min(start + batch, len(todo)), len(todo))
    embed_seconds = time.perf_counter() - t_embed

    from .vectors import build_vector_index

    faiss_index, factory, faiss_info = build_vector_index(vectors)
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
    bm25 = bm25s.BM25()
    bm25.index([analyzer.terms(bm25_text(p)) for p in passages], show_progress=False)
    doc_no = {d.source: i for i, d in enumerate(docs)}
    passage_doc = np.array([doc_no[p.source] for p in passages], dtype=np.int32)
    extra = np.array(
        [(i, doc_no[loc.source]) for i, p in enumerate(passages) for loc in p.also_at if loc.source in doc_no],
        dtype=np.int32,
    ).reshape(-1, 2)
    data = IndexData(
        passages=passages,
        vectors=vectors,
        faiss_index=faiss_index,
        faiss_factory=factory,
        bm25=bm25,
        passage_doc=passage_doc,
        extra_doc_pairs=extra,
        embed_keys=np.array(keys, dtype="S32"),
        manifest={
            "model": {
                "id": enc.model_id,
                "dim": enc.dim,
                "query_prefix": enc.query_prefix,
                "passage_prefix": enc.passage_prefix,
                "runtime": type(enc).__name__,
            },
            "embed": {"headings": s.embed_headings},
            "chunker": chunk_cfg.as_dict(),
            "analyzer": analyzer.settings(),
            "bm25": {"k1": bm25.k1, "b": bm25.b, "method": bm25.method},
            "faiss": faiss_info,
            "corpus": {
                "paths": [str(r) for r in roots],
                "fingerprint": fingerprint,
                "skipped": [{"source": src, "reason": why} for src, why in report.skipped],
            },
            "counts": {"documents": len(docs), "embedded": len(todo), "reused": len(passages) - len(todo)},
            "documents": [_doc_entry(d, int((passage_doc == i).sum())) for i, d in enumerate(docs)],
        },
    )
    write_index(index_dir, data)

    new_docs = {d.source: d.content_hash for d in docs}
    return BuildReport(
        index=index_dir,
        documents=len(docs),
        passages=len(passages),
        added=sorted(src for src in new_docs if src not in old_docs),
        updated=sorted(src for src, h in new_docs.items() if src in old_docs and old_docs[src] != h),
        removed=sorted(src for src in old_docs if src not in new_docs),
        unchanged=sorted(src for src, h in new_docs.items() if old_docs.get(src) == h),
        skipped=report.skipped,
        notes=report.notes,
        embedded=len(todo),
        reused=len(passages) - len(todo),
        seconds=time.perf_counter() - t0,
        embed_seconds=embed_seconds,
    )


def _doc_entry(d: Document, n_passages: int) -> dict[str, Any]:
    return {
        "source": d.source,
        "title": d.title,
        "gemeente": d.gemeente,
        "year": d.year,
        "doc_type": d.doc_type,
        "content_hash": d.content_hash,
        "pages": len(d.page_starts) or None,
        "chars": len(d.text),
        "passages": n_passages,
    }


# --- searching --------------------------------------------------------------------------

_RETRIEVERS: dict[tuple[str, str, Settings], Retriever] = {}
_ENSURED: set[tuple[str, str]] = set()  # (corpus, index) pairs checked in this process


def _notice(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ensure_default_index(settings: Settings, notice: Callable[[str], None] = _notice) -> Path:
    """Build the default index when it is missing or older than the corpus; say so."""
    index_dir = default_index()
    corpus = default_corpus()
    gen = None
    try:
        gen = current_generation(index_dir)
    except StoreError:
        gen = None
    if not corpus.is_dir():
        return index_dir
    if gen is not None:
        try:
            manifest = read_manifest(gen)
        except StoreError:
            manifest = {}
        recorded = manifest.get("corpus", {})
        same_corpus = [str(corpus)] == recorded.get("paths") or [str(corpus.resolve())] == recorded.get("paths")
        analyzer_current = manifest.get("analyzer") == Analyzer().settings()
        if not same_corpus or (analyzer_current and recorded.get("fingerprint") == corpus_fingerprint([corpus])):
            return index_dir
        if analyzer_current:
            notice(f"Corpus {corpus}/ changed since the index was built; updating {index_dir}/ …")
        else:
            notice(f"The index was built by an older sdsearch; updating {index_dir}/ …")
    else:
        notice(f"No index yet; building {index_dir}/ from {corpus}/ (first run only) …")
    r = build_index([corpus], index_dir, settings)
    notice(f"Indexed {r.documents} documents, {r.passages} passages in {r.seconds:.1f} s.")
    for src, why in r.skipped:
        notice(clean(f"skipped {src}: {why}"))
    return index_dir


def get_retriever(index: str | Path | None = None, settings: Settings | None = None) -> Retriever:
    """A cached ``Retriever`` for ``index`` (default index built on first use)."""
    s = settings or Settings.load()
    if index is None:
        # Checking the corpus walks every file: do it on the first search of a process only.
        corpus_key = (str(default_corpus().resolve()), str(default_index().resolve()))
        if corpus_key not in _ENSURED:
            ensure_default_index(s)
            _ENSURED.add(corpus_key)
        index_dir = default_index()
    else:
        index_dir = Path(index)
    gen = current_generation(index_dir) if index_dir.exists() else None
    key = (str(index_dir.resolve()), gen.name if gen else "", s)
    r = _RETRIEVERS.get(key)
    if r is None:
        r = Retriever.open(index_dir, settings=s)
        _RETRIEVERS.clear()
        _RETRIEVERS[key] = r
    return r


def search(
    query: str,
    k: int = 10,
    index: str | Path | None = None,
    gemeente: str | Sequence[str] | None = None,
    year: int | str | tuple[int | None, int | None] | None = None,
    doc_type: str | Sequence[str] | None = None,
    mode: str | None = None,
    settings: Settings | None = None,
) -> list[Hit]:
    """Ranked passages for a Dutch question or keywords, each with its citation.

    ``year`` takes 2022, "2020-2023" or (2020, None). Raises ``QueryError`` for an empty
    query, ``StoreError`` for a missing or mismatched index, ``EncoderError`` when the
    model cannot load.
    """
    return search_many([query], k, index, gemeente, year, doc_type, mode, settings)[0]


def search_many(
    queries: Sequence[str],
    k: int = 10,
    index: str | Path | None = None,
    gemeente: str | Sequence[str] | None = None,
    year: int | str | tuple[int | None, int | None] | None = None,
    doc_type: str | Sequence[str] | None = None,
    mode: str | None = None,
    settings: Settings | None = None,
) -> list[list[Hit]]:
    """``search`` for a batch of queries (one encoder call for all of them)."""
    if isinstance(queries, str):
        raise QueryError("search_many takes a list of queries")
    r = get_retriever(index, settings)
    return r.search(list(queries), k=k, filters=Filters.make(gemeente, year, doc_type), mode=mode)


def ask(
    question: str,
    k: int = 5,
    index: str | Path | None = None,
    gemeente: str | Sequence[str] | None = None,
    year: int | str | tuple[int | None, int | None] | None = None,
    doc_type: str | Sequence[str] | None = None,
    settings: Settings | None = None,
) -> Answer:
    """The answer to a Dutch question: best sentences with citations, or a plain "no answer"."""
    from .answer import answer_question

    r = get_retriever(index, settings)
    return answer_question(r, question, k=k, filters=Filters.make(gemeente, year, doc_type))


def evaluate(
    eval_file: str | Path,
    index: str | Path | None = None,
    mode: str | None = None,
    corpus: str | Path | None = None,
    settings: Settings | None = None,
) -> Any:
    """Run an eval set (see eval/README.md) and return an ``EvalReport`` with metrics."""
    from .evaluate import run_eval

    r = get_retriever(index, settings)
    return run_eval(r, Path(eval_file), corpus=Path(corpus) if corpus else default_corpus(), mode=mode)


__all__ = [
    "BuildError",
    "BuildReport",
    "QueryError",
    "StoreError",
    "ask",
    "build_index",
    "evaluate",
    "open_index",
    "search",
    "search_many",
]


# --- for long-running processes (sdsearch serve) -----------------------------------------
# New functions only (issue 14): a server keeps a Retriever open, swaps it for a new one
# when a build finishes, lists what the index holds and shows passages within their reports.


def open_searcher(
    index: str | Path | None = None, settings: Settings | None = None, encoder: Encoder | None = None
) -> Retriever:
    """A new (uncached) ``Retriever`` on the live generation of ``index``.

    ``encoder`` is re-used when the index was built with its model, so a server that swaps
    to a new generation does not load the model again; otherwise the index's model is loaded.
    Raises ``StoreError`` for a missing or damaged index, ``EncoderError`` for the model.
    """
    s = settings or Settings.load()
    idx = open_index(Path(index) if index is not None else default_index())
    try:
        if encoder is not None and (encoder.model_id != idx.model_id or encoder.dim != int(idx.manifest["model"]["dim"])):
            encoder = None
        if encoder is None and s.mode != "sparse":
            encoder = load_encoder(idx.model_id, s.runtime)
        return Retriever(idx, encoder, s)
    except BaseException:
        idx.close()
        raise


def search_with(
    retriever: Retriever,
    queries: Sequence[str],
    k: int = 10,
    gemeente: str | Sequence[str] | None = None,
    year: int | str | tuple[int | None, int | None] | None = None,
    doc_type: str | Sequence[str] | None = None,
    mode: str | None = None,
) -> list[list[Hit]]:
    """``search_many`` on a Retriever the caller holds (see ``open_searcher``)."""
    if isinstance(queries, str):
        raise QueryError("search_with takes a list of queries")
    return retriever.search(list(queries), k=k, filters=Filters.make(gemeente, year, doc_type), mode=mode)


def ask_with(
    retriever: Retriever,
    question: str,
    k: int = 5,
    gemeente: str | Sequence[str] | None = None,
    year: int | str | tuple[int | None, int | None] | None = None,
    doc_type: str | Sequence[str] | None = None,
) -> Answer:
    """``ask`` on a Retriever the caller holds (see ``open_searcher``)."""
    from .answer import answer_question

    return answer_question(retriever, question, k=k, filters=Filters.make(gemeente, year, doc_type))


def _live_manifest(index: str | Path | None) -> tuple[Path, Path, dict[str, Any]]:
    index_dir = Path(index) if index is not None else default_index()
    gen = current_generation(index_dir) if index_dir.is_dir() else None
    if gen is None:
        raise StoreError(f"no index at {index_dir}; build one with `sdsearch index`")
    return index_dir, gen, read_manifest(gen)


def facets(index: str | Path | None = None) -> dict[str, Any]:
    """What the live index holds, for filter menus: its documents, and the gemeenten, years
    and document types with the number of documents and passages of each.

    Passages are counted by the document of their first occurrence.
    """
    _, gen, m = _live_manifest(index)
    docs = [d for d in m.get("documents", []) if isinstance(d, dict)]
    try:
        per_doc = np.bincount(np.load(gen / "meta.npz", allow_pickle=False)["passage_doc"], minlength=len(docs))
    except (OSError, KeyError, ValueError):
        per_doc = np.array([int(d.get("passages") or 0) for d in docs])
    documents = [
        {
            "source": d.get("source"),
            "title": d.get("title"),
            "gemeente": d.get("gemeente"),
            "year": d.get("year"),
            "doc_type": d.get("doc_type"),
            "pages": d.get("pages"),
            "passages": int(per_doc[i]) if i < len(per_doc) else 0,
            "content_hash": d.get("content_hash"),
        }
        for i, d in enumerate(docs)
    ]

    def count(key: str) -> list[dict[str, Any]]:
        out: dict[Any, dict[str, Any]] = {}
        for d in documents:
            v = d[key]
            if v is None or v == "":
                continue
            e = out.setdefault(v, {"value": v, "documents": 0, "passages": 0})
            e["documents"] += 1
            e["passages"] += d["passages"]
        return [out[v] for v in sorted(out, key=lambda v: (str(type(v)), str(v).casefold() if isinstance(v, str) else v))]

    counts = m.get("counts", {})
    return {
        "generation": gen.name,
        "created": m.get("created"),
        "model": m.get("model", {}).get("id"),
        "passages": int(counts.get("passages", int(per_doc.sum()))),
        "documents": documents,
        "gemeenten": count("gemeente"),
        "years": count("year"),
        "types": count("doc_type"),
    }


def _locate_source(source: str, index: str | Path | None) -> tuple[Path, Path]:
    index_dir, _, m = _live_manifest(index)
    if not any(isinstance(d, dict) and d.get("source") == source for d in m.get("documents", [])):
        raise StoreError(f"{source!r} is not a document of the index")
    roots = m.get("corpus", {}).get("paths") or []
    for r in roots:
        r = Path(r)
        for base in [r] if r.is_absolute() else [Path.cwd() / r, index_dir.resolve().parent / r]:
            if base.is_file():  # a single file was indexed: its source is its name
                folder = base.parent
                if base.name != source:
                    continue
            elif base.is_dir():
                folder = base
            else:
                continue
            path = folder / source
            if not os.path.lexists(path):
                continue
            if not path.resolve().is_relative_to(folder.resolve()):
                raise StoreError(f"{source!r} leads outside the corpus folder (a link); it is not opened")
            if not path.is_file():
                raise StoreError(f"{source!r} is no longer a file in the corpus folder")
            return path, folder
    raise StoreError(f"the file of {source!r} is no longer in the corpus folder the index was built from")


def source_file(source: str, index: str | Path | None = None) -> Path:
    """The corpus file that the document ``source`` of the live index was read from.

    Only documents that the index lists are found, and only inside the folders it was built
    from (relative ones are looked up from the working directory, then beside the index
    folder); a link that leads out of its corpus folder is refused. Raises ``StoreError``.
    """
    return _locate_source(source, index)[0]


def source_document(source: str, index: str | Path | None = None, settings: Settings | None = None) -> Document:
    """The document ``source`` of the live index, read again from its file (text, blocks,
    pages; the extraction cache makes this quick for PDF, DOCX and HTML), so a passage can
    be shown within its report: ``document.text[p.char_start:p.char_end] == p.text`` while
    ``document.content_hash`` equals the one ``facets`` lists. Raises ``StoreError`` (see
    ``source_file``) or ``IngestError`` when the file cannot be read.
    """
    from .ingest import load_manifest, read_document

    s = settings or Settings.load()
    path, folder = _locate_source(source, index)
    max_bytes = int(s.max_file_mb * 2**20) if s.max_file_mb > 0 else None
    doc, _notes = read_document(path, folder, load_manifest(folder), max_bytes=max_bytes)
    return doc
