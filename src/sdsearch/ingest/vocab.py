"""Words for the kinds of report, and what a year looks like: shared by every metadata source."""

from __future__ import annotations

import re

# A word in a title or name → the document type it stands for.
DOC_TYPES = {
    "jaarstukken": "jaarstukken",
    "jaarrekening": "jaarstukken",
    "jaarverslag": "jaarverslag",
    "programmaverantwoording": "jaarverslag",
    "programmabegroting": "programmabegroting",
    "begroting": "programmabegroting",
    "meerjarenbegroting": "programmabegroting",
    "voorjaarsnota": "voorjaarsnota",
    "kadernota": "kadernota",
    "perspectiefnota": "perspectiefnota",
    "najaarsnota": "najaarsnota",
    "bestuursrapportage": "bestuursrapportage",
    "burap": "bestuursrapportage",
    "voortgangsrapportage": "bestuursrapportage",
}
# Types that look ahead (plans for the coming year) and types that look back (accounts).
FORWARD = frozenset({"programmabegroting", "voorjaarsnota", "kadernota", "perspectiefnota"})
BACKWARD = frozenset({"jaarstukken", "jaarverslag", "najaarsnota", "bestuursrapportage"})

YEAR = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)(?!\d)")
TYPE_WORDS = "|".join(sorted(DOC_TYPES, key=len, reverse=True))
# A type word as a whole word ("ontwerpbegroting" and "begrotingswijziging" are other things).
TYPE_WORD = re.compile(r"(?<![\w-])(" + TYPE_WORDS + r")(?![\w-])", re.I)
# A type word with the year right after it: "Programmabegroting 2020", "meerjarenbegroting 2020-2023".
TYPE_YEAR = re.compile(
    r"(?<![\w-])(" + "|".join(sorted([*DOC_TYPES, "meerjarenraming"], key=len, reverse=True)) + r")"
    r"\s+(?:van\s+)?(19[89]\d|20[0-4]\d)(?!\d)",
    re.I,
)


def type_of(word: str) -> str | None:
    """The document type a word stands for ("Jaarrekening" → "jaarstukken"), else None."""
    w = word.lower()
    return "programmabegroting" if w == "meerjarenraming" else DOC_TYPES.get(w)
