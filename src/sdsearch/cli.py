"""The ``sdsearch`` command: a thin layer over ``sdsearch.api``.

Every subcommand parses its options, calls the API and formats the result. Everything a
person reads is Dutch, help included. Errors the user can act on become one line on
stderr and a non-zero exit status, never a traceback: 1 for bad input or a missing or
damaged index, 2 for usage errors, 3 when a build indexed some files but skipped others,
130 when interrupted.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from .config import colour_allowed, debug_enabled
from .errors import SdsearchError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130

# --- Click in Dutch -------------------------------------------------------------------------
# Click's own words (usage lines, option errors) go through gettext; no Dutch catalogue
# ships with it, so the CLI hands Click its own translation of the messages people meet.
_CLICK_NL = {
    "Usage:": "Gebruik:",
    "Options": "Opties",
    "Commands": "Opdrachten",
    "Positional arguments": "Argumenten",
    "Show this message and exit.": "Toon deze hulp en stop.",
    "Show the version and exit.": "Toon de versie en stop.",
    "%(prog)s, version %(version)s": "%(prog)s, versie %(version)s",
    "Error: {message}": "Fout: {message}",
    "Try '{command} {option}' for help.": "Typ '{command} {option}' voor hulp.",
    "No such option {name!r}.": "Onbekende optie {name!r}.",
    "No such command {name!r}.": "Onbekende opdracht {name!r}.",
    "Missing argument": "Argument ontbreekt",
    "Missing option": "Optie ontbreekt",
    "Missing parameter": "Parameter ontbreekt",
    "Missing command.": "Opdracht ontbreekt.",
    "Missing {param_type}": "{param_type} ontbreekt",
    "Missing parameter: {param_name}": "Parameter ontbreekt: {param_name}",
    "Invalid value for {param_hint}: {message}": "Ongeldige waarde voor {param_hint}: {message}",
    "Invalid value: {message}": "Ongeldige waarde: {message}",
    "Option {name!r} does not take a value.": "Optie {name!r} neemt geen waarde.",
    "Option {name!r} requires an argument.": "Optie {name!r} heeft een waarde nodig.",
    "Option {name!r} requires {nargs} arguments.": "Optie {name!r} heeft {nargs} waarden nodig.",
    "Got unexpected extra argument ({args})": "Onverwacht extra argument ({args})",
    "Got unexpected extra arguments ({args})": "Onverwachte extra argumenten ({args})",
    "Did you mean {possibility}?": "Bedoelde u {possibility}?",
    "(Did you mean one of: {possibilities}?)": "(Bedoelde u een van: {possibilities}?)",
    "{value!r} is not {choice}.": "{value!r} is niet {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} is niet een van {choices}.",
    "{value!r} is not a valid {number_type}.": "{value!r} is geen geldig {number_type}.",
    "{value} is not in the range {range}.": "{value} ligt niet in het bereik {range}.",
    "{name} {filename!r} does not exist.": "{name} {filename!r} bestaat niet.",
    "{name} {filename!r} is a file.": "{name} {filename!r} is een bestand.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} is een map.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} is niet leesbaar.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} is niet schrijfbaar.",
    "default: {default}": "standaard: {default}",
    "Aborted!": "Afgebroken.",
    "integer": "geheel getal",
    "float": "getal",
    "file": "bestand",
    "directory": "map",
    "path": "pad",
}


def _nl(message: str) -> str:
    return _CLICK_NL.get(message, message)


def _nl_plural(singular: str, plural: str, n: int) -> str:
    return _nl(singular if n == 1 else plural)


def _dutch_click() -> None:
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.termui
    import click.types

    for mod in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.termui, click.types):
        if hasattr(mod, "_"):
            mod._ = _nl  # type: ignore[attr-defined]
        if hasattr(mod, "ngettext"):
            mod.ngettext = _nl_plural  # type: ignore[attr-defined]


_dutch_click()


# --- errors and notices ---------------------------------------------------------------------


def _one_line(text: str) -> str:
    """Text from files, paths or libraries as one terminal-safe line."""
    from .render import clean

    return " ".join(clean(text).split())


class Fail(click.ClickException):
    exit_code = EXIT_ERROR

    def show(self, file: Any = None) -> None:
        click.echo(f"sdsearch: {_one_line(self.message)}", err=True)


class _Notices(logging.Handler):
    """Print what the library logs for people (a first build, a query that was cut) as one line each."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(f"sdsearch: {_one_line(record.getMessage())}", err=True)
        except Exception:  # a notice must never break a command
            pass


