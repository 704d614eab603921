"""Snippets for people show the part of a long passage that matched."""

from __future__ import annotations

from sdsearch.render import clean, snippet

TEXT = (
    "Het jaar 2023 stond voor wat betreft het sociaal domein in het teken van visievorming. "
    "Corona lijkt inmiddels echt achter ons te liggen. "
    "En in 2023 hebben we Mrija gerealiseerd, de wijk voor grootschalige opvang van ruim 1000 ontheemde Oekraïners. "
    "De wijk telt 387 flexwoningen, een school voor basisonderwijs met 10 klaslokalen en een gymzaal."
)


def test_short_text_is_shown_whole() -> None:
    assert snippet("Beschermd wonen is aanbesteed.", ["wonen"], 400) == "Beschermd wonen is aanbesteed."


def test_long_text_shows_the_sentences_with_the_matched_words() -> None:
    s = snippet(TEXT, ["mrija", "flexwoningen"], 160)
    assert s.startswith("… En in 2023 hebben we Mrija")
    assert len(s) <= 160 + 4


def test_without_matches_the_start_is_shown() -> None:
    s = snippet(TEXT, [], 100)
    assert s.startswith("Het jaar 2023") and s.endswith(" …")


def test_clean_strips_terminal_control_sequences() -> None:
    assert clean("Wmo\x1b[2J\x1b]0;titel\x07 hulp\u202e") == "Wmo hulp"
