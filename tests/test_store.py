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
    with pytest.raises(StoreError, match="ingekort.*sdsearch index"):
        open_index(small_index)


def test_tampered_file_is_detected(small_index: Path) -> None:
    gen = current_generation(small_index)
    assert gen is not None
    raw = bytearray((gen / "passages.jsonl").read_bytes())
    raw[10] = ord("X") if raw[10] != ord("X") else ord("Y")
    (gen / "passages.jsonl").write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="controlesom"):
        open_index(small_index)


def test_manifest_cannot_point_outside_the_index(small_index: Path) -> None:
    gen = current_generation(small_index)
    assert gen is not None
    m = json.loads((gen / "manifest.json").read_text())
    m["files"]["../../etc/passwd"] = {"size": 1, "sha256": "0"}
    (gen / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(StoreError, match="buiten de index"):
        open_index(small_index)


def test_pointer_cannot_escape_the_index(small_index: Path) -> None:
    (small_index / CURRENT).write_text("../../elsewhere\n")
    with pytest.raises(StoreError, match="beschadigd"):
        open_index(small_index)


def test_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="geen index in .*sdsearch index"):
        open_index(tmp_path / "nergens")


def test_other_model_is_refused_with_one_line(small_index: Path) -> None:
    class Other(FakeEncoder):
        model_id = "some/other-model"

    with pytest.raises(StoreError, match="gebouwd met model 'fake-hash-64'.*niet 'some/other-model'"):
        Retriever(open_index(small_index), Other())


def test_second_build_is_refused_while_one_holds_the_lock(small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder) -> None:
    with BuildLock(small_index):
        with pytest.raises(StoreError, match="er loopt al een indexering"):
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



def test_vectors_of_another_revision_are_embedded_again(small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder) -> None:
    """Same model, vectors made another way (0.2.0's shared runs vs one run per text): no re-use."""
    class Revised(FakeEncoder):
        vector_revision = "per-text"

    r = build_index([small_corpus], small_index, Settings(), encoder=Revised())
    assert r.reused == 0 and r.embedded == r.passages
    manifest = json.loads((current_generation(small_index) / "manifest.json").read_text())
    assert manifest["model"]["vectors"] == "per-text"
    r = build_index([small_corpus], small_index, Settings(), encoder=Revised())
    assert r.embedded == 0 and r.reused == r.passages
    r = build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    assert r.reused == 0 and r.embedded == r.passages

# -- passages on demand, maps, manifest parameters, refused formats ---------------------------


def _rewrite_manifest(index_dir: Path, change) -> None:  # noqa: ANN001
    """Edit the live manifest and re-point CURRENT at it (as another sdsearch version would write it)."""
    import hashlib

    gen = current_generation(index_dir)
    m = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    change(m)
    raw = json.dumps(m).encode("utf-8")
    (gen / "manifest.json").write_bytes(raw)
    (index_dir / CURRENT).write_text(f"{gen.name}\nmanifest-sha256 {hashlib.sha256(raw).hexdigest()}\n", encoding="utf-8")


def test_passages_read_on_demand_equal_a_full_read(small_index: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sdsearch.types import Passage

    idx = open_index(small_index)
    lines = (current_generation(small_index) / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    full = [Passage.from_dict(json.loads(line)) for line in lines]
    assert len(idx.passages) == len(full) > 5
    order = list(range(len(full)))[::-1] + [0, len(full) - 1]
    assert [idx.passages[i] for i in order] == [full[i] for i in order]
    assert list(idx.passages) == full
    idx.passages._cache.clear()  # several threads read the same map at once
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda i: idx.passages[i], order * 20)) == [full[i] for i in order * 20]
    with pytest.raises(IndexError):
        idx.passages[len(full)]
    idx.close()


def test_open_maps_offsets_and_metadata(small_index: Path) -> None:
    import numpy as np

    idx = open_index(small_index)
    assert isinstance(idx.passages._offsets, np.memmap)
    assert isinstance(idx.passage_doc, np.memmap)
    meta = np.load(current_generation(small_index) / "meta.npz", allow_pickle=False)
    assert np.array_equal(idx.passage_doc, meta["passage_doc"])
    assert np.array_equal(idx.extra_doc_pairs, meta["extra_doc_pairs"]) and idx.extra_doc_pairs.shape[1:] == (2,)
    idx.close()


