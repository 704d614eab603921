"""The on-disk index: a folder of generations, each a complete, checksummed index.

Layout::

    index/
      CURRENT            name of the live generation (replaced atomically)
      .lock              held by a build; a second build is refused
      gen-<stamp>/       one complete index
        manifest.json    versions, model, settings, counts, documents, file checksums
        passages.jsonl   one passage per line (JSON), passages.offsets.npy for random access
        vectors.npy      float32 passage vectors (kept for incremental rebuilds)
        vectors.faiss    the FAISS index over them
        bm25/            bm25s arrays (.npy, no pickle) and vocabulary (.json)
        meta.npz         per-passage document numbers, for filtering

A build writes a new generation in a temporary folder, fsyncs it, renames it into place
and then swaps ``CURRENT``: a reader sees the old index or the new one, never a mix, and
a build that dies leaves the previous generation live. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .types import Passage

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".lock"
_GEN_NAME = re.compile(r"^gen-[0-9A-Za-z_-]{1,80}$")
# Above this total size, load checks file sizes only; `sdsearch info --verify` hashes everything.
_HASH_ON_LOAD_LIMIT = 256 * 1024 * 1024
DATA_FILES = ("passages.jsonl", "passages.offsets.npy", "vectors.npy", "vectors.faiss", "meta.npz")


class StoreError(Exception):
    """The index folder is missing, locked, damaged or built for another model."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with open(Path(dirpath) / name, "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(Path(dirpath))


def current_generation(root: Path) -> Path | None:
    """The live generation folder of ``root``, or None when there is no index yet."""
    pointer = root / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StoreError(f"cannot read {pointer}: {e.strerror}") from None
    if not _GEN_NAME.match(name):  # never follow a pointer out of the index folder
        raise StoreError(f"{pointer} is damaged (it names {name[:40]!r}); rebuild with `sdsearch index`")
    gen = root / name
    if not gen.is_dir():
        raise StoreError(f"index generation {name} named by {pointer} is missing; rebuild with `sdsearch index`")
    return gen


class BuildLock:
    """An exclusive lock on an index folder for the length of a build."""

    def __init__(self, root: Path):
        from filelock import FileLock, Timeout

        self._timeout = Timeout
        root.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(root / LOCK), timeout=0)
        self.root = root

    def __enter__(self) -> BuildLock:
        try:
            self._lock.acquire()
        except self._timeout:
            raise StoreError(f"another build is running on {self.root} (locked); try again when it has finished") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


@dataclass
class IndexData:
    """Everything a build writes: passages, their vectors, the vector and BM25 indexes."""

    passages: list[Passage]
    vectors: np.ndarray  # (n, dim) float32, L2-normalised
    faiss_index: Any
    faiss_factory: str
    bm25: Any  # bm25s.BM25
    passage_doc: np.ndarray  # (n,) int32: document number of each passage's first location
    extra_doc_pairs: np.ndarray  # (m, 2) int32: (passage, document) for the other locations
    manifest: dict[str, Any] = field(default_factory=dict)
    embed_keys: np.ndarray | None = None  # (n,) bytes: hash of each passage's embedded text, for re-use


