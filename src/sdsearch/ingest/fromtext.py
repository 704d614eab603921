"""Reading gemeente, year, document type and title from a report's own text.

Used only for what corpus.toml, the file name and the file's properties leave open. Each
function returns ``(value, origin)`` or None; the origin is a short Dutch label that
``sdsearch info`` shows ("tekst: titelpagina", "tekst: 'gemeente Velsen'", ...).

Where a report names itself counts most: the title page (headings and short lines at the
start, the first page of a PDF), the running headers a PDF repeats on every page, and
phrases like "deze begroting" or "meerjarenbegroting 2020-2023". Then what the text does:
a begroting looks ahead ("In 2023 gaan we", "Wat gaan we daarvoor doen?"), jaarstukken
and a jaarverslag look back ("In 2022 deden we", "Wat hebben we gedaan?"). Then how
often a gemeente or year is named, discounting names in lists of partners ("samen met
de gemeenten Vlaardingen en Schiedam") and years merely mentioned.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..types import Block
from . import gemeenten
from .vocab import BACKWARD, FORWARD, TYPE_WORD, TYPE_WORDS, TYPE_YEAR, YEAR, type_of

Found = tuple[Any, str]

_TITLE_ZONE = 1500  # chars of a document without pages that count as its title page
_TITLE_ZONE_PAGED = 3000  # at most this much of a PDF's first page
_TITLE_LINE = 120  # a title-page line is at most this long
_SAMPLE = 500_000  # counting needs no more of a very long text than this

ORIGIN_TITLE_PAGE = "tekst: titelpagina"
ORIGIN_RUNNING = "tekst: kop- of voettekst"

# Headings that say what a section does, not what the report is.
_GENERIC_HEADINGS = {
    "inleiding", "voorwoord", "inhoud", "inhoudsopgave", "samenvatting", "leeswijzer", "colofon",
    "subdoelstelling", "doelstelling", "doelstellingen", "speerpunten", "actuele ontwikkelingen",
    "nieuw beleid", "financiën", "beleidsnota's", "zo gaan we dat doen", "bijlagen", "bijlage",
}  # fmt: skip

# Looking ahead and looking back, each as (pattern, weight). Headings of the BBV format
# weigh most; "we gaan" / "hebben we" are weaker signs.
_AHEAD = [
    (re.compile(r"(?im)^\s*wat (?:gaan|willen) we (?:daarvoor |ervoor )?(?:doen|bereiken)\b.*\?\s*$"), 3.0),
    (re.compile(r"(?im)^\s*wat mag het kosten\?\s*$"), 3.0),
    (re.compile(r"(?im)^\s*zo gaan we dat doen\s*$"), 3.0),
    (re.compile(r"\b(?:gaan|zullen|willen) (?:we|wij)\b", re.I), 1.0),
    (re.compile(r"\b(?:we|wij) (?:gaan|zullen)\b", re.I), 1.0),
]
_BACK = [
    (re.compile(r"(?im)^\s*wat hebben we (?:daarvoor |ervoor )?(?:gedaan|bereikt)\b.*\?\s*$"), 3.0),
    (re.compile(r"(?im)^\s*wat heeft het gekost\?\s*$"), 3.0),
    (re.compile(r"\b(?:hebben|hadden) (?:we|wij)\b", re.I), 1.0),
    (re.compile(r"\b(?:we|wij) (?:hebben|hadden)\b(?! (?:\w+ )?(?:nodig|de ambitie|als doel)\b)", re.I), 1.0),
    (re.compile(r"\b(?:deden|werkten|startten|sloten|organiseerden|realiseerden|kregen|voerden) (?:we|wij)\b", re.I), 1.5),
    (re.compile(r"\b(?:we|wij) (?:deden|werkten|startten|sloten|organiseerden|realiseerden|voerden)\b", re.I), 1.5),
    (re.compile(r"\bstond\b[^.]{0,60}\bin het teken\b", re.I), 2.0),
]
# "In 2023 gaan we ..." names the year a begroting is about; "In 2022 deden we ..." a jaarverslag's.
_YEAR_AHEAD = re.compile(
    r"\b(?:in|vanaf|voor) (19[89]\d|20[0-4]\d),? "
    r"(?:(?:gaan|zullen|willen|zetten|blijven|werken|starten|voeren|investeren|ontwikkelen) (?:we|wij)\b|wordt|worden)\b",
    re.I,
)
_YEAR_BACK = re.compile(
    r"\b(?:in|het jaar|gedurende|eind|halverwege) (19[89]\d|20[0-4]\d),? "
    r"(?:hebben|hadden|deden|werkten|startten|sloten|zijn|is|was|waren|werd|werden|stond|kwam|organiseerden|realiseerden|"
    r"kregen|ontvingen|voerden|trad)\b",
    re.I,
)
_SELF_REFERENCE = re.compile(r"\b(?:deze|dit|onze|voorliggende)\s+(" + TYPE_WORDS + r")\b", re.I)
_PARTNERS = re.compile(r"(?:samen\s+met|met\s+de\s+gemeenten?|en\s+de\s+gemeenten?|buurgemeenten?|regiogemeenten)\b[^.]{0,60}$", re.I)
_PLURAL = re.compile(r"\bgemeenten\b[^.]{0,60}$", re.I)
_SINGULAR = re.compile(r"\bgemeente\s*$", re.I)
_PROVINCE = re.compile(r"\bprovincie\s*$", re.I)


@dataclass
class View:
    """A document as the metadata heuristics see it."""

    text: str
    blocks: list[Block] | tuple[Block, ...]
    page_starts: list[int] | tuple[int, ...] = ()
    running: list[str] = field(default_factory=list)  # running headers/footers a PDF reader dropped

    @cached_property
    def sample(self) -> str:
        """The text that mentions are counted in (all of it, up to half a million chars)."""
        return self.text[:_SAMPLE]

    @cached_property
    def zone_end(self) -> int:
        """Where the title page ends: the first page of a PDF, else the first 1500 chars."""
        if len(self.page_starts) > 1:
            return min(self.page_starts[1], _TITLE_ZONE_PAGED)
        return min(len(self.text), _TITLE_ZONE)

    @cached_property
    def title_lines(self) -> list[tuple[str, Block]]:
        """Headings and short lines (not tables or lists) on the title page, in order."""
        out: list[tuple[str, Block]] = []
        for b in self.blocks:
            if b.start >= self.zone_end:
                break
            if b.kind in ("table", "list"):
                continue
            for line in self.text[b.start : b.end].split("\n"):
                line = " ".join(line.split())
                if line and len(line) <= _TITLE_LINE and (b.kind == "heading" or not line.endswith(".")):
                    out.append((line, b))
        return out[:20]

    @cached_property
    def headings(self) -> list[tuple[str, Block]]:
        return [(" ".join(self.text[b.start : b.end].split()), b) for b in self.blocks if b.kind == "heading"]


_LEAD_WORDS = re.compile(r"(?i)\b(?:gemeente|concept|ontwerp|definitieve?|de|het)\b|[-–—·|:,/()]")


def _names_itself(line: str) -> re.Match[str] | None:
    """The type word (and year) of a line that names the report: "Programmabegroting 2020",
    "Gemeente Velsen · Jaarverslag 2022", "Concept-kadernota"; not "Relatie met de begroting 2021"."""
    m = TYPE_YEAR.search(line) or TYPE_WORD.search(line)
    if m is None:
        return None
    lead = line[: m.start()]
    for g in sorted(gemeenten.find(lead), key=lambda g: -g.start):
        lead = lead[: g.start] + lead[g.end :]
    return None if _LEAD_WORDS.sub(" ", lead).strip() else m


def _named_lines(view: View) -> list[tuple[str, str]]:
    """(line, origin) for the title page and the running headers."""
    return [(line, ORIGIN_TITLE_PAGE) for line, _ in view.title_lines] + [(r, ORIGIN_RUNNING) for r in view.running]


# --- document type --------------------------------------------------------------------------


def doc_type(view: View) -> Found | None:
    """The document type the report names itself by, else what its tense says."""
    for line, origin in _named_lines(view):
        if (m := _names_itself(line)) and (t := type_of(m.group(1))):
            return t, origin
    refs: Counter[str] = Counter()
    first: dict[str, str] = {}
    for m in _SELF_REFERENCE.finditer(view.sample):
        if t := type_of(m.group(1)):
            refs[t] += 1
            first.setdefault(t, m.group(0).lower())
    if refs:
        t = refs.most_common(1)[0][0]
        return t, f"tekst: '{first[t]}'"
    ahead, back = _tense(view.sample)
    if ahead >= 2 and ahead >= 2 * back:
        return "programmabegroting", "tekst: vooruitblik ('wat gaan we doen', toekomende tijd)"
    if back >= 2 and back >= 2 * ahead:
        accounts = re.search(r"(?<![\w-])(jaarrekening|jaarstukken)(?![\w-])", view.sample, re.I)
        return ("jaarstukken" if accounts else "jaarverslag"), "tekst: terugblik ('wat hebben we gedaan', verleden tijd)"
    return None


def _tense(text: str) -> tuple[float, float]:
    ahead = sum(w * len(p.findall(text)) for p, w in _AHEAD)
    back = sum(w * len(p.findall(text)) for p, w in _BACK)
    return ahead, back


# --- year -----------------------------------------------------------------------------------------


Scores = dict[Any, dict[str, list[float]]]  # candidate → origin label → [points, weight of one hit]


def total(scores: Scores, cand: Any) -> float:
    return sum(points for points, _ in scores[cand].values())


def _decide(scores: Scores, min_points: float, margin: float) -> tuple[Any, str] | None:
    """The best candidate if it has ``min_points`` and ``margin`` times the runner-up; its origin is
    the strongest kind of evidence for it (a title page over a phrase over mere frequency)."""
    if not scores:
        return None
    ranked = sorted(((total(scores, cand), cand) for cand in scores), key=lambda x: -x[0])
    points, best = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    if points < min_points or points < margin * runner_up:
        return None
    return best, max(scores[best].items(), key=lambda kv: (kv[1][1], kv[1][0]))[0]


def _add(scores: Scores, cand: Any, points: float, label: str) -> None:
    why = scores.setdefault(cand, {}).setdefault(label, [0.0, points])
    why[0] += points


def year(view: View, known_type: str | None = None) -> Found | None:
    """The year the report is about (a begroting's budget year, a jaarverslag's year of account)."""
    for line, origin in _named_lines(view):
        m = _names_itself(line)
        if m is not None and m.re is TYPE_YEAR:
            return int(m.group(2)), origin
        if m is not None and (y := YEAR.search(line)):
            return int(y.group(1)), origin
    return _decide(year_scores(view, known_type), min_points=2.0, margin=1.25)


def year_scores(view: View, known_type: str | None = None) -> Scores:
    """Points per year: named with the report's type (4), in a sentence about plans or results
    that fits the type (3), any mention (0.5)."""
    scores: Scores = {}
    for m in TYPE_YEAR.finditer(view.sample):
        if known_type is None or type_of(m.group(1)) == known_type:
            _add(scores, int(m.group(2)), 4.0, f"tekst: '{' '.join(m.group(0).split()).lower()}'")
    if known_type is None or known_type in FORWARD:
        for m in _YEAR_AHEAD.finditer(view.sample):
            _add(scores, int(m.group(1)), 3.0, f"tekst: vooruitblik op {m.group(1)}")
    if known_type is None or known_type in BACKWARD:
        for m in _YEAR_BACK.finditer(view.sample):
            _add(scores, int(m.group(1)), 3.0, f"tekst: terugblik op {m.group(1)}")
    for m in YEAR.finditer(view.sample):
        _add(scores, int(m.group(1)), 0.5, "tekst: vaakst genoemd jaar")
    return scores


# --- gemeente -------------------------------------------------------------------------------------


def gemeente(view: View) -> Found | None:
    """The gemeente the report is from: named on the title page or in running headers, as
    "gemeente X", or most often, not counting partners and lists of gemeenten."""
    found = _decide(gemeente_scores(view), min_points=2.0, margin=1.5)
    if found is not None and found[1] == _OFTEN:
        n = sum(1 for m in gemeenten.find(view.sample) if m.name == found[0])
        return found[0], f"{_OFTEN} ({n}×)"
    return found


_OFTEN = "tekst: vaakst genoemd"


def gemeente_scores(view: View) -> Scores:
    """Points per gemeente: on the title page or in a running header (5), "gemeente X" (2),
    any other mention (1), a mention among partners or in a list of gemeenten (0.2)."""
    scores: Scores = {}
    for line, origin in _named_lines(view):
        for m in gemeenten.find(line):
            _add(scores, m.name, 5.0, origin)
    text = view.sample
    for m in gemeenten.find(text):
        before = text[max(0, m.start - 80) : m.start]
        before = before[before.rfind("\n") + 1 :]
        if _PROVINCE.search(before) or re.match(r"\s*\d", text[m.end : m.end + 3]):
            continue  # "provincie Utrecht", "Sluis 751"
        if _SINGULAR.search(before) and not _PARTNERS.search(before):
            _add(scores, m.name, 2.0, f"tekst: 'gemeente {m.name}'")
        elif m.name in gemeenten.AMBIGUOUS:
            continue
        elif _PARTNERS.search(before) or _PLURAL.search(before) or _in_list(text, m):
            _add(scores, m.name, 0.2, _OFTEN)
        else:
            _add(scores, m.name, 1.0, _OFTEN)
    return scores


def _in_list(text: str, m: gemeenten.Mention) -> bool:
    """Whether a mention sits in an enumeration of gemeenten ("Maassluis, Vlaardingen en Schiedam")."""
    after = text[m.end : m.end + 40]
    before = text[max(0, m.start - 40) : m.start]
    nxt = re.match(r"\s*(?:,|en|of|&)\s+(\S.*)", after)
    prev = re.search(r"(\S+)\s*(?:,|\ben|\bof|&)\s*$", before)
    if nxt and any(True for _ in gemeenten.find(nxt.group(1)[:30].split(",")[0])):
        return True
    return bool(prev and any(True for _ in gemeenten.find(before)))


# --- title ----------------------------------------------------------------------------------------


def _generic(heading: str) -> bool:
    h = heading.lower().strip().rstrip("?:").strip()
    return h in _GENERIC_HEADINGS or (heading.lower().startswith("wat ") and heading.endswith("?"))


def title(view: View, meta: dict[str, Any]) -> Found | None:
    """A title-page line or running header that names the report; else type and year with the
    opening heading; else the first heading that is more than a section label."""
    for line, origin in _named_lines(view):
        if _names_itself(line):
            return line, origin
    opening = None
    if view.blocks and view.blocks[0].kind == "heading":
        first = " ".join(view.text[view.blocks[0].start : view.blocks[0].end].split())
        if not _generic(first) and len(first) <= _TITLE_LINE:
            opening = first
    kind, when = meta.get("doc_type"), meta.get("year")
    if kind and when:
        name = f"{str(kind).capitalize()} {when}"
        if opening:
            return f"{name} — {opening}", "samengesteld: type en jaar, eerste kop"
        return name, "samengesteld: type en jaar"
    if opening:
        return opening, "tekst: eerste kop"
    for h, b in view.headings:
        if b.start >= view.zone_end:
            break
        if b.level <= 2 and not _generic(h) and len(h) <= _TITLE_LINE:
            return h, "tekst: eerste kop"
    return None
