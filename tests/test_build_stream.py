"""The streamed build (issue #15): passages go to the new generation's ``passages.jsonl`` as
they are chunked, the FAISS index is written and freed before BM25, BM25 reads the passages
back from the file. The generation must be the one the list-based path writes, byte for byte,
and a build that fails or is killed mid-stream must leave the previous index usable. Documents
are read one at a time too (``build.read_stream``): when the next file is read, no earlier
``Document`` is alive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sdsearch import build
from sdsearch.api import build_index
from sdsearch.chunk import chunk
from sdsearch.config import Settings
from sdsearch.store import (
    BuildLock,
    PassageTable,
    PassageWriter,
    current_generation,
    open_index,
    passage_line,
    write_index,
)
from sdsearch.types import Location, Passage

from conftest import FakeEncoder

TESTS = Path(__file__).resolve().parent


def _files(gen: Path) -> dict[str, bytes]:
    return {p.relative_to(gen).as_posix(): p.read_bytes() for p in sorted(gen.rglob("*")) if p.is_file()}


def _list_build(roots: list[Path], index: Path, enc: FakeEncoder, s: Settings) -> Path:
    """The build as it was before streaming: every ``Passage`` in one list, ``write_index`` writes all."""
    report = build.read(roots, s)
    passages = build.chunk_documents(report.documents, s)
    with BuildLock(index):
        plan = build.plan_embedding(passages, enc, index, s)
        build.embed(plan, enc)
        data = build.assemble(roots, report, passages, plan, enc, s, fingerprint=build.corpus_fingerprint(roots))
        return write_index(index, data)


def _same_generation(streamed: Path, listed: Path) -> dict:
    """The live generation of ``streamed`` holds the files of ``listed``, byte for byte (the
    manifest but its ``created``); returns that manifest."""
    a, b = _files(current_generation(streamed)), _files(listed)  # type: ignore[arg-type]
    assert a.keys() == b.keys()
    for name in a:
        if name != "manifest.json":
            assert a[name] == b[name], name
    ma, mb = json.loads(a["manifest.json"]), json.loads(b["manifest.json"])
    ma.pop("created"), mb.pop("created")
    assert ma == mb
    return ma


def test_streamed_build_writes_the_list_builds_generation(small_corpus: Path, fake_encoder: FakeEncoder, tmp_path: Path) -> None:
    s = Settings()
    streamed = tmp_path / "streamed"
    report = build_index([small_corpus], streamed, s, encoder=fake_encoder)
    listed = _list_build([small_corpus], tmp_path / "listed", fake_encoder, s)
    _same_generation(streamed, listed)
    # the corpus repeats a paragraph: one passage cites the other place (also_at, extra pairs)
    idx = open_index(streamed, verify=True)
    assert any(p.also_at for p in idx.passages) and len(idx.extra_doc_pairs) == 1
    assert report.passages == len(idx) and report.embedded == len(idx)
    idx.close()


def test_streamed_rebuild_reuses_every_vector(small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder) -> None:
    before = _files(current_generation(small_index))  # type: ignore[arg-type]
    (small_corpus / "nieuw.txt").write_text("Pleegzorg\nPleegzorg is een noodzakelijke schakel.\n", encoding="utf-8")
    report = build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    assert report.embedded == 1 and report.reused == report.passages - 1
    (small_corpus / "nieuw.txt").unlink()
    report = build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    assert report.embedded == 0
    after = _files(current_generation(small_index))  # type: ignore[arg-type]
    assert {k: v for k, v in after.items() if k != "manifest.json"} == {k: v for k, v in before.items() if k != "manifest.json"}


def test_passage_writer_puts_later_places_into_their_lines(tmp_path: Path) -> None:
    ps = [Passage(f"p{i}", "d", f"d{i}.txt", f"tekst {i} é", 0, 8, "D", section=("A", "B")) for i in range(4)]
    ps[2] = Passage("p2", "d", "d2.txt", "tekst 2", 0, 7, "D", also_at=(Location("x.txt", 1, 8),))
    w = PassageWriter(tmp_path)
    for p in ps:
        w.add(p)
    w.add_location(0, Location("y.txt", 3, 11, ("S",), 2, 2))
    w.add_location(2, Location("z.txt", 0, 7))
    w.add_location(0, Location("w.txt", 5, 13))
    assert w.close() == 4
    want = list(ps)
    want[0] = Passage(**{**ps[0].__dict__, "also_at": (Location("y.txt", 3, 11, ("S",), 2, 2), Location("w.txt", 5, 13))})
    want[2] = Passage(**{**ps[2].__dict__, "also_at": (Location("x.txt", 1, 8), Location("z.txt", 0, 7))})
    assert (tmp_path / "passages.jsonl").read_bytes() == b"".join(passage_line(p) for p in want)
    table = PassageTable(tmp_path)
    assert list(table) == want and [table.read(i) for i in range(4)] == want and table[3] == want[3]
    offsets = np.load(tmp_path / "passages.offsets.npy")
    assert offsets.dtype == np.int64 and offsets[-1] == (tmp_path / "passages.jsonl").stat().st_size
    assert not (tmp_path / "passages.jsonl.part").exists()
    table.close()


def test_write_passages_collapses_as_chunk_does(small_corpus: Path, fake_encoder: FakeEncoder, tmp_path: Path) -> None:
    s = Settings()
    docs = build.read([small_corpus], s).documents
    docs = [*docs, *docs[:1]]  # a whole document twice: every passage of it repeats
    want = chunk(docs, build.chunk_settings(s))
    written = build.write_passages(build.chunk_stream(docs, s), tmp_path, docs, fake_encoder, s)
    assert list(written) == want and len(written) == written.distinct == len(want)
    doc_no = {d.source: i for i, d in enumerate(docs)}
    assert written.doc.tolist() == [doc_no[p.source] for p in want]
    assert written.extra.tolist() == [[i, doc_no[loc.source]] for i, p in enumerate(want) for loc in p.also_at]
    keys = [build.embed_key(fake_encoder.model_id, fake_encoder.passage_prefix, build.embed_text(p, s.embed_headings)) for p in want]
    assert written.keys.tolist() == keys
    texts = build.EmbedTexts(written, s.embed_headings)
    assert [texts[i] for i in range(len(texts))] == [build.embed_text(p, s.embed_headings) for p in want]
    written.table.close()
    # without collapsing (the scale bench's synthetic passages) every passage keeps its row
    kept = build.write_passages(build.chunk_stream(docs, s), tmp_path, docs, fake_encoder, s, collapse=False)
    assert len(kept) == sum(1 for _ in build.chunk_stream(docs, s)) > kept.distinct == len(want)
    kept.table.close()


def test_reuse_rows_is_a_dict_lookup_of_the_last_row() -> None:
    rng = np.random.default_rng(3)
    old = [b"%032x" % int(v) for v in rng.integers(0, 50, 200)]  # repeated keys: the last row wins, as in a dict
    new = [b"%032x" % int(v) for v in rng.integers(0, 80, 300)]
    table = {k: i for i, k in enumerate(old)}
    got = build.reuse_rows(new, np.array(old, dtype="S32"))
    assert got.tolist() == [table.get(k, -1) for k in new]
    assert build.reuse_rows([], np.array(old, dtype="S32")).tolist() == []
    assert build.reuse_rows(new, np.zeros(0, dtype="S32")).tolist() == [-1] * len(new)


def test_a_build_failing_after_the_passages_went_out_keeps_the_index(
    small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = current_generation(small_index)
    before = _files(live)  # type: ignore[arg-type]
    seen: list[set[str]] = []

    def broken(passages, s, analyzer=None):  # noqa: ANN001, ANN202
        tmp = passages.table.path.parent
        seen.append({p.name for p in tmp.iterdir()})
        raise RuntimeError("BM25 stuk")

    monkeypatch.setattr(build, "sparse_index", broken)
    (small_corpus / "nieuw.txt").write_text("Pleegzorg\nPleegzorg is een noodzakelijke schakel.\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="BM25 stuk"):
        build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    # it failed with passages, vectors and the FAISS index already in the new folder
    assert {"passages.jsonl", "passages.offsets.npy", "vectors.npy", "vectors.faiss"} <= seen[0]
    assert current_generation(small_index) == live and _files(live) == before  # type: ignore[arg-type]
    assert not [p for p in small_index.iterdir() if p.name.startswith(".tmp-")]
    open_index(small_index, verify=True).close()
    monkeypatch.undo()
    report = build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    assert report.added == ["nieuw.txt"]


KILLER = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[3])
from conftest import FakeEncoder
from sdsearch import store
from sdsearch.api import build_index
from sdsearch.config import Settings

real_add = store.PassageWriter.add
def add(self, p):
    row = real_add(self, p)
    if row == 3:  # killed with four passages on disk, mid-stream
        self._file.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return row
store.PassageWriter.add = add
build_index([sys.argv[1]], sys.argv[2], Settings(), encoder=FakeEncoder())
"""


