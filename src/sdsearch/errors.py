"""Every error the library raises, under one base: ``SdsearchError``.

Front ends (CLI, prompt, HTTP) catch the base and show its message, which is one line in
Dutch meant for people. Subclasses say which part failed, for callers that care.
"""

from __future__ import annotations


class SdsearchError(Exception):
    """Base of every error sdsearch raises on purpose; ``str(e)`` is one Dutch line for people."""


class ConfigError(SdsearchError, ValueError):
    """A setting has a value sdsearch cannot use."""


class IngestError(SdsearchError):
    """A file or folder cannot be read as a report."""


class StoreError(SdsearchError):
    """The index folder is missing, damaged, locked, or built for another model or format."""


class EncoderError(SdsearchError, RuntimeError):
    """The embedding model cannot be loaded or run."""


class QueryError(SdsearchError, ValueError):
    """A query or its options cannot be searched (empty, malformed year, ...)."""


class FilterError(QueryError):
    """A filter names a gemeente, year or type the index does not hold."""


class BuildError(SdsearchError):
    """Nothing could be indexed; the message says why."""


class EvalError(SdsearchError, ValueError):
    """An evaluation set cannot be read or does not fit the corpus."""


__all__ = [
    "BuildError",
    "ConfigError",
    "EncoderError",
    "EvalError",
    "FilterError",
    "IngestError",
    "QueryError",
    "SdsearchError",
    "StoreError",
]
