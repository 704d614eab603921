"""Errors as a person reads them: a status code and one Dutch sentence, never a traceback.

``_known_errors`` is the one list of the library's exception classes that the server
catches; when they move (``sdsearch.errors``), only this function changes.
"""

from __future__ import annotations

import re
from typing import Any


class ApiError(Exception):
    """A request the server refuses: ``status`` and a Dutch ``message`` (plus optional details)."""

    def __init__(self, status: int, message: str, **details: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.details}


def _known_errors() -> dict[str, type[BaseException]]:
    """The library's exception classes, by the name this module maps them by."""
    from ..api import BuildError
    from ..config import ConfigError
    from ..embed import EncoderError
    from ..ingest import IngestError
    from ..retrieve import QueryError
    from ..store import StoreError

    return {
        "BuildError": BuildError,
        "ConfigError": ConfigError,
        "EncoderError": EncoderError,
        "IngestError": IngestError,
        "QueryError": QueryError,
        "StoreError": StoreError,
    }


def known_error_types() -> tuple[type[BaseException], ...]:
    return tuple(_known_errors().values())


# The library speaks English (one line each); what a reader of the page or the API sees is Dutch.
_QUERY_MESSAGES = [
    (re.compile(r"^empty query"), "Lege vraag: typ een vraag of een paar woorden."),
    (re.compile(r"^query has only control characters"), "De vraag bevat alleen stuurtekens: typ een vraag of een paar woorden."),
    (re.compile(r"^year must be like"), "Jaar niet begrepen: gebruik een jaar als 2022 of een reeks als 2020-2023."),
    (re.compile(r"^year range .* is empty"), "De jaarreeks is leeg: zet het vroegste jaar eerst, zoals 2020-2023."),
    (re.compile(r"^k must be"), "k moet minstens 1 zijn."),
]


def to_api_error(e: BaseException) -> ApiError | None:
    """A library error as an ``ApiError`` (None when it is not one of the known ones)."""
    known = _known_errors()
    detail = " ".join(str(e).split())[:300]
    if isinstance(e, known["QueryError"]):
        for pattern, dutch in _QUERY_MESSAGES:
            if pattern.search(detail):
                return ApiError(400, dutch)
        return ApiError(400, f"De vraag kan niet worden verwerkt ({detail}).")
    if isinstance(e, known["IngestError"]):
        return ApiError(404, f"Het rapport kan niet worden gelezen ({detail}).")
    if isinstance(e, known["StoreError"]):
        return ApiError(503, f"De index is niet beschikbaar ({detail}).")
    if isinstance(e, known["EncoderError"]):
        return ApiError(503, f"Het taalmodel kan niet worden geladen ({detail}).")
    if isinstance(e, (known["ConfigError"], known["BuildError"])):
        return ApiError(503, f"De server is verkeerd ingesteld ({detail}).")
    return None


def document_error(e: BaseException) -> ApiError:
    """Why a report cannot be shown (404): its file is gone, unreadable, or lies outside the corpus."""
    detail = " ".join(str(e).split())[:300]
    if "outside the corpus folder" in detail:
        return ApiError(404, "Dit rapport ligt buiten de corpusmap (een link) en wordt niet geopend.")
    if isinstance(e, _known_errors()["IngestError"]):
        return ApiError(404, f"Het rapport kan niet worden gelezen ({detail}).")
    if "not a document of the index" in detail:
        return ApiError(404, "Dit rapport staat niet in de index.")
    return ApiError(404, "Het bestand van dit rapport staat niet meer in de corpusmap.")


def dutch_list(items: list[str]) -> str:
    """``a, b en c``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " en " + items[-1]
