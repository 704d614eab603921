"""PDF, HTML and DOCX readers on files generated here, with Dutch sentences from the corpus.

Each generator knows where it put every sentence (page, section), so the tests check
what a citation needs: text without running headers/footers, repaired hyphenation,
table rows intact, reading order of two columns, heading paths and page numbers.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from sdsearch.chunk import chunk_document
from sdsearch.ingest import IngestError, ingest, read_document
from sdsearch.types import Document, Passage

ROOT = Path(__file__).resolve().parents[1]
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
HEADER = "Gemeente Velsen · Jaarverslag 2022 · Participatie"


@pytest.fixture(autouse=True, scope="module")
def _readers_really_run():
    """The extraction cache is off here, so every test runs the readers (ingest reads no environment)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sdsearch.ingest.cache.CACHED_SUFFIXES", frozenset())
        yield


def corpus_sentences() -> list[str]:
    out: list[str] = []
    for p in sorted((ROOT / "corpus").glob("*.txt")):
        for line in p.read_text(encoding="utf-8").splitlines():
            out += [s for s in re.split(r"(?<=[.!?])\s+", " ".join(line.split())) if s]
    return out


SENTENCES = corpus_sentences()


def sentence_with(word: str, *, skip: int = 0) -> str:
    hits = [s for s in SENTENCES if word in s and 40 <= len(s) <= 260]
    return hits[skip]


def plain_sentences(n: int, start: int) -> list[str]:
    """``n`` ordinary body sentences (full stop, no hyphen at risk of line breaks)."""
    ok = [s for s in SENTENCES if 60 <= len(s) <= 220 and s.endswith(".") and "-" not in s and "|" not in s]
    return ok[start : start + n]


# --- PDF generation ---------------------------------------------------------------------


