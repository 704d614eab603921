"""Dutch text analysis: sentences, tokens, stop words, stemming, numbers and compounds.

Nothing here imports a language library: a search starts in milliseconds (issue 15).

* Tokens follow spaCy's Dutch tokenizer rules (prefixes, suffixes, infixes and its
  exception list "o.a.", "bijv.", ...), ported to plain Python; tests/test_analysis.py
  checks that they give spaCy's tokens and sentences on the bundled reports.
* Sentences: spaCy's rule-based sentencizer over those tokens, one line at a time.
* BM25 terms: tokens, case and diacritics folded, stop words dropped, numbers
  normalised ("1.350" → "1350", "€ 700.000" → "700000"), stemmed with the Snowball
  Dutch (Porter) stemmer in C (PyStemmer; the same stems as NLTK's), and long compounds
  split into known Dutch words so that "woning" finds "flexwoningen".

The word lists live in ``sdsearch/data/`` (written by tools/make_analysis_data.py from
spaCy and wordfreq): ``nl_stopwords.txt``, ``nl_tokenizer_exceptions.txt`` and
``nl_lexicon.txt`` (the compound splitter's word frequencies).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

_WS = re.compile(r"\s+")
_DATA = Path(__file__).resolve().parent / "data"


def _data(name: str) -> str:
    return (_DATA / name).read_text(encoding="utf-8")


# --- tokens --------------------------------------------------------------------------------
#
# A port of spaCy 3's Tokenizer (``_split_affixes`` / ``_attach_tokens``) with the Dutch
# rules of spacy/lang/nl/punctuation.py. spaCy's letter classes are approximated with
# str.isalpha/islower/isupper, its symbol class with the Unicode category "So"; on Dutch
# text the two agree (tests/test_analysis.py compares them on the reports).

_PUNCT = "…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪"  # spaCy LIST_PUNCT (single characters)
_QUOTES = "'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉〈〉⟦⟧"  # LIST_QUOTES
_CURRENCY = ("US$", "C$", "A$", "$", "£", "€", "¥", "฿", "₽", "﷼", "₴", "₠", "₡", "₢", "₣", "₤", "₥", "₦",
             "₧", "₨", "₩", "₪", "₫", "₭", "₮", "₯", "₰", "₱", "₲", "₳", "₵", "₶", "₷", "₸", "₹", "₺", "₻", "₼",
             "₾", "₿")
# LIST_UNITS without "%" (Dutch keeps "120%" whole); Latin and Cyrillic only.
_UNITS = ("km", "km²", "km³", "m", "m²", "m³", "dm", "dm²", "dm³", "cm", "cm²", "cm³", "mm", "mm²", "mm³", "ha",
          "µm", "nm", "yd", "in", "ft", "kg", "g", "mg", "µg", "t", "lb", "oz", "m/s", "km/h", "kmh", "mph", "hPa",
          "Pa", "mbar", "mb", "MB", "kb", "KB", "gb", "GB", "tb", "TB", "T", "G", "M", "K",
          "км", "км²", "км³", "м", "м²", "м³", "дм", "дм²", "дм³", "см", "см²", "см³", "мм", "мм²", "мм³", "нм",
          "кг", "г", "мг", "м/с", "км/ч", "кПа", "Па", "мбар", "Кб", "КБ", "кб", "Мб", "МБ", "мб", "Гб", "ГБ",
          "гб", "Тб", "ТБ")
_DIGITS = frozenset("0123456789")
_PREFIX_ONE = frozenset("§%=—–" + _PUNCT + _QUOTES + "".join(c for c in _CURRENCY if len(c) == 1))
_SUFFIX_ONE = frozenset(_PUNCT + _QUOTES + "—–")
_SUFFIX_AFTER_DIGIT = tuple(sorted(set(_CURRENCY + _UNITS), key=len, reverse=True))
# A final "." is split off after a lower-case letter or one of these (spaCy's lookbehind
# class, which also holds "|" and the characters of "(?:" and ")").
_DOT_AFTER = frozenset("0123456789%²-+|" + _PUNCT + _QUOTES + "(?:)")
_INFIX_QUOTES = frozenset(_QUOTES.replace("'", "") + ")]([")
# spaCy's sentencizer ends a sentence after a token that is one of these.
_SENT_END = frozenset(
    "!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？"
    "𐩖𐩗𑁇𑁈𑂾𑂿𑃀𑃁𑅁𑅂𑅃𑇅𑇆𑇍𑇞𑇟𑈸𑈹𑈻𑈼𑊩𑑋𑑌𑗂𑗃𑗉𑗊𑗋𑗌𑗍𑗎𑗏𑗐𑗑𑗒𑗓𑗔𑗕𑗖𑗗𑙁𑙂𑜼𑜽𑜾𑩂𑩃𑪛𑪜𑱁𑱂𖩮𖩯𖫵𖬷𖬸𖭄𛲟𝪈｡。"
)
_URL = (
    r"^(?:(?:[\w\+\-\.]{2,})://)?(?:\S+(?::\S*)?@)?(?:"
    r"(?!(?:10|127)(?:\.\d{1,3}){3})(?!(?:169\.254|192\.168)(?:\.\d{1,3}){2})"
    r"(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})"
    r"(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}"
    r"(?:\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]))"
    r"|(?:(?:[A-Za-z0-9\u00a1-\uffff][A-Za-z0-9\u00a1-\uffff_-]{0,62})?[A-Za-z0-9\u00a1-\uffff]\.)+"
    r"(?:[a-zß-öø-ÿ\u03ac-\u03ce\u0430-\u045f]{2,63}))(?::\d{2,5})?(?:[/?#]\S*)?$"
)  # spaCy's URL_PATTERN: a URL is one token, never split at its infixes


@lru_cache(maxsize=1)
def _url() -> re.Pattern[str]:
    return re.compile(_URL)


@lru_cache(maxsize=1)
def _exceptions() -> dict[str, tuple[str, ...]]:
    """spaCy's Dutch tokenizer exceptions: the string → its tokens (mostly itself)."""
    out: dict[str, tuple[str, ...]] = {}
    for line in _data("nl_tokenizer_exceptions.txt").split("\n"):
        if line:
            orth, _, pieces = line.partition("\t")
            out[orth] = tuple(pieces.split(" ")) if pieces else (orth,)
    return out


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch) == "So"