def _show_notices() -> None:
    logger = logging.getLogger("sdsearch")
    if not any(isinstance(h, _Notices) for h in logger.handlers):
        logger.addHandler(_Notices(logging.WARNING))
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def _os_error(e: OSError) -> str:
    """An OS error as one line that names the file: "bestandsfout /x: No space left on device"."""
    what = e.strerror or str(e) or type(e).__name__
    return f"bestandsfout {e.filename}: {what}" if e.filename is not None else f"bestandsfout: {what}"


def friendly(fn: F) -> F:
    """Turn known errors into one line + exit 1, Ctrl-C into exit 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _show_notices()
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("sdsearch: afgebroken (de index is onveranderd, tenzij het bouwen al klaar was)", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        except Exception as e:
            if isinstance(e, SdsearchError):
                raise Fail(str(e).splitlines()[0] if str(e).strip() else type(e).__name__) from None
            if debug_enabled():
                raise
            if isinstance(e, UnicodeDecodeError):
                raise Fail(f"invoer is geen geldige UTF-8 (byte {e.start}); sla hem op als UTF-8 en probeer opnieuw") from None
            if isinstance(e, MemoryError):
                raise Fail("geheugen vol; indexeer minder of kleinere bestanden (SDSEARCH_MAX_FILE_MB) en probeer opnieuw") from None
            if isinstance(e, OSError):
                raise Fail(_os_error(e)) from None
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise Fail(f"interne fout: {type(e).__name__}: {first} (SDSEARCH_DEBUG=1 toont de traceback)") from None

    return wrapper  # type: ignore[return-value]


def _settings(**overrides: Any) -> Any:
    from .config import Settings

    return Settings.load(**overrides)


def _colour(json_out: bool) -> bool:
    return not json_out and colour_allowed(sys.stdout.isatty())


# --- batches: one answer per input line -----------------------------------------------------

EMPTY_LINE = "lege regel: geen vraag om te beantwoorden"


def _queries(arg: str) -> Iterator[str]:
    """The query itself, or with "-" every line of stdin (blank ones included)."""
    if arg != "-":
        yield arg
        return
    for line in sys.stdin:
        yield line.rstrip("\r\n")


def _answer_each(arg: str, answer: Callable[[str], str], failed_line: Callable[[str, str], str], show_query: bool) -> None:
    """Answer the query ``arg`` — or, for "-", every line of stdin in one process.

    In a batch, output line N answers input line N: a blank or unusable line gets its own
    output (an object with "error" under --json) and the batch goes on; exit 1 at the end
    when any line failed.
    """
    from .errors import QueryError

    failed = 0
    for q in _queries(arg):
        if arg == "-" and not q.strip():
            click.echo(failed_line(q, EMPTY_LINE))
            continue
        try:
            out = answer(q)
        except QueryError as e:
            if arg != "-":
                raise
            failed += 1
            click.echo(failed_line(q, _one_line(str(e))))
            continue
        if arg == "-" and show_query:
            click.echo(f"» {_one_line(q)}")
        click.echo(out)
    if failed:
        sys.exit(EXIT_ERROR)


# --- options --------------------------------------------------------------------------------

index_option = click.option(
    "--index", "index_dir", type=click.Path(path_type=Path), default=None, metavar="MAP", help="Indexmap (standaard: de ingestelde of meegeleverde index)."
)
filter_options = [
    click.option("--gemeente", "-g", default=None, metavar="NAAM", help="Alleen deze gemeente (meerdere met komma's)."),
    click.option("--jaar", "--year", "year", default=None, metavar="JAAR", help="Alleen dit jaar of bereik, bijv. 2022 of 2020-2023."),
    click.option("--type", "doc_type", default=None, metavar="TYPE", help="Alleen dit documenttype, bijv. jaarverslag, programmabegroting."),
]


def with_filters(fn: F) -> F:
    for opt in reversed(filter_options):
        fn = opt(fn)
    return fn


CONTEXT = {"help_option_names": ["-h", "--help"]}


class _Count(click.IntRange):
    """A whole number within bounds, named in Dutch in error messages."""

    name = "geheel getal"


@click.group(invoke_without_command=True, context_settings=CONTEXT, options_metavar="[OPTIES]", subcommand_metavar="[OPDRACHT] [ARGUMENTEN]...")
@click.version_option(package_name="sdsearch")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None, metavar="MAP", help="Indexmap voor de prompt.")
@click.pass_context
def cli(ctx: click.Context, index_dir: Path | None) -> None:
    """Zoek in Nederlandse gemeentelijke rapporten over het sociaal domein (Wmo, Jeugdwet, Participatiewet, ...).

    Zonder opdracht start sdsearch een interactieve prompt: typ een vraag en krijg het
    antwoord met de passages waar het vandaan komt (`sdsearch --index MAP` voor een andere index).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(prompt_cmd, index_dir=index_dir)


