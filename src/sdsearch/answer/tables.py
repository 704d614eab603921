"""Tables as the reports print them: a header line with column labels (years, dates, places)
and a unit ("Baten en lasten meerjarig (x € 1.000) 2020 2021 2022 2023"), then rows of a
label and one figure per column ("Lasten 137.096 135.097 134.019 132.910").

A table answer is the cell addressed by its row (the row label holds the question's words)
and its column (the header label holds the year, date or place the question names), with
the header's unit stated: "Lasten 2020: 137.096 (x € 1.000)". A header line is never an
answer, and a cell the report leaves empty ("g.g.b.") is no answer either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..analysis import fold

# One figure cell: "137.096", "67,8", "8,0", "-1.190", "2,16 (2015)", "12%"; or "no data".
_CELL = r"(?:[-+]?€?\s?\d[\d.,]*%?(?:\s\((?:19|20)\d{2}\))?|g\.g\.b\.|n\.v\.t\.|nvt|-)"
_TRAILING_CELL = re.compile(rf"(?:^|\s)({_CELL})\s*$")
_NO_DATA = re.compile(r"^(?:g\.g\.b\.|n\.v\.t\.|nvt|-)$", re.I)
# Column labels: a year, a date like 1/1/'20 or 31/12/'20, or the change columns + and -.
_COLUMN_TOKEN = re.compile(r"^(?:(?:19|20)\d{2}|\d{1,2}/\d{1,2}/(?:'?\d{2}|\d{4})|[+-])$")
_UNIT = re.compile(r"\((?:bedragen\s+)?(x\s*€\s*[\d.]+|x\s*[\d.]+|in\s+€|€|%|aantallen)\)", re.I)
_DATE_LABEL = re.compile(r"^(\d{1,2})/(\d{1,2})/'?(\d{2,4})$")


@dataclass(frozen=True)
class Header:
    text: str
    labels: tuple[str, ...]  # one per column, left to right
    unit: str | None  # "x € 1.000"


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[tuple[int, int], ...]  # offsets of each figure in the row text


def row_cells(line: str, max_cells: int = 12) -> Row | None:
    """The label and the trailing figure cells of a table row, or None for a line of prose."""
    cells: list[tuple[int, int]] = []
    end = len(line.rstrip())
    while len(cells) < max_cells:
        m = _TRAILING_CELL.search(line[:end])
        if not m:
            break
        cells.append((m.start(1), m.end(1)))
        end = m.start(1)
    if not cells:
        return None
    cells.reverse()
    label = line[: cells[0][0]].strip()
    if not re.search(r"[^\W\d_]{3,}", label) or len(label) > 160 or label.rstrip().endswith((".", ":")):
        return None
    if len(cells) == 1 and not re.search(r"\d", line[cells[0][0] : cells[0][1]]):
        return None
    return Row(label, tuple(cells))


def header_of(line: str) -> Header | None:
    """Column labels and unit of a header line, or None when ``line`` is no header."""
    unit_m = _UNIT.search(line)
    unit = unit_m.group(1) if unit_m else None
    tail = line[unit_m.end() :] if unit_m else line
    tail = re.sub(r"(\d[\d.]*)\s+-\s+(\d)", r"\1-\2", tail)  # "50.000 - 100.000 inw." is one label
    words = tail.split()
    is_col = [bool(_COLUMN_TOKEN.match(w)) for w in words]
    # "+" and "-" are columns only beside other columns ("1/1/'20 + - 31/12/'20"), not in "Thuis - MVS".
    for i, w in enumerate(words):
        if w in "+-" and is_col[i]:
            near = [words[j] for j in (i - 1, i + 1) if 0 <= j < len(words)]
            is_col[i] = any(_COLUMN_TOKEN.match(x) for x in near)
    if sum(is_col) < 2:
        return None
    # Each label is the words up to and including a column token: "Nederland 2018".
    labels: list[str] = []
    pending: list[str] = []
    for w, col in zip(words, is_col, strict=True):
        pending.append(w)
        if col:
            labels.append(" ".join(pending))
            pending = []
    if pending and labels:
        labels[-1] = labels[-1] + " " + " ".join(pending)
    if unit_m is None and labels:
        # No unit: the first label carries the table's title words; keep only its last part.
        first = labels[0].split()
        keep = [first[-1]]
        for w in reversed(first[:-1]):
            if re.fullmatch(r"[A-Z][\w.-]*|\d[\d.]*|-|inw\.", w) and fold(w) not in ("bron",):
                keep.insert(0, w)
            else:
                break
        labels[0] = " ".join(keep)
    return Header(line, tuple(labels), unit)


def is_header(line: str) -> bool:
    """A header line: column labels at its end (a year, a date, + or -) and no closing full stop."""
    s = line.strip()
    if not s or s[-1] in ".:;!?" or len(s) > 200:
        return False
    return header_of(s) is not None and _COLUMN_TOKEN.match(s.split()[-1]) is not None


# How a question names the country column and the column of gemeenten of the same size.
_COUNTRY = frozenset("landelijk landelijke nationaal nationale heel".split())
_SIZE_CLASS = frozenset("vergelijkbare vergelijkbaar grootte omvang even".split())


def _label_keys(label: str) -> tuple[set[int], set[str]]:
    """Years and words a column label answers to: 1/1/'20 → 2020, "1 januari", "begin"."""
    years = {int(y) for y in re.findall(r"\b(?:19|20)\d{2}\b", label)}
    words = set(re.findall(r"[^\W\d_]{3,}", fold(label)))
    # Other figures in a label name a class: "50.000 - 100.000 inw." answers "gemeenten met 50.000 tot 100.000 inwoners".
    words |= {n.replace(".", "") for n in re.findall(r"\d[\d.]{2,}", label) if not re.fullmatch(r"(?:19|20)\d{2}", n)}
    if "nederland" in words:
        words |= _COUNTRY
    if "inw" in words:
        words |= _SIZE_CLASS
    for tok in label.split():
        m = _DATE_LABEL.match(tok)
        if m:
            day, month, y = int(m.group(1)), int(m.group(2)), m.group(3)
            year = int(y) if len(y) == 4 else 2000 + int(y)
            years.add(year)
            if (day, month) == (1, 1):
                words |= {"begin", "januari", "start", "aanvang", "begonnen"}
            if (day, month) == (31, 12):
                words |= {"eind", "einde", "december", "ultimo", "eindstand"}
        elif tok == "+":
            words |= {"toevoeging", "toevoegingen", "toegevoegd", "storting", "bij", "stijgt", "toename", "groeit"}
        elif tok == "-":
            words |= {"onttrekking", "onttrekkingen", "onttrokken", "af", "daalt", "daling", "afname", "minder"}
    return years, words


