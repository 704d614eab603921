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
a build that dies leaves the previous generation live. ``CURRENT`` holds the generation's
name and the SHA-256 of its manifest, and the manifest holds the size and SHA-256 of
every data file, so a truncated or edited file is found on load. An opened index maps
its files at once and the generation that was live before a build is kept, so searches
that were running when a build finished keep answering from the index they opened.
Nothing is ever unpickled, and no path from the index leaves the index folder.
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


def _read_pointer(root: Path) -> tuple[str, str | None] | None:
    """``(generation name, manifest sha256 or None)`` from ``CURRENT``; None when there is none."""
    pointer = root / CURRENT
    try:
        raw = pointer.read_bytes()[:4096]
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise StoreError(f"{pointer} is damaged (a folder); rebuild with `sdsearch index`") from None
    except OSError as e:
        raise StoreError(f"cannot read {pointer}: {e.strerror}") from None
    lines = raw.decode("utf-8", errors="replace").split("\n")
    name = lines[0].strip()
    if not _GEN_NAME.match(name):  # never follow a pointer out of the index folder
        raise StoreError(f"{pointer} is damaged (it names {name[:40]!r}); rebuild with `sdsearch index`")
    digest = None
    for line in lines[1:]:
        key, _, value = line.strip().partition(" ")
        if key == "manifest-sha256" and re.fullmatch(r"[0-9a-f]{64}", value):
            digest = value
    return name, digest


def current_generation(root: Path) -> Path | None:
    """The live generation folder of ``root``, or None when there is no index yet."""
    found = _read_pointer(root)
    if found is None:
        return None
    gen = root / found[0]
    if not gen.is_dir():
        raise StoreError(f"index generation {found[0]} named by {root / CURRENT} is missing; rebuild with `sdsearch index`")
    return gen


class BuildLock:
    """An exclusive lock on an index folder for the length of a build."""

    def __init__(self, root: Path):
        from filelock import FileLock, Timeout

        self._timeout = Timeout
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise StoreError(f"index folder {root} is a file, not a folder; choose another --index")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create index folder {root}: {e.strerror}") from None
        # The OS releases this lock when the process dies, even by kill -9: no stale locks.
        self._lock = FileLock(str(root / LOCK), timeout=0)
        self.root = root

    def __enter__(self) -> BuildLock:
        try:
            self._lock.acquire()
        except self._timeout:
            raise StoreError(f"another build is running on {self.root} (locked); try again when it has finished") from None
        except OSError as e:
            raise StoreError(f"cannot lock index folder {self.root}: {e.strerror}") from None
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
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
        (tmp / "manifest.json").write_bytes(manifest_bytes)
        _fsync_tree(tmp)
        os.rename(tmp, root / name)
        _fsync_dir(root)
        previous = current_generation_name(root)
        pointer_tmp = root / f".{CURRENT}.tmp-{os.getpid()}"
        pointer_tmp.write_text(f"{name}\nmanifest-sha256 {hashlib.sha256(manifest_bytes).hexdigest()}\n", encoding="utf-8")
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
        found = _read_pointer(root)
    except StoreError:
        return None
    return found[0] if found else None


