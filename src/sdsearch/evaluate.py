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
import re
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analysis import squash
from .errors import EvalError  # noqa: F401  (re-exported)
from .ingest import IngestError, load_manifest, read_document
from .retrieve import Retriever
from .types import Hit, Location, Passage

RETRIEVAL_MEASURES = ("nDCG@10", "RR@10", "R@1", "R@5", "R@10")


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
    # Per split ("dev", "test", "all") when the items carry a ``split`` field; else empty.
    by_split: dict[str, dict[str, float]] = field(default_factory=dict)  # retrieval metrics + "n"
    answers_by_split: dict[str, dict[str, float]] = field(default_factory=dict)
    answers_by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    reliability: list[dict[str, float]] = field(default_factory=list)  # confidence bucket → accuracy, n

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "metrics": self.metrics,
            "by_split": self.by_split,
            "latency_ms": self.latency_ms,
            "by_tag": self.by_tag,
            "answers": self.answers,
            "answers_by_split": self.answers_by_split,
            "answers_by_kind": self.answers_by_kind,
            "reliability": self.reliability,
            "per_query": self.per_query,
            "answer_rows": self.answer_rows,
        }


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise EvalError(f"kan evaluatiebestand {path} niet lezen: {e.strerror}") from None
    except UnicodeDecodeError:
        raise EvalError(f"evaluatiebestand {path} is geen UTF-8") from None
    items = []
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            item = json.loads(line)
        except ValueError as e:
            raise EvalError(f"{path}:{n}: geen geldige JSON ({e.msg})") from None
        if not isinstance(item, dict):
            raise EvalError(f"{path}:{n}: elke regel moet een JSON-object zijn")
        items.append(item)
    if not items:
        raise EvalError(f"evaluatiebestand {path} bevat geen vragen")
    return items


# "cal": questions only the answerer's confidence is fitted on (eval/answers4.jsonl).
SPLITS = ("dev", "test", "cal")


def select_split(items: list[dict[str, Any]], split: str | None) -> list[dict[str, Any]]:
    """The items of one split (``"dev"``/``"test"``/``"cal"``); ``None`` or ``"all"`` keeps every item.

    Asking for a split of a set whose items carry no ``split`` field is an error, not an
    empty set, so a typo cannot pass for a score.
    """
    if split in (None, "all"):
        return items
    if split not in SPLITS:
        raise EvalError(f"split moet dev, test, cal of all zijn, niet {split!r}")
    if not any("split" in it for it in items):
        raise EvalError(f"split={split!r} gevraagd, maar de vragen hebben geen veld 'split'")
    return [it for it in items if it.get("split") == split]


