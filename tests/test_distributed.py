"""The distributed build (Ray, 2 local CPUs) gives the local build's index; a lost worker is retried or fails cleanly.

The slow tests start a real local Ray cluster and run the real bundled model; CI installs
Ray through the ``test`` extra.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # local clusters listen on loopback only
import ray  # noqa: E402  (the ``test`` extra installs it: these tests run in CI, never skipped)

from sdsearch import build, distributed
from sdsearch.chunk import chunk_document
from sdsearch.config import Settings
from sdsearch.errors import BuildError
from sdsearch.models import load_encoder
from sdsearch.retrieve import Retriever
from sdsearch.store import BuildLock, current_generation, read_manifest

import conftest
from conftest import CORPUS, ROOT, SMALL_CORPUS, FakeEncoder, write_corpus

QUERIES = [
    "hoeveel flexwoningen heeft Mrija?",
    "merkt Vlaardingen nog gevolgen van corona in de jeugdhulp?",
    "waar kunnen Vlaardingers terecht voor advies en toegang tot specialistische hulp?",
    "waarom lopen kinderen en ouders vast in de jeugdzorg?",
    "wat doet ROGplus?",
    "van verzachtende naar preventieve armoedemaatregelen",
    "wie organiseert het advies- en meldpunt huiselijk geweld en kindermishandeling?",
    "hoeveel acties staan in het armoedeplan van het kabinet?",
    "hoe meld je je aan voor welzijn op recept?",
    "komt er een openbare wc in Maassluis?",
    "ondersteuning vanaf de zwangerschap Maassluis",
    "nieuwe armoedevisie 2024-2027",
    "hoeveel gemeenten zitten in de GR Jeugdhulp Rijnmond?",
    "viel de bijstand in Maassluis mee na corona?",
    "wie regelt het leerlingenvervoer?",
    "beschermd wonen velsen",
    "inkoop jeugdhulp 2023",
    "waarvoor is het transformatiefonds gebruikt?",
    "hoeveel kleinschalige woonvoorzieningen zijn er in IJmond en Zuid-Kennemerland?",
    "leerlingen leren zelfstandig naar school reizen",
]


# --- fast: the default install never imports Ray -----------------------------------------------


def test_default_install_does_not_import_ray() -> None:
    code = "import sys, sdsearch, sdsearch.cli, sdsearch.api, sdsearch.distributed; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_missing_ray_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    with pytest.raises(BuildError) as e:
        distributed.build_index_ray([CORPUS], tmp_path / "idx", Settings())
    assert 'pip install "sdsearch[ray]"' in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "idx").exists()


def test_ray_addresses(tmp_path: Path) -> None:
    assert distributed.check_address(None) == distributed.check_address("local") == "local"
    for ok in ("auto", "ray://head:10001", "10.0.0.5:6379", "head.example:6379"):
        assert distributed.check_address(ok) == ok
    folder = tmp_path / "rapporten"
    folder.mkdir()
    with pytest.raises(BuildError, match="zet die vóór --ray"):  # `sdsearch index --ray rapporten/`
        distributed.check_address(str(folder))
    with pytest.raises(BuildError, match="onbekend Ray-adres"):
        distributed.check_address("head")


def test_failures_become_one_dutch_line() -> None:
    class ActorDiedError(Exception):
        pass

    class SystemException(Exception):
        pass

    died = ActorDiedError("The actor died unexpectedly before finishing this task.\n\tclass_name: X")
    died.__cause__ = SystemException()
    msg = str(distributed._failed("inbedden", died, 3))
    assert msg == "inbedden op Ray mislukt (een Ray-worker viel weg, ook na 3 herstarts); de vorige index blijft in gebruik"
    inner = BuildError("de encoder gaf (3, 2) terug voor 4 teksten")
    wrapped = RuntimeError("wrapper")
    wrapped.__cause__ = inner
    assert "de encoder gaf (3, 2) terug" in str(distributed._failed("inbedden", wrapped, 3))


# --- slow: a real local Ray cluster with 2 CPUs ---------------------------------------------------

# The encoders below live in test modules, which Ray's workers cannot import: send them by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
ray.cloudpickle.register_pickle_by_value(conftest)


class DyingEncoder:
    """The bundled encoder, except that its process exits on its ``die_on``-th batch:
    once per test (the first process to get there leaves ``marker``), or every time (``always``)."""

    def __init__(self, marker: str, die_on: int = 2, always: bool = False):
        self.enc = load_encoder("intfloat/multilingual-e5-small", "auto", threads=1)
        self.marker, self.die_on, self.always, self.calls = Path(marker), die_on, always, 0
        self.dim, self.query_prefix, self.passage_prefix = self.enc.dim, self.enc.query_prefix, self.enc.passage_prefix

    @property
    def model_id(self) -> str:
        return self.enc.model_id

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.enc.encode_queries(texts)

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        self.calls += 1
        if self.calls == self.die_on and (self.always or not self.marker.exists()):
            self.marker.touch()
            os._exit(1)  # a worker lost mid-build: no exception, no clean-up
        return self.enc.encode_passages(texts, batch_size)


def _passages(index: Path) -> list[dict]:
    gen = current_generation(index)
    return [json.loads(line) for line in (gen / "passages.jsonl").read_text(encoding="utf-8").splitlines()]


def _vectors(index: Path) -> np.ndarray:
    return np.load(current_generation(index) / "vectors.npy")


def _manifest_sans_volatile(index: Path) -> dict:
    m = read_manifest(current_generation(index))
    m.pop("created")
    m.pop("files")  # sizes and checksums: the vector bytes may differ in the last bits
    m["model"].pop("runtime")
    return m


def _assert_same_vectors(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cos.min() >= 0.995, cos.min()


@pytest.fixture(scope="module")
def encoder():
    return load_encoder("intfloat/multilingual-e5-small", "auto")


@pytest.fixture(scope="module")
def ray_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus built with ``--ray local`` on 2 CPUs; the build starts and stops its own cluster."""
    assert not ray.is_initialized()
    idx = tmp_path_factory.mktemp("ray") / "index"
    r = distributed.build_index_ray([CORPUS], idx, Settings(), address="local", num_cpus=2)
    assert r.embedded == r.passages > 50 and r.reused == 0
    assert not ray.is_initialized()  # stopped again
    return idx


