"""The work-queue contract of parallel indexing (qa.work), offered by stores that several
processes can share (qa.store.postgres); `qa.store.work_queue` returns None for the others."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from qa.store.manifest import DocEntry, SkippedEntry
from qa.store.segment import DocPart


@dataclass(frozen=True, slots=True)
class Job:
    """One document to (re)index in a run."""

    run: int
    doc_id: str
    sha256: str
    meta_sha256: str | None


@dataclass(frozen=True, slots=True)
class JobResult:
    doc_id: str
    sha256: str
    entry: DocEntry | None  # done: what the manifest records
    reason: str | None  # skipped: why


@dataclass(frozen=True, slots=True)
class Run:
    """An update under way: the version it builds on and what it keeps of it."""

    id: int
    base: str | None
    model: str
    chunking: dict[str, object]
    keep: dict[str, DocEntry]
    skipped: dict[str, SkippedEntry]


class Claim(Protocol):
    job: Job

    def done(self, part: DocPart) -> DocEntry:
        """Store the document and mark the job done, in the claim's transaction."""
        ...

    def skip(self, reason: str) -> None: ...


class WorkQueue(Protocol):
    def find_run(self) -> Run | None: ...

    def open_run(
        self,
        *,
        base: str | None,
        model: str,
        chunking: Mapping[str, object],
        keep: Mapping[str, DocEntry],
        skipped: Mapping[str, SkippedEntry],
        jobs: Sequence[tuple[str, str, str | None]],
    ) -> int: ...

    def claim(self, run: int, worker: str) -> AbstractContextManager[Claim | None]: ...

    def results(self, run: int) -> tuple[int, list[JobResult]]:
        """(jobs not finished yet, the finished ones)."""
        ...

    def close_run(self, run: int) -> None: ...
