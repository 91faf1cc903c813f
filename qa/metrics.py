"""Prometheus metrics, defined once per process (the API exposes them at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "qa_requests", "HTTP requests handled.", ["method", "route", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "qa_request_seconds",
    "HTTP request latency.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.02, 0.04, 0.06, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
INDEX_DOCUMENTS = Gauge("qa_index_documents", "Documents in the live index.", registry=REGISTRY)
INDEX_CHUNKS = Gauge("qa_index_chunks", "Chunks in the live index.", registry=REGISTRY)
INDEX_VERSION = Gauge(
    "qa_index_version", "Sequence number of the live index version.", registry=REGISTRY
)
UPDATE_SECONDS = Histogram(
    "qa_index_update_seconds",
    "Duration of index builds and updates.",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
