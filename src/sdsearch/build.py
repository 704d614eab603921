"""The build, as small named steps: read → chunk → embed (re-use) → vectors → sparse → manifest → write.

    report = build_index(["rapporten/"], "mijn-index", Settings.load())

Each step is a plain function over plain values, so the local build (``build_index``), the
benchmarks and the distributed build (``distributed.py``, Ray) run the same code: they differ
only in where ``read`` and ``embed`` execute. ``build_index`` takes the index lock first, so
a second build is refused before any work; the new generation becomes live only when it is
complete (``store.write_index``), so a failed or killed build leaves the previous index usable.

The build streams into the new generation's folder (``store.new_generation``): documents
are read one at a time (``read_stream``, ``ingest.iter_documents``; the build keeps a small
``DocInfo`` per document, not its text), each passage is written to ``passages.jsonl`` as it
is chunked (``write_passages``; the build keeps ints and hashes per passage, no ``Passage``
objects), the vectors go into a memory-mapped ``vectors.npy``, the FAISS index is written and
freed before BM25 is built, and BM25 reads the passages back from the file. At 10M passages
the objects alone would take ~11 GB; the documents' texts of a national corpus several GB.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .abbrev import mine as mine_abbreviations
from .analysis import Analyzer, squash
from .chunk import ChunkSettings, chunk, chunk_document, context_prefix
from .config import Settings, default_corpus, default_index
from .errors import BuildError, IngestError, StoreError
from .ingest import READERS, IngestReport, ingest, iter_documents
from .models import Encoder, load_encoder
from .sparse import SparseIndex
from .store import (
    BuildLock,
    IndexData,
    PassageTable,
    PassageWriter,
    current_generation,
    new_generation,
    open_index,
    read_manifest,
    remove_leftovers,
    vector_file,
    write_index,
)
from .types import Document, Location, Passage
from .vectors import release

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
EMBED_BATCH = 32


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


# --- what the encoder and BM25 see ---------------------------------------------------------


def embed_text(p: Passage, with_headings: bool) -> str:
    """The text the encoder sees for a passage: its section path, then the passage."""
    prefix = context_prefix(p) if with_headings else ""
    return f"{prefix}\n{p.text}" if prefix else p.text


def bm25_text(p: Passage) -> str:
    """The text BM25 indexes: metadata and section path count as words of the passage."""
    meta = " ".join(str(x) for x in (p.gemeente, p.doc_type, p.year) if x)
    return f"{meta}\n{context_prefix(p)}\n{p.text}"


def embed_key(model_id: str, prefix: str, text: str) -> bytes:
    """Identity of an embedded text: same model, prefix and text → the same vector, re-usable."""
    return hashlib.sha1(f"{model_id}\0{prefix}\0{text}".encode()).hexdigest()[:32].encode()


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


@dataclass(frozen=True)
class DocInfo:
    """What the build keeps of a document once it is chunked: the fields of its manifest entry
    (``doc_entry``), not its text, blocks or pages."""

    source: str
    title: str
    gemeente: str | None
    year: int | None
    doc_type: str | None
    content_hash: str
    pages: int | None  # None: a format without pages
    chars: int
    meta_origin: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, d: Document | DocInfo) -> DocInfo:
        if isinstance(d, DocInfo):
            return d
        return cls(
            source=d.source,
            title=d.title,
            gemeente=d.gemeente,
            year=d.year,
            doc_type=d.doc_type,
            content_hash=d.content_hash,
            pages=len(d.page_starts) or None,
            chars=len(d.text),
            meta_origin=tuple(getattr(d, "meta_origin", ())),
        )


# --- the steps -----------------------------------------------------------------------------


def read(roots: Sequence[Path], s: Settings) -> IngestReport:
    """Discover and read every supported file into one list; unreadable ones are listed, not fatal.

    Holds every document's text (the tests, benchmarks and the Ray build's comparison use
    it); ``build_index`` reads with ``read_stream``."""
    try:
        report = ingest(roots, max_file_mb=s.max_file_mb if s.max_file_mb > 0 else None, extract_cache=s.extract_cache)
    except IngestError as e:
        raise BuildError(str(e)) from None
    check_readable(report, roots)
    return report


def read_stream(roots: Sequence[Path], s: Settings) -> tuple[IngestReport, Generator[Document, None, None]]:
    """``read`` one document at a time: the report (its ``skipped`` and ``notes`` complete once
    the documents are exhausted, its ``documents`` left empty) and the documents.

    The first document is read before this returns, so a corpus with nothing readable fails
    here with ``read``'s ``BuildError``, before the encoder loads or a generation folder is made.
    A broken ``corpus.toml`` or a missing path is a ``BuildError`` too (on the first read).
    """
    report = IngestReport([], [], [])
    max_mb = s.max_file_mb if s.max_file_mb > 0 else None
    docs = _build_errors(iter_documents(roots, max_file_mb=max_mb, extract_cache=s.extract_cache, report=report))
    first = next(docs, None)
    if first is None:
        check_readable(report, roots)
    return report, _after(first, docs)


def _build_errors(docs: Iterator[Document]) -> Iterator[Document]:
    try:
        yield from docs
    except IngestError as e:
        raise BuildError(str(e)) from None


def _after(first: Document | None, rest: Iterator[Document]) -> Generator[Document, None, None]:
    if first is not None:
        yield first
    del first  # the first document is let go like the others
    yield from rest


def check_readable(report: IngestReport, roots: Sequence[Path]) -> None:
    """``BuildError`` when nothing could be read: one line naming the skipped files and why."""
    if report.documents:
        return
    where = ", ".join(map(str, roots))
    if report.skipped:
        why = "; ".join(f"{src}: {reason}" for src, reason in report.skipped[:5])
        more = f" (en nog {len(report.skipped) - 5})" if len(report.skipped) > 5 else ""
        raise BuildError(f"geen leesbare documenten in {where}; overgeslagen: {why}{more}")
    raise BuildError(f"geen leesbare documenten in {where} (ondersteund: {', '.join(sorted(READERS))})")


def chunk_settings(s: Settings) -> ChunkSettings:
    return ChunkSettings(s.chunk_chars, s.chunk_min_chars, s.chunk_overlap_sentences)


def chunk_documents(docs: Sequence[Document], s: Settings) -> list[Passage]:
    """Documents → passages (heading-aware, sentence-aligned, stable ids)."""
    return chunk(list(docs), chunk_settings(s))


def chunk_stream(docs: Iterable[Document], s: Settings, record: list[DocInfo] | None = None) -> Iterator[Passage]:
    """Every document's passages in order, before identical ones are collapsed
    (``write_passages`` does that as it writes; ``chunk.chunk`` is the same in one list).

    ``docs`` may be a stream (``read_stream``): no document is held after its passages.
    ``record``: each document's ``DocInfo`` is appended to it before its passages come."""
    cfg = chunk_settings(s)
    for d in docs:
        if record is not None:
            record.append(DocInfo.of(d))
        yield from chunk_document(d, cfg)
        del d  # not held while the next document is read


