"""Shared fixtures: a deterministic fake encoder for unit tests, the real corpus and index for e2e."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Readers must really run in tests; test_incremental switches the extraction cache back on.
os.environ["SDSEARCH_NO_EXTRACT_CACHE"] = "1"


class FakeEncoder:
    """Bag of hashed words: queries and passages sharing words get similar vectors."""

    model_id = "fake-hash-64"
    dim = 64
    query_prefix = "query: "
    passage_prefix = "passage: "

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in re.findall(r"\w+", text.lower()):
            h = int(hashlib.md5(w.encode()).hexdigest(), 16)
            v[h % self.dim] += 1.0 if (h >> 8) & 1 else -1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self.encode_queries(texts)


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


def write_corpus(folder: Path, files: dict[str, str], manifest: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    if manifest is not None:
        (folder / "corpus.toml").write_text(manifest, encoding="utf-8")
    return folder


SMALL_CORPUS = {
    "velsen-jaarverslag-2022.txt": (
        "Beschermd wonen\n"
        "Vanaf 2024 verschuiven de taken en het budget voor beschermd wonen naar de regiogemeenten. "
        "Velsen bereidde zich hier in 2022 op voor.\n"
        "Re-integratie in Velsen\n"
        "In 2022 ontvingen maandelijks gemiddeld 1.350 Velsenaren een bijstandsuitkering.\n"
        "Skaeve Huse\n"
        "Aan de Broekeroog ligt sinds 2021 Skaeve Huse, een woonvorm voor mensen die overlast veroorzaken.\n"
    ),
    "maassluis-programmabegroting-2023.txt": (
        "Beschermd wonen\n"
        "Beschermd wonen is in 2021 succesvol aanbesteed. De implementatie zet zich door in 2022 en 2023.\n"
        "Energiearmoede\n"
        "Energiearmoede is een urgent vraagstuk. De energiecoaches helpen inwoners met een hoge energierekening.\n"
        "Uitvoeringsprogramma Wmo\n"
        "Wie het niet zelfstandig redt, kan een beroep doen op een Wmo-maatwerkvoorziening.\n"
    ),
    "vlaardingen-jaarstukken-2023.txt": (
        "In 2023 hebben we Mrija gerealiseerd, de wijk voor opvang van ruim 1000 ontheemde Oekraïners. "
        "De wijk telt 387 flexwoningen.\n"
        "Uitvoeringsprogramma Wmo\n"
        "Wie het niet zelfstandig redt, kan een beroep doen op een Wmo-maatwerkvoorziening.\n"
    ),
}


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus", SMALL_CORPUS)


@pytest.fixture
def small_index(tmp_path: Path, small_corpus: Path, fake_encoder: FakeEncoder) -> Path:
    from sdsearch.api import build_index
    from sdsearch.config import Settings

    idx = tmp_path / "index"
    build_index([small_corpus], idx, Settings(), encoder=fake_encoder)
    return idx


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real corpus indexed with the real bundled model, once per test session."""
    from sdsearch.api import build_index
    from sdsearch.config import Settings

    idx = tmp_path_factory.mktemp("real") / "index"
    build_index([CORPUS], idx, Settings())
    return idx