def _count_files(paths: list[Path]) -> int:
    """How many files a build will look at (a quick walk, before any heavy import)."""
    import os

    suffixes = {".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx"}
    n = 0
    for p in paths:
        if p.is_file():
            n += 1
            continue
        for _dir, _subdirs, files in os.walk(p):
            n += sum(1 for f in files if os.path.splitext(f)[1].lower() in suffixes)
    return n


@cli.command("index", options_metavar="[OPTIES]")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[MAP of BESTAND]...")
@index_option
@click.option("--model", default=None, metavar="MODEL", help="Encoder: de meegeleverde e5 (standaard) of een sentence-transformers-naam of -map.")
@click.option(
    "--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADRES]",
    help='Lees, knip en bed in op Ray: zonder ADRES een cluster op deze machine; auto, ray://host:poort of host:poort '
    'voor een draaiend cluster (pip install "sdsearch[ray]").',
)
@friendly
def index_cmd(paths: tuple[Path, ...], index_dir: Path | None, model: str | None, ray_address: str | None) -> None:
    """Indexeer rapportbestanden of -mappen (standaard: de meegeleverde rapporten).

    Ongewijzigde passages houden hun vectoren; onleesbare bestanden worden overgeslagen en genoemd.
    """
    from .config import default_corpus, default_index

    s = _settings(model=model)
    roots = list(paths) or [default_corpus(s)]
    target = index_dir or default_index(s)
    missing = [p for p in roots if not p.exists()]
    if missing:
        raise Fail(f"map of bestand bestaat niet: {missing[0]}")
    # Say something at once: the heavy imports (model, spaCy, FAISS) take seconds.
    n = _count_files(roots)
    click.echo(f"Indexeren: {n} bestand{'en' if n != 1 else ''} uit {', '.join(map(str, roots))} → {target} …", err=True)
    from . import api

    progress = _progress_bar() if sys.stderr.isatty() else None
    try:
        r = api.build_index(roots, target, s, progress=progress, ray=ray_address)
    finally:
        if progress is not None:
            progress.close()  # type: ignore[attr-defined]
    # File names and reasons come from the files themselves: one clean line each.
    for src, why in r.notes:
        click.echo(f"let op: {_one_line(src)}: {_one_line(why)}", err=True)
    for src, why in r.skipped:
        click.echo(f"overgeslagen: {_one_line(src)}: {_one_line(why)}", err=True)
    click.echo(
        f"{r.documents} documenten geïndexeerd ({len(r.added)} nieuw, {len(r.updated)} gewijzigd, "
        f"{len(r.removed)} verwijderd, {len(r.unchanged)} ongewijzigd) in {r.passages} passages; "
        f"{r.embedded} ingebed, {r.reused} hergebruikt; {r.seconds:.1f} s → {_one_line(str(r.index))}"
    )
    if r.skipped:
        n_skip = len(r.skipped)
        click.echo(f"sdsearch: {n_skip} bestand{'en' if n_skip != 1 else ''} overgeslagen (hierboven genoemd); de rest is geïndexeerd", err=True)
        sys.exit(EXIT_PARTIAL)


def _progress_bar() -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("inbedden"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(), transient=True)
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("embed", total=total)
        bar.update(task, completed=done)

    update.close = bar.stop  # type: ignore[attr-defined]
    return update


