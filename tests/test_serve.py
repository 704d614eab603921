"""`sdsearch serve`: the JSON API and the page, in-process, on small indexes with the fake encoder.

Helpers here (``serve_corpus``, ``LiveServer``) are shared with test_browser.py and
test_serve_schema.py.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sdsearch import api, render
from sdsearch.config import Settings
from sdsearch.serve import create_app, models
from sdsearch.serve.checks import check_filters
from sdsearch.serve.errors import ApiError
from sdsearch.serve.options import ServeOptions

from conftest import ROOT, SMALL_CORPUS, FakeEncoder, write_corpus

HOSTILE = (
    "Beschermd wonen <script>alert('xss-kop')</script>\n"
    "Het budget <img src=x onerror=alert('xss-img')> voor beschermd wonen in Schiedam steeg in 2022 naar 3 miljoen euro. "
    "Zie ook <a href=\"javascript:alert('xss-link')\">deze link</a> en \"aanhalingstekens\" & <b>vet</b>.\n"
)
HOSTILE_TOML = """
[[document]]
path = "schiedam-jaarverslag-2022.txt"
title = "<script>alert('xss-titel')</script> Jaarverslag 2022"
gemeente = "Schiedam"
year = 2022
doc_type = "jaarverslag"
"""
SECRET = "Het geheime wachtwoord voor beschermd wonen is hunter2.\n"


def make_pdf(path: Path) -> None:
    """A two-page report; page 2 holds the schuldhulp figure."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    intro = "Dit jaar stond in het teken van de uitvoering van het coalitieprogramma en de samenwerking in de regio. " * 9
    pdf.multi_cell(0, 8, f"Jaarstukken 2021 Maassluis\n\nInleiding\n{intro}")
    pdf.add_page()
    pdf.multi_cell(0, 8, "Schuldhulpverlening\nIn 2021 hebben 412 huishoudens in Maassluis schuldhulpverlening gekregen. "
                   "Het aantal aanvragen steeg ten opzichte van 2020, vooral door de gestegen energieprijzen.")
    pdf.output(str(path))


def serve_corpus(folder: Path, pdf: bool = True) -> Path:
    """The small corpus plus a hostile report, a PDF and a link that leads out of the corpus."""
    corpus = write_corpus(folder / "corpus", {**SMALL_CORPUS, "schiedam-jaarverslag-2022.txt": HOSTILE}, manifest=HOSTILE_TOML)
    if pdf:
        make_pdf(corpus / "maassluis-jaarstukken-2021.pdf")
    outside = folder / "buiten"
    outside.mkdir(exist_ok=True)
    (outside / "geheim.txt").write_text(SECRET, encoding="utf-8")
    os.symlink(outside / "geheim.txt", corpus / "velsen-geheim-2022.txt")
    return corpus