@pytest.fixture(scope="module")
def cluster(ray_index: Path):
    """One local Ray cluster (2 CPUs) for the rest of the module; builds use it as it is."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="error")
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_build_is_the_local_build(real_index: Path, ray_index: Path, encoder) -> None:
    assert _passages(ray_index) == _passages(real_index)  # ids, texts, offsets, sections, also_at, in order
    assert _manifest_sans_volatile(ray_index) == _manifest_sans_volatile(real_index)
    _assert_same_vectors(_vectors(ray_index), _vectors(real_index))
    s = Settings()
    ranked = {}
    for name, idx in (("local", real_index), ("ray", ray_index)):
        r = Retriever.open(idx, encoder=encoder, settings=s)
        ranked[name] = [[h.passage_id for h in hits] for hits in r.search(QUERIES, k=10, mode="hybrid")]
        r.index.close()
    assert all(len(x) == 10 for x in ranked["local"])
    assert ranked["ray"] == ranked["local"]


@pytest.mark.slow
def test_second_ray_build_reuses_every_vector(cluster, ray_index: Path, tmp_path: Path) -> None:
    idx = tmp_path / "index"
    shutil.copytree(ray_index, idx)
    before = _passages(idx)
    r = distributed.build_index_ray([CORPUS], idx, Settings())
    assert (r.embedded, r.reused) == (0, r.passages)
    assert not r.added and not r.updated and not r.removed and len(r.unchanged) == r.documents
    assert _passages(idx) == before
    assert np.array_equal(_vectors(idx), _vectors(ray_index))
    assert ray.is_initialized()  # a cluster the caller started is left running


@pytest.mark.slow
def test_worker_lost_mid_build_is_retried(cluster, real_index: Path, tmp_path: Path) -> None:
    marker = tmp_path / "died"
    factory = functools.partial(DyingEncoder, str(marker), die_on=2)
    idx = tmp_path / "index"
    r = distributed.build_index_ray([CORPUS], idx, Settings(), encoder_factory=factory, retries=2)
    assert marker.exists()  # a worker really died mid-build
    assert r.embedded == r.passages
    assert _passages(idx) == _passages(real_index)
    _assert_same_vectors(_vectors(idx), _vectors(real_index))


@pytest.mark.slow
def test_worker_that_keeps_dying_fails_in_one_line_and_keeps_the_index(cluster, real_index: Path, encoder, tmp_path: Path) -> None:
    idx = tmp_path / "index"
    shutil.copytree(real_index, idx)
    live = current_generation(idx)
    # A changed file, so the build has something to embed.
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    report = sorted(corpus.glob("*.txt"))[0]
    report.write_text(report.read_text(encoding="utf-8") + "\nNieuwe alinea over schuldhulpverlening in de wijk.\n", encoding="utf-8")
    factory = functools.partial(DyingEncoder, str(tmp_path / "died"), die_on=1, always=True)
    with pytest.raises(BuildError) as e:
        distributed.build_index_ray([corpus], idx, Settings(), encoder_factory=factory, retries=1)
    msg = str(e.value)
    assert "\n" not in msg and "mislukt" in msg and "vorige index blijft in gebruik" in msg, msg
    assert current_generation(idx) == live
    assert not list(idx.glob(".tmp-*"))
    with BuildLock(idx):  # released
        pass
    r = Retriever.open(idx, encoder=encoder, settings=Settings())
    hits = r.search(["hoeveel flexwoningen heeft Mrija?"], k=3)[0]
    assert hits and "387 flexwoningen" in " ".join(h.text for h in hits)


@pytest.mark.slow
def test_messy_corpus_gives_the_local_index(cluster, tmp_path: Path) -> None:
    """Skipped and noted files, a repeated paragraph across reports, sub-folders: all as the local build has them."""
    files = dict(SMALL_CORPUS)
    files["Velsen/2021/jaarverslag.txt"] = SMALL_CORPUS["velsen-jaarverslag-2022.txt"]  # every passage repeated
    files["leeg.txt"] = ""
    corpus = write_corpus(tmp_path / "corpus", files)
    (corpus / "kapot.pdf").write_bytes(b"%PDF-1.4 dit is geen pdf")
    (corpus / "oud.txt").write_bytes("Beëindiging\nDe regeling is beëindigd per 1 januari 2023.\n".encode("cp1252"))
    local = build.build_index([corpus], tmp_path / "local", Settings(), encoder=FakeEncoder())
    on_ray = distributed.build_index_ray([corpus], tmp_path / "ray", Settings(), encoder_factory=FakeEncoder)
    assert local.skipped and local.notes and any(p["also_at"] for p in _passages(tmp_path / "local"))
    assert (on_ray.skipped, on_ray.notes, on_ray.added) == (local.skipped, local.notes, local.added)
    assert _passages(tmp_path / "ray") == _passages(tmp_path / "local")
    assert np.array_equal(_vectors(tmp_path / "ray"), _vectors(tmp_path / "local"))
    m_ray, m_local = _manifest_sans_volatile(tmp_path / "ray"), _manifest_sans_volatile(tmp_path / "local")
    assert m_ray == m_local


# --- the driver holds no Document (issue #15) ----------------------------------------------------


def _pdf(path: Path) -> None:
    """A two-page report, so its manifest entry has pages."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for n in (1, 2):
        pdf.add_page()
        pdf.multi_cell(0, 8, f"Schuldhulpverlening {n}\nIn 2021 kregen {400 + n} huishoudens in Maassluis schuldhulp. " * 3)
    pdf.output(str(path))


