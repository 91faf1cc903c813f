"""POST /index/update: bring the index in line with the source folder."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from qa.api.deps import ServiceDep, WriteKey
from qa.api.schemas import WRITE_ERRORS, UpdateResult

router = APIRouter(tags=["index"])


@router.post("/index/update", response_model=UpdateResult, responses=WRITE_ERRORS)
def update_index(service: ServiceDep, _: WriteKey) -> dict[str, Any]:
    """Bring the index in line with the source folder (what `qa index update` does)."""
    return service.update().to_dict()