def test_a_build_killed_mid_stream_keeps_the_index_and_the_next_build_cleans_up(
    small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder
) -> None:
    live = current_generation(small_index)
    before = _files(live)  # type: ignore[arg-type]
    (small_corpus / "nieuw.txt").write_text("Pleegzorg\nPleegzorg is een noodzakelijke schakel.\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent / "src")}
    r = subprocess.run([sys.executable, "-c", KILLER, str(small_corpus), str(small_index), str(TESTS)], env=env, timeout=120)
    assert r.returncode == -signal.SIGKILL
    left = [p for p in small_index.iterdir() if p.name.startswith(".tmp-gen-")]
    assert len(left) == 1 and len((left[0] / "passages.jsonl").read_bytes().splitlines()) == 4
    assert current_generation(small_index) == live and _files(live) == before  # type: ignore[arg-type]
    open_index(small_index, verify=True).close()
    report = build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    assert report.added == ["nieuw.txt"]
    assert not [p for p in small_index.iterdir() if p.name.startswith(".tmp-")]
    open_index(small_index, verify=True).close()


def _rss_file_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise and /proc: Linux")
def test_release_takes_written_rows_out_of_rss_and_keeps_them(tmp_path: Path) -> None:
    from sdsearch.store import vector_file
    from sdsearch.vectors import release

    x = vector_file(tmp_path, 100_000, 384)  # 154 MB, mapped for writing as the build does
    base = _rss_file_mb()
    rng = np.random.default_rng(0)
    for a in range(0, len(x), 10_000):
        x[a : a + 10_000] = rng.standard_normal((10_000, 384), dtype=np.float32)
    assert _rss_file_mb() - base > 100
    release(x, 0, 50_000)
    middle = _rss_file_mb() - base
    release(x)
    assert _rss_file_mb() - base < 10 < middle < 100
    assert float(x[99_999, 383]) != 0.0 and x[:10].sum() == x[:10].sum()  # mapped again when read
    x.flush()
    rng = np.random.default_rng(0)
    want = np.concatenate([rng.standard_normal((10_000, 384), dtype=np.float32) for _ in range(10)])
    assert np.array_equal(np.load(tmp_path / "vectors.npy"), want)  # every written row reached the file
    # a private copy-on-write map keeps its changes: release leaves it alone
    c = np.load(tmp_path / "vectors.npy", mmap_mode="c")
    c[0] = 7.0
    release(c)
    assert np.all(c[0] == 7.0)
    release(np.zeros((3, 4), np.float32))  # not a map: nothing to do


def test_file_rows_read_what_the_map_holds(tmp_path: Path) -> None:
    from sdsearch.store import vector_file
    from sdsearch.vectors import FileRows

    x = vector_file(tmp_path, 5_000, 16)
    x[:] = np.random.default_rng(1).standard_normal((5_000, 16), dtype=np.float32)
    x.flush()
    for m in (x, np.load(tmp_path / "vectors.npy", mmap_mode="r")):
        rows = FileRows.of(m)
        assert isinstance(rows, FileRows) and len(rows) == 5_000
        ids = np.array([4_999, 0, 17, 17, 2_500])
        assert np.array_equal(rows[ids], m[ids])
        with pytest.raises(IndexError):
            rows[[5_000]]
    view = x[1_000:2_000]
    assert FileRows.of(view) is view  # a view keeps the map's offset: read through the map
    plain = np.zeros((3, 4), np.float32)
    assert FileRows.of(plain) is plain


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc: Linux")
def test_calibration_reads_rows_without_mapping_them(tmp_path: Path) -> None:
    """Calibration's scattered re-scoring reads go through FileRows: the same width and recall
    as through the map, and nothing of the file stays mapped."""
    from sdsearch import vectors as V
    from sdsearch.store import vector_file

    n, dim = 60_000, 64
    x = vector_file(tmp_path, n, dim)
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((300, dim), dtype=np.float32)
    x[:] = centres[rng.integers(0, 300, n)] + 0.8 * rng.standard_normal((n, dim), dtype=np.float32)
    x[:] /= np.linalg.norm(x, axis=1, keepdims=True)
    x.flush()
    V.release(x)
    import faiss

    index = faiss.index_factory(dim, "IVF256,SQ8", faiss.METRIC_INNER_PRODUCT)
    index.train(V._sample(x, 20_000))
    index.add(np.ascontiguousarray(np.array(x)))
    info = {"type": "ivf", "nlist": 256, "exact": False, "rescore": True, "shortlist": 100}
    q = V._held_out_queries(np.array(x), 200)
    assert np.array_equal(q, V._held_out_queries(x, 200))
    V.release(x)
    before = _rss_file_mb()
    got = V.calibrate(index, x, dict(info))
    assert _rss_file_mb() - before < 8  # 15 MB of vectors: nothing of them kept mapped
    assert got == V.calibrate(index, np.array(x), dict(info))  # in memory: the same width and recall


# --- documents read one at a time (issue #15) -------------------------------------------------


def _messy_corpus(tmp_path: Path) -> list[Path]:
    """Two roots: corpus.toml, a broken PDF, an empty and a binary file, a source name in both
    roots, a whole document twice and a paragraph shared between documents."""
    from conftest import CORPUS, write_corpus

    velsen = (CORPUS / "velsen-jaarverslag-2022-participatie.txt").read_text(encoding="utf-8")
    maassluis = (CORPUS / "maassluis-programmabegroting-2023-sociaal-domein.txt").read_text(encoding="utf-8")
    shared = "Uitvoeringsprogramma Wmo\nWie het niet zelfstandig redt, kan een beroep doen op een Wmo-maatwerkvoorziening.\n"
    a = write_corpus(
        tmp_path / "a",
        {"verslag.txt": velsen, "leeg.txt": "", "sub/wmo.txt": "Wmo in Schiedam\n" + shared},
        manifest='[[document]]\npath = "verslag.txt"\ngemeente = "Velsen"\nyear = 2022\ndoc_type = "jaarverslag"\n',
    )
    (a / "kapot.pdf").write_bytes(b"%PDF-1.4 kapot")
    (a / "sub" / "data.txt").write_bytes(b"\x00\x01\x02binair")
    b = write_corpus(tmp_path / "b", {"verslag.txt": maassluis + shared, "kopie-velsen.txt": velsen})
    return [a, b]


def test_streamed_build_of_a_messy_corpus_writes_the_list_builds_generation(
    tmp_path: Path, fake_encoder: FakeEncoder
) -> None:
    s = Settings()
    roots = _messy_corpus(tmp_path)
    streamed = tmp_path / "streamed"
    report = build_index(roots, streamed, s, encoder=fake_encoder)
    listed = _list_build(roots, tmp_path / "listed", fake_encoder, s)
    ma = _same_generation(streamed, listed)
    held = build.read(roots, s)  # every document in one list, as the build read them before
    assert report.documents == len(held.documents) == 4 and report.skipped == held.skipped and report.notes == held.notes
    assert [src for src, _ in report.skipped] == ["kapot.pdf", "leeg.txt", "sub/data.txt"]
    assert [d["source"] for d in ma["documents"]] == ["verslag.txt", "sub/wmo.txt", "kopie-velsen.txt", "verslag.txt"]
    # a source name in two roots: both documents' passages are counted at its last place, as before
    assert [d["passages"] for d in ma["documents"]][0] == 0 < ma["documents"][3]["passages"]
    velsen = ma["documents"][0]
    assert velsen["gemeente"] == "Velsen" and velsen["meta_origin"]["gemeente"] == "corpus.toml"


def test_streamed_build_of_the_bundled_corpus_writes_the_list_builds_generation(
    tmp_path: Path, fake_encoder: FakeEncoder
) -> None:
    from conftest import CORPUS

    s = Settings()
    build_index([CORPUS], tmp_path / "streamed", s, encoder=fake_encoder)
    a = _files(current_generation(tmp_path / "streamed"))  # type: ignore[arg-type]
    b = _files(_list_build([CORPUS], tmp_path / "listed", fake_encoder, s))
    ma, mb = (json.loads(x.pop("manifest.json")) for x in (a, b))
    ma.pop("created"), mb.pop("created")
    assert a == b and ma == mb and len(ma["documents"]) == 5


def test_a_build_holds_one_document_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the next file is read, and when the encoder runs, no earlier ``Document`` is alive:
    the build keeps a ``DocInfo`` per document, not the document and its text."""
    import gc
    import weakref

    from sdsearch import ingest

    roots = _messy_corpus(tmp_path)
    made: list[weakref.ref] = []
    alive_at_read: list[int] = []
    real_read = ingest.read_document

    def read_document(*a, **k):  # noqa: ANN002, ANN003, ANN202
        gc.collect()
        alive_at_read.append(sum(r() is not None for r in made))
        doc, notes = real_read(*a, **k)
        made.append(weakref.ref(doc))
        return doc, notes

    alive_at_embed: list[int] = []

    class Watching(FakeEncoder):
        def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
            gc.collect()
            alive_at_embed.append(sum(r() is not None for r in made))
            return super().encode_passages(texts, batch_size)

    monkeypatch.setattr(ingest, "read_document", read_document)
    report = build_index(roots, tmp_path / "index", Settings(), encoder=Watching())
    assert report.documents == len(made) == 4
    assert alive_at_read == [0] * 7  # the 3 skipped files fail inside read_document: 7 calls
    assert alive_at_embed and set(alive_at_embed) == {0}


def test_a_build_with_nothing_readable_fails_before_the_encoder_and_writes_nothing(
    small_corpus: Path, small_index: Path, tmp_path: Path
) -> None:
    from sdsearch.errors import BuildError

    live = current_generation(small_index)
    before = _files(live)  # type: ignore[arg-type]
    unreadable = tmp_path / "onleesbaar"
    unreadable.mkdir()
    (unreadable / "leeg.txt").write_text("", encoding="utf-8")
    (unreadable / "kapot.pdf").write_bytes(b"%PDF-1.4 kapot")

    class NotToBeUsed(FakeEncoder):
        @property
        def model_id(self) -> str:  # type: ignore[override]
            raise AssertionError("the encoder was used")

    with pytest.raises(BuildError) as err:
        build_index([unreadable], small_index, Settings(), encoder=NotToBeUsed())
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"geen leesbare documenten in {unreadable}; overgeslagen: kapot.pdf: ")
    assert "leeg.txt: leeg bestand" in msg
    assert current_generation(small_index) == live and _files(live) == before  # type: ignore[arg-type]
    assert not [p for p in small_index.iterdir() if p.name.startswith(".tmp-")]


def test_a_build_failing_mid_stream_keeps_the_index(
    small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sdsearch import ingest
    from sdsearch.errors import BuildError

    live = current_generation(small_index)
    before = _files(live)  # type: ignore[arg-type]
    # a second root whose corpus.toml is broken: one Dutch line, nothing written
    other = tmp_path / "tweede"
    other.mkdir()
    (other / "x.txt").write_text("Pleegzorg\nPleegzorg is een noodzakelijke schakel.\n", encoding="utf-8")
    (other / "corpus.toml").write_text("[[document]\n", encoding="utf-8")
    with pytest.raises(BuildError, match=r"^kan .*corpus\.toml niet lezen"):
        build_index([small_corpus, other], small_index, Settings(), encoder=fake_encoder)
    # a reader that stops the build with documents already chunked and passages written
    calls = []
    real_read = ingest.read_document

    def interrupted(*a, **k):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_read(*a, **k)

    monkeypatch.setattr(ingest, "read_document", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    assert len(calls) == 3
    assert current_generation(small_index) == live and _files(live) == before  # type: ignore[arg-type]
    assert not [p for p in small_index.iterdir() if p.name.startswith(".tmp-")]
    open_index(small_index, verify=True).close()
