"""`qa serve`: the HTTP API under uvicorn, on an index brought up to date first if asked."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from qa.cli.options import IndexOpt, SourceOpt, StoreOpt, open_service

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
    store: StoreOpt = None,
    build: BuildOpt = False,
    watch: WatchOpt = False,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    from qa.api import create_app
    from qa.api.server import run

    svc = open_service(source, index, store=store, serving=True)
    svc.check_index(update=build or watch, notify=lambda msg: typer.echo(f"qa: {msg}", err=True))
    s = svc.settings
    run(create_app(service=svc, watch=watch), host or s.host, port or s.port, s.log_level)
