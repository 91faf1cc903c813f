"""The facade's share of #17: `qa worker` and `qa db …`, mixed into QAService (qa.service) so
the shells reach them through the facade alone."""

from __future__ import annotations

from pathlib import Path

from qa.embed import Embedder
from qa.models import SchemaReport, TransferReport, WorkReport
from qa.settings import Settings
from qa.store import IndexStore, admin


class StoreAdmin:
    settings: Settings
    store: IndexStore

    @property
    def embedder(self) -> Embedder:
        raise NotImplementedError

    def migrate(self, *, target: int | None = None) -> SchemaReport:
        """Bring the database's schema to this qa's (`qa db migrate`), or to `target`."""
        return admin.migrate(self.store, target)

    def import_index(self, folder: Path) -> TransferReport:
        """Copy a files index (its live version and embedding cache) into the database."""
        return admin.import_files(self.store, folder, lock_timeout=self.settings.lock_timeout)

    def export_index(self, folder: Path) -> TransferReport:
        """Copy the database's live version into a files index."""
        return admin.export_files(self.store, folder, lock_timeout=self.settings.lock_timeout)

    def work(self) -> WorkReport:
        """Share the update of the store with other workers until no job is left."""
        from qa.work import work

        return work(self.settings, self.store, lambda: self.embedder)
