"""`ask --per gemeente`: one answer per gemeente, side by side (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import sdsearch
import sdsearch.api
from sdsearch.cli import cli
from sdsearch.config import Settings

from conftest import FakeEncoder


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sdsearch.models.load_encoder", lambda *a, **k: FakeEncoder())
    sdsearch.api._RETRIEVERS.clear()


def test_ask_per_gemeente_answers_each_gemeente(small_index: Path) -> None:
    out = sdsearch.ask("Wie kan een beroep doen op een Wmo-maatwerkvoorziening?", index=small_index, per="gemeente", settings=Settings())
    assert list(out) == ["Maassluis", "Velsen", "Vlaardingen"]
    for gemeente, ans in out.items():
        for s in ans.sentences:  # every sentence comes from that gemeente's reports
            assert s.hit.gemeente == gemeente
        assert all(h.gemeente == gemeente for h in ans.hits)


def test_per_gemeente_keeps_the_other_filters(small_index: Path) -> None:
    out = sdsearch.ask("beschermd wonen", index=small_index, per="gemeente", gemeente="Velsen,Maassluis", settings=Settings())
    assert list(out) == ["Maassluis", "Velsen"]


def test_per_must_be_gemeente(small_index: Path) -> None:
    with pytest.raises(sdsearch.SdsearchError, match="per kan alleen"):
        sdsearch.ask("wmo", index=small_index, per="jaar", settings=Settings())


def test_cli_per_gemeente_text_and_json(small_index: Path) -> None:
    r = CliRunner().invoke(cli, ["ask", "Hoeveel flexwoningen telt de wijk?", "--per", "gemeente", "--index", str(small_index)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    for g in ("■ Maassluis", "■ Velsen", "■ Vlaardingen"):
        assert g in r.stdout
    r = CliRunner().invoke(cli, ["ask", "Hoeveel flexwoningen telt de wijk?", "--per", "gemeente", "--json", "--index", str(small_index)], catch_exceptions=False)
    obj = json.loads(r.stdout)
    assert obj["per"] == "gemeente" and set(obj["answers"]) == {"Maassluis", "Velsen", "Vlaardingen"}
    for ans in obj["answers"].values():
        assert {"question", "answer", "confidence", "citations", "hits"} <= set(ans)
