"""Metadata read from the documents themselves, when corpus.toml and the file names say nothing.

The five bundled reports are copied under meaningless names (their raw hash names, "rapport
(3).txt", ...) without corpus.toml: gemeente, year and type must come out as corpus.toml
says, with a sensible title, and every value must say where it came from. A PDF and a DOCX
made here carry the gemeente only in their properties or on their title page. corpus.toml
still wins, field by field, without changing the text (so nothing needs re-embedding).
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from sdsearch.ingest import fromtext, gemeenten, ingest, read_document
from sdsearch.ingest.plain import parse_plain
from sdsearch.types import Document

from conftest import CORPUS

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
MANIFEST = {e["path"]: e for e in tomllib.loads((CORPUS / "corpus.toml").read_text(encoding="utf-8"))["document"]}
# The raw name each bundled report had ("seed 000_56565a7e8144f63a.txt: ..." in corpus.toml).
SEED_NAMES = {path: e["origin"].split()[1].rstrip(":") for path, e in MANIFEST.items()}
VAGUE_NAMES = ["rapport (3).txt", "Document.txt", "scan 0004.txt", "download.txt", "e3b0c44298fc1c14.txt"]


@pytest.fixture(autouse=True, scope="module")
def _readers_really_run():
    """The extraction cache is off here, so every test runs the readers (ingest reads no environment)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sdsearch.ingest.cache.CACHED_SUFFIXES", frozenset())
        yield


def origins(doc: Document) -> dict[str, str]:
    return dict(doc.meta_origin)


def raw_folder(folder: Path, names: dict[str, str]) -> dict[str, str]:
    """Copy the bundled reports into ``folder`` under ``names``; returns new name → corpus path."""
    folder.mkdir(parents=True, exist_ok=True)
    for path, name in names.items():
        shutil.copy(CORPUS / path, folder / name)
    return {name: path for path, name in names.items()}


@pytest.mark.parametrize("naming", ["seed", "vague"])
def test_raw_reports_under_meaningless_names_get_their_metadata_from_the_text(tmp_path: Path, naming: str) -> None:
    names = SEED_NAMES if naming == "seed" else dict(zip(sorted(MANIFEST), VAGUE_NAMES, strict=True))
    back = raw_folder(tmp_path / "map", names)
    report = ingest([tmp_path / "map"])
    assert not report.skipped and len(report.documents) == 5
    for doc in report.documents:
        want = MANIFEST[back[doc.source]]
        got = origins(doc)
        assert (doc.gemeente, doc.year, doc.doc_type) == (want["gemeente"], want["year"], want["doc_type"]), doc.source
        # corpus.toml's titles are "<Type> <year> — <part>": the type and year part must match.
        assert doc.title.split(" — ")[0] == want["title"].split(" — ")[0], doc.title
        assert set(got) == {"gemeente", "year", "doc_type", "title"}
        assert all(o.startswith(("tekst: ", "samengesteld")) for o in got.values()), got


def test_a_title_line_that_names_the_report_is_the_title(tmp_path: Path) -> None:
    (tmp_path / "rapport (3).txt").write_text(
        "Gemeente Zwolle\nJaarverslag 2021\nInleiding\nIn 2021 deden we veel. Sinds 2015 werken we aan de Wmo; "
        "de visie 2023-2030 volgt nog. In 2015, 2015 en 2015 kwam de wet.\n",
        encoding="utf-8",
    )
    doc = ingest([tmp_path]).documents[0]
    assert (doc.gemeente, doc.year, doc.doc_type, doc.title) == ("Zwolle", 2021, "jaarverslag", "Jaarverslag 2021")
    assert origins(doc) == {
        "gemeente": "tekst: titelpagina",
        "year": "tekst: titelpagina",
        "doc_type": "tekst: titelpagina",
        "title": "tekst: titelpagina",
    }


