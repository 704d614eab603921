"""The first hour of a new user (issue 13): each item has a test that would have caught it.

Fast tests run the CLI in-process on a small index in sparse mode (no model); the slow
ones install the wheel into a fresh folder and run the real entry point from elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdsearch.cli import cli
from sdsearch.errors import FilterError, SdsearchError

from conftest import ROOT


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch):
    """Invoke the CLI in-process in sparse mode (the small index's fake model is not loadable)."""
    monkeypatch.setenv("SDSEARCH_MODE", "sparse")
    monkeypatch.setenv("NO_COLOR", "1")

    def invoke(*args: str, stdin: str | None = None):
        return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)

    return invoke


def one_error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sdsearch: ")
    assert "Traceback" not in result.output
    return lines[0]


# --- 2. filters never fail silently -------------------------------------------------------


def test_unknown_gemeente_is_an_error_that_lists_the_index(run, small_index: Path) -> None:
    r = run("search", "beschermd wonen", "-g", "Amsterdam", "--index", str(small_index))
    assert r.exit_code == 1
    line = one_error_line(r)
    assert "onbekende gemeente amsterdam" in line.lower()
    assert "Maassluis" in line and "Velsen" in line and "Vlaardingen" in line


def test_near_miss_gemeente_is_suggested(run, small_index: Path) -> None:
    r = run("search", "beschermd wonen", "-g", "Vlaardinge", "--index", str(small_index))
    assert r.exit_code == 1
    assert "bedoelde u Vlaardingen?" in one_error_line(r)


def test_unknown_type_and_year_are_errors(run, small_index: Path) -> None:
    r = run("search", "wmo", "--type", "begroting", "--index", str(small_index))
    assert r.exit_code == 1
    assert "programmabegroting" in one_error_line(r)
    r = run("search", "wmo", "--jaar", "2019", "--index", str(small_index))
    assert r.exit_code == 1
    assert "2019" in one_error_line(r)


def test_python_api_raises_a_filter_error_that_lists_the_index(small_index: Path) -> None:
    import sdsearch
    from sdsearch.config import Settings

    with pytest.raises(FilterError, match="Vlaardingen") as e:
        sdsearch.search("wmo", index=small_index, gemeente="Amsterdam", settings=Settings(mode="sparse"))
    assert isinstance(e.value, SdsearchError)
    assert isinstance(e.value, sdsearch.SdsearchError)


# --- 3. one language for people -----------------------------------------------------------

ENGLISH = re.compile(r"\b(Usage|Options|Commands|Show this message|Indexed|skipped|must be|not found|Error)\b")


@pytest.mark.parametrize("args", [["--help"], ["search", "--help"], ["ask", "--help"], ["index", "--help"], ["info", "--help"], ["eval", "--help"], ["export-model", "--help"], ["prompt", "--help"]])
def test_help_is_dutch(run, args: list[str]) -> None:
    r = run(*args)
    assert r.exit_code == 0
    assert "Gebruik:" in r.output
    assert not ENGLISH.search(r.output), ENGLISH.search(r.output)


def test_usage_errors_are_dutch(run) -> None:
    r = run("search", "--foo")
    assert r.exit_code == 2
    assert "Onbekende optie" in r.stderr and not ENGLISH.search(r.stderr)
    r = run("search", "x", "-k", "veel")
    assert "geen geldig geheel getal" in r.stderr


