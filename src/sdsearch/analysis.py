"""Dutch text analysis: sentences, tokens, stop words, stemming, numbers and compounds.

Sentences come from spaCy's Dutch tokenizer with its rule-based sentencizer (no trained
pipeline is needed, so nothing is downloaded). BM25 terms are: spaCy tokens, case and
diacritics folded, stop words dropped, numbers normalised ("1.350" → "1350",
"€ 700.000" → "700000"), stemmed with NLTK's Snowball Dutch stemmer, and long compounds
split into known Dutch words (wordfreq) so that "woning" finds "flexwoningen".
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_WS = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _nlp() -> Any:
    import spacy

    nlp = spacy.blank("nl")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 50_000_000
    return nlp


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets inside ``text[start:end]``, trimmed of whitespace.

    Line breaks end a sentence too: list items and table rows are one sentence each.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    nlp = _nlp()
    for m in re.finditer(r"[^\n]+", text[start:end]):
        line_start = start + m.start()
        doc = nlp(m.group(0))
        for sent in doc.sents:
            s = line_start + sent.start_char
            e = line_start + sent.end_char
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s:
                spans.append((s, e))
    return spans


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Lower case without diacritics: "Beëindiging" → "beeindiging"."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.lower()))


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from spacy.lang.nl.stop_words import STOP_WORDS

    extra = {"wij", "we", "onze", "ons", "gaan", "wordt", "worden", "zijn", "hebben", "heeft"}
    # Question words carry no topic; "hoeveel"/"wanneer" are handled by the answerer.
    extra |= {"wat", "welke", "wie", "waar", "wanneer", "hoeveel", "hoe", "waarom", "gebeurt", "er"}
    return frozenset(fold(w) for w in STOP_WORDS | extra)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("dutch")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer().stem(word)


_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d+)?$")
_NUMBERISH = re.compile(r"^[-+]?\d[\d.,]*$")


def normalise_number(tok: str) -> str:
    """Dutch number notation to one form: "1.350" → "1350", "1,01" → "1.01", "700.000" → "700000"."""
    t = tok.strip(".,")
    if _THOUSANDS.match(t):
        t = t.replace(".", "")
    return t.replace(",", ".")


# --- compounds -------------------------------------------------------------------------

_LINKERS = ("", "s", "e", "en")
_MIN_PART = 4
_MIN_HEAD = 4
_MIN_ZIPF = 2.5
# A known word is split only when both parts are clearly more common than the word itself:
# "jeugdhulp" (3.3) → jeugd (4.9) + hulp, but "Vlaardingen" (3.8) is not vlaar (2.6) + dingen.
_SPLIT_MARGIN = 0.75


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, float]:
    import wordfreq
    lex: dict[str, float] = {}
    floor = 10 ** (_MIN_ZIPF - 9)  # zipf = log10(frequency per word) + 9
    for w, f in wordfreq.get_frequency_dict("nl").items():
        if f >= floor and w.isalpha():
            key = fold(w)
            lex[key] = max(lex.get(key, 0.0), math.log10(f) + 9)
    return lex


@lru_cache(maxsize=100_000)
def split_compound(word: str) -> tuple[str, ...]:
    """Split a folded Dutch word into known parts, ``()`` if it is not a clear compound.

    "flexwoningen" → ("flex", "woningen"); "jeugdhulpaanbieders" → ("jeugd", "hulp", "aanbieders").
    The modifier may carry a linking -s-, -e- or -en- ("arbeidsmarkt" → ("arbeid", "markt")).
    """
    lex = _lexicon()
    if len(word) < _MIN_PART + _MIN_HEAD or not lex:
        return ()
    word_z = lex.get(word, 0.0)
    best: tuple[float, tuple[str, ...]] | None = None
    for i in range(_MIN_PART, len(word) - _MIN_HEAD + 1):
        head = word[i:]
        head_z = lex.get(head, 0.0)
        if head_z < _MIN_ZIPF:
            continue
        for link in _LINKERS:
            mod = word[:i]
            if link:
                if not mod.endswith(link) or len(mod) - len(link) < _MIN_PART:
                    continue
                mod = mod[: -len(link)]
            mod_z = lex.get(mod, 0.0)
            if mod_z >= _MIN_ZIPF and (not word_z or min(mod_z, head_z) >= word_z + _SPLIT_MARGIN):
                mod_parts = split_compound(mod) or (mod,)
                parts = mod_parts + (head,)
                score = min(mod_z, head_z) + 0.1 * len(head)
                if best is None or score > best[0]:
                    best = (score, parts)
    return best[1] if best else ()


# --- analysis for BM25 ---------------------------------------------------------------------


# Bump when analysis changes the terms it produces: an index built with another version
# must be rebuilt (its BM25 terms would no longer match the query's).
ANALYZER_VERSION = 2


@dataclass(frozen=True)
class Analyzer:
    """Turns Dutch text into BM25 terms. Settings are recorded in the index manifest."""

    stem: bool = True
    stopwords: bool = True
    decompound: bool = True

    def settings(self) -> dict[str, Any]:
        return {
            "name": "dutch",
            "version": ANALYZER_VERSION,
            "stem": self.stem,
            "stopwords": self.stopwords,
            "decompound": self.decompound,
        }

    def tokens(self, text: str) -> list[str]:
        """Surface tokens, folded, with numbers normalised; punctuation dropped."""
        out: list[str] = []
        for tok in _nlp().tokenizer(text):
            if tok.is_punct or tok.is_space:
                continue
            t = fold(tok.text)
            if _NUMBERISH.match(t):
                out.append(normalise_number(t))
                continue
            t = t.strip("'’‘-.")
            if not t or not any(ch.isalnum() for ch in t):
                continue
            # Hyphenated compounds ("Wmo-maatwerkvoorziening") count as their parts.
            out.extend(p for p in re.split(r"[-/]", t) if p)
        return out

    def terms(self, text: str) -> list[str]:
        """BM25 terms: tokens minus stop words, stemmed, with compound parts added."""
        stop = stopwords() if self.stopwords else frozenset()
        out: list[str] = []
        for t in self.tokens(text):
            if t in stop:
                continue
            if not t[0].isdigit() and len(t) < 2:
                continue
            out.append(stem(t) if self.stem and t.isalpha() else t)
            if self.decompound and t.isalpha():
                parts = split_compound(t)
                for p in parts:
                    if p not in stop:
                        out.append(stem(p) if self.stem else p)
                # Adjacent parts joined: "jeugdhulpaanbieders" also yields "jeugdhulp".
                for a, b in zip(parts, parts[1:], strict=False):
                    joined = a + b
                    if joined != t:
                        out.append(stem(joined) if self.stem else joined)
        return out


def squash(text: str) -> str:
    """Whitespace-normalised, folded text, used to spot identical passages."""
    return _WS.sub(" ", fold(text)).strip()
