"""HTTP shell over the service: FastAPI app, schemas, one error handler."""

from __future__ import annotations

from qa.api.app import create_app

__all__ = ["create_app"]
