"""Route dependencies: the service, and the read and write keys (`Annotated`, declared once).

They are `async def` although they never await: FastAPI runs a sync dependency in the thread
pool, one more thread hand-off per request for a few microseconds of work.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from qa.errors import Forbidden, Unauthorized
from qa.service import QAService


async def get_service(request: Request) -> QAService:
    """The one service the lifespan loaded."""
    service: QAService = request.app.state.service
    return service


ServiceDep = Annotated[QAService, Depends(get_service)]


def _check_bearer(request: Request, expected: str, name: str) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    # Constant-time comparison: response timing must not reveal how much of a guess was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        raise Unauthorized(f"this endpoint needs `Authorization: Bearer <{name}>`")


async def require_write_key(request: Request, service: ServiceDep) -> None:
    """Write routes: closed (403) unless QA_API_KEY is set, then it is needed as a Bearer token."""
    key = service.settings.api_key
    if key is None or not key.get_secret_value():
        raise Forbidden("write endpoints are disabled: set QA_API_KEY to enable them")
    _check_bearer(request, key.get_secret_value(), "QA_API_KEY")


async def require_read_key(request: Request, service: ServiceDep) -> None:
    """Read routes (all but /health): open, unless QA_READ_API_KEY is set."""
    key = service.settings.read_api_key
    if key is not None and key.get_secret_value():
        _check_bearer(request, key.get_secret_value(), "QA_READ_API_KEY")


ReadKey = Annotated[None, Depends(require_read_key)]
WriteKey = Annotated[None, Depends(require_write_key)]