@pytest.mark.slow  # IVF-PQ training: tens of seconds on a busy 2-core machine
@pytest.mark.parametrize("codec", ["PQ", "SQ8"])
def test_ivf_index_round_trip_records_its_parameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str) -> None:
    import numpy as np

    from sdsearch import vectors as V
    from sdsearch.sparse import SparseIndex
    from sdsearch.store import IndexData, write_index
    from sdsearch.types import Passage

    for name, value in (("EXACT_LIMIT", 500), ("HNSW_LIMIT", 1_000), ("IVF_LISTS_MIN", 32), ("IVF_LISTS_MAX", 32), ("PQ_M", 16), ("IVF_CODEC", codec)):
        monkeypatch.setattr(V, name, value)
    n, dim = 2_500, 64
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index, factory, info = V.build_vector_index(x)
    words = ["wonen", "zorg", "jeugd", "armoede", "energie", "wmo", "budget", "velsen"]
    passages = [Passage(f"p{i}", "d", "d.txt", f"tekst {words[i % 8]} {i}", 0, 9, "D") for i in range(n)]
    data = IndexData(
        passages=passages,
        vectors=x,
        faiss_index=index,
        faiss_factory=factory,
        sparse=SparseIndex.build([p.text.split() for p in passages]),
        passage_doc=np.zeros(n, dtype=np.int32),
        extra_doc_pairs=np.zeros((0, 2), dtype=np.int32),
        manifest={"model": {"id": "fake", "dim": dim}, "faiss": info, "documents": [{"source": "d.txt"}]},
    )
    root = tmp_path / "index"
    with BuildLock(root):
        write_index(root, data)
    idx = open_index(root)
    m = idx.manifest["faiss"]
    assert m["factory"] == factory and m["type"] == "ivf"
    for key in ("nlist", "nprobe", "shortlist", "codec", "recall_at_10", *(["pq_m"] if codec == "PQ" else [])):
        assert m[key] == info[key]
    assert idx.passages[1234].text == passages[1234].text
    _, ids = V.search(idx.faiss_index, m, idx.vectors, x[:5], 10)
    assert list(ids[:, 0]) == [0, 1, 2, 3, 4]
    idx.close()


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda m: m.update(format_version=99), "formaat 99"),
        (lambda m: m.update(format_version=None), "formaat None"),
        (lambda m: m["faiss"].update(type="scann", exact=False), "onbekend soort vectorindex"),
    ],
)
def test_other_format_is_refused_with_one_line(small_index: Path, change, words: str) -> None:  # noqa: ANN001
    _rewrite_manifest(small_index, change)
    with pytest.raises(StoreError) as e:
        open_index(small_index)
    msg = str(e.value)
    assert words in msg and "\n" not in msg and "sdsearch index" in msg


def test_build_writes_vectors_into_the_new_generation_with_the_same_bytes(
    small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build fills a memory-mapped ``vectors.npy`` inside the new generation's temporary
    folder (no in-memory copy of every vector); the file is what ``np.save`` would write."""
    import numpy as np

    from sdsearch import build

    seen = []
    real_plan = build.plan_written

    def plan(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        p = real_plan(*a, **kw)
        seen.append(p.vectors)
        return p

    monkeypatch.setattr(build, "plan_written", plan)
    (small_corpus / "nieuw.txt").write_text("Pleegzorg\nPleegzorg is een noodzakelijke schakel.\n", encoding="utf-8")
    build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    gen = current_generation(small_index)
    assert isinstance(seen[0], np.memmap) and Path(seen[0].filename).parent.name == f".tmp-{gen.name}"
    vecs = np.load(gen / "vectors.npy", allow_pickle=False)
    saved = Path(small_index / "copy.npy")
    np.save(saved, vecs, allow_pickle=False)
    assert saved.read_bytes() == (gen / "vectors.npy").read_bytes()
    saved.unlink()
    assert open_index(small_index, verify=True)  # every checksum holds
    assert not [p for p in small_index.iterdir() if p.name.startswith(".tmp-")]


def test_a_killed_builds_folder_is_removed_by_the_next_build(small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder) -> None:
    """A build killed after its vectors went into ``.tmp-gen-*`` leaves that folder; the next
    build removes it before it starts (it could be as large as the index's vectors)."""
    leftover = small_index / ".tmp-gen-20990101T000000-1-00000"
    leftover.mkdir()
    (leftover / "vectors.npy").write_bytes(b"\0" * 4096)
    hidden = small_index / ".del-gen-20990101T000000-1-00000"
    hidden.mkdir()
    seen: list[bool] = []

    class Watching(FakeEncoder):
        def encode_passages(self, texts, batch_size=32):  # type: ignore[no-untyped-def]
            seen.append(leftover.exists() or hidden.exists())
            return super().encode_passages(texts, batch_size)

    (small_corpus / "velsen-jaarverslag-2022.txt").write_text("Een nieuwe zin over beschermd wonen.\n", encoding="utf-8")
    build_index([small_corpus], small_index, Settings(), encoder=Watching())
    assert seen and not any(seen)
    assert not leftover.exists() and not hidden.exists()


def test_the_vector_file_has_its_disk_space_before_it_is_filled(tmp_path: Path) -> None:
    """Space reserved up front: a full disk is an OSError when the file is made, not a SIGBUS
    while the map is written."""
    import os

    from sdsearch.store import vector_file

    v = vector_file(tmp_path, 5000, 384)
    st = os.stat(tmp_path / "vectors.npy")
    assert st.st_size >= 5000 * 384 * 4
    if hasattr(os, "posix_fallocate"):
        assert st.st_blocks * 512 >= st.st_size
    del v
