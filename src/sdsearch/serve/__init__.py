"""``sdsearch serve``: a web page and a JSON API over one index, for a whole team.

    sdsearch serve [--index DIR] [--host 127.0.0.1] [--port 8000] [--workers N] [--token T]

The API answers with the same JSON objects as the command line's ``--json``; the page
(Dutch) shows the answer, the ranked sources with their context and links into the
reports. See ``app.py`` for the routes, ``engine.py`` for how searches run and how a
finished build is picked up, and ``guard.py`` for limits, token and headers.
"""

from __future__ import annotations

from .options import ServeOptions

__all__ = ["ServeOptions", "create_app", "run"]


def create_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    from .app import create_app as _create_app

    return _create_app(*args, **kwargs)


def run(options: ServeOptions) -> None:
    from .server import run as _run

    _run(options)
