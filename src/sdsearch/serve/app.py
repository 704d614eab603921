"""The web application: the JSON API, the page, the reading view and the API docs.

``create_app()`` is what uvicorn's workers call (options from ``sdsearch serve``);
tests call ``create_app(options, encoder=...)`` directly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__, api, render
from . import checks, models, page
from .engine import Engine
from .errors import ApiError, document_error, known_error_types, to_api_error
from .guard import SESSION_COOKIE, Guard, session_value, wants_json
from .options import MAX_K, MAX_QUERY_CHARS, ServeOptions

log = logging.getLogger("sdsearch.serve")
HERE = Path(__file__).parent

DESCRIPTION = (
    "Vraag het de rapporten: zoeken en vragen in gemeentelijke rapporten over het sociaal domein. "
    "De antwoorden zijn dezelfde JSON-objecten als die van `sdsearch search --json` en "
    "`sdsearch ask --json`. Foute invoer krijgt een 4xx met `{\"error\": \"…\"}` in het Nederlands."
)
ERRORS = {400: {"model": models.Error, "description": "Ongeldige invoer, of een filterwaarde die de index niet kent"},
          503: {"model": models.Error, "description": "De index of het taalmodel is (even) niet beschikbaar"}}


QueryText = Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="De vraag of de zoekwoorden (ten hoogste 2000 tekens)")]
Gemeenten = Annotated[list[str] | None, Query(description="Alleen deze gemeente(n); herhaal de parameter of scheid met komma's")]
Jaar = Annotated[str | None, Query(max_length=40, description="Alleen dit jaar (2022) of deze reeks (2020-2023, 2021-)")]
Soorten = Annotated[
    list[str] | None, Query(alias="type", description="Alleen deze documentsoort(en), zoals jaarverslag of programmabegroting")
]


def setup_logging() -> None:
    """One line per request on stderr (the access logger), warnings of the server beside it."""
    for name in ("sdsearch.serve", "sdsearch.serve.access"):
        logger = logging.getLogger(name)
        if not any(getattr(h, "_sdsearch", False) for h in logger.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s sdsearch[%(process)d] %(message)s", "%Y-%m-%dT%H:%M:%S"))
            handler._sdsearch = True  # type: ignore[attr-defined]
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False


def create_app(options: ServeOptions | None = None, encoder: Any = None, engine: Engine | None = None) -> Guard:
    """The ASGI application (FastAPI inside ``Guard``). Without ``options``: those of ``sdsearch serve``."""
    opts = options or ServeOptions.from_environment()
    if options is None:
        setup_logging()
    eng = engine or Engine(opts.index_dir, opts.max_batch, opts.max_pending, opts.poll_seconds)
    if encoder is not None:
        eng.initial_encoder = encoder

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        if not eng.generation:
            eng.start()
        try:
            yield
        finally:
            eng.close()

    app = FastAPI(
        title="sdsearch",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.engine = eng
    app.state.options = opts
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # -- errors --------------------------------------------------------------------------

    def error_response(request: Request, err: ApiError) -> Response:
        headers = {"www-authenticate": 'Bearer realm="sdsearch"'} if err.status == 401 else None
        if wants_json(request.url.path, dict(request.scope.get("headers") or [])):
            return JSONResponse(err.body(), status_code=err.status, headers=headers)
        html = page.render("error.html", status=err.status, message=err.message, facets=eng.facets, token=bool(opts.token))
        return HTMLResponse(html, status_code=err.status, headers=headers)

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, _dutch_validation(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "Deze pagina bestaat niet.", 405: "Deze methode is hier niet toegestaan; gebruik GET."}
        err = ApiError(exc.status_code, messages.get(exc.status_code, f"Fout {exc.status_code}."))
        response = error_response(request, err)
        if exc.status_code == 405:
            response.headers["allow"] = "GET"
        return response

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> Response:
        err = to_api_error(exc)
        if err is None:
            log.error("internal error on %s", request.url.path, exc_info=exc)
            err = ApiError(500, "Er ging iets mis in de server; de beheerder kan het in het logboek terugvinden.")
        return error_response(request, err)

    async def run(kind: str, q: str, k: int, selection: checks.Selection) -> Any:
        try:
            return await (eng.search(q, k, selection) if kind == "search" else eng.ask(q, k, selection))
        except ApiError:
            raise
        except known_error_types() as e:
            raise to_api_error(e) from None  # type: ignore[misc]

    # -- the JSON API --------------------------------------------------------------------

    @app.get("/api/search", summary="Zoeken: gerangschikte passages met bronvermelding", response_model=None,
             responses={200: {"model": models.SearchResult, "description": "Hetzelfde object als `sdsearch search --json`"}, **ERRORS})
    async def api_search(
        request: Request,
        q: QueryText,
        k: Annotated[int, Query(ge=1, le=MAX_K, description="Aantal passages (1-100)")] = 10,
        gemeente: Gemeenten = None,
        jaar: Jaar = None,
        doc_type: Soorten = None,
    ) -> Response:
        checks.check_query(q)
        _strict_k(request)
        sel = _api_filters(eng.facets, gemeente, jaar, doc_type)
        res = await run("search", q, k, sel)
        return Response(render.hits_json(q, res.value), media_type="application/json", headers={"x-sdsearch-generation": res.generation})

    @app.get("/api/ask", summary="Vragen: het antwoord met zijn bronnen", response_model=None,
             responses={200: {"model": models.AskResult, "description": "Hetzelfde object als `sdsearch ask --json`"}, **ERRORS})
    async def api_ask(
        request: Request,
        q: QueryText,
        k: Annotated[int, Query(ge=1, le=MAX_K, description="Aantal bronpassages (1-100)")] = 5,
        gemeente: Gemeenten = None,
        jaar: Jaar = None,
        doc_type: Soorten = None,
    ) -> Response:
        checks.check_query(q)
        _strict_k(request)
        sel = _api_filters(eng.facets, gemeente, jaar, doc_type)
        res = await run("ask", q, k, sel)
        return Response(render.answer_json(res.value), media_type="application/json", headers={"x-sdsearch-generation": res.generation})

    @app.get("/api/info", summary="Wat de index bevat: documenten, gemeenten, jaren en soorten met aantallen", response_model=None,
             responses={200: {"model": models.Info}})
    async def api_info() -> Response:
        return JSONResponse(info_object(eng.facets), headers={"x-sdsearch-generation": eng.generation})

    @app.get("/healthz", summary="200 zodra de index open is", response_model=None,
             responses={200: {"model": models.Health}, 503: {"model": models.Error}})
    async def healthz() -> Response:
        if not eng.generation:
            raise ApiError(503, "De index wordt nog geopend.")
        return JSONResponse({"status": "ok", "generation": eng.generation, "passages": int(eng.facets.get("passages", 0))})

    # -- the page ------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        qp = request.query_params
        q = qp.get("q", "")
        gemeente = [v for v in qp.getlist("gemeente") if v.strip()]
        types = [v for v in qp.getlist("type") if v.strip()]
        jaar = (qp.get("jaar") or "").strip() or None
        ctx: dict[str, Any] = {
            "q": q,
            "facets": eng.facets,
            "chosen": {"gemeente": gemeente, "jaar": jaar, "type": types},
            "k": None,
            "error": None,
            "note": None,
            "answer": None,
            "hits": [],
            "searched": False,
            "share": None,
            "token": bool(opts.token),
        }
        status = 200
        try:
            k = _page_k(qp.get("k"))
            ctx["k"] = k if qp.get("k") else None
            sel = checks.check_filters(eng.facets, gemeente, jaar, types)
            if q.strip():
                checks.check_query(q)
                ctx["searched"] = True
                ctx["share"] = page.page_url(q, gemeente, jaar, types, ctx["k"])
                if (gemeente or jaar or types) and checks.documents_matching(eng.facets, sel) == 0:
                    ctx["note"] = f"Geen enkel rapport in de index past bij deze filters samen ({checks.describe(sel)})."
                else:
                    res = await run("ask", q, k, sel)
                    await _fill_page(ctx, res.value)
        except ApiError as e:
            status, ctx["error"] = e.status, e.message
        return HTMLResponse(page.render("index.html", **ctx), status_code=status)

    async def _fill_page(ctx: dict[str, Any], answer: Any) -> None:
        obj = json.loads(render.answer_json(answer))
        matched = {h.passage_id: h.matched_terms for h in answer.hits}
        ctx["answer"] = page.answer_view(obj)
        hits = [page.hit_view(h, matched.get(h["passage_id"], ())) for h in obj["hits"]]
        docs = await _documents({h["source"] for h in hits})
        indexed = {d["source"]: d.get("content_hash") for d in eng.facets.get("documents", [])}
        for h in hits:
            doc = docs.get(h["source"])
            if isinstance(doc, ApiError):
                h["context_note"] = f"De context is niet beschikbaar: {doc.message}"
            elif doc is not None and doc.content_hash != indexed.get(h["source"]):
                h["context_note"] = "Het rapport is gewijzigd sinds het indexeren; de context is daarom weggelaten."
            elif doc is not None and 0 <= h["char_start"] <= h["char_end"] <= len(doc.text):
                h["context"] = page.context_view(doc.text, h["char_start"], h["char_end"])
        ctx["hits"] = hits

    async def _documents(sources: set[str]) -> dict[str, Any]:
        async def one(src: str) -> Any:
            try:
                return await eng.document(src)
            except known_error_types() as e:
                return document_error(e)

        found = await asyncio.gather(*(one(s) for s in sorted(sources)))
        return dict(zip(sorted(sources), found, strict=True))

    # -- reports -------------------------------------------------------------------------

    def _indexed(source: str) -> dict[str, Any]:
        for d in eng.facets.get("documents", []):
            if d.get("source") == source:
                return d
        raise ApiError(404, "Dit rapport staat niet in de index.")

    @app.get("/bron/{source:path}", include_in_schema=False)
    async def reading(request: Request, source: str) -> Response:
        entry = _indexed(source)
        start, end = _span(request.query_params.get("van"), request.query_params.get("tot"))
        try:
            doc = await eng.document(source)
        except known_error_types() as e:
            raise document_error(e) from None
        changed = doc.content_hash != entry.get("content_hash")
        if start is not None and end is not None and end > len(doc.text):
            raise ApiError(400, "Deze plaats ligt buiten het rapport.")
        pieces = page.reading_view(doc, None if changed else start, None if changed else end)
        html = page.render(
            "bron.html",
            doc=entry,
            pieces=pieces,
            changed=changed,
            marked=start is not None and not changed,
            pdf_href=("/bestand/" + quote(source, safe="/")) if page.is_pdf(source) else None,
            back=request.headers.get("referer"),
            facets=eng.facets,
            token=bool(opts.token),
        )
        return HTMLResponse(html)

    @app.get("/bestand/{source:path}", include_in_schema=False)
    async def original(source: str) -> Response:
        _indexed(source)
        if not page.is_pdf(source):
            raise ApiError(404, "Alleen PDF-rapporten worden als bestand geopend; de andere staan in de leesweergave onder /bron/.")
        try:
            path = await asyncio.get_running_loop().run_in_executor(None, api.source_file, source, eng.index_dir)
        except known_error_types() as e:
            raise document_error(e) from None
        # The PDF is shown by the browser's own viewer; it gets no rights on this site.
        return FileResponse(
            path,
            media_type="application/pdf",
            filename=Path(source).name,
            content_disposition_type="inline",
            headers={"content-security-policy": "sandbox; default-src 'none'; object-src 'self'; plugin-types application/pdf"},
        )

    # -- login (only with a token) -------------------------------------------------------

    @app.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        if not opts.token:
            return RedirectResponse("/", status_code=303)
        back = _local(request.query_params.get("terug"))
        return HTMLResponse(page.render("login.html", back=back, error=None, facets=eng.facets, token=True))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        if not opts.token:
            return RedirectResponse("/", status_code=303)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > 4096:
                raise ApiError(413, "Het verzoek is te groot.")
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        back = _local(form.get("terug"))
        import hmac

        if not hmac.compare_digest(form.get("token", "").strip().encode(), opts.token.encode()):
            html = page.render("login.html", back=back, error="Onjuiste toegangscode.", facets=eng.facets, token=True)
            return HTMLResponse(html, status_code=401)
        response = RedirectResponse(back, status_code=303)
        response.set_cookie(SESSION_COOKIE, session_value(opts.token), httponly=True, samesite="strict", path="/")
        return response

    @app.get("/uitloggen", include_in_schema=False)
    async def logout() -> Response:
        response = RedirectResponse("/login" if opts.token else "/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204, headers={"cache-control": "public, max-age=86400"})

    # -- OpenAPI and its page ------------------------------------------------------------

    schema_cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        """The schema, with the filter values the live index holds as enums (per generation)."""
        if schema_cache.get("generation") == eng.generation and "schema" in schema_cache:
            return schema_cache["schema"]
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema["info"]["x-index-generation"] = eng.generation
        values = {
            "gemeente": [str(e["value"]) for e in eng.facets.get("gemeenten", [])],
            "jaar": [str(e["value"]) for e in eng.facets.get("years", [])],
            "type": [str(e["value"]) for e in eng.facets.get("types", [])],
        }
        for path in ("/api/search", "/api/ask"):
            for p in schema["paths"][path]["get"]["parameters"]:
                if p["name"] == "q":
                    p["schema"]["pattern"] = checks.QUERY_PATTERN
                elif p["name"] in ("gemeente", "type"):
                    items: dict[str, Any] = {"type": "string"}
                    if values[p["name"]]:
                        items["enum"] = values[p["name"]]
                    p["schema"] = {"type": "array", "items": items, "title": p["name"].capitalize()}
                    p["style"], p["explode"] = "form", True
                elif p["name"] == "jaar":
                    p["schema"] = {"type": "string", "title": "Jaar"}
                    if values["jaar"]:
                        p["schema"]["enum"] = values["jaar"]
                    p["description"] += " (de lijst noemt de jaren van de index; reeksen als 2020-2023 mogen ook)"
        if opts.token:
            schema.setdefault("components", {})["securitySchemes"] = {"token": {"type": "http", "scheme": "bearer"}}
            for path, ops in schema["paths"].items():
                if path != "/healthz":
                    for op in ops.values():
                        op["security"] = [{"token": []}]
                        op.setdefault("responses", {})["401"] = {
                            "description": "Geen of een onjuiste toegangscode",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                        }
        schema_cache.update(generation=eng.generation, schema=schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        schema = app.openapi()
        base = str(request.base_url).rstrip("/")
        html = page.render("docs.html", schema=schema, base=base, facets=eng.facets, token=bool(opts.token))
        return HTMLResponse(html)

    return Guard(app, token=opts.token, log_queries=opts.log_queries)


# -- helpers -----------------------------------------------------------------------------


def info_object(facets: dict[str, Any]) -> dict[str, Any]:
    keep = ("source", "title", "gemeente", "year", "doc_type", "pages", "passages")
    return {
        **{k: facets.get(k) for k in ("generation", "created", "model", "passages")},
        "documents": [{k: d.get(k) for k in keep} for d in facets.get("documents", [])],
        **{k: facets.get(k, []) for k in ("gemeenten", "years", "types")},
    }


def _api_filters(facets: dict[str, Any], gemeente: list[str] | None, jaar: str | None, doc_type: list[str] | None) -> checks.Selection:
    checks.no_blank("gemeente", gemeente)
    checks.no_blank("jaar", jaar)
    checks.no_blank("type", doc_type)
    return checks.check_filters(facets, gemeente, jaar, doc_type)


def _strict_k(request: Request) -> None:
    """``k`` as written: ASCII digits only (the framework's int parsing forgives spaces and
    other Unicode white space around it, which the schema does not allow)."""
    raw = request.query_params.get("k")
    if raw is not None and not (raw.isascii() and raw.isdigit()):
        raise ApiError(400, f"k moet een geheel getal van 1 tot en met {MAX_K} zijn.", field="k")


def _page_k(raw: str | None) -> int:
    if raw is None or raw == "":
        return 5
    try:
        return checks.check_k(int(raw))
    except ValueError:
        raise ApiError(400, f"k moet een geheel getal van 1 tot en met {MAX_K} zijn.", field="k") from None


def _span(van: str | None, tot: str | None) -> tuple[int | None, int | None]:
    if van is None and tot is None:
        return None, None
    try:
        start, end = int(van or ""), int(tot or "")
    except ValueError:
        raise ApiError(400, "‘van’ en ‘tot’ moeten allebei gehele getallen zijn.") from None
    if not 0 <= start <= end:
        raise ApiError(400, "Deze plaats ligt buiten het rapport.")
    return start, end


def _local(path: str | None) -> str:
    """A path on this site to go back to after logging in (never another site)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _dutch_validation(errors: list[Any]) -> ApiError:
    first = errors[0] if errors else {}
    loc = first.get("loc", ()) if isinstance(first, dict) else ()
    name = str(loc[-1]) if loc else ""
    kind = first.get("type", "") if isinstance(first, dict) else ""
    if name == "q":
        if kind == "missing":
            return ApiError(400, "Geef een vraag mee: ?q=… (bijvoorbeeld ?q=beschermd+wonen).", field="q")
        if kind == "string_too_short":
            return ApiError(400, "Lege vraag: typ een vraag of een paar woorden.", field="q")
        if kind == "string_too_long":
            return ApiError(400, f"De vraag is te lang; ten hoogste {MAX_QUERY_CHARS} tekens.", field="q")
    if name == "k":
        return ApiError(400, f"k moet een geheel getal van 1 tot en met {MAX_K} zijn.", field="k")
    if name == "jaar":
        return ApiError(400, "Jaar niet begrepen: gebruik een jaar als 2022 of een reeks als 2020-2023.", field="jaar")
    return ApiError(400, f"Ongeldige waarde voor {name or 'een parameter'}.", field=name or None)
