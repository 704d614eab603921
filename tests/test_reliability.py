"""Reliability matrix: bad queries, bad files, a damaged or busy index, unsafe input.

Every case asserts what the user sees (the message and the exit status) and that the
index that was there before still answers. CLI cases run the real ``sdsearch`` entry
point in a subprocess; library cases use the fake encoder where the model is beside the
point. The kill -9 test lives in ``test_kill.py``, the property tests in ``test_properties.py``.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from sdsearch.api import build_index
from sdsearch.config import Settings
from sdsearch.ingest import IngestError, ingest, read_document
from sdsearch.render import clean
from sdsearch.retrieve import MAX_QUERY_CHARS, QueryError, Retriever, tidy_query
from sdsearch.store import CURRENT, BuildLock, StoreError, current_generation, open_index, verify_files

from conftest import CORPUS, ROOT, FakeEncoder, write_corpus

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# --- helpers ------------------------------------------------------------------------------


def sdsearch(*args: str | bytes, stdin: str | None = None, cwd: Path | None = None, env: dict[str, str] | None = None,
             timeout: int = 240) -> subprocess.CompletedProcess[str]:
    """Run the real ``sdsearch`` command; stdout/stderr as text (undecodable bytes replaced)."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    full_env.pop("SDSEARCH_INDEX", None)
    full_env.pop("SDSEARCH_CORPUS", None)
    full_env.pop("SDSEARCH_DEBUG", None)
    r = subprocess.run(
        [sys.executable, "-m", "sdsearch", *args],
        input=stdin.encode() if stdin is not None else None,
        capture_output=True,
        cwd=cwd or ROOT,
        env=full_env,
        timeout=timeout,
    )
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace"))


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real entry point in this process (click's runner): the model loads once for many cases."""
    from click.testing import CliRunner

    from sdsearch.cli import cli

    r = CliRunner().invoke(cli, list(args), input=stdin, prog_name="sdsearch", catch_exceptions=False)
    return subprocess.CompletedProcess(["sdsearch", *args], r.exit_code, r.stdout, r.stderr)


def error_line(r: subprocess.CompletedProcess[str]) -> str:
    """The one line an error prints (asserting there is exactly one and no traceback)."""
    assert "Traceback" not in r.stderr, r.stderr
    # `sdsearch index` first says what it is about to do ("Indexeren: …"); the error is one line.
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith(("bm25s:", "Indexeren: "))]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("sdsearch: "), lines[0]
    return lines[0]


def assert_answers(index: Path, query: str = "flexwoningen Mrija", expect: str = "387 flexwoningen") -> None:
    """The index opens, passes its checks and finds ``expect`` for ``query`` (real CLI)."""
    r = sdsearch("search", query, "-k", "3", "--json", "--index", str(index))
    assert r.returncode == 0, r.stderr
    hits = json.loads(r.stdout)["hits"]
    assert any(expect in h["text"] for h in hits), hits


