"""Errors as a person reads them: a status code and one Dutch sentence, never a traceback.

Every error the library raises is a ``sdsearch.errors.SdsearchError`` with one Dutch
line; ``to_api_error`` maps its kind to a status code.
"""

from __future__ import annotations

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
    """The library's exception classes, by the name this module maps them by (all ``SdsearchError``)."""
    from .. import errors

    return {
        name: getattr(errors, name)
        for name in ("BuildError", "ConfigError", "EncoderError", "IngestError", "QueryError", "StoreError", "SdsearchError")
    }


def known_error_types() -> tuple[type[BaseException], ...]:
    from ..errors import SdsearchError

    return (SdsearchError,)


def _sentence(detail: str) -> str:
    """A library message (one Dutch line, lower case) as a sentence for the page."""
    detail = detail.strip()
    if not detail:
        return ""
    out = detail[0].upper() + detail[1:]
    return out if out.endswith((".", "?", "!")) else out + "."


def to_api_error(e: BaseException) -> ApiError | None:
    """A library error as an ``ApiError`` (None when it is not an ``SdsearchError``)."""
    known = _known_errors()
    detail = " ".join(str(e).split())[:300]
    if isinstance(e, known["QueryError"]):  # FilterError included: the message lists what the index holds
        return ApiError(400, _sentence(detail) or "De vraag kan niet worden verwerkt.")
    if isinstance(e, known["IngestError"]):
        return ApiError(404, f"Het rapport kan niet worden gelezen ({detail}).")
    if isinstance(e, known["StoreError"]):
        return ApiError(503, f"De index is niet beschikbaar ({detail}).")
    if isinstance(e, known["EncoderError"]):
        return ApiError(503, f"Het taalmodel kan niet worden geladen ({detail}).")
    if isinstance(e, known["SdsearchError"]):
        return ApiError(503, f"De server is verkeerd ingesteld ({detail}).")
    return None


def document_error(e: BaseException) -> ApiError:
    """Why a report cannot be shown (404): its file is gone, unreadable, or lies outside the corpus."""
    detail = " ".join(str(e).split())[:300]
    if "buiten de map met rapporten" in detail:
        return ApiError(404, "Dit rapport ligt buiten de corpusmap (een link) en wordt niet geopend.")
    if isinstance(e, _known_errors()["IngestError"]):
        return ApiError(404, f"Het rapport kan niet worden gelezen ({detail}).")
    if "is geen document van de index" in detail:
        return ApiError(404, "Dit rapport staat niet in de index.")
    return ApiError(404, "Het bestand van dit rapport staat niet meer in de corpusmap.")


def dutch_list(items: list[str]) -> str:
    """``a, b en c``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " en " + items[-1]