def _many_files(folder: Path) -> Path:
    """More files than read blocks (4 per CPU): blocks of several files, results that may come
    out of order; a paragraph repeated across files, a skipped file, a note, a PDF with pages."""
    files = {f"gemeente-{k:02d}/verslag-{2000 + k}.txt": f"Armoede in wijk {k}\nIn wijk {k} kregen {k * 7} gezinnen hulp bij schulden.\n"
             "Wmo\nWie het niet zelfstandig redt, kan een beroep doen op een Wmo-maatwerkvoorziening.\n" for k in range(30)}
    files["leeg.txt"] = ""
    corpus = write_corpus(folder, {**SMALL_CORPUS, **files})
    (corpus / "oud.txt").write_bytes("Beëindiging\nDe regeling is beëindigd per 1 januari 2023.\n".encode("cp1252"))
    _pdf(corpus / "maassluis-jaarstukken-2021.pdf")
    return corpus


def _documents_in(value: object, seen: set[int] | None = None) -> int:
    """How many ``Document`` objects ``value`` reaches through lists, tuples, dicts and dataclass fields."""
    import dataclasses

    from sdsearch.types import Document

    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, Document):
        return 1
    if isinstance(value, (list, tuple, set)):
        return sum(_documents_in(v, seen) for v in value)
    if isinstance(value, dict):
        return sum(_documents_in(v, seen) for v in value.values())
    if dataclasses.is_dataclass(value):
        return sum(_documents_in(getattr(value, f.name), seen) for f in dataclasses.fields(value))
    return 0


