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
import mmap
import os
import re
import shlex
import shutil
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import StoreError  # noqa: F401  (re-exported)
from .files import atomic_write_bytes, fsync_dir, sha256_file
from .sparse import SparseIndex
from .types import Location, Passage

FORMAT_VERSION = 1
VECTOR_TYPES = ("flat", "hnsw", "ivf")  # the manifest's faiss.type values this version searches
CURRENT = "CURRENT"
LOCK = ".lock"
_GEN_NAME = re.compile(r"^gen-[0-9A-Za-z_-]{1,80}$")
# Above this total size, load checks file sizes only; `sdsearch info --verify` hashes everything.
_HASH_ON_LOAD_LIMIT = 256 * 1024 * 1024
DATA_FILES = ("passages.jsonl", "passages.offsets.npy", "vectors.npy", "vectors.faiss", "meta.npz")
# Optional: abbreviations learned from the text (sdsearch.abbrev); an index without it searches without.
ABBREVIATIONS_FILE = "abbreviations.json"


def _fsync_tree(path: Path) -> None:
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with open(Path(dirpath) / name, "rb") as f:
                os.fsync(f.fileno())
        fsync_dir(Path(dirpath))


def _index_root(path: Path) -> Path:
    """The index folder of ``path`` (a generation folder or the index folder itself)."""
    path = Path(path)
    return path.parent if _GEN_NAME.match(path.name) else path


def build_hint(path: Path) -> str:
    """The command that builds the index at ``path``: plain ``sdsearch index`` for the default."""
    from .config import default_index

    root = _index_root(path)
    try:
        is_default = root.resolve() == default_index().resolve()
    except Exception:  # settings unreadable: give the explicit command
        is_default = False
    if is_default:
        return "bouw er een met `sdsearch index`"
    return f"bouw er een met `sdsearch index MAP --index {shlex.quote(str(root))}` (MAP: de map met rapporten)"


def rebuild_hint(path: Path) -> str:
    """The command that rebuilds the index at ``path``."""
    return build_hint(path).replace("bouw er een met", "bouw de index opnieuw met", 1)


def _read_pointer(root: Path) -> tuple[str, str | None] | None:
    """``(generation name, manifest sha256 or None)`` from ``CURRENT``; None when there is none."""
    pointer = root / CURRENT
    try:
        raw = pointer.read_bytes()[:4096]
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise StoreError(f"{pointer} is beschadigd (een map); {rebuild_hint(root)}") from None
    except OSError as e:
        raise StoreError(f"kan {pointer} niet lezen: {e.strerror}") from None
    lines = raw.decode("utf-8", errors="replace").split("\n")
    name = lines[0].strip()
    if not _GEN_NAME.match(name):  # never follow a pointer out of the index folder
        raise StoreError(f"{pointer} is beschadigd (het noemt {name[:40]!r}); {rebuild_hint(root)}")
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
        raise StoreError(f"indexgeneratie {found[0]} uit {root / CURRENT} ontbreekt; {rebuild_hint(root)}")
    return gen


