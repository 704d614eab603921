"""Reading the question: the kind of fact it asks for, its focus words, and the gemeenten
and years it names; and how much of that focus a piece of text holds (``coverage``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..analysis import fold, stopwords
from ..retrieve import Retriever

YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# Also inside compounds: "jeugdhulpmiddelen", "jeugdhulpgeld", "zorgkosten".
MONEY_WORDS = re.compile(r"(?:kost|geld|budget|bedrag|lasten|baten|uitgaven|euro|investering|middelen|reserve|subsidie)", re.I)

# Question cues → the kind of fact asked for. Checked in this order; first match wins.
KIND_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("reason", re.compile(r"\bwaarom\b|\bhoe komt\b|\bwaardoor\b|\bwat is de (?:reden|oorzaak)\b")),
    (
        "date",
        re.compile(r"\bwanneer\b|\bwelke? (?:jaar|jaren|periode|datum|maand)\b|\bsinds hoe lang\b|\bper wanneer\b"),
    ),
    (
        "amount",
        re.compile(
            r"\bhoe ?veel\b|\bhoe (?:groot|hoog|lang|vaak)\b|\bwat kost\b|\bwelk (?:aantal|bedrag|percentage|inkomen)\b"
            r"|\bwelke (?:afstand|leeftijd|omvang)\b|\btot welk\b|\bwelk (?:deel|aandeel)\b"
            r"|\bwat (?:is|zijn|was|waren|bedraagt|bedragen|bedroeg|bedroegen) (?:het|de) (?:[\w-]+e )?"
            r"(?:budget|bedrag|kosten|lasten|baten|uitgaven|inkomsten|omvang|saldo|reserves?|totaal|hoogte)\b"
            r"|\bwat (?:is|was) het (?:geraamde|begrote|verwachte) resultaat\b"
            r"|\bwat (?:is|was) de stand van (?:de|het) (?:\w+ )?(?:reserve|fonds|budget|voorziening)"
        ),
    ),
    (
        "who",
        re.compile(
            r"\bwie\b|\bhoe (?:heet|heten)\b|\bwelke naam\b"
            r"|\bwelke? (?:[\w-]+e )?[\w-]*(?:organisaties?|partij|partijen|instanties?|aanbieders?|consortium|consortia"
            r"|instellingen?|bedrijf|bedrijven|gemeenten?|stichtingen?|corporaties?|partners?|bureaus?|vervoerders?"
            r"|uitvoerders?|leveranciers?)\b"
            r"|\bdoor wie\b|\bwordt? (?:uitgevoerd|verzorgd|georganiseerd|geleverd|aangeboden) door\b"
        ),
    ),
    (
        "how",
        re.compile(r"\bop welke (?:manier|wijze)\b|^(?:en )?hoe (?:wil|wilt|willen|gaat|gaan|wordt|worden|werkt|werken|pakt|pakken|helpt|helpen|zorgt|zorgen|ondersteunt|kan|kunnen)\b"),
    ),
    (
        "definition",
        re.compile(
            r"^(?:en )?wat (?:is|zijn|was|waren|betekent|betekenen|houdt|houden|doet|doen|deed|deden|biedt|bieden"
            r"|regelt|regelen|wordt bedoeld|bedoelt)\b|\bwaarvoor (?:is|zijn|dient|dienen|staat|staan)\b"
            r"|\bwat (?:wil|willen|gaat|gaan) .{3,60} (?:doen|bereiken|aanpakken)\b"
        ),
    ),
    # "welke wijk", "welk WonenPlus-project", "waar ligt": a thing with a name, or a list of them.
    ("which", re.compile(r"\bwelke?\b|^(?:en )?waar\b|\bhoe heet\b")),
)

_QUESTION_START = re.compile(
    r"^(?:wat|wie|welke?|waar\w*|wanneer|hoe\w*|waarom|in welk\w*|sinds|met|voor|aan|op|van|bij|uit|door|tot|is|zijn|kan|kunnen|heeft|hebben|wordt|worden|gaat|gaan|zal)\b"
)


def is_keyword_query(question: str) -> bool:
    """Keyword-style input ("opvang Oekraïense vluchtelingen Vlaardingen"): no question mark,
    no question word at the start, a handful of words."""
    q = " ".join(fold(question).split())
    return "?" not in q and not _QUESTION_START.match(q) and len(q.split()) <= 8


def question_type(question: str) -> str | None:
    """The kind of fact asked for: "amount", "date", "who", "reason", "how", "definition",
    "which" (a named thing or a list), or None (keywords, yes/no and open questions)."""
    q = " ".join(fold(question).split())
    for kind, pat in KIND_CUES:
        if pat.search(q):
            return kind
    if _KEYWORD_AMOUNT.search(q) and is_keyword_query(q):
        return "amount"  # "tarief wmo collectief vervoer velsen": whoever types "tarief" wants the figure
    return None


# Keyword input that names the figure it wants ("... bedrag", "tarief ..."); not "budget" or
# "kosten", which keyword inputs also use for the topic ("samenzijnwijmaassluis budget": structureel).
_KEYWORD_AMOUNT = re.compile(r"\b(?:bedrag|bedragen|tarief|tarieven|kostprijs)\b")


# "Hoeveel kun je krijgen", "hoeveel ontvangt een huishouden": no noun is counted, a sum is asked.
_MONEY_VERB = re.compile(
    r"\bhoe ?veel\s+(?:kun|kan|kunnen|mag|mogen|krijg|krijgt|krijgen|ontvang|ontvangt|ontvangen|betaal|betaalt|betalen)\b"
    r".*\b(?:krijg\w*|ontv\w*|betaal\w*|betalen|uitgekeerd|vergoed\w*|bijdrage)\b"
    r"|\bhoe ?veel\s+(?:krijg|krijgt|krijgen|ontvang|ontvangt|ontvangen|betaal|betaalt|betalen)\b"
)


def asks_money(question: str) -> bool:
    """Whether an amount question is about money ("wat kost", "budget", "hoeveel geld", "hoeveel
    kun je krijgen")."""
    return question_type(question) == "amount" and bool(MONEY_WORDS.search(question) or _MONEY_VERB.search(fold(question)))


@lru_cache(maxsize=1024)  # asked of every candidate span of one question
def asked_noun(question: str) -> str | None:
    """The noun after "welke"/"welk" ("welke wijk" → "wijk", "welk WonenPlus-project" → "project")."""
    m = re.search(r"\bwelke?\s+([\w’'-]+)(?:\s+([\w’'-]+))?(?:\s+([\w’'-]+))?", fold(question))
    if not m:
        return None
    for w in (g for g in m.groups() if g):
        if re.search(r"(?:nde|de|te|ste|er)$", w) or w in _NUMBER_WORDS or w in stopwords():
            continue  # "bestaande", "aangepakte", "eerder", "vier": words before the noun
        return w.split("-")[-1]
    return None


_NUMBER_WORDS = frozenset("twee drie vier vijf zes zeven acht negen tien".split())


_PREP_OF_WAAR = {"aan": "aan", "mee": "met", "voor": "voor", "bij": "bij", "door": "door", "op": "op", "in": "in",
                 "uit": "uit", "over": "over", "naar": "naar", "tegen": "tegen", "van": "van"}


@lru_cache(maxsize=1024)  # asked of every candidate span of one question
def asked_preposition(question: str) -> str | None:
    """The preposition the answer comes with: "Naar wie verschuiven de taken?" → "naar" (the
    answer reads "naar de omliggende gemeenten"); "Met welke partijen", "waarmee" → "met"."""
    q = fold(question).strip()
    # Not "door wie" or "van wie": the answer is as often the subject ("Y voert X uit").
    m = re.match(r"^(?:en\s+)?(naar|aan|met|voor|bij|op|in|uit|over|tegen)\s+(?:wie|welke?)\b", q)
    if m:
        return m.group(1)
    m = re.match(r"^(?:en\s+)?waar(aan|mee|voor|bij|op|in|uit|over|naar|tegen)\b", q)
    return _PREP_OF_WAAR[m.group(1)] if m else None


def counted_word(question: str) -> str | None:
    """What a "hoeveel" question counts: "hoeveel (extra) flexwoningen" → "flexwoningen"."""
    m = re.search(r"\bhoe ?veel\s+(?:(?:extra|\w+e)\s+)?([\w-]+)", fold(question))
    return m.group(1).split("-")[-1] if m else None


def stems(text: str) -> set[str]:
    """Stems of the content words (three letters or more, no stop words) of ``text``."""
    from ..analysis import stem

    return {stem(w) for w in re.findall(r"[^\W\d_]{3,}", fold(text)) if w not in stopwords()}


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


def idf(retriever: Retriever, term: str) -> float:
    """BM25-style IDF of ``term`` over the index's passages; unseen terms get the highest."""
    return retriever.index.sparse.idf(term)


# Words after which a Dutch question has a noun or name: articles, determiners, prepositions.
_BEFORE_NOUN = frozenset(
    "de het een deze die dit dat onze ons hun zijn haar elk elke alle hoeveel in van voor aan met bij op over "
    "naar uit door tot om tegen per zonder binnen vanuit tussen onder".split()
)
# Question words the analyzer keeps as terms ("heet" even stems to the stop word "het").
_QUESTION_WORDS = frozenset("heet heten waarmee waarvoor waarin waarop waaraan waarbij welk welke hoelang kun kan je u".split())


_MONTH_WORDS = frozenset(
    "januari februari maart april mei juni juli augustus september oktober november december".split()
)


def noun_like(question: str) -> set[str]:
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


# Particles of Dutch separable verbs ("voegt ... toe" = toevoegen, "geeft ... uit" = uitgeven).
_PARTICLES = frozenset("toe af op uit aan bij mee terug weg door over na vast voort".split())
_AUX = frozenset("is zijn was waren wordt worden werd werden heeft hebben had hadden kan kunnen kon konden gaat gaan ging "
                 "gingen zal zullen wil willen moet moeten mag mogen".split())
_AFTER_PARTICLE = frozenset("aan voor van in bij op met naar uit tot om te".split())


def _finite_verb_at(words: list[str]) -> int:
    """Where the finite verb of a question stands: second, after the question word ("wie
    voert", "hoeveel voegt"), after "welke" and its noun ("welke organisatie begeleidt"), or
    after a preposition and its question word ("aan wie geeft")."""
    if words and words[0] in ("welke", "welk"):
        return 2
    if words and words[0] not in ("hoeveel", "hoe") and words[0] in _BEFORE_NOUN and len(words) > 2:
        return 3 if words[1] in ("welke", "welk") else 2
    return 1


@lru_cache(maxsize=1024)  # asked of every candidate span of one question
def question_verb(question: str, aux: bool = False) -> str | None:
    """The question's own finite verb, when it has one of its own ("Wie voert de Wet
    inburgering uit?" → "voert"); with ``aux`` also an auxiliary ("Wie heeft ... geformuleerd?"
    → "heeft")."""
    words = [fold(w) for w in re.findall(r"[\w’'-]+", question)]
    i = _finite_verb_at(words)
    verb = words[i] if i < len(words) else ""
    if aux and verb in _AUX:
        return verb
    if not verb.isalpha() or len(verb) < 3 or verb in _AUX or verb in stopwords():
        return None
    return verb


def separable_verbs(question: str) -> dict[str, str]:
    """The finite verb of a question whose particle stands at the end, joined with it:
    "Hoeveel voegt Vlaardingen in 2021 toe aan de reserves?" → {"voegt": "toevoegt"}, so the
    question finds "Toevoegingen reserves". Dutch puts the finite verb second, after the
    question word ("hoeveel voegt", "welk bedrag voegt", "aan wie geeft")."""
    words = [fold(w) for w in re.findall(r"[\w’'-]+", question)]
    if len(words) < 4:
        return {}
    i = _finite_verb_at(words)
    verb = words[i] if i < len(words) else ""
    if not verb.isalpha() or len(verb) < 3 or verb in _AUX or verb in stopwords():
        return {}
    for j in range(i + 2, len(words)):
        w = words[j]
        nxt = words[j + 1] if j + 1 < len(words) else ""
        if w in _PARTICLES and (not nxt or nxt in _AFTER_PARTICLE):
            return {verb: w + verb}
    return {}


def analyse_question(retriever: Retriever, question: str, other_word_share: float = 0.5) -> QuestionInfo:
    """Kind of fact, weighted focus words, and the gemeenten and years named.

    A focus word weighs its IDF in the index, times ``other_word_share`` for words that
    are not noun-like (verbs and the like).
    """
    analyzer = retriever.analyzer
    known = sorted({fold(str(d.get("gemeente"))) for d in retriever.index.documents if d.get("gemeente")}, key=len, reverse=True)
    nouns = noun_like(question)
    has_month = any(m in fold(question) for m in _MONTH_WORDS)
    joined = separable_verbs(question)
    # "Hoeveel bedragen de reserves", "wat bedroeg": the verb that asks for the amount, not a noun.
    amount_verb = re.match(r"^\W*(?:hoeveel|wat)\s+(bedraagt|bedragen|bedroeg|bedroegen)\b", fold(question))
    gemeenten: list[str] = []
    focus: list[FocusWord] = []
    for tok in dict.fromkeys(joined.get(t, t) for t in analyzer.tokens(question)):
        g = next((g for g in known if tok == g or (len(g) >= 5 and tok.startswith(g))), None)
        if g is not None:  # "Velsen", "Velsenaren": a constraint, checked against metadata
            if g not in gemeenten:
                gemeenten.append(g)
            continue
        if YEAR.fullmatch(tok) or tok in _QUESTION_WORDS or tok in _MONTH_WORDS or (amount_verb and tok == amount_verb.group(1)):
            continue  # years and dates are a constraint too ("op 1 januari 2020" picks a column)
        if tok.isdigit() and len(tok) <= 2 and has_month:
            continue
        terms = analyzer.terms(tok)
        if not terms or terms[0] in stopwords():
            continue
        main = terms[0]
        share = 1.0 if tok in nouns else other_word_share
        weight = idf(retriever, main)
        verb = next((v for v, j in joined.items() if j == tok), None)
        if verb is not None:  # "toevoegt": also found as "voegt", weighed as the verb
            verb_terms = analyzer.terms(verb)
            terms = terms + verb_terms
            weight = idf(retriever, verb_terms[0]) if verb_terms else weight
        focus.append(FocusWord(tok, frozenset(terms), main, share * weight))
    years = tuple(int(y) for y in YEAR.findall(question))
    word = counted_word(question)
    counted = next((f for f in focus if f.word == word), None) if word and not asks_money(question) else None
    return QuestionInfo(question, question_type(question), tuple(focus), tuple(gemeenten), years, counted)


# --- how much of the question a text holds ------------------------------------------------


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


def prefix_match(word: str, tokens: set[str] | frozenset[str]) -> bool:
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


def has_word(f: FocusWord, bag: Bag) -> bool:
    """Whether ``bag`` holds the focus word in any form (stem, inflection, compound part)."""
    return f.main in bag.terms or prefix_match(f.word, bag.tokens) or bool(f.terms & bag.terms - {f.main})


def coverage(q: QuestionInfo, bag: Bag, inflection: float = 0.75, part: float = 0.5) -> float:
    """IDF-weighted share of the focus words found in ``bag``.

    The word itself (its stem) counts fully, another inflection of it ``inflection``, and
    a part of a compound ``part`` ("jeugdhulpgeld" → "jeugdhulp").
    """
    return sum(word_credits(q, bag, inflection, part)) / q.total_weight


def word_credits(q: QuestionInfo, bag: Bag, inflection: float = 0.75, part: float = 0.5) -> list[float]:
    """Per focus word of ``q`` (in order): the weight ``bag`` earns for it (see ``coverage``)."""
    out = []
    for f in q.focus:
        if f.main in bag.terms:
            out.append(f.weight)
        elif len(f.word) >= 4 and prefix_match(f.word, bag.tokens):
            out.append(inflection * f.weight)
        elif f.terms & bag.terms:
            out.append(part * f.weight * len(f.terms & bag.terms) / len(f.terms))
        else:
            out.append(0.0)
    return out
