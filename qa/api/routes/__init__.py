"""One router per resource; `qa.api.app` includes them all."""

from __future__ import annotations

from qa.api.routes import ask, documents, health, index

ROUTERS = (ask.router, documents.router, index.router, health.router)

__all__ = ["ROUTERS"]