class BuildLock:
    """An exclusive lock on an index folder for the length of a build."""

    def __init__(self, root: Path):
        from filelock import FileLock, Timeout

        self._timeout = Timeout
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise StoreError(f"indexmap {root} is een bestand, geen map; kies een andere --index")
        self._created = not root.exists()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"kan indexmap {root} niet maken: {e.strerror}") from None
        # The OS releases this lock when the process dies, even by kill -9: no stale locks.
        self._lock = FileLock(str(root / LOCK), timeout=0)
        self.root = root

    def __enter__(self) -> BuildLock:
        try:
            self._lock.acquire()
        except self._timeout:
            raise StoreError(f"er loopt al een indexering op {self.root} (vergrendeld); probeer het opnieuw als die klaar is") from None
        except OSError as e:
            raise StoreError(f"kan indexmap {self.root} niet vergrendelen: {e.strerror}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
        # A build that made a new folder and failed leaves nothing behind (not even the lock file).
        if self._created and not (self.root / CURRENT).exists():
            try:
                (self.root / LOCK).unlink(missing_ok=True)
                self.root.rmdir()
            except OSError:
                pass


@dataclass
class IndexData:
    """Everything a build writes: passages, their vectors, the vector and BM25 indexes.

    A streaming build has already written some files into the new generation's folder:
    ``passages`` is then the ``PassageTable`` of its ``passages.jsonl`` (``PassageWriter``),
    ``vectors`` the map of its ``vectors.npy`` (``vector_file``), ``faiss_index`` None
    (``vectors.faiss`` written) and ``sparse`` None (``bm25/`` written). ``write_index``
    keeps those files as they are and writes the rest.
    """

    passages: list[Passage] | PassageTable
    vectors: np.ndarray  # (n, dim) float32, L2-normalised
    faiss_index: Any  # None: already written as vectors.faiss in the generation's folder
    faiss_factory: str
    sparse: SparseIndex | None  # None: already saved as bm25/ in the generation's folder
    passage_doc: np.ndarray  # (n,) int32: document number of each passage's first location
    extra_doc_pairs: np.ndarray  # (m, 2) int32: (passage, document) for the other locations
    manifest: dict[str, Any] = field(default_factory=dict)
    embed_keys: np.ndarray | None = None  # (n,) bytes: hash of each passage's embedded text, for re-use
    abbreviations: dict[str, Any] | None = None  # learned from the text (abbrev.mine(...).to_json())


def new_generation(root: Path) -> Path:
    """A fresh temporary folder (``.tmp-gen-<stamp>``) for the next generation of ``root``.

    The caller holds the ``BuildLock``. A build may put ``vectors.npy`` there before
    ``write_index`` (``vector_file``); ``write_index`` renames the folder into place. A build
    that is killed leaves it; the next build removes it first (``remove_leftovers``).
    """
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}-{time.monotonic_ns() % 100000:05d}"
    tmp = root / f".tmp-gen-{stamp}"
    tmp.mkdir()
    return tmp


def vector_file(tmp: Path, n: int, dim: int) -> np.ndarray:
    """``vectors.npy`` of the generation being written in ``tmp``, memory-mapped for writing:
    the build fills it in place (no float32 copy of every vector in memory) and
    ``write_index`` keeps it as it is. Same bytes as ``np.save`` of the same array.

    Its disk space is reserved before anything is written into the map: a full disk is then
    an ``OSError`` here (one line for the user), not a SIGBUS halfway through embedding."""
    path = tmp / "vectors.npy"
    vectors = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
    if hasattr(os, "posix_fallocate"):
        fd = os.open(path, os.O_RDWR)
        try:
            os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
        finally:
            os.close(fd)
    return vectors


