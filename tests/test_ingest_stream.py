"""``ingest.iter_documents``: a corpus one document at a time (issue #15). The same documents,
skip reasons and notes as ``ingest`` (now a list over it), read only when asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdsearch import ingest as ingest_module
from sdsearch.ingest import IngestError, IngestReport, ingest, iter_documents

from conftest import CORPUS, write_corpus


def _corpus(tmp_path: Path) -> Path:
    corpus = write_corpus(
        tmp_path / "c",
        {"a.txt": "Wmo\nDe Wmo helpt inwoners.\n", "b-leeg.txt": "", "c.txt": "Jeugdhulp\nJeugdhulp in de wijk.\n"},
        manifest='[[document]]\npath = "a.txt"\ngemeente = "Velsen"\n',
    )
    (corpus / "d-kapot.pdf").write_bytes(b"%PDF-1.4 kapot")
    return corpus


def test_iter_documents_gives_what_ingest_gives(tmp_path: Path) -> None:
    for paths in ([_corpus(tmp_path)], [CORPUS]):
        want = ingest(paths)
        report = IngestReport([], [], [])
        got = list(iter_documents(paths, report=report))
        assert got == want.documents and report.skipped == want.skipped and report.notes == want.notes
        assert report.documents == []  # left to the caller


def test_iter_documents_reads_a_file_when_asked_and_reports_as_it_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path)
    read: list[str] = []
    real = ingest_module.read_document

    def counting(path: Path, *a, **k):  # noqa: ANN002, ANN003, ANN202
        read.append(path.name)
        return real(path, *a, **k)

    monkeypatch.setattr(ingest_module, "read_document", counting)
    report = IngestReport([], [], [])
    docs = iter_documents([corpus], report=report)
    assert read == []  # a generator: nothing is read before the first next
    assert next(docs).source == "a.txt" and read == ["a.txt"] and report.skipped == []
    assert next(docs).source == "c.txt" and read == ["a.txt", "b-leeg.txt", "c.txt"]
    assert [src for src, _ in report.skipped] == ["b-leeg.txt"]
    assert next(docs, None) is None
    assert [src for src, _ in report.skipped] == ["b-leeg.txt", "d-kapot.pdf"]  # complete once exhausted


def test_iter_documents_fails_on_the_first_next_for_a_missing_path_or_broken_corpus_toml(tmp_path: Path) -> None:
    docs = iter_documents([tmp_path / "bestaat-niet"])
    with pytest.raises(IngestError, match="bestand of map bestaat niet"):
        next(docs)
    good = _corpus(tmp_path)
    broken = write_corpus(tmp_path / "kapot", {"x.txt": "Wmo\nDe Wmo helpt.\n"}, manifest="[[document]\n")
    docs = iter_documents([good, broken])
    with pytest.raises(IngestError, match=r"corpus\.toml niet lezen"):
        next(docs)  # every corpus.toml is read before the first document is handed out
