"""The interactive prompt, driven like a person would: the real program in a pseudo-terminal."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

pexpect = pytest.importorskip("pexpect")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")]

PROMPT = r"sdsearch \[k=5\]> "
VELSEN_PROMPT = r"sdsearch \[k=5, gemeente=Velsen\]> "


def sdsearch_exe() -> str:
    exe = Path(sys.executable).with_name("sdsearch")
    return str(exe) if exe.exists() else "sdsearch"


def screen(child: pexpect.spawn) -> str:
    """What the last command printed, as the person sees it (line endings normalised)."""
    return child.before.replace("\r\n", "\n")


def test_prompt_answers_keeps_filters_shows_sources_and_remembers(real_index: Path, tmp_path: Path) -> None:
    history = tmp_path / "state" / "history"
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "SDSEARCH_HISTORY": str(history),
        "TERM": "dumb",
        "COLUMNS": "80",
        "LINES": "40",
        "PYTHONPATH": str(ROOT / "src"),
    }
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sdsearch_exe(), ["--index", str(real_index)], env=env, cwd=str(ROOT), encoding="utf-8", timeout=60, dimensions=(40, 80)
    )
    child.delaybeforesend = 0.2  # let the prompt take the terminal before each key
    try:
        # Start-up loads the model and index before the first prompt appears.
        child.expect("passages uit 5 documenten geladen")
        child.expect(PROMPT)

        # 1. A question: compact sources first, the answer last, so it stays in view
        #    in a 40-line terminal however many sources there are (k=5 here).
        child.sendline("hoeveel flexwoningen telt Mrija?")
        child.expect(PROMPT)
        out = screen(child)
        assert "Antwoord: 387" in out
        assert "De wijk telt 387 flexwoningen" in out
        assert "— Vlaardingen · Jaarstukken 2023" in out
        assert out.index("Bronnen:") < out.index("Antwoord:")
        assert re.search(r"^1\. Vlaardingen · Jaarstukken 2023", out, re.M)
        assert len(re.findall(r"^\d+\. ", out, re.M)) == 5
        tail = out.rstrip().splitlines()[-38:]  # what a 40-line terminal still shows above the prompt
        assert any(line.startswith("Antwoord: 387") for line in tail)
        assert "\x1b" not in out, "no terminal control sequences with TERM=dumb"
        assert max(len(line) for line in out.splitlines()) <= 80

        # Plain "help" works as a shell user expects.
        child.sendline("help")
        child.expect(PROMPT)
        assert ":bron N" in screen(child)

        # 2. A filter that stays in force, then a second question: only Velsen sources.
        child.sendline(":gemeente Velsen")
        child.expect(VELSEN_PROMPT)
        assert "gemeente=Velsen" in screen(child)
        child.sendline("wie verzorgt het collectief vervoer?")
        child.expect(VELSEN_PROMPT)
        out = screen(child)
        assert "Antwoord: RegioRijder" in out
        sources = re.findall(r"^\d+\. (\w+) · ", out, re.M)
        assert sources and set(sources) == {"Velsen"}, sources

        # 3. The full text of source 1, with where it sits in its report.
        child.sendline(":bron 1")
        child.expect(VELSEN_PROMPT)
        out = screen(child)
        assert "[1] Velsen · Jaarverslag 2022" in out
        assert "bron: velsen-jaarverslag-2022-participatie.txt, tekens" in out
        assert "RegioRijder verzorgt" in out

        # 4. A question the reports do not answer gets a plain "no answer" and still sources.
        child.sendline(":reset")
        child.expect(PROMPT)
        child.sendline("Hoeveel kost de Wmo in Amsterdam?")
        child.expect(PROMPT)
        out = screen(child)
        assert "Geen duidelijk antwoord gevonden in de rapporten." in out
        assert out.index("Bronnen:") < out.index("Geen duidelijk antwoord")

        # 5. Ctrl-C cancels a half-typed line or a running question, not the program.
        time.sleep(0.5)
        child.send("een half getypte vraag")
        time.sleep(0.3)
        child.sendcontrol("c")
        child.expect(PROMPT)
        child.sendline("Welke organisatie stelt in Velsen de medische noodzaak voor Wmo-voorzieningen vast?")
        time.sleep(0.1)
        child.sendcontrol("c")
        child.expect(PROMPT)
        assert "Traceback" not in screen(child)
        # Sync on a changed prompt: if the question finished before Ctrl-C landed, an extra
        # prompt is still on its way and must not be mistaken for the next answer's end.
        child.sendline(":k 4")
        child.expect(r"sdsearch \[k=4\]> ")
        child.sendline("Wanneer treedt de nieuwe Wet inburgering in werking?")
        child.expect(r"sdsearch \[k=4\]> ")
        assert "1 januari 2022" in screen(child)

        # 6. Ctrl-D leaves cleanly. On a dumb terminal prompt_toolkit prints the prompt
        # before it takes the terminal, so a Ctrl-D sent in that moment is lost: retry.
        for _ in range(5):
            time.sleep(0.5)
            child.sendcontrol("d")
            if child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=4) == 0:
                break
        else:
            pytest.fail("Ctrl-D did not end the prompt")
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, (child.exitstatus, child.signalstatus)
    assert "Traceback" not in (child.before or "")

    # The questions are remembered for the next session.
    remembered = history.read_text(encoding="utf-8")
    for q in ("hoeveel flexwoningen telt Mrija?", ":gemeente Velsen", "wie verzorgt het collectief vervoer?"):
        assert f"+{q}\n" in remembered
