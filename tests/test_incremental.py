"""Real reports, incrementally: a PDF made from the seed reports cites its pages; re-indexing
an unchanged folder parses and embeds nothing again; a changed file is the only work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdsearch import ingest as ingest_mod
from sdsearch.api import build_index
from sdsearch.config import Settings

from conftest import ROOT, FakeEncoder
from test_readers import make_report_pdf


@pytest.fixture
def pdf_folder(tmp_path: Path) -> tuple[Path, dict]:
    folder = tmp_path / "rapporten"
    folder.mkdir()
    truth = make_report_pdf(folder / "velsen-jaarverslag-2022.pdf")
    return folder, truth


@pytest.mark.slow
def test_search_cites_the_page_of_a_known_sentence(tmp_path: Path, pdf_folder: tuple[Path, dict]) -> None:
    folder, truth = pdf_folder
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1"}
    idx = tmp_path / "idx"
    r = subprocess.run([sys.executable, "-m", "sdsearch", "index", str(folder), "--index", str(idx)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    sentence, page = next((s, p) for s, p in truth["page_of"].items() if p == 3)
    r = subprocess.run(
        [sys.executable, "-m", "sdsearch", "search", sentence, "-k", "1", "--json", "--index", str(idx)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    hit = json.loads(r.stdout)["hits"][0]
    assert " ".join(sentence.split()) in " ".join(hit["text"].split())
    assert hit["page"] <= page <= hit["page_end"]
    assert hit["citation"].endswith(f"p. {page}") or f"p. {hit['page']}–{hit['page_end']}" in hit["citation"]
    assert hit["gemeente"] == "Velsen" and hit["year"] == 2022 and hit["doc_type"] == "jaarverslag"


def test_unchanged_pdfs_are_neither_parsed_nor_embedded_again(tmp_path: Path, pdf_folder: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, _ = pdf_folder
    monkeypatch.delenv("SDSEARCH_NO_EXTRACT_CACHE")
    monkeypatch.setenv("SDSEARCH_CACHE", str(tmp_path / "cache"))
    enc = FakeEncoder()
    first = build_index([folder], tmp_path / "idx", Settings(), encoder=enc)
    assert first.embedded == first.passages > 0

    def no_parsing(path: Path) -> None:
        raise AssertionError(f"{path.name} was parsed again")

    monkeypatch.setitem(ingest_mod.READERS, ".pdf", no_parsing)
    again = build_index([folder], tmp_path / "idx", Settings(), encoder=enc)
    assert again.embedded == 0 and again.unchanged == ["velsen-jaarverslag-2022.pdf"]
    assert again.passages == first.passages

    # A changed file is parsed and embedded; only its changed passages cost embedding.
    monkeypatch.undo()
    monkeypatch.setenv("SDSEARCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SDSEARCH_NO_EXTRACT_CACHE", raising=False)
    (folder / "maassluis-begroting-2023.md").write_text("# Pleegzorg\n\nIn 2023 werven we 12 nieuwe pleeggezinnen.\n", encoding="utf-8")
    third = build_index([folder], tmp_path / "idx", Settings(), encoder=enc)
    assert third.added == ["maassluis-begroting-2023.md"] and third.embedded == 1