def _prefix_len(s: str) -> int:
    if s.startswith(",,"):
        return 2
    c = s[0]
    if c in _PREFIX_ONE:
        return 1
    if c == "+":
        return 0 if len(s) > 1 and s[1] in _DIGITS else 1
    if s.startswith(".."):
        return len(s) - len(s.lstrip("."))
    if s.startswith(("US$", "C$", "A$")):
        return 3 if s[0] == "U" else 2
    return 1 if _is_symbol(c) else 0


def _suffix_len(s: str) -> int:
    """Length of the suffix spaCy's regex finds first (its leftmost, so longest, match)."""
    n = len(s)
    best = 0
    last = s[-1]
    if s.endswith("''") or s.endswith("……"):
        best = 2
    elif last in _SUFFIX_ONE or _is_symbol(last):
        best = 1
    if s.endswith(".."):
        best = max(best, n - len(s.rstrip(".")))
    if last == "." and n >= 2:
        prev = s[-2]
        if (prev.islower() or prev in _DOT_AFTER or (n >= 3 and prev in "FfCcKk" and s[-3] == "°")
                or (n >= 3 and prev.isupper() and s[-3].isupper())):
            best = max(best, 1)
    if last == "+" and n >= 2 and s[-2] in _DIGITS:
        best = max(best, 1)
    for unit in _SUFFIX_AFTER_DIGIT:
        k = len(unit)
        if k > best and n > k and s.endswith(unit) and s[-k - 1] in _DIGITS:
            best = k
            break
    return best