def dedupe_key(text: str) -> bytes:
    """What identifies a passage's text for ``chunk.dedupe`` (its squashed text), as 16 bytes."""
    return hashlib.blake2b(squash(text).encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass
class WrittenPassages:
    """The passages of a build once ``write_passages`` has written them: what the build
    keeps per passage is a document number and an embed key (ints and bytes in arrays), and
    ``table`` reads the passages back from the new generation's ``passages.jsonl``."""

    table: PassageTable
    doc: np.ndarray  # (n,) int32: document number of each passage's first location
    extra: np.ndarray  # (m, 2) int32: (row, document number) of the other locations (``also_at``)
    keys: np.ndarray  # (n,) S32: embed key of each passage (``embed_key``)
    distinct: int = 0  # distinct texts seen (= n when identical passages are collapsed)

    def __len__(self) -> int:
        return len(self.doc)

    def __iter__(self) -> Iterator[Passage]:
        return iter(self.table)

    def __getitem__(self, i: int) -> Passage:
        return self.table.read(i)


def write_passages(
    passages: Iterable[Passage],
    tmp: Path,
    docs: Sequence[Document] | Sequence[DocInfo],
    enc: Encoder,
    s: Settings,
    collapse: bool = True,
) -> WrittenPassages:
    """Collapse identical passages (``chunk.dedupe``: the first occurrence is kept and cites the
    others in ``also_at``) and write them to ``passages.jsonl`` in ``tmp`` as they come.

    Held per passage until the end: a 16-byte hash of its text with its row (to find later
    duplicates), its document number and its embed key; the places of duplicates (few) are
    put into their lines when the file is closed (``store.PassageWriter``). The file is byte
    for byte what ``store.write_index`` writes of ``chunk.chunk``'s list.

    ``collapse=False`` writes identical passages as rows of their own (bench/scale.py: its
    synthetic passages repeat by construction); their hashes are still computed and held.

    ``docs`` (documents or their ``DocInfo``) may grow while ``passages`` is consumed, as
    ``chunk_stream(..., record=docs)`` appends each document before its passages. A
    document's number is its place in ``docs`` (the last place, for a source listed twice).
    """
    doc_no: dict[str, int] = {}
    numbered = 0  # docs[:numbered] are in doc_no

    def number(source: str) -> int:
        nonlocal numbered
        if source not in doc_no:
            for i in range(numbered, len(docs)):
                doc_no[docs[i].source] = i
            numbered = len(docs)
        return doc_no[source]

    writer = PassageWriter(tmp)
    first: dict[bytes, int] = {}
    own_extra: dict[int, tuple[Location, ...]] = {}  # a passage that came with also_at (not from chunk_document)
    doc = array("i")
    keys = bytearray()
    model, prefix, headings = enc.model_id, enc.passage_prefix, s.embed_headings
    try:
        for p in passages:
            h = dedupe_key(p.text)
            row = first.get(h)
            if row is not None and collapse:
                writer.add_location(row, p.location)
                continue
            if row is None:
                row = first[h] = writer.add(p)
            else:
                row = writer.add(p)
            doc.append(number(p.source))
            keys += embed_key(model, prefix, embed_text(p, headings))
            if p.also_at:
                own_extra[row] = p.also_at
        distinct = len(first)
        del first
        n = writer.close()
    except BaseException:
        writer.abort()
        raise
    for i in range(numbered, len(docs)):  # every document, so a source listed twice has its last place
        doc_no[docs[i].source] = i
    last = np.array([doc_no[d.source] for d in docs], dtype=np.int32)
    doc_arr = np.frombuffer(doc, dtype=np.int32).copy() if n else np.zeros(0, dtype=np.int32)
    if len(doc_arr) and not np.array_equal(last, np.arange(len(docs), dtype=np.int32)):
        doc_arr = last[doc_arr]  # a passage numbered by an earlier place of its source gets the last
    pairs = [
        (row, doc_no[loc.source])
        for row in sorted(own_extra.keys() | writer.locations.keys())
        for loc in (*own_extra.get(row, ()), *writer.locations.get(row, ()))
        if loc.source in doc_no
    ]
    return WrittenPassages(
        table=PassageTable(tmp),
        doc=doc_arr,
        extra=np.array(pairs, dtype=np.int32).reshape(-1, 2),
        keys=np.frombuffer(keys, dtype="S32") if n else np.zeros(0, dtype="S32"),  # no copy (320 MB at 10M)
        distinct=distinct,
    )


class EmbedTexts:
    """The text the encoder sees for each row of written passages (``embed_text``), read
    from the file when asked: the build never holds all of them."""

    def __init__(self, passages: WrittenPassages, with_headings: bool):
        self._passages, self._headings = passages, with_headings

    def __len__(self) -> int:
        return len(self._passages)

    def __getitem__(self, i: int) -> str:
        return embed_text(self._passages[i], self._headings)


@dataclass
class EmbedPlan:
    """Which passages need the encoder and which re-use a vector of the live index."""

    texts: Sequence[str]  # a list, or ``EmbedTexts`` (read from the written passages)
    keys: Sequence[bytes]  # a list, or an S32 array
    vectors: np.ndarray  # (n, dim); re-used rows already filled
    todo: Sequence[int]  # rows still to embed, ascending
    old_docs: dict[str, str]  # source -> content hash of the live index, for the report


def vector_revision(enc: Encoder) -> str:
    """How the encoder makes its vectors, where that changed without the model changing
    (``OnnxE5Encoder.vector_revision``); vectors of another revision are not re-used."""
    return str(getattr(enc, "vector_revision", "") or "")


def previous_vectors(index_dir: Path, model_id: str, dim: int,
                     revision: str = "") -> tuple[np.ndarray, np.ndarray | None, dict[str, str]]:
    """Embed keys (S32) and vectors of the live index, row for row, for re-use; empty when
    incompatible or damaged."""
    try:
        open_index(index_dir, verify=True).close()  # re-use only from an index that passes every checksum
        gen = current_generation(index_dir)
        if gen is None:
            return _NO_KEYS, None, {}
        manifest = read_manifest(gen)
        old_docs = {d["source"]: d.get("content_hash", "") for d in manifest.get("documents", [])}
        model = manifest.get("model", {})
        if model.get("id") != model_id or model.get("dim") != dim or model.get("vectors", "") != revision:
            return _NO_KEYS, None, old_docs
        keys = np.load(gen / "meta.npz", allow_pickle=False)["embed_keys"]
        vecs = np.load(gen / "vectors.npy", mmap_mode="r", allow_pickle=False)
        if len(keys) != len(vecs) or keys.dtype.kind != "S":
            return _NO_KEYS, None, old_docs
        return keys, vecs, old_docs
    except (StoreError, OSError, KeyError, ValueError):
        return _NO_KEYS, None, {}


_NO_KEYS = np.zeros(0, dtype="S32")


def reuse_rows(keys: Sequence[bytes] | np.ndarray, old_keys: np.ndarray) -> np.ndarray:
    """For each key, the row of ``old_keys`` holding the same key (the last such row), or -1.

    Sorted arrays and a binary search: no dict of every old key (~1 GB of objects at 10M)."""
    new = np.asarray(keys, dtype="S32") if len(keys) else np.zeros(0, dtype="S32")
    out = np.full(len(new), -1, dtype=np.int64)
    if not len(old_keys) or not len(new):
        return out
    old = np.asarray(old_keys, dtype="S32")
    order = np.argsort(old, kind="stable")  # equal keys keep their row order: the last is the rightmost
    ordered = old[order]
    pos = np.searchsorted(ordered, new, side="right") - 1
    hit = (pos >= 0) & (ordered[np.maximum(pos, 0)] == new)
    out[hit] = order[pos[hit]]
    return out


def plan_embedding(passages: Sequence[Passage], enc: Encoder, index_dir: Path, s: Settings, tmp: Path | None = None) -> EmbedPlan:
    """The embedded text and key of each passage; vectors of unchanged text copied from the live index.

    With ``tmp`` (the new generation's folder, ``store.new_generation``) the vectors live in
    its memory-mapped ``vectors.npy`` (10M × 384 float32 = 15 GB stays on disk, not in
    memory); without, in one array in memory.
    """
    texts = [embed_text(p, s.embed_headings) for p in passages]
    keys = [embed_key(enc.model_id, enc.passage_prefix, t) for t in texts]
    plan = _plan(len(passages), keys, enc, index_dir, tmp)
    plan.texts, plan.todo = texts, plan.todo.tolist()
    return plan


def plan_written(passages: WrittenPassages, enc: Encoder, index_dir: Path, s: Settings, tmp: Path) -> EmbedPlan:
    """``plan_embedding`` for passages ``write_passages`` wrote into ``tmp``: their keys are
    known, their texts are read from the file when the encoder needs them."""
    plan = _plan(len(passages), passages.keys, enc, index_dir, tmp)
    plan.texts = EmbedTexts(passages, s.embed_headings)
    return plan


REUSE_BLOCK = 65_536


def _plan(n: int, keys: Sequence[bytes] | np.ndarray, enc: Encoder, index_dir: Path, tmp: Path | None) -> EmbedPlan:
    old_keys, old_vecs, old_docs = previous_vectors(index_dir, enc.model_id, enc.dim, vector_revision(enc))
    vectors = np.zeros((n, enc.dim), dtype=np.float32) if tmp is None else vector_file(tmp, n, enc.dim)
    src = reuse_rows(keys, old_keys) if old_vecs is not None else np.full(n, -1, dtype=np.int64)
    found = np.flatnonzero(src >= 0)
    for a in range(0, len(found), REUSE_BLOCK):  # blocks: gathers from a mapped file, bounded memory
        rows = found[a : a + REUSE_BLOCK]
        vectors[rows] = old_vecs[src[rows]]
        release(vectors, int(rows[0]), int(rows[-1]) + 1)
        release(old_vecs, int(src[rows].min()), int(src[rows].max()) + 1)
    return EmbedPlan([], keys, vectors, np.flatnonzero(src < 0), old_docs)


def embed(plan: EmbedPlan, enc: Encoder, progress: Progress | None = None) -> None:
    """Fill the rows of ``plan.vectors`` that need the encoder, in batches."""
    todo = plan.todo
    for start in range(0, len(todo), EMBED_BATCH):
        ids = list(todo[start : start + EMBED_BATCH])
        plan.vectors[ids] = enc.encode_passages([plan.texts[i] for i in ids], batch_size=EMBED_BATCH)
        release(plan.vectors, int(ids[0]), int(ids[-1]) + 1)  # written: out of the build's RSS
        if progress:
            progress(min(start + EMBED_BATCH, len(todo)), len(todo))


def vector_index(vectors: np.ndarray) -> tuple[Any, str, dict[str, Any]]:
    """The FAISS index sized to the corpus (see vectors.py)."""
    from .vectors import build_vector_index

    return build_vector_index(vectors)


def sparse_index(passages: Iterable[Passage], s: Settings, analyzer: Analyzer | None = None) -> SparseIndex:
    """BM25 over the Dutch analyzer's terms of metadata, section path and text (the passages
    are read once, in order: a list, or the written passages read back from their file)."""
    analyzer = analyzer or Analyzer()
    return SparseIndex.build((analyzer.terms(bm25_text(p)) for p in passages), k1=s.bm25_k1, b=s.bm25_b)


class PassageTexts:
    """``p.text`` of each passage, for ``abbrev.mine`` (a sequence: it samples with a step),
    read from the written passages when asked."""

    def __init__(self, passages: Sequence[Passage] | WrittenPassages):
        self._passages = passages

    def __len__(self) -> int:
        return len(self._passages)

    def __iter__(self) -> Iterator[str]:
        return (p.text for p in self._passages)

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self._passages[j].text for j in range(len(self))[i]]
        return self._passages[i].text