def _prune(root: Path, keep: set[str | None]) -> None:
    """Remove generations other than ``keep`` and leftovers of builds that died.

    ``keep`` holds the new generation and the one that was live until now: a search that
    opened the previous one keeps its files. The caller holds the ``BuildLock``, so no
    other build's temporary folder is touched.
    """
    for child in root.iterdir():
        if child.name in keep or child.is_symlink():
            continue
        if child.is_dir() and child.name.startswith("gen-"):
            # Hide it first (one atomic rename), so a build killed while deleting leaves
            # no half-deleted generation in sight, only a hidden folder the next build removes.
            hidden = root / f".del-{child.name}"
            try:
                os.rename(child, hidden)
            except OSError:
                continue
            shutil.rmtree(hidden, ignore_errors=True)
        elif child.is_dir() and child.name.startswith((".tmp-gen-", ".del-gen-")):
            shutil.rmtree(child, ignore_errors=True)
        elif child.is_file() and child.name.startswith(f".{CURRENT}.tmp-"):
            child.unlink(missing_ok=True)


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
        # IO_FLAG_MMAP_IFC (FAISS >= 1.11) maps HNSW graphs and codes too, so processes that
        # open the same generation (sdsearch serve --workers N) share one copy in the page cache.
        for flag in (getattr(faiss, "IO_FLAG_MMAP_IFC", None), faiss.IO_FLAG_MMAP):
            if flag is None:
                continue
            try:
                return faiss.read_index(path, flag | faiss.IO_FLAG_READ_ONLY)
            except RuntimeError:
                pass
        return faiss.read_index(path)

    @cached_property
    def vectors(self) -> np.ndarray:
        return np.load(self.folder / "vectors.npy", mmap_mode="r", allow_pickle=False)

    @cached_property
    def bm25(self) -> Any:
        import bm25s

        return bm25s.BM25.load(str(self.folder / "bm25"), mmap=True, allow_pickle=False)

    def load(self) -> None:
        """Map every data file now (cheap: memory maps), so the index keeps working after a
        later build prunes its generation from disk."""
        _ = self.vectors, self.faiss_index, self.bm25

    @property
    def model_id(self) -> str:
        return str(self.manifest["model"]["id"])

    def __len__(self) -> int:
        return len(self.passages)

    def close(self) -> None:
        self.passages.close()


def _safe_rel(rel: object) -> bool:
    """A relative, ``/``-separated path without ``..``: it cannot name anything outside its folder."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        return False
    parts = rel.split("/")
    return not rel.startswith("/") and all(part not in ("", ".", "..") for part in parts)


def _check_paths(folder: Path, files: object) -> None:
    """A manifest cannot point outside its folder: no "..", no absolute path, no link out."""
    if not isinstance(files, dict):
        return
    base = folder.resolve()
    for rel in files:
        if not _safe_rel(rel) or not (folder / rel).resolve().is_relative_to(base):
            raise StoreError(f"index manifest names a file outside the index ({str(rel)[:80]!r}); rebuild with `sdsearch index`")


def verify_files(folder: Path, manifest: dict[str, Any], full: bool) -> None:
    """Check every data file against the manifest: sizes always, SHA-256 when ``full``."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise StoreError(f"index manifest in {folder} lists no files; rebuild with `sdsearch index`")
    missing = [name for name in (*DATA_FILES, "bm25/params.index.json", "bm25/vocab.index.json") if name not in files]
    if missing:
        raise StoreError(f"index manifest in {folder} does not list {missing[0]}; rebuild with `sdsearch index`")
    _check_paths(folder, files)
    for rel, info in files.items():
        if not isinstance(info, dict) or not isinstance(info.get("size"), int) or not isinstance(info.get("sha256"), str):
            raise StoreError(f"index manifest entry for {rel} is damaged; rebuild with `sdsearch index`")
        path = folder / rel
        if not path.is_file():
            raise StoreError(f"index file {rel} is missing; rebuild with `sdsearch index`")
        if path.stat().st_size != info["size"]:
            raise StoreError(f"index file {rel} is truncated or changed (size differs); rebuild with `sdsearch index`")
        if full and _sha256(path) != info["sha256"]:
            raise StoreError(f"index file {rel} is damaged (checksum differs); rebuild with `sdsearch index`")


def read_manifest(folder: Path, sha256: str | None = None) -> dict[str, Any]:
    """The manifest of a generation; with ``sha256`` (from ``CURRENT``) its bytes must match.

    Paths the manifest names are checked first, so a manifest pointing outside the index
    is reported as such rather than as merely changed.
    """
    try:
        raw = (folder / "manifest.json").read_bytes()
    except FileNotFoundError:
        raise StoreError(f"no manifest.json in {folder}; rebuild with `sdsearch index`") from None
    except OSError as e:
        raise StoreError(f"index manifest in {folder} is unreadable ({e.strerror}); rebuild with `sdsearch index`") from None
    changed = sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        how = "truncated or changed (checksum differs)" if changed else f"unreadable ({e})"
        raise StoreError(f"index manifest in {folder} is {how}; rebuild with `sdsearch index`") from None
    if not isinstance(manifest, dict):
        raise StoreError(f"index manifest in {folder} is damaged; rebuild with `sdsearch index`")
    _check_paths(folder, manifest.get("files"))
    if changed:
        raise StoreError(f"index manifest in {folder} is truncated or changed (checksum differs); rebuild with `sdsearch index`")
    return manifest


