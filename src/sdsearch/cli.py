"""The ``sdsearch`` command: a thin layer over ``sdsearch.api``.

Every subcommand parses its options, calls the API and formats the result. Errors the
user can act on become one line on stderr and a non-zero exit status, never a traceback:
1 for bad input or a missing/damaged index, 2 for usage errors, 3 when a build indexed
some files but skipped others, 130 when interrupted.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130


def _one_line(text: str) -> str:
    """Text from files, paths or libraries as one terminal-safe line."""
    from .render import clean

    return " ".join(clean(text).split())


class Fail(click.ClickException):
    exit_code = EXIT_ERROR

    def show(self, file: Any = None) -> None:
        click.echo(f"sdsearch: {_one_line(self.message)}", err=True)


class _Notices(logging.Handler):
    """Print warnings of the "sdsearch" logger (a query that was cut, say) as one line each."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(f"sdsearch: note: {_one_line(record.getMessage())}", err=True)
        except Exception:  # a notice must never break a command
            pass


def _show_notices() -> None:
    logger = logging.getLogger("sdsearch")
    if not any(isinstance(h, _Notices) for h in logger.handlers):
        logger.addHandler(_Notices(logging.WARNING))
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def _os_error(e: OSError) -> str:
    """An OS error as one line that names the file: "cannot write /x: No space left on device"."""
    what = e.strerror or str(e) or type(e).__name__
    where = f" {e.filename}" if e.filename is not None else ""
    return f"file system error:{where}: {what}" if where else f"file system error: {what}"


def _known_errors() -> tuple[type[BaseException], ...]:
    from .api import BuildError
    from .config import ConfigError
    from .embed import EncoderError
    from .evaluate import EvalError
    from .ingest import IngestError
    from .retrieve import QueryError
    from .store import StoreError

    return (BuildError, ConfigError, EncoderError, EvalError, IngestError, QueryError, StoreError)


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
            click.echo("sdsearch: interrupted (the index is unchanged unless the build had finished)", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        except Exception as e:
            try:
                known = _known_errors()
            except Exception:  # a broken install must still fail in one line
                known = ()
            if isinstance(e, known):
                raise Fail(str(e).splitlines()[0] if str(e).strip() else type(e).__name__) from None
            if os.environ.get("SDSEARCH_DEBUG"):
                raise
            if isinstance(e, UnicodeDecodeError):
                raise Fail(f"input is not valid UTF-8 (byte {e.start}); save it as UTF-8 and try again") from None
            if isinstance(e, MemoryError):
                raise Fail("out of memory; index fewer or smaller files (SDSEARCH_MAX_FILE_MB) and try again") from None
            if isinstance(e, OSError):
                raise Fail(_os_error(e)) from None
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise Fail(f"internal error: {type(e).__name__}: {first} (SDSEARCH_DEBUG=1 shows the traceback)") from None

    return wrapper  # type: ignore[return-value]


def _settings(**overrides: Any) -> Any:
    from .config import Settings

    return Settings.load(**overrides)


def _colour(json_out: bool) -> bool:
    return not json_out and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _queries(arg: str) -> Iterator[str]:
    """The query itself, or with "-" one query per non-empty line of stdin."""
    if arg != "-":
        yield arg
        return
    for line in sys.stdin:
        if line.strip():
            yield line.rstrip("\n")


def _answer_each(arg: str, answer: Callable[[str], str], show_query: bool) -> None:
    """Answer the query ``arg`` — or, for "-", every line of stdin in one process.

    In a stdin batch an unusable line is reported and skipped (exit 1 at the end), so one
    bad line does not stop the rest.
    """
    from .render import clean
    from .retrieve import QueryError

    failed = 0
    for q in _queries(arg):
        try:
            out = answer(q)
        except QueryError as e:
            if arg != "-":
                raise
            failed += 1
            click.echo(f"sdsearch: {clean(str(e))}", err=True)
            continue
        if arg == "-" and show_query:
            click.echo(f"» {clean(q)}")
        click.echo(out)
    if failed:
        sys.exit(EXIT_ERROR)


index_option = click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None, help="Index folder (default: ./index).")
filter_options = [
    click.option("--gemeente", "-g", default=None, help="Only this gemeente (comma-separated for several)."),
    click.option("--jaar", "--year", "year", default=None, help="Only this year or range, e.g. 2022 or 2020-2023."),
    click.option("--type", "doc_type", default=None, help="Only this document type, e.g. jaarverslag, programmabegroting."),
]


