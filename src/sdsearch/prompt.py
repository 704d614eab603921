"""The interactive prompt: type a question, read the answer and its sources.

Commands start with ":" and stay in force until changed: ``:k 5``, ``:gemeente Velsen``,
``:jaar 2022``, ``:type jaarverslag``, ``:per gemeente``, ``:reset``, ``:json``, ``:bron N``,
``:help``. The plain words ``help``, ``clear``, ``exit`` and ``quit`` typed alone act as a
shell user expects. Ctrl-C cancels the current line or a running question; Ctrl-D (or
``:q``) leaves. The answer is printed last, under compact sources, so it stays in view.
Questions are kept in a history file across sessions (``$SDSEARCH_HISTORY``, else
``$XDG_STATE_HOME/sdsearch/history``, else ``~/.local/state/sdsearch/history``).
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Settings, colour_allowed, history_path
from .errors import SdsearchError

DEFAULT_K = Settings.ask_k
# Words that mean a command when typed alone, as in a shell.
PLAIN_COMMANDS = {"help": ":help", "hulp": ":help", "exit": ":q", "quit": ":q", "stop": ":q", "clear": ":clear", "wis": ":clear"}

HELP = """\
Typ een vraag (bijv. "hoeveel flexwoningen telt Mrija?") en druk op Enter.
Eerst komt het antwoord met de bron, dan de passages waar het uit komt.
Opdrachten (filters en k blijven gelden tot je ze wijzigt):
  :k N              aantal bronnen (nu {k})
  :gemeente NAAM    alleen deze gemeente, bijv. :gemeente Velsen (leeg = alle)
  :jaar 2022        alleen dit jaar of bereik 2020-2023 (leeg = alle)
  :type SOORT       alleen dit documenttype (jaarverslag, programmabegroting, ...)
  :per gemeente     beantwoord per gemeente, naast elkaar (:per zonder woord = uit)
  :reset            filters en k terug naar de standaard
  :json             wissel tussen leesbare uitvoer en JSON
  :bron N           toon bron N van het laatste antwoord volledig, met context
  :help             deze hulp (ook: help)
  :clear            maak het scherm leeg (ook: clear)
