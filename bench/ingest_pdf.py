"""PDF ingest: speed and text quality of sdsearch's PDF reader and of the raw libraries.

    .venv/bin/python bench/ingest_pdf.py [--pages 100] [--keep out.pdf] [--dump before.json | --check before.json]

Builds a report-like PDF of about ``--pages`` pages from the corpus text with fpdf2:
running header and "Pagina N van M" footer on every page, bold headings in two sizes,
ragged paragraphs with long words hyphenated at line ends, a ruled table every few pages
and a two-column page every ten. Then it times

* ``sdsearch`` — ``sdsearch.ingest.pdf.read_pdf`` (pdfplumber words + tables + layout),
* ``pdfplumber`` — ``page.extract_text()`` per page, nothing else,
* ``pypdf`` — ``page.extract_text()`` per page (plain and ``layout`` mode),

and scores each text. ``--dump`` saves what sdsearch extracted (text, blocks, page starts)
and ``--check`` compares a later run with it: a refactoring of the reader must leave it
byte-identical (the generator is deterministic apart from the PDF's creation date).

Scores: ``sent%`` = share of the corpus sentences put on the pages that
occur verbatim (whitespace squashed), ``hdr`` = running-header lines left in the text,
``rows%`` = table rows found as one line with cells in order, ``cols%`` = two-column
pages read left column first (the generator writes the right column first into the
content stream, as some layout tools do).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
HEADER = "Gemeente Voorbeeld · Jaarstukken 2023 · Sociaal domein"
columns: list[tuple[str, str]] = []  # (first sentence left, last sentence right) per two-column page


def corpus_blocks() -> list[tuple[str, str]]:
    """(kind, text) from the corpus: short lines without a full stop are headings."""
    out: list[tuple[str, str]] = []
    for p in sorted((ROOT / "corpus").glob("*.txt")):
        for line in p.read_text(encoding="utf-8").splitlines():
            line = " ".join(line.split())
            if not line or line.startswith(("Terug naar", "Deze pagina")):
                continue
            kind = "heading" if len(line) < 80 and not line.endswith((".", ":", ";")) else "paragraph"
            out.append((kind, line))
    return out


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 30]


def hyphen_wrap(text: str, width: int) -> list[str]:
    """Wrap at ``width`` chars; a long lower-case word that does not fit is hyphenated."""
    lines: list[str] = []
    cur = ""
    for word in text.split():
        if not cur:
            cur = word
        elif len(cur) + 1 + len(word) <= width:
            cur += " " + word
        else:
            room = width - len(cur) - 2
            if len(word) >= 14 and word.isalpha() and word.islower() and room >= 6:
                cut = min(room, len(word) - 5)
                while cut > 3 and word[cut - 1] in "aeiouy" and word[cut] in "aeiouy":
                    cut -= 1  # never split a vowel pair ("huisho-udelijke")
                lines.append(f"{cur} {word[:cut]}-")
                cur = word[cut:]
            else:
                lines.append(cur)
                cur = word
    if cur:
        lines.append(cur)
    return lines


def build_pdf(path: Path, pages: int) -> tuple[list[str], list[str]]:
    """Write the benchmark PDF; returns (body sentences, table rows as 'a | b | c')."""
    from fpdf import FPDF

    unicode_font = (FONT_DIR / "DejaVuSans.ttf").is_file()

    def fix(s: str) -> str:
        return s if unicode_font else s.encode("latin-1", "replace").decode("latin-1")

    class Report(FPDF):
        def header(self) -> None:
            self.set_font(fam, "", 8)
            self.cell(0, 6, fix(HEADER), align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(6)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font(fam, "", 8)
            self.cell(0, 10, f"Pagina {self.page_no()} van {{nb}}", align="C")

    pdf = Report(format="A4")
    if unicode_font:
        pdf.add_font("DV", "", str(FONT_DIR / "DejaVuSans.ttf"))
        pdf.add_font("DV", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        fam = "DV"
    else:
        fam = "helvetica"
    pdf.set_auto_page_break(True, margin=22)
    pdf.alias_nb_pages()
    blocks = corpus_blocks()
    truth: list[str] = []
    rows_truth: list[str] = []
    columns.clear()
    pdf.add_page()
    i = part = 0
    last_table = last_columns = 1
    while pdf.page_no() < pages or pdf.get_y() < 200:
        if i % len(blocks) == 0:
            part += 1
            pdf.set_font(fam, "B", 16)
            pdf.cell(0, 10, f"Deel {part}", new_x="LMARGIN", new_y="NEXT")
        kind, text = blocks[i % len(blocks)]
        i += 1
        if pdf.page_no() - last_table >= 4:
            last_table = pdf.page_no()
            pdf.set_font(fam, "", 9)
            rows = [("Indicator", "Realisatie", "Begroting")] + [
                (f"Indicator {part}.{i}.{k}", f"{(i * 37 + k) % 900 + 100}", f"{(i * 53 + k) % 900 + 100}")
                for k in range(4)
            ]
            with pdf.table(col_widths=(100, 40, 40), width=180) as table:
                for r in rows:
                    row = table.row()
                    for c in r:
                        row.cell(c)
            rows_truth += [" | ".join(r) for r in rows]
            pdf.ln(3)
        if pdf.page_no() - last_columns >= 10 and kind == "paragraph" and len(text) > 400:
            last_columns = pdf.page_no()
            pdf.add_page()
            half = text.index(" ", len(text) // 2)
            left, right = text[:half], text[half + 1 :]
            pdf.set_font(fam, "", 10)
            y = pdf.get_y()
            # The right column goes into the content stream first, as in many real layouts,
            # so a reader must order by position, not by stream.
            pdf.set_xy(110, y)
            pdf.multi_cell(90, 5, fix(right), align="L")
            y2 = pdf.get_y()
            pdf.set_xy(10, y)
            pdf.multi_cell(90, 5, fix(left), align="L")
            pdf.set_xy(10, max(y2, pdf.get_y()) + 4)
            truth += [s for s in sentences(left)[:-1] + sentences(right)[1:]]
            columns.append((sentences(left)[0], sentences(right)[-1]))
            continue
        if kind == "heading":
            pdf.set_font(fam, "B", 12)
            pdf.ln(2)
            pdf.cell(0, 7, fix(text), new_x="LMARGIN", new_y="NEXT")
            continue
        pdf.set_font(fam, "", 10)
        for ln in hyphen_wrap(text, 95):
            pdf.cell(0, 5, fix(ln), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        truth += sentences(text)
    pdf.output(str(path))
    return truth, rows_truth


def score(text: str, truth: list[str], rows: list[str]) -> tuple[float, int, float, float]:
    flat = " ".join(text.split())
    in_order = 0
    for first_left, last_right in columns:
        a, b = flat.find(" ".join(first_left.split())), flat.find(" ".join(last_right.split()))
        in_order += 0 <= a < b
    order = in_order / max(1, len(columns))
    sent = sum(1 for s in truth if " ".join(s.split()) in flat) / max(1, len(truth))
    lines = {" ".join(ln.split()) for ln in text.splitlines()}
    row_hits = sum(1 for r in rows if r in lines or r.replace(" | ", " ") in lines) / max(1, len(rows))
    return sent, text.count("Gemeente Voorbeeld"), row_hits, order


def timed(fn, path: Path) -> tuple[str, float]:
    t0 = time.perf_counter()
    text = fn(path)
    return text, time.perf_counter() - t0


def run_sdsearch(path: Path) -> str:
    from sdsearch.ingest.pdf import read_pdf

    return read_pdf(path).text


def run_pdfplumber(path: Path) -> str:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        out = []
        for page in pdf.pages:
            out.append(page.extract_text() or "")
            page.close()
        return "\n".join(out)


def run_pypdf(path: Path, mode: str = "plain") -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text(extraction_mode=mode) or "" for p in PdfReader(path).pages)


def extraction(path: Path) -> dict[str, object]:
    from sdsearch.ingest.pdf import read_pdf

    ex = read_pdf(path)
    return {"text": ex.text, "blocks": [[b.kind, b.start, b.end, b.level] for b in ex.blocks], "pages": ex.page_starts}


def dump_or_check(path: Path, dump: Path | None, check: Path | None) -> None:
    import json

    got = extraction(path)
    if dump:
        dump.write_text(json.dumps(got, ensure_ascii=False), encoding="utf-8")
        print(f"extraction saved to {dump}")
    if check:
        want = json.loads(check.read_text(encoding="utf-8"))
        diff = [k for k in want if want[k] != got[k]]
        if not diff:
            print(f"extraction identical to {check} ({len(got['text'])} chars, {len(got['blocks'])} blocks)")
        else:
            at = next((i for i, (a, b) in enumerate(zip(want["text"], got["text"], strict=False)) if a != b), None)
            print(f"extraction DIFFERS from {check} in {', '.join(diff)} (first text difference at char {at})")
            sys.exit(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--keep", type=Path, help="also save the generated PDF here")
    ap.add_argument("--dump", type=Path, help="save sdsearch's extraction (text, blocks, pages) as JSON")
    ap.add_argument("--check", type=Path, help="compare sdsearch's extraction with a saved --dump")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "bench.pdf"
        t0 = time.perf_counter()
        truth, rows = build_pdf(path, args.pages)
        from pypdf import PdfReader

        n_pages = len(PdfReader(path).pages)
        print(
            f"generated {n_pages} pages, {len(truth)} sentences, {len(rows)} table rows in {time.perf_counter() - t0:.1f}s"
        )
        if args.dump or args.check:
            dump_or_check(path, args.dump, args.check)
        print(f"{'reader':<22}{'s':>7}{'pages/s':>9}{'sent%':>8}{'hdr':>6}{'rows%':>8}{'cols%':>8}")
        runs = [
            ("sdsearch (pdfplumber)", run_sdsearch),
            ("pdfplumber raw", run_pdfplumber),
            ("pypdf plain", run_pypdf),
            ("pypdf layout", lambda p: run_pypdf(p, "layout")),
        ]
        for name, fn in runs:
            text, secs = timed(fn, path)
            sent, hdr, row_hits, order = score(text, truth, rows)
            print(
                f"{name:<22}{secs:>7.2f}{n_pages / secs:>9.1f}{100 * sent:>8.1f}{hdr:>6}{100 * row_hits:>8.1f}"
                f"{100 * order:>8.1f}"
            )


if __name__ == "__main__":
    main()