def test_partners_and_lists_of_gemeenten_do_not_outvote_the_own_gemeente() -> None:
    text = (
        "Werk en inkomen\n"
        "Voor een belangrijk deel doen we dit samen met de gemeenten Vlaardingen en Schiedam.\n"
        "De gemeenten Maassluis, Vlaardingen en Schiedam werken samen in de MVS-regio met Vlaardingen en Schiedam.\n"
        "De crisis heeft veel inwoners van Maassluis geraakt. Ook in Maassluis zijn er schulden.\n"
    )
    assert fromtext.gemeente(fromtext.View(text, parse_plain(text))) == ("Maassluis", "tekst: vaakst genoemd (3×)")


def test_a_year_merely_mentioned_often_does_not_beat_the_year_the_report_is_about() -> None:
    text = "Armoede\nIn 2022 deden we mee aan de pilot. De regeling uit 2019 (2019, 2019, 2019) blijft. In 2022 werkten we door.\n"
    view = fromtext.View(text, parse_plain(text))
    assert fromtext.year(view, "jaarverslag") == (2022, "tekst: terugblik op 2022")


def test_gemeente_names_are_found_in_all_their_spellings() -> None:
    text = "Den Haag, Alphen aan den Rijn, Capelle aan den IJssel, Vlaardingers, Midden-Groningen, Nuenen, velsen"
    found = [m.name for m in gemeenten.find(text)]
    assert found == [
        "'s-Gravenhage",
        "Alphen aan den Rijn",
        "Capelle aan den IJssel",
        "Vlaardingen",
        "Midden-Groningen",
        "Nuenen, Gerwen en Nederwetten",
    ]
    assert len(gemeenten.names()) == 342


# --- PDF and DOCX with the gemeente only in their properties or on their title page --------------