@cli.command("search", options_metavar="[OPTIES]")
@click.argument("query", metavar="ZOEKVRAAG")
@click.option("-k", "k", type=_Count(1, 1000), default=None, metavar="N", help="Aantal passages (standaard: instelling k, 10).")
@click.option("--json", "json_out", is_flag=True, help="Eén JSON-object per zoekvraag.")
@click.option("--mode", type=click.Choice(["dense", "sparse", "hybrid"]), default=None, help="Zoekmethode (standaard hybrid).")
@with_filters
@index_option
@friendly
def search_cmd(query: str, k: int | None, json_out: bool, mode: str | None, gemeente: str | None, year: str | None, doc_type: str | None, index_dir: Path | None) -> None:
    """Gerangschikte passages voor ZOEKVRAAG, met bronvermelding. ZOEKVRAAG "-" leest één vraag per regel van stdin."""
    from . import api
    from .render import format_hits, hits_json

    s = _settings()
    colour = _colour(json_out)
    k = k or s.k

    def answer(q: str) -> str:
        hits = api.search(q, k=k, index=index_dir, gemeente=gemeente, year=year, doc_type=doc_type, mode=mode, settings=s)
        return hits_json(q, hits) if json_out else format_hits(hits, colour=colour)

    def failed_line(q: str, why: str) -> str:
        return hits_json(q, [], error=why) if json_out else f"» {_one_line(q)}\n({why})"

    _answer_each(query, answer, failed_line, show_query=not json_out)


@cli.command("ask", options_metavar="[OPTIES]")
@click.argument("question", metavar="VRAAG")
@click.option("-k", "k", type=_Count(1, 100), default=None, metavar="N", help="Aantal bronpassages (standaard: instelling ask_k, 5).")
@click.option("--json", "json_out", is_flag=True, help="Eén JSON-object per vraag.")
@click.option("--per", type=click.Choice(["gemeente"]), default=None, help="Beantwoord de vraag per gemeente, naast elkaar.")
@with_filters
@index_option
@friendly
def ask_cmd(question: str, k: int | None, json_out: bool, per: str | None, gemeente: str | None, year: str | None, doc_type: str | None, index_dir: Path | None) -> None:
    """Het antwoord op VRAAG met de bronnen. VRAAG "-" leest één vraag per regel van stdin."""
    from . import api
    from .render import answer_json, error_json, format_answer, format_per_gemeente, per_gemeente_json

    s = _settings()
    colour = _colour(json_out)
    k = k or s.ask_k

    def answer(q: str) -> str:
        if per:
            answers = api.ask(q, k=k, index=index_dir, gemeente=gemeente, year=year, doc_type=doc_type, settings=s, per=per)
            return per_gemeente_json(q, answers) if json_out else format_per_gemeente(q, answers, colour=colour)
        ans = api.ask(q, k=k, index=index_dir, gemeente=gemeente, year=year, doc_type=doc_type, settings=s)
        return answer_json(ans) if json_out else format_answer(ans, colour=colour)

    def failed_line(q: str, why: str) -> str:
        return error_json(q, why) if json_out else f"» {_one_line(q)}\n({why})"

    _answer_each(question, answer, failed_line, show_query=not json_out)


