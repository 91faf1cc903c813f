"""`qa serve`: the HTTP API under uvicorn, on an index brought up to date first if asked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from qa.cli.options import IndexOpt, SourceOpt, open_service
from qa.cli.output import warn

if TYPE_CHECKING:
    from qa.service import QAService

BuildOpt = Annotated[
    bool,
    typer.Option(
        "--build/--no-build", help="build or update the index first if it is missing or stale"
    ),
]
WatchOpt = Annotated[
    bool, typer.Option("--watch", help="update the index when the source folder changes")
]


def serve(
    host: Annotated[Optional[str], typer.Option(help="bind address [QA_HOST]")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option(help="port [QA_PORT]")] = None,  # noqa: UP045
    source: SourceOpt = None,
    index: IndexOpt = None,
    build: BuildOpt = False,
    watch: WatchOpt = False,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    from qa.api import create_app
    from qa.api.server import run

    svc = open_service(source, index)
    found = _check_index(svc, update=build or watch)
    if found and (build or watch):
        typer.echo(f"qa: the index was missing or stale ({found}); updated it", err=True)
    elif found:
        warn(f"index is stale ({found}); run `qa index update`")
    s = svc.settings
    run(create_app(service=svc, watch=watch), host or s.host, port or s.port, s.log_level)


def _check_index(svc: QAService, *, update: bool) -> str | None:
    # Until QAService.check_index lands: the same contract, over pending_changes().
    from qa.errors import IndexIncompatible, IndexMissing

    try:
        changes = svc.pending_changes()
    except (IndexMissing, IndexIncompatible):
        if not update:
            raise
        changes = {"missing": ["no usable index yet"]}
    found = ", ".join(f"{kind}: {len(v)}" for kind, v in changes.items() if v)
    if found and update:
        svc.update()
    return found or None
