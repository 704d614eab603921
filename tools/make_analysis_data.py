"""Write the Dutch analyzer's data files in src/sdsearch/data/ from spaCy and wordfreq.

    pip install "spacy>=3.7,<4" "wordfreq>=3.0"
    python tools/make_analysis_data.py          # rewrites the three files
    python tools/make_analysis_data.py --check  # exits 1 when a file would change

The analyzer reads these files instead of importing spaCy or wordfreq, so a search
starts without either (issue 15). Run this only when moving to another spaCy or
wordfreq release; if a file changes, bump ``analysis.ANALYZER_VERSION``.

* ``nl_stopwords.txt``: spaCy's Dutch stop words, one per line, as spaCy spells them
  (the analyzer folds them and adds its own few).
* ``nl_tokenizer_exceptions.txt``: spaCy's Dutch tokenizer exceptions (its abbreviation
  list "o.a.", "bijv.", ... and the language-independent ones), one per line; the few that
  are more than one token carry their pieces after a tab, space-separated.
* ``nl_lexicon.txt``: wordfreq's Dutch words with a Zipf frequency of at least 2.5, folded
  (lower case, no diacritics; for words that fold alike the highest frequency), one line
  per frequency bucket: ``N word word ...`` where the Zipf value is
  ``log10(10 ** (-N / 100)) + 9``, exactly the float wordfreq's own dictionary gives.
"""

from __future__ import annotations

import argparse
import math
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "src" / "sdsearch" / "data"
MIN_ZIPF = 2.5  # analysis._MIN_ZIPF


def fold(text: str) -> str:
    import re

    combining = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
    if text.isascii():
        return text.lower()
    return combining.sub("", unicodedata.normalize("NFKD", text.lower()))


def stopwords() -> str:
    from spacy.lang.nl.stop_words import STOP_WORDS

    return "".join(w + "\n" for w in sorted(STOP_WORDS))


def tokenizer_exceptions() -> str:
    import spacy
    from spacy.symbols import ORTH

    rules = spacy.blank("nl").tokenizer.rules
    lines = []
    for orth in sorted(rules):
        if any(ch.isspace() for ch in orth):
            continue  # whitespace never reaches the tokenizer's exception lookup
        pieces = [t[ORTH] for t in rules[orth]]
        if "".join(pieces) != orth:
            raise SystemExit(f"exception {orth!r} does not spell itself: {pieces}")
        lines.append(orth if pieces == [orth] else orth + "\t" + " ".join(pieces))
    return "".join(line + "\n" for line in lines)


def lexicon() -> str:
    import wordfreq

    # The same selection analysis._lexicon made from wordfreq before 0.2.
    lex: dict[str, float] = {}
    floor = 10 ** (MIN_ZIPF - 9)
    for w, f in wordfreq.get_frequency_dict("nl").items():
        if f >= floor and w.isalpha():
            key = fold(w)
            lex[key] = max(lex.get(key, 0.0), math.log10(f) + 9)
    buckets: dict[int, list[str]] = defaultdict(list)
    for w, z in lex.items():
        n = round((9 - z) * 100)
        if math.log10(10 ** (-n / 100)) + 9 != z:
            raise SystemExit(f"{w!r}: Zipf {z!r} is not a whole centibel bucket")
        buckets[n].append(w)
    from importlib.metadata import version

    head = (f"# wordfreq {version('wordfreq')} 'nl', Zipf >= {MIN_ZIPF}, folded; "
            "N word ...: Zipf = log10(10 ** (-N / 100)) + 9\n")
    return head + "".join(f"{n} {' '.join(sorted(ws))}\n" for n, ws in sorted(buckets.items()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare with the files in src/sdsearch/data")
    args = ap.parse_args()
    files = {
        "nl_stopwords.txt": stopwords(),
        "nl_tokenizer_exceptions.txt": tokenizer_exceptions(),
        "nl_lexicon.txt": lexicon(),
    }
    changed = 0
    for name, text in files.items():
        path = DATA / name
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            print(f"{name}: unchanged")
            continue
        changed += 1
        if args.check:
            print(f"{name}: would change")
        else:
            DATA.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"{name}: written ({len(text.encode()):,} bytes)")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
