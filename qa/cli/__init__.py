"""`qa`: the command line. Parse, call the service, render (rich, or --json)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from qa.cli import db, index, query, serve
from qa.cli import eval as eval_cmd
from qa.cli.index import EXIT_PROBLEMS
from qa.cli.output import error, show_help
from qa.errors import QAError

app = typer.Typer(
    add_completion=False,
    invoke_without_command=True,
    help=__doc__,
    pretty_exceptions_enable=False,
)
app.add_typer(index.app, name="index")
query.register(app)
app.command()(serve.serve)
app.command("eval")(eval_cmd.evaluate)
app.add_typer(db.app, name="db")  # #17: the database store
app.command("worker")(db.worker)

__all__ = ["EXIT_PROBLEMS", "app", "main"]

_state = {"debug": False}


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False,
) -> None:
    _state["debug"] = debug
    if ctx.invoked_subcommand is None:  # bare `qa`: the help is the answer
        show_help(ctx)


def main() -> None:
    """Entry point: every error is one line on stderr and a non-zero exit code."""
    try:
        rc = app(standalone_mode=False)
    except QAError as exc:
        if _state["debug"]:
            raise
        error(exc.message)
        sys.exit(exc.exit_code)
    except OSError as exc:
        if _state["debug"]:
            raise
        error(str(exc))
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("qa: aborted", err=True)
        sys.exit(130)
    except Exception as exc:
        # A usage error (bad option, missing argument) from typer's parser: one line, like every
        # other error. Recognised by the parser's public protocol, not by a private class.
        format_message = getattr(exc, "format_message", None)
        if format_message is None or _state["debug"]:
            raise
        message = " ".join(str(format_message()).split())
        error(f"{message} (see `qa --help`)")
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(rc if isinstance(rc, int) else 0)
