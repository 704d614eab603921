"""Abbreviations learned from the indexed text itself: "Wet maatschappelijke ondersteuning (Wmo)".

At build time ``mine`` reads every passage for definitions in the Schwartz–Hearst style
(Schwartz & Hearst 2003, "A simple algorithm for identifying abbreviation definitions"):

- long form, then the short form in brackets: "persoonsgebonden budget (pgb)";
- short form, then the long form in brackets: "Wmo (Wet maatschappelijke ondersteuning)".

A short form is kept when its letters occur in order in the long form and its first letter
starts a word of it ("Wet verplichte ggz (Wvggz)" counts, "reële tarieven (AmvB)" does not).
Reports also use short forms they never define ("bw" for the "beschermd wonen" they
write out a dozen times, "CJG" for "Centrum voor Jeugd en Gezin"), so ``mine`` also counts
the phrases of two to four content words and keeps, per string of initials ("bw"), a
phrase that clearly dominates: used at least three times and twice as often as the next
phrase with those initials, or the only name (every content word capitalised) with them
when the text never writes the initials themselves.
Initials that the collection also writes as an ordinary lower-case word ("wet", "zorg"),
or that are common Dutch words or abbreviations ("bv", "vs"), are not kept.

No list of abbreviations is written by hand: what a collection says is what a search
knows. The result is stored beside the index (``abbreviations.json``, see ``store.py``)
and read with ``Abbreviations.from_json``; at query time ``expansions`` names the long
forms of the short forms a query uses ("wmo vervoer", "CJG") and the short forms of the
defined long forms it spells out ("wet maatschappelijke ondersteuning"), matched
case-insensitively. Measured in bench/tune_abbrev.py (bench/results/tune_abbrev.md).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .analysis import _lexicon, fold, stem, stopwords

FORMAT = 1
# A collection of millions of passages defines some thousands of abbreviations; the file
# stays small (and reading it O(1) in the size of the index) by keeping the most used ones.
MAX_SHORT_FORMS = 5000
LONG_FORMS_PER_SHORT = 3
# Phrase counting for initials looks at this many passages (spread over the collection):
# enough for the phrases a collection repeats, bounded in memory for very large indexes.
INITIALS_SAMPLE = 20_000
MAX_INITIALS = 5000
# Initials that are a common Dutch word or abbreviation (Zipf frequency ≥ 4.5, about 30 per
# million words: "bv", "vs", "ok", "km") mean that word in a query, not a phrase of the text.
COMMON_ZIPF = 4.5

_SEGMENT = re.compile(r"[.,;:!?()\[\]\n\"‘’“”/–—•|]")
_LETTER_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_PAREN = re.compile(r"\(([^()\n]{1,120})\)")
_WORDS = re.compile(r"[^\s]+")
_EDGE = "\"'‘’“”`.,;:!?[]{}–—-"


@dataclass(frozen=True)
class Definition:
    short: str  # as written: "Wmo"
    long: str  # as written: "Wet maatschappelijke ondersteuning"


def _valid_short(sf: str) -> bool:
    """A short form: 2-10 characters, one word, a letter first, and either an upper-case letter
    after the first ("GGZ", "AmvB") or at most five letters ("pgb", "Wvggz"): a longer word in
    brackets ("(gesloten)") is an aside, not an abbreviation."""
    if not 2 <= len(sf) <= 10 or " " in sf:
        return False
    if not sf[0].isalpha() or not any(c.isalpha() for c in sf):
        return False
    letters = [c for c in sf if c.isalpha()]
    if len(letters) < 2:
        return False
    return any(c.isupper() for c in sf[1:]) or len(letters) <= 5


def best_long_form(short: str, candidate: str) -> str | None:
    """The shortest tail of ``candidate`` whose letters contain ``short``'s in order, the first
    at the start of a word (Schwartz & Hearst's ``findBestLongForm``); None when there is none."""
    s, i = len(short) - 1, len(candidate) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        while i >= 0 and (candidate[i].lower() != c or (s == 0 and i > 0 and candidate[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
        s -= 1
    start = candidate.rfind(" ", 0, i + 1) + 1
    return candidate[start:]


def _accept(short: str, long: str) -> Definition | None:
    long = long.strip(_EDGE + " ")
    words = long.split()
    if not words or len(long) <= len(short) or fold(short) in fold(long).split():
        return None
    if len(words) > min(len(short) + 5, 2 * len(short)) or len(words) < 2 and len(long) < 2 * len(short):
        return None
    if fold(words[0]) in stopwords():
        return None
    # Most words of the long form start with a letter of the short form (acronyms are built
    # from initials): "(acute)" after "een pilot" is no definition.
    letters = set(fold(short))
    if sum(fold(w)[:1] in letters for w in words) < min(2, len(words)):
        return None
    return Definition(short, long)


def find_definitions(text: str) -> list[Definition]:
    """Every abbreviation definition in ``text``, in both orders (see the module docstring)."""
    out: list[Definition] = []
    for m in _PAREN.finditer(text):
        inner = m.group(1).strip()
        before = text[max(0, m.start() - 300) : m.start()]
        before = before[max(before.rfind("\n"), before.rfind(". "), before.rfind("("), before.rfind(")")) + 1 :]
        # "long form (SF)": the short form may carry a plural or a second part ("GI’s", "Wmo; 2015").
        sf = re.split(r"[;,]\s", inner)[0].strip()
        sf = re.sub(r"[’']s$", "", sf)
        if _valid_short(sf):
            words = _WORDS.findall(before)
            window = " ".join(words[-min(len(sf) + 5, 2 * len(sf)) :])
            lf = best_long_form(sf, window.strip(_EDGE + " "))
            d = _accept(sf, lf) if lf else None
            if d:
                out.append(d)
                continue
        # "SF (long form)": the word before the bracket is the short form.
        words = _WORDS.findall(before)
        if words and len(inner.split()) >= 2:
            sf = words[-1].strip(_EDGE)
            if _valid_short(sf):
                lf = best_long_form(sf, inner)
                # The whole bracket must be the long form (its first word carries the first letter).
                if lf and fold(lf) == fold(inner.strip(_EDGE + " ")):
                    d = _accept(sf, lf)
                    if d:
                        out.append(d)
    return out


@dataclass
class Abbreviations:
    """Short form (folded: "wmo") → its long forms, most used first, with counts."""

    long_forms: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # Initials ("bw") → the phrase the collection writes out for them, and how often.
    initials: dict[str, tuple[str, int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.long_forms) + len(self.initials)

    def __contains__(self, short: str) -> bool:
        return fold(short) in self.long_forms or fold(short) in self.initials

    @cached_property
    def by_first_word(self) -> dict[str, list[tuple[str, str, str]]]:
        """Defined long forms by their first folded word: (short form, long form, folded words),
        so a query is checked against the few long forms that can start at each of its words."""
        out: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for sf, lfs in self.long_forms.items():
            for lf, _ in lfs:
                words = _plain_words(lf)
                if words and len(" ".join(words)) > 3:
                    out[words[0]].append((sf, lf, " ".join(words)))
        return dict(out)

    def get(self, short: str) -> list[str]:
        """Long forms of ``short``: its definitions, else the phrase its initials stand for."""
        key = fold(short)
        if key in self.long_forms:
            return [lf for lf, _ in self.long_forms[key]]
        return [self.initials[key][0]] if key in self.initials else []

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "short_forms": {sf: [[lf, n] for lf, n in lfs] for sf, lfs in self.long_forms.items()},
            "initials": {k: [ph, n] for k, (ph, n) in self.initials.items()},
        }

    @classmethod
    def from_json(cls, data: Any) -> Abbreviations:
        """Read what ``to_json`` wrote; anything else (another format, damage) reads as none."""
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("short_forms"), dict):
            return cls()
        out: dict[str, list[tuple[str, int]]] = {}
        for sf, lfs in data["short_forms"].items():
            if isinstance(sf, str) and isinstance(lfs, list):
                ok = [(str(x[0]), int(x[1])) for x in lfs if isinstance(x, list) and len(x) == 2 and isinstance(x[0], str) and isinstance(x[1], int)]
                if ok:
                    out[sf] = ok
        initials: dict[str, tuple[str, int]] = {}
        raw = data.get("initials", {})
        for k, v in (raw.items() if isinstance(raw, dict) else ()):
            if isinstance(k, str) and isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], int):
                initials[k] = (v[0], v[1])
        return cls(out, initials)


def mine(texts: Sequence[str]) -> Abbreviations:
    """The abbreviations ``texts`` define, each short form with its most used long forms, and
    the phrases that clearly stand behind a string of initials (see the module docstring).

    Long forms are counted by their folded text ("Wet maatschappelijke ondersteuning" and
    "wet maatschappelijke ondersteuning" are one); the spelling shown is the first seen.
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    spelling: dict[str, str] = {}
    for text in texts:
        for d in find_definitions(text):
            key = fold(d.long)
            spelling.setdefault(key, " ".join(d.long.split()))
            counts[fold(d.short)][key] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:MAX_SHORT_FORMS]
    long_forms = {
        sf: [(spelling[k], n) for k, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:LONG_FORMS_PER_SHORT]]
        for sf, c in ranked
    }
    step = max(1, len(texts) // INITIALS_SAMPLE)
    initials = mine_initials(texts[::step], exclude=set(long_forms))
    return Abbreviations(long_forms, initials)


def _phrases(text: str, stop: frozenset[str]) -> Iterable[tuple[str, str, bool]]:
    """(initials, folded phrase, is a name) for every run of 2-4 content words (at most two
    stop words between them) inside one clause of ``text``."""
    for seg in _SEGMENT.split(text):
        words = _LETTER_WORD.findall(seg)
        folded = [fold(w) for w in words]
        for i, w in enumerate(words):
            if folded[i] in stop or len(w) < 2:
                continue
            content, stops = 1, 0
            for j in range(i + 1, min(i + 7, len(words))):
                if folded[j] in stop:
                    stops += 1
                    if stops > 2:
                        break
                    continue
                content += 1
                span = range(i, j + 1)
                key = "".join(folded[x][0] for x in span if folded[x] not in stop)
                # A name: every content word capitalised, the first not merely by starting the clause.
                name = i > 0 and all(words[x][0].isupper() for x in span if folded[x] not in stop)
                yield key, " ".join(folded[x] for x in span), name
                if content >= 4:
                    break


def mine_initials(texts: Iterable[str], exclude: set[str] | None = None) -> dict[str, tuple[str, int]]:
    """Initials → the phrase that clearly stands behind them (see the module docstring)."""
    stop = stopwords()
    lexicon = _lexicon()
    counts: Counter[tuple[str, str]] = Counter()
    names: set[tuple[str, str]] = set()
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    lower_words: set[str] = set()
    used: set[str] = set()  # every word as the text writes it, folded ("Wmo", "GR" → "wmo", "gr")
    for text in texts:
        words = _LETTER_WORD.findall(text)
        lower_words.update(w for w in words if w.islower())
        used.update(fold(w) for w in words)
        for key, phrase, name in _phrases(text, stop):
            # Inflected forms are one phrase ("maatschappelijk(e) opvang"), shown as most written.
            lemma = " ".join(stem(w) for w in phrase.split())
            counts[key, lemma] += 1
            spellings[lemma][phrase] += 1
            if name:
                names.add((key, lemma))
    by_key: dict[str, list[tuple[int, str, bool]]] = defaultdict(list)
    for (key, lemma), n in counts.items():
        shown = max(sorted(spellings[lemma]), key=spellings[lemma].__getitem__)
        by_key[key].append((n, shown, (key, lemma) in names))
    out: dict[str, tuple[str, int]] = {}
    for key, cands in by_key.items():
        if key in lower_words or key in stop or (exclude and key in exclude) or not key.isalpha():
            continue
        if lexicon.get(key, 0.0) >= COMMON_ZIPF:  # a common Dutch word or abbreviation ("bv", "vs", "ok")
            continue
        cands.sort(key=lambda c: (-c[0], c[1]))
        n, phrase, _ = cands[0]
        runner_up = cands[1][0] if len(cands) > 1 else 0
        named = [c for c in cands if c[2]]
        if n >= 3 and n >= 2 * runner_up:
            out[key] = (phrase, n)
        elif len(named) == 1 and key not in used:
            # A name seen once is weak evidence: enough for initials the text never writes
            # ("CJG"), not for a short form it uses without its long form ("Wmo").
            out[key] = (named[0][1], named[0][0])
    best = sorted(out.items(), key=lambda kv: (-kv[1][1], kv[0]))[:MAX_INITIALS]
    return dict(sorted(best))


@dataclass(frozen=True)
class Expansion:
    short: str  # folded short form
    long: str  # its long form as written
    direction: str  # "long" (the query used the short form) or "short" (it spelled out the long form)


def expansions(query: str, abbreviations: Abbreviations, tokens: Sequence[str]) -> list[Expansion]:
    """The long forms of the short forms ``query`` uses and the short forms of long forms it spells out.

    ``tokens`` are the query's folded tokens (``Analyzer.tokens``); a long form is spelled
    out when its folded words occur in the query in order and next to each other.
    """
    if not abbreviations:
        return []
    out: list[Expansion] = []
    seen: set[str] = set()
    for t in tokens:
        if t in seen:
            continue
        if t in abbreviations.long_forms:
            out.append(Expansion(t, abbreviations.long_forms[t][0][0], "long"))
            seen.add(t)
        elif t in abbreviations.initials:
            out.append(Expansion(t, abbreviations.initials[t][0], "long"))
            seen.add(t)
    words = _plain_words(query)
    folded = f" {' '.join(words)} "
    by_first = abbreviations.by_first_word
    for w in dict.fromkeys(words):
        for sf, lf, phrase in by_first.get(w, ()):
            if sf not in seen and f" {phrase} " in folded:
                out.append(Expansion(sf, lf, "short"))
                seen.add(sf)
    return out


def _plain_words(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", fold(text)).split()
