"""What every command prints: JSON on stdout, warnings and errors as `qa: …` lines on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from qa.models import dump


def print_json(record: Any) -> None:
    """A record as JSON on stdout: the same body the HTTP API returns."""
    sys.stdout.write(json.dumps(dump(record), ensure_ascii=False, indent=2) + "\n")


def warn(message: str) -> None:
    typer.echo(f"qa: warning: {message}", err=True)


def error(message: str) -> None:
    # One line, whatever the message holds: a driver's (psycopg's "…failed\n\tIs the server
    # running…?") or a file name's line breaks would otherwise split it.
    typer.echo(f"qa: error: {' '.join(message.split())}", err=True)


def show_help(ctx: typer.Context) -> None:
    """A group called without a command: its help (the answer), then exit 2 like a usage error."""
    text = ctx.get_help()  # with rich installed, typer prints it itself and returns ""
    if text:
        typer.echo(text)
    raise typer.Exit(2)
