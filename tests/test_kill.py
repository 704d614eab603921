"""kill -9 at random moments of real `sdsearch index` builds: the previous index always survives.

Two kinds of victims, both running the real CLI code with the real bundled model:

* plain ``python -m sdsearch index`` processes, killed 0.2-3 s after they start (start-up,
  reading, chunking);
* processes forked from a warm harness (sdsearch and its libraries already imported, so
  a build takes seconds, not tens of seconds) that then run ``sdsearch.cli.main(["index",
  ...])``, killed at random moments over the whole build (loading the model, embedding,
  writing the generation, swapping ``CURRENT``), and some aimed at the write itself.

After every kill the index that was live must open with every checksum intact and answer
a search, no visible generation may be half-written, and the next build must not be
blocked by a stale lock. Finally a build runs to completion.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sdsearch.config import Settings
from sdsearch.retrieve import Retriever
from sdsearch.store import CURRENT, current_generation, open_index, read_manifest, verify_files

from conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow

SEED = 20240611
PLAIN_KILLS = 6  # plain CLI processes, killed 0.2-3 s in
FORKED_KILLS = 20  # warm forked CLI builds, killed anywhere in the build
AIMED_EVERY = 2  # every 2nd forked kill is aimed at the write of the new generation
WRITE_TARGETS = ["", "passages.jsonl", "vectors.faiss", "bm25", "manifest.json"]  # "": the folder itself

HARNESS = r"""
import os, sys, threading
corpus, index = sys.argv[1], sys.argv[2]
import numpy, faiss, bm25s, click, filelock  # what a build imports, without starting threads
import sdsearch.cli, sdsearch.api, sdsearch.build, sdsearch.chunk, sdsearch.store, sdsearch.vectors, sdsearch.ingest
from sdsearch import analysis, models
analysis.Analyzer().terms("woningen"); analysis.sentence_spans("Een zin. Nog een.")  # the analyzer starts no threads
try:
    import onnxruntime, tokenizers  # noqa: F401 (import only: sessions start threads)
except ImportError:
    pass
assert threading.active_count() == 1
print("ready", flush=True)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        os.setsid()
        sys.stdin.close()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        code = sdsearch.cli.main(["index", corpus, "--index", index])
        os._exit(code)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print("exit", os.waitstatus_to_exitcode(status), flush=True)
"""


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1", "HF_HUB_OFFLINE": "1"}
    for key in ("SDSEARCH_INDEX", "SDSEARCH_CORPUS", "SDSEARCH_DEBUG"):
        env.pop(key, None)
    return env


def _make_corpus(folder: Path) -> Path:
    """The corpus three times under other names (more to read) plus one changing file (to embed)."""
    folder.mkdir()
    for f in CORPUS.iterdir():
        if f.suffix == ".txt":
            for copy in ("", "kopie-a-", "kopie-b-"):
                shutil.copy(f, folder / f"{copy}{f.name}")
    return folder


def _change(corpus: Path, trial: int) -> None:
    """New text each trial, so each build has passages to embed."""
    lines = [f"Pleegzorg ronde {trial}"] + [
        f"In ronde {trial} werven we {trial * 10 + i} nieuwe pleeggezinnen voor kinderen in wijk {i}. "
        f"De kosten van pleegzorg stijgen met {i} procent door de inzet van {trial + i} extra consulenten."
        for i in range(12)
    ]
    (corpus / "nieuw-pleegzorg.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


class Checker:
    """After a kill: the live index is whole and answers; nothing half-written is visible."""

    def __init__(self, index: Path):
        from sdsearch.models import load_encoder

        self.index = index
        self.encoder = load_encoder()
        self.phases: dict[str, int] = {"before-write": 0, "while-writing": 0, "after-rename": 0, "after-swap": 0}

    def snapshot(self) -> set[str]:
        return {p.name for p in self.index.iterdir()}

    def check(self, live_before: str, before: set[str]) -> str:
        """Check the index after a kill; ``before`` is the folder's listing when the build began."""
        names = self.snapshot()
        new = names - before
        gen = current_generation(self.index)
        assert gen is not None
        if gen.name != live_before:
            self.phases["after-swap"] += 1  # CURRENT swapped (the kill hit the clean-up, or later)
        elif any(n.startswith("gen-") for n in new):
            self.phases["after-rename"] += 1  # complete generation in place, CURRENT not yet swapped
        elif any(n.startswith(".tmp-gen-") for n in new):
            self.phases["while-writing"] += 1
        else:
            self.phases["before-write"] += 1
        idx = open_index(self.index, verify=True)  # pointer, manifest and every file checksum
        hits = Retriever(idx, self.encoder, Settings()).search(["flexwoningen Mrija"], k=3)[0]
        assert any("387 flexwoningen" in h.text for h in hits)
        idx.close()
        # Every visible generation is whole: a build renames a folder into place only after
        # writing and fsyncing all of it, and hides a generation before deleting it.
        for name in names:
            if name.startswith("gen-"):
                verify_files(self.index / name, read_manifest(self.index / name), full=True)
        return gen.name


