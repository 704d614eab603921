"""The outermost layer of the server (plain ASGI): limits, token, security headers, one log line.

It wraps the whole application, so every response — including errors the framework
makes itself — carries the security headers and is logged as one line:
``GET /api/search 200 12.3 ms`` (with the query text only when asked for).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, quote

from .options import MAX_BODY, MAX_PATH, MAX_QUERY_STRING

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("sdsearch.serve.access")

SESSION_COOKIE = "sdsearch_sessie"
# No inline script or style anywhere; the page's one script and stylesheet come from /static.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]
PUBLIC_PATHS = ("/healthz", "/login", "/static/")


def session_value(token: str) -> str:
    """What the login cookie holds: derived from the token, not the token itself."""
    return hmac.new(token.encode("utf-8"), b"sdsearch-sessie-v1", hashlib.sha256).hexdigest()


def wants_json(path: str, headers: dict[bytes, bytes]) -> bool:
    if path.startswith(("/api/", "/healthz", "/openapi.json")):
        return True
    return b"text/html" not in headers.get(b"accept", b"")


def json_body(status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())] + (extra or [])
    return status, headers, body


def _printable(text: str) -> str:
    """A path for the log: no control characters or spaces that could fake a second line."""
    return "".join(c if c.isprintable() and not c.isspace() else f"\\x{ord(c):02x}" for c in text[:300])


class Guard:
    def __init__(self, app: ASGIApp, token: str | None = None, log_queries: bool = False):
        self.app = app
        self.token = token
        self.session = session_value(token) if token else None
        self.log_queries = log_queries

    def _refuse(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        method, path = scope["method"], scope["path"]
        if method not in ("GET", "HEAD") and not (method == "POST" and path == "/login"):
            allow = b"POST" if path == "/login" else b"GET"
            if path == "/login":
                allow = b"GET, POST"
            return json_body(405, f"Methode {method[:10]} is hier niet toegestaan; gebruik {allow.decode()}.", [(b"allow", allow)])
        if len(scope.get("raw_path") or path.encode("utf-8", "replace")) > MAX_PATH:
            return json_body(414, "Het adres is te lang.")
        if len(scope.get("query_string", b"")) > MAX_QUERY_STRING:
            return json_body(414, f"De zoekopdracht in het adres is te lang (ten hoogste {MAX_QUERY_STRING} tekens).")
        length = headers.get(b"content-length")
        limit = MAX_BODY if method == "POST" else 0
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                return json_body(400, "Ongeldige Content-Length.")
            if too_big:
                return json_body(413, "Het verzoek is te groot." if limit else "Een GET-verzoek heeft geen inhoud.")
        elif b"chunked" in headers.get(b"transfer-encoding", b"") and not limit:
            return json_body(413, "Een GET-verzoek heeft geen inhoud.")
        if self.token and not (path.startswith(PUBLIC_PATHS) or self._authorised(headers)):
            if wants_json(path, headers):
                return json_body(
                    401,
                    "Toegang geweigerd: stuur de toegangscode mee als 'Authorization: Bearer …'.",
                    [(b"www-authenticate", b'Bearer realm="sdsearch"')],
                )
            back = path + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
            location = "/login?" + "terug=" + quote(back, safe="")
            return 303, [(b"location", location.encode("latin-1")), (b"content-length", b"0")], b""
        return None

    def _authorised(self, headers: dict[bytes, bytes]) -> bool:
        assert self.token is not None and self.session is not None
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth[:7].lower() == "bearer " and hmac.compare_digest(auth[7:].strip().encode(), self.token.encode()):
            return True
        for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE and hmac.compare_digest(value.encode(), self.session.encode()):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 0
        path = scope["path"]
        static = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", CSP.encode()))
                if b"cache-control" not in present:
                    extra.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            headers = dict(scope.get("headers") or [])
            refused = self._refuse(scope, headers)
            if refused is not None:
                code, hdrs, body = refused
                await send_with_headers({"type": "http.response.start", "status": code, "headers": hdrs})
                await send_with_headers({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
                return
            await self.app(scope, receive, send_with_headers)
        finally:
            ms = (time.perf_counter() - t0) * 1000
            line = f"{scope['method']} {_printable(path)} {status or 500} {ms:.1f} ms"
            if self.log_queries and scope.get("query_string"):
                params = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=False)
                shown = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)[:200]}" for k, v in params if k in ("q", "gemeente", "jaar", "type", "k"))
                if shown:
                    line += " " + shown
            log.info(line)
