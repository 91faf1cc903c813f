"""`qa db migrate|import|export` and `qa worker`: the database store (QA_STORE=postgresql://…)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qa.cli.options import JsonOpt, SourceOpt, StoreOpt, open_service
from qa.cli.output import print_json, show_help
from qa.models import dump

app = typer.Typer(
    no_args_is_help=False,
    invoke_without_command=True,
    help="The database store: schema migrations, import from and export to index folders.",
)

FolderArg = Annotated[Path, typer.Argument(help="an index folder (e.g. index/)")]


@app.callback()
def _group(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        show_help(ctx)


@app.command("migrate")
def migrate(
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    target: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--target", min=1, help="stop at this schema version"),
    ] = None,
) -> None:
    """Create or upgrade the database schema (versioned migrations, each applied once)."""
    report = open_service(store=store).migrate(target=target)
    if as_json:
        print_json(dump(report))
        return
    done = ", ".join(map(str, report.applied)) or "none"
    typer.echo(f"schema version {report.schema_version} (latest {report.latest}); applied: {done}")


@app.command("import")
def import_(folder: FolderArg, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Copy an index folder's live version (and embedding cache) into the database; no text is
    embedded again."""
    report = open_service(store=store).import_index(folder)
    if as_json:
        print_json(dump(report))
        return
    typer.echo(f"imported {report.documents} documents, {report.chunks} chunks: {report.version}")


@app.command("export")
def export(folder: FolderArg, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Copy the database's live version into an index folder (QA_INDEX_DIR can then serve it)."""
    report = open_service(store=store).export_index(folder)
    if as_json:
        print_json(dump(report))
        return
    typer.echo(f"exported {report.documents} documents, {report.chunks} chunks: {report.version}")


def worker(source: SourceOpt = None, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Index the source folder together with other workers on the same database; each document
    is embedded by one of them, the last to finish writes the version."""
    report = open_service(source, indexing=True, store=store).work()
    if as_json:
        print_json(dump(report))
        return
    saved = f"; wrote version {report.version}" if report.version else ""
    typer.echo(
        f"{report.worker}: indexed {report.documents} documents "
        f"({report.texts_embedded} texts embedded) in {report.seconds:.1f} s{saved}"
    )
