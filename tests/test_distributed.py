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
