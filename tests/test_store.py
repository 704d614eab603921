"""The index folder: round trip, atomic swap, checks on load, locking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sdsearch.api import build_index
from sdsearch.config import Settings
from sdsearch.retrieve import Retriever
from sdsearch.store import CURRENT, BuildLock, StoreError, current_generation, open_index

from conftest import FakeEncoder


def test_round_trip_keeps_passages_vectors_and_metadata(small_index: Path, fake_encoder: FakeEncoder) -> None:
    idx = open_index(small_index)
    m = idx.manifest
    assert m["model"] == {
        "id": "fake-hash-64",
        "dim": 64,
        "query_prefix": "query: ",
        "passage_prefix": "passage: ",
        "runtime": "FakeEncoder",
    }
    assert m["counts"]["documents"] == 3
    assert len(idx) == m["counts"]["passages"] == idx.vectors.shape[0] == idx.faiss_index.ntotal
    p = next(p for p in idx.passages if "387 flexwoningen" in p.text)
    assert p.gemeente == "Vlaardingen" and p.year == 2023
    # No pickle: every array loads with allow_pickle=False (np.load raises otherwise).
    assert all(not name.endswith((".pkl", ".pickle")) for name in m["files"])


def test_identical_paragraphs_are_stored_once(small_index: Path) -> None:
    idx = open_index(small_index)
    wmo = [p for p in idx.passages if "Wmo-maatwerkvoorziening" in p.text]
    assert len(wmo) == 1
    assert {wmo[0].source, *(loc.source for loc in wmo[0].also_at)} == {
        "maassluis-programmabegroting-2023.txt",
        "vlaardingen-jaarstukken-2023.txt",
    }


def test_rebuild_reuses_vectors_of_unchanged_text(small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder) -> None:
    (small_corpus / "velsen-jaarverslag-2022.txt").write_text("Inburgering\nOp 1 januari 2022 trad de Wet inburgering 2021 in werking.\n", encoding="utf-8")
    r = build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    assert r.updated == ["velsen-jaarverslag-2022.txt"]
    assert sorted(r.unchanged) == ["maassluis-programmabegroting-2023.txt", "vlaardingen-jaarstukken-2023.txt"]
    assert r.embedded == 1 and r.reused == r.passages - 1


def test_failed_build_leaves_previous_index_usable(small_corpus: Path, small_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = current_generation(small_index)

    class Exploding(FakeEncoder):
        def encode_passages(self, texts: list[str], batch_size: int = 32):
            raise RuntimeError("model crashed mid-build")

    (small_corpus / "nieuw.txt").write_text("Pleegzorg\nPleegzorg is een noodzakelijke schakel.\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        build_index([small_corpus], small_index, Settings(), encoder=Exploding())
    assert current_generation(small_index) == before
    idx = open_index(small_index)
    hits = Retriever(idx, FakeEncoder()).search(["flexwoningen Mrija"], k=1)[0]
    assert "387" in hits[0].text
    assert not [p for p in small_index.iterdir() if p.name.startswith(".tmp-")]


def test_truncated_file_is_detected_with_a_hint(small_index: Path) -> None:
    gen = current_generation(small_index)
    assert gen is not None
    data = (gen / "passages.jsonl").read_bytes()
    (gen / "passages.jsonl").write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="truncated.*sdsearch index"):
        open_index(small_index)


def test_tampered_file_is_detected(small_index: Path) -> None:
    gen = current_generation(small_index)
    assert gen is not None
    raw = bytearray((gen / "passages.jsonl").read_bytes())
    raw[10] = ord("X") if raw[10] != ord("X") else ord("Y")
    (gen / "passages.jsonl").write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="checksum"):
        open_index(small_index)


def test_manifest_cannot_point_outside_the_index(small_index: Path) -> None:
    gen = current_generation(small_index)
    assert gen is not None
    m = json.loads((gen / "manifest.json").read_text())
    m["files"]["../../etc/passwd"] = {"size": 1, "sha256": "0"}
    (gen / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(StoreError, match="outside the index"):
        open_index(small_index)


def test_pointer_cannot_escape_the_index(small_index: Path) -> None:
    (small_index / CURRENT).write_text("../../elsewhere\n")
    with pytest.raises(StoreError, match="damaged"):
        open_index(small_index)


def test_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no index at .*sdsearch index"):
        open_index(tmp_path / "nergens")


def test_other_model_is_refused_with_one_line(small_index: Path) -> None:
    class Other(FakeEncoder):
        model_id = "some/other-model"

    with pytest.raises(StoreError, match="built with model 'fake-hash-64'.*not 'some/other-model'"):
        Retriever(open_index(small_index), Other())


def test_second_build_is_refused_while_one_holds_the_lock(small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder) -> None:
    with BuildLock(small_index):
        with pytest.raises(StoreError, match="another build is running"):
            build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)


def test_metadata_corrections_need_no_re_embedding(small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder) -> None:
    (small_corpus / "corpus.toml").write_text(
        '[[document]]\npath = "velsen-jaarverslag-2022.txt"\ntitle = "Jaarverslag 2022"\ngemeente = "IJmuiden"\nyear = 2022\ndoc_type = "jaarverslag"\n',
        encoding="utf-8",
    )
    r = build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    assert r.embedded == 0
    hit = Retriever(open_index(small_index), fake_encoder).search(["Skaeve Huse"], k=1)[0][0]
    assert hit.gemeente == "IJmuiden" and hit.citation.startswith("IJmuiden · Jaarverslag 2022")


def test_unchanged_folder_re_embeds_nothing(small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder) -> None:
    r = build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    assert r.embedded == 0 and r.reused == r.passages
    assert len(r.unchanged) == 3 and not (r.added or r.updated or r.removed)
    (small_corpus / "maassluis-programmabegroting-2023.txt").unlink()
    r = build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    assert r.removed == ["maassluis-programmabegroting-2023.txt"] and r.embedded == 0
