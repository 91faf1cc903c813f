"""Request ids, JSON access logs, request metrics, security headers and a per-request deadline.

One pure ASGI middleware, so it adds microseconds, not a task per request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI

from qa.metrics import LATENCY, REQUESTS

log = logging.getLogger("qa.http")

_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# The API answers JSON only; /docs and /redoc pull Swagger/ReDoc assets and need their own policy.
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("qa")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


class Observability:
    def __init__(self, app: ASGIApp, timeout: float = 30.0) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope.get("path", "")
        docs_page = path in ("/docs", "/redoc") or path.startswith("/docs/")
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                extra = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]
                headers = message.get("headers", [])
                # A route that sets its own policy keeps it: the web page's HTML (qa/web) needs
                # `default-src 'self'` for its stylesheet and script.
                own_csp = any(k.lower() == API_CSP[0] for k, _ in headers)
                if not docs_page and not own_csp:
                    extra.append(API_CSP)
                message["headers"] = [*headers, *extra]
            await send(message)

        # Reads (GET, and POST /ask) get the deadline. A write runs to its end and its response
        # says what happened: a 503 after the deadline would report a failure for an upload that
        # then goes live, since the update in its thread cannot be cancelled half-way.
        method = scope.get("method", "")
        reading = method in ("GET", "HEAD") or path == "/ask"
        try:
            # asyncio.timeout cancels in place; wait_for would wrap every request in a new Task.
            async with asyncio.timeout(self.timeout if reading else None):
                await self.app(scope, receive, send_wrapper)
        except TimeoutError:
            if response_started:
                raise
            status = 503
            body = json.dumps(
                {"error": "timeout", "detail": f"request took longer than {self.timeout:g} s"}
            ).encode()
            await send_wrapper(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_wrapper({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": method,
                        "route": route,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    }
                },
            )


def install(app: FastAPI, cors_origins: list[str], timeout: float) -> None:
    """Wire the middleware into `app`: CORS (closed unless allow-listed), then Observability."""
    from fastapi.middleware.cors import CORSMiddleware

    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(Observability, timeout=timeout)