def with_filters(fn: F) -> F:
    for opt in reversed(filter_options):
        fn = opt(fn)
    return fn


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sdsearch")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None, help="Index folder for the prompt (default: ./index).")
@click.pass_context
def cli(ctx: click.Context, index_dir: Path | None) -> None:
    """Search Dutch municipal reports on the social domain (Wmo, Jeugdwet, Participatiewet, ...).

    Without a command, sdsearch starts an interactive prompt: type a question, get the
    answer and the passages it comes from (`sdsearch --index DIR` for another index).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(prompt_cmd, index_dir=index_dir)


@cli.command("index")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@index_option
@click.option("--model", default=None, help="Encoder: the bundled e5 (default) or a sentence-transformers name/path.")
@friendly
def index_cmd(paths: tuple[Path, ...], index_dir: Path | None, model: str | None) -> None:
    """Index report files or folders (default: ./corpus) into the index folder.

    Unchanged passages keep their vectors; files that cannot be read are skipped and listed.
    """
    from . import api

    s = _settings(model=model)
    progress = _progress_bar() if sys.stderr.isatty() else None
    try:
        r = api.build_index(list(paths) or None, index_dir, s, progress=progress)
    finally:
        if progress is not None:
            progress.close()  # type: ignore[attr-defined]
    # File names and reasons come from the files themselves: one clean line each.
    for src, why in r.notes:
        click.echo(f"note: {_one_line(src)}: {_one_line(why)}", err=True)
    for src, why in r.skipped:
        click.echo(f"skipped: {_one_line(src)}: {_one_line(why)}", err=True)
    click.echo(
        f"Indexed {r.documents} documents ({len(r.added)} added, {len(r.updated)} updated, "
        f"{len(r.removed)} removed, {len(r.unchanged)} unchanged) into {r.passages} passages; "
        f"embedded {r.embedded}, re-used {r.reused}; {r.seconds:.1f} s → {_one_line(str(r.index))}"
    )
    if r.skipped:
        click.echo(f"sdsearch: {len(r.skipped)} file(s) skipped (listed above); the rest is indexed", err=True)
        sys.exit(EXIT_PARTIAL)


def _progress_bar() -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("embedding"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(), transient=True)
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("embed", total=total)
        bar.update(task, completed=done)

    update.close = bar.stop  # type: ignore[attr-defined]
    return update


@cli.command("search")
@click.argument("query")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="Number of passages.")
@click.option("--json", "json_out", is_flag=True, help="One JSON object per query.")
@click.option("--mode", type=click.Choice(["dense", "sparse", "hybrid"]), default=None, help="Retrieval mode (default hybrid).")
@with_filters
@index_option
@friendly
def search_cmd(query: str, k: int, json_out: bool, mode: str | None, gemeente: str | None, year: str | None, doc_type: str | None, index_dir: Path | None) -> None:
    """Ranked passages for QUERY, with citations. QUERY "-" reads one query per line from stdin."""
    from . import api
    from .render import format_hits, hits_json

    s = _settings()
    colour = _colour(json_out)

    def answer(q: str) -> str:
        hits = api.search(q, k=k, index=index_dir, gemeente=gemeente, year=year, doc_type=doc_type, mode=mode, settings=s)
        return hits_json(q, hits) if json_out else format_hits(hits, colour=colour)

    _answer_each(query, answer, show_query=not json_out)


@cli.command("ask")
@click.argument("question")
@click.option("-k", "k", type=click.IntRange(1, 100), default=5, show_default=True, help="Number of source passages.")
@click.option("--json", "json_out", is_flag=True, help="One JSON object per question.")
@with_filters
@index_option
@friendly
def ask_cmd(question: str, k: int, json_out: bool, gemeente: str | None, year: str | None, doc_type: str | None, index_dir: Path | None) -> None:
    """The answer to QUESTION with its sources. QUESTION "-" reads one per line from stdin."""
    from . import api
    from .render import answer_json, format_answer

    s = _settings()
    colour = _colour(json_out)

    def answer(q: str) -> str:
        ans = api.ask(q, k=k, index=index_dir, gemeente=gemeente, year=year, doc_type=doc_type, settings=s)
        return answer_json(ans) if json_out else format_answer(ans, colour=colour)

    _answer_each(question, answer, show_query=not json_out)


@cli.command("info")
@index_option
@click.option("--verify", is_flag=True, help="Check every file's SHA-256 against the manifest.")
@click.option("--json", "json_out", is_flag=True)
@friendly
def info_cmd(index_dir: Path | None, verify: bool, json_out: bool) -> None:
    """What the index holds: model, settings, documents and passage counts."""
    from .api import default_index
    from .render import clean
    from .store import open_index

    idx = open_index(index_dir or default_index(), verify=True if verify else None)
    m = idx.manifest
    if json_out:
        click.echo(json.dumps({k: v for k, v in m.items() if k != "files"}, ensure_ascii=False, indent=1))
        return
    click.echo(f"index:     {idx.folder}")
    click.echo(f"built:     {m.get('created')} by sdsearch {m.get('sdsearch_version')} (format {m.get('format_version')})")
    mm = m.get("model", {})
    click.echo(f"model:     {mm.get('id')} ({mm.get('dim')}-dim, prefixes {mm.get('query_prefix')!r}/{mm.get('passage_prefix')!r})")
    click.echo(f"vectors:   FAISS {m.get('faiss', {}).get('factory')}; BM25 {m.get('bm25', {})}")
    click.echo(f"chunker:   {m.get('chunker')}; headings embedded: {m.get('embed', {}).get('headings')}")
    click.echo(f"passages:  {m.get('counts', {}).get('passages')} from {len(idx.documents)} documents")
    for d in idx.documents:
        meta = " · ".join(str(x) for x in (d.get("gemeente"), d.get("doc_type"), d.get("year")) if x)
        click.echo(clean(f"  {d['source']}  [{meta}]  {d.get('passages')} passages"))
    skipped = m.get("corpus", {}).get("skipped", [])
    for sk in skipped:
        click.echo(clean(f"  skipped: {sk['source']}: {sk['reason']}"))
    if verify:
        click.echo("verify:    all files match their checksums")


@cli.command("eval")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--mode", type=click.Choice(["dense", "sparse", "hybrid"]), default=None, help="Retrieval mode (default hybrid).")
@click.option("--json", "json_out", is_flag=True, help="The full report as JSON.")
@click.option("--run", "run_file", type=click.Path(path_type=Path), default=None, help="Write a TREC run file.")
@click.option("--misses", type=int, default=15, show_default=True, help="Show up to this many missed queries.")
@click.option("--corpus", type=click.Path(path_type=Path), default=None, help="Corpus the eval spans refer to.")
@index_option
@friendly
def eval_cmd(files: tuple[Path, ...], mode: str | None, json_out: bool, run_file: Path | None, misses: int, corpus: Path | None, index_dir: Path | None) -> None:
    """Measure retrieval (nDCG@10, RR@10, R@k) and answers on eval sets (default: eval/*.jsonl)."""
    from . import api
    from .evaluate import write_trec_run

    s = _settings()
    if not files:
        base = api.default_corpus().parent / "eval"
        files = tuple(p for p in (base / "retrieval.jsonl", base / "answers.jsonl") if p.is_file())
        if not files:
            raise Fail(f"no eval files given and none found in {base}")
    reports = []
    for f in files:
        rep = api.evaluate(f, index=index_dir, mode=mode, corpus=corpus, settings=s)
        reports.append((f, rep))
        if run_file and rep.run:
            write_trec_run(rep, run_file)
    if json_out:
        click.echo(json.dumps({str(f): r.to_dict() for f, r in reports}, ensure_ascii=False, indent=1))
        return
    for f, rep in reports:
        click.echo(f"== {f}  (mode {rep.mode})")
        if rep.metrics:
            click.echo("  " + "  ".join(f"{k} {v:.3f}" for k, v in rep.metrics.items()) + f"  queries {len(rep.per_query)}")
            click.echo(f"  latency ms: p50 {rep.latency_ms['p50']:.1f}  p95 {rep.latency_ms['p95']:.1f}")
            if rep.by_tag:
                click.echo("  by tag: " + "; ".join(f"{t} (n={v['n']:.0f}) nDCG@10 {v['nDCG@10']:.3f}" for t, v in rep.by_tag.items()))
            missed = [r for r in rep.per_query if r["first_relevant_rank"] != 1]
            missed.sort(key=lambda r: r["metrics"]["nDCG@10"])
            if missed and misses > 0:
                click.echo(f"  {len(missed)} queries without a relevant passage at rank 1 (worst first):")
                click.echo(f"    {'id':<6} {'rank':>4}  query → top hit")
                for r in missed[:misses]:
                    rank = r["first_relevant_rank"] or "-"
                    click.echo(f"    {r['id']:<6} {rank:>4}  {r['query'][:60]} → {(r['top_hit'] or '')[:70]}")
        if rep.answers:
            a = rep.answers
            click.echo(
                f"  answer accuracy {a['answer_accuracy']:.3f} ({a['answerable']:.0f} answerable)  "
                f"no-answer precision {a['no_answer_precision']:.3f} recall {a['no_answer_recall']:.3f} ({a['unanswerable']:.0f} unanswerable)"
            )
            wrong = [r for r in rep.answer_rows if (r["answerable"] and not r.get("correct")) or (not r["answerable"] and r["answered"])]
            for r in wrong[:misses]:
                click.echo(f"    {r['id']:<6} {r['question'][:55]} | gold {str(r['gold'])[:20]!r} | got {(r['span'] or r['answer'] or '—')[:40]!r}")


@cli.command("export-model")
@click.argument("out_dir", type=click.Path(path_type=Path))
@friendly
def export_model_cmd(out_dir: Path) -> None:
    """Write the bundled e5 model as a sentence-transformers folder OUT_DIR.

    Embed with it anywhere sentence-transformers runs (a GPU, say): an index built with
    `sdsearch index --model OUT_DIR` searches with the bundled encoder, and vice versa.
    """
    from .export import export_sentence_transformers

    if out_dir.exists() and any(out_dir.iterdir()):
        raise Fail(f"{out_dir} exists and is not empty; choose a new folder")
    try:
        path = export_sentence_transformers(out_dir)
    except RuntimeError as e:
        raise Fail(str(e)) from None
    click.echo(f"Wrote the bundled multilingual-e5-small to {path} (sentence-transformers format).")
    click.echo(f'Load it with SentenceTransformer("{path}"); sdsearch index --model {path} builds a compatible index.')


@cli.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; anything but loopback is reachable from other computers.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Server processes; they share one memory-mapped index.")
@click.option("--token", default=None, help="Require this token (Authorization: Bearer, or a login form on the page); default $SDSEARCH_TOKEN.")
@click.option("--log-queries", is_flag=True, help="Write the query text into the request log (off: method, path, status, ms only).")
@friendly
def serve_cmd(index_dir: Path | None, host: str, port: int, workers: int, token: str | None, log_queries: bool) -> None:
    """Serve a web page and a JSON API over the index, for a whole team (see README)."""
    from . import serve
    from .serve.server import prepare

    serve.run(prepare(index_dir, host, port, workers, token, log_queries))


@cli.command("prompt")
@index_option
@friendly
def prompt_cmd(index_dir: Path | None = None) -> None:
    """Interactive prompt (also what `sdsearch` with no command starts)."""
    from .prompt import run_prompt

    run_prompt(index_dir, _settings())


def main(argv: list[str] | None = None) -> int:
    import logging

    # Libraries log chatter at import or build time; the CLI prints what matters itself.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    for name in ("bm25s", "onnxruntime", "root"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        cli.main(args=argv, prog_name="sdsearch", standalone_mode=True)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    return 0