Ctrl-C breekt een vraag af, Ctrl-D (of :q, exit, quit) sluit af."""


@dataclass
class PromptState:
    """What stays in force between questions: k, filters, output mode, the last answer."""

    k: int = DEFAULT_K
    gemeente: str | None = None
    year: str | None = None
    doc_type: str | None = None
    json: bool = False
    per: str | None = None  # "gemeente": answer once per gemeente
    last: Any = None  # the last Answer

    def filters_text(self) -> str:
        parts = [f"k={self.k}"]
        if self.gemeente:
            parts.append(f"gemeente={self.gemeente}")
        if self.year:
            parts.append(f"jaar={self.year}")
        if self.doc_type:
            parts.append(f"type={self.doc_type}")
        if self.per:
            parts.append(f"per {self.per}")
        return ", ".join(parts)


def handle_command(line: str, state: PromptState, out: Callable[[str], None], retriever: Any = None) -> bool:
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
            out(f"filters: {state.filters_text()}")
    elif cmd in ("gemeente", "type"):
        key = "gemeente" if cmd == "gemeente" else "doc_type"
        if arg and retriever is not None:
            why = Filters.make(**{key: arg}).unknown(retriever.index.documents)
            if why:
                out(why[0].upper() + why[1:])
                return True
        setattr(state, key, arg or None)
        out(f"filters: {state.filters_text()}")
    elif cmd in ("jaar", "year"):
        try:
            Filters.make(year=arg or None)
        except QueryError as e:
            out(str(e))
        else:
            state.year = arg or None
            out(f"filters: {state.filters_text()}")
    elif cmd == "per":
        if arg and arg.lower() != "gemeente":
            out("Gebruik: :per gemeente (of :per om het uit te zetten)")
        else:
            state.per = "gemeente" if arg else None
            out(f"filters: {state.filters_text()}")
    elif cmd in ("clear", "wis"):
        out("\x1b[2J\x1b[H" if sys.stdout.isatty() else "")
    elif cmd == "reset":
        state.k, state.gemeente, state.year, state.doc_type, state.per = DEFAULT_K, None, None, None, None
        out(f"filters: {state.filters_text()}")
    elif cmd == "json":
        state.json = not state.json
        out("uitvoer: JSON" if state.json else "uitvoer: tekst")
    elif cmd == "bron":
        out(show_source(state, arg, retriever))
    else:
        out(f"Onbekende opdracht :{cmd} — typ :help")
    return True


def _document_text(retriever: Any, source: str) -> str | None:
    """The extracted text of ``source`` (offsets index into it), or None when unreadable."""
    if retriever is None:
        return None
    roots = [Path(p) for p in retriever.index.manifest.get("corpus", {}).get("paths", [])]
    for root in roots:
        path = root / source if root.is_dir() else root
        if not path.is_file() or (not root.is_dir() and path.name != Path(source).name):
            continue
        try:
            from .ingest import load_manifest, read_document

            corpus = root if root.is_dir() else root.parent
            doc, _ = read_document(path, corpus, load_manifest(corpus))
            return doc.text
        except Exception:  # the file changed or cannot be read now: show the passage alone
            return None
    return None


def _around(text: str, start: int, end: int, chars: int = 500) -> tuple[str, str]:
    """Up to ``chars`` characters before and after [start, end), cut at line breaks."""
    before = text[max(0, start - chars) : start]
    after = text[end : end + chars]
    if start - chars > 0 and "\n" in before:
        before = before[before.index("\n") + 1 :]
    if end + chars < len(text) and "\n" in after:
        after = after[: after.rindex("\n")]
    return before, after


def show_source(state: PromptState, arg: str, retriever: Any = None, width: int | None = None) -> str:
    """Source N of the last answer in full: citation, where it is, and the text around it.

    Wrapped at the terminal's width, like the rest of the prompt's output.
    """
    from .render import clean
    from .render import width as terminal_width

    width = width or terminal_width()
    if state.last is None or not state.last.hits:
        return "Nog geen bronnen: stel eerst een vraag."
    if not arg.isdigit() or not 1 <= int(arg) <= len(state.last.hits):
        return f"Gebruik: :bron N (1 t/m {len(state.last.hits)})"
    h = state.last.hits[int(arg) - 1]
    p = h.passage

    def para(t: str, indent: str = "") -> str:
        blocks = [" ".join(clean(b).split()) for b in t.split("\n")]
        return "\n".join(textwrap.fill(b, width=width, initial_indent=indent, subsequent_indent=indent) for b in blocks if b)

    def line(t: str) -> str:
        return textwrap.fill(" ".join(clean(t).split()), width=width, subsequent_indent="    ")

    lines = [line(f"[{h.rank}] {h.citation}"), line(f"bron: {p.source}, tekens {p.char_start}–{p.char_end}")]
    if p.section:
        lines.append(line("sectie: " + " › ".join(p.section)))
    if p.also_at:
        lines.append(line("ook in: " + "; ".join(f"{loc.source} ({loc.char_start}–{loc.char_end})" for loc in p.also_at)))
    lines.append("")
    doc = _document_text(retriever, p.source)
    if doc is not None and doc[p.char_start : p.char_end] == p.text:
        before, after = _around(doc, p.char_start, p.char_end)
        if before.strip():
            lines += ["  …", para(before, "  "), ""]
        lines += [para(p.text, "▌ "), ""]
        if after.strip():
            lines += [para(after, "  "), "  …"]
    else:
        lines.append(para(p.text))
    return "\n".join(lines).rstrip()


def _colour_ok() -> bool:
    return colour_allowed(sys.stdout.isatty())


def run_prompt(index_dir: Path | None, settings: Settings) -> None:
    """The read-answer loop. Loads the model and index before the first prompt appears."""
    from . import api
    from .answer import answer_question
    from .render import answer_json, format_answer_last, format_per_gemeente, per_gemeente_json
    from .retrieve import Filters

    state = PromptState(k=settings.ask_k)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    colour = interactive and _colour_ok()

    def out(s: str) -> None:
        print(s, flush=True)

    out("sdsearch — vraag het de rapporten. :help voor opdrachten, Ctrl-D om te stoppen.")
    retriever = api.get_retriever(index_dir, settings)
    # Warm every lazy part (encoder session, sentence splitter, word lists) so the first
    # question waits for nothing but itself.
    answer_question(retriever, "Hoeveel inwoners ontvangen een uitkering?", k=1)
    out(f"{len(retriever.index)} passages uit {len(retriever.index.documents)} documenten geladen.")

    read = _line_reader(interactive, settings)
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
        line = PLAIN_COMMANDS.get(line.lower(), line)
        if line.startswith(":"):
            if not handle_command(line, state, out, retriever):
                return
            continue
        try:
            if state.per:
                per = api.ask(line, k=state.k, index=index_dir, gemeente=state.gemeente, year=state.year,
                              doc_type=state.doc_type, settings=settings, per=state.per)
                out(per_gemeente_json(line, per) if state.json else format_per_gemeente(line, per, colour=colour))
                continue
            filters = Filters.make(state.gemeente, state.year, state.doc_type)
            ans = answer_question(retriever, line, k=state.k, filters=filters)
        except KeyboardInterrupt:
            out("(afgebroken)")
            continue
        except Exception as e:  # one line, keep the prompt alive
            if isinstance(e, SdsearchError):
                out(f"fout: {e}")
                continue
            raise
        state.last = ans
        out(answer_json(ans) if state.json else format_answer_last(ans, colour=colour))


def _line_reader(interactive: bool, settings: Settings) -> Callable[[str], str]:
    """prompt_toolkit with file history on a terminal; plain lines otherwise."""
    path = history_path(settings)
    history: Any = None
    try:
        from prompt_toolkit.history import FileHistory

        path.parent.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(path))
    except Exception:  # no writable history file: the prompt still works, without memory
        history = None
    if interactive:
        try:
            from prompt_toolkit import PromptSession

            session: Any = PromptSession(history=history) if history is not None else PromptSession()
            return session.prompt  # type: ignore[no-any-return]
        except Exception:  # no usable terminal: fall back to input()
            pass

    def plain(prompt: str) -> str:
        if interactive:
            line = input(prompt)
        else:
            raw = sys.stdin.readline()
            if not raw:
                raise EOFError
            line = raw.rstrip("\n")
            print(prompt + line, flush=True)
        if interactive and history is not None and line.strip():
            try:
                history.append_string(line)
            except OSError:
                pass
        return line

    return plain
