"""The interactive prompt: type a question, read the answer and its sources.

Commands start with ":" and stay in force until changed: ``:k 5``, ``:gemeente Velsen``,
``:jaar 2022``, ``:type jaarverslag``, ``:reset``, ``:json``, ``:bron N``, ``:help``.
Ctrl-C cancels the current line or query; Ctrl-D (or ``:q``) leaves.
"""

from __future__ import annotations

import os
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Settings

HELP = """\
Typ een vraag (bijv. "wat gebeurt er met beschermd wonen?") en druk op Enter.
Opdrachten:
  :k N              aantal bronnen (nu {k})
  :gemeente NAAM    alleen deze gemeente (leeg = alle)
  :jaar 2022        alleen dit jaar of bereik 2020-2023 (leeg = alle)
  :type SOORT       alleen dit documenttype (jaarverslag, programmabegroting, ...)
  :reset            filters en k terug naar de standaard
  :json             wissel tussen leesbare uitvoer en JSON
  :bron N           toon bron N van het laatste antwoord volledig, met context
  :help             deze hulp
  Ctrl-C breekt een vraag af, Ctrl-D (of :q) sluit af."""


@dataclass
class PromptState:
    k: int = 5
    gemeente: str | None = None
    year: str | None = None
    doc_type: str | None = None
    json: bool = False
    last: Any = None  # the last Answer
    defaults: dict[str, Any] = field(default_factory=dict)

    def filters_text(self) -> str:
        parts = [f"k={self.k}"]
        if self.gemeente:
            parts.append(f"gemeente={self.gemeente}")
        if self.year:
            parts.append(f"jaar={self.year}")
        if self.doc_type:
            parts.append(f"type={self.doc_type}")
        return ", ".join(parts)


def history_path() -> Path:
    if os.environ.get("SDSEARCH_HISTORY"):
        return Path(os.environ["SDSEARCH_HISTORY"])
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "sdsearch" / "history"


def handle_command(line: str, state: PromptState, out: Any) -> bool:
    """Apply a ``:command``; returns False when the user wants to leave."""
    from .retrieve import Filters, QueryError

    cmd, _, arg = line[1:].strip().partition(" ")
    cmd = cmd.lower()
    arg = arg.strip()
    if cmd in ("q", "quit", "exit"):
        return False
    if cmd in ("help", "h", "?"):
        out(HELP.format(k=state.k))
    elif cmd == "k":
        if not arg.isdigit() or not 1 <= int(arg) <= 100:
            out("Gebruik: :k N (1 t/m 100)")
        else:
            state.k = int(arg)
            out(f"k = {state.k}")
    elif cmd == "gemeente":
        state.gemeente = arg or None
        out(f"filters: {state.filters_text()}")
    elif cmd in ("jaar", "year"):
        try:
            Filters.make(year=arg or None)
        except QueryError as e:
            out(str(e))
        else:
            state.year = arg or None
            out(f"filters: {state.filters_text()}")
    elif cmd == "type":
        state.doc_type = arg or None
        out(f"filters: {state.filters_text()}")
    elif cmd == "reset":
        state.k, state.gemeente, state.year, state.doc_type = 5, None, None, None
        out(f"filters: {state.filters_text()}")
    elif cmd == "json":
        state.json = not state.json
        out("uitvoer: JSON" if state.json else "uitvoer: tekst")
    elif cmd == "bron":
        out(show_source(state, arg))
    else:
        out(f"Onbekende opdracht :{cmd} — typ :help")
    return True


def show_source(state: PromptState, arg: str) -> str:
    from .render import clean

    if state.last is None or not state.last.hits:
        return "Nog geen bronnen: stel eerst een vraag."
    if not arg.isdigit() or not 1 <= int(arg) <= len(state.last.hits):
        return f"Gebruik: :bron N (1 t/m {len(state.last.hits)})"
    h = state.last.hits[int(arg) - 1]
    p = h.passage
    lines = [f"[{h.rank}] {h.citation}", f"bron: {p.source}, tekens {p.char_start}–{p.char_end}"]
    if p.also_at:
        lines.append("ook in: " + "; ".join(f"{loc.source} ({loc.char_start}–{loc.char_end})" for loc in p.also_at))
    lines.append("")
    lines.append(textwrap.fill(" ".join(clean(p.text).split()), width=78))
    return "\n".join(lines)


def run_prompt(index_dir: Path | None, settings: Settings) -> None:
    from . import api
    from .render import answer_json, format_answer

    state = PromptState()
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    colour = interactive and not os.environ.get("NO_COLOR")

    def out(s: str) -> None:
        print(s, flush=True)

    # Load the model and index before the first question so it only waits for itself.
    out("sdsearch — vraag het de rapporten. :help voor opdrachten, Ctrl-D om te stoppen.")
    retriever = api.get_retriever(index_dir, settings)
    out(f"{len(retriever.index)} passages uit {len(retriever.index.documents)} documenten geladen.")

    read = _line_reader(interactive)
    while True:
        try:
            line = read(f"sdsearch [{state.filters_text()}]> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            out("")
            return
        line = line.strip()
        if not line:
            continue
        if line.startswith(":"):
            if not handle_command(line, state, out):
                return
            continue
        try:
            ans = api.ask(line, k=state.k, index=index_dir, gemeente=state.gemeente, year=state.year, doc_type=state.doc_type, settings=settings)
        except KeyboardInterrupt:
            out("(afgebroken)")
            continue
        except Exception as e:  # one line, keep the prompt alive
            from .cli import _known_errors

            if isinstance(e, _known_errors()):
                out(f"fout: {e}")
                continue
            raise
        state.last = ans
        out(answer_json(ans) if state.json else format_answer(ans, colour=colour))


def _line_reader(interactive: bool) -> Any:
    if interactive:
        try:
            from prompt_toolkit import PromptSession
            from prompt_toolkit.history import FileHistory

            path = history_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            session: Any = PromptSession(history=FileHistory(str(path)))
            return session.prompt
        except Exception:  # no usable terminal or history file: plain input still works
            pass

    def plain(prompt: str) -> str:
        if interactive:
            return input(prompt)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        print(prompt + line.rstrip("\n"), flush=True)
        return line

    return plain
