"""Property-based tests (hypothesis): the chunker and the readers hold their contracts on any input.

Chunker, on generated Dutch-like reports with headings, paragraphs, lists and tables:
offsets slice back to the source, passages cover the text without overlap beyond the
configured overlap, none is empty, none crosses a section, ids are stable. Readers, on
random and mutated bytes for every format: ``read_document`` returns a ``Document`` or
raises ``IngestError``, never anything else, and a .txt document's text is the file's text.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdsearch.analysis import sentence_spans
from sdsearch.chunk import ChunkSettings, chunk, chunk_document, passage_id
from sdsearch.ingest import IngestError, read_document
from sdsearch.ingest.plain import parse_markdown, parse_plain
from sdsearch.types import Document

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True, scope="module")
def _readers_really_run():
    """The extraction cache is off here, so every test runs the readers (ingest reads no environment)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sdsearch.ingest.cache.CACHED_SUFFIXES", frozenset())
        yield

# --- Dutch-like reports -------------------------------------------------------------------

WORDS = (
    "de het een en van in voor met op aan gemeente inwoners jeugdhulp Wmo bijstand beschermd wonen "
    "maatwerkvoorziening regiogemeenten budget kosten pleegzorg armoede schulden energiecoaches "
    "re-integratie Participatiewet zorg ouderen wijkteam Velsen Maassluis Vlaardingen beëindigd "
    "café één ruim gemiddeld maandelijks ontvingen hebben we zijn"
).split()
NUMBERS = st.sampled_from(["1.350", "€ 700.000", "2022", "12%", "3,5", "(1.234)", "387", "2.000.000"])
word = st.one_of(st.sampled_from(WORDS), NUMBERS, st.text(alphabet="abcdefghijklmnopqrstuvwxyzëéï", min_size=1, max_size=14))


@st.composite
def sentence(draw: st.DrawFn) -> str:
    words = draw(st.lists(word, min_size=1, max_size=40))
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words) + draw(st.sampled_from([".", ".", "?", "!", ":", ";", ""]))


@st.composite
def paragraph(draw: st.DrawFn) -> str:
    return " ".join(draw(st.lists(sentence(), min_size=1, max_size=8)))


@st.composite
def heading(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6))
    return words[0].capitalize() + (" " + " ".join(words[1:]) if words[1:] else "")


@st.composite
def list_block(draw: st.DrawFn) -> str:
    marker = draw(st.sampled_from(["- ", "• ", "1. ", "a) "]))
    return "\n".join(marker + draw(sentence()) for _ in range(draw(st.integers(1, 5))))


@st.composite
def table_block(draw: st.DrawFn) -> str:
    rows = draw(st.integers(2, 6))
    return "\n".join(
        f"{draw(st.sampled_from(WORDS)).capitalize()} {draw(NUMBERS)} {draw(NUMBERS)} {draw(NUMBERS)}" for _ in range(rows)
    )


@st.composite
def report(draw: st.DrawFn) -> str:
    """A plain-text export: headings, paragraphs, lists, tables, boilerplate, odd spacing."""
    parts = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["heading", "paragraph", "paragraph", "list", "table", "boilerplate", "noise"]))
        if kind == "heading":
            parts.append(draw(heading()))
        elif kind == "paragraph":
            parts.append(draw(paragraph()))
        elif kind == "list":
            parts.append(draw(list_block()))
        elif kind == "table":
            parts.append(draw(table_block()))
        elif kind == "boilerplate":
            parts.append(draw(st.sampled_from(["Terug naar navigatie - Sociaal domein", "Deze pagina is gebouwd op 1-1-2024", "Naar boven"])))
        else:
            parts.append(draw(st.text(min_size=1, max_size=60)))
        parts.append(draw(st.sampled_from(["\n", "\n\n", "\n  \n", "\r\n", "\n\t\n"])))
    return "".join(parts)


@st.composite
def markdown(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["heading", "paragraph", "list", "table", "fence"]))
        if kind == "heading":
            parts.append("#" * draw(st.integers(1, 6)) + " " + draw(heading()))
        elif kind == "paragraph":
            parts.append(draw(paragraph()))
        elif kind == "list":
            parts.append(draw(list_block()))
        elif kind == "table":
            parts.append("| Post | 2022 | 2023 |\n|---|---|---|\n" + "\n".join(f"| {draw(heading())} | {draw(NUMBERS)} | {draw(NUMBERS)} |" for _ in range(3)))
        else:
            parts.append("```\n" + draw(paragraph()) + "\n```")
        parts.append("\n\n")
    return "".join(parts)


