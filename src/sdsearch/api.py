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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .analysis import Analyzer
from .build import BuildReport, build_index, corpus_fingerprint
from .config import Settings, default_corpus, default_index
from .errors import BuildError, FilterError, QueryError, StoreError
from .retrieve import Filters, Retriever
from .store import current_generation, open_index, read_manifest
from .types import Answer, Hit

log = logging.getLogger("sdsearch")


# --- searching --------------------------------------------------------------------------

_RETRIEVERS: dict[tuple[str, str, Settings], Retriever] = {}
_ENSURED: set[tuple[str, str]] = set()  # (corpus, index) pairs checked in this process


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
        analyzer_current = manifest.get("analyzer") == Analyzer().settings()
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
    r.allowed_mask(filters)  # unknown filter values fail here, once, with what the index holds
    names = sorted({str(d["gemeente"]) for d in r.index.documents if d.get("gemeente")}, key=str.casefold)
    if filters.gemeente:
        names = [g for g in names if Filters.make(g).gemeente[0] in filters.gemeente]
    out: dict[str, Answer] = {}
    for g in names:
        out[g] = answer_question(r, question, k=k, filters=Filters.make(g, year, doc_type))
    return out


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
