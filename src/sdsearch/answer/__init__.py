"""Answers: the one to three sentences from the top passages that best answer a question.

How an answer is found, in four explainable steps:

1. **Read the question** (`analyse_question`): the kind of fact it asks for (an amount
   for "hoeveel"/"wat kost", a date for "wanneer", an organisation or person for "wie",
   a reason for "waarom"), its focus words weighted by their IDF in the index, and the
   gemeenten and years it names.
2. **Score each sentence of the top passages** (`score_sentences`) on: encoder
   similarity to the question; how much of the question's focus (IDF-weighted) the
   sentence holds, and how much the sentence with its context (section heading,
   neighbouring sentences, the document's gemeente and year) holds; whether it holds the
   asked-for kind of fact, and whether the words around that fact agree with the focus
   ("387 flexwoningen" for "hoeveel flexwoningen"); and the rank of its passage.
   A sentence from another gemeente or year than the question names is marked down.
3. **Mark the span** of the fact (`fact_span`): the number, date, name or reason clause.
4. **Decide** (`answer_question`): the confidence is the focus coverage of the best
   sentence in its context, scaled down when the asked-for fact is missing or the
   gemeente/year disagrees. Below ``Settings.answer_threshold`` (calibrated on
   eval/answers.jsonl) the answer is "no clear answer"; the hits are still returned.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..retrieve import Filters, Retriever
from ..analysis import _lexicon, fold, sentence_spans, stopwords
from ..types import Answer, AnswerSentence, Hit

# --- patterns for facts ------------------------------------------------------------------

_MONTHS = "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
_WORD_NUMBERS = (
    "twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|dertien|veertien|vijftien|zestien|"
    "zeventien|achttien|negentien|twintig|dertig|veertig|vijftig|zestig|zeventig|tachtig|negentig|"
    "honderd|duizend|tienduizend|honderdduizend"
)
_QUALIFIER = (
    r"(?:(?:ruim|circa|ca\.|ongeveer|bijna|zo'n|zo’n|maximaal|minimaal|ten minste|tenminste|gemiddeld|"
    r"meer dan|minder dan|langer dan|korter dan|hoger dan|lager dan|tot|vanaf)\s+)?"
)
_NUMBER = re.compile(
    _QUALIFIER
    + r"(?:€\s?)?(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?)(?:\s?(?:miljoen|mln\.?|miljard|mld\.?|procent|%))?"
    + rf"|{_QUALIFIER}\b(?:{_WORD_NUMBERS})\b(?:\s?(?:miljoen|miljard|procent))?",
    re.I,
)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_DATE = re.compile(
    r"(?:(?:sinds|vanaf|per|op|tot|met ingang van|eind|begin|medio|halverwege|in)\s+)?"
    rf"(?:\d{{1,2}}\s+(?:{_MONTHS})(?:\s+(?:19|20)\d{{2}})?"
    rf"|(?:{_MONTHS})\s+(?:19|20)\d{{2}}"
    r"|(?:19|20)\d{2}\s*(?:[-–/]|tot en met|t/m|tot)\s*(?:19|20)\d{2}"
    r"|(?:19|20)\d{2})\b",
    re.I,
)
# A name: capitalised words (with "van", "de" ... inside), acronyms and CamelCase words.
_NAME = re.compile(r"\b[A-Z][\w’'&-]*!?(?:(?:\s+(?:van|de|der|den|voor|en|het|op)){0,2}\s+[A-Z][\w’'&-]*!?)*")
# People a "voor wie"/"bij wie" question may ask for: a group, with what qualifies it.
_GROUP = re.compile(
    r"\b(?:inwoners|jongeren|jongvolwassenen|ouderen|kinderen|jeugdigen|mensen|gezinnen|ouders|statushouders|"
    r"slachtoffers|cliënten|burgers|werkzoekenden|mantelzorgers|vrijwilligers|huishoudens|nieuwkomers|"
    r"bewoners|dak- en thuislozen|daklozen)\b"
    r"(?:\s+(?:ouder|jonger|van|met|zonder|in|uit|tot|tussen|onder|boven)\b(?:\s+[^\s,.;:]+){1,3})?",
    re.I,
)
_DEMONYM = re.compile(r"[A-Z]\w+(?:aren|ers|ezen)")
_QUOTED = re.compile(r"[‘“\"]([^‘’“”\"]{3,80})[’”\"]")
_REASON = re.compile(
    r"\b(?:omdat|doordat|vanwege|dankzij|namelijk|als gevolg van|door|daardoor|waardoor|want|oorzaak|oorzaken|reden)\b",
    re.I,
)
# Also inside compounds: "jeugdhulpmiddelen", "jeugdhulpgeld", "zorgkosten".
_MONEY_WORDS = re.compile(r"(?:kost|geld|budget|bedrag|lasten|baten|uitgaven|euro|investering|middelen|reserve|subsidie)", re.I)

# Question cues → the kind of fact asked for. Checked in this order; first match wins.
_KIND_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("reason", re.compile(r"\bwaarom\b|\bhoe komt\b|\bwaardoor\b|\bwat is de (?:reden|oorzaak)\b")),
    ("date", re.compile(r"\bwanneer\b|\bin welk jaar\b|\bwelke (?:periode|datum|maand)\b|\bsinds hoe lang\b")),
    (
        "amount",
        re.compile(
            r"\bhoe ?veel\b|\bhoe (?:groot|hoog|lang|vaak)\b|\bwat kost\b|\bwelk (?:aantal|bedrag|percentage|inkomen)\b"
            r"|\bwelke (?:afstand|leeftijd|omvang)\b|\btot welk\b|\bwat (?:is|zijn) (?:het|de) (?:geraamde |totale )?"
            r"(?:budget|bedrag|kosten|lasten|baten|uitgaven|omvang)\b"
        ),
    ),
    (
        "who",
        re.compile(
            r"\bwie\b|\bhoe (?:heet|heten)\b|\bwelke naam\b"
            r"|\bwelke? (?:organisatie|organisaties|partij|partijen|instantie|aanbieder|aanbieders|consortium"
            r"|instelling|bedrijf|centrumgemeente|gemeente|stichting)\b"
        ),
    ),
)

# Scoring weights (see module docstring); tuned on eval/answers.jsonl, kept few and round.
W_COS = 1.0  # encoder similarity of sentence and question
W_COVER = 0.35  # focus coverage by the sentence itself
W_PAIR = 0.35  # ... by the sentence with its better neighbour
W_CONTEXT = 0.2  # ... by the sentence with heading, neighbours and metadata
W_FACT = 0.3  # the sentence holds the asked-for kind of fact (minus when it does not)
W_AGREE = 0.15  # ... and the words around that fact are focus words
W_NAMED = 0.05  # the sentence itself names the gemeente or year asked about
W_RANK = 0.05  # prior for higher-ranked passages: W_RANK / rank
SECOND_MARGIN = 0.05  # further sentences must score within this of the best
MISMATCH = 0.5  # score penalty for a sentence about another gemeente or year
# Confidence factors: asked-for fact missing, other gemeente/year.
NO_FACT_FACTOR = 0.4
MISMATCH_FACTOR = 0.3


def question_type(question: str) -> str | None:
    """The kind of fact asked for: "amount", "date", "who", "reason", or None."""
    q = " ".join(fold(question).split())
    for kind, pat in _KIND_CUES:
        if pat.search(q):
            return kind
    return None


def asks_money(question: str) -> bool:
    """Whether an amount question is about money ("wat kost", "budget", "hoeveel geld")."""
    return question_type(question) == "amount" and bool(_MONEY_WORDS.search(question))


# --- fact spans ----------------------------------------------------------------------------


def _norm_number(s: str) -> str:
    return re.sub(r"[^\d,]", "", s).replace(",", ".")


def _words_near(sentence: str, start: int, end: int, n: int = 4) -> str:
    """The words around a span: two before it, ``n`` after (Dutch: "387 flexwoningen", "€ 1,4 miljoen in 2020")."""
    before = sentence[:start].split()[-2:]
    after = sentence[end:].split()[:n]
    return " ".join(before + after)


def _amounts(sentence: str, question: str) -> list[re.Match[str]]:
    qnums = {_norm_number(m.group(0)) for m in _NUMBER.finditer(question) if _norm_number(m.group(0))}
    qf = fold(question)
    out = []
    for m in _NUMBER.finditer(sentence):
        text = m.group(0)
        bare = re.sub(rf"^{_QUALIFIER}", "", text, flags=re.I).strip()
        if not bare:
            continue
        after = sentence[m.end() : m.end() + 12].lower()
        if re.fullmatch(r"(?:19|20)\d{2}", bare) or re.match(rf"\s*(?:{_MONTHS})\b", after):
            continue  # a year or the day of a date
        if re.match(r"\s*[-–]\s*(?:19|20)\d{2}", sentence[m.end() :]) and re.fullmatch(r"(?:19|20)\d{2}", bare[:4]):
            continue  # a period "2020-2023"
        num = _norm_number(bare)
        if (num and num in qnums) or (not num and fold(bare) in qf):
            continue  # the question already names it: context, not the answer
        out.append(m)
    return out


def fact_spans(sentence: str, kind: str | None, question: str) -> list[tuple[int, int]]:
    """Every span in ``sentence`` holding the kind of fact asked for, in text order."""
    if kind == "amount":
        spans = [(m.start(), m.end()) for m in _amounts(sentence, question)]
        if asks_money(question):
            euros = [s for s in spans if "€" in sentence[s[0] : s[1]]]
            spans = euros or [s for s in spans if re.search(r"\d", sentence[s[0] : s[1]])]
        return spans
    if kind == "date":
        qyears = set(_YEAR.findall(question))
        out = []
        for m in _DATE.finditer(sentence):
            years = set(_YEAR.findall(m.group(0)))
            if years and years <= qyears and not re.search(_MONTHS, m.group(0), re.I):
                continue  # only repeats a year the question names
            out.append((m.start(), m.end()))
        return out
    if kind == "who":
        return _who_spans(sentence, question)
    if kind == "reason":
        m = _REASON.search(sentence)
        if m:
            return [(m.start(), len(sentence.rstrip(". ")))]
        if ":" in sentence[:-1]:  # "Dit betrof een landelijk probleem: het geld ..."
            i = sentence.index(":") + 1
            while i < len(sentence) and sentence[i] == " ":
                i += 1
            return [(i, len(sentence.rstrip(". ")))]
        return []
    return []


def _who_spans(sentence: str, question: str) -> list[tuple[int, int]]:
    """Names (organisations, places, laws), quoted titles and groups of people not in the question."""
    lex = _lexicon()
    qwords = set(re.findall(r"\w+", fold(question)))
    out = []
    for m in _NAME.finditer(sentence):
        name = m.group(0)
        words = re.findall(r"\w+", fold(name))
        if not words or all(w in qwords for w in words) or re.fullmatch(_MONTHS, words[0]):
            continue
        if _DEMONYM.fullmatch(name):
            continue  # "Velsenaren", "Vlaardingers": inhabitants, not an organisation
        first = name.split()[0]
        at_start = not re.search(r"\w", sentence[: m.start()])
        common = lex.get(fold(first), 0.0) >= 3.0 or fold(first) in stopwords()
        if at_start and common and not re.search(r"[A-Z]", first[1:]):
            # A capitalised sentence opener is no name ("Het", "Aanvullend"); "De GGD" keeps "GGD".
            rest = name[len(first) :].lstrip()
            if not rest:
                continue
            start = m.start() + name.index(rest)
            out.append((start, start + len(rest)))
            continue
        out.append((m.start(), m.end()))
    for m in _QUOTED.finditer(sentence):  # ‘Handen uit de mouwen’
        if not set(re.findall(r"\w+", fold(m.group(1)))) <= qwords:
            out.append((m.start(1), m.end(1)))
    if re.search(r"\b(?:voor|bij|aan|met) wie\b", fold(question)):
        for m in _GROUP.finditer(sentence):
            if fold(m.group(0).split()[0]) not in qwords:
                out.append((m.start(), m.end()))
    # A name inside a longer one ("Handen" in "Handen uit de mouwen") is the longer one.
    return sorted({a for a in out if not any(b != a and b[0] <= a[0] and a[1] <= b[1] for b in out)})


def fact_span(sentence: str, kind: str | None, question: str) -> tuple[int, int] | None:
    """Offsets in ``sentence`` of the fact the question asks for, if one is there.

    With several amounts or dates, the one whose neighbouring words share most with the
    question wins ("hoeveel klaslokalen" → "10", not "387", in "387 flexwoningen, een
    school met 10 klaslokalen"); ties go to the first. With several names, the first
    that is not inside the phrase the question repeats wins ("RegioRijder", not "Wmo",
    in "RegioRijder verzorgt het Wmo collectief vervoer" for "wie verzorgt het
    collectief vervoer?").
    """
    spans = fact_spans(sentence, kind, question)
    if not spans:
        return None
    if len(spans) == 1 or kind == "reason":
        return spans[0]
    qstems = _stems(question) | set(_YEAR.findall(question))
    if kind == "who":

        def inside(s: tuple[int, int]) -> bool:
            before = [w for w in sentence[: s[0]].split() if fold(w) not in stopwords()][-1:]
            after = [w for w in sentence[s[1] :].split() if fold(w) not in stopwords()][:1]
            return bool(before and after and qstems & _stems(before[0]) and qstems & _stems(after[0]))

        return next((s for s in spans if not inside(s)), spans[0])

    counted = _stems(counted_word(question) or "")

    def agree(s: tuple[int, int]) -> tuple[bool, int]:
        near = _words_near(sentence, *s)
        right_after = " ".join(sentence[s[1] :].split()[:2])
        return bool(counted & _stems(right_after)), len(qstems & (_stems(near) | set(_YEAR.findall(near))))

    return max(spans, key=lambda s: (agree(s), -s[0]))


def counted_word(question: str) -> str | None:
    """What a "hoeveel" question counts: "hoeveel (extra) flexwoningen" → "flexwoningen"."""
    m = re.search(r"\bhoe ?veel\s+(?:(?:extra|\w+e)\s+)?([\w-]+)", fold(question))
    return m.group(1).split("-")[-1] if m else None


def _stems(text: str) -> set[str]:
    from ..analysis import stem

    return {stem(w) for w in re.findall(r"[^\W\d_]{3,}", fold(text)) if w not in stopwords()}


# --- the question --------------------------------------------------------------------------


@dataclass(frozen=True)
class FocusWord:
    """A content word of the question, its analyzer terms and its weight (IDF)."""

    word: str
    terms: frozenset[str]
    main: str  # the stemmed word itself (the other terms are compound parts)
    weight: float


@dataclass(frozen=True)
class QuestionInfo:
    text: str
    kind: str | None
    focus: tuple[FocusWord, ...]
    gemeenten: tuple[str, ...]  # folded names of indexed gemeenten the question names
    years: tuple[int, ...]
    counted: FocusWord | None = None  # what "hoeveel" counts ("hoeveel flexwoningen")

    @property
    def total_weight(self) -> float:
        return sum(f.weight for f in self.focus) or 1.0


def _idf(retriever: Retriever, term: str) -> float:
    """BM25-style IDF of ``term`` over the index's passages; unseen terms get the highest."""
    return retriever.index.sparse.idf(term)


# Words after which a Dutch question has a noun or name: articles, determiners, prepositions.
_BEFORE_NOUN = frozenset(
    "de het een deze die dit dat onze ons hun zijn haar elk elke alle hoeveel in van voor aan met bij op over "
    "naar uit door tot om tegen per zonder binnen vanuit tussen onder".split()
)
# Question words the analyzer keeps as terms ("heet" even stems to the stop word "het").
_QUESTION_WORDS = frozenset("heet heten waarmee waarvoor waarin waarop waaraan waarbij welk welke hoelang kun kan je u".split())
OTHER_WORD_SHARE = 0.5  # weight of verbs and other non-nouns relative to nouns and names


def _noun_like(question: str) -> set[str]:
    """Folded words of ``question`` that are probably nouns or names.

    Dutch has no cheap tagger here, so: a capitalised word inside the sentence, or a word
    after an article, determiner, preposition or "hoeveel" (optionally with one adjective
    in -e between: "de geraamde lasten"). The noun after "welke" names the kind of
    answer ("welke organisatie") and is left out. Verbs ("kreeg", "helpt") are never
    in these positions, and paraphrase changes verbs far more often than nouns.
    """
    words = re.findall(r"\w[\w’'-]*", question)
    out: set[str] = set()
    for i, w in enumerate(words):
        prev = fold(words[i - 1]) if i > 0 else ""
        prev2 = fold(words[i - 2]) if i > 1 else ""
        if prev in ("welke", "welk") or (prev2 in ("welke", "welk") and prev.endswith("e")):
            continue
        if (i > 0 and w[0].isupper()) or prev in _BEFORE_NOUN or (prev.endswith("e") and prev2 in _BEFORE_NOUN):
            out.update(re.split(r"[-/]", fold(w)))
    return out


def analyse_question(retriever: Retriever, question: str) -> QuestionInfo:
    """Kind of fact, weighted focus words, and the gemeenten and years named.

    A focus word weighs its IDF in the index, halved for words that are not noun-like.
    """
    analyzer = retriever.analyzer
    known = sorted({fold(str(d.get("gemeente"))) for d in retriever.index.documents if d.get("gemeente")}, key=len, reverse=True)
    nouns = _noun_like(question)
    gemeenten: list[str] = []
    focus: list[FocusWord] = []
    for tok in dict.fromkeys(analyzer.tokens(question)):
        g = next((g for g in known if tok == g or (len(g) >= 5 and tok.startswith(g))), None)
        if g is not None:  # "Velsen", "Velsenaren": a constraint, checked against metadata
            if g not in gemeenten:
                gemeenten.append(g)
            continue
        if _YEAR.fullmatch(tok) or tok in _QUESTION_WORDS:
            continue  # years are a constraint too
        terms = analyzer.terms(tok)
        if not terms or terms[0] in stopwords():
            continue
        main = terms[0]
        share = 1.0 if tok in nouns else OTHER_WORD_SHARE
        focus.append(FocusWord(tok, frozenset(terms), main, share * _idf(retriever, main)))
    years = tuple(int(y) for y in _YEAR.findall(question))
    word = counted_word(question)
    counted = next((f for f in focus if f.word == word), None) if word and not asks_money(question) else None
    return QuestionInfo(question, question_type(question), tuple(focus), tuple(gemeenten), years, counted)


def _has_word(f: FocusWord, bag: Bag) -> bool:
    return f.main in bag.terms or _prefix_match(f.word, bag.tokens) or bool(f.terms & bag.terms - {f.main})


def _fact_agrees(q: QuestionInfo, sentence: str, span: tuple[int, int], retriever: Retriever) -> bool:
    """For "hoeveel X": X stands next to the number ("387 flexwoningen"), or anywhere in a
    table row (the row label names it: "Personen met een bijstandsuitkering ... 555 359")."""
    if q.counted is None:
        return True
    if _has_word(q.counted, Bag.of(retriever, _words_near(sentence, *span))):
        return True
    return len(re.findall(r"\d[\d.,]*", sentence)) >= 3 and _has_word(q.counted, Bag.of(retriever, sentence))


def _prefix_match(word: str, tokens: set[str] | frozenset[str]) -> bool:
    """Another inflection of ``word`` among ``tokens``: "krijgt"/"krijgen", "stijgen"/"stijging"."""
    for t in tokens:
        n = 0
        for a, b in zip(word, t, strict=False):
            if a != b:
                break
            n += 1
        if n >= max(4, min(len(word), len(t)) - 2):
            return True
    return False


@dataclass(frozen=True)
class Bag:
    """The words of a piece of text, as analyzer terms and as folded surface tokens."""

    terms: frozenset[str]
    tokens: frozenset[str]

    @classmethod
    def of(cls, retriever: Retriever, text: str) -> Bag:
        a = retriever.analyzer
        return cls(frozenset(a.terms(text)), frozenset(a.tokens(text)))

    def __or__(self, other: Bag) -> Bag:
        return Bag(self.terms | other.terms, self.tokens | other.tokens)


def coverage(q: QuestionInfo, bag: Bag) -> float:
    """IDF-weighted share of the focus words found in ``bag``.

    The word itself (its stem) counts fully, another inflection of it 0.75, and a part
    of a compound half ("jeugdhulpgeld" → "jeugdhulp").
    """
    got = 0.0
    for f in q.focus:
        if f.main in bag.terms:
            got += f.weight
        elif len(f.word) >= 4 and _prefix_match(f.word, bag.tokens):
            got += 0.75 * f.weight
        elif f.terms & bag.terms:
            got += 0.5 * f.weight * len(f.terms & bag.terms) / len(f.terms)
    return got / q.total_weight


# --- sentences -----------------------------------------------------------------------------


@dataclass(eq=False)
class ScoredSentence:
    """One candidate sentence and the signals that scored it (``signals`` explains ``score``)."""

    hit: Hit
    start: int  # into the document text
    end: int
    text: str
    heading: str = ""
    prev: ScoredSentence | None = None  # the neighbouring sentences in the same passage
    next: ScoredSentence | None = None
    cos: float = 0.0
    cover: float = 0.0  # focus coverage by the sentence alone
    pair_cover: float = 0.0  # ... by the sentence with its better neighbour
    pair: ScoredSentence | None = None  # that neighbour, when it adds to the coverage
    context_cover: float = 0.0  # ... with both neighbours, the heading and the metadata
    span: tuple[int, int] | None = None
    fact_ok: bool = False  # the span is the asked-for fact (for "hoeveel X": a number of X)
    agree: float = 0.0
    mismatch: bool = False
    score: float = 0.0
    signals: dict[str, float] = field(default_factory=dict)


_VEC_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_VEC_CACHE_SIZE = 20_000


def _encode_sentences(retriever: Retriever, texts: list[str]) -> np.ndarray:
    """Passage-side vectors for sentences, memoised (the same passages come back often)."""
    enc = retriever.encoder
    assert enc is not None
    keys = [(enc.model_id, t) for t in texts]
    todo = list(dict.fromkeys(k for k in keys if k not in _VEC_CACHE))
    if todo:
        vecs = enc.encode_passages([t for _, t in todo])
        for k, v in zip(todo, vecs, strict=True):
            _VEC_CACHE[k] = v
        while len(_VEC_CACHE) > _VEC_CACHE_SIZE:
            _VEC_CACHE.popitem(last=False)
    for k in keys:
        _VEC_CACHE.move_to_end(k)
    return np.stack([_VEC_CACHE[k] for k in keys])


def _sentences(hits: Sequence[Hit]) -> list[ScoredSentence]:
    out: list[ScoredSentence] = []
    for h in hits:
        p = h.passage
        heading = " › ".join(p.section)
        prev: ScoredSentence | None = None
        for s, e in sentence_spans(p.text):
            if e - s < 12:
                continue
            c = ScoredSentence(h, p.char_start + s, p.char_start + e, p.text[s:e], heading, prev)
            if prev is not None:
                prev.next = c
            out.append(c)
            prev = c
    return out


def _years_in(text: str) -> set[int]:
    """Years named in ``text``, with periods ("2020-2023", "2022 tot en met 2027") filled in."""
    years = {int(y) for y in _YEAR.findall(text)}
    for m in re.finditer(r"((?:19|20)\d{2})\s*(?:[-–/]|tot en met|t/m)\s*((?:19|20)\d{2})", text):
        years |= set(range(int(m.group(1)), int(m.group(2)) + 1))
    return years


def _constraint_ok(q: QuestionInfo, c: ScoredSentence) -> bool:
    """False when the sentence is about another gemeente or year than the question names.

    Gemeente: the passage's document (or the sentence itself) must be that gemeente's.
    Year: a sentence that names years must name the asked one; a sentence without years
    takes them from its passage, heading and document.
    """
    p = c.hit.passage
    if q.gemeenten:
        places = {fold(str(p.gemeente or ""))} | {fold(str(loc.source)) for loc in p.also_at}
        if not places & set(q.gemeenten) and not any(g in fold(c.text) for g in q.gemeenten):
            return False
    if q.years:
        own = _years_in(c.text)
        if own and not own & set(q.years):
            return False
        around = own | _years_in(f"{c.heading}\n{p.text}") | ({p.year} if p.year else set())
        if not set(q.years) <= around:
            return False
    return True


def _names_constraint(q: QuestionInfo, text: str) -> bool:
    """Whether the sentence itself names the gemeente or year the question asks about."""
    t = fold(text)
    return any(g in t for g in q.gemeenten) or any(str(y) in t for y in q.years)


def score_sentences(retriever: Retriever, question: str, hits: Sequence[Hit]) -> tuple[QuestionInfo, list[ScoredSentence]]:
    """Every sentence of ``hits`` scored against ``question``, best first."""
    q = analyse_question(retriever, question)
    cands = _sentences(hits)
    if not cands:
        return q, []
    if retriever.encoder is not None:
        qv = retriever.encoder.encode_queries([question])[0]
        cos = _encode_sentences(retriever, [c.text for c in cands]) @ qv
    else:
        cos = np.zeros(len(cands), dtype=np.float32)
    bags = {id(c): Bag.of(retriever, c.text) for c in cands}
    money = asks_money(question)
    for c, sim in zip(cands, cos, strict=True):
        p = c.hit.passage
        bag = bags[id(c)]
        c.cos = float(sim)
        c.cover = coverage(q, bag)
        c.pair_cover = c.cover
        # The fact often follows the sentence that restates the question ("Dat komt door ..."),
        # so the previous sentence counts fully and the next one for 80 % of what it adds.
        for n, share in ((c.prev, 1.0), (c.next, 0.8)):
            if n is not None:
                pc = c.cover + share * (coverage(q, bag | bags[id(n)]) - c.cover)
                if pc > c.pair_cover + 0.1:
                    c.pair_cover, c.pair = pc, n
        around = " ".join(x.text for x in (c.prev, c.next) if x is not None)
        meta = f"{c.heading}\n{around}\n{p.gemeente or ''} {p.year or ''}"
        c.context_cover = coverage(q, bag | Bag.of(retriever, meta))
        c.span = fact_span(c.text, q.kind, question)
        if c.span is not None:
            c.agree = coverage(q, Bag.of(retriever, _words_near(c.text, *c.span)))
        c.mismatch = not _constraint_ok(q, c)
        c.fact_ok = c.span is not None and _fact_agrees(q, c.text, c.span, retriever)
        has_fact = 0.0 if q.kind is None else (1.0 if c.fact_ok else 0.0 if c.span else -1.0)
        if money and c.span and "€" not in c.text[c.span[0] : c.span[1]]:
            has_fact = 0.5  # a bare number where a euro amount was asked (tables say "x € 1.000")
        c.signals = {
            "cos": W_COS * c.cos,
            "cover": W_COVER * c.cover,
            "pair": W_PAIR * c.pair_cover,
            "context": W_CONTEXT * c.context_cover,
            "fact": W_FACT * has_fact,
            "agree": W_AGREE * c.agree,
            "named": W_NAMED if _names_constraint(q, c.text) else 0.0,
            "rank": W_RANK / c.hit.rank,
            "mismatch": -MISMATCH if c.mismatch else 0.0,
        }
        c.score = sum(c.signals.values())
    cands.sort(key=lambda c: -c.score)
    return q, cands


def confidence(q: QuestionInfo, best: ScoredSentence) -> float:
    """How sure the best sentence answers: the share of the question's focus it holds with
    its context, lowered when the asked-for fact is missing or the gemeente/year named in
    the question disagrees."""
    conf = best.context_cover
    if q.kind is not None and not best.fact_ok:
        conf *= NO_FACT_FACTOR
    if best.mismatch:
        conf *= MISMATCH_FACTOR
    return max(0.0, min(1.0, conf))


def answer_question(
    retriever: Retriever,
    question: str,
    k: int = 5,
    filters: Filters | None = None,
    threshold: float | None = None,
    max_sentences: int = 3,
    pool: int = 5,
) -> Answer:
    """Answer ``question`` from the top hits; an empty ``sentences`` means no clear answer.

    Sentences are drawn from the top ``max(k, pool)`` passages; the answer carries the
    top ``k`` hits as its sources. Raises ``QueryError`` for an empty question.
    """
    all_hits = retriever.search([question], k=max(k, pool), filters=filters)[0]
    hits = tuple(all_hits[:k])
    threshold = retriever.settings.answer_threshold if threshold is None else threshold
    q, scored = score_sentences(retriever, question, all_hits)
    if not scored:
        return Answer(question, (), 0.0, hits)
    best = scored[0]
    conf = confidence(q, best)
    if conf < threshold:
        return Answer(question, (), conf, hits)
    # The best sentence, with the neighbour that completes it ("Het lukt Veilig Thuis niet
    # ... Dat komt door personeelstekort"), then near-equal sentences that hold the fact too.
    chosen = [best] + ([best.pair] if best.pair is not None else [])
    for c in scored[1:]:
        if len(chosen) >= max_sentences or c.score < best.score - SECOND_MARGIN:
            break
        if c.mismatch or (q.kind is not None and c.span is None) or any(c.text == x.text for x in chosen):
            continue
        chosen.append(c)
    order = {id(c): i for i, c in enumerate(chosen)}
    # Text order within the best sentence's passage, so a pair reads as it does in the report.
    chosen.sort(key=lambda c: (order[id(c)] > 1 or c.hit is not best.hit, c.start if c.hit is best.hit else order[id(c)]))
    # The neighbour is context for the best sentence: only answer sentences mark a span.
    sentences = tuple(
        AnswerSentence(c.text, c.hit, c.start, c.end, None if c is best.pair else c.span, round(c.score, 4)) for c in chosen
    )
    return Answer(question, sentences, conf, hits)