def passage_line(p: Passage) -> bytes:
    """One line of ``passages.jsonl``."""
    return (json.dumps(p.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")


class PassageWriter:
    """``passages.jsonl`` and ``passages.offsets.npy`` of the generation being written in
    ``tmp``, one passage at a time: the build keeps no ``Passage`` objects, only the
    offsets (8 bytes per passage).

    ``add`` writes a passage and returns its row; ``add_location`` records one more place
    where the passage of an earlier row occurs (``Passage.also_at``: identical text is indexed
    once). ``close`` puts those places into their lines (one streamed copy of the file, only
    when there are any) and writes the offsets; the files are byte for byte what
    ``write_index`` writes for the same passages with their ``also_at`` filled in.
    """

    def __init__(self, tmp: Path):
        self.folder = Path(tmp)
        self.path = self.folder / "passages.jsonl"
        self._file = open(self.path, "wb")
        self._offsets = array("q", [0])
        self._also: dict[int, list[Location]] = {}

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def add(self, p: Passage) -> int:
        line = passage_line(p)
        self._file.write(line)
        self._offsets.append(self._offsets[-1] + len(line))
        return len(self._offsets) - 2

    def add_location(self, row: int, loc: Location) -> None:
        self._also.setdefault(row, []).append(loc)

    @property
    def locations(self) -> dict[int, list[Location]]:
        """The places added to earlier rows (row → locations, in the order they were added)."""
        return self._also

    def close(self) -> int:
        """Finish both files; returns the number of passages."""
        from dataclasses import replace

        self._file.close()
        if self._also:
            patched = self.folder / "passages.jsonl.part"
            offsets = array("q", [0])
            with open(self.path, "rb") as src, open(patched, "wb") as dst:
                for row, line in enumerate(src):
                    locs = self._also.get(row)
                    if locs:
                        p = Passage.from_dict(json.loads(line))
                        line = passage_line(replace(p, also_at=p.also_at + tuple(locs)))
                    dst.write(line)
                    offsets.append(offsets[-1] + len(line))
            os.replace(patched, self.path)
            self._offsets = offsets
        np.save(self.folder / "passages.offsets.npy", np.frombuffer(self._offsets, dtype=np.int64), allow_pickle=False)
        return len(self)

    def abort(self) -> None:
        self._file.close()


def remove_leftovers(root: Path) -> None:
    """Remove what builds that died left in ``root`` (``.tmp-gen-*``, ``.del-gen-*``, temporary
    pointer files). The caller holds the ``BuildLock``: no other build's folder is touched."""
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.is_symlink():
            continue
        if child.is_dir() and child.name.startswith((".tmp-gen-", ".del-gen-")):
            shutil.rmtree(child, ignore_errors=True)
        elif child.is_file() and child.name.startswith(f".{CURRENT}."):
            child.unlink(missing_ok=True)


def _is_file_of(vectors: np.ndarray, path: Path) -> bool:
    filename = getattr(vectors, "filename", None)
    return isinstance(vectors, np.memmap) and filename is not None and Path(filename).resolve() == path.resolve()


def write_index(root: Path, data: IndexData, tmp: Path | None = None) -> Path:
    """Write ``data`` as a new generation of ``root`` and make it live; returns its folder.

    The caller holds the ``BuildLock``. ``tmp``: the folder from ``new_generation`` when
    the build already wrote ``vectors.npy`` there (``data.vectors`` is then its map);
    by default a new one. On failure ``tmp`` is removed. Older generations are pruned
    (the one that was live until now is kept, so searches that opened it keep working).
    """
    import faiss

    try:
        tmp = new_generation(root) if tmp is None else tmp
        name = tmp.name.removeprefix(".tmp-")
        if isinstance(data.passages, PassageTable):  # streamed there by the build (PassageWriter)
            if data.passages.path.resolve() != (tmp / "passages.jsonl").resolve():
                raise ValueError("the passages were written into another generation's folder")
            data.passages.close()
        else:
            offsets = np.zeros(len(data.passages) + 1, dtype=np.int64)
            with open(tmp / "passages.jsonl", "wb") as f:
                for i, p in enumerate(data.passages):
                    line = passage_line(p)
                    f.write(line)
                    offsets[i + 1] = offsets[i] + len(line)
            np.save(tmp / "passages.offsets.npy", offsets, allow_pickle=False)
        if _is_file_of(data.vectors, tmp / "vectors.npy"):
            data.vectors.flush()  # the build filled it in place
        else:
            np.save(tmp / "vectors.npy", np.ascontiguousarray(data.vectors, dtype=np.float32), allow_pickle=False)
        if data.faiss_index is not None:
            faiss.write_index(data.faiss_index, str(tmp / "vectors.faiss"))
        elif not (tmp / "vectors.faiss").is_file():
            raise ValueError("no FAISS index to write and none written")
        meta = {"passage_doc": data.passage_doc.astype(np.int32), "extra_doc_pairs": data.extra_doc_pairs.astype(np.int32)}
        if data.embed_keys is not None:
            meta["embed_keys"] = data.embed_keys
        np.savez(tmp / "meta.npz", **meta)
        if data.sparse is not None:
            data.sparse.save(tmp / "bm25")
        elif not (tmp / "bm25" / "params.index.json").is_file():
            raise ValueError("no BM25 index to write and none written")
        if data.abbreviations is not None:
            (tmp / ABBREVIATIONS_FILE).write_bytes(json.dumps(data.abbreviations, ensure_ascii=False).encode("utf-8"))
        files = {}
        for path in sorted(tmp.rglob("*")):
            if path.is_file():
                rel = path.relative_to(tmp).as_posix()
                files[rel] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
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
        fsync_dir(root)
        previous = current_generation_name(root)
        pointer = f"{name}\nmanifest-sha256 {hashlib.sha256(manifest_bytes).hexdigest()}\n"
        atomic_write_bytes(root / CURRENT, pointer.encode("utf-8"))
    except BaseException:
        if tmp is not None:
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
    remove_leftovers(root)


class PassageTable:
    """Passages read on demand: ``passages.jsonl`` and its offsets file, both memory-mapped.

    Opening costs the same at 300 passages as at 10M (two maps, nothing parsed); a lookup
    parses one line. Slices of a read-only map are safe from several threads at once (no
    shared file position). Recently read passages are kept in a small cache.
    """

    CACHE = 100_000

    def __init__(self, folder: Path):
        self._path = self.path = folder / "passages.jsonl"
        self._offsets = np.load(folder / "passages.offsets.npy", mmap_mode="r", allow_pickle=False)
        if self._offsets.ndim != 1 or len(self._offsets) < 1:
            raise ValueError("passages.offsets.npy has the wrong shape")
        self._file = open(self._path, "rb")
        size = os.fstat(self._file.fileno()).st_size
        if int(self._offsets[-1]) != size:
            self._file.close()
            raise ValueError("passages.offsets.npy does not match passages.jsonl")
        # An empty file cannot be mapped; an index without passages needs no map.
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
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
            p = Passage.from_dict(json.loads(self._map[start:end]))
            if len(self._cache) >= self.CACHE:
                self._cache.clear()
            self._cache[i] = p
        return p

    def read(self, i: int) -> Passage:
        """Passage ``i`` read from the file itself (``pread``: not cached, no mapped page kept)."""
        i = int(i)
        if not 0 <= i < len(self):
            raise IndexError(i)
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        return Passage.from_dict(json.loads(os.pread(self._file.fileno(), end - start, start)))

    def __iter__(self) -> Iterator[Passage]:
        """Every passage in order (a sequential read, not kept in the cache)."""
        with open(self._path, "rb") as f:
            for _, line in zip(range(len(self)), f, strict=False):
                yield Passage.from_dict(json.loads(line))

    def close(self) -> None:
        if isinstance(self._map, mmap.mmap):
            try:
                self._map.close()
            except BufferError:  # a caller still holds a view; the map goes with the process
                pass
        self._file.close()


def _npz_member(path: Path, key: str) -> np.ndarray:
    """Array ``key`` of the ``.npz`` at ``path``, memory-mapped when stored uncompressed.

    ``np.savez`` stores members uncompressed, so the array's bytes lie in the file as they
    are: map them in place (O(1) open, pages shared between processes). Anything else
    (compressed, Fortran order, object dtype) is read the ordinary way.
    """
    import struct
    import zipfile

    name = f"{key}.npy"
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            return np.load(path, allow_pickle=False)[key]
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if local[:4] != b"PK\x03\x04":
            raise ValueError(f"{path.name}: bad zip member {name}")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        f.seek(start)
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        data = f.tell()
    if fortran or dtype.hasobject:
        return np.load(path, allow_pickle=False)[key]
    count = int(np.prod(shape, dtype=np.int64))
    if data + count * dtype.itemsize > start + info.file_size:
        raise ValueError(f"{path.name}: member {name} is shorter than its header says")
    if count == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=data, shape=shape)


class Index:
    """A loaded index generation: manifest, passages, vectors, FAISS and BM25, read-only."""

    def __init__(self, folder: Path, manifest: dict[str, Any]):
        self.folder = folder
        self.manifest = manifest
        self.passages = PassageTable(folder)
        self.passage_doc = _npz_member(folder / "meta.npz", "passage_doc")
        self.extra_doc_pairs = _npz_member(folder / "meta.npz", "extra_doc_pairs")
        self.documents: list[dict[str, Any]] = manifest.get("documents", [])

    @cached_property
    def faiss_index(self) -> Any:
        import faiss

        path = str(self.folder / "vectors.faiss")
        # MMAP_IFC maps flat codes in place (no copy; shared by every process on the index);
        # older FAISS builds without it, or index types it cannot map, fall back.
        for flags in (getattr(faiss, "IO_FLAG_MMAP_IFC", 0), faiss.IO_FLAG_MMAP):
            if flags:
                try:
                    return faiss.read_index(path, flags | faiss.IO_FLAG_READ_ONLY)
                except RuntimeError:
                    pass
        return faiss.read_index(path)

    @cached_property
    def vectors(self) -> np.ndarray:
        return np.load(self.folder / "vectors.npy", mmap_mode="r", allow_pickle=False)

    @cached_property
    def sparse(self) -> SparseIndex:
        return SparseIndex.load(self.folder / "bm25", mmap=True)

    @cached_property
    def abbreviations(self) -> dict[str, Any]:
        """The learned abbreviations as stored (read on first use; ``{}`` when the index has none)."""
        if ABBREVIATIONS_FILE not in self.manifest.get("files", {}):
            return {}
        try:
            data = json.loads((self.folder / ABBREVIATIONS_FILE).read_bytes().decode("utf-8"))
        except (OSError, ValueError):  # pruned by a later build, or damaged: search without
            return {}
        return data if isinstance(data, dict) else {}

    def use_sparse(self, sparse: SparseIndex) -> None:
        """Search with another sparse index over the same passages (ablations and experiments)."""
        if sparse.num_docs != len(self):
            raise StoreError(f"de BM25-index telt {sparse.num_docs} passages, de index {len(self)}")
        self.__dict__["sparse"] = sparse

    def load(self) -> None:
        """Map every data file now (cheap: memory maps), so the index keeps working after a
        later build prunes its generation from disk."""
        _ = self.vectors, self.faiss_index, self.sparse

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
            raise StoreError(f"het manifest van de index noemt een bestand buiten de index ({str(rel)[:80]!r}); {rebuild_hint(folder)}")


def verify_files(folder: Path, manifest: dict[str, Any], full: bool) -> None:
    """Check every data file against the manifest: sizes always, SHA-256 when ``full``."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise StoreError(f"het manifest in {folder} noemt geen bestanden; {rebuild_hint(folder)}")
    missing = [name for name in (*DATA_FILES, "bm25/params.index.json", "bm25/vocab.index.json") if name not in files]
    if missing:
        raise StoreError(f"het manifest in {folder} noemt {missing[0]} niet; {rebuild_hint(folder)}")
    _check_paths(folder, files)
    for rel, info in files.items():
        if not isinstance(info, dict) or not isinstance(info.get("size"), int) or not isinstance(info.get("sha256"), str):
            raise StoreError(f"de regel voor {rel} in het manifest is beschadigd; {rebuild_hint(folder)}")
        path = folder / rel
        if not path.is_file():
            raise StoreError(f"indexbestand {rel} ontbreekt; {rebuild_hint(folder)}")
        if path.stat().st_size != info["size"]:
            raise StoreError(f"indexbestand {rel} is ingekort of gewijzigd (andere grootte); {rebuild_hint(folder)}")
        if full and sha256_file(path) != info["sha256"]:
            raise StoreError(f"indexbestand {rel} is beschadigd (controlesom wijkt af); {rebuild_hint(folder)}")


def read_manifest(folder: Path, sha256: str | None = None) -> dict[str, Any]:
    """The manifest of a generation; with ``sha256`` (from ``CURRENT``) its bytes must match.

    Paths the manifest names are checked first, so a manifest pointing outside the index
    is reported as such rather than as merely changed.
    """
    try:
        raw = (folder / "manifest.json").read_bytes()
    except FileNotFoundError:
        raise StoreError(f"geen manifest.json in {folder}; {rebuild_hint(folder)}") from None
    except OSError as e:
        raise StoreError(f"het manifest in {folder} is onleesbaar ({e.strerror}); {rebuild_hint(folder)}") from None
    changed = sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        how = "ingekort of gewijzigd (controlesom wijkt af)" if changed else f"onleesbaar ({e})"
        raise StoreError(f"het manifest in {folder} is {how}; {rebuild_hint(folder)}") from None
    if not isinstance(manifest, dict):
        raise StoreError(f"het manifest in {folder} is beschadigd; {rebuild_hint(folder)}")
    _check_paths(folder, manifest.get("files"))
    if changed:
        raise StoreError(f"het manifest in {folder} is ingekort of gewijzigd (controlesom wijkt af); {rebuild_hint(folder)}")
    return manifest


def _check_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """The fields a search relies on have the right shape; document sources stay relative."""
    model = manifest.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("id"), str) or not isinstance(model.get("dim"), int):
        raise StoreError(f"het manifest in {folder} noemt geen geldig model; {rebuild_hint(folder)}")
    docs = manifest.get("documents", [])
    if not isinstance(docs, list) or not all(isinstance(d, dict) and _safe_rel(d.get("source")) for d in docs):
        raise StoreError(f"het manifest in {folder} heeft een beschadigde documentenlijst; {rebuild_hint(folder)}")
    for key in ("counts", "corpus", "chunker", "analyzer", "faiss", "bm25", "embed"):
        if not isinstance(manifest.get(key, {}), dict):
            raise StoreError(f"het manifest in {folder} heeft een beschadigd onderdeel {key!r}; {rebuild_hint(folder)}")
    vec = manifest.get("faiss", {})
    kind = vec.get("type", "flat" if vec.get("exact", True) else None)
    if kind not in VECTOR_TYPES:
        raise StoreError(f"de index in {folder} gebruikt een onbekend soort vectorindex ({str(kind)[:40]!r}); {rebuild_hint(folder)}")


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
        raise StoreError(f"geen index in {root}; {build_hint(root)}")
    if not root.is_dir():
        raise StoreError(f"{root} is een bestand, geen indexmap; kies een map met --index")
    pointer = _read_pointer(root)
    if pointer is None:
        raise StoreError(f"geen index in {root}; {build_hint(root)}")
    gen = root / pointer[0]
    if not gen.is_dir():
        raise StoreError(f"indexgeneratie {pointer[0]} uit {root / CURRENT} ontbreekt; {rebuild_hint(root)}")
    manifest = read_manifest(gen, pointer[1])
    fmt = manifest.get("format_version")
    if fmt != FORMAT_VERSION:
        raise StoreError(
            f"de index in {root} heeft formaat {fmt}, deze sdsearch leest formaat {FORMAT_VERSION}; {rebuild_hint(root)}"
        )
    _check_manifest(gen, manifest)
    if model_id is not None and manifest["model"]["id"] != model_id:
        raise StoreError(
            f"de index in {root} is gebouwd met model {manifest['model']['id']!r}, niet {model_id!r}; "
            f"{rebuild_hint(root)}, of zoek met --model {manifest['model']['id']}"
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
        raise StoreError(f"de index in {root} is beschadigd ({type(e).__name__}: {msg}); {rebuild_hint(root)}") from None