def copy_index(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def sparse_search(index: Path, query: str) -> list[str]:
    """Texts of the top hits, BM25 only (no model needed): "does the index still answer"."""
    r = Retriever(open_index(index), None, Settings(mode="sparse"))
    return [h.text for h in r.search([query], k=3)[0]]


# =========================================================================================
# 1. Bad queries
# =========================================================================================

LONG_QUERY = ("Hoeveel inwoners van Velsen ontvingen in 2022 een bijstandsuitkering " * 150)[:10_000]


@pytest.mark.slow
@pytest.mark.parametrize(
    "query, rc, stderr_has, stdout_has",
    [
        pytest.param("", 1, "sdsearch: lege zoekvraag", "", id="empty"),
        pytest.param("  \t  ", 1, "sdsearch: lege zoekvraag", "", id="whitespace"),
        pytest.param("\x1b\x07\x7f\x00", 1, "alleen stuurtekens", "", id="only-control-chars"),
        pytest.param("?!…;--", 0, "sdsearch: zoekvraag '?!…;--' bevat geen letters of cijfers", "Geen passages gevonden.", id="punctuation"),
        pytest.param("🏠👍", 0, "bevat geen letters of cijfers", "Geen passages gevonden.", id="emoji-only"),
        pytest.param(LONG_QUERY, 0, "sdsearch: zoekvraag van 10.000 tekens ingekort tot", "1. ", id="10000-chars"),
        pytest.param("flexwoningen\x1b[2J\x07 Mrija\x00", 0, "", "gevonden: mrija, flexwoningen", id="control-chars"),
        pytest.param("flexwoningen Mrija 🏠", 0, "", "gevonden: mrija, flexwoningen", id="emoji-and-words"),
        pytest.param("how many temporary homes were built for Ukrainian refugees", 0, "", "1. ", id="english"),
        pytest.param("'; DROP TABLE passages; -- OR 1=1", 0, "", "", id="sql-like"),
        pytest.param("<script>alert('x')</script> flexwoningen Mrija", 0, "", "mrija, flexwoningen", id="html-like"),
    ],
)
def test_bad_query_gets_a_result_or_one_clear_line(real_index: Path, query: str, rc: int, stderr_has: str, stdout_has: str) -> None:
    r = run_cli("search", query, "-k", "3", "--index", str(real_index))
    assert r.returncode == rc, r.stderr
    assert "Traceback" not in r.stderr
    if rc:
        assert stderr_has in error_line(r)
    else:
        assert stderr_has in r.stderr
        assert stdout_has in r.stdout
        assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    # Nothing a query does touches the index.
    assert sparse_search(real_index, "flexwoningen Mrija")


@pytest.mark.slow
def test_bad_queries_in_a_real_process(real_index: Path) -> None:
    # Bytes that are not UTF-8 on the command line arrive as undecodable characters.
    r = sdsearch("search", b"\xff\xfe", "--index", str(real_index))
    assert r.returncode == 1
    assert "alleen stuurtekens of onleesbare bytes" in error_line(r)
    # Notices reach the terminal's stderr, one line each; answers go on.
    lines = ["???", LONG_QUERY, "flexwoningen Mrija"]
    r = sdsearch("search", "-", "-k", "2", "--index", str(real_index), stdin="\n".join(lines) + "\n")
    assert r.returncode == 0, r.stderr
    notes = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(notes) == 2, r.stderr
    assert notes[0] == "sdsearch: zoekvraag '???' bevat geen letters of cijfers; er is niets te zoeken"
    assert notes[1].startswith("sdsearch: zoekvraag van 10.000 tekens ingekort tot de eerste ")
    assert notes[1].endswith(" (het model leest ongeveer 512 tokens)")
    assert r.stdout.count("» ") == 3 and "Geen passages gevonden." in r.stdout


@pytest.mark.slow
def test_ask_with_bad_questions(real_index: Path) -> None:
    r = run_cli("ask", "???", "--index", str(real_index))
    assert r.returncode == 0 and "Geen duidelijk antwoord" in r.stdout
    assert "bevat geen letters of cijfers" in r.stderr
    r = run_cli("ask", LONG_QUERY, "--index", str(real_index))
    assert r.returncode == 0 and "ingekort tot" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("ask", " ", "--index", str(real_index))
    assert r.returncode == 1 and "lege zoekvraag" in error_line(r)


@pytest.mark.slow
def test_batch_of_odd_queries_answers_each(real_index: Path) -> None:
    lines = ["flexwoningen Mrija", "???", "<b>bijstand</b> Velsen", "Wat zijn de kosten? 💶", "SELECT * FROM hits"]
    r = run_cli("search", "-", "-k", "2", "--json", "--index", str(real_index), stdin="\n".join(lines) + "\n")
    assert r.returncode == 0, r.stderr
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["query"] for o in objs] == lines
    assert objs[1]["hits"] == [] and all(o["hits"] for i, o in enumerate(objs) if i != 1)


def test_tidy_query_cuts_long_queries_with_a_notice(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="sdsearch"):
        q = tidy_query("woord " * 5000)
    assert len(q) <= MAX_QUERY_CHARS and q.endswith("woord")
    assert "ingekort tot" in caplog.text
    assert tidy_query("a\x00b\x1b[31m c\u202e d\ud800 \x1b]0;titel\x07e") == "a b c d e"
    with pytest.raises(QueryError, match="moet tekst zijn"):
        tidy_query(b"bytes")  # type: ignore[arg-type]


def test_retriever_answers_odd_queries_in_a_batch(small_index: Path, fake_encoder: FakeEncoder) -> None:
    r = Retriever(open_index(small_index), fake_encoder)
    out = r.search(["flexwoningen Mrija", "?!", "x" * 20_000, "Mrija\x00\x1b"], k=2)
    assert "387" in out[0][0].text and out[1] == [] and out[3]
    with pytest.raises(QueryError, match="lege zoekvraag"):
        r.search(["flexwoningen", "   "])
    with pytest.raises(QueryError, match="lijst zoekvragen"):
        r.search("flexwoningen")  # type: ignore[arg-type]


# =========================================================================================
# 2. Bad files
# =========================================================================================