@pytest.fixture
def setup(real_index: Path, tmp_path: Path) -> tuple[Path, Path, Checker]:
    """Each test gets its own copy of the real index and its own corpus: no test depends on another's kills."""
    base = tmp_path
    index = base / "index"
    shutil.copytree(real_index, index)
    corpus = _make_corpus(base / "corpus")
    return corpus, index, Checker(index)


def test_kill_9_during_plain_cli_builds(setup: tuple[Path, Path, Checker]) -> None:
    corpus, index, checker = setup
    rng = random.Random(SEED)
    live = checker.check(current_generation(index).name, checker.snapshot())  # type: ignore[union-attr]
    for trial in range(PLAIN_KILLS):
        _change(corpus, trial)
        before = checker.snapshot()
        p = subprocess.Popen([sys.executable, "-m", "sdsearch", "index", str(corpus), "--index", str(index)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
        time.sleep(rng.uniform(0.2, 3.0))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        live = checker.check(live, before)


def test_kill_9_at_random_moments_of_warm_cli_builds(setup: tuple[Path, Path, Checker]) -> None:
    corpus, index, checker = setup
    rng = random.Random(SEED + 1)
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(corpus), str(index)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=_env())
    assert harness.stdin is not None and harness.stdout is not None
    try:
        assert harness.stdout.readline().strip() == "ready"

        def start() -> int:
            harness.stdin.write("build\n")  # type: ignore[union-attr]
            harness.stdin.flush()  # type: ignore[union-attr]
            return int(harness.stdout.readline())  # type: ignore[union-attr]

        def outcome() -> int:
            line = harness.stdout.readline().split()  # type: ignore[union-attr]
            assert line[0] == "exit", line
            return int(line[1])

        # One complete warm build tells how long a build takes here.
        _change(corpus, 100)
        t0 = time.monotonic()
        start()
        assert outcome() == 0
        full = time.monotonic() - t0
        live = checker.check(current_generation(index).name, checker.snapshot())  # type: ignore[union-attr]
        killed = finished = 0
        for trial in range(FORKED_KILLS):
            _change(corpus, 101 + trial)
            before = checker.snapshot()
            pid = start()
            if trial % AIMED_EVERY == AIMED_EVERY - 1:
                # Aim at the write: kill as soon as this build's temporary folder (or a given
                # file in it) appears; the targets take turns.
                target = WRITE_TARGETS[(trial // AIMED_EVERY) % len(WRITE_TARGETS)]
                deadline = time.monotonic() + 3 * full + 10
                while time.monotonic() < deadline:
                    tmp = [n for n in checker.snapshot() - before if n.startswith(".tmp-gen-")]
                    if tmp and (not target or (index / tmp[0] / target).exists()):
                        break
                    time.sleep(0.0005)
            else:
                time.sleep(rng.uniform(0.05, full))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            code = outcome()
            if code == -signal.SIGKILL:
                killed += 1
            else:
                assert code == 0, code  # it finished before the kill landed
                finished += 1
            live = checker.check(live, before)
        print(f"\nwarm build {full:.1f} s; {killed} killed, {finished} finished first; phases {json.dumps(checker.phases)}")
        assert killed >= FORKED_KILLS // 2
        assert checker.phases["while-writing"] >= 3  # the write itself was hit, at several points
    finally:
        harness.stdin.close()
        harness.wait(timeout=60)


def test_a_build_after_a_kill_completes_and_clears_the_leftovers(setup: tuple[Path, Path, Checker]) -> None:
    corpus, index, checker = setup
    # What a build killed mid-write leaves: a half-written generation and a half-written pointer.
    half = index / ".tmp-gen-20990101T000000-1-00001"
    half.mkdir()
    (half / "passages.jsonl").write_text("half", encoding="utf-8")
    (index / f".{CURRENT}.abc123.tmp").write_text("gen-x\n", encoding="utf-8")
    checker.check(current_generation(index).name, checker.snapshot())  # type: ignore[union-attr]
    _change(corpus, 999)
    r = subprocess.run([sys.executable, "-m", "sdsearch", "index", str(corpus), "--index", str(index)],
                       capture_output=True, text=True, env=_env(), timeout=300)
    assert r.returncode == 0, r.stderr
    idx = open_index(index, verify=True)
    hits = Retriever(idx, checker.encoder, Settings()).search(["pleeggezinnen ronde 999"], k=3)[0]
    assert any("In ronde 999 werven we" in h.text for h in hits)
    names = {p.name for p in index.iterdir()}
    assert not [n for n in names if n.startswith((".tmp-", ".del-", f".{CURRENT}."))]  # leftovers of the kills are gone
    assert len([n for n in names if n.startswith("gen-")]) <= 2  # the live one and the one before it
