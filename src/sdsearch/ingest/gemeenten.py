"""The Dutch gemeenten, and finding their names in text.

``gemeenten.txt`` (package data beside this module) lists the 342 current gemeenten with
their province. ``find`` yields every mention of a gemeente in a text: its name as the CBS
writes it, a common other spelling ("Den Haag", "Den Bosch", "Súdwest Fryslân") or its
inhabitants ("Vlaardingers", "Velsenaren", "Maassluizers"), as the official name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Other ways people write a gemeente's name.
ALIASES = {
    "Den Haag": "'s-Gravenhage",
    "Den Bosch": "'s-Hertogenbosch",
    "Bergen NH": "Bergen (NH)",
    "Bergen (N.H.)": "Bergen (NH)",
    "Bergen L": "Bergen (L)",
    "Bergen (L.)": "Bergen (L)",
    "Nuenen": "Nuenen, Gerwen en Nederwetten",
    "Sudwest-Fryslan": "Súdwest-Fryslân",
    "Noardeast-Fryslan": "Noardeast-Fryslân",
    "Hengelo (O)": "Hengelo",
    "Rijswijk (ZH)": "Rijswijk",
    "Beek (L)": "Beek",
    "Stein (L)": "Stein",
    "Laren (NH)": "Laren",
    "Middelburg (Z)": "Middelburg",
}
# Names that are also ordinary Dutch words or other places ("Best", "Goes", "Sluis 751",
# "de Beek"): in running text they count only as "gemeente X", in a title or in a file name.
AMBIGUOUS = frozenset(
    {
        "Best", "Buren", "Putten", "Duiven", "Goes", "Sluis", "Beek", "Stein", "Laren", "Hulst", "Losser",
        "Epe", "Oss", "Borne", "Assen", "Ommen", "Emmen", "Urk", "Altena", "Westland", "Waterland", "Ede",
        "Veere", "Rhenen", "Weert", "Tiel", "Lisse", "Baarn", "Heerde", "Texel", "Renkum", "Soest", "Zeist",
        "Groningen", "Utrecht", "Bergen (NH)", "Bergen (L)", "Land van Cuijk", "Maashorst", "Oldambt",
    }
)  # fmt: skip


# Forms that look like inhabitants of a gemeente but are ordinary words.
_NOT_INHABITANTS = frozenset({"Leiders"})


@dataclass(frozen=True)
class Mention:
    name: str  # the official name
    start: int
    end: int
    inhabitants: bool  # "Vlaardingers" rather than "Vlaardingen"


@cache
def names() -> dict[str, str]:
    """Official name → province, from ``gemeenten.txt``."""
    text = resources.files(__package__).joinpath("gemeenten.txt").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, province = line.partition("\t")
            out[name.strip()] = province.strip()
    return out


def _fold(s: str) -> str:
    """Lower case without accents: "Súdwest-Fryslân" and "sudwest-fryslan" fold alike."""
    if s.isascii():
        return s.lower()
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).lower()


def _inhabitant_forms(name: str) -> set[str]:
    """What inhabitants are called (plural), for one-word names: Vlaardingers, Velsenaren, Schiedammers, Maassluizers."""
    if not re.fullmatch(r"[A-Z][a-z]+", name) or len(name) < 5:
        return set()
    stems = {name}
    if name.endswith("en"):
        stems.add(name[:-2])
    if name[-1] not in "aeiou":
        stems.add(name + name[-1])
    if name.endswith("s"):
        stems.add(name[:-1] + "z")
    forms = {s + suffix for s in stems for suffix in ("ers", "aars", "aren", "naren")}
    return forms - _NOT_INHABITANTS - {name}


@cache
def _lookup() -> dict[str, tuple[str, bool]]:
    """A folded spelling → (official name, spelling names the inhabitants)."""
    lookup: dict[str, tuple[str, bool]] = {}
    for name in names():
        lookup[_fold(name)] = (name, False)
    for name in names():
        for form in _inhabitant_forms(name):
            lookup.setdefault(_fold(form), (name, True))
    for alias, name in ALIASES.items():
        lookup[_fold(alias)] = (name, False)
    return lookup


@cache
def _first_words() -> frozenset[str]:
    """The folded first word of every spelling: a quick test before trying longer spellings."""
    return frozenset(_fold(k.split()[0]).rstrip(",") for k in _lookup())


_MAX_WORDS = 5  # "Nuenen, Gerwen en Nederwetten", "Capelle aan den IJssel"
_CAPITAL = re.compile(r"(?<![\w'-])(?:'s-)?[A-ZÀ-Þ][\w-]*")
_WORD = re.compile(r"\S+")


def find(text: str) -> Iterator[Mention]:
    """Every mention of a gemeente in ``text``, longest spelling first ("Alphen aan den Rijn", not
    "Alphen"). Names count only as written with a capital: "velsen" in running text is no mention."""
    lookup = _lookup()
    first = _first_words()
    pos = 0
    while m := _CAPITAL.search(text, pos):
        start = m.start()
        if _fold(m.group(0)) not in first:
            pos = m.end()
            continue
        words = []
        for w in _WORD.finditer(text, start, min(len(text), start + 60)):
            words.append(w)
            if len(words) == _MAX_WORDS:
                break
        hit = None
        for k in range(len(words), 0, -1):
            end = words[k - 1].end()
            span = text[start:end]
            stripped = span.rstrip(",.;:!?\"'’”")
            if stripped.endswith(")") and "(" not in stripped:
                stripped = stripped[:-1]
            for cand in (span, stripped):
                found = lookup.get(_fold(cand))
                if found is not None:
                    hit = Mention(found[0], start, start + len(cand), found[1])
                    break
            if hit is not None:
                break
        if hit is not None:
            yield hit
            pos = hit.end
        else:
            pos = m.end()


def in_name(words: list[str]) -> str | None:
    """The gemeente a file or folder name names: one of its words, or two or three of them in a row."""
    lookup = _lookup()
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            for joiner in (" ", "-"):
                hit = lookup.get(_fold(joiner.join(words[i : i + size])))
                if hit is not None and not hit[1]:
                    return hit[0]
    return None