def _check_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """The fields a search relies on have the right shape; document sources stay relative."""
    model = manifest.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("id"), str) or not isinstance(model.get("dim"), int):
        raise StoreError(f"index manifest in {folder} has no valid model entry; rebuild with `sdsearch index`")
    docs = manifest.get("documents", [])
    if not isinstance(docs, list) or not all(isinstance(d, dict) and _safe_rel(d.get("source")) for d in docs):
        raise StoreError(f"index manifest in {folder} has a damaged document list; rebuild with `sdsearch index`")
    for key in ("counts", "corpus", "chunker", "analyzer", "faiss", "bm25", "embed"):
        if not isinstance(manifest.get(key, {}), dict):
            raise StoreError(f"index manifest in {folder} has a damaged {key!r} entry; rebuild with `sdsearch index`")


def open_index(root: Path, model_id: str | None = None, verify: bool | None = None) -> Index:
    """Load the live generation of ``root``; refuse another format or model with one line.

    ``verify``: None hashes files when the index is small (< 256 MB), True always, False never.
    The data files are mapped at once, so the returned index keeps answering after a later
    build replaces (and, a build after that, deletes) its generation. Raises ``StoreError``.
    """
    root = Path(root)
    for attempt in range(3):
        before = _read_pointer_quietly(root)
        try:
            return _open_once(root, model_id, verify)
        except StoreError:
            # A build may have swapped CURRENT and pruned the generation we were reading; retry
            # with the new one. A generation that is still live and fails is really damaged.
            if attempt == 2 or _read_pointer_quietly(root) == before:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _read_pointer_quietly(root: Path) -> tuple[str, str | None] | None:
    try:
        return _read_pointer(root)
    except StoreError:
        return None


def _open_once(root: Path, model_id: str | None, verify: bool | None) -> Index:
    if not root.exists():
        raise StoreError(f"no index at {root}; build one with `sdsearch index`")
    if not root.is_dir():
        raise StoreError(f"{root} is a file, not an index folder; build one with `sdsearch index`")
    pointer = _read_pointer(root)
    if pointer is None:
        raise StoreError(f"no index at {root}; build one with `sdsearch index`")
    gen = root / pointer[0]
    if not gen.is_dir():
        raise StoreError(f"index generation {pointer[0]} named by {root / CURRENT} is missing; rebuild with `sdsearch index`")
    manifest = read_manifest(gen, pointer[1])
    fmt = manifest.get("format_version")
    if fmt != FORMAT_VERSION:
        raise StoreError(
            f"index at {root} has format {fmt}, this sdsearch reads format {FORMAT_VERSION}; rebuild with `sdsearch index`"
        )
    _check_manifest(gen, manifest)
    if model_id is not None and manifest["model"]["id"] != model_id:
        raise StoreError(
            f"index at {root} was built with model {manifest['model']['id']!r}, not {model_id!r}; "
            f"rebuild with `sdsearch index` or search with --model {manifest['model']['id']}"
        )
    verify_files(gen, manifest, full=False)
    total = sum(int(f["size"]) for f in manifest["files"].values())
    full = verify if verify is not None else total <= _HASH_ON_LOAD_LIMIT
    if full:
        verify_files(gen, manifest, full=True)
    index = None
    try:
        index = Index(gen, manifest)
        index.load()
        if not len(index) == len(index.passage_doc) == index.vectors.shape[0] == index.faiss_index.ntotal:
            raise ValueError("passages, vectors and metadata disagree in length")
        return index
    except Exception as e:  # numpy, zipfile, FAISS (RuntimeError), bm25s, json: all mean "damaged"
        if index is not None:
            index.close()
        msg = str(e).splitlines()[0][:160] if str(e) else ""
        raise StoreError(f"index at {root} is damaged ({type(e).__name__}: {msg}); rebuild with `sdsearch index`") from None