def _words_match(qwords: set[str], words: set[str]) -> int:
    """Label words the question names, also as another form ("Vlaardingse" ~ "Vlaardingen")."""
    return sum(1 for w in words if w in qwords or any(len(q) >= 5 and q[:6] == w[:6] for q in qwords))


def choose_column(
    header: Header,
    question: str,
    n_cells: int,
    own: str | None = None,
    own_year: int | None = None,
    cells: list[str] | None = None,
) -> int | None:
    """The column the question addresses, or None when it names none or one the table lacks.

    A year named in the question must be in the label; words ("Nederland", "eind",
    "onttrekking") break ties, then the report's own gemeente (``own``): "Vlaardingen 2018"
    before "Nederland 2018". With one column, that column.
    """
    labels = list(header.labels[-n_cells:]) if len(header.labels) >= n_cells else None
    if labels is None or len(labels) != n_cells:
        return None
    if n_cells == 1:
        return 0
    qf = fold(question)
    qyears = {int(y) for y in re.findall(r"\b(?:19|20)\d{2}\b", question)}
    qwords = set(re.findall(r"[^\W\d_]{3,}", qf))
    qwords |= {n.replace(".", "") for n in re.findall(r"\d[\d.]{2,}", question) if not re.fullmatch(r"(?:19|20)\d{2}", n)}
    # "+" and "-" (added, withdrawn) belong to the period the date columns span.
    period = set().union(*(_label_keys(lab)[0] for lab in labels))
    own_words = set(re.findall(r"[^\W\d_]{3,}", fold(own))) if own else set()
    best, best_key = None, (0.0, False, 0)
    for i, lab in enumerate(labels):
        years, words = _label_keys(lab)
        if cells is not None and i < len(cells):
            # A cell may say its own year: "2,16 (2015)" under "Vlaardingen 2017" is a 2015 figure.
            years = years | {int(y) for y in re.findall(r"\(((?:19|20)\d{2})\)", cells[i])}
        if lab in ("+", "-"):
            years = years | period
        if qyears and not (qyears & years):
            continue
        # The report's own gemeente names the document as much as the column ("de Vlaardingse
        # indicatorentabel voor Nederland 2018"): it breaks ties, it does not outweigh a named column.
        score = 2.0 * len(qyears & years) + _words_match(qwords, words - own_words)
        if own and fold(own) in words:
            score += 0.5
        # Ties (no year asked): the report's own year, else the latest column.
        key = (score, own_year in years, max(years, default=0))
        if (score > 0 or own_year in years) and key > best_key:
            best, best_key = i, key
    return best


def column_words(header: Header, col: int, n_cells: int) -> str:
    """The words a column label answers to, as text: 31/12/'20 → "eind einde december ultimo eindstand"."""
    labels = header.labels[-n_cells:]
    if col >= len(labels):
        return ""
    return " ".join(sorted(_label_keys(labels[col])[1]))


def cell_text(row_text: str, cell: tuple[int, int]) -> str:
    return row_text[cell[0] : cell[1]]


def is_no_data(value: str) -> bool:
    return bool(_NO_DATA.match(value.strip()))


def statement(row: Row, header: Header, col: int | None, value: str) -> str:
    """ "Lasten 2020: 137.096 (x € 1.000)" — the cell put in words, unit stated. Without a
    column (one figure under several year columns) the row label alone: "Kleding- en voedselbank: 240 (x € 1.000)"."""
    unit = f" ({header.unit})" if header.unit else ""
    if col is None:
        return f"{row.label}: {value}{unit}"
    n = len(row.cells)
    labels = header.labels[-n:]
    lab = labels[col]
    if lab in ("+", "-"):  # "Inburgering onttrekking 2020: 0", not "Inburgering -: 0"
        years = sorted(set().union(*(_label_keys(x)[0] for x in labels)))
        lab = ("toevoeging" if lab == "+" else "onttrekking") + (f" {years[0]}" if len(years) == 1 else "")
    return f"{row.label} {lab}: {value}{unit}"