def _pdf(path: Path, title_page: list[tuple[str, int]], author: str | None = None, subject: str | None = None) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    if (FONT_DIR / "DejaVuSans.ttf").is_file():
        pdf.add_font("DV", "", str(FONT_DIR / "DejaVuSans.ttf"))
        fam = "DV"
    else:
        fam = "helvetica"
    if author:
        pdf.set_author(author)
    if subject:
        pdf.set_subject(subject)
    pdf.add_page()
    for line, size in title_page:
        pdf.set_font(fam, "", size)
        pdf.cell(0, size * 0.6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.set_font(fam, "", 16)
    pdf.cell(0, 10, "Sociaal domein", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(fam, "", 10)
    body = "Wij investeren in preventie en in de wijkteams, zodat inwoners eerder passende hulp krijgen. " * 6
    pdf.multi_cell(0, 5, body)
    pdf.output(str(path))


def test_pdf_gemeente_from_its_properties_year_and_type_from_its_title_page(tmp_path: Path) -> None:
    _pdf(tmp_path / "rapport (3).pdf", [("Programmabegroting 2024", 24)], author="Gemeente Schiedam")
    doc, _ = read_document(tmp_path / "rapport (3).pdf", tmp_path)
    assert (doc.gemeente, doc.year, doc.doc_type, doc.title) == (
        "Schiedam",
        2024,
        "programmabegroting",
        "Programmabegroting 2024",
    )
    assert origins(doc) == {
        "gemeente": "PDF-eigenschappen",
        "year": "tekst: titelpagina",
        "doc_type": "tekst: titelpagina",
        "title": "tekst: titelpagina",
    }


def test_pdf_gemeente_only_on_its_title_page(tmp_path: Path) -> None:
    _pdf(tmp_path / "9f86d081884c7d65.pdf", [("Jaarstukken 2022", 24), ("Gemeente Haarlemmermeer", 14)])
    doc, _ = read_document(tmp_path / "9f86d081884c7d65.pdf", tmp_path)
    assert (doc.gemeente, doc.year, doc.doc_type, doc.title) == ("Haarlemmermeer", 2022, "jaarstukken", "Jaarstukken 2022")
    assert origins(doc)["gemeente"] == "tekst: titelpagina"


def _docx(path: Path, paragraphs: list[tuple[str, str | None]], **props: str) -> None:
    import docx

    d = docx.Document()
    for key, value in props.items():
        setattr(d.core_properties, key, value)
    for text, style in paragraphs:
        d.add_paragraph(text, style=style)
    d.save(str(path))


BODY = "De Wmo helpt inwoners die het niet zelfstandig redden, met hulp bij het huishouden en dagbesteding."


def test_docx_gemeente_type_and_year_from_its_properties(tmp_path: Path) -> None:
    _docx(
        tmp_path / "Document.docx",
        [("Inleiding", "Heading 1"), (BODY, None)],
        title="Voorjaarsnota 2025",
        author="Gemeente Súdwest-Fryslân",
    )
    doc, _ = read_document(tmp_path / "Document.docx", tmp_path)
    assert (doc.gemeente, doc.year, doc.doc_type, doc.title) == (
        "Súdwest-Fryslân",
        2025,
        "voorjaarsnota",
        "Voorjaarsnota 2025",
    )
    assert set(origins(doc).values()) == {"DOCX-eigenschappen"}


def test_docx_gemeente_only_on_its_title_page(tmp_path: Path) -> None:
    _docx(
        tmp_path / "rapport (3).docx",
        [("Kadernota 2026", "Title"), ("gemeente Zaanstad", None), ("Sociaal domein", "Heading 1"), (BODY, None)],
    )
    doc, _ = read_document(tmp_path / "rapport (3).docx", tmp_path)
    assert (doc.gemeente, doc.year, doc.doc_type, doc.title) == ("Zaanstad", 2026, "kadernota", "Kadernota 2026")
    assert origins(doc)["gemeente"] == "tekst: titelpagina"


# --- precedence --------------------------------------------------------------------------------


def test_corpus_toml_wins_field_by_field_and_leaves_the_text_alone(tmp_path: Path) -> None:
    back = raw_folder(tmp_path / "map", SEED_NAMES)
    seed = next(n for n, p in back.items() if p.startswith("velsen"))
    before = {d.source: d for d in ingest([tmp_path / "map"]).documents}
    (tmp_path / "map" / "corpus.toml").write_text(
        f'[[document]]\npath = "{seed}"\ngemeente = "Haarlem"\nyear = 2021\n', encoding="utf-8"
    )
    after = {d.source: d for d in ingest([tmp_path / "map"]).documents}
    doc = after[seed]
    assert (doc.gemeente, doc.year, doc.doc_type) == ("Haarlem", 2021, "jaarverslag")
    assert origins(doc)["gemeente"] == "corpus.toml" and origins(doc)["year"] == "corpus.toml"
    assert origins(doc)["doc_type"].startswith("tekst: ")  # not in corpus.toml: still read from the text
    # Same text, blocks and hash: the build can keep every vector.
    old = before[seed]
    assert (doc.text, doc.blocks, doc.content_hash) == (old.text, old.blocks, old.content_hash)
    assert all(after[s] == before[s] for s in before if s != seed)


def test_a_clear_file_name_beats_the_text(tmp_path: Path) -> None:
    shutil.copy(CORPUS / "velsen-jaarverslag-2022-participatie.txt", tmp_path / "Zwolle 2019 kadernota.txt")
    doc = ingest([tmp_path]).documents[0]
    assert (doc.gemeente, doc.year, doc.doc_type) == ("Zwolle", 2019, "kadernota")
    assert origins(doc) == {
        "gemeente": "bestandsnaam",
        "year": "bestandsnaam",
        "doc_type": "bestandsnaam",
        "title": "samengesteld: type en jaar",
    }
    assert doc.title == "Kadernota 2019"


def test_bundled_corpus_metadata_all_comes_from_corpus_toml() -> None:
    for doc in ingest([CORPUS]).documents:
        assert set(origins(doc).values()) == {"corpus.toml"}
        want = MANIFEST[doc.source]
        assert (doc.gemeente, doc.year, doc.doc_type, doc.title) == (
            want["gemeente"],
            want["year"],
            want["doc_type"],
            want["title"],
        )
