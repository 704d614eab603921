"""Evaluation: eval sets → nDCG@10, RR@10, R@k (via ir-measures), answer accuracy, misses.

Relevance is judged by span, not by passage id (eval/README.md): a passage of the index
is relevant to a query when it covers one of the query's answer spans (at least half of
the span, or it lies inside the span). The relevant passages are worked out against the
index being evaluated, so the eval set itself survives any change of the chunker. A
passage that occurs in several places (``also_at``) is relevant when any copy covers a
span; a hit that absorbed a near-duplicate at query time counts for the passage it
absorbed. Metrics are computed by ir-measures over these judgements.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .ingest import IngestError, load_manifest, read_document
from .retrieve import Retriever
from .text import squash
from .types import Hit, Location, Passage

RETRIEVAL_MEASURES = ("nDCG@10", "RR@10", "R@1", "R@5", "R@10")


class EvalError(ValueError):
    """The eval file is unreadable or does not match the corpus; one line says where."""


@dataclass(frozen=True)
class Span:
    source: str
    start: int
    end: int


@dataclass
class EvalReport:
    mode: str
    metrics: dict[str, float] = field(default_factory=dict)
    per_query: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)
    by_tag: dict[str, dict[str, float]] = field(default_factory=dict)
    answers: dict[str, float] = field(default_factory=dict)
    answer_rows: list[dict[str, Any]] = field(default_factory=list)
    run: list[tuple[str, str, int, float]] = field(default_factory=list)  # (qid, passage id, rank, score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "metrics": self.metrics,
            "latency_ms": self.latency_ms,
            "by_tag": self.by_tag,
            "answers": self.answers,
            "per_query": self.per_query,
            "answer_rows": self.answer_rows,
        }


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise EvalError(f"cannot read eval file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise EvalError(f"eval file {path} is not UTF-8") from None
    items = []
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            item = json.loads(line)
        except ValueError as e:
            raise EvalError(f"{path}:{n}: not valid JSON ({e.msg})") from None
        if not isinstance(item, dict):
            raise EvalError(f"{path}:{n}: each line must be a JSON object")
        items.append(item)
    if not items:
        raise EvalError(f"eval file {path} holds no items")
    return items


class SpanLocator:
    """Finds eval spans in the corpus text exactly as ingest extracted it."""

    def __init__(self, corpus: Path):
        self.corpus = corpus
        self._manifest = load_manifest(corpus) if corpus.is_dir() else {}
        self._texts: dict[str, str] = {}

    def text(self, source: str) -> str:
        if source not in self._texts:
            path = self.corpus / source
            if not path.is_file():
                raise EvalError(f"eval names {source!r}, which is not in {self.corpus}")
            try:
                doc, _ = read_document(path, self.corpus, self._manifest)
            except IngestError as e:
                raise EvalError(f"cannot read {source}: {e}") from None
            self._texts[source] = doc.text
        return self._texts[source]

    def find(self, source: str, span: str) -> Span:
        text = self.text(source)
        start = text.find(span)
        if start < 0:
            raise EvalError(f"span not found in {source}: {span[:60]!r}")
        return Span(source, start, start + len(span))


def covers(loc: Location, span: Span) -> bool:
    """A passage location covers a span when it holds ≥ half of it or lies inside it."""
    if loc.source != span.source:
        return False
    overlap = min(loc.char_end, span.end) - max(loc.char_start, span.start)
    if overlap <= 0:
        return False
    return overlap * 2 >= span.end - span.start or (loc.char_start >= span.start and loc.char_end <= span.end)


class PassageLocations:
    """Every location of every passage in an index, by source, to judge coverage quickly."""

    def __init__(self, passages: Iterable[Passage]):
        self.by_source: dict[str, list[tuple[int, int, str]]] = {}
        self.owner: dict[tuple[str, int, int], str] = {}
        for p in passages:
            for loc in (p.location, *p.also_at):
                self.by_source.setdefault(loc.source, []).append((loc.char_start, loc.char_end, p.passage_id))
                self.owner.setdefault((loc.source, loc.char_start, loc.char_end), p.passage_id)

    def relevant(self, spans: list[Span]) -> set[str]:
        """Ids of the passages that cover any of ``spans``."""
        out = set()
        for sp in spans:
            for start, end, pid in self.by_source.get(sp.source, ()):
                if covers(Location(sp.source, start, end), sp):
                    out.add(pid)
        return out

    def owners(self, hit: Hit) -> list[str]:
        """The passage ids behind a hit: its own, then those of the copies it stands for."""
        ids = [hit.passage_id]
        for loc in hit.passage.also_at:
            pid = self.owner.get((loc.source, loc.char_start, loc.char_end))
            if pid and pid not in ids:
                ids.append(pid)
        return ids


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    vs = sorted(values)
    i = min(len(vs) - 1, max(0, round(q * (len(vs) - 1))))
    return vs[i]


def run_retrieval(retriever: Retriever, items: list[dict[str, Any]], locator: SpanLocator, mode: str | None, k: int = 10) -> EvalReport:
    import ir_measures

    mode = mode or retriever.settings.mode
    measures = [ir_measures.parse_measure(m) for m in RETRIEVAL_MEASURES]
    qrels: list[Any] = []
    run: list[Any] = []
    per_query: list[dict[str, Any]] = []
    latencies: list[float] = []
    trec: list[tuple[str, str, int, float]] = []
    seen_ids: set[str] = set()
    # Warm up once so model load and caches do not count as query latency.
    retriever.search(["warming up"], k=k, mode=mode)
    locations = PassageLocations(retriever.index.passages)
    for n, item in enumerate(items, start=1):
        qid = str(item.get("id") or n)
        if qid in seen_ids:
            raise EvalError(f"duplicate eval id {qid!r}")
        seen_ids.add(qid)
        query = item.get("query")
        rel = item.get("relevant")
        if not isinstance(query, str) or not query.strip() or not isinstance(rel, list) or not rel:
            raise EvalError(f"eval item {qid}: needs a non-empty 'query' and a 'relevant' list")
        spans = [locator.find(r["source"], r["span"]) for r in rel]
        relevant = locations.relevant(spans)
        for pid in sorted(relevant):
            qrels.append(ir_measures.Qrel(qid, pid, 1))
        t = time.perf_counter()
        hits = retriever.search([query], k=k, mode=mode)[0]
        latencies.append((time.perf_counter() - t) * 1000)
        credited: set[str] = set()
        first_rank = None
        for h in hits:
            found = [pid for pid in locations.owners(h) if pid in relevant and pid not in credited]
            did = found[0] if found else h.passage_id
            if found:
                credited.add(did)
                first_rank = first_rank or h.rank
            run.append(ir_measures.ScoredDoc(qid, did, float(k - h.rank + 1)))
            trec.append((qid, h.passage_id, h.rank, h.score))
        per_query.append(
            {
                "id": qid,
                "query": query,
                "tags": item.get("tags", []),
                "first_relevant_rank": first_rank,
                "relevant_found": len(credited),
                "relevant_total": len(relevant),
                "top_hit": hits[0].citation if hits else None,
                "top_text": hits[0].text[:160] if hits else None,
            }
        )
    per_metric: dict[str, dict[str, float]] = {}
    for m in ir_measures.iter_calc(measures, qrels, run):
        per_metric.setdefault(m.query_id, {})[str(m.measure)] = float(m.value)
    for row in per_query:
        row["metrics"] = {name: per_metric.get(row["id"], {}).get(name, 0.0) for name in RETRIEVAL_MEASURES}
    metrics = {name: statistics.fmean(r["metrics"][name] for r in per_query) for name in RETRIEVAL_MEASURES}
    by_tag: dict[str, dict[str, float]] = {}
    tags = sorted({t for r in per_query for t in r["tags"]})
    for tag in tags:
        rows = [r for r in per_query if tag in r["tags"]]
        by_tag[tag] = {"n": len(rows), **{m: statistics.fmean(r["metrics"][m] for r in rows) for m in ("nDCG@10", "R@5")}}
    return EvalReport(
        mode=mode,
        metrics=metrics,
        per_query=per_query,
        latency_ms={"p50": statistics.median(latencies), "p95": _percentile(latencies, 0.95), "mean": statistics.fmean(latencies)},
        by_tag=by_tag,
        run=trec,
    )


def run_answers(retriever: Retriever, items: list[dict[str, Any]], locator: SpanLocator) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Answer accuracy on answerable items; no-answer precision and recall on the rest."""
    from .answer import answer_question

    rows = []
    for n, item in enumerate(items, start=1):
        qid = str(item.get("id") or n)
        question = item.get("question")
        if not isinstance(question, str) or not question.strip():
            raise EvalError(f"answer item {qid}: needs a 'question'")
        gold = item.get("answer")
        ans = answer_question(retriever, question)
        row: dict[str, Any] = {
            "id": qid,
            "question": question,
            "gold": gold,
            "answer": ans.text,
            "span": ans.span,
            "confidence": round(ans.confidence, 3),
            "answerable": gold is not None,
            "answered": ans.answered,
        }
        if gold is not None:
            ctx = locator.find(item["source"], item["context"])
            g = squash(gold)
            ok = False
            for s in ans.sentences:
                loc = Location(s.hit.passage.source, s.char_start, s.char_end)
                same_place = covers(loc, ctx) or squash(item["context"]) in squash(s.text) or squash(s.text) in squash(item["context"])
                if same_place and g in squash(s.text):
                    ok = True
                    break
            row["correct"] = ok
        rows.append(row)
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    said_none = [r for r in rows if not r["answered"]]
    metrics = {
        "answer_accuracy": statistics.fmean(r["correct"] for r in answerable) if answerable else 0.0,
        "answered_rate": statistics.fmean(r["answered"] for r in answerable) if answerable else 0.0,
        "no_answer_precision": (sum(not r["answerable"] for r in said_none) / len(said_none)) if said_none else 0.0,
        "no_answer_recall": (sum(not r["answered"] for r in unanswerable) / len(unanswerable)) if unanswerable else 0.0,
        "answerable": float(len(answerable)),
        "unanswerable": float(len(unanswerable)),
    }
    return metrics, rows


def run_eval(retriever: Retriever, path: Path, corpus: Path, mode: str | None = None) -> EvalReport:
    """Run one eval file; its kind (retrieval or answers) is read from its items."""
    items = read_jsonl(path)
    locator = SpanLocator(corpus)
    if all("query" in it for it in items):
        return run_retrieval(retriever, items, locator, mode)
    if all("question" in it for it in items):
        metrics, rows = run_answers(retriever, items, locator)
        return EvalReport(mode=mode or retriever.settings.mode, answers=metrics, answer_rows=rows)
    raise EvalError(f"{path}: items need either 'query' + 'relevant' (retrieval) or 'question' (answers)")


def write_trec_run(report: EvalReport, path: Path, tag: str = "sdsearch") -> None:
    """TREC run format: ``qid Q0 docid rank score tag`` per line."""
    with open(path, "w", encoding="utf-8") as f:
        for qid, pid, rank, score in report.run:
            f.write(f"{qid} Q0 {pid} {rank} {score:.6f} {tag}\n")
