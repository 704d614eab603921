"""The five reports as a raw folder (hash names, no corpus.toml) index like the named corpus.

The bundled reports are copied under the seed names corpus.toml's ``origin`` field records
("seed 000_56565a7e8144f63a.txt: ...") into a folder without corpus.toml. Both folders are
indexed (fake encoder): every document's gemeente, year and type in the raw index's manifest
equal the named one's, and in sparse mode the same queries return the same passages in the
same order; only the citation's source and title may differ. bench/raw_folder.py measures
the same with the real model on every eval set.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest

from sdsearch.build import build_index
from sdsearch.config import Settings
from sdsearch.retrieve import Retriever
from sdsearch.store import current_generation, read_manifest
from sdsearch.types import Hit

from conftest import CORPUS, FakeEncoder

MANIFEST = {e["path"]: e for e in tomllib.loads((CORPUS / "corpus.toml").read_text(encoding="utf-8"))["document"]}
SEED_NAMES = {path: re.search(r"\bseed\s+(\S+?\.txt)", e["origin"]).group(1) for path, e in MANIFEST.items()}
RAW_TO_NAMED = {raw: named for named, raw in SEED_NAMES.items()}

QUERIES = [
    "hoeveel flexwoningen heeft Mrija?",
    "beschermd wonen velsen",
    "Wmo-maatwerkvoorziening wie het niet zelfstandig redt",
    "energiearmoede maassluis",
    "bijstandsuitkering Velsen 2022",
    "schuldhulpverlening",
    "wanneer trad de Wet inburgering in werking?",
    "jeugdhulp inkoop regio",
    "lasten en baten sociaal domein Vlaardingen",
    "mantelzorg ondersteuning",
]


def _documents(index: Path) -> dict[str, dict]:
    return {d["source"]: d for d in read_manifest(current_generation(index))["documents"]}


def _places(hit: Hit, rename: dict[str, str]) -> set[tuple[str, int, int]]:
    """Every place a hit's text stands for, with raw names mapped back to the corpus names."""
    locs = (hit.passage.location, *hit.passage.also_at)
    return {(rename.get(loc.source, loc.source), loc.char_start, loc.char_end) for loc in locs}


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("raw-folder")
    named, raw = tmp / "named", tmp / "raw"
    named.mkdir()
    raw.mkdir()
    for path, seed in SEED_NAMES.items():
        shutil.copy(CORPUS / path, named / path)
        shutil.copy(CORPUS / path, raw / seed)
    shutil.copy(CORPUS / "corpus.toml", named / "corpus.toml")
    enc, s = FakeEncoder(), Settings(mode="sparse")
    build_index([named], tmp / "named-index", s, encoder=enc)
    build_index([raw], tmp / "raw-index", s, encoder=enc)
    return raw, tmp / "named-index", tmp / "raw-index"


def test_seed_names_cover_the_corpus() -> None:
    assert len(SEED_NAMES) == 5 and len(set(SEED_NAMES.values())) == 5
    assert all(re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", name) for name in SEED_NAMES.values())


def test_raw_index_has_the_named_metadata(indexes: tuple[Path, Path, Path]) -> None:
    raw, named_idx, raw_idx = indexes
    assert not (raw / "corpus.toml").exists()
    named_docs, raw_docs = _documents(named_idx), _documents(raw_idx)
    assert sorted(raw_docs) == sorted(RAW_TO_NAMED)
    for raw_name, doc in raw_docs.items():
        want = named_docs[RAW_TO_NAMED[raw_name]]
        got = (doc["gemeente"], doc["year"], doc["doc_type"])
        assert got == (want["gemeente"], want["year"], want["doc_type"]), raw_name
        assert (want["gemeente"], want["year"], want["doc_type"]) == tuple(
            MANIFEST[RAW_TO_NAMED[raw_name]][k] for k in ("gemeente", "year", "doc_type")
        )
        origin = doc.get("meta_origin") or {}
        for key in ("gemeente", "year", "doc_type", "title"):
            assert origin.get(key) and origin[key] != "corpus.toml", (raw_name, key, origin)
        assert doc["title"], raw_name
        assert doc["content_hash"] == want["content_hash"]


def test_sparse_search_returns_the_same_passages_in_the_same_order(indexes: tuple[Path, Path, Path]) -> None:
    _, named_idx, raw_idx = indexes
    s = Settings(mode="sparse")
    named_r, raw_r = Retriever.open(named_idx, settings=s), Retriever.open(raw_idx, settings=s)
    assert named_r.encoder is None and raw_r.encoder is None
    named_hits = named_r.search(QUERIES, k=10)
    raw_hits = raw_r.search(QUERIES, k=10)
    for q, nh, rh in zip(QUERIES, named_hits, raw_hits, strict=True):
        assert nh, q
        assert [h.text for h in rh] == [h.text for h in nh], q
        for a, b in zip(nh, rh, strict=True):
            assert b.score == pytest.approx(a.score, rel=1e-6), q
            assert b.section == a.section, q
            # The same places (a repeated paragraph may be cited from another copy first).
            assert _places(b, RAW_TO_NAMED) == _places(a, {}), q
            if RAW_TO_NAMED[b.source] == a.source:  # the same copy: the same citation, bar the title
                assert (b.gemeente, b.year, b.doc_type, b.page) == (a.gemeente, a.year, a.doc_type, a.page), q
