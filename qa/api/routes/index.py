"""POST /index/update: bring the index in line with the source folder."""

from __future__ import annotations

from fastapi import APIRouter

from qa.api.deps import ServiceDep, WriteKey
from qa.api.schemas import WRITE_ERRORS
from qa.models import UpdateReport

router = APIRouter(tags=["index"])


@router.post("/index/update", response_model=UpdateReport, responses=WRITE_ERRORS)
def update_index(service: ServiceDep, _: WriteKey) -> UpdateReport:
    """Bring the index in line with the source folder (what `qa index update` does)."""
    return service.update()
