"""Persistence behind two contracts (qa.store.base): `IndexStore` for versions of the index and
`VectorIndex` for searchable vectors. `open_store` picks the backend; today the files under
`index/` (qa.store.files, FAISS), the place for a database backend."""

from __future__ import annotations

from qa.settings import Settings
from qa.store.base import IndexData, IndexStore, VectorIndex
from qa.store.manifest import FORMAT_VERSION, DocEntry, Manifest

__all__ = [
    "FORMAT_VERSION",
    "DocEntry",
    "IndexData",
    "IndexStore",
    "Manifest",
    "VectorIndex",
    "open_store",
]


def open_store(settings: Settings) -> IndexStore:
    """The store the settings name (the index folder)."""
    from qa.store.files import IndexDir

    return IndexDir(settings.index_dir)