def _pdf(path: Path, encrypt: bool = False) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Beschermd wonen\nDe taken voor beschermd wonen gaan in 2024 naar de regiogemeenten.")
    pdf.output(str(path))
    if encrypt:
        from pypdf import PdfWriter

        writer = PdfWriter(clone_from=str(path))
        writer.encrypt("geheim")
        with open(path, "wb") as fh:
            writer.write(fh)
    return path


def _make_bad_file(folder: Path, case: str) -> str:
    """Create the file for ``case`` in ``folder``; returns its name as the report shows it."""
    if case == "empty":
        (folder / "leeg.txt").write_bytes(b"")
        return "leeg.txt"
    if case == "binary-with-txt-name":
        (folder / "plaatje.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
        return "plaatje.txt"
    if case == "invalid-utf8":
        (folder / "kapot.txt").write_bytes(b"\x81\x8d\x8f\x90\x9d geen tekst \xff\xfe")
        return "kapot.txt"
    if case == "huge-200mb":
        with open(folder / "groot.txt", "wb") as f:  # sparse: 200 MB on paper, no time to write
            f.write(b"Groot\nEen heel groot bestand.\n" * 100)
            f.truncate(200 * 2**20)
        return "groot.txt"
    if case == "encrypted-pdf":
        _pdf(folder / "dicht.pdf", encrypt=True)
        return "dicht.pdf"
    if case == "corrupt-pdf":
        good = _pdf(folder / "tmp-goed.pdf").read_bytes()
        (folder / "tmp-goed.pdf").unlink()
        (folder / "afgebroken.pdf").write_bytes(good[: len(good) // 3])
        return "afgebroken.pdf"
    if case == "not-a-pdf":
        (folder / "nep.pdf").write_bytes(os.urandom(3000))
        return "nep.pdf"
    if case == "corrupt-docx":
        (folder / "kapot.docx").write_bytes(b"PK\x03\x04" + os.urandom(400))
        return "kapot.docx"
    if case == "dir-symlink-loop":
        (folder / "sub").mkdir()
        (folder / "sub" / "lus").symlink_to("..", target_is_directory=True)
        return "sub/lus"
    if case == "file-symlink-loop":
        (folder / "lus.txt").symlink_to("lus.txt")
        return "lus.txt"
    if case == "broken-symlink":
        (folder / "weg.txt").symlink_to("bestaat-niet.txt")
        return "weg.txt"
    if case == "fifo-with-txt-name":
        os.mkfifo(folder / "pijp.txt")
        return "pijp.txt"
    if case == "unreadable":
        p = folder / "geheim.txt"
        p.write_text("Geheim\nNiet te lezen.\n", encoding="utf-8")
        p.chmod(0)
        return "geheim.txt"
    if case == "non-utf8-name":
        with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as f:
            f.write(b"Koffie\nDe koffie is op.\n")
        return "caf\ufffd.txt"
    if case == "escape-in-name":
        (folder / "rood\x1b[31m.txt").write_bytes(b"")
        return "rood\x1b[31m.txt"
    raise AssertionError(case)


BAD_FILES = {
    # case: the reason the report gives
    "empty": "leeg bestand",
    "binary-with-txt-name": "binaire gegevens, geen tekst",
    "invalid-utf8": "geen geldige UTF-8 (eerste foute byte op positie 0) en geen Windows-1252",
    "huge-200mb": "bestand te groot (200 MB; de grens is 50 MB, verhoog die met SDSEARCH_MAX_FILE_MB)",
    "encrypted-pdf": "versleutelde PDF",
    "corrupt-pdf": "PDF",
    "not-a-pdf": "geen PDF (geen %PDF-kop aan het begin)",
    "corrupt-docx": "geen DOCX-bestand",
    "dir-symlink-loop": "link naar een map; links naar mappen worden niet gevolgd",
    "file-symlink-loop": "bestand niet leesbaar: te veel links achter elkaar",
    "broken-symlink": "kapotte link (het doel bestaat niet)",
    "fifo-with-txt-name": "geen gewoon bestand (een named pipe)",
    "unreadable": "bestand niet leesbaar: geen leesrechten",
    "non-utf8-name": "bestandsnaam is geen geldige UTF-8; geef het bestand een andere naam",
    "escape-in-name": "leeg bestand",
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_is_skipped_with_its_reason_and_the_rest_is_read(tmp_path: Path, case: str) -> None:
    if case == "unreadable" and IS_ROOT:
        pytest.skip("root reads files without read permission; the FIFO and broken-link cases cover unreadable files")
    corpus = write_corpus(tmp_path / "c", {"goed.txt": "Wmo\nDe Wmo helpt inwoners die het niet zelf redden.\n"})
    name = _make_bad_file(corpus, case)
    # A huge file or a pipe must not stall the build: a hang guard, not a speed limit.
    result: list = []
    worker = threading.Thread(target=lambda: result.append(ingest([corpus])), daemon=True)
    worker.start()
    worker.join(timeout=300)
    assert not worker.is_alive(), "ingest hung on a bad file"
    report = result[0]
    assert [d.source for d in report.documents] == ["goed.txt"]
    reasons = dict(report.skipped)
    assert name in reasons, report.skipped
    assert BAD_FILES[case] in reasons[name]


def test_windows_1252_and_utf16_files_are_read_with_a_note(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "oud.txt").write_bytes("Beëindiging\nDe regeling is beëindigd per 1 januari.\n".encode("cp1252"))
    (corpus / "kladblok.txt").write_bytes("Privé\nDe notitie is opgeslagen als Unicode.\n".encode("utf-16"))
    report = ingest([corpus])
    assert sorted(d.source for d in report.documents) == ["kladblok.txt", "oud.txt"]
    notes = dict(report.notes)
    assert "gelezen als Windows-1252" in notes["oud.txt"]
    assert "UTF-16" in notes["kladblok.txt"]
    assert "beëindigd" in next(d.text for d in report.documents if d.source == "oud.txt")


def test_names_with_spaces_and_non_ascii_are_read_and_cited(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    name = "Súdwest-Fryslân/jaarverslag 2022 Ærø ‘sociaal’.txt"
    corpus = write_corpus(tmp_path / "c", {name: "Armoede\nIn Súdwest-Fryslân helpen we 200 gezinnen met schulden.\n"})
    build_index([corpus], tmp_path / "idx", Settings(), encoder=fake_encoder)
    hit = Retriever(open_index(tmp_path / "idx"), fake_encoder).search(["gezinnen schulden"], k=1)[0][0]
    assert hit.source == name and hit.year == 2022
    assert (corpus / hit.source).read_text(encoding="utf-8")[hit.passage.char_start : hit.passage.char_end] == hit.text


def test_file_size_limit_is_a_setting(tmp_path: Path, fake_encoder: FakeEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_corpus(tmp_path / "c", {"klein.txt": "Wmo\nDe Wmo helpt.\n", "middel.txt": "Jeugd\n" + "Jeugdhulp helpt. " * 20_000})
    monkeypatch.setenv("SDSEARCH_MAX_FILE_MB", "0.1")
    r = build_index([corpus], tmp_path / "idx", Settings.load(), encoder=fake_encoder)
    assert r.skipped == [("middel.txt", "bestand te groot (0,32 MB; de grens is 0,1 MB, verhoog die met SDSEARCH_MAX_FILE_MB)")]
    monkeypatch.setenv("SDSEARCH_MAX_FILE_MB", "0")  # 0: no limit
    r = build_index([corpus], tmp_path / "idx", Settings.load(), encoder=fake_encoder)
    assert r.skipped == [] and r.documents == 2


def test_read_document_never_reads_a_pipe_or_a_folder(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pijp.txt")
    (tmp_path / "map.txt").mkdir()
    with pytest.raises(IngestError, match="named pipe"):
        read_document(tmp_path / "pijp.txt", tmp_path)
    with pytest.raises(IngestError, match="een map"):
        read_document(tmp_path / "map.txt", tmp_path)


@pytest.mark.skipif(IS_ROOT, reason="root can list folders without read permission")
def test_unreadable_folder_is_reported(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c", {"goed.txt": "Wmo\nDe Wmo helpt.\n", "dicht/x.txt": "Jeugd\nJeugdhulp.\n"})
    (corpus / "dicht").chmod(0)
    try:
        report = ingest([corpus])
    finally:
        (corpus / "dicht").chmod(0o755)
    assert ("dicht", "map niet leesbaar: geen leesrechten") in report.skipped


@pytest.mark.slow
def test_index_with_every_kind_of_bad_file_reports_each_and_exits_3(tmp_path: Path, real_index: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    shutil.copy(CORPUS / "vlaardingen-jaarstukken-2023-sociaal-domein.txt", corpus)
    (corpus / "Súdwest Fryslân jaarverslag 2022.txt").write_text("Armoede\nIn Súdwest-Fryslân helpen we 200 gezinnen.\n", encoding="utf-8")
    expected = {}
    for case in BAD_FILES:
        if case == "unreadable" and IS_ROOT:
            continue
        expected[clean(_make_bad_file(corpus, case))] = BAD_FILES[case]
    index = copy_index(real_index, tmp_path / "idx")  # an index that was there before
    r = sdsearch("index", str(corpus), "--index", str(index))
    assert r.returncode == 3, r.stderr
    assert "Traceback" not in r.stderr and "\x1b" not in r.stderr
    skipped = {line.split(": ", 2)[1]: line.split(": ", 2)[2] for line in r.stderr.splitlines() if line.startswith("overgeslagen: ")}
    assert set(skipped) == set(expected), r.stderr
    for name, reason in expected.items():
        assert reason in skipped[name], (name, skipped[name])
    assert f"sdsearch: {len(expected)} bestanden overgeslagen (hierboven genoemd); de rest is geïndexeerd" in r.stderr
    assert "2 documenten geïndexeerd" in r.stdout
    assert_answers(index, "gezinnen Súdwest-Fryslân", "200 gezinnen")
    # The manifest remembers what was skipped, for `sdsearch info`.
    assert len(open_index(index).manifest["corpus"]["skipped"]) == len(expected)


@pytest.mark.slow
def test_build_without_readable_files_fails_and_keeps_the_previous_index(tmp_path: Path, real_index: Path) -> None:
    index = copy_index(real_index, tmp_path / "idx")
    corpus = tmp_path / "c"
    corpus.mkdir()
    _make_bad_file(corpus, "empty")
    _make_bad_file(corpus, "binary-with-txt-name")
    r = sdsearch("index", str(corpus), "--index", str(index))
    assert r.returncode == 1
    assert "geen leesbare documenten in" in error_line(r) and "overgeslagen:" in error_line(r)
    assert_answers(index)


def test_missing_corpus_path_is_one_line(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    from sdsearch.api import BuildError

    with pytest.raises(BuildError, match="bestaat niet"):
        build_index([tmp_path / "nergens"], tmp_path / "idx", Settings(), encoder=fake_encoder)


# =========================================================================================
# 3. A safe index
# =========================================================================================


def test_build_writes_checksums_and_leaves_no_temporary_files(small_index: Path) -> None:
    gen = current_generation(small_index)
    assert gen is not None
    pointer = (small_index / CURRENT).read_text().splitlines()
    assert pointer[0] == gen.name and pointer[1].startswith("manifest-sha256 ")
    import hashlib

    assert pointer[1].split()[1] == hashlib.sha256((gen / "manifest.json").read_bytes()).hexdigest()
    files = open_index(small_index).manifest["files"]
    on_disk = {p.relative_to(gen).as_posix() for p in gen.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(files) == on_disk
    verify_files(gen, open_index(small_index).manifest, full=True)
    assert not [p for p in small_index.iterdir() if p.name.startswith((".tmp-", f".{CURRENT}."))]


def _damage(index: Path, how: str) -> None:
    gen = current_generation(index)
    assert gen is not None
    if how == "truncated-passages":
        data = (gen / "passages.jsonl").read_bytes()
        (gen / "passages.jsonl").write_bytes(data[: len(data) // 2])
    elif how == "tampered-vectors":
        raw = bytearray((gen / "vectors.npy").read_bytes())
        raw[-5] ^= 0xFF
        (gen / "vectors.npy").write_bytes(bytes(raw))
    elif how == "tampered-bm25":
        p = gen / "bm25" / "vocab.index.json"
        raw = p.read_bytes()
        p.write_bytes(raw.replace(b"wmo", b"xyz", 1) if b"wmo" in raw else raw[:-2] + b"}}")
    elif how == "deleted-faiss":
        (gen / "vectors.faiss").unlink()
    elif how == "truncated-manifest":
        raw = (gen / "manifest.json").read_bytes()
        (gen / "manifest.json").write_bytes(raw[: len(raw) // 2])
    elif how == "edited-manifest":
        m = json.loads((gen / "manifest.json").read_text())
        m["documents"][0]["title"] = "Iets anders"
        (gen / "manifest.json").write_text(json.dumps(m))
    elif how == "garbage-pointer":
        (index / CURRENT).write_bytes(b"\x00\xff\x1b[2J")
    elif how == "missing-generation":
        shutil.rmtree(gen)
    elif how == "manifest-escapes-folder":
        m = json.loads((gen / "manifest.json").read_text())
        m["files"]["/etc/passwd"] = {"size": 1, "sha256": "0" * 64}
        (gen / "manifest.json").write_text(json.dumps(m))
    elif how == "symlink-out-of-folder":
        (gen / "passages.jsonl").unlink()
        (gen / "passages.jsonl").symlink_to("/etc/hostname")
    elif how == "pointer-escapes-folder":
        (index / CURRENT).write_text("../../../etc\n")
    else:
        raise AssertionError(how)


DAMAGE = {
    "truncated-passages": "indexbestand passages.jsonl is ingekort of gewijzigd (andere grootte)",
    "tampered-vectors": "indexbestand vectors.npy is beschadigd (controlesom wijkt af)",
    "tampered-bm25": "indexbestand bm25/vocab.index.json is",
    "deleted-faiss": "indexbestand vectors.faiss ontbreekt",
    "truncated-manifest": "is ingekort of gewijzigd (controlesom wijkt af)",
    "edited-manifest": "is ingekort of gewijzigd (controlesom wijkt af)",
    "garbage-pointer": "CURRENT is beschadigd",
    "missing-generation": "ontbreekt",
    "manifest-escapes-folder": "noemt een bestand buiten de index",
    "symlink-out-of-folder": "noemt een bestand buiten de index",
    "pointer-escapes-folder": "CURRENT is beschadigd",
}


@pytest.mark.parametrize("how", list(DAMAGE))
def test_damaged_index_is_refused_with_a_hint_to_rebuild(small_index: Path, fake_encoder: FakeEncoder, how: str) -> None:
    _damage(small_index, how)
    with pytest.raises(StoreError) as e:
        open_index(small_index)
    msg = str(e.value)
    assert DAMAGE[how] in msg and "sdsearch index" in msg and "\n" not in msg and "\x1b" not in msg
    # A rebuild over it repairs it, and re-uses no vector from the damaged generation.
    r = build_index([small_index.parent / "corpus"], small_index, Settings(), encoder=fake_encoder)
    assert r.reused == 0 and r.embedded == r.passages
    fixed = open_index(small_index, verify=True)
    assert "387" in Retriever(fixed, fake_encoder).search(["flexwoningen"], k=1)[0][0].text


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncated-passages", "tampered-vectors", "edited-manifest", "garbage-pointer", "manifest-escapes-folder"])
def test_damaged_index_via_cli_is_one_line_and_exit_1(tmp_path: Path, real_index: Path, how: str) -> None:
    index = copy_index(real_index, tmp_path / "idx")
    _damage(index, how)
    r = sdsearch("search", "beschermd wonen", "--index", str(index))
    assert r.returncode == 1
    line = error_line(r)
    assert DAMAGE[how] in line and f"bouw de index opnieuw met `sdsearch index MAP --index {index}`" in line
    r = sdsearch("info", "--index", str(index))
    assert r.returncode == 1 and DAMAGE[how] in error_line(r)


def test_manifest_with_wrong_types_or_unsafe_sources_is_refused(small_index: Path) -> None:
    gen = current_generation(small_index)
    assert gen is not None
    original = (gen / "manifest.json").read_text()
    for mutate, expected in [
        (lambda m: m["documents"][0].update(source="../../etc/passwd"), "beschadigde documentenlijst"),
        (lambda m: m.update(model="fake"), "noemt geen geldig model"),
        (lambda m: m["files"].update({"vectors.npy": "big"}), "regel voor vectors.npy in het manifest is beschadigd"),
        (lambda m: m["files"].pop("meta.npz"), "noemt meta.npz niet"),
    ]:
        m = json.loads(original)
        mutate(m)
        (gen / "manifest.json").write_text(json.dumps(m))
        (small_index / CURRENT).write_text(gen.name + "\n")  # an old-style pointer: no manifest checksum
        with pytest.raises(StoreError, match=expected):
            open_index(small_index)


@pytest.mark.slow
def test_second_build_is_refused_by_the_lock(tmp_path: Path, real_index: Path) -> None:
    index = copy_index(real_index, tmp_path / "idx")
    before = current_generation(index)
    with BuildLock(index):
        r = sdsearch("index", str(CORPUS), "--index", str(index))
    assert r.returncode == 1
    assert "er loopt al een indexering op" in error_line(r)
    assert current_generation(index) == before
    assert_answers(index)


def test_lock_is_released_when_a_build_fails(small_corpus: Path, small_index: Path) -> None:
    class Exploding(FakeEncoder):
        def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
            raise RuntimeError("boom")

    (small_corpus / "nieuw.txt").write_text("Pleegzorg\nPleegzorg is nodig.\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        build_index([small_corpus], small_index, Settings(), encoder=Exploding())
    with BuildLock(small_index):  # free again
        pass


@pytest.mark.slow
def test_ctrl_c_during_a_build_exits_130_and_keeps_the_previous_index(tmp_path: Path, real_index: Path) -> None:
    index = copy_index(real_index, tmp_path / "idx")
    before = current_generation(index)
    corpus = tmp_path / "c"
    shutil.copytree(CORPUS, corpus)
    for f in list(corpus.glob("*.txt")):  # new text: the build has to embed, which takes a while
        f.write_text(f.read_text(encoding="utf-8").replace("e", "é"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1"}
    p = subprocess.Popen([sys.executable, "-m", "sdsearch", "index", str(corpus), "--index", str(index)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(3.0)  # well inside the command; embedding 127 new passages takes longer
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    if p.returncode == 0:
        pytest.skip("the build finished before it could be interrupted")
    # 130 from sdsearch; or, when Ctrl-C landed while a compiled library ran Python code
    # (PyRun_String), CPython re-raises SIGINT at exit after sdsearch's message: a shell
    # shows 130 for both.
    assert p.returncode in (130, -signal.SIGINT), err
    assert "sdsearch: afgebroken" in err and "Traceback" not in err
    assert current_generation(index) == before
    assert_answers(index)


def test_searches_keep_answering_while_builds_swap_generations(small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder) -> None:
    old = Retriever(open_index(small_index), fake_encoder)
    assert "387" in old.search(["flexwoningen Mrija"], k=1)[0][0].text
    # Two builds: the first keeps the old generation on disk, the second prunes it.
    for n in range(2):
        (small_corpus / f"nieuw-{n}.txt").write_text(f"Pleegzorg\nWe werven {n + 10} pleeggezinnen.\n", encoding="utf-8")
        build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    assert old.index.folder.name not in {p.name for p in small_index.iterdir()}
    # The old retriever still answers from the index it opened, consistently...
    assert "387" in old.search(["flexwoningen Mrija"], k=1)[0][0].text
    assert not any("pleeggezinnen" in h.text for h in old.search(["pleeggezinnen werven"], k=5)[0])
    # ...and a new one sees the new passages.
    new = Retriever(open_index(small_index), fake_encoder)
    assert "pleeggezinnen" in new.search(["pleeggezinnen werven"], k=1)[0][0].text


def test_readers_opening_during_builds_always_get_a_whole_index(small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder) -> None:
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                idx = open_index(small_index)
                hits = Retriever(idx, fake_encoder).search(["flexwoningen Mrija"], k=1)[0]
                assert "387" in hits[0].text
                assert len(idx) == idx.manifest["counts"]["passages"] == idx.vectors.shape[0]
                seen.add(idx.folder.name)
                idx.close()
            except BaseException as e:  # noqa: BLE001 - collected and re-raised below
                errors.append(e)
                return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for n in range(6):
            (small_corpus / "wisselend.txt").write_text(f"Pleegzorg\nWe werven {n} pleeggezinnen.\n", encoding="utf-8")
            build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors[0]
    assert len(seen) >= 2  # the readers saw more than one generation come and go


def test_leftovers_of_a_killed_build_are_cleaned_by_the_next(small_corpus: Path, small_index: Path, fake_encoder: FakeEncoder) -> None:
    (small_index / ".tmp-gen-20990101T000000-1-00001").mkdir()
    (small_index / ".tmp-gen-20990101T000000-1-00001" / "passages.jsonl").write_text("half")
    (small_index / f".{CURRENT}.tmp-12345").write_text("gen-x\n")
    (small_index / "gen-20000101T000000-1-00001").mkdir()  # renamed into place, never made live
    (small_index / ".del-gen-20000101T000000-1-00002").mkdir()  # killed while being deleted
    assert open_index(small_index)  # leftovers do not disturb readers
    build_index([small_corpus], small_index, Settings(), encoder=fake_encoder)
    names = {p.name for p in small_index.iterdir()}
    assert not [n for n in names if n.startswith((".tmp-", ".del-", f".{CURRENT}."))]
    assert "gen-20000101T000000-1-00001" not in names


def test_index_path_that_is_a_file_is_one_line(tmp_path: Path, small_corpus: Path, fake_encoder: FakeEncoder) -> None:
    (tmp_path / "bestand").write_text("x")
    with pytest.raises(StoreError, match="is een bestand, geen map"):
        build_index([small_corpus], tmp_path / "bestand", Settings(), encoder=fake_encoder)
    with pytest.raises(StoreError, match="is een bestand, geen indexmap"):
        open_index(tmp_path / "bestand")


# =========================================================================================
# 4. Nothing unsafe
# =========================================================================================


# The distributed build hands a file's documents and passages from a Ray worker to the
# driver of the same build as bytes (Ray pickles whatever crosses processes anyway); it
# never writes or reads a pickle on disk: only pickle.dumps / pickle.loads of bytes.
PICKLE_IN_MEMORY_ONLY = {"distributed.py"}


def test_no_pickle_or_eval_anywhere_in_sdsearch() -> None:
    for path in (ROOT / "src" / "sdsearch").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                allowed = ("pickle",) if path.name in PICKLE_IN_MEMORY_ONLY else ()
                assert not any(n.split(".")[0] in ("pickle", "cPickle", "dill", "joblib", "marshal", "shelve") and n not in allowed for n in names), path
            if isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "pickle":
                assert node.attr in ("dumps", "loads", "HIGHEST_PROTOCOL"), f"{path}:{node.lineno}: pickle.{node.attr}"
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
                assert name not in ("eval", "exec"), f"{path}:{node.lineno}"
                if name == "load" and isinstance(fn, ast.Attribute) and getattr(fn.value, "id", "") in ("np", "numpy", "BM25"):
                    kw = {k.arg: k.value for k in node.keywords}
                    assert isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value is False, f"{path}:{node.lineno}"


def test_every_index_array_loads_without_pickle(small_index: Path) -> None:
    gen = current_generation(small_index)
    assert gen is not None
    arrays = [p for p in gen.rglob("*") if p.suffix in (".npy", ".npz")]
    assert arrays
    for p in arrays:
        loaded = np.load(p, allow_pickle=False)  # raises for object arrays
        if p.suffix == ".npz":
            for key in loaded.files:
                assert loaded[key].dtype != object


HTML_ATTACK = """<html><head><meta charset="utf-8"><title>Velsen &#27;]0;gehackt&#7; jaarverslag</title></head>
<body><main><h1>Beschermd wonen &#27;[2J&#27;[31m</h1>
<p>Beschermd wonen verschuift in 2024 naar de regio. &#27;]8;;http://evil.example&#27;\\klik hier&#27;]8;;&#27;\\
en &#x202e;gnirts&#x202c; en &#27;[1A&#27;[2K weg. Dit is een zin over beschermd wonen en de regiogemeenten.</p>
</main></body></html>
"""
UNSAFE = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c")


@pytest.mark.slow
def test_html_cannot_inject_control_sequences_into_terminal_output(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "velsen-jaarverslag-2022.html").write_text(HTML_ATTACK, encoding="utf-8")
    (corpus / "rood\x1b[31m\x07.txt").write_bytes(b"")  # a name that would recolour the summary
    r = sdsearch("index", str(corpus), "--index", str(tmp_path / "idx"))
    assert r.returncode == 3 and "overgeslagen: rood.txt: leeg bestand" in r.stderr
    for cmd in (["search", "beschermd wonen", "-k", "2"], ["ask", "wat gebeurt er met beschermd wonen"]):
        r = run_cli(*cmd, "--index", str(tmp_path / "idx"))
        assert r.returncode == 0, r.stderr
        assert "Beschermd wonen verschuift in 2024" in r.stdout
        assert not any(c in r.stdout or c in r.stderr for c in UNSAFE), repr(r.stdout)
    r = run_cli("search", "beschermd wonen", "--json", "--index", str(tmp_path / "idx"))
    assert r.returncode == 0 and not any(c in r.stdout for c in UNSAFE)
    hit = json.loads(r.stdout)["hits"][0]
    assert "\x1b" in hit["text"]  # JSON keeps the text exact, escaped as \u001b


def test_clean_strips_whole_escape_sequences() -> None:
    assert clean("a\x1b[31mrood\x1b[0m b\x1b]0;titel\x07c \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ d\x9b2Je\u202ef\ud800") == "arood bc link def"
    assert clean("regel\neen\ttab") == "regel\neen tab"


# =========================================================================================
# CLI exit codes at a glance: 0 ok, 1 error, 2 usage, 3 partial, 130 interrupted
# =========================================================================================


@pytest.mark.slow
def test_usage_errors_exit_2_and_file_system_errors_are_one_line(tmp_path: Path) -> None:
    r = sdsearch("search")
    assert r.returncode == 2 and "Argument ontbreekt" in r.stderr
    (tmp_path / "bestand").write_text("x")
    r = sdsearch("index", str(CORPUS), "--index", str(tmp_path / "bestand"))
    assert r.returncode == 1 and "is een bestand, geen map" in error_line(r)
    r = sdsearch("info", "--index", str(tmp_path / "geen"))
    assert r.returncode == 1 and "geen index in" in error_line(r)
