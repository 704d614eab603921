"""Ingest of text exports: headings, boilerplate, tables, metadata, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdsearch.ingest import IngestError, infer_metadata, ingest, read_document
from sdsearch.ingest.plain import parse_markdown, parse_plain

from conftest import CORPUS, write_corpus


def blocks_of(text: str) -> list[tuple[str, str, int]]:
    return [(b.kind, text[b.start : b.end], b.level) for b in parse_plain(text)]


def test_headings_are_short_lines_without_full_stop() -> None:
    text = "Beschermd wonen\nBeschermd wonen is in 2021 succesvol aanbesteed.\n"
    assert blocks_of(text) == [
        ("heading", "Beschermd wonen", 2),
        ("paragraph", "Beschermd wonen is in 2021 succesvol aanbesteed.", 0),
    ]


def test_question_heading_and_nested_run() -> None:
    text = "Wat hebben we gedaan?\nInburgering\nOp 1 januari 2022 trad de Wet inburgering 2021 in werking.\nHerijking jeugdhulp\nDe maatregelen zijn geïmplementeerd.\n"
    kinds = blocks_of(text)
    assert kinds[0] == ("heading", "Wat hebben we gedaan?", 2)
    assert kinds[1] == ("heading", "Inburgering", 3)
    assert kinds[3] == ("heading", "Herijking jeugdhulp", 3)  # sibling of Inburgering, child of the first


def test_web_export_boilerplate_is_never_a_block() -> None:
    text = (
        "Nieuw beleid\n\nTerug naar navigatie - Nieuw beleid\n\n"
        "Wij kiezen er voor om te investeren in het Sociaal Domein.\n\n"
        "Deze pagina is gebouwd op 02/09/2022 15:11:17 met de export van 02/09/2022 14:47:31\n"
    )
    covered = " ".join(t for _, t, _ in blocks_of(text))
    assert "Terug naar navigatie" not in covered
    assert "Deze pagina is gebouwd" not in covered
    assert blocks_of(text)[0] == ("heading", "Nieuw beleid", 1)  # confirmed by its navigation line


def test_table_rows_stay_together_as_one_table() -> None:
    text = (
        "Financieel deel\n"
        "Baten en lasten meerjarig (x € 1.000) 2020 2021 2022 2023\n"
        "Lasten 137.096 135.097 134.019 132.910\n"
        "Baten 36.424 36.424 36.424 36.424\n\n"
        "Sluis 751\n"
        "In Sluis 751 kunnen inwoners terecht met vragen over zorg en welzijn.\n"
    )
    b = blocks_of(text)
    assert b[1][0] == "table" and "Lasten 137.096" in b[1][1] and "Baten 36.424" in b[1][1]
    assert b[2] == ("heading", "Sluis 751", 2)  # a number at the end does not make a heading a table row


def test_list_items_are_grouped() -> None:
    text = "We zetten in op:\n- Intensivering van vroegsignalering\n- Onderzoek naar modernisering gemeentepolis\n"
    assert [k for k, _, _ in blocks_of(text)] == ["paragraph", "list"]


def test_markdown_headings_have_levels() -> None:
    text = "# Jaarverslag\n\n## Beschermd wonen\n\nVanaf 2024 verschuiven de taken.\n"
    b = parse_markdown(text)
    assert [(x.kind, text[x.start : x.end], x.level) for x in b] == [
        ("heading", "Jaarverslag", 1),
        ("heading", "Beschermd wonen", 2),
        ("paragraph", "Vanaf 2024 verschuiven de taken.", 0),
    ]


def test_corpus_metadata_comes_from_the_manifest() -> None:
    report = ingest([CORPUS])
    assert not report.skipped
    by_source = {d.source: d for d in report.documents}
    velsen = by_source["velsen-jaarverslag-2022-participatie.txt"]
    assert (velsen.gemeente, velsen.year, velsen.doc_type) == ("Velsen", 2022, "jaarverslag")
    assert velsen.title.startswith("Jaarverslag 2022")
    # The text is the file's own text, byte for byte as decoded.
    assert velsen.text == (CORPUS / velsen.source).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "path, expected",
    [
        ("jaarstukken-2023-velsen.pdf", {"gemeente": "Velsen", "year": 2023, "doc_type": "jaarstukken"}),
        ("Velsen/2022/programmabegroting.txt", {"gemeente": "Velsen", "year": 2022, "doc_type": "programmabegroting"}),
        ("Den Haag/begroting 2021-2024.pdf", {"gemeente": "'s-Gravenhage", "year": 2021, "doc_type": "programmabegroting"}),
        ("Súdwest-Fryslân/jaarverslag 2022 Ærø ‘sociaal’.txt", {"gemeente": "Súdwest-Fryslân", "year": 2022, "doc_type": "jaarverslag"}),
        # Names that say nothing give nothing: no gemeente made of an ordinary word, no year from a hash.
        ("notities.txt", {}),
        ("rapport (3).pdf", {}),
        ("001_f66be3d21670fdbc.txt", {}),
        ("scan_a2019b7c.pdf", {}),
        ("best-practices.pdf", {}),
    ],
)
def test_metadata_is_inferred_from_names(path: str, expected: dict) -> None:
    assert infer_metadata(path) == expected


def test_files_without_manifest_entry_still_work(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c", {"schiedam-jaarverslag-2021.txt": "Armoede\nWe helpen 200 gezinnen.\n"})
    doc = ingest([corpus]).documents[0]
    assert (doc.gemeente, doc.year, doc.doc_type) == ("Schiedam", 2021, "jaarverslag")


def test_windows_1252_is_read_with_a_note(tmp_path: Path) -> None:
    p = tmp_path / "oud.txt"
    p.write_bytes("Beëindiging\nDe regeling is beëindigd per 1 januari.\n".encode("cp1252"))
    doc, notes = read_document(p, tmp_path)
    assert "beëindigd" in doc.text
    assert notes and "Windows-1252" in notes[0]


@pytest.mark.parametrize(
    "content, reason",
    [(b"", "leeg bestand"), (b"\x00\x01\x02binary\x00" * 20, "binaire gegevens"), (b"   \n\n", "leeg bestand")],
)
def test_bad_files_are_skipped_with_a_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    corpus = write_corpus(tmp_path / "c", {"goed.txt": "Wmo\nDe Wmo helpt inwoners.\n"})
    (corpus / "slecht.txt").write_bytes(content)
    report = ingest([corpus])
    assert [d.source for d in report.documents] == ["goed.txt"]
    assert report.skipped[0][0] == "slecht.txt" and reason in report.skipped[0][1]


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="bestand of map bestaat niet"):
        ingest([tmp_path / "bestaat-niet"])