@cli.command("info", options_metavar="[OPTIES]")
@index_option
@click.option("--verify", is_flag=True, help="Controleer de SHA-256 van elk bestand tegen het manifest.")
@click.option("--json", "json_out", is_flag=True, help="Het manifest en de instellingen als JSON.")
@friendly
def info_cmd(index_dir: Path | None, verify: bool, json_out: bool) -> None:
    """Wat de index bevat (model, documenten, passages) en de geldende instellingen met hun herkomst."""
    from .config import default_index
    from .render import clean
    from .store import open_index

    s = _settings()
    idx = open_index(index_dir or default_index(s), verify=True if verify else None)
    m = idx.manifest
    settings = [{"name": n, "value": str(v) if isinstance(v, Path) else v, "origin": o} for n, v, o in s.effective()]
    if json_out:
        out = {k: v for k, v in m.items() if k != "files"}
        out["settings"] = settings
        click.echo(json.dumps(out, ensure_ascii=False, indent=1, default=str))
        return
    click.echo(f"index:        {idx.folder}")
    click.echo(f"gebouwd:      {m.get('created')} door sdsearch {m.get('sdsearch_version')} (formaat {m.get('format_version')})")
    mm = m.get("model", {})
    click.echo(f"model:        {mm.get('id')} ({mm.get('dim')} dimensies, voorvoegsels {mm.get('query_prefix')!r}/{mm.get('passage_prefix')!r})")
    bm = m.get("bm25", {})
    click.echo(f"vectoren:     FAISS {m.get('faiss', {}).get('factory')}; BM25 k1={bm.get('k1')} b={bm.get('b')} ({bm.get('method')})")
    ch = m.get("chunker", {})
    click.echo(f"passages:     max {ch.get('max_chars')} tekens, koppen mee ingebed: {'ja' if m.get('embed', {}).get('headings') else 'nee'}")
    click.echo(f"inhoud:       {m.get('counts', {}).get('passages')} passages uit {len(idx.documents)} documenten")
    for d in idx.documents:
        meta = " · ".join(str(x) for x in (d.get("gemeente"), d.get("doc_type"), d.get("year")) if x)
        click.echo(clean(f"  {d['source']}  [{meta}]  {d.get('passages')} passages"))
        origin = d.get("meta_origin") or {}
        if origin:
            label = {"gemeente": "gemeente", "year": "jaar", "doc_type": "type", "title": "titel"}
            click.echo(clean("      herkomst: " + "; ".join(f"{label.get(k, k)} uit {v}" for k, v in origin.items())))
    for sk in m.get("corpus", {}).get("skipped", []):
        click.echo(clean(f"  overgeslagen: {sk['source']}: {sk['reason']}"))
    click.echo("instellingen (waarde — herkomst):")
    for row in settings:
        click.echo(clean(f"  {row['name']:<24} {row['value']!s}  — {row['origin']}"))
    if verify:
        click.echo("controle:     alle bestanden kloppen met hun controlesom")


def _default_eval_files() -> tuple[Path, ...]:
    from .config import CHECKOUT_DIR

    base = CHECKOUT_DIR / "eval"
    names = (
        "retrieval.jsonl", "retrieval_long.jsonl", "retrieval_paraphrase.jsonl", "retrieval_short.jsonl",
        "answers.jsonl", "answers2.jsonl", "answers3.jsonl", "answers4.jsonl", "answers5.jsonl", "answers6.jsonl",
        "answers7.jsonl",
    )
    files = tuple(base / n for n in names if (base / n).is_file())
    if not files:
        raise Fail(f"geen evaluatiesets opgegeven en geen gevonden in {base}")
    return files


def _print_eval(f: Path, rep: Any, misses: int) -> None:
    click.echo(f"== {f}  (methode {rep.mode})")
    if rep.metrics:
        click.echo("  " + "  ".join(f"{k} {v:.3f}" for k, v in rep.metrics.items()) + f"  vragen {len(rep.per_query)}")
        for split, metrics in (getattr(rep, "by_split", None) or {}).items():
            n = metrics.get("n", 0)
            click.echo(f"  {split:<5} " + "  ".join(f"{k} {v:.3f}" for k, v in metrics.items() if k != "n") + f"  vragen {n:.0f}")
        click.echo(f"  latentie ms: p50 {rep.latency_ms['p50']:.1f}  p95 {rep.latency_ms['p95']:.1f}")
        if rep.by_tag:
            click.echo("  per label: " + "; ".join(f"{t} (n={v['n']:.0f}) nDCG@10 {v['nDCG@10']:.3f}" for t, v in rep.by_tag.items()))
        missed = [r for r in rep.per_query if r["first_relevant_rank"] != 1]
        missed.sort(key=lambda r: r["metrics"]["nDCG@10"])
        if missed and misses > 0:
            click.echo(f"  {len(missed)} vragen zonder relevante passage op plaats 1 (slechtste eerst):")
            click.echo(f"    {'id':<6} {'plek':>4}  vraag → beste treffer")
            for r in missed[:misses]:
                rank = r["first_relevant_rank"] or "-"
                click.echo(f"    {r['id']:<6} {rank:>4}  {_one_line(r['query'])[:60]} → {_one_line(r['top_hit'] or '')[:70]}")
    if rep.answers:
        from .render import format_answer_eval

        click.echo(format_answer_eval(rep, misses))


