"""Chunk invariants on the real corpus: offsets, sections, sizes, ids, duplicates."""

from __future__ import annotations

import pytest

from sdsearch.chunk import ChunkSettings, chunk, chunk_document
from sdsearch.ingest import ingest
from sdsearch.types import Block, Document

from conftest import CORPUS


@pytest.fixture(scope="module")
def docs() -> list[Document]:
    return ingest([CORPUS]).documents


def test_offsets_slice_back_to_the_source_text(docs: list[Document]) -> None:
    by_id = {d.doc_id: d for d in docs}
    passages = chunk(docs)
    assert len(passages) > 100
    for p in passages:
        assert by_id[p.doc_id].text[p.char_start : p.char_end] == p.text
        # For .txt the extracted text is the file itself: a citation can be checked on disk.
        assert (CORPUS / p.source).read_text(encoding="utf-8")[p.char_start : p.char_end] == p.text


def test_passages_are_bounded_and_non_empty(docs: list[Document]) -> None:
    cfg = ChunkSettings(max_chars=500, min_chars=100)
    for d in docs:
        for p in chunk_document(d, cfg):
            assert p.text.strip() == p.text and p.text
            assert len(p.text) <= cfg.max_chars


def test_passages_never_cross_a_section(docs: list[Document]) -> None:
    for d in docs:
        heads = [b for b in d.blocks if b.kind == "heading"]
        for p in chunk_document(d):
            assert not any(p.char_start < h.start < p.char_end for h in heads)


def test_passages_carry_their_section_path(docs: list[Document]) -> None:
    velsen = next(d for d in docs if d.source.startswith("velsen"))
    p = next(p for p in chunk_document(velsen) if "Vanaf 2024 verschuiven" in p.text)
    assert p.section == ("Wat hebben we gedaan?", "Beschermd wonen")
    assert (p.gemeente, p.year, p.doc_type) == ("Velsen", 2022, "jaarverslag")


def test_boilerplate_never_becomes_a_passage(docs: list[Document]) -> None:
    for p in chunk(docs):
        assert "Terug naar navigatie" not in p.text
        assert "Deze pagina is gebouwd op" not in p.text


def test_ids_are_stable_across_runs(docs: list[Document]) -> None:
    again = ingest([CORPUS]).documents
    assert [p.passage_id for p in chunk(docs)] == [p.passage_id for p in chunk(again)]


def test_identical_passages_are_indexed_once_and_cite_every_place() -> None:
    text = "Wmo\nWie het niet zelfstandig redt, kan een beroep doen op de Wmo.\n"
    a = Document("a.txt", "a.txt", text, "A", "Maassluis", 2022, blocks=(Block("heading", 0, 3, 2), Block("paragraph", 4, len(text) - 1)))
    b = Document("b.txt", "b.txt", text, "B", "Maassluis", 2023, blocks=a.blocks)
    passages = chunk([a, b])
    assert len(passages) == 1
    assert passages[0].source == "a.txt"
    assert [loc.source for loc in passages[0].also_at] == ["b.txt"]


def test_long_paragraph_is_split_at_sentences_into_even_pieces() -> None:
    sentence = "De gemeente investeert in preventie en in sterke wijknetwerken voor alle inwoners."
    text = " ".join([sentence] * 20)
    doc = Document("x.txt", "x.txt", text, "X", blocks=(Block("paragraph", 0, len(text)),))
    parts = chunk_document(doc, ChunkSettings(max_chars=500))
    assert len(parts) == 4
    assert all(p.text.endswith(".") for p in parts)
    sizes = [len(p.text) for p in parts]
    assert max(sizes) - min(sizes) <= len(sentence) + 1