def _alive_documents() -> int:
    import gc

    from sdsearch.types import Document

    gc.collect()
    return sum(issubclass(type(o), Document) for o in gc.get_objects())  # type(): no __class__ lookup (torch warns on one)


def test_a_read_task_hands_back_no_document(tmp_path: Path) -> None:
    """What a Ray task sends to the driver for a file: its DocInfo and passages, not its text (no Ray needed)."""
    import pickle

    corpus = _many_files(tmp_path / "corpus")
    s = Settings()
    local = build.read([corpus], s)
    chunking = build.chunk_settings(s)
    by_source = {d.source: d for d in local.documents}
    for name in ("maassluis-jaarstukken-2021.pdf", "gemeente-03/verslag-2003.txt", "leeg.txt", "weg.txt"):
        row = {"i": 7, "root": os.fsencode(corpus), "path": os.fsencode(corpus / name)}
        out = distributed._read_and_chunk(row, None, s.extract_cache, chunking)
        assert out["i"] == 7 and set(out) == {"i", "payload"}
        res = pickle.loads(out["payload"])
        assert _documents_in(res) == 0
        if name == "weg.txt":
            assert res[0] == "missing"
            continue
        status, docs, skipped, notes = res
        assert status == "ok"
        if name == "leeg.txt":
            assert (docs, skipped, notes) == ([], [x for x in local.skipped if x[0] == "leeg.txt"], [])
            assert skipped
            continue
        [(info, passages)] = docs
        doc = by_source[name]
        assert info == build.DocInfo.of(doc) and isinstance(info, build.DocInfo)
        assert passages == list(chunk_document(doc, chunking))
        assert len(out["payload"]) < len(pickle.dumps(passages)) + 2048  # the passages and a small record, not the text again
    assert build.DocInfo.of(by_source["maassluis-jaarstukken-2021.pdf"]).pages == 2


@pytest.mark.slow
def test_ray_read_gives_docinfo_and_the_local_passages_and_no_document(cluster, tmp_path: Path) -> None:
    corpus = _many_files(tmp_path / "corpus")
    s = Settings()
    before = _alive_documents()
    got = distributed.read_and_chunk(cluster, [corpus], s, collapse=False)
    assert _documents_in(got) == 0 and _alive_documents() == before  # none returned, none left on the driver
    report, docs, passages = got
    assert report.documents == [] and all(isinstance(d, build.DocInfo) for d in docs)
    local = build.read([corpus], s)
    assert docs == [build.DocInfo.of(d) for d in local.documents]  # same documents, same order, same manifest fields
    assert (report.skipped, report.notes) == (local.skipped, local.notes) and local.skipped and local.notes
    assert passages == list(build.chunk_stream(local.documents, s))  # same passages, same order
    _r, _d, collapsed = distributed.read_and_chunk(cluster, [corpus], s)
    assert collapsed == build.chunk_documents(local.documents, s) and any(p.also_at for p in collapsed)


@pytest.mark.slow
def test_ray_read_is_a_stream_in_file_order(cluster, tmp_path: Path) -> None:
    """The driver takes the passages file by file: a document is recorded just before its passages."""
    corpus = _many_files(tmp_path / "corpus")
    s = Settings()
    record: list[build.DocInfo] = []
    report, stream = distributed.read_and_chunk_stream(cluster, [corpus], s, record=record)
    assert record == []  # the first file's result is read, not yet handed out
    seen: list[str] = []
    for p in stream:
        assert record[-1].source == p.source  # its document recorded, the next ones not yet
        if not seen or seen[-1] != p.source:
            seen.append(p.source)
            assert len(record) == len(seen)
    local = build.read([corpus], s)
    assert seen == [d.source for d in local.documents] and record == [build.DocInfo.of(d) for d in local.documents]
    assert report.skipped == local.skipped  # complete once the stream is exhausted
    early, stream = distributed.read_and_chunk_stream(cluster, [corpus], s)
    next(stream)
    stream.close()  # a build that stops early: the Ray read is let go, the cluster stays usable
    assert distributed.read_and_chunk(cluster, [corpus], s)[1] == record


