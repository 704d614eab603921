"""The facade: ``build_index``, ``search``, ``ask`` and ``evaluate`` in one call each.

    >>> import sdsearch
    >>> for hit in sdsearch.search("wat gebeurt er met beschermd wonen", k=3):
    ...     print(hit.rank, hit.citation)

Without ``index=``, ``search`` and ``ask`` use the default index (``config.default_index``)
over the bundled reports, build it on first use and update it when the reports changed
(checked on the first search of each process). The library never prints: what a person
should see (the first build, an update) is logged to the ``sdsearch`` logger at level
INFO/WARNING, which the CLI shows.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .analysis import Analyzer
from .config import Settings, default_corpus, default_index
from .errors import BuildError, FilterError, QueryError, StoreError
from .retrieve import Filters, Retriever
from .store import build_hint, current_generation, open_index, read_manifest
from .types import Answer, Document, Hit

if TYPE_CHECKING:  # the build (ingest, chunking, FAISS building) loads only when a build runs
    from .build import BuildReport
    from .models import Encoder

log = logging.getLogger("sdsearch")


# --- searching --------------------------------------------------------------------------

_RETRIEVERS: dict[tuple[str, str, Settings], Retriever] = {}
_ENSURED: set[tuple[str, str]] = set()  # (corpus, index) pairs checked in this process


def build_index(
    paths: Sequence[str | Path] | None = None,
    index: str | Path | None = None,
    settings: Settings | None = None,
    encoder: Encoder | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    ray: str | None = None,
) -> BuildReport:
    """Ingest ``paths`` (default: the bundled reports), chunk, embed and write the index atomically.

    See ``sdsearch.build.build_index``: unchanged passages keep their vectors, unreadable
    files are skipped and listed in the report, ``BuildError`` when nothing can be indexed.
    ``ray="local"`` (a cluster on this machine) or a cluster address runs reading, chunking
    and embedding on Ray (``pip install "sdsearch[ray]"``; see ``sdsearch.distributed``):
    the same index, built in more places.
    """
    if ray is not None:
        from .distributed import build_index_ray

        return build_index_ray(paths, index, settings, address=ray, progress=progress)
    from .build import build_index as build

    return build(paths, index, settings, encoder, progress)


def __getattr__(name: str) -> Any:
    if name == "BuildReport":
        from .build import BuildReport

        return BuildReport
    raise AttributeError(f"module 'sdsearch.api' has no attribute {name!r}")


def ensure_default_index(settings: Settings) -> Path:
    """Build the default index when it is missing or older than the corpus; say so (logged)."""
    index_dir = default_index(settings)
    corpus = default_corpus(settings)
    notice = log.warning
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
        # An index from before 0.2's learned abbreviations (no "abbreviations" entry) is rebuilt too.
        analyzer_current = manifest.get("analyzer") == Analyzer().settings() and "abbreviations" in manifest
        from .build import corpus_fingerprint

        if not same_corpus or (analyzer_current and recorded.get("fingerprint") == corpus_fingerprint([corpus])):
            return index_dir
        if analyzer_current:
            notice(f"de rapporten in {corpus} zijn veranderd sinds de index is gebouwd; {index_dir} wordt bijgewerkt …")
        else:
            notice(f"de index is gebouwd door een oudere sdsearch; {index_dir} wordt bijgewerkt …")
    else:
        notice(f"nog geen index; {index_dir} wordt gebouwd uit {corpus} (alleen de eerste keer) …")
    r = build_index([corpus], index_dir, settings)
    notice(f"{r.documents} documenten geïndexeerd, {r.passages} passages, in {r.seconds:.1f} s")
    for src, why in r.skipped:
        notice(f"overgeslagen: {src}: {why}")
    return index_dir


def get_retriever(index: str | Path | None = None, settings: Settings | None = None) -> Retriever:
    """A cached ``Retriever`` for ``index`` (default index built on first use)."""
    s = settings or Settings.load()
    if index is None:
        # Checking the corpus walks every file: do it on the first search of a process only.
        corpus_key = (str(default_corpus(s).resolve()), str(default_index(s).resolve()))
        if corpus_key not in _ENSURED:
            ensure_default_index(s)
            _ENSURED.add(corpus_key)
        index_dir = default_index(s)
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
    k: int | None = None,
    index: str | Path | None = None,
    gemeente: str | Sequence[str] | None = None,
    year: int | str | tuple[int | None, int | None] | None = None,
    doc_type: str | Sequence[str] | None = None,
    mode: str | None = None,
    settings: Settings | None = None,
) -> list[Hit]:
    """Ranked passages for a Dutch question or keywords, each with its citation.

    ``year`` takes 2022, "2020-2023" or (2020, None); ``k`` defaults to ``Settings.k``.
    Raises ``QueryError`` for an empty query, ``FilterError`` for a gemeente, type or year
    the index does not hold (its message lists what it does hold), ``StoreError`` for a
    missing or mismatched index, ``EncoderError`` when the model cannot load. All are
    ``SdsearchError``.
    """
    return search_many([query], k, index, gemeente, year, doc_type, mode, settings)[0]


def search_many(
    queries: Sequence[str],
    k: int | None = None,
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
    k: int | None = None,
    index: str | Path | None = None,
    gemeente: str | Sequence[str] | None = None,
    year: int | str | tuple[int | None, int | None] | None = None,
    doc_type: str | Sequence[str] | None = None,
    settings: Settings | None = None,
    per: str | None = None,
) -> Any:
    """The answer to a Dutch question: best sentences with citations, or a plain "no answer".

    ``per="gemeente"`` answers once per gemeente in the index (within the other filters) and
    returns ``{gemeente: Answer}``, in alphabetical order; an ``Answer`` with no sentences
    means that gemeente's reports hold no clear answer. Raises ``FilterError`` for a
    gemeente, type or year the index does not hold.
    """
    from .answer import answer_question

    s = settings or Settings.load()
    r = get_retriever(index, s)
    k = s.ask_k if k is None else k
    filters = Filters.make(gemeente, year, doc_type)
    if per is None:
        return answer_question(r, question, k=k, filters=filters)
    if per != "gemeente":
        raise QueryError(f"per kan alleen 'gemeente' zijn, niet {per!r}")
    from .answer import answer_per_gemeente

    return answer_per_gemeente(r, question, k=k, filters=filters)


def evaluate(
    eval_file: str | Path,
    index: str | Path | None = None,
    mode: str | None = None,
    corpus: str | Path | None = None,
    settings: Settings | None = None,
    split: str | None = None,
) -> Any:
    """Run an eval set (see eval/README.md) and return an ``EvalReport`` with metrics.

    ``split="dev"`` or ``"test"`` keeps only those items of a set that carries a split.
    """
    from .evaluate import run_eval

    s = settings or Settings.load()
    r = get_retriever(index, s)
    return run_eval(r, Path(eval_file), corpus=Path(corpus) if corpus else default_corpus(s), mode=mode, split=split)


__all__ = [
    "BuildError",
    "BuildReport",
    "FilterError",
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
    idx = open_index(Path(index) if index is not None else default_index(s))
    try:
        if encoder is not None and (encoder.model_id != idx.model_id or encoder.dim != int(idx.manifest["model"]["dim"])):
            encoder = None
        if encoder is None and s.mode != "sparse":
            from .models import load_encoder

            encoder = load_encoder(idx.model_id, s.runtime, threads=s.threads, variant=s.e5_variant)
        return Retriever(idx, encoder, s)
    except BaseException:
        idx.close()
        raise


def search_with(
    retriever: Retriever,
    queries: Sequence[str],
    k: int = Settings.k,
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
    k: int = Settings.ask_k,
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
        raise StoreError(f"geen index in {index_dir}; {build_hint(index_dir)}")
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
        raise StoreError(f"{source!r} is geen document van de index")
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
                raise StoreError(f"{source!r} leidt buiten de map met rapporten (een link); het wordt niet geopend")
            if not path.is_file():
                raise StoreError(f"{source!r} is geen bestand meer in de map met rapporten")
            return path, folder
    raise StoreError(f"het bestand van {source!r} staat niet meer in de map waaruit de index is gebouwd")


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
    doc, _notes = read_document(path, folder, load_manifest(folder), max_bytes=max_bytes, extract_cache=s.extract_cache)
    return doc
