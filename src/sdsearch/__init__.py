"""sdsearch: ask Dutch questions of municipal social-domain reports, get cited passages.

    >>> import sdsearch
    >>> hits = sdsearch.search("wat gebeurt er met beschermd wonen", k=5)
    >>> print(hits[0].citation)

The facade functions live in ``sdsearch.api``; composable parts are ``Retriever``
(``sdsearch.retrieve``), the encoders (``sdsearch.models``), the build steps
(``sdsearch.build``) and the index folder (``sdsearch.store``). Every error sdsearch
raises is a ``SdsearchError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import FilterError, SdsearchError

__version__ = "0.2.6"

__all__ = [
    "search",
    "ask",
    "build_index",
    "evaluate",
    "Retriever",
    "Hit",
    "Passage",
    "Answer",
    "Document",
    "SdsearchError",
    "FilterError",
    "__version__",
]

if TYPE_CHECKING:
    from .api import ask, build_index, evaluate, search
    from .retrieve import Retriever
    from .types import Answer, Document, Hit, Passage


def __getattr__(name: str) -> Any:
    # Lazy so `import sdsearch` (and the CLI's start-up) stays fast.
    if name in ("search", "ask", "build_index", "evaluate"):
        from . import api

        return getattr(api, name)
    if name == "Retriever":
        from .retrieve import Retriever

        return Retriever
    if name in ("Hit", "Passage", "Answer", "Document"):
        from . import types

        return getattr(types, name)
    raise AttributeError(f"module 'sdsearch' has no attribute {name!r}")