def write_index(root: Path, data: IndexData) -> Path:
    """Write ``data`` as a new generation of ``root`` and make it live; returns its folder.

    The caller holds the ``BuildLock``. Older generations are pruned (the one that was
    live until now is kept, so searches that opened it keep working).
    """
    import faiss

    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}-{time.monotonic_ns() % 100000:05d}"
    name = f"gen-{stamp}"
    tmp = root / f".tmp-{name}"
    tmp.mkdir()
    try:
        offsets = np.zeros(len(data.passages) + 1, dtype=np.int64)
        with open(tmp / "passages.jsonl", "wb") as f:
            for i, p in enumerate(data.passages):
                line = (json.dumps(p.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
                f.write(line)
                offsets[i + 1] = offsets[i] + len(line)
        np.save(tmp / "passages.offsets.npy", offsets, allow_pickle=False)
        np.save(tmp / "vectors.npy", np.ascontiguousarray(data.vectors, dtype=np.float32), allow_pickle=False)
        faiss.write_index(data.faiss_index, str(tmp / "vectors.faiss"))
        meta = {"passage_doc": data.passage_doc.astype(np.int32), "extra_doc_pairs": data.extra_doc_pairs.astype(np.int32)}
        if data.embed_keys is not None:
            meta["embed_keys"] = data.embed_keys
        np.savez(tmp / "meta.npz", **meta)
        data.bm25.save(str(tmp / "bm25"), show_progress=False)
        files = {}
        for path in sorted(tmp.rglob("*")):
            if path.is_file():
                rel = path.relative_to(tmp).as_posix()
                files[rel] = {"size": path.stat().st_size, "sha256": _sha256(path)}
        manifest = {
            "format_version": FORMAT_VERSION,
            "sdsearch_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **data.manifest,
            "faiss": {"factory": data.faiss_factory, "metric": "inner_product", **data.manifest.get("faiss", {})},
            "counts": {"passages": len(data.passages), **data.manifest.get("counts", {})},
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _fsync_tree(tmp)
        os.rename(tmp, root / name)
        _fsync_dir(root)
        previous = current_generation_name(root)
        pointer_tmp = root / f".{CURRENT}.tmp-{os.getpid()}"
        pointer_tmp.write_text(name + "\n", encoding="utf-8")
        with open(pointer_tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(pointer_tmp, root / CURRENT)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(root, keep={name, previous})
    return root / name


def current_generation_name(root: Path) -> str | None:
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name if _GEN_NAME.match(name) else None


def _prune(root: Path, keep: set[str | None]) -> None:
    """Remove generations other than ``keep`` and leftovers of builds that died."""
    for child in root.iterdir():
        if child.name in keep or not child.is_dir():
            continue
        if child.name.startswith(("gen-", ".tmp-gen-")):
            shutil.rmtree(child, ignore_errors=True)


class PassageTable:
    """Random access to ``passages.jsonl`` through its offsets file, with a small cache."""

    def __init__(self, folder: Path):
        self._path = folder / "passages.jsonl"
        self._offsets = np.load(folder / "passages.offsets.npy", allow_pickle=False)
        self._file = open(self._path, "rb")
        self._cache: dict[int, Passage] = {}

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> Passage:
        i = int(i)
        p = self._cache.get(i)
        if p is None:
            if not 0 <= i < len(self):
                raise IndexError(i)
            start, end = int(self._offsets[i]), int(self._offsets[i + 1])
            self._file.seek(start)
            p = Passage.from_dict(json.loads(self._file.read(end - start)))
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[i] = p
        return p

    def __iter__(self) -> Iterator[Passage]:
        for i in range(len(self)):
            yield self[i]

    def close(self) -> None:
        self._file.close()


class Index:
    """A loaded index generation: manifest, passages, vectors, FAISS and BM25, read-only."""

    def __init__(self, folder: Path, manifest: dict[str, Any]):
        self.folder = folder
        self.manifest = manifest
        self.passages = PassageTable(folder)
        meta = np.load(folder / "meta.npz", allow_pickle=False)
        self.passage_doc = meta["passage_doc"]
        self.extra_doc_pairs = meta["extra_doc_pairs"]
        self.documents: list[dict[str, Any]] = manifest.get("documents", [])

    @cached_property
    def faiss_index(self) -> Any:
        import faiss

        path = str(self.folder / "vectors.faiss")
        try:
            return faiss.read_index(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:
            return faiss.read_index(path)

    @cached_property
    def vectors(self) -> np.ndarray:
        return np.load(self.folder / "vectors.npy", mmap_mode="r", allow_pickle=False)

    @cached_property
    def bm25(self) -> Any:
        import bm25s

        return bm25s.BM25.load(str(self.folder / "bm25"), mmap=True, allow_pickle=False)

    @property
    def model_id(self) -> str:
        return str(self.manifest["model"]["id"])

    def __len__(self) -> int:
        return len(self.passages)

    def close(self) -> None:
        self.passages.close()


def verify_files(folder: Path, manifest: dict[str, Any], full: bool) -> None:
    """Check every data file against the manifest: sizes always, SHA-256 when ``full``."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise StoreError(f"index manifest in {folder} lists no files; rebuild with `sdsearch index`")
    for rel, info in files.items():
        path = (folder / rel).resolve()
        if not path.is_relative_to(folder.resolve()):  # a manifest cannot point outside its folder
            raise StoreError(f"index manifest names a file outside the index ({rel!r}); rebuild with `sdsearch index`")
        if not path.is_file():
            raise StoreError(f"index file {rel} is missing; rebuild with `sdsearch index`")
        if path.stat().st_size != info.get("size"):
            raise StoreError(f"index file {rel} is truncated or changed (size differs); rebuild with `sdsearch index`")
        if full and _sha256(path) != info.get("sha256"):
            raise StoreError(f"index file {rel} is damaged (checksum differs); rebuild with `sdsearch index`")


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(f"no manifest.json in {folder}; rebuild with `sdsearch index`") from None
    except (OSError, ValueError) as e:
        raise StoreError(f"index manifest in {folder} is unreadable ({e}); rebuild with `sdsearch index`") from None
    if not isinstance(manifest, dict):
        raise StoreError(f"index manifest in {folder} is damaged; rebuild with `sdsearch index`")
    return manifest


def open_index(root: Path, model_id: str | None = None, verify: bool | None = None) -> Index:
    """Load the live generation of ``root``; refuse another format or model with one line.

    ``verify``: None hashes files when the index is small (< 256 MB), True always, False never.
    """
    root = Path(root)
    if not root.exists():
        raise StoreError(f"no index at {root}; build one with `sdsearch index`")
    gen = current_generation(root)
    if gen is None:
        raise StoreError(f"no index at {root}; build one with `sdsearch index`")
    manifest = read_manifest(gen)
    fmt = manifest.get("format_version")
    if fmt != FORMAT_VERSION:
        raise StoreError(
            f"index at {root} has format {fmt}, this sdsearch reads format {FORMAT_VERSION}; rebuild with `sdsearch index`"
        )
    if model_id is not None and manifest.get("model", {}).get("id") != model_id:
        raise StoreError(
            f"index at {root} was built with model {manifest.get('model', {}).get('id')!r}, not {model_id!r}; "
            f"rebuild with `sdsearch index` or search with --model {manifest.get('model', {}).get('id')}"
        )
    total = sum(int(f.get("size", 0)) for f in manifest.get("files", {}).values())
    full = verify if verify is not None else total <= _HASH_ON_LOAD_LIMIT
    verify_files(gen, manifest, full=full)
    try:
        return Index(gen, manifest)
    except (OSError, ValueError, KeyError) as e:
        raise StoreError(f"index at {root} is damaged ({type(e).__name__}: {e}); rebuild with `sdsearch index`") from None
