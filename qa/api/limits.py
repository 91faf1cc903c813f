"""Request bodies: bounded on every route, and never read before the API key is checked.

A pure ASGI middleware in front of the routes. FastAPI reads and parses a body before it runs a
route's dependencies, so without this a 100 MB body sent to `/ask` without a key was read in
full before the 401. Here, before any byte of a body is read:
- a keyed route's key is checked (the same rules as the routes' own dependencies, which still run:
  this only moves the answer earlier for requests that carry a body);
- a declared `Content-Length` above the route's limit is answered 413;
and while the route reads, streamed (chunked) bytes are counted, and 413 is answered as soon as
they pass the limit; the rest of the body is never read.
Limits: `POST /documents` takes QA_MAX_UPLOAD_BYTES plus multipart/JSON framing; every other
route takes JSON_BODY_BYTES, room for the longest question with its filters.
"""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.errors import Forbidden, PayloadTooLarge, QAError, Unauthorized

if TYPE_CHECKING:
    from qa.settings import Settings

# A 2,000-character question as escaped JSON (`\uXXXX` each) is 12 KB; filters and keys fit in
# the rest.
JSON_BODY_BYTES = 32 * 1024
# Multipart framing and JSON escaping around a document of the maximum size (as qa.api.app).
UPLOAD_SLACK = 64 * 1024
_WRITE = (("POST", "/documents"), ("POST", "/index/update"))
_OPEN = ("/health", "/metrics", "/docs", "/redoc", "/openapi.json")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _bearer_ok(scope: Scope, expected: str) -> bool:
    scheme, _, token = _header(scope, b"authorization").partition(" ")
    # Constant time, as the routes' own check: timing must not tell how much of a guess was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


def is_write(method: str, path: str) -> bool:
    return (method, path) in _WRITE or (method == "DELETE" and path.startswith("/documents/"))


def key_error(scope: Scope, settings: Settings) -> QAError | None:
    """What the route's key dependency would answer, known from the headers alone."""
    method, path = scope.get("method", ""), scope.get("path", "")
    if is_write(method, path):
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        if not key:
            return Forbidden("write endpoints are disabled: set QA_API_KEY to enable them")
        if not _bearer_ok(scope, key):
            return Unauthorized("this endpoint needs `Authorization: Bearer <QA_API_KEY>`")
        return None
    read = settings.read_api_key.get_secret_value() if settings.read_api_key else ""
    if read and path not in _OPEN and not path.startswith("/docs/") and not _bearer_ok(scope, read):
        return Unauthorized("this endpoint needs `Authorization: Bearer <QA_READ_API_KEY>`")
    return None


def body_limit(method: str, path: str, settings: Settings) -> int:
    if method == "POST" and path == "/documents":
        return settings.max_upload_bytes + UPLOAD_SLACK
    return JSON_BODY_BYTES


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length").strip()
    chunked = "chunked" in _header(scope, b"transfer-encoding").lower()
    return chunked or (length not in ("", "0"))


async def _answer(send: Send, exc: QAError) -> None:
    body = json.dumps({"error": exc.code, "detail": exc.message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    # The unread rest of the body makes the connection unusable for another request.
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """Key check before the body, and a byte limit on the body, for every HTTP request."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings  # used when the app serves no service yet

    def _settings(self, scope: Scope) -> Settings:
        app = scope.get("app")
        service = getattr(getattr(app, "state", None), "service", None)
        return service.settings if service is not None else self.settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        settings = self._settings(scope)
        refused = key_error(scope, settings)
        if refused is not None:
            await _answer(send, refused)
            return
        limit = body_limit(scope.get("method", ""), scope.get("path", ""), settings)
        too_large = PayloadTooLarge(f"request body larger than {limit} bytes")
        length = _header(scope, b"content-length").strip()
        if length.isdigit() and int(length) > limit:
            await _answer(send, too_large)
            return

        received = 0
        started = answered = False

        async def counted() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    answered = True
                    if not started:
                        await _answer(send, too_large)
                    return {"type": "http.disconnect"}  # the route stops reading here
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if answered and not started:
                return  # the 413 went out; whatever the route makes of the disconnect does not
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except Exception:
            if answered and not started:
                return  # the route failed on the cut-off body; the client has its 413
            raise
