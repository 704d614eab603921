"""Schemathesis against the server's own /openapi.json: generated requests, every check.

Valid requests (by the schema, whose filter parameters list the index's own values)
must get 2xx, invalid ones a 4xx, and every answer must fit the documented schema —
never a 5xx. The schemathesis command runs against a live server on 127.0.0.1 (the
small index, the fake encoder), with a fixed seed so the run is the same every time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("schemathesis")

from test_serve import LiveServer, build, serve_corpus  # noqa: E402


def schemathesis_command() -> list[str]:
    exe = Path(sys.executable).with_name("schemathesis")
    return [str(exe)] if exe.exists() else [shutil.which("schemathesis") or "schemathesis"]


@pytest.mark.slow  # a fuzzing run against a live server
def test_schemathesis_finds_no_failures(tmp_path: Path) -> None:
    build(serve_corpus(tmp_path), tmp_path / "index")
    with LiveServer(tmp_path / "index") as url:
        r = subprocess.run(
            [*schemathesis_command(), "run", f"{url}/openapi.json", "--checks", "all", "--max-examples", "100",
             "--seed", "20261125", "--generation-deterministic", "--no-color", "--workers", "1"],
            capture_output=True, text=True, timeout=240, cwd=tmp_path,
        )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    assert "No issues found" in out and "4 selected / 4 total" in out, out[-3000:]