def test_index_messages_and_skip_lines_are_dutch(run, tmp_path: Path, small_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A fake model: building needs vectors, not the real encoder.
    from conftest import FakeEncoder

    monkeypatch.setattr("sdsearch.build.load_encoder", lambda *a, **k: FakeEncoder())
    (small_corpus / "kapot.pdf").write_bytes(b"dit is geen pdf")
    r = run("index", str(small_corpus), "--index", str(tmp_path / "idx"))
    assert r.exit_code == 3, r.output
    assert not ENGLISH.search(r.output), r.output
    assert "overgeslagen: kapot.pdf" in r.stderr
    assert "documenten geïndexeerd" in r.stdout


# --- 4. batches keep one output line per input line -----------------------------------------


def test_search_batch_answers_every_line_blank_ones_included(run, small_index: Path) -> None:
    r = run("search", "-", "--json", "-k", "2", "--index", str(small_index), stdin="beschermd wonen\n\nflexwoningen\n   \n")
    lines = r.stdout.splitlines()
    assert len(lines) == 4, r.stdout
    objs = [json.loads(x) for x in lines]
    assert [o["query"] for o in objs] == ["beschermd wonen", "", "flexwoningen", "   "]
    assert objs[0]["hits"] and "error" not in objs[0]
    assert objs[1]["hits"] == [] and "lege regel" in objs[1]["error"]
    assert objs[3]["error"]


# --- 5. unreadable-only folders ------------------------------------------------------------


def test_folder_with_only_a_broken_pdf_names_it_and_leaves_nothing(run, tmp_path: Path) -> None:
    folder = tmp_path / "rapporten"
    folder.mkdir()
    (folder / "jaarstukken.pdf").write_bytes(b"%PDF-1.4 dit is geen echte pdf")
    target = tmp_path / "nieuwe-index"
    r = run("index", str(folder), "--index", str(target))
    assert r.exit_code == 1
    line = [ln for ln in r.stderr.splitlines() if ln.startswith("sdsearch: ")][-1]
    assert "jaarstukken.pdf" in line and "geen leesbare documenten" in line
    assert not target.exists()


# --- 6. the missing-index hint gives the command that builds that index ---------------------


def test_missing_index_hint_names_the_folder(run, tmp_path: Path) -> None:
    where = tmp_path / "elders"
    r = run("search", "wmo", "--index", str(where))
    assert r.exit_code == 1
    line = one_error_line(r)
    assert f"--index {where}" in line and "sdsearch index MAP" in line


# --- 7. the prompt --------------------------------------------------------------------------


def test_plain_words_act_as_commands() -> None:
    from sdsearch.prompt import PLAIN_COMMANDS, PromptState, handle_command

    out: list[str] = []
    state = PromptState()
    assert handle_command(PLAIN_COMMANDS["help"], state, out.append) is True
    assert ":bron" in out[-1]
    for word in ("exit", "quit"):
        assert handle_command(PLAIN_COMMANDS[word], state, out.append) is False
    assert handle_command(PLAIN_COMMANDS["clear"], state, out.append) is True


def test_prompt_shows_the_answer_last(small_index: Path, fake_encoder) -> None:
    from sdsearch.answer import answer_question
    from sdsearch.render import format_answer_last
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    r = Retriever(open_index(small_index), fake_encoder)
    ans = answer_question(r, "hoeveel flexwoningen telt Mrija?", k=5)
    text = format_answer_last(ans, w=100)
    last_lines = text.rstrip().splitlines()[-6:]
    if ans.answered:
        assert any("Antwoord" in ln for ln in last_lines)
        assert text.index("Bronnen:") < text.index("Antwoord")
    else:
        assert any("Geen duidelijk antwoord" in ln for ln in last_lines)


def test_bron_wraps_at_the_terminal_width(small_index: Path, fake_encoder, monkeypatch: pytest.MonkeyPatch) -> None:
    from sdsearch.answer import answer_question
    from sdsearch.prompt import PromptState, show_source
    from sdsearch.retrieve import Retriever
    from sdsearch.store import open_index

    monkeypatch.setenv("COLUMNS", "120")
    r = Retriever(open_index(small_index), fake_encoder)
    state = PromptState(last=answer_question(r, "beschermd wonen regiogemeenten budget taken verschuiven", k=3))
    text = show_source(state, "1", r)
    assert max(len(ln) for ln in text.splitlines()) > 80


# --- 1. a regular install works from anywhere ------------------------------------------------


@pytest.mark.slow
def test_wheel_install_asks_from_any_folder_and_keeps_the_index_in_the_data_folder(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    wheel = next(wheels.glob("sdsearch-*.whl"))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True, timeout=300)
    assert (site / "sdsearch" / "corpus" / "corpus.toml").is_file()
    elsewhere = tmp_path / "ergens"
    elsewhere.mkdir()
    data = tmp_path / "data"
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(data),
        "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")),  # the converted model, shared
        "NO_COLOR": "1",
    }
    for var in ("SDSEARCH_INDEX", "SDSEARCH_CORPUS", "SDSEARCH_CONFIG"):
        env.pop(var, None)
    where = subprocess.run([sys.executable, "-c", "import sdsearch; print(sdsearch.__file__)"], env=env, cwd=elsewhere, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site)), where.stdout
    r = subprocess.run([sys.executable, "-m", "sdsearch", "ask", "hoeveel flexwoningen telt Mrija?"], env=env, cwd=elsewhere, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "387" in r.stdout
    assert "nog geen index" in r.stderr
    assert (data / "sdsearch" / "index" / "CURRENT").is_file()
    assert list(elsewhere.iterdir()) == []  # nothing written into the current folder


@pytest.mark.slow
def test_index_says_what_it_is_about_to_do_first(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sdsearch", "index", str(ROOT / "corpus"), "--index", str(tmp_path / "idx")],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )
    first = proc.stderr.readline()
    # The first line comes before the model, spaCy or FAISS load: it names what will happen.
    assert first.startswith("Indexeren: 5 bestanden uit "), first
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "documenten geïndexeerd" in out