chunk_settings = st.builds(
    ChunkSettings,
    max_chars=st.integers(100, 900),
    min_chars=st.integers(0, 200),
    overlap_sentences=st.integers(0, 2),
)


def _doc(text: str, markdown_syntax: bool = False, doc_id: str = "velsen-jaarverslag-2022.txt") -> Document:
    blocks = parse_markdown(text) if markdown_syntax else parse_plain(text)
    return Document(doc_id=doc_id, source=doc_id, text=text, title="Jaarverslag 2022", blocks=tuple(blocks))


def _check_passages(doc: Document, cfg: ChunkSettings) -> None:
    passages = chunk_document(doc, cfg)
    # Blocks are in order, inside the text, and never overlap.
    for a, b in zip(doc.blocks, doc.blocks[1:], strict=False):
        assert 0 <= a.start <= a.end <= b.start <= len(doc.text)
    for p in passages:
        assert doc.text[p.char_start : p.char_end] == p.text  # offsets slice back
        assert p.text.strip() and p.text == p.text.strip()  # never empty, trimmed
        assert p.passage_id == passage_id(doc.doc_id, p.text)  # id from document and text only
    # Every word of every content block is in some passage (headings become section paths).
    covered = bytearray(len(doc.text))
    for p in passages:
        covered[p.char_start : p.char_end] = b"\x01" * (p.char_end - p.char_start)
    for b in doc.blocks:
        if b.kind != "heading":
            missing = [i for i in range(b.start, b.end) if not covered[i] and not doc.text[i].isspace()]
            assert not missing, (b, doc.text[b.start : b.end])
    # Passages follow the text; they overlap only by the configured number of sentences.
    ordered = sorted(passages, key=lambda p: (p.char_start, p.char_end))
    for prev, nxt in zip(ordered, ordered[1:], strict=False):
        assert nxt.char_start > prev.char_start and nxt.char_end > prev.char_end
        if nxt.char_start < prev.char_end:
            assert cfg.overlap_sentences > 0, (prev, nxt)
            assert nxt.section == prev.section
            assert len(sentence_spans(doc.text, nxt.char_start, prev.char_end)) <= cfg.overlap_sentences
    # A passage never crosses a heading.
    heads = [b for b in doc.blocks if b.kind == "heading"]
    for p in passages:
        assert not any(p.char_start < h.start < p.char_end for h in heads)


@SETTINGS
@given(text=report(), cfg=chunk_settings)
def test_chunks_of_plain_reports_keep_their_contracts(text: str, cfg: ChunkSettings) -> None:
    _check_passages(_doc(text), cfg)


@SETTINGS
@given(text=markdown(), cfg=chunk_settings)
def test_chunks_of_markdown_keep_their_contracts(text: str, cfg: ChunkSettings) -> None:
    _check_passages(_doc(text, markdown_syntax=True, doc_id="maassluis/begroting-2023.md"), cfg)


def test_overlap_never_yields_a_passage_inside_the_previous_one() -> None:
    # Found by the property test above (hypothesis, shrunk).
    text = "- De.\n- De de gemeente gemeente.\n- De de de de de de de de de de de het € 700.000.\n- De de het 1.350 1.350.\nDe\nDe\n"
    passages = sorted(chunk_document(_doc(text), ChunkSettings(max_chars=100, min_chars=0, overlap_sentences=1)), key=lambda p: p.char_start)
    for prev, nxt in zip(passages, passages[1:], strict=False):
        assert nxt.char_end > prev.char_end, (prev.text, nxt.text)