def _infixes(s: str) -> list[tuple[int, int]]:
    """spaCy's Dutch infix matches in ``s`` as (start, end), left to right, not overlapping."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        end = 0
        if c == "." and i + 1 < n and s[i + 1] == ".":
            end = i + 2
            while end < n and s[end] == ".":
                end += 1
        elif c == "…" or _is_symbol(c):
            end = i + 1
        elif 0 < i < n - 1:
            prev, nxt = s[i - 1], s[i + 1]
            if c == ".":
                if prev.islower() and nxt.isupper():
                    end = i + 1
            elif nxt.isalpha():
                if c in ",!?" or c in _INFIX_QUOTES:
                    end = i + 1 if prev.isalpha() else 0
                elif c in ":<>=":
                    end = i + 1 if prev.isalpha() or prev == '"' else 0
            elif c == "-" and nxt == "-" and i + 2 < n and prev.isalpha() and s[i + 2].isalpha():
                end = i + 2
        if end:
            out.append((i, end))
            i = end
        else:
            i += 1
    return out


def _split_chunk(s: str, at: int, specials: bool = True) -> list[tuple[int, int]]:
    """Token (start, end) offsets of one whitespace-free chunk ``s`` found at ``at``."""
    exc = _exceptions() if specials else {}
    s_orig = s
    if s in exc or s.isalpha() or s.isdigit():
        return _exception_tokens(s, at, exc) if s in exc else [(at, at + len(s))]
    prefixes: list[str] = []
    suffixes: list[str] = []
    last = -1
    while s and len(s) != last:
        if s in exc:
            break
        last = len(s)
        pre = _prefix_len(s)
        if pre:
            minus_pre = s[pre:]
            if minus_pre and minus_pre in exc:
                prefixes.append(s[:pre])
                s = minus_pre
                break
        suf = _suffix_len(s[pre:]) if pre < len(s) else 0
        if suf:
            minus_suf = s[:-suf]
            if minus_suf and minus_suf in exc:
                suffixes.append(s[-suf:])
                s = minus_suf
                break
        if pre and suf and pre + suf <= len(s):
            prefixes.append(s[:pre])
            suffixes.append(s[-suf:])
            s = s[pre:-suf]
        elif pre:
            prefixes.append(s[:pre])
            s = s[pre:]
        elif suf:
            suffixes.append(s[-suf:])
            s = s[:-suf]
        if s in exc:
            break
    out: list[tuple[int, int]] = []
    pos = at
    for p in prefixes:
        out.append((pos, pos + len(p)))
        pos += len(p)
    if s:
        infixes = _infixes(s) if s not in exc else []
        if s in exc:
            out.extend(_exception_tokens(s, pos, exc))
        elif not infixes or _url().match(s):
            out.append((pos, pos + len(s)))
        else:
            start = 0
            for a, b in infixes:
                if a == 0:
                    continue
                if a != start:
                    out.append((pos + start, pos + a))
                out.append((pos + a, pos + b))
                start = b
            if start < len(s):
                out.append((pos + start, pos + len(s)))
        pos += len(s)
    for p in reversed(suffixes):
        out.append((pos, pos + len(p)))
        pos += len(p)
    return _merge_exceptions(out, at, exc, s_orig) if specials and len(out) > 1 else out


def _merge_exceptions(tokens: list[tuple[int, int]], at: int, exc: dict[str, tuple[str, ...]],
                      chunk: str) -> list[tuple[int, int]]:
    """Rejoin tokens that together spell an exception ("regio’s" → "regio", "’s"), as spaCy's
    special-case matcher does: where they are the tokens the exception itself would be cut
    into without exceptions."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(tokens)
    while i < n:
        for j in range(min(n, i + 6), i + 1, -1):
            a = tokens[i][0]
            text = chunk[a - at : tokens[j - 1][1] - at]
            if text in exc and _split_chunk(text, a, specials=False) == tokens[i:j]:
                out.extend(_exception_tokens(text, tokens[i][0], exc))
                i = j
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _exception_tokens(s: str, at: int, exc: dict[str, tuple[str, ...]]) -> list[tuple[int, int]]:
    out = []
    for piece in exc[s]:
        out.append((at, at + len(piece)))
        at += len(piece)
    return out


_CHUNK = re.compile(r"\S+")


@lru_cache(maxsize=100_000)
def _chunk_tokens(chunk: str) -> tuple[tuple[int, int], ...]:
    """``_split_chunk`` at offset 0, remembered: a word's tokens are the same everywhere."""
    return tuple(_split_chunk(chunk, 0))


def token_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each token of ``text`` as spaCy's Dutch tokenizer cuts it (no spaces)."""
    out: list[tuple[int, int]] = []
    for m in _CHUNK.finditer(text):
        chunk, at = m.group(0), m.start()
        if chunk.isalpha():
            out.append((at, m.end()))
        else:
            out.extend((at + a, at + b) for a, b in _chunk_tokens(chunk))
    return out


def is_punct(token: str) -> bool:
    """Only punctuation (spaCy's ``is_punct``: every character in a Unicode P category)."""
    return all(unicodedata.category(ch)[0] == "P" for ch in token)


# --- sentences -----------------------------------------------------------------------------