def _split_groups(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows per split, then all of them, when any row has a split; else nothing."""
    if not any(r.get("split") for r in rows):
        return {}
    groups = {sp: [r for r in rows if r.get("split") == sp] for sp in SPLITS}
    out = {sp: g for sp, g in groups.items() if g}
    if len(out) > 1 or len(rows) > sum(len(g) for g in out.values()):
        out["all"] = rows  # only when it differs from the one split shown
    return out


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
                raise EvalError(f"de evaluatieset noemt {source!r}, dat niet in {self.corpus} staat")
            try:
                doc, _ = read_document(path, self.corpus, self._manifest)
            except IngestError as e:
                raise EvalError(f"kan {source} niet lezen: {e}") from None
            self._texts[source] = doc.text
        return self._texts[source]

    def find(self, source: str, span: str) -> Span:
        text = self.text(source)
        start = text.find(span)
        if start < 0:
            raise EvalError(f"fragment niet gevonden in {source}: {span[:60]!r}")
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
            raise EvalError(f"dubbele vraag-id {qid!r}")
        seen_ids.add(qid)
        query = item.get("query")
        rel = item.get("relevant")
        if not isinstance(query, str) or not query.strip() or not isinstance(rel, list) or not rel:
            raise EvalError(f"vraag {qid}: heeft een niet-lege 'query' en een lijst 'relevant' nodig")
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
                "split": item.get("split"),
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
    by_split = {
        sp: {"n": float(len(rows)), **{m: statistics.fmean(r["metrics"][m] for r in rows) for m in RETRIEVAL_MEASURES}}
        for sp, rows in _split_groups(per_query).items()
    }
    return EvalReport(
        mode=mode,
        metrics=metrics,
        by_split=by_split,
        per_query=per_query,
        latency_ms={"p50": statistics.median(latencies), "p95": _percentile(latencies, 0.95), "mean": statistics.fmean(latencies)},
        by_tag=by_tag,
        run=trec,
    )


def _gold_places(item: dict[str, Any], qid: str) -> list[tuple[str, str, str]]:
    """(source, context, answer) of every place that answers the item: the main one, then ``also``."""
    places = []
    for p in [item, *(item.get("also") or [])]:
        src, ctx, ans = p.get("source"), p.get("context"), p.get("answer")
        if not all(isinstance(x, str) and x for x in (src, ctx, ans)):
            raise EvalError(f"antwoordvraag {qid}: een antwoord heeft 'source', 'context' en 'answer' nodig")
        places.append((src, ctx, ans))
    return places


def _is_table_row(text: str) -> bool:
    """A table line: a label and two or more figure cells ("Lasten 137.096 135.097 134.019")."""
    from .answer.tables import row_cells

    row = row_cells(text.strip())
    return row is not None and len(row.cells) >= 2


def _distinct(gold: str) -> bool:
    """A gold answer specific enough to count wherever it appears: it has words, or is a
    figure of five or more characters that is not a bare year ("137.096", not "10" or "2022")."""
    g = gold.strip()
    if re.search(r"[^\W\d_]{2,}", g):
        return True
    return len(g) >= 5 and not re.fullmatch(r"(?:19|20)\d{2}", g)


def judge(answer: Any, places: list[tuple[Span, str, str]]) -> bool:
    """Whether ``answer`` (an ``Answer``) holds a gold answer.

    Correct when an answer sentence lies at a gold place (covers the gold context, or the
    texts contain one another) and holds that place's answer; or when the answer's text
    holds a gold answer that is specific enough to count wherever it appears (``_distinct``:
    "IJmond Werkt!" from another sentence naming it is right). For a line of figures (a
    table row) the marked span must hold the answer, not just the row.
    """
    if not answer.sentences:
        return False
    whole = squash(" ".join(s.text for s in answer.sentences))
    span = squash(answer.span or "")
    for ctx_span, ctx, gold in places:
        g = squash(gold)
        table = _is_table_row(ctx)
        if table:
            if g and g in span:
                return True
            continue
        for s in answer.sentences:
            loc = Location(s.hit.passage.source, s.char_start, s.char_end)
            same_place = covers(loc, ctx_span) or squash(ctx) in squash(s.text) or squash(s.text) in squash(ctx)
            if same_place and g in squash(s.text):
                return True
        if _distinct(gold) and g in whole:
            return True
    return False


def headline(answer: Any) -> str | None:
    """The fact shown on the "Antwoord:" line (a marked span up to ``render.SHORT_SPAN``
    characters), or None when the answer shows only its sentences."""
    from .render import SHORT_SPAN

    span = answer.fact if answer.sentences else None
    return span if span and len(span) <= SHORT_SPAN else None


_FIGURE = re.compile(r"\d[\d.,]*|\b(?:een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf)\b")
_LEAD = re.compile(r"^(?:de|het|een|over|maximaal|minimaal|ruim|circa|bij|naar|door|met|van|aan)\s+")


def headline_right(shown: str, golds: list[str]) -> bool:
    """The "Antwoord:" line holds a gold answer ("Stroomopwaarts"; "137.096" in "Lasten 2020:
    137.096 (x € 1.000)"), or is part of one that still says it: half of it or more, the gold
    without its leading article or preposition ("CPB" for "het CPB"), or every figure of it
    ("3" for "3 partijen", not for "3 keer 3 jaar"). "IJmond" is not "de gemeenten in de
    IJmond, Zuid-Kennemerland en Haarlemmermeer"."""
    s = squash(shown)
    if not s:
        return False
    for gold in golds:
        g = squash(gold)
        if not g:
            continue
        if g in s:
            return True
        if s not in g:
            continue
        bare = g
        while (m := _LEAD.match(bare)) is not None:
            bare = bare[m.end() :]
        figures = _FIGURE.findall(g)
        if 2 * len(s) >= len(g) or s == bare or (figures and _FIGURE.findall(s) == figures):
            return True
    return False


def _gold_rank(scored: list[Any], places: list[tuple[Span, str, str]]) -> int | None:
    """Rank (1 = best) of the first candidate sentence at a gold place that holds its answer."""
    for n, c in enumerate(scored, start=1):
        loc = Location(c.hit.passage.source, c.start, c.end)
        for ctx_span, ctx, gold in places:
            same_place = covers(loc, ctx_span) or squash(ctx) in squash(c.text) or squash(c.text) in squash(ctx)
            if same_place and squash(gold) in squash(c.text):
                return n
    return None


def answer_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Accuracy on answerable rows; no-answer precision and recall on the rest."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    said_none = [r for r in rows if not r["answered"]]
    answered = [r for r in answerable if r["answered"]]
    heads = [r for r in answered if r.get("headline") is not None]
    return {
        "answer_accuracy": statistics.fmean(r["correct"] for r in answerable) if answerable else 0.0,
        "answered_rate": statistics.fmean(r["answered"] for r in answerable) if answerable else 0.0,
        "no_answer_precision": (sum(not r["answerable"] for r in said_none) / len(said_none)) if said_none else 0.0,
        "no_answer_recall": (sum(not r["answered"] for r in unanswerable) / len(unanswerable)) if unanswerable else 0.0,
        # The "Antwoord:" line: how often an answered question shows one, and how often it is right.
        "headline_shown": (len(heads) / len(answered)) if answered else 0.0,
        "headline_precision": statistics.fmean(bool(r.get("headline_right")) for r in heads) if heads else 0.0,
        "answerable": float(len(answerable)),
        "unanswerable": float(len(unanswerable)),
    }


RELIABILITY_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0001)


def reliability_table(rows: list[dict[str, Any]], edges: tuple[float, ...] = RELIABILITY_EDGES) -> list[dict[str, float]]:
    """Confidence bucket → how often the answer shown at that confidence is right.

    Every row counts with the answer it would show at its confidence (its best candidate):
    right when it holds the gold answer, wrong when the question has no answer in the
    reports. ``lo``–``hi`` is the bucket, ``n`` its rows, ``accuracy`` the share right.
    """
    out = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        inb = [r for r in rows if lo <= r["confidence"] < hi]
        acc = statistics.fmean(bool(r["candidate_correct"]) for r in inb) if inb else float("nan")
        out.append({"lo": lo, "hi": min(hi, 1.0), "n": float(len(inb)), "accuracy": acc})
    return out


def run_answers(retriever: Retriever, items: list[dict[str, Any]], locator: SpanLocator) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Answer accuracy on answerable items; no-answer precision and recall on the rest.

    Each row also says what would have been answered at any confidence
    (``candidate``/``candidate_correct``, for calibration) and where the gold sentence
    ranked among the scored candidates (``gold_rank``; None when it was not among them).
    """
    from .answer.decide import decide

    rows = []
    seen: set[str] = set()
    for n, item in enumerate(items, start=1):
        qid = str(item.get("id") or n)
        if qid in seen:
            raise EvalError(f"dubbele vraag-id {qid!r}")
        seen.add(qid)
        question = item.get("question")
        if not isinstance(question, str) or not question.strip():
            raise EvalError(f"antwoordvraag {qid}: heeft een 'question' nodig")
        gold = item.get("answer")
        d = decide(retriever, question)
        ans = d.answer
        row: dict[str, Any] = {
            "id": qid,
            "question": question,
            "split": item.get("split"),
            "kind": item.get("kind") or item.get("type"),
            "gold": gold,
            "answer": ans.text,
            "span": ans.span,
            "candidate": d.candidate.text,
            "confidence": round(d.candidate.confidence, 4),
            "answerable": gold is not None,
            "answered": ans.answered,
            "gold_rank": None,
        }
        if gold is not None:
            places = [(locator.find(src, ctx), ctx, a) for src, ctx, a in _gold_places(item, qid)]
            ok = judge(d.candidate, places)
            row["candidate_correct"] = ok
            row["correct"] = ok and ans.answered
            row["gold_rank"] = _gold_rank(d.scored, places)
            row["headline"] = headline(ans)
            row["headline_right"] = row["headline"] is not None and headline_right(row["headline"], [a for _, _, a in places])
        else:
            row["candidate_correct"] = False
        rows.append(row)
    return answer_metrics(rows), rows


def _answer_report(mode: str, rows: list[dict[str, Any]], metrics: dict[str, float]) -> EvalReport:
    kinds = sorted({str(r["kind"]) for r in rows if r["kind"]})
    by_kind = {}
    for kind in kinds:
        ks = [r for r in rows if r["kind"] == kind]
        m = answer_metrics(ks)
        by_kind[kind] = {"n": float(len(ks)), "answer_accuracy": m["answer_accuracy"], "answerable": m["answerable"]}
    return EvalReport(
        mode=mode,
        answers=metrics,
        answer_rows=rows,
        answers_by_split={sp: answer_metrics(g) for sp, g in _split_groups(rows).items()},
        answers_by_kind=by_kind,
        reliability=reliability_table(rows),
    )


def run_eval(retriever: Retriever, path: Path, corpus: Path, mode: str | None = None, split: str | None = None) -> EvalReport:
    """Run one eval file; its kind (retrieval or answers) is read from its items.

    ``split`` ("dev", "test"; None or "all" for every item) keeps one split of a set
    whose items carry a ``split`` field. Without a filter, such a set is reported per split
    (``by_split`` / ``answers_by_split``) as well as whole.
    """
    items = select_split(read_jsonl(path), split)
    if not items:
        raise EvalError(f"{path}: geen vragen in split {split!r}")
    locator = SpanLocator(corpus)
    if all("query" in it for it in items):
        return run_retrieval(retriever, items, locator, mode)
    if all("question" in it for it in items):
        metrics, rows = run_answers(retriever, items, locator)
        return _answer_report(mode or retriever.settings.mode, rows, metrics)
    raise EvalError(f"{path}: vragen hebben 'query' + 'relevant' (zoeken) of 'question' (antwoorden) nodig")


def write_trec_run(report: EvalReport, path: Path, tag: str = "sdsearch") -> None:
    """TREC run format: ``qid Q0 docid rank score tag`` per line."""
    with open(path, "w", encoding="utf-8") as f:
        for qid, pid, rank, score in report.run:
            f.write(f"{qid} Q0 {pid} {rank} {score:.6f} {tag}\n")
