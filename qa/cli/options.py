"""The options commands share, defined once, and the service they configure."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from qa.errors import InvalidInput
from qa.service import QAService
from qa.settings import MODES, load_settings

# Optional[...] below: typer reads the annotation at run time, and older versions cannot parse
# `X | None` inside Annotated for every parameter type.
SourceOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--source", help="transcript folder [QA_SOURCE_DIR]"),
]
IndexOpt = Annotated[Optional[Path], typer.Option("--index", help="index folder [QA_INDEX_DIR]")]  # noqa: UP045
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of text")]
StoreOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--store", help="postgresql://… database instead of the index folder [QA_STORE]"),
]

# The query options of `ask` and `search`.
ModeOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--mode", help="retrieval: hybrid (default), dense or bm25 [QA_RETRIEVAL__MODE]"),
]
KOpt = Annotated[int, typer.Option("-k", min=1, max=50, help="passages to return")]
DocOpt = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option("--doc", help="only this document (repeatable)"),
]
SpeakerOpt = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option("--speaker", help="only this speaker (repeatable)"),
]
DateFromOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--date-from", help="only documents dated on or after YYYY-MM-DD"),
]
DateToOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--date-to", help="only documents dated on or before YYYY-MM-DD"),
]


def open_service(
    source: Path | None = None,
    index: Path | None = None,
    mode: str | None = None,
    *,
    indexing: bool = False,
    store: str | None = None,
    serving: bool = False,
) -> QAService:
    """A service configured from the environment, then the command line's options."""
    overrides: dict[str, Any] = {}
    if source is not None:
        QAService.check_source_folder(
            source
        )  # named on the command line: a typo, not "everything changed"
        overrides["source_dir"] = source
    if index is not None:
        overrides["index_dir"] = index
    if store is not None:
        overrides["store"] = store
    settings = load_settings(**overrides)
    if indexing and settings.embed_threads is None:
        # An index command embeds large batches with no requests to serve: every core helps
        # (README, Speed).
        settings = settings.with_overrides(embed_threads=os.cpu_count() or 1)
    if mode is not None:
        if mode not in MODES:
            raise InvalidInput(f"unknown --mode {mode!r} ({', '.join(MODES[:-1])} or {MODES[-1]})")
        settings = settings.with_overrides(retrieval={"mode": mode})
    return QAService(
        settings, update_process=serving and settings.indexing.server_updates == "process"
    )