@pytest.mark.slow
def test_ray_build_of_many_files_is_the_local_generation_byte_for_byte(cluster, tmp_path: Path) -> None:
    corpus = _many_files(tmp_path / "corpus")
    local = build.build_index([corpus], tmp_path / "local", Settings(), encoder=FakeEncoder())
    on_ray = distributed.build_index_ray([corpus], tmp_path / "ray", Settings(), encoder_factory=FakeEncoder)
    assert (on_ray.documents, on_ray.passages, on_ray.skipped, on_ray.notes) == (local.documents, local.passages, local.skipped, local.notes)
    a, b = current_generation(tmp_path / "local"), current_generation(tmp_path / "ray")
    files = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    for name in files:
        if name != "manifest.json":
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    m_local, m_ray = read_manifest(a), read_manifest(b)
    for m in (m_local, m_ray):
        m.pop("created")
        m["model"].pop("runtime", None)
    assert m_ray == m_local
    assert [d["pages"] for d in m_ray["documents"] if d["source"].endswith(".pdf")] == [2]


class _Dataset:
    """Ray Data as far as the read uses it, run here: ``map`` calls the task on every row; the
    blocks (3 rows each) come last first (``reverse``) or fail after ``fail_after`` blocks."""

    def __init__(self, rows: list[dict], reverse: bool, fail_after: int | None):
        self.rows, self.reverse, self.fail_after = rows, reverse, fail_after
        self.context = type("Ctx", (), {"execution_options": type("Opts", (), {"preserve_order": False})()})()

    def map(self, fn, fn_kwargs, **_kw):
        self.fn, self.kw = fn, fn_kwargs
        return self

    def iter_batches(self, batch_size=None, batch_format="numpy"):
        class ActorDiedError(Exception):
            pass

        blocks = [self.rows[i : i + 3] for i in range(0, len(self.rows), 3)]
        for n, block in enumerate(reversed(blocks) if self.reverse else blocks):
            if n == self.fail_after:
                raise ActorDiedError("The actor died unexpectedly before finishing this task.")
            outs = [self.fn(r, **self.kw) for r in block]
            yield {"i": np.array([o["i"] for o in outs]), "payload": np.array([o["payload"] for o in outs], dtype=object)}


def _fake_ray(monkeypatch: pytest.MonkeyPatch, reverse: bool = False, fail_after: int | None = None) -> object:
    from types import SimpleNamespace

    made: list[_Dataset] = []

    def from_items(rows, override_num_blocks=1):
        made.append(_Dataset(rows, reverse, fail_after))
        return made[-1]

    ctx = SimpleNamespace()
    data = SimpleNamespace(from_items=from_items, DataContext=SimpleNamespace(get_current=lambda: ctx), made=made)
    fake = SimpleNamespace(data=data, is_initialized=lambda: True, cluster_resources=lambda: {"CPU": 2})
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setitem(sys.modules, "ray.data", data)
    return fake


def test_results_that_come_out_of_order_are_written_in_file_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    corpus = _many_files(tmp_path / "corpus")
    fake = _fake_ray(monkeypatch, reverse=True)  # the first file's result comes last
    s = Settings()
    report, docs, passages = distributed.read_and_chunk(fake, [corpus], s, collapse=False)
    assert fake.data.made[0].context.execution_options.preserve_order  # asked of Ray Data too
    local = build.read([corpus], s)
    assert docs == [build.DocInfo.of(d) for d in local.documents]
    assert passages == list(build.chunk_stream(local.documents, s))
    assert (report.skipped, report.notes) == (local.skipped, local.notes)


def test_a_read_lost_mid_stream_is_one_line_and_the_previous_index_stays(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    corpus = _many_files(tmp_path / "corpus")
    idx = tmp_path / "index"
    build.build_index([corpus], idx, Settings(), encoder=FakeEncoder())
    live = current_generation(idx)
    made: list[Path] = []

    def new_generation(root: Path) -> Path:
        made.append(build.new_generation(root))
        return made[-1]

    monkeypatch.setattr(distributed, "new_generation", new_generation)
    _fake_ray(monkeypatch, fail_after=4)  # after 12 files: passages of the first ones already written
    with pytest.raises(BuildError) as e:
        distributed.build_index_ray([corpus], idx, Settings(), encoder_factory=FakeEncoder, retries=2)
    assert str(e.value) == "lezen op Ray mislukt (een Ray-worker viel weg, ook na 2 herstarts); de vorige index blijft in gebruik"
    assert made and not made[0].exists() and not list(idx.glob(".tmp-*"))
    assert current_generation(idx) == live
    with BuildLock(idx):  # released
        pass
