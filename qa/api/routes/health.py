"""GET /health (open, for load balancers) and GET /metrics (Prometheus text, read key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from qa.api.deps import ReadKey, ServiceDep
from qa.models import Health

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health)
def health(service: ServiceDep) -> Health:
    """The live index: documents, chunks, model and version."""
    return service.status()


@router.get("/metrics", include_in_schema=False)
def metrics(service: ServiceDep, _: ReadKey) -> Response:
    """Prometheus text: requests and latency by route and status, the index, update durations."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from qa.metrics import INDEX_CHUNKS, INDEX_DOCUMENTS, INDEX_VERSION, REGISTRY

    status = service.status()
    INDEX_DOCUMENTS.set(status.documents)
    INDEX_CHUNKS.set(status.chunks)
    number = status.version.split("-")[0]
    if number.isdigit():
        INDEX_VERSION.set(int(number))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
