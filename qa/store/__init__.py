"""Persistence: dense vectors behind `VectorStore`, and versioned index folders on disk."""

from __future__ import annotations

from qa.store.faiss_store import FaissStore, VectorStore
from qa.store.index import FORMAT_VERSION, IndexData, IndexDir

__all__ = ["FORMAT_VERSION", "FaissStore", "IndexData", "IndexDir", "VectorStore"]
