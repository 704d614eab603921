"""Sentence scoring: every sentence of the top passages, scored as the evidence of an answer.

A candidate sentence is described by a handful of explainable features
(``ScoredSentence.features``), and its score is their weighted sum (``Weights``, fitted by
``bench/answer_calibrate.py`` on development questions only). The features say:

* how close the sentence is to the question (encoder cosine; IDF-weighted coverage of the
  question's focus words by the sentence, by its context — heading, neighbours, gemeente and
  year — and by its section heading);
* whether it leans on a neighbour that carries the question's words: it starts with an
  anaphor or connective ("Deze wet komt in de plaats van ...", "Dat komt door ...") after
  a sentence that restates the question, or the next sentence points back at it
  ("Daardoor stijgen de kosten ..." after the cause; "Zij zijn betrokken bij ..." after
  the sentence that names them);
* whether it holds evidence of the asked type — an amount of the counted thing (with the
  unit "hoe lang", "hoe vaak" or "welk percentage" asks for), a date, a name (marked as the
  answer when it follows the asked preposition or noun: "naar de omliggende gemeenten",
  "onderwijsinstellingen Albeda en Lentiz"), a cause, what something is or does, a table
  cell — and how much it says beyond the question's own words;
* the rank of its passage, and whether it is about another gemeente or year than asked.

A table cell is addressed like a reader does: the row by its label, the table by its header
line and section, the column by the year, date, place or class the question names
(``_row_cover``, ``tables.choose_column``). A sentence that only restates the question shows
what follows it, up to the sentence with the fact (``score_sentences``, at most three
sentences).
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from ..analysis import fold, sentence_spans
from ..retrieve import Retriever
from ..types import Hit, Passage
from . import tables
from .context import neighbours
from .question import (
    YEAR,
    Bag,
    QuestionInfo,
    analyse_question,
    asked_noun,
    asked_preposition,
    asks_money,
    coverage,
    has_word,
    is_keyword_query,
    stems,
    word_credits,
)
from .spans import (
    ACTION,
    CAUSE,
    CONSEQUENCE,
    DEFINES,
    DEFINING,
    DEMONYM,
    asked_unit,
    fact_span,
    has_unit,
    is_typed,
    name_order,
    sort_fits,
    words_near,
)


@dataclass(frozen=True)
class Weights:
    """Every number that shapes an answer. The feature weights are fitted (conditional logit
    over each question's candidates) by ``python bench/answer_calibrate.py`` on eval/answers.jsonl
    and the dev split of eval/answers2.jsonl; the rest are fixed by hand."""

    # -- feature weights (names match ScoredSentence.features) --
    cos: float = 4.347
    cover: float = 3.434
    context: float = 2.588
    heading: float = 1.186
    lean_prev: float = 1.001
    lean_next: float = 1.039
    novelty: float = -1.745
    fact: float = 1.377
    no_fact: float = -0.948
    restate: float = -0.848
    cue_reason: float = 0.675
    cue_define: float = 0.501
    cue_which: float = 0.917
    cue_keyword: float = 0.538
    ordinal: float = 1.872
    typed: float = 0.747
    rank: float = 2.369
    mismatch: float = -2.335
    header: float = -3.024
    short: float = -0.216
    # -- fixed --
    inflection: float = 0.75  # coverage credit for another inflection of a focus word
    compound_part: float = 0.5  # ... for a part of a compound
    other_word_share: float = 0.5  # weight of verbs and other non-nouns relative to nouns and names

    @classmethod
    def feature_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))[: FEATURE_COUNT]


FEATURE_COUNT = 20
WEIGHTS = Weights()


@dataclass(eq=False)
class ScoredSentence:
    """One candidate sentence and the features that scored it (``signals`` explains ``score``)."""

    hit: Hit
    start: int  # into the document text
    end: int
    text: str
    heading: str = ""
    prev: ScoredSentence | None = None  # the neighbouring sentences in the report
    next: ScoredSentence | None = None
    candidate: bool = True  # False for a neighbour from a passage outside the hits (context only)
    cos: float = 0.0
    cover: float = 0.0  # focus coverage by the sentence alone
    context_cover: float = 0.0  # ... with both neighbours, the heading and the metadata
    leans_on: ScoredSentence | None = None  # the neighbour this sentence needs to be read
    window: list[ScoredSentence] = field(default_factory=list)  # the answer this sentence would give, in text order
    fact_at: ScoredSentence | None = None  # the window's sentence that holds the asked-for fact
    span: tuple[int, int] | None = None
    fact_ok: bool = False  # the span is the asked-for fact (for "hoeveel X": a number of X)
    mismatch: bool = False
    is_header: bool = False
    row: tables.Row | None = None
    header: ScoredSentence | None = None  # for a table row: its header line
    column: int | None = None
    statement: str | None = None  # a table cell put in words: "Lasten 2020: 137.096 (x € 1.000)"
    table_title: str = ""  # for a table row: its header line ("Reserves (x € 1.000) 1/1/'20 + - 31/12/'20")
    column_words: str = ""  # ... and the words its addressed column answers to ("eind december" for 31/12/'20)
    no_data: bool = False  # the addressed cell says the report has no figure ("g.g.b.")
    top_seen: bool = True  # the question's rarest focus word is in the window, its neighbours or heading
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    signals: dict[str, float] = field(default_factory=dict)


_VEC_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_VEC_CACHE_SIZE = 20_000
_VEC_LOCK = threading.Lock()  # answers may be asked from several threads (the server)


def encode_sentences(retriever: Retriever, texts: list[str]) -> np.ndarray:
    """Passage-side vectors for sentences, memoised (the same passages come back often)."""
    enc = retriever.encoder
    assert enc is not None
    keys = [(enc.model_id, t) for t in texts]
    with _VEC_LOCK:
        todo = list(dict.fromkeys(k for k in keys if k not in _VEC_CACHE))
        # One sentence per call. A sentence's vector must not depend on what it is encoded with
        # (else an answer would depend on the questions asked before it): an encoder that shares
        # runs between texts would move it. The bundled e5 runs one text at a time anyway, but
        # several texts in one call go to its side-by-side pool, whose second session costs a
        # one-shot `ask` ~0.13 s to load for ~0.07 s saved on an answer's ~40 sentences.
        for k in todo:
            _VEC_CACHE[k] = enc.encode_passages([k[1]])[0]
        if todo:
            while len(_VEC_CACHE) > _VEC_CACHE_SIZE:
                _VEC_CACHE.popitem(last=False)
        for k in keys:
            _VEC_CACHE.move_to_end(k)
        return np.stack([_VEC_CACHE[k] for k in keys])


def _passage_sentences(hit: Hit, p: Passage, candidate: bool) -> list[ScoredSentence]:
    """Sentences of a passage; a table row or header line is one sentence however it reads
    ("... 50.000 - 100.000 inw. 2018 ..." is not split after "inw.")."""
    heading = " › ".join(p.section)
    spans = sentence_spans(p.text)
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", p.text)]
    whole = [
        (a, b)
        for a, b in lines
        if tables.row_cells(p.text[a:b]) is not None
        or tables.is_header(p.text[a:b])
        or (_ITEM.match(p.text[a:b]) and b - a < 300)
    ]
    if whole:
        spans = [sp for sp in spans if not any(a <= sp[0] < b for a, b in whole)]
        for a, b in whole:
            t = p.text[a:b]
            a2 = a + len(t) - len(t.lstrip())
            b2 = b - (len(t) - len(t.rstrip()))
            spans.append((a2, b2))
        spans.sort()
    out: list[ScoredSentence] = []
    for s, e in spans:
        if e - s < 3:
            continue
        out.append(ScoredSentence(hit, p.char_start + s, p.char_start + e, p.text[s:e], heading, candidate=candidate))
    return out


def _has_rows(sents: list[ScoredSentence]) -> bool:
    return sum(tables.row_cells(c.text) is not None for c in sents) >= 2


def candidate_sentences(hits: Sequence[Hit], retriever: Retriever | None = None) -> list[ScoredSentence]:
    """The sentences of ``hits``, linked to their neighbours in the report.

    The sentence before the first and after the last of a passage come from the passages
    beside it (context only, unless that passage is a hit too), so a sentence that leans
    on one across a passage boundary still finds it.
    """
    out: list[ScoredSentence] = []
    by_place: dict[tuple[str, int], ScoredSentence] = {}
    near = neighbours(retriever.index) if retriever is not None else None
    for h in hits:
        p = h.passage
        sents = _passage_sentences(h, p, True)
        if not sents:
            continue
        if near is not None:
            before = near.beside(p, -1)
            after = near.beside(p, 1)
            # A table is read whole: when the passage beside holds table rows, all of them come along.
            if before is not None:
                pre = _passage_sentences(Hit(before, 0.0, h.rank), before, False)
                sents = (pre if _has_rows(pre) else pre[-2:]) + sents
            if after is not None:
                post = _passage_sentences(Hit(after, 0.0, h.rank), after, False)
                sents = sents + (post if _has_rows(post) else post[:1])
        for a, b in zip(sents, sents[1:], strict=False):
            a.next, b.prev = b, a
        for c in sents:
            key = (c.hit.passage.source, c.start)
            if c.candidate and key in by_place:
                continue  # the same sentence from an overlapping passage
            if c.candidate:
                by_place[key] = c
            out.append(c)
    # A context sentence whose place is a candidate elsewhere stays context only.
    return out


def years_in(text: str) -> set[int]:
    """Years named in ``text``, with periods ("2020-2023", "2022 tot en met 2027") filled in."""
    years = {int(y) for y in YEAR.findall(text)}
    for m in re.finditer(r"((?:19|20)\d{2})\s*(?:[-–/]|tot en met|t/m)\s*((?:19|20)\d{2})", text):
        years |= set(range(int(m.group(1)), int(m.group(2)) + 1))
    return years


def constraint_ok(q: QuestionInfo, c: ScoredSentence) -> bool:
    """False when the sentence is about another gemeente or year than the question names.

    Gemeente: the passage's document (or the sentence itself) must be that gemeente's.
    Year: a sentence that names years must name the asked one; a sentence without years
    takes them from its passage, heading and document. A table cell is judged by its column.
    """
    p = c.hit.passage
    if q.gemeenten:
        places = {fold(str(p.gemeente or ""))} | {fold(str(loc.source)) for loc in p.also_at}
        if not places & set(q.gemeenten) and not any(g in fold(c.text) for g in q.gemeenten):
            return False
    if q.years and c.row is None:
        own = years_in(c.text)
        if own and not own & set(q.years):
            return False
        around = own | years_in(f"{c.heading}\n{p.text}") | ({p.year} if p.year else set())
        if not set(q.years) <= around:
            return False
    return True


# A sentence that cannot be read without the one before it.
_LEANS_BACK = re.compile(
    r"^(?:dit|deze|die|dat|hiermee|hierdoor|hiervoor|hierbij|hierin|hiervan|hierop|daarmee|daardoor|daarom|daarvoor"
    r"|daarbij|daarin|daarnaast|daarop|zij|ze|hij|zo|ook|verder|bovendien|tevens|maar|echter|waardoor|wel"
    r"|het (?:is|gaat|betreft|was|wordt|zijn|kent|heeft|lukt)|om (?:dit|dat|die|deze)|naar aanleiding van (?:dit|deze|die)"
    r"|in (?:dit|deze|die) \w+|als gevolg (?:hiervan|daarvan)|door (?:deze|dit|die)|denk (?:daarbij|hierbij)|zoals"
    r"|bijvoorbeeld|[\w ]{0,30}\bgaat het (?:hier )?om)\b",
    re.I,
)
_ORDINALS = {"eerste": 1, "tweede": 2, "derde": 3, "vierde": 4, "vijfde": 5, "zesde": 6, "zevende": 7, "laatste": -1}
_ITEM = re.compile(r"^\s*(?:[•*·-]|\(?[a-z0-9]{1,2}[.)])\s+")
_PEOPLE = frozenset(
    "inwoners mensen personen huishoudens clienten burgers bewoners jongeren kinderen ouderen gezinnen deelnemers".split()
)


# ... or says so a few words in: "We zetten bijvoorbeeld ...", "Wij stellen daarom voor ...".
_LEANS_BACK_INSIDE = re.compile(
    r"^\W*(?:[\w’'-]+\s+){1,3}(?:bijvoorbeeld|daarom|daardoor|hierdoor|daarbij|hierbij|daarmee|hiermee|daarvoor|hiervoor"
    r"|daarnaast|hiervan|daarvan|dit|deze)\b"
)


def leans_back(text: str) -> bool:
    t = fold(text.strip())
    return bool(_LEANS_BACK.match(t) or _LEANS_BACK_INSIDE.match(t))


# How people name the rows of a municipal budget table: "Lasten" are what is spent ("hoeveel geeft
# Vlaardingen uit", "de kosten", "de uitgaven"), "Baten" what comes in, and so on.
_BUDGET_WORDS = {
    "lasten": "uitgaven kosten kost uitgeven uitgeeft uitgegeven besteden besteedt besteed",
    "baten": "inkomsten opbrengsten ontvangsten ontvangt ontvangen",
    "toevoegingen": "toevoeging storting stortingen gestort",
    "onttrekkingen": "onttrekking onttrekt onttrokken",
    "saldo": "netto",
}
# How a question asks for a table's total row ("de reserves samen", "in totaal", "opgeteld").
_TOTAL_WORDS = "totaal samen opgeteld gezamenlijk gezamenlijke alles"


def _asks_total(question: str) -> bool:
    return bool(re.search(rf"\b(?:{'|'.join(_TOTAL_WORDS.split())}|in totaal|bij elkaar)\b", fold(question)))


def _is_total(c: ScoredSentence) -> bool:
    return c.row is not None and bool(re.match(r"(?:sub)?totaa?l", fold(c.row.label)))


def fact_agrees(q: QuestionInfo, sentence: str, span: tuple[int, int], retriever: Retriever) -> bool:
    """For "hoeveel X": X stands next to the number ("387 flexwoningen"), or anywhere in a
    table row (the row label names it). People count as people: "1.350 Velsenaren" answers
    "hoeveel inwoners"."""
    unit = asked_unit(q.text) if q.kind == "amount" else None
    if unit is not None and not has_unit(sentence, span, unit):
        return False  # "hoe lang" wants "3 jaar", not "4 samenwerkingsverbanden"
    if q.counted is None:
        return True
    near = words_near(sentence, *span) + " " + sentence[span[0] : span[1]]  # the span may hold it: "over 3 jaren"
    if has_word(q.counted, Bag.of(retriever, near)):
        return True
    if q.counted.word in _PEOPLE and (DEMONYM.search(near) or set(fold(near).split()) & _PEOPLE):
        return True
    return len(re.findall(r"\d[\d.,]*", sentence)) >= 3 and has_word(q.counted, Bag.of(retriever, sentence))


def _annotate_table(q: QuestionInfo, question: str, cands: list[ScoredSentence]) -> None:
    """Mark header lines, and address the cell of each table row: its header, column, value."""
    for c in cands:
        nxt = c.next
        if tables.is_header(c.text):
            # A header line: its row follows, or it states a unit ("(bedragen x € 1.000) 2019 2020 ...").
            h, row = tables.header_of(c.text), tables.row_cells(nxt.text) if nxt is not None else None
            c.is_header = h is not None and (h.unit is not None or (row is not None and len(h.labels) == len(row.cells)))
    for c in cands:
        if c.is_header:
            continue
        row = tables.row_cells(c.text)
        if row is None or all(_YEAR_CELL.fullmatch(c.text[a:b]) for a, b in row.cells):
            continue  # prose, or a line of a list of titles with their year ("Beleidsregels ... Bbz 2004 2018")
        header: ScoredSentence | None = None
        h: tables.Header | None = None
        x = c.prev
        steps = 0
        while x is not None and steps < 12:
            hh = tables.header_of(x.text) if tables.is_header(x.text) else None
            if hh is not None and (len(hh.labels) == len(row.cells) or (len(row.cells) == 1 and hh.unit)):
                header, h = x, hh
                break
            if tables.row_cells(x.text) is None and not (len(x.text) < 60 and not x.text.rstrip().endswith(".")):
                break  # prose: the table has ended (a short sub-heading like "Huidige investeringen" does not end it)
            x, steps = x.prev, steps + 1
        if h is None:  # the header may have become the section heading ("Reserves (x € 1.000) 1/1/'20 ...")
            for part in reversed(c.hit.passage.section):
                hh = tables.header_of(part) if tables.is_header(part) else None
                if hh is not None and len(hh.labels) == len(row.cells):
                    h = hh
                    break
        if h is None:
            continue
        c.row = row
        c.header = header
        c.table_title = h.text
        if len(row.cells) == 1 and len(h.labels) > 1:
            # One figure under several year columns: the row's own figure, no column to name.
            if q.years:
                continue  # cannot tell which year it is
            a, b = row.cells[0]
            value = c.text[a:b]
            c.span = (a, b)
            c.no_data = tables.is_no_data(value)
            c.statement = tables.statement(row, h, None, value)
            continue
        col = tables.choose_column(
            h, question, len(row.cells), c.hit.passage.gemeente, c.hit.passage.year, [c.text[a:b] for a, b in row.cells]
        )
        c.column = col
        if col is None:
            continue
        c.column_words = tables.column_words(h, col, len(row.cells))
        a, b = row.cells[col]
        value = c.text[a:b]
        c.span = (a, b)
        c.no_data = tables.is_no_data(value)
        c.statement = tables.statement(row, h, col, value)


def _after_prep(c: ScoredSentence, prep: str) -> bool:
    """The fact span follows the preposition the question asks with, within a few words:
    "naar de omliggende gemeenten" for "Naar wie ...?", "samen met Careyn, ..." for "Met welke ...?"."""
    assert c.span is not None
    before = fold(c.text[: c.span[0]]).split()[-4:]
    return prep in before


def _typed(c: ScoredSentence | None, question: str) -> bool:
    return c is not None and c.span is not None and c.row is None and is_typed(c.text, c.span, question)


def _row_cover(
    retriever: Retriever, q: QuestionInfo, allc: list[ScoredSentence], bags: dict[int, Bag], w: Weights
) -> dict[int, float]:
    """Focus coverage of each table row as the address of its cell: its row label, and its
    table's header and section ("Inburgering" under "Reserves (x € 1.000)" in "Financieel deel
    Sociaal domein").

    A question word that a row label holds picks rows, so it counts only for the rows whose
    label holds it: "baten" in the header "Baten en lasten meerjarig" does not make the row
    "Geraamd resultaat" an answer to "de geraamde baten". A total row ("Totaal reserves") sums
    the others: asked for a total ("samen", "in totaal"), it answers to every row's words."""
    tables_: dict[tuple[str, str], list[ScoredSentence]] = {}
    for c in allc:
        if c.row is not None and c.table_title:
            tables_.setdefault((c.hit.passage.source, c.table_title), []).append(c)
    asks_total = _asks_total(q.text)
    out: dict[int, float] = {}
    n = len(q.focus)
    for (_, title), rows in tables_.items():
        total = {id(c) for c in rows if _is_total(c)}
        total_words = Bag.of(retriever, _TOTAL_WORDS)
        own = {}
        for c in rows:
            b = bags[id(c)] | total_words if id(c) in total else bags[id(c)]
            head = fold(c.row.label).split()[0]  # type: ignore[union-attr]  # "Saldo van baten en lasten" is a saldo
            said = _BUDGET_WORDS.get(head, "")
            own[id(c)] = word_credits(q, b | Bag.of(retriever, said) if said else b, w.inflection, w.compound_part)
        selecting = [any(own[i][k] > 0 for i in own if i not in total) for k in range(n)]
        for c in rows:
            around = word_credits(q, Bag.of(retriever, f"{title}\n{c.heading}\n{c.column_words}"), w.inflection, w.compound_part)
            if id(c) in total and asks_total:
                got = sum(max([around[k]] + [o[k] for o in own.values()]) for k in range(n))
            else:
                got = sum(o if sel else max(o, a) for o, a, sel in zip(own[id(c)], around, selecting, strict=True))
            out[id(c)] = got / q.total_weight
    return out


_YEAR_CELL = re.compile(r"(?:19|20)\d{2}")


def _novelty(c_stems: set[str], q_stems: set[str]) -> float:
    """Share of the sentence's content words that the question does not hold."""
    if not c_stems:
        return 0.0
    return len(c_stems - q_stems) / len(c_stems)


def _ordinal_item(question: str, c: ScoredSentence) -> bool:
    """For "het vierde spoor": the sentence is item 4 of the list under a lead ending in ':'."""
    qf = fold(question)
    want = next((n for w, n in _ORDINALS.items() if re.search(rf"\b{w}\b", qf)), None)
    if want is None or not _ITEM.match(c.text) and not re.match(r"^\s*\S", c.text):
        return False
    items: list[ScoredSentence] = []
    x: ScoredSentence | None = c
    while x is not None and not x.text.rstrip().endswith(":") and len(items) < 12:
        items.insert(0, x)
        x = x.prev
    if x is None or not items:
        return False
    if want == -1:
        return c.next is None or c.next.text.rstrip().endswith(":") or not _ITEM.match(c.next.text)
    return len(items) == want and bool(_ITEM.match(c.text))


MAX_SENTENCES = 3
MAX_CHARS = 450


def build_window(c: ScoredSentence) -> list[ScoredSentence]:
    """What answering with ``c`` shows: ``c``, the sentence before it when ``c`` leans on it
    (an anaphor or connective, a colon lead-in), the sentence after it when that one leans
    on ``c`` ("Deze wet komt in de plaats van ...", "Daardoor stijgen ..."), the items under
    a colon lead-in, a table row's header line. At most three sentences and 450 characters;
    ``c`` always stays."""
    win = [c]
    if c.row is not None:
        if c.header is not None:
            win.insert(0, c.header)
        return win
    if c.prev is not None and (
        leans_back(c.text) or c.prev.text.rstrip().endswith(":") or CONSEQUENCE.search(fold(c.text))
    ):
        win.insert(0, c.prev)
    x = c
    while x.next is not None and len(win) < MAX_SENTENCES:
        n = x.next
        lead = x.text.rstrip().endswith(":") or (x is not c and _ITEM.match(x.text) and _ITEM.match(n.text))
        if not (lead or leans_back(n.text) or CONSEQUENCE.match(fold(n.text))):
            break
        win.append(n)
        x = n
    while len(win) > 1 and (len(win) > MAX_SENTENCES or sum(len(y.text) for y in win) > MAX_CHARS):
        far = max((y for y in win if y is not c), key=lambda y: abs(y.start - c.start))
        win.remove(far)
    return win


def score_sentences(
    retriever: Retriever, question: str, hits: Sequence[Hit], w: Weights = WEIGHTS
) -> tuple[QuestionInfo, list[ScoredSentence]]:
    """Every candidate sentence of ``hits`` scored, with its window, against ``question``; best first.

    Context-only neighbours are scored too (they can lean on a hit) but stay out of the
    returned list unless their place is not covered by a hit.
    """
    q = analyse_question(retriever, question, w.other_word_share)
    allc = candidate_sentences(hits, retriever)
    if not allc:
        return q, []
    if retriever.encoder is not None:
        qv = retriever.encoder.encode_queries([question])[0]
        cos = encode_sentences(retriever, [c.text for c in allc]) @ qv
    else:
        cos = np.zeros(len(allc), dtype=np.float32)

    def cover(bag: Bag) -> float:
        return coverage(q, bag, w.inflection, w.compound_part)

    bags = {id(c): Bag.of(retriever, c.text) for c in allc}
    qstems = stems(question) | {fold(g) for g in q.gemeenten}
    _annotate_table(q, question, allc)
    money = asks_money(question)
    total_q = _asks_total(question)
    keyword = is_keyword_query(question)
    noun = asked_noun(question) if q.kind == "which" else None
    prep = asked_preposition(question) if q.kind in ("who", "which") else None
    typed_q = q.kind in ("who", "which")
    top = max(q.focus, key=lambda x: x.weight, default=None)
    def head_covers(c: ScoredSentence) -> bool:
        return bool(c.heading) and cover(Bag.of(retriever, c.heading)) > 0

    # Per sentence: closeness, the fact it holds, what it adds, the cue of the asked kind.
    novelty: dict[int, float] = {}
    cue: dict[int, float] = {}
    other_sort: set[int] = set()  # sentences whose name or group is not of the sort asked
    row_cover = _row_cover(retriever, q, allc, bags, w)
    for c, sim in zip(allc, cos, strict=True):
        c.cos = float(sim)
        c.cover = row_cover[id(c)] if id(c) in row_cover else cover(bags[id(c)])
        if c.row is None:
            c.span = fact_span(c.text, q.kind, question)
            listed = tables.row_cells(c.text) if q.kind == "date" and c.span is not None else None
            if listed is not None and all(_YEAR_CELL.fullmatch(c.text[a:b]) for a, b in listed.cells):
                c.span = listed.cells[-1]  # "Beleidsregels Participatiewet, IOAW, IOAZ en Bbz 2004 2018": the list's year is the last
        c.mismatch = not constraint_ok(q, c)
        if c.row is not None:
            c.fact_ok = c.span is not None and not c.no_data
        else:
            c.fact_ok = c.span is not None and fact_agrees(q, c.text, c.span, retriever)
            if typed_q and c.fact_ok and c.span is not None and not sort_fits(c.text, c.span, question):
                c.fact_ok = False  # "inwoners" for "welke welzijnsorganisatie": a group of another sort
                other_sort.add(id(c))
        if q.kind == "date" and c.fact_ok and c.span is not None:
            since = re.search(r"\b(sinds|vanaf|tot) wanneer\b", fold(question))
            said = fold(c.text[c.span[0] : c.span[1]])
            if since and since.group(1) == "tot" and not said.startswith("tot"):
                c.fact_ok = False
            elif since and re.match(r"(?:eind|medio|halverwege|tot)\b", said):
                c.fact_ok = False  # "sinds wanneer" wants "sinds 2019" or "per januari 2021", not "eind 2020"
        if money and c.fact_ok and c.span is not None:
            # A money question wants euros: "€ 1,4 miljoen", or a cell under "x € 1.000".
            said = c.text[c.span[0] : c.span[1]]
            c.fact_ok = (
                "€" in said
                or bool(c.statement and "€" in c.statement)
                or bool(re.match(r"\s*euro\b", c.text[c.span[1] :], re.I))  # "1,4 miljoen euro", "500 euro"
                or bool(re.search(r"\b(?:miljoen|miljard|mln|mld)\b", said, re.I))  # in a budget, millions are euros
            )
        # A total row is what "samen" / "in totaal" asks for: its "Totaal" is no new word then.
        novelty[id(c)] = _novelty(stems(c.text), qstems | (stems(_TOTAL_WORDS) if total_q and _is_total(c) else set()))
        k = 0.0
        if q.kind == "reason":
            k = 1.0 if CAUSE.search(c.text) or (c.next is not None and CONSEQUENCE.search(c.next.text)) else 0.0
        elif q.kind == "definition":
            # Strong: the sentence defines (its subject is the topic, or it leans on a sentence
            # that names it); weak: it only holds a verb of doing or being.
            if DEFINES.search(c.text) and (c.cover > 0 or leans_back(c.text) or head_covers(c)):
                k = 1.0
            elif re.search(r"\b(?:tegen|aan)\b", fold(question)) and ACTION.search(c.text) and re.search(
                r"\b(?:we|wij|gemeente|medewerkers)\b", fold(c.text)
            ):
                k = 1.0  # "wat doet Maassluis tegen ...": what we do
            else:
                k = 0.5 if DEFINING.search(c.text) else 0.0
        elif q.kind == "how":
            k = 1.0 if ACTION.search(c.text) else 0.0
        elif q.kind == "which" and noun:
            k = 1.0 if any(noun[:5] in t and t not in qstems for t in (fold(x) for x in c.text.split())) else 0.0
        elif keyword:
            k = novelty[id(c)]
        cue[id(c)] = k
        if q.kind == "definition" and c.fact_ok and k < 1.0:
            c.fact_ok = False  # "zorgt voor", "is de": a weak sign of a definition (its span stays, fact 0.5)
    for c in allc:
        p = c.hit.passage
        win = build_window(c)
        # Weak: no fact of the asked kind and no cue for it; or it only restates the question.
        # For an amount, date or name the fact must be in the sentence or one it leans on:
        # a number in the next sentence is as likely another number.
        weak = q.kind not in ("amount", "date", "who") and not c.fact_ok and (cue[id(c)] < 1.0 or novelty[id(c)] < 0.6)
        # ... or the name it holds does not come with the asked preposition ("voor ... mensen" for "naar wie").
        weak = weak or bool(prep and c.fact_ok and c.span and c.row is None and not _after_prep(c, prep))
        weak = weak or id(c) in other_sort  # "groepen mensen" for "bij welke centrumgemeente": read on
        if weak and c.row is None and not any(y.fact_ok or cue[id(y)] >= 1.0 for y in win if y is not c):
            # A sentence that only restates the question: the fact usually follows it, in the
            # next sentence or the one after ("We zien een trend ... Ook ons wijkteam ... In 2023
            # nemen medewerkers deel aan een training").
            last = max(win, key=lambda y: y.start)
            while len(win) < MAX_SENTENCES:
                nxt = last.next
                if (
                    nxt is None
                    or nxt.heading != c.heading  # the next passage may go on, but not into another section
                    or sum(len(y.text) for y in win) + len(nxt.text) > MAX_CHARS
                ):
                    break
                win = sorted([*win, nxt], key=lambda y: y.start)
                last = nxt
                if nxt.fact_ok or cue[id(nxt)] >= 1.0:
                    break
        c.window = win
        c.leans_on = next((y for y in win if y is not c and y is not c.header), None)
        around = " ".join(x.text for x in (c.prev, c.next) if x is not None)
        meta = f"{c.heading}\n{around}\n{p.gemeente or ''} {p.year or ''}"
        c.context_cover = cover(bags[id(c)] | Bag.of(retriever, meta))
        win_bag = bags[id(c)]
        for y in win:
            win_bag = win_bag | bags[id(y)]
        win_cover = cover(win_bag)
        if top is not None:
            seen = win_bag | Bag.of(retriever, meta)
            c.top_seen = has_word(top, seen)
        head_cover = cover(Bag.of(retriever, c.heading)) if c.heading else 0.0
        # The fact: in ``c`` itself, else in the window sentence that holds one.
        holder = c if c.fact_ok else next((y for y in win if y.fact_ok and y is not c.header), None)
        if prep and holder is not None and holder.span and not _after_prep(holder, prep):
            holder = next((y for y in win if y.fact_ok and y.span and y.row is None and _after_prep(y, prep)), holder)
        if holder is None:
            holder = c if c.span else next((y for y in win if y.span and y is not c.header), None)
        if q.kind in ("who", "which") and holder is not None and holder.row is None and holder.fact_ok:
            # Several names in the window: the one that fits the question best ("In deze verkenning
            # wordt ook de nieuwbouw Vlootschouwer betrokken" after the sentence that restates it).
            rivals = [y for y in win if y.fact_ok and y.span and y.row is None and y is not c.header]
            holder = max(rivals, key=lambda y: (name_order(y.text, y.span, question), y is holder))
        c.fact_at = holder
        fact_ok = holder is not None and holder.fact_ok
        has_span = holder is not None
        if q.kind is None or keyword:
            fact = no_fact = 0.0
        else:
            fact = 1.0 if fact_ok else 0.5 if has_span else 0.0  # 0.5: a bare number where euros were asked, ...
            no_fact = 0.0 if has_span else 1.0
        win_novelty = max(novelty[id(y)] for y in win if y is not c.header) if win else novelty[id(c)]
        restate = c.cover * (1.0 - win_novelty) if not fact_ok else 0.0
        win_cue = max(cue[id(y)] for y in win)
        f = {
            "cos": c.cos,
            "cover": c.cover,
            "context": c.context_cover,
            "heading": head_cover,
            "lean_prev": max(0.0, win_cover - c.cover) if c.prev in win else 0.0,
            "lean_next": max(0.0, win_cover - c.cover) if c.next in win and c.prev not in win else 0.0,
            "novelty": novelty[id(c)],
            "fact": fact,
            "no_fact": no_fact,
            "restate": restate,
            "cue_reason": win_cue if q.kind == "reason" else 0.0,
            "cue_define": win_cue if q.kind in ("definition", "how") else 0.0,
            "cue_which": win_cue if q.kind == "which" else 0.0,
            "cue_keyword": win_cue if keyword else 0.0,
            "ordinal": 1.0 if _ordinal_item(question, c) else 0.0,
            "typed": 1.0 if typed_q and _typed(holder, question) else 0.0,
            "rank": 1.0 / c.hit.rank,
            "mismatch": 1.0 if c.mismatch else 0.0,
            "header": 1.0 if c.is_header else 0.0,
            "short": 1.0 if len(c.text) < 40 and not c.row else 0.0,
        }
        c.features = f
        c.signals = {k: getattr(w, k) * v for k, v in f.items()}
        c.score = sum(c.signals.values())
    cands = [c for c in allc if c.candidate]
    places = {(c.hit.passage.source, c.start) for c in cands}
    extra = [c for c in allc if not c.candidate and (c.hit.passage.source, c.start) not in places]
    seen: set[tuple[str, int]] = set()
    out = []
    for c in sorted(cands + extra, key=lambda c: -c.score):
        key = (c.hit.passage.source, c.start)
        if key in seen:
            continue
        seen.add(key)
        out.append(c)
    return q, out


def softmax(scores: Sequence[float]) -> list[float]:
    if not scores:
        return []
    m = max(scores)
    e = [math.exp(s - m) for s in scores]
    t = sum(e)
    return [x / t for x in e]