def doc_entry(d: Document | DocInfo, n_passages: int) -> dict[str, Any]:
    """One document in the manifest: its citation fields, content hash and size."""
    info = DocInfo.of(d)
    entry: dict[str, Any] = {
        "source": info.source,
        "title": info.title,
        "gemeente": info.gemeente,
        "year": info.year,
        "doc_type": info.doc_type,
        "content_hash": info.content_hash,
        "pages": info.pages,
        "chars": info.chars,
        "passages": n_passages,
    }
    if info.meta_origin:
        entry["meta_origin"] = dict(info.meta_origin)
    return entry


def assemble(
    roots: Sequence[Path],
    report: IngestReport,
    passages: Sequence[Passage] | WrittenPassages,
    plan: EmbedPlan,
    enc: Encoder,
    s: Settings,
    analyzer: Analyzer | None = None,
    fingerprint: str = "",
    tmp: Path | None = None,
    docs: Sequence[DocInfo] | None = None,
) -> IndexData:
    """Vector index, sparse index and manifest around the embedded passages: what ``write_index`` writes.

    ``passages``: a list, or what ``write_passages`` wrote into ``tmp``. With ``tmp`` (the new
    generation's folder) the FAISS index is written there and freed before BM25 is built, and
    BM25 is saved there as soon as it is built, so the two never take memory at once.
    ``docs``: the documents' records of a streamed build (default: ``report.documents``).
    """
    analyzer = analyzer or Analyzer()
    docs = report.documents if docs is None else docs
    faiss_index, factory, faiss_info = vector_index(plan.vectors)
    if tmp is not None:
        import faiss

        faiss.write_index(faiss_index, str(tmp / "vectors.faiss"))
        faiss_index = None  # freed: the index is on disk, BM25 gets its memory
    sparse = sparse_index(passages, s, analyzer)
    bm25_settings = sparse.settings()
    if tmp is not None:
        sparse.save(tmp / "bm25")
        sparse = None
    abbreviations = mine_abbreviations(PassageTexts(passages))
    doc_no = {d.source: i for i, d in enumerate(docs)}
    if isinstance(passages, WrittenPassages):
        passage_doc, extra = passages.doc, passages.extra
    else:
        passage_doc = np.array([doc_no[p.source] for p in passages], dtype=np.int32)
        extra = np.array(
            [(i, doc_no[loc.source]) for i, p in enumerate(passages) for loc in p.also_at if loc.source in doc_no],
            dtype=np.int32,
        ).reshape(-1, 2)
    per_doc = np.bincount(passage_doc, minlength=len(docs)) if len(passage_doc) else np.zeros(len(docs), dtype=np.int64)
    manifest = {
        "model": {
            "id": enc.model_id,
            "dim": enc.dim,
            "query_prefix": enc.query_prefix,
            "passage_prefix": enc.passage_prefix,
            "runtime": type(enc).__name__,
            **({"vectors": vector_revision(enc)} if vector_revision(enc) else {}),
        },
        "embed": {"headings": s.embed_headings},
        "chunker": chunk_settings(s).as_dict(),
        "analyzer": analyzer.settings(),
        "bm25": bm25_settings,
        "faiss": faiss_info,
        "abbreviations": {"defined": len(abbreviations.long_forms), "initials": len(abbreviations.initials)},
        "corpus": {
            "paths": [str(r) for r in roots],
            "fingerprint": fingerprint,
            "skipped": [{"source": src, "reason": why} for src, why in report.skipped],
        },
        "counts": {"documents": len(docs), "embedded": len(plan.todo), "reused": len(passages) - len(plan.todo)},
        "documents": [doc_entry(d, int(per_doc[i])) for i, d in enumerate(docs)],
    }
    return IndexData(
        passages=passages.table if isinstance(passages, WrittenPassages) else passages,
        vectors=plan.vectors,
        faiss_index=faiss_index,
        faiss_factory=factory,
        sparse=sparse,
        passage_doc=passage_doc,
        extra_doc_pairs=extra,
        embed_keys=np.asarray(plan.keys, dtype="S32") if len(plan.keys) else np.zeros(0, dtype="S32"),
        manifest=manifest,
        abbreviations=abbreviations.to_json(),
    )