def build(corpus: Path, index: Path) -> None:
    api.build_index([corpus], index, Settings(), encoder=FakeEncoder())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of ``serve_corpus`` (built once per module)."""
    base = tmp_path_factory.mktemp("serve")
    corpus = serve_corpus(base)
    build(corpus, base / "index")
    return base / "index"


def make_client(index: Path, encoder: Any = None, **options: Any) -> TestClient:
    app = create_app(ServeOptions(index=str(index), poll_seconds=0.1, **options), encoder=encoder or FakeEncoder())
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(served: Path) -> Iterator[TestClient]:
    with make_client(served) as c:
        yield c


def searcher(index: Path) -> Any:
    return api.open_searcher(index, encoder=FakeEncoder())


# -- the JSON API -------------------------------------------------------------------------


def test_healthz_names_the_open_generation(client: TestClient, served: Path) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["generation"] == api.facets(served)["generation"] and body["passages"] > 5


def test_search_returns_the_same_object_as_the_cli_json(client: TestClient, served: Path) -> None:
    r = client.get("/api/search", params={"q": "beschermd wonen", "k": 4})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    # byte for byte what `sdsearch search --json` prints (render.hits_json over the same search)
    expected = render.hits_json("beschermd wonen", api.search_with(searcher(served), ["beschermd wonen"], k=4)[0])
    assert r.text == expected
    out = models.SearchResult.model_validate(r.json())
    assert out.query == "beschermd wonen" and 1 <= len(out.hits) <= 4
    assert [h.rank for h in out.hits] == list(range(1, len(out.hits) + 1))


def test_ask_returns_the_same_object_as_the_cli_json(client: TestClient, served: Path) -> None:
    q = "hoeveel flexwoningen telt Mrija?"
    r = client.get("/api/ask", params={"q": q})
    assert r.status_code == 200
    assert r.text == render.answer_json(api.ask_with(searcher(served), q, k=5))
    out = models.AskResult.model_validate(r.json())
    assert out.question == q and len(out.hits) <= 5


def test_info_lists_documents_and_facets_with_counts(client: TestClient) -> None:
    r = client.get("/api/info")
    assert r.status_code == 200
    info = models.Info.model_validate(r.json())
    gemeenten = {f.value: f for f in info.gemeenten}
    assert set(gemeenten) == {"Maassluis", "Schiedam", "Velsen", "Vlaardingen"}
    assert gemeenten["Maassluis"].documents == 2 and gemeenten["Maassluis"].passages >= 2
    assert {f.value for f in info.years} >= {2021, 2022, 2023}
    assert {f.value for f in info.types} >= {"jaarverslag", "programmabegroting", "jaarstukken"}
    assert sum(d.passages for d in info.documents) == info.passages
    assert "content_hash" not in r.text


def test_filters_select_and_accept_the_index_spelling_in_any_case(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "beschermd wonen", "gemeente": "velsen"}).json()["hits"]
    assert hits and {h["gemeente"] for h in hits} == {"Velsen"}
    hits = client.get("/api/search", params=[("q", "wmo"), ("gemeente", "Maassluis"), ("gemeente", "Vlaardingen")]).json()["hits"]
    assert hits and {h["gemeente"] for h in hits} <= {"Maassluis", "Vlaardingen"}
    hits = client.get("/api/search", params={"q": "wmo", "gemeente": "Maassluis,Vlaardingen", "jaar": "2023-"}).json()["hits"]
    assert hits and all(h["year"] >= 2023 for h in hits)
    hits = client.get("/api/search", params={"q": "beschermd wonen", "type": "Jaarverslag"}).json()["hits"]
    assert hits and {h["doc_type"] for h in hits} == {"jaarverslag"}


@pytest.mark.parametrize(
    "params, field, words",
    [
        ({"gemeente": "Vlaardinge"}, "gemeente", ["Onbekende gemeente ‘Vlaardinge’", "bedoelde u Vlaardingen?", "Maassluis, Schiedam, Velsen en Vlaardingen"]),
        ({"gemeente": "Amsterdam"}, "gemeente", ["Onbekende gemeente ‘Amsterdam’.", "De index bevat Maassluis, Schiedam, Velsen en Vlaardingen."]),
        ({"gemeente": "Velsen,Amsterdam"}, "gemeente", ["‘Amsterdam’"]),
        ({"jaar": "2019"}, "jaar", ["geen rapporten uit 2019", "bedoelde u 2021?", "Wel uit 2021, 2022 en 2023."]),
        ({"jaar": "2010-2015"}, "jaar", ["geen rapporten uit 2010-2015"]),
        ({"jaar": "twintig"}, "jaar", ["Jaar ‘twintig’ niet begrepen"]),
        ({"jaar": "2023-2021"}, "jaar", ["De jaarreeks 2023-2021 is leeg"]),
        ({"type": "jaarverslg"}, "type", ["Onbekende documentsoort ‘jaarverslg’", "bedoelde u jaarverslag?"]),
    ],
)
def test_unknown_filter_values_are_refused_with_what_the_index_holds(client: TestClient, params: dict[str, str], field: str, words: list[str]) -> None:
    for path in ("/api/search", "/api/ask"):
        r = client.get(path, params={"q": "bijstand", **params})
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["field"] == field
        for w in words:
            assert w in body["error"], body["error"]


def test_near_miss_check_is_a_plain_function() -> None:
    facets = {"gemeenten": [{"value": "Vlaardingen"}, {"value": "Velsen"}], "years": [{"value": 2020}], "types": []}
    assert check_filters(facets, "VLAARDINGEN").gemeente == ("Vlaardingen",)
    assert check_filters(facets, ["", " "]).gemeente == ()
    with pytest.raises(ApiError) as e:
        check_filters(facets, "Vlaardinge")
    assert e.value.details["suggestion"] == "Vlaardingen" and e.value.status == 400
    with pytest.raises(ApiError) as e:
        check_filters(facets, None, None, "jaarverslag")
    assert e.value.message == "Onbekende documentsoort ‘jaarverslag’: de index kent geen documentsoorten."
    assert e.value.details["known"] == []


@pytest.mark.parametrize(
    "params, words",
    [
        ({}, "Geef een vraag mee"),
        ({"q": ""}, "Lege vraag"),
        ({"q": "   "}, "Lege vraag"),
        ({"q": "\x01\x02\x1b[31m"}, "alleen stuurtekens"),
        ({"q": "woord " * 400}, "te lang"),
        ({"q": "wmo", "k": "0"}, "k moet een geheel getal van 1 tot en met 100 zijn"),
        ({"q": "wmo", "k": "101"}, "k moet"),
        ({"q": "wmo", "k": "veel"}, "k moet"),
        ({"q": "wmo", "k": "1e9"}, "k moet"),
        ({"q": "wmo", "k": "1\x85"}, "k moet"),  # int parsing would forgive Unicode white space
        ({"q": "wmo", "k": " 3"}, "k moet"),
        ({"q": "wmo", "jaar": "2" * 60}, "Jaar niet begrepen"),
    ],
)
def test_bad_input_gets_a_400_with_a_dutch_json_message(client: TestClient, params: dict[str, str], words: str) -> None:
    for path in ("/api/search", "/api/ask"):
        r = client.get(path, params=params)
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/json")
        assert words in r.json()["error"]
        assert "Traceback" not in r.text


def test_punctuation_only_query_finds_nothing_rather_than_failing(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "?!… 🙂"})
    assert r.status_code == 200 and r.json()["hits"] == []


def test_methods_bodies_and_long_urls_are_refused_before_the_app(client: TestClient) -> None:
    r = client.post("/api/search", params={"q": "wmo"})
    assert r.status_code == 405 and r.headers["allow"] == "GET" and "niet toegestaan" in r.json()["error"]
    assert client.delete("/api/info").status_code == 405
    r = client.request("GET", "/api/search", params={"q": "wmo"}, content=b"x" * 10)
    assert r.status_code == 413 and "error" in r.json()
    r = client.get("/api/search", params={"q": "wmo", "gemeente": "x" * 9000})
    assert r.status_code == 414 and "te lang" in r.json()["error"]
    r = client.get("/niets-hier")
    assert r.status_code == 404 and r.json() == {"error": "Deze pagina bestaat niet."}


def test_every_response_carries_a_csp_without_inline_script(client: TestClient) -> None:
    for path in ("/", "/api/info", "/healthz", "/niets", "/docs"):
        r = client.get(path, headers={"accept": "text/html"})
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-frame-options"] == "DENY"
    html = client.get("/").text
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None, "inline script in the page"
    assert " style=" not in html and "<style" not in html and re.search(r"<[^>]+\son\w+=", html) is None


def test_openapi_lists_the_index_values_and_the_docs_page_renders(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    params = {p["name"]: p for p in schema["paths"]["/api/search"]["get"]["parameters"]}
    assert params["gemeente"]["schema"]["items"]["enum"] == ["Maassluis", "Schiedam", "Velsen", "Vlaardingen"]
    assert params["jaar"]["schema"]["enum"] == ["2021", "2022", "2023"]
    assert params["k"]["schema"]["maximum"] == 100
    assert set(schema["paths"]) == {"/api/search", "/api/ask", "/api/info", "/healthz"}
    r = client.get("/docs")
    assert r.status_code == 200 and "/api/search" in r.text and "curl" in r.text and 'lang="nl"' in r.text


# -- the page ----------------------------------------------------------------------------


def test_page_without_a_question_shows_the_form_and_filters(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="nl">' in html
    assert '<form class="zoek" method="get" action="/"' in html
    for control in ("q", "gemeente", "jaar", "type"):
        assert f'<label for="{control}">' in html and f'id="{control}"' in html
    assert '<option value="Vlaardingen"' in html and '<option value="2021"' in html


def test_page_answers_with_the_fact_marked_and_the_sources(client: TestClient) -> None:
    r = client.get("/", params={"q": "hoeveel flexwoningen telt Mrija?"})
    assert r.status_code == 200
    html = r.text
    assert 'aria-labelledby="antwoord-kop"' in html
    assert '<mark class="feit">387</mark>' in html
    assert "Zekerheid" in html
    assert "<mark>flexwoningen</mark>" in html  # the matched word in the snippet
    assert "Toon context" in html and '<mark class="passage">' in html
    assert "/bron/vlaardingen-jaarstukken-2023.txt?van=" in html
    assert 'href="/?q=hoeveel+flexwoningen+telt+Mrija%3F"' in html  # the shareable URL


def test_page_keeps_the_filters_in_the_url_and_the_form(client: TestClient) -> None:
    r = client.get("/", params={"q": "beschermd wonen", "gemeente": "Velsen", "jaar": "2022"})
    html = r.text
    assert '<option value="Velsen" selected>' in html and '<option value="2022" selected>' in html
    assert "gemeente=Velsen" in html and "jaar=2022" in html
    sources = re.findall(r'<h3 id="bron-\d+-kop">([^<]*)</h3>', html)
    assert sources and all(s.startswith("Velsen") for s in sources)


def test_page_shows_bad_input_in_dutch_with_a_4xx(client: TestClient) -> None:
    r = client.get("/", params={"q": "bijstand", "gemeente": "Vlaardinge"})
    assert r.status_code == 400 and "bedoelde u Vlaardingen?" in r.text and 'role="alert"' in r.text
    r = client.get("/", params={"q": "wmo", "k": "nul"})
    assert r.status_code == 400 and "k moet" in r.text
    r = client.get("/", params={"q": "wmo", "gemeente": "Velsen", "jaar": "2023"})
    assert r.status_code == 200 and "Geen enkel rapport in de index past bij deze filters samen" in r.text


def test_hostile_report_text_and_metadata_are_escaped(client: TestClient) -> None:
    html = client.get("/", params={"q": "budget beschermd wonen Schiedam", "k": 10}).text
    assert "Schiedam" in html
    for raw in ("<script>alert", "<img src=x", "<a href=\"javascript", "<b>vet</b>"):
        assert raw not in html
    assert "&lt;script&gt;alert(" in html and "&lt;img src=x onerror=alert(" in html
    page = client.get("/bron/schiedam-jaarverslag-2022.txt").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;xss-titel&#39;)&lt;/script&gt; Jaarverslag 2022" in page
    hits = client.get("/api/search", params={"q": "budget Schiedam", "gemeente": "Schiedam"}).json()["hits"]
    assert any("<img src=x onerror=alert('xss-img')>" in h["text"] for h in hits)  # JSON keeps the exact text


# -- reports -----------------------------------------------------------------------------


def test_reading_view_marks_the_passage_and_scrolls_to_it(client: TestClient) -> None:
    hit = client.get("/api/search", params={"q": "flexwoningen Mrija", "k": 1}).json()["hits"][0]
    r = client.get(f"/bron/{hit['source']}", params={"van": hit["char_start"], "tot": hit["char_end"]})
    assert r.status_code == 200
    assert '<mark class="passage" id="passage">' in r.text and "387 flexwoningen" in r.text
    assert r.text.count('id="passage"') == 1
    assert client.get(f"/bron/{hit['source']}", params={"van": 5, "tot": 10**7}).status_code == 400
    assert client.get(f"/bron/{hit['source']}", params={"van": "a", "tot": "b"}).status_code == 400


def test_pdf_opens_at_its_page_and_has_a_reading_view(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "schuldhulpverlening huishoudens", "k": 3}).json()["hits"]
    pdf_hit = next(h for h in hits if h["source"].endswith(".pdf"))
    assert pdf_hit["page"] == 2
    html = client.get("/", params={"q": "schuldhulpverlening huishoudens"}).text
    assert 'href="/bestand/maassluis-jaarstukken-2021.pdf#page=2"' in html
    r = client.get("/bestand/maassluis-jaarstukken-2021.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert "sandbox" in r.headers["content-security-policy"]
    assert 'id="pagina-2"' in client.get("/bron/maassluis-jaarstukken-2021.pdf").text


@pytest.mark.parametrize(
    "path",
    [
        "/bron/../../etc/passwd",
        "/bron/..%2F..%2Fetc%2Fpasswd",
        "/bron/%2e%2e/%2e%2e/etc/passwd",
        "/bestand/..%2Fbuiten%2Fgeheim.txt",
        "/bron//etc/passwd",
        "/bron/corpus.toml",
        "/bestand/velsen-jaarverslag-2022.txt",
        "/bron/velsen-geheim-2022.txt",
        "/bestand/velsen-geheim-2022.txt",
    ],
)
def test_only_files_of_the_corpus_open_no_traversal_no_link_out(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert "hunter2" not in r.text and "root:" not in r.text


def test_a_link_out_of_the_corpus_is_indexed_but_never_shown(client: TestClient) -> None:
    """The symlinked file was indexed (the library follows file links); its context is not shown."""
    html = client.get("/", params={"q": "geheime wachtwoord", "k": 10}).text
    assert "De context is niet beschikbaar: Dit rapport ligt buiten de corpusmap" in html
    r = client.get("/bron/velsen-geheim-2022.txt")
    assert r.status_code == 404 and "buiten de corpusmap" in r.json()["error"]


# -- token -------------------------------------------------------------------------------


def test_token_guards_page_and_api_but_not_healthz(served: Path) -> None:
    with make_client(served, token="s3cret-t0ken") as c:
        r = c.get("/api/search", params={"q": "wmo"})
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer") and "Toegang geweigerd" in r.json()["error"]
        assert c.get("/openapi.json").status_code == 401
        assert c.get("/api/search", params={"q": "wmo"}, headers={"authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/search", params={"q": "wmo"}, headers={"authorization": "Bearer s3cret-t0ken"}).status_code == 200
        assert c.get("/healthz").status_code == 200
        r = c.get("/?q=wmo", headers={"accept": "text/html"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?terug=%2F%3Fq%3Dwmo"
        r = c.post("/login", data={"token": "fout", "terug": "/?q=wmo"}, follow_redirects=False)
        assert r.status_code == 401 and "Onjuiste toegangscode" in r.text
        r = c.post("/login", data={"token": "s3cret-t0ken", "terug": "//evil.example/"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = r.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and "s3cret" not in cookie
        assert c.get("/?q=wmo", headers={"accept": "text/html"}).status_code == 200  # the cookie is kept by the client
        schema = c.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["token"]["scheme"] == "bearer"


# -- logs --------------------------------------------------------------------------------


def test_one_log_line_per_request_without_the_query_unless_asked(served: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sdsearch.serve.access"), make_client(served) as c:
        c.get("/api/search", params={"q": "geheime vraag over bijstand"})
        c.get("/niets")
    lines = [r.getMessage() for r in caplog.records if r.name == "sdsearch.serve.access"]
    assert len(lines) == 2
    assert re.fullmatch(r"GET /api/search 200 \d+\.\d ms", lines[0]) and re.fullmatch(r"GET /niets 404 \d+\.\d ms", lines[1])
    assert "geheime" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sdsearch.serve.access"), make_client(served, log_queries=True) as c:
        c.get("/api/search", params={"q": "geheime vraag\nGET /nep 200", "gemeente": "Velsen"})
    line = next(r.getMessage() for r in caplog.records if r.name == "sdsearch.serve.access")
    assert "\n" not in line and 'q="geheime vraag\\nGET /nep 200"' in line and 'gemeente="Velsen"' in line


# -- many readers: batches and index swaps -----------------------------------------------


class SlowEncoder(FakeEncoder):
    """The fake encoder with a delay, so searches overlap."""

    def __init__(self, delay: float = 0.15):
        self.delay = delay
        self.calls: list[int] = []

    def encode_queries(self, texts: list[str]) -> Any:
        self.calls.append(len(texts))
        time.sleep(self.delay)
        return super().encode_queries(texts)


def test_concurrent_searches_are_batched_and_each_gets_its_own_hits(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", SMALL_CORPUS)
    build(corpus, tmp_path / "index")
    enc = SlowEncoder()
    queries = ["beschermd wonen", "flexwoningen Mrija", "energiearmoede", "Skaeve Huse", "bijstandsuitkering", "Wmo maatwerkvoorziening"]
    expected = {q: json.loads(render.hits_json(q, api.search_with(searcher(tmp_path / "index"), [q], k=3)[0])) for q in queries}
    with LiveServer(tmp_path / "index", encoder=enc) as base:
        import httpx

        results: dict[str, Any] = {}

        def one(q: str) -> None:
            results[q] = httpx.get(f"{base}/api/search", params={"q": q, "k": 3}, timeout=30).json()

        threads = [threading.Thread(target=one, args=(q,)) for q in queries * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == expected
    assert max(enc.calls) > 1, enc.calls  # some searches shared one encoder call
    assert sum(enc.calls) >= 2 * len(queries)


def test_a_finished_build_is_picked_up_without_a_restart_or_a_failed_request(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", SMALL_CORPUS)
    index = tmp_path / "index"
    build(corpus, index)
    first = api.facets(index)["generation"]
    statuses: list[int] = []
    seen: list[list[str]] = [[], [], []]  # the generations each client saw, in order
    stop = threading.Event()
    with LiveServer(index, encoder=SlowEncoder(0.02)) as base:
        import httpx

        def hammer(generations: list[str]) -> None:
            with httpx.Client(timeout=30) as http:
                while not stop.is_set():
                    r = http.get(f"{base}/api/search", params={"q": "Zwolle jeugdhulp"})
                    statuses.append(r.status_code)
                    generations.append(r.headers.get("x-sdsearch-generation", ""))

        workers = [threading.Thread(target=hammer, args=(g,)) for g in seen]
        for w in workers:
            w.start()
        time.sleep(0.3)
        (corpus / "zwolle-jaarverslag-2024.txt").write_text("Jeugdhulp in Zwolle\nZwolle bood in 2024 jeugdhulp aan 900 kinderen.\n", encoding="utf-8")
        build(corpus, index)
        second = api.facets(index)["generation"]
        deadline = time.time() + 15
        while time.time() < deadline and not all(g and g[-1] == second for g in seen):
            time.sleep(0.05)
        time.sleep(0.2)
        stop.set()
        for w in workers:
            w.join()
        after = httpx.get(f"{base}/api/search", params={"q": "Zwolle jeugdhulp", "k": 1}).json()
        info = httpx.get(f"{base}/api/info").json()
    assert statuses and set(statuses) == {200}, statuses
    for g in seen:
        assert g[0] == first and g[-1] == second
        assert set(g[g.index(second) :]) == {second}, "went back to the old index"
    assert after["hits"][0]["gemeente"] == "Zwolle"
    assert "Zwolle" in {g["value"] for g in info["gemeenten"]}


def test_searches_in_flight_finish_on_the_index_they_began_with(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", SMALL_CORPUS)
    index = tmp_path / "index"
    build(corpus, index)
    first = api.facets(index)["generation"]
    enc = SlowEncoder(0.0)
    with LiveServer(index, encoder=enc) as base:
        import httpx

        box: dict[str, Any] = {}

        def search() -> None:
            box["r"] = httpx.get(f"{base}/api/search", params={"q": "Skaeve Huse"}, timeout=30)
            box["answered"] = time.time()

        enc.delay = 4.0
        before = len(enc.calls)
        t = threading.Thread(target=search)
        t.start()
        while len(enc.calls) == before:
            time.sleep(0.01)
        (corpus / "velsen-jaarverslag-2022.txt").unlink()
        build(corpus, index)  # a new generation goes live while the search runs
        built = time.time()
        time.sleep(0.3)  # the watcher has opened it and waits for the search thread
        t.join()
        r = box["r"]
        assert built < box["answered"], "the build finished after the search: nothing was tested"
        assert r.status_code == 200 and r.headers["x-sdsearch-generation"] == first
        assert r.json()["hits"][0]["source"] == "velsen-jaarverslag-2022.txt"  # found in the old generation
        enc.delay = 0.0
        deadline = time.time() + 15
        while time.time() < deadline:
            r = httpx.get(f"{base}/api/search", params={"q": "Skaeve Huse"})
            if r.headers["x-sdsearch-generation"] != first:
                break
            time.sleep(0.1)
        assert r.status_code == 200 and all(h["source"] != "velsen-jaarverslag-2022.txt" for h in r.json()["hits"])


def test_a_damaged_new_generation_leaves_the_old_one_answering(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", SMALL_CORPUS)
    index = tmp_path / "index"
    build(corpus, index)
    first = api.facets(index)["generation"]
    with LiveServer(index) as base:
        import httpx

        other = tmp_path / "other"
        build(corpus, other)
        second = api.facets(other)["generation"]
        with open(other / second / "vectors.npy", "r+b") as f:  # a data file of the new generation is cut short
            f.truncate(100)
        shutil.move(other / second, index / second)
        shutil.copy(other / "CURRENT", index / ".CURRENT.new")
        os.replace(index / ".CURRENT.new", index / "CURRENT")  # as a build would swap it
        time.sleep(1.0)
        r = httpx.get(f"{base}/api/search", params={"q": "beschermd wonen"})
        assert r.status_code == 200 and r.headers["x-sdsearch-generation"] == first
        assert httpx.get(f"{base}/healthz").json()["generation"] == first


# -- the command -------------------------------------------------------------------------


def test_serve_command_warns_once_off_loopback_and_passes_options(served: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    from sdsearch.cli import main

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.delenv("SDSEARCH_TOKEN", raising=False)
    monkeypatch.setenv("SDSEARCH_SERVE_OPTIONS", "")
    assert main(["serve", "--index", str(served), "--host", "0.0.0.0", "--port", "8123", "--workers", "2"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len([ln for ln in err if "waarschuwing" in ln]) == 1 and "0.0.0.0:8123" in err[0] and "--token" in err[0]
    assert seen["host"] == "0.0.0.0" and seen["port"] == 8123 and seen["workers"] == 2 and seen["factory"] is True
    opts = ServeOptions.from_environment()
    assert opts.index == str(served.resolve()) and opts.workers == 2 and opts.token is None
    monkeypatch.setenv("SDSEARCH_TOKEN", "uit-de-omgeving")
    assert main(["serve", "--index", str(served)]) == 0
    err = capsys.readouterr().err
    assert "waarschuwing" not in err and "http://127.0.0.1:8000/" in err
    assert ServeOptions.from_environment().token == "uit-de-omgeving"


def test_serve_command_without_an_index_fails_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sdsearch.cli import main

    assert main(["serve", "--index", str(tmp_path / "geen-index")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sdsearch: geen index in")



def test_serve_command_with_an_index_of_an_older_analyzer_fails_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not uvicorn's start-up traceback: the line a search would give, before the server starts."""
    import hashlib
    import json

    from sdsearch.cli import main
    from sdsearch.store import CURRENT, current_generation

    corpus = write_corpus(tmp_path / "corpus", SMALL_CORPUS)
    index = tmp_path / "index"
    build(corpus, index)
    gen = current_generation(index)
    m = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    m["analyzer"]["version"] = 2
    raw = json.dumps(m).encode("utf-8")
    (gen / "manifest.json").write_bytes(raw)
    (index / CURRENT).write_text(f"{gen.name}\nmanifest-sha256 {hashlib.sha256(raw).hexdigest()}\n", encoding="utf-8")
    assert main(["serve", "--index", str(index)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "analyse versie 2" in err[0] and "sdsearch index" in err[0], err

def test_workers_share_one_memory_mapped_index(tmp_path: Path) -> None:
    """`--workers 2` in real processes: both answer, and both map (not copy) the index files."""
    corpus = write_corpus(tmp_path / "corpus", SMALL_CORPUS)
    index = tmp_path / "index"
    build(corpus, index)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SDSEARCH_MODE": "sparse"}  # no model needed for BM25-only
    proc = subprocess.Popen(
        [sys.executable, "-m", "sdsearch", "serve", "--index", str(index), "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        import httpx

        gen = api.facets(index)["generation"]
        wanted = [f"{gen}/vectors.faiss", f"{gen}/vectors.npy", f"{gen}/bm25/data.csc.index.npy"]

        def mapped(pid: int) -> bool:
            try:
                maps = Path(f"/proc/{pid}/maps").read_text()
            except OSError:
                return False
            return all(w in maps for w in wanted)

        def answers() -> bool:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/search", params={"q": "beschermd wonen"}, timeout=10)
            except httpx.TransportError:  # bound, but no worker listens before its index is open
                return False
            assert r.status_code == 200 and r.json()["hits"]
            return True

        deadline = time.time() + 120
        workers: list[int] = []
        while time.time() < deadline:
            workers = worker_pids(proc.pid)
            if len(workers) == 2 and all(mapped(p) for p in workers) and answers():
                break
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            time.sleep(0.3)
        assert len(workers) == 2 and all(mapped(p) for p in workers) and answers(), (workers, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def worker_pids(parent: int) -> list[int]:
    """uvicorn's worker processes: children of ``parent`` started by multiprocessing's spawn."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in cmd:
            found.append(int(d.name))
    return sorted(found)


# -- a live server for tests that need real HTTP ---------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``create_app`` served by uvicorn in a thread on 127.0.0.1 (a free port); the base URL."""

    def __init__(self, index: Path, encoder: Any = None, **options: Any):
        import uvicorn

        self.app = create_app(ServeOptions(index=str(index), poll_seconds=0.1, **options), encoder=encoder or FakeEncoder())
        self.port = free_port()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.time() + 60
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
