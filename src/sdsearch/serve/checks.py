"""Checks on what a request asks for, before the library sees it.

``check_filters`` refuses a gemeente, year or document type that the index does not
hold, with a Dutch message that lists what it does hold and names a near miss
("bedoelde u Vlaardingen?"), instead of an empty result that looks like "no answer".
It needs only the index's facets (``sdsearch.api.facets``), so it can move into the
library as it is.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..analysis import fold as _fold
from ..retrieve import Filters
from .errors import ApiError, dutch_list
from .options import MAX_K, MAX_QUERY_CHARS

# What the retriever strips from a query before searching (control, zero-width and bidi
# characters); a query of nothing else is refused here, in Dutch.
_NOISE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# The same rule for the OpenAPI schema: at least one character that is neither space nor noise.
QUERY_PATTERN = r"[^\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
_YEAR = re.compile(r"\s*(\d{4})?\s*(?:(-|–|\.\.|t/m)\s*(\d{4})?)?\s*")


def fold(text: str) -> str:
    """The library's folding (``analysis.fold``) of a trimmed value, so the server accepts
    exactly the spellings the retriever's filters match."""
    return _fold(str(text).strip())


def check_query(q: str | None) -> str:
    """The query as given, or ``ApiError(400)`` when there is nothing to search for."""
    if q is None or not q.strip():
        raise ApiError(400, "Lege vraag: typ een vraag of een paar woorden.", field="q")
    if len(q) > MAX_QUERY_CHARS:
        raise ApiError(
            400, f"De vraag is te lang ({len(q):,} tekens); ten hoogste {MAX_QUERY_CHARS:,}.".replace(",", "."), field="q"
        )
    if not _NOISE.sub("", q).strip():
        raise ApiError(400, "De vraag bevat alleen stuurtekens: typ een vraag of een paar woorden.", field="q")
    return q


def check_k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise ApiError(400, f"k moet een geheel getal van 1 tot en met {MAX_K} zijn.", field="k")
    return k


@dataclass(frozen=True)
class Selection:
    """Filters in the index's own spelling, ready for ``api.search_with``/``ask_with``."""

    gemeente: tuple[str, ...] = ()
    year: str | None = None
    doc_type: tuple[str, ...] = ()

    def kwargs(self) -> dict[str, Any]:
        return {
            "gemeente": list(self.gemeente) or None,
            "year": self.year,
            "doc_type": list(self.doc_type) or None,
        }

    def key(self) -> tuple[Any, ...]:
        return (self.gemeente, self.year, self.doc_type)


def _split(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [part.strip() for v in values for part in str(v).split(",") if part.strip()]


def _facet_values(facets: dict[str, Any], key: str) -> list[Any]:
    return [e["value"] for e in facets.get(key, [])]


def _one_of(kind: str, kinds: str, field: str, given: str, known: Sequence[str]) -> str:
    """``given`` in the index's spelling, or ``ApiError(400)`` naming what the index holds."""
    by_fold = {fold(v): v for v in known}
    hit = by_fold.get(fold(given))
    if hit is not None:
        return hit
    close = difflib.get_close_matches(fold(given), list(by_fold), n=1, cutoff=0.75)
    suggestion = by_fold[close[0]] if close else None
    shown = given if len(given) <= 60 else given[:57] + "…"
    if not known:
        raise ApiError(400, f"Onbekende {kind} ‘{shown}’: de index kent geen {kinds}.", field=field, known=[])
    message = f"Onbekende {kind} ‘{shown}’"
    message += f": bedoelde u {suggestion}?" if suggestion else "."
    message += f" De index bevat {dutch_list(list(known))}."
    raise ApiError(400, message, field=field, known=list(known), suggestion=suggestion)


def check_year(given: str | None, years: Sequence[int]) -> str | None:
    """A year or range ("2022", "2020-2023", "2021-") that selects at least one report."""
    if given is None or not str(given).strip():
        return None
    text = str(given)
    m = _YEAR.fullmatch(text) if len(text) <= 40 else None
    if not m or not (m.group(1) or m.group(3)):
        shown = text if len(text) <= 40 else text[:37] + "…"
        raise ApiError(
            400, f"Jaar ‘{shown}’ niet begrepen: gebruik een jaar als 2022 of een reeks als 2020-2023.", field="jaar"
        )
    lo = int(m.group(1)) if m.group(1) else None
    hi = int(m.group(3)) if m.group(3) else (lo if not m.group(2) else None)
    if lo is not None and hi is not None and lo > hi:
        raise ApiError(400, f"De jaarreeks {lo}-{hi} is leeg: zet het vroegste jaar eerst, zoals {hi}-{lo}.", field="jaar")
    if any((lo is None or y >= lo) and (hi is None or y <= hi) for y in years):
        return text.strip()
    held = sorted(set(years))
    what = str(lo) if lo == hi else f"{lo or ''}-{hi or ''}"
    if not held:
        raise ApiError(400, f"Geen rapporten uit {what}: de index kent geen jaren.", field="jaar", known=[])
    suggestion = None
    if lo == hi and lo is not None:
        suggestion = str(min(held, key=lambda y: (abs(y - lo), y)))
    message = f"De index bevat geen rapporten uit {what}"
    message += f": bedoelde u {suggestion}?" if suggestion else "."
    message += f" Wel uit {dutch_list([str(y) for y in held])}."
    raise ApiError(400, message, field="jaar", known=[str(y) for y in held], suggestion=suggestion)


def no_blank(name: str, values: Iterable[str] | str | None) -> None:
    """The API takes no empty filter values (leave the parameter out); the page's form does."""
    if values is None:
        return
    for v in [values] if isinstance(values, str) else values:
        if not str(v).strip():
            raise ApiError(400, f"Lege waarde voor {name}: laat de parameter weg om niet op {name} te filteren.", field=name)


def check_filters(
    facets: dict[str, Any],
    gemeente: Iterable[str] | str | None = None,
    jaar: str | None = None,
    doc_type: Iterable[str] | str | None = None,
) -> Selection:
    """Filters that the index can answer, in its own spelling; ``ApiError(400)`` otherwise.

    ``gemeente`` and ``doc_type`` take several values (a list, or comma-separated); an empty
    value means no filter (what a form's "Alle gemeenten" sends).
    """
    gemeenten = [str(v) for v in _facet_values(facets, "gemeenten")]
    types = [str(v) for v in _facet_values(facets, "types")]
    years = [int(v) for v in _facet_values(facets, "years") if isinstance(v, int)]
    g = tuple(dict.fromkeys(_one_of("gemeente", "gemeenten", "gemeente", v, gemeenten) for v in _split(gemeente)))
    t = tuple(dict.fromkeys(_one_of("documentsoort", "documentsoorten", "type", v, types) for v in _split(doc_type)))
    return Selection(g, check_year(jaar, years), t)


def describe(sel: Selection) -> str:
    """The filters in words, for the page: "gemeente Velsen; jaar 2022"."""
    parts = []
    if sel.gemeente:
        parts.append("gemeente " + dutch_list(list(sel.gemeente)))
    if sel.year:
        parts.append(f"jaar {sel.year}")
    if sel.doc_type:
        parts.append("soort " + dutch_list(list(sel.doc_type)))
    return "; ".join(parts)


def documents_matching(facets: dict[str, Any], sel: Selection) -> int:
    """How many documents of the index the filters together select (each alone selects some)."""
    filters = Filters.make(**sel.kwargs())
    return sum(1 for d in facets.get("documents", []) if filters.matches(d))