@cli.command("eval", options_metavar="[OPTIES]")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path), metavar="[SET.jsonl]...")
@click.option("--mode", type=click.Choice(["dense", "sparse", "hybrid"]), default=None, help="Zoekmethode (standaard hybrid).")
@click.option("--split", type=click.Choice(["dev", "test", "cal", "all"]), default="all", show_default=True, help="Alleen dit deel van sets met een dev/test/cal-splitsing.")
@click.option("--json", "json_out", is_flag=True, help="Het volledige rapport als JSON.")
@click.option("--run", "run_file", type=click.Path(path_type=Path), default=None, metavar="BESTAND", help="Schrijf een TREC-runbestand.")
@click.option("--misses", type=_Count(0, 10_000), metavar="N", default=15, show_default=True, help="Toon zoveel gemiste vragen.")
@click.option("--corpus", type=click.Path(path_type=Path), default=None, metavar="MAP", help="De rapporten waar de evaluatiesets naar verwijzen.")
@index_option
@friendly
def eval_cmd(files: tuple[Path, ...], mode: str | None, split: str, json_out: bool, run_file: Path | None, misses: int, corpus: Path | None, index_dir: Path | None) -> None:
    """Meet zoeken (nDCG@10, RR@10, R@k) en antwoorden op evaluatiesets (standaard: alle sets in eval/)."""
    from . import api
    from .evaluate import write_trec_run

    s = _settings()
    files = files or _default_eval_files()
    reports = []
    for f in files:
        rep = api.evaluate(f, index=index_dir, mode=mode, corpus=corpus, settings=s, split=None if split == "all" else split)
        reports.append((f, rep))
        if run_file and rep.run:
            write_trec_run(rep, run_file)
    if json_out:
        click.echo(json.dumps({str(f): r.to_dict() for f, r in reports}, ensure_ascii=False, indent=1))
        return
    for f, rep in reports:
        _print_eval(f, rep, misses)


@cli.command("export-model", options_metavar="[OPTIES]")
@click.argument("out_dir", type=click.Path(path_type=Path), metavar="UITMAP")
@friendly
def export_model_cmd(out_dir: Path) -> None:
    """Schrijf het meegeleverde e5-model als sentence-transformers-map UITMAP.

    Bed er overal mee in waar sentence-transformers draait (een GPU bijvoorbeeld): een index
    gebouwd met `sdsearch index --model UITMAP` zoekt met de meegeleverde encoder, en omgekeerd.
    """
    from .models.export import export_sentence_transformers

    if out_dir.exists() and any(out_dir.iterdir()):
        raise Fail(f"{out_dir} bestaat al en is niet leeg; kies een nieuwe map")
    try:
        path = export_sentence_transformers(out_dir)
    except RuntimeError as e:
        raise Fail(str(e)) from None
    click.echo(f"Het meegeleverde multilingual-e5-small staat nu in {path} (sentence-transformers-formaat).")
    click.echo(f'Laad het met SentenceTransformer("{path}"); `sdsearch index --model {path}` bouwt een passende index.')


@cli.command("serve", options_metavar="[OPTIES]")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADRES", help="Adres om op te luisteren; alles behalve loopback is bereikbaar vanaf andere computers.")
@click.option("--port", type=_Count(0, 65535), default=8000, show_default=True, metavar="POORT", help="Poort om op te luisteren.")
@click.option("--workers", type=_Count(1, 64), default=1, show_default=True, metavar="N", help="Serverprocessen; ze delen één geheugen-gemapte index.")
@click.option("--token", default=None, metavar="TOKEN", help="Vraag dit token (Authorization: Bearer, of een inlogformulier op de pagina); standaard $SDSEARCH_TOKEN.")
@click.option("--log-queries", is_flag=True, help="Zet de zoekvraag in het verzoeklog (standaard alleen methode, pad, status, ms).")
@friendly
def serve_cmd(index_dir: Path | None, host: str, port: int, workers: int, token: str | None, log_queries: bool) -> None:
    """Een webpagina en een JSON-API over de index, voor een heel team (zie README)."""
    from . import serve
    from .serve.server import prepare

    serve.run(prepare(index_dir, host, port, workers, token, log_queries))


@cli.command("prompt", options_metavar="[OPTIES]")
@index_option
@friendly
def prompt_cmd(index_dir: Path | None = None) -> None:
    """Interactieve prompt (ook wat `sdsearch` zonder opdracht start)."""
    from .prompt import run_prompt

    run_prompt(index_dir, _settings())


def main(argv: list[str] | None = None) -> int:
    # Libraries log chatter at import or build time; the CLI prints what matters itself.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    for name in ("bm25s", "onnxruntime", "root"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        cli.main(args=argv, prog_name="sdsearch", standalone_mode=True)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    return 0