def _new_pdf(header: str = HEADER):
    from fpdf import FPDF

    unicode_font = (FONT_DIR / "DejaVuSans.ttf").is_file() and (FONT_DIR / "DejaVuSans-Bold.ttf").is_file()

    class Report(FPDF):
        def header(self) -> None:
            self.set_font(self.fam, "", 8)
            self.cell(0, 6, self.fix(header), align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(6)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font(self.fam, "", 8)
            self.cell(0, 10, f"Pagina {self.page_no()} van {{nb}}", align="C")

        def fix(self, s: str) -> str:
            if unicode_font:
                return s
            s = s.translate(str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "€": "EUR"}))
            return s.encode("latin-1", "replace").decode("latin-1")

    pdf = Report(format="A4")
    if unicode_font:
        pdf.add_font("DV", "", str(FONT_DIR / "DejaVuSans.ttf"))
        pdf.add_font("DV", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        pdf.fam = "DV"
    else:
        pdf.fam = "helvetica"
    pdf.set_auto_page_break(True, margin=22)
    pdf.set_title("Jaarverslag 2022 Participatie")
    pdf.set_author("Gemeente Velsen")
    return pdf


class PdfWriterHelper:
    """Writes headings and ragged paragraphs line by line and records each sentence's page."""

    def __init__(self, pdf) -> None:
        self.pdf = pdf
        self.page_of: dict[str, int] = {}
        self.end_page_of: dict[str, int] = {}

    def heading(self, text: str, size: float) -> None:
        self.pdf.set_font(self.pdf.fam, "B", size)
        self.pdf.ln(2)
        self.pdf.cell(0, size * 0.5, self.pdf.fix(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(2)

    def lines(self, lines: list[str]) -> None:
        self.pdf.set_font(self.pdf.fam, "", 10)
        for ln in lines:
            self.pdf.cell(0, 5, self.pdf.fix(ln), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(4)

    def paragraph(self, sentences: list[str], width: int = 88) -> None:
        """A paragraph wrapped at ``width`` chars; records the page(s) each sentence lies on."""
        text = " ".join(sentences)
        spans = []
        pos = 0
        for s in sentences:
            at = text.index(s, pos)
            spans.append((at, at + len(s), s))
            pos = at + len(s)
        lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
        self.pdf.set_font(self.pdf.fam, "", 10)
        pos = 0
        for ln in lines:
            if self.pdf.will_page_break(5):
                self.pdf.add_page()
            for start, end, s in spans:
                if pos <= start < pos + len(ln) + 1:
                    self.page_of[s] = self.pdf.page_no()
                if pos < end <= pos + len(ln) + 1:
                    self.end_page_of[s] = self.pdf.page_no()
            self.pdf.cell(0, 5, self.pdf.fix(ln), new_x="LMARGIN", new_y="NEXT")
            pos += len(ln) + 1
        self.pdf.ln(4)


def hyphenated_lines(sentence: str, word: str, cut: int, width: int = 88) -> list[str]:
    """Wrap ``sentence`` so that ``word`` is split after ``cut`` chars with a hyphen at a line end."""
    i = sentence.index(word)
    before, after = sentence[:i].rstrip(), sentence[i + len(word) :]
    head = textwrap.wrap(before, width) or [""]
    mark = "" if word[:cut].endswith("-") else "-"  # a real hyphen stays the only one
    head[-1] = (head[-1] + " " + word[:cut] + mark).strip()
    return head + textwrap.wrap(word[cut:] + after, width)


TABLE_ROWS = [
    ("Indicator", "2021", "2022"),
    ("Aantal cliënten jeugdhulp", "1.234", "1.310"),
    ("Uitgaven Wmo (x € 1.000)", "5.678", "6.012"),
]


def make_report_pdf(path: Path) -> dict[str, object]:
    """A 4-page report; returns what the test must find and where."""
    pdf = _new_pdf()
    pdf.alias_nb_pages()
    w = PdfWriterHelper(pdf)
    pdf.add_page()
    w.heading("1 Participatie", 18)
    w.paragraph(plain_sentences(3, 0))
    w.heading("1.1 Jeugdhulp", 13)
    hyph1 = sentence_with("jeugdhulpprofessionals")
    hyph2 = sentence_with("Wmo-maatwerkvoorziening")
    w.lines(
        hyphenated_lines(hyph1, "jeugdhulpprofessionals", 9) + hyphenated_lines(hyph2, "Wmo-maatwerkvoorziening", 4)
    )
    w.heading("1.2 Kerncijfers", 13)
    pdf.set_font(pdf.fam, "", 10)
    with pdf.table(col_widths=(100, 40, 40), width=180) as table:
        for r in TABLE_ROWS:
            row = table.row()
            for c in r:
                row.cell(pdf.fix(c))
    # Page 2: a full-width heading over two columns.
    pdf.add_page()
    w.heading("1.3 Beschermd wonen", 13)
    left, right = plain_sentences(4, 10), plain_sentences(4, 20)
    pdf.set_font(pdf.fam, "", 10)
    y = pdf.get_y()
    pdf.set_xy(10, y)
    pdf.multi_cell(90, 5, pdf.fix(" ".join(left)), align="L")
    pdf.set_xy(110, y)
    pdf.multi_cell(90, 5, pdf.fix(" ".join(right)), align="L", new_x="LMARGIN", new_y="NEXT")
    # Page 3-4: a chapter whose last paragraph runs over the page break.
    pdf.add_page()
    w.heading("2 Inkomen", 18)
    body = iter(plain_sentences(60, 30))
    while pdf.get_y() < 200:
        w.paragraph([next(body) for _ in range(3)])
    w.paragraph([next(body) for _ in range(16)])  # runs over onto page 4
    pdf.output(str(path))
    straddling = [s for s, pg in w.page_of.items() if w.end_page_of[s] != pg]
    assert straddling, "the generator must put a sentence over the page break"
    return {
        "first": plain_sentences(3, 0),
        "hyph": (hyph1, hyph2),
        "left": left,
        "right": right,
        "page_of": w.page_of,
        "straddling": straddling,
        "pages": pdf.page_no(),
    }


def squash(s: str) -> str:
    return " ".join(s.split())


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Document, list[Passage], dict[str, object]]:
    folder = tmp_path_factory.mktemp("pdf")
    path = folder / "velsen-jaarverslag-2022.pdf"
    truth = make_report_pdf(path)
    doc, _ = read_document(path, folder)
    return doc, chunk_document(doc), truth


# --- PDF tests --------------------------------------------------------------------------


def test_pdf_drops_running_header_footer_and_page_numbers(report_pdf) -> None:
    doc, _, truth = report_pdf
    assert "Gemeente Velsen" not in doc.text
    assert "Pagina" not in doc.text
    assert not re.search(r"(?m)^\s*\d+\s*$", doc.text)
    assert len(doc.page_starts) == truth["pages"]
    assert list(doc.page_starts) == sorted(doc.page_starts)


def test_pdf_joins_lines_and_repairs_hyphenation(report_pdf) -> None:
    doc, _, truth = report_pdf
    for s in truth["first"]:
        assert s in doc.text  # lines of a paragraph joined with single spaces
    hyph1, hyph2 = truth["hyph"]
    assert "jeugdhulpprofessionals" in doc.text and "jeugdhulp-" not in doc.text
    assert "Wmo-maatwerkvoorziening" in doc.text
    assert squash(hyph1) in doc.text and squash(hyph2) in doc.text


def test_pdf_headings_have_levels_and_sections(report_pdf) -> None:
    doc, passages, truth = report_pdf
    heads = [(doc.text[b.start : b.end], b.level) for b in doc.blocks if b.kind == "heading"]
    assert heads == [
        ("1 Participatie", 1),
        ("1.1 Jeugdhulp", 2),
        ("1.2 Kerncijfers", 2),
        ("1.3 Beschermd wonen", 2),
        ("2 Inkomen", 1),
    ]
    by_text = {s: p for p in passages for s in [truth["hyph"][0]] if s in p.text}
    assert by_text[truth["hyph"][0]].section == ("1 Participatie", "1.1 Jeugdhulp")
    assert doc.title == "Jaarverslag 2022 Participatie"
    assert doc.gemeente == "Velsen" and doc.year == 2022


def test_pdf_table_rows_stay_rows(report_pdf) -> None:
    doc, passages, _ = report_pdf
    tables = [b for b in doc.blocks if b.kind == "table"]
    assert len(tables) == 1
    rows = doc.text[tables[0].start : tables[0].end].split("\n")
    assert rows == [" | ".join(r) for r in TABLE_ROWS]
    p = next(p for p in passages if "Aantal cliënten jeugdhulp | 1.234 | 1.310" in p.text)
    assert p.section == ("1 Participatie", "1.2 Kerncijfers") and p.page == 1


def test_pdf_two_columns_read_column_by_column(report_pdf) -> None:
    doc, passages, truth = report_pdf
    left, right = " ".join(truth["left"]), " ".join(truth["right"])
    assert left in doc.text and right in doc.text
    assert doc.text.index(left) < doc.text.index(right)
    for s in truth["left"] + truth["right"]:
        p = next(p for p in passages if s in p.text)
        assert p.page == 2 and p.section == ("1 Participatie", "1.3 Beschermd wonen")


def test_pdf_passages_cite_the_right_pages(report_pdf) -> None:
    doc, passages, truth = report_pdf
    page_of: dict[str, int] = truth["page_of"]
    assert set(page_of.values()) == {1, 3, 4}
    for s, page in page_of.items():
        at = doc.text.index(s)
        assert doc.page_at(at) == page, s
        p = next(p for p in passages if p.char_start <= at < p.char_end)
        assert p.page <= page <= p.page_end
        assert p.section[0] in ("1 Participatie", "2 Inkomen")
    # A sentence over the page break sits in one passage cited as p. 3–4.
    for s in truth["straddling"]:
        at = doc.text.index(s)
        p = next(p for p in passages if p.char_start <= at < p.char_end)
        assert (p.page, p.page_end) == (3, 4)
    for p in passages:
        assert doc.text[p.char_start : p.char_end] == p.text
        assert p.page == doc.page_at(p.char_start) and p.page_end == doc.page_at(p.char_end - 1)


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("de jeugd-", "hulp", "de jeugdhulp"),
        ("het Wmo-", "maatwerk", "het Wmo-maatwerk"),
        ("de GGD-", "regio", "de GGD-regio"),
        ("Noord-", "Holland", "Noord-Holland"),
        ("de re-", "integratie", "de re-integratie"),
        ("jeugd-", "en gezinswerk", "jeugd- en gezinswerk"),
        ("2022-", "2025", "2022-2025"),
        ("een zin.", "Volgende", "een zin. Volgende"),
        ("woon\xad", "voorziening", "woonvoorziening"),
    ],
)
def test_pdf_line_end_hyphens(left: str, right: str, joined: str) -> None:
    from sdsearch.ingest.pdf import _join_hyphen

    sep = _join_hyphen(left, right)
    assert (left[:-1] + right if sep == "\0" else left + (" " if sep == " " else "") + right) == joined


# --- broken PDFs ------------------------------------------------------------------------


def test_encrypted_and_corrupt_pdfs_raise_clear_errors(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    plain = tmp_path / "ok.pdf"
    make_report_pdf(plain)
    writer = PdfWriter(clone_from=str(plain))
    writer.encrypt("geheim")
    enc = tmp_path / "dicht.pdf"
    with open(enc, "wb") as fh:
        writer.write(fh)
    bad = tmp_path / "kapot.pdf"
    bad.write_bytes(os.urandom(4096))
    cut = tmp_path / "afgebroken.pdf"
    cut.write_bytes(plain.read_bytes()[:1500])
    with pytest.raises(IngestError, match="^versleutelde PDF"):
        read_document(enc, tmp_path)
    with pytest.raises(IngestError, match="^geen PDF"):
        read_document(bad, tmp_path)
    with pytest.raises(IngestError, match="PDF"):
        read_document(cut, tmp_path)


def test_pdf_without_text_layer_is_reported_as_scanned(tmp_path: Path) -> None:
    pdf = _new_pdf(header="")
    pdf.add_page()
    pdf.rect(20, 20, 100, 100, style="F")  # a "scan": marks on the page but no text
    pdf.output(str(tmp_path / "scan.pdf"))
    with pytest.raises(IngestError, match="geen tekst"):
        read_document(tmp_path / "scan.pdf", tmp_path)


# --- HTML -------------------------------------------------------------------------------

HTML_PAGE = """<!DOCTYPE html>
<html lang="nl"><head><meta charset="{charset}">
<title>Programmabegroting 2023 - Sociaal domein</title>
<meta name="author" content="Gemeente Maassluis"></head>
<body>
<header><a href="/">Home</a><nav><ul><li>Programma 1 Bestuur</li><li>Programma 6 Sociaal domein</li></ul></nav></header>
<div id="cookie-consent" class="cookiebar"><p>Deze website gebruikt cookies. Akkoord?</p><button>Accepteren</button></div>
<main>
  <h1>Programma 6 Sociaal domein</h1>
  <p><a href="#nav">Terug naar navigatie - Programma 6 Sociaal domein</a></p>
  <h2>Wat willen we bereiken?</h2>
  <p>{p1}</p>
  <p>{p2_a} <strong>{p2_b}</strong></p>
  <h3>Wat gaan we daarvoor doen?</h3>
  <ul><li>{li1}</li><li>{li2}</li></ul>
  <h3>Kerncijfers</h3>
  <table><thead><tr><th>Indicator</th><th>2022</th><th>2023</th></tr></thead>
  <tbody><tr><td>Cliënten Wmo</td><td>1.234</td><td>1.310</td></tr>
  <tr><td>Uitgaven (x € 1.000)</td><td>5.678</td><td>6.012</td></tr></tbody></table>
  <aside><p>Lees ook: het jaarverslag.</p></aside>
</main>
<footer><p>Deze pagina is gebouwd op 12-10-2022 | Contact | Privacy</p></footer>
<script>window.dataLayer = [];</script>
</body></html>
"""


def _html_fields() -> dict[str, str]:
    p1, p2, li1, li2 = plain_sentences(4, 50)
    cut = p2.index(" ", len(p2) // 2)
    return {"p1": p1, "p2_a": p2[:cut], "p2_b": p2[cut + 1 :], "li1": li1, "li2": li2, "p2": p2}


def test_html_reads_main_content_with_headings_lists_and_tables(tmp_path: Path) -> None:
    f = _html_fields()
    path = tmp_path / "maassluis-programmabegroting-2023.html"
    path.write_text(HTML_PAGE.format(charset="utf-8", **f), encoding="utf-8")
    doc, notes = read_document(path, tmp_path)
    assert notes == []
    for junk in (
        "Programma 1 Bestuur",
        "cookies",
        "Terug naar navigatie",
        "gebouwd op",
        "dataLayer",
        "Lees ook",
        "Home",
    ):
        assert junk not in doc.text
    assert doc.title == "Programmabegroting 2023 - Sociaal domein"
    assert (doc.gemeente, doc.year, doc.doc_type) == ("Maassluis", 2023, "programmabegroting")
    heads = [(doc.text[b.start : b.end], b.level) for b in doc.blocks if b.kind == "heading"]
    assert heads == [
        ("Programma 6 Sociaal domein", 1),
        ("Wat willen we bereiken?", 2),
        ("Wat gaan we daarvoor doen?", 3),
        ("Kerncijfers", 3),
    ]
    assert f["p2"] in doc.text  # inline <strong> stays inside its sentence
    lists = [doc.text[b.start : b.end] for b in doc.blocks if b.kind == "list"]
    assert lists == [f"{f['li1']}\n{f['li2']}"]
    tables = [doc.text[b.start : b.end] for b in doc.blocks if b.kind == "table"]
    assert tables == ["Indicator | 2022 | 2023\nCliënten Wmo | 1.234 | 1.310\nUitgaven (x € 1.000) | 5.678 | 6.012"]
    passages = chunk_document(doc)
    by = {s: next(p for p in passages if s in p.text) for s in (f["p1"], f["li1"], "Cliënten Wmo | 1.234")}
    assert by[f["p1"]].section == ("Programma 6 Sociaal domein", "Wat willen we bereiken?")
    assert by[f["li1"]].section == (
        "Programma 6 Sociaal domein",
        "Wat willen we bereiken?",
        "Wat gaan we daarvoor doen?",
    )
    assert by["Cliënten Wmo | 1.234"].section[-1] == "Kerncijfers"
    for p in passages:
        assert doc.text[p.char_start : p.char_end] == p.text and p.page is None


def test_html_decodes_declared_charset_and_notes_bad_bytes(tmp_path: Path) -> None:
    f = _html_fields()
    page = HTML_PAGE.format(charset="windows-1252", **f)
    (tmp_path / "cp1252.html").write_bytes(page.encode("cp1252", errors="replace"))
    doc, notes = read_document(tmp_path / "cp1252.html", tmp_path)
    assert "Cliënten Wmo | 1.234" in doc.text and "€ 1.000" in doc.text and notes == []
    raw = HTML_PAGE.replace('<meta charset="{charset}">', "").format(charset="", **f).encode("utf-8")
    (tmp_path / "kapot.html").write_bytes(raw.replace("Cliënten".encode(), b"Cli\xebnten"))
    doc, notes = read_document(tmp_path / "kapot.html", tmp_path)
    assert "Cli\ufffdnten Wmo" in doc.text
    assert notes and "vervangen" in notes[0]


# --- DOCX -------------------------------------------------------------------------------


def make_docx(path: Path) -> dict[str, object]:
    import docx

    d = docx.Document()
    d.core_properties.title = "Jaarstukken 2023 Sociaal domein"
    d.core_properties.author = "Gemeente Vlaardingen"
    s = plain_sentences(8, 60)
    d.add_paragraph("Jaarstukken 2023", style="Title")
    d.add_heading("Sociaal domein", level=1)
    d.add_paragraph(s[0] + " " + s[1])
    d.add_heading("Wat hebben we bereikt?", level=2)
    d.add_paragraph(s[2], style="List Bullet")
    d.add_paragraph(s[3], style="List Bullet")
    d.add_paragraph(s[4])
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate(TABLE_ROWS):
        for c, val in enumerate(row):
            table.cell(r, c).text = val
    d.add_page_break()
    bold = d.add_paragraph()
    bold.add_run("Inburgering").bold = True
    d.add_paragraph(s[5] + " " + s[6])
    d.add_heading("Financiën", level=1)
    d.add_paragraph(s[7])
    d.save(str(path))
    return {"s": s}


def test_docx_reads_body_in_order_with_styles_lists_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "vlaardingen-jaarstukken-2023.docx"
    s = make_docx(path)["s"]
    doc, _ = read_document(path, tmp_path)
    assert doc.title == "Jaarstukken 2023 Sociaal domein"
    assert (doc.gemeente, doc.year, doc.doc_type) == ("Vlaardingen", 2023, "jaarstukken")
    kinds = [(b.kind, b.level) for b in doc.blocks]
    assert kinds == [
        ("heading", 1),
        ("heading", 1),
        ("paragraph", 0),
        ("heading", 2),
        ("list", 0),
        ("paragraph", 0),
        ("table", 0),
        ("heading", 3),
        ("paragraph", 0),
        ("heading", 1),
        ("paragraph", 0),
    ]
    lst = next(b for b in doc.blocks if b.kind == "list")
    assert doc.text[lst.start : lst.end] == f"{s[2]}\n{s[3]}"
    tbl = next(b for b in doc.blocks if b.kind == "table")
    assert doc.text[tbl.start : tbl.end].split("\n") == [" | ".join(r) for r in TABLE_ROWS]
    assert doc.text.index(s[4]) < tbl.start < doc.text.index(s[5])  # table stays in body order
    passages = chunk_document(doc)
    p = next(p for p in passages if s[5] in p.text)
    assert p.section == ("Sociaal domein", "Wat hebben we bereikt?", "Inburgering")
    assert p.page == 2  # after the hard page break
    assert next(p for p in passages if s[0] in p.text).page == 1
    assert next(p for p in passages if s[7] in p.text).section == ("Financiën",)
    for p in passages:
        assert doc.text[p.char_start : p.char_end] == p.text


# --- ingest of a mixed folder -----------------------------------------------------------


def test_ingest_skips_broken_files_and_indexes_the_rest(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    make_report_pdf(tmp_path / "velsen-jaarverslag-2022.pdf")
    writer = PdfWriter(clone_from=str(tmp_path / "velsen-jaarverslag-2022.pdf"))
    writer.encrypt("geheim")
    with open(tmp_path / "velsen-jaarverslag-2021.pdf", "wb") as fh:
        writer.write(fh)
    (tmp_path / "kapot.pdf").write_bytes(os.urandom(2048))
    (tmp_path / "kapot.docx").write_bytes(b"PK\x03\x04" + os.urandom(500))
    make_docx(tmp_path / "vlaardingen-jaarstukken-2023.docx")
    (tmp_path / "maassluis-begroting-2023.html").write_text(
        HTML_PAGE.format(charset="utf-8", **_html_fields()), encoding="utf-8"
    )
    report = ingest([tmp_path])
    assert sorted(d.source for d in report.documents) == [
        "maassluis-begroting-2023.html",
        "velsen-jaarverslag-2022.pdf",
        "vlaardingen-jaarstukken-2023.docx",
    ]
    reasons = dict(report.skipped)
    assert reasons["velsen-jaarverslag-2021.pdf"].startswith("versleutelde PDF")
    assert reasons["kapot.pdf"].startswith("geen PDF")
    assert "DOCX" in reasons["kapot.docx"]
