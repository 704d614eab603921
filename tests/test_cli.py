"""The real `sdsearch` entry point in a subprocess, on the real corpus with the real model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow


def sdsearch(*args: str, stdin: str | None = None, cwd: Path | None = None, timeout: int = 180, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "PYTHONPATH": str(ROOT / "src")}
    env.pop("SDSEARCH_INDEX", None)
    env.pop("SDSEARCH_CORPUS", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "sdsearch", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=timeout,
    )


def assert_one_line_error(r: subprocess.CompletedProcess[str], pattern: str) -> None:
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    # `sdsearch index` first says what it is about to do; the error is then one line.
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("Indexeren: ")]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("sdsearch: ") and pattern in lines[0], lines[0]


def test_search_json_ranks_the_beschermd_wonen_passages(real_index: Path) -> None:
    r = sdsearch("search", "wat gebeurt er met beschermd wonen", "-k", "5", "--json", "--index", str(real_index))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["query"] == "wat gebeurt er met beschermd wonen"
    top3 = out["hits"][:3]
    texts = " ".join(h["text"] for h in top3)
    assert "Beschermd wonen is in 2021 succesvol aanbesteed" in texts
    assert "Vanaf 2024 verschuiven de taken en het budget voor beschermd wonen" in texts
    for h in out["hits"]:
        for key in ("rank", "score", "passage_id", "text", "citation", "source", "gemeente", "year", "doc_type", "section", "page", "char_start", "char_end"):
            assert key in h
    velsen = next(h for h in top3 if h["gemeente"] == "Velsen")
    assert velsen["year"] == 2022 and velsen["doc_type"] == "jaarverslag" and "Beschermd wonen" in velsen["section"]


def test_search_reads_queries_from_stdin_in_one_process(real_index: Path) -> None:
    r = sdsearch("search", "-", "-k", "2", "--json", "--index", str(real_index), stdin="flexwoningen Mrija\n\nbijstand Velsen 2022\n")
    assert r.returncode == 0, r.stderr
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["query"] for o in objs] == ["flexwoningen Mrija", "", "bijstand Velsen 2022"]  # one object per input line
    assert objs[1]["hits"] == [] and "lege regel" in objs[1]["error"]
    assert "387 flexwoningen" in objs[0]["hits"][0]["text"]


def test_search_plain_output_is_readable_with_filters(real_index: Path) -> None:
    r = sdsearch("search", "jeugdhulp", "-k", "3", "--gemeente", "Velsen", "--jaar", "2022", "--index", str(real_index))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("1. Velsen · Jaarverslag 2022")
    assert "2. Velsen" in r.stdout and "3. Velsen" in r.stdout
    assert all(len(line) <= 100 for line in r.stdout.splitlines())


def test_info_describes_the_index(real_index: Path) -> None:
    r = sdsearch("info", "--index", str(real_index), "--verify")
    assert r.returncode == 0, r.stderr
    assert "intfloat/multilingual-e5-small" in r.stdout
    assert "velsen-jaarverslag-2022-participatie.txt" in r.stdout
    assert "alle bestanden kloppen" in r.stdout
    assert "instellingen (waarde — herkomst):" in r.stdout and "standaard" in r.stdout


def test_empty_query_is_one_line_and_nonzero(real_index: Path) -> None:
    assert_one_line_error(sdsearch("search", "  ", "--index", str(real_index)), "lege zoekvraag")


def test_missing_index_folder_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(sdsearch("search", "wmo", "--index", str(tmp_path / "geen-index")), "geen index in")


def test_unknown_model_is_one_line(tmp_path: Path) -> None:
    r = sdsearch("index", str(CORPUS), "--index", str(tmp_path / "idx"), "--model", "bestaat-niet/geen-model")
    assert_one_line_error(r, "bestaat-niet/geen-model")
    assert not (tmp_path / "idx" / "CURRENT").exists()


def test_bad_files_are_skipped_and_reported(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    shutil.copy(CORPUS / "velsen-jaarverslag-2022-participatie.txt", corpus)
    (corpus / "kapot.txt").write_bytes(b"\x81\x8d\x8f\x90\x9d geen tekst \xff\xfe")
    (corpus / "leeg.txt").write_bytes(b"")
    r = sdsearch("index", str(corpus), "--index", str(tmp_path / "idx"))
    assert r.returncode == 3, r.stderr
    assert "overgeslagen: kapot.txt: geen geldige UTF-8" in r.stderr
    assert "overgeslagen: leeg.txt: leeg bestand" in r.stderr
    assert "Traceback" not in r.stderr
    ok = sdsearch("search", "Skaeve Huse", "-k", "1", "--index", str(tmp_path / "idx"))
    assert ok.returncode == 0 and "Skaeve Huse" in ok.stdout


def test_folder_without_readable_files_is_an_error(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "kapot.txt").write_bytes(b"\x00\x01" * 50)
    assert_one_line_error(sdsearch("index", str(corpus), "--index", str(tmp_path / "idx")), "geen leesbare documenten")


def test_first_search_builds_the_default_index_and_says_so(tmp_path: Path) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    env = {"SDSEARCH_CORPUS": str(tmp_path / "corpus"), "SDSEARCH_INDEX": str(tmp_path / "index")}
    first = sdsearch("search", "Skaeve Huse", "-k", "1", cwd=tmp_path, env_extra=env)
    assert first.returncode == 0, first.stderr
    assert "nog geen index;" in first.stderr
    assert "Skaeve Huse" in first.stdout
    second = sdsearch("search", "Skaeve Huse", "-k", "1", cwd=tmp_path, env_extra=env)
    assert second.returncode == 0 and "gebouwd" not in second.stderr
    # A changed corpus is picked up on the next search.
    (tmp_path / "corpus" / "extra-2024.txt").write_text("Pleegzorg\nIn 2024 werven we 12 nieuwe pleeggezinnen.\n", encoding="utf-8")
    third = sdsearch("search", "pleeggezinnen werven", "-k", "1", cwd=tmp_path, env_extra=env)
    assert "zijn veranderd sinds de index is gebouwd" in third.stderr
    assert "12 nieuwe pleeggezinnen" in third.stdout


def test_eval_without_files_runs_every_set_in_eval() -> None:
    """`sdsearch eval` with no files: every .jsonl set in eval/, none forgotten when one is added."""
    from sdsearch.cli import _default_eval_files

    assert sorted(p.name for p in _default_eval_files()) == sorted(p.name for p in (ROOT / "eval").glob("*.jsonl"))