def _line_sentences(line: str) -> Iterator[tuple[int, int]]:
    """spaCy's sentencizer on one line: a sentence ends after a token such as "." or "?",
    and the next begins at the first token after it that is not punctuation.

    As in spaCy, a run of whitespace (less the one space that separates two tokens) is a
    token too, and it is no punctuation."""
    tokens: list[tuple[int, int]] = []
    pos = 0
    for m in _CHUNK.finditer(line):
        ws = pos if pos == 0 or line[pos] != " " else pos + 1  # whitespace before this chunk
        if ws < m.start():
            tokens.append((ws, m.start()))
        at = m.start()
        tokens.extend((at + a, at + b) for a, b in _chunk_tokens(m.group(0)))
        pos = m.end()
    if not tokens:
        return
    ws = pos if line[pos : pos + 1] != " " else pos + 1
    if ws < len(line):
        tokens.append((ws, len(line)))
    starts = [0]
    seen_end = False
    for i, (a, b) in enumerate(tokens):
        tok = line[a:b]
        if tok in _SENT_END:
            seen_end = True
        elif seen_end and not is_punct(tok):
            starts.append(i)
            seen_end = False
    starts.append(len(tokens))
    for s_tok, e_tok in zip(starts, starts[1:], strict=False):
        yield tokens[s_tok][0], tokens[e_tok - 1][1]


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets inside ``text[start:end]``, trimmed of whitespace.

    Line breaks end a sentence too: list items and table rows are one sentence each.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for m in re.finditer(r"[^\n]+", text[start:end]):
        line_start = start + m.start()
        for s, e in _line_sentences(m.group(0)):
            s += line_start
            e += line_start
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s:
                spans.append((s, e))
    return spans


# --- words ---------------------------------------------------------------------------------

_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Lower case without diacritics: "Beëindiging" → "beeindiging"."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.lower()))


# Beyond spaCy's list: pronouns and verbs that carry no topic in these reports, and question
# words ("hoeveel"/"wanneer" are handled by the answerer).
_EXTRA_STOPWORDS = ("wij we onze ons gaan wordt worden zijn hebben heeft "
                    "wat welke wie waar wanneer hoeveel hoe waarom gebeurt er")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    words = _data("nl_stopwords.txt").split() + _EXTRA_STOPWORDS.split()
    return frozenset(fold(w) for w in words)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    """The Snowball Dutch (Porter) stemmer's ``stem(word)``: PyStemmer's C, else NLTK's Python."""
    try:
        import Stemmer  # PyStemmer
    except ImportError:  # same stems (tests/test_analysis.py), some 100x slower to import
        from nltk.stem.snowball import SnowballStemmer

        return SnowballStemmer("dutch").stem
    # Snowball 3 renamed the classic Dutch stemmer "dutch_porter" and gave "dutch" a new
    # algorithm with other stems ("gemeenten" → "meen"); the classic one is NLTK's.
    name = "dutch_porter" if "dutch_porter" in Stemmer.algorithms() else "dutch"
    return Stemmer.Stemmer(name).stemWord


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer()(word)


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
    """Folded Dutch words → Zipf frequency (wordfreq, Zipf ≥ 2.5), from data/nl_lexicon.txt."""
    lex: dict[str, float] = {}
    for line in _data("nl_lexicon.txt").split("\n"):
        if line and line[0] != "#":
            bucket, _, words = line.partition(" ")
            lex.update(dict.fromkeys(words.split(" "), math.log10(10 ** (-int(bucket) / 100)) + 9))
    return lex


@lru_cache(maxsize=100_000)
def split_compound(word: str) -> tuple[str, ...]:
    """Split a folded Dutch word into known parts, ``()`` if it is not a clear compound.

    "flexwoningen" → ("flex", "woningen"); "jeugdhulpaanbieders" → ("jeugd", "hulp", "aanbieders").
    The modifier may carry a linking -s-, -e- or -en- ("arbeidsmarkt" → ("arbeid", "markt")).
    """
    if len(word) < _MIN_PART + _MIN_HEAD:
        return ()
    lex = _lexicon()
    if not lex:
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
# 3: spaCy's tokenizer and NLTK's stemmer replaced by the ports above and PyStemmer.
ANALYZER_VERSION = 3


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
        for a, b in token_spans(text):
            tok = text[a:b]
            if is_punct(tok):
                continue
            t = fold(tok)
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