def summarize(
    index_dir: Path,
    report: IngestReport,
    passages: Sized,
    plan: EmbedPlan,
    t0: float,
    embed_seconds: float,
    docs: Sequence[DocInfo] | None = None,
) -> BuildReport:
    """What changed against the previous index, for people (``docs`` as in ``assemble``)."""
    docs = report.documents if docs is None else docs
    new_docs = {d.source: d.content_hash for d in docs}
    old_docs = plan.old_docs
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
        embedded=len(plan.todo),
        reused=len(passages) - len(plan.todo),
        seconds=time.perf_counter() - t0,
        embed_seconds=embed_seconds,
    )


# --- the whole build -----------------------------------------------------------------------


def build_index(
    paths: Sequence[str | Path] | None = None,
    index: str | Path | None = None,
    settings: Settings | None = None,
    encoder: Encoder | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Ingest ``paths`` (default: the corpus), chunk, embed and write the index atomically.

    Vectors of passages whose text is unchanged are re-used from the live index. Files
    that cannot be read are skipped and listed in the report. Documents are read one at a
    time and let go once chunked (``read_stream``): the build holds one document's text.
    Raises ``BuildError`` when nothing can be indexed, ``StoreError`` when another build
    holds the index.
    """
    t0 = time.perf_counter()
    s = settings or Settings.load()
    roots = [Path(p) for p in (paths or [default_corpus(s)])]
    index_dir = Path(index) if index is not None else default_index(s)
    with BuildLock(index_dir):  # first: a second build is refused before any reading or embedding
        remove_leftovers(index_dir)  # a killed build's folder (its vectors.npy may be large) goes first
        report, documents = read_stream(roots, s)  # the first document read: nothing readable fails here
        try:
            fingerprint = corpus_fingerprint(roots)
        except (UnicodeEncodeError, OSError):  # a file name that is not UTF-8 (skipped) or a file that vanished
            fingerprint = ""
        enc = encoder or load_encoder(s.model, s.runtime, threads=s.threads, variant=s.e5_variant)
        tmp = new_generation(index_dir)  # passages, vectors, FAISS and BM25 are written into it as they come
        docs: list[DocInfo] = []  # filled as the documents are read and chunked
        try:
            passages = write_passages(chunk_stream(documents, s, record=docs), tmp, docs, enc, s)
            plan = plan_written(passages, enc, index_dir, s, tmp)
            t_embed = time.perf_counter()
            embed(plan, enc, progress)
            embed_seconds = time.perf_counter() - t_embed
            data = assemble(roots, report, passages, plan, enc, s, fingerprint=fingerprint, tmp=tmp, docs=docs)
        except BaseException:
            documents.close()  # a file half read is let go now, not when the generator is collected
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        write_index(index_dir, data, tmp)
    return summarize(index_dir, report, passages, plan, t0, embed_seconds, docs=docs)