@settings(max_examples=30, deadline=None)
@given(texts=st.lists(report(), min_size=1, max_size=4))
def test_ids_are_stable_across_runs_and_document_order(texts: list[str]) -> None:
    docs = [_doc(t, doc_id=f"gemeente-{i}/jaarverslag-2022.txt") for i, t in enumerate(texts)]
    first = chunk(docs)
    again = chunk([_doc(t, doc_id=f"gemeente-{i}/jaarverslag-2022.txt") for i, t in enumerate(texts)])
    assert [(p.passage_id, p.char_start, p.char_end) for p in first] == [(p.passage_id, p.char_start, p.char_end) for p in again]
    # Each document's passages do not depend on which other documents are chunked with it.
    for d in docs:
        assert [p.passage_id for p in chunk_document(d)] == [p.passage_id for p in chunk_document(_doc(d.text, doc_id=d.doc_id))]
    # Identical text is indexed once; every place it occurs still slices back.
    by_id = {d.doc_id: d for d in docs}
    assert len({p.passage_id for p in first}) == len(first)
    for p in first:
        for loc in (p.location, *p.also_at):
            assert by_id[loc.source].text[loc.char_start : loc.char_end].split() == p.text.split()


# --- ingest: text files are read back exactly ----------------------------------------------


@SETTINGS
@given(text=report(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
def test_text_files_read_back_as_their_own_text(tmp_path: Path, text: str, encoding: str) -> None:
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        raw = text.encode("utf-8")
        encoding = "utf-8"
    path = tmp_path / "velsen-jaarverslag-2022.txt"
    path.write_bytes(raw)
    try:
        doc, _notes = read_document(path, tmp_path)
    except IngestError as e:
        assert str(e) and "\n" not in str(e)
        return
    if encoding in ("utf-8", "utf-8-sig", "utf-16"):
        assert doc.text == text
    else:
        assert doc.text in (text, raw.decode("utf-8", "replace"))  # cp1252 bytes that are also valid UTF-8 read as UTF-8
    for b in doc.blocks:
        assert 0 <= b.start < b.end <= len(doc.text) and doc.text[b.start : b.end].strip()


# --- fuzz: every reader on random and mutated bytes ----------------------------------------

SUFFIXES = [".txt", ".md", ".html", ".pdf", ".docx"]


def _valid_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(0, 10, "Beschermd wonen")
    pdf.ln(12)
    pdf.set_font("helvetica", size=10)
    pdf.multi_cell(0, 6, "Vanaf 2024 verschuiven de taken voor beschermd wonen naar de regiogemeenten. " * 3)
    return bytes(pdf.output())


def _valid_docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("Sociaal domein", level=1)
    d.add_paragraph("De Wmo helpt inwoners die het niet zelfstandig redden.")
    d.add_paragraph("Eerste punt", style="List Bullet")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


VALID = {
    ".txt": b"Beschermd wonen\nDe taken gaan naar de regio.\n",
    ".md": b"# Beschermd wonen\n\nDe taken gaan naar de regio.\n",
    ".html": b"<html><head><meta charset='utf-8'><title>Jaarverslag</title></head><body><main><h1>Wmo</h1>"
    b"<p>De Wmo helpt inwoners.</p><ul><li>een</li></ul><table><tr><td>a</td><td>1</td></tr></table></main></body></html>",
}


@pytest.fixture(scope="module")
def valid_files() -> dict[str, bytes]:
    return {**VALID, ".pdf": _valid_pdf(), ".docx": _valid_docx()}


def _read(tmp_path: Path, suffix: str, data: bytes) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        doc, notes = read_document(path, tmp_path)
    except IngestError as e:
        msg = str(e)
        assert msg and "\n" not in msg and len(msg) < 400
        return
    assert isinstance(doc, Document) and all(isinstance(n, str) for n in notes)
    for b in doc.blocks:
        assert 0 <= b.start <= b.end <= len(doc.text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=4096))
def test_readers_on_random_bytes_give_a_document_or_an_ingest_error(tmp_path: Path, suffix: str, data: bytes) -> None:
    _read(tmp_path, suffix, data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    suffix=st.sampled_from(SUFFIXES),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)), max_size=8),
    data=st.binary(max_size=64),
)
def test_readers_on_broken_real_files_give_a_document_or_an_ingest_error(
    tmp_path: Path, valid_files: dict[str, bytes], suffix: str, cut: float, flips: list[tuple[float, int]], data: bytes
) -> None:
    raw = bytearray(valid_files[suffix])
    for where, value in flips:  # flip bytes at random places
        raw[int(where * len(raw))] = value
    raw = raw[: max(1, int(cut * len(raw)))] + data if cut < 0.9 else raw + data  # truncate and/or append junk
    _read(tmp_path, suffix, bytes(raw))
