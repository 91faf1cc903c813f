"""`qa index build|update|watch|status|prune`: the index's life cycle."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qa.cli.options import IndexOpt, JsonOpt, SourceOpt, StoreOpt, open_service
from qa.cli.output import error, print_json, show_help, warn
from qa.errors import QAError
from qa.models import dump

if TYPE_CHECKING:
    from types import TracebackType

    from qa.models import UpdateReport

app = typer.Typer(
    no_args_is_help=False,
    invoke_without_command=True,
    help="Build, update, watch and inspect the index.",
)

QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="fail on any problem (a skipped or partly read file)")
]
# `qa index build/update` finished, every readable file indexed, but some were skipped or read
# only in part (README: Exit codes). Failures keep their own codes (qa.errors).
EXIT_PROBLEMS = 20
# Below this many texts to embed an update is quick: a progress bar would only flicker.
PROGRESS_MIN = 300


@app.callback()
def _group(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        show_help(ctx)


@app.command("build")
def build(
    source: SourceOpt = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    strict: StrictOpt = False,
    store: StoreOpt = None,
) -> None:
    """Index every transcript in the source folder (default seeds/) into a new version.

    The same as `qa index update` from an empty index; texts embedded before still come from the
    embedding cache (index/cache/).
    """
    svc = open_service(source, index, indexing=True, store=store)
    with ProgressBar(quiet or as_json) as bar:
        report = svc.build(progress=bar, strict=strict)
    print_report(report, as_json)
    _exit_for(report)


@app.command("update")
def update(
    source: SourceOpt = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    strict: StrictOpt = False,
    store: StoreOpt = None,
) -> None:
    """Add new transcripts, re-index changed ones, drop deleted ones (by content hash)."""
    svc = open_service(source, index, indexing=True, store=store)
    with ProgressBar(quiet or as_json) as bar:
        report = svc.update(progress=bar, strict=strict)
    print_report(report, as_json)
    _exit_for(report)


@app.command("prune")
def prune(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Delete crash leftovers, segments no kept version uses, and their cached embeddings.

    Builds prune by themselves, updates once the cache outgrows the index (QA_CACHE_MAX_RATIO);
    this does it now, e.g. after deleting many transcripts.
    """
    result = dump(open_service(None, index).prune())
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"removed {result['leftovers']} leftovers, {result['segments']} segments, "
        f"{result['embeddings']} cached embeddings ({result['embeddings_kept']} kept)"
    )


@app.command("watch")
def watch(
    source: SourceOpt = None,
    index: IndexOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Watch the source folder and update the index when transcripts appear, change or go."""
    import threading

    from qa.watch import watch as watch_source

    svc = open_service(source, index, indexing=True, store=store)
    typer.echo(f"qa: watching {svc.settings.source_dir} (Ctrl-C to stop)", err=True)

    def on_update(report: UpdateReport) -> None:
        if report.written or as_json:
            print_report(report, as_json)

    def on_error(exc: QAError) -> None:
        error(exc.message)

    watch_source(svc, threading.Event(), on_update=on_update, on_error=on_error)


@app.command("status")
def status(
    source: SourceOpt = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Documents, chunks, model, size on disk, last update, and unindexed changes in the source."""
    info = dump(open_service(source, index, store=store).index_info())
    if as_json:
        print_json(info)
        return
    shown = {
        **info,
        "size_bytes": _size(info["size_bytes"]),
        "cache_bytes": _size(info["cache_bytes"]),
        "pending": _describe(info["pending"]) or "none",
    }
    shown["problems"] = "; ".join(info["problems"]) or "none"
    shown["skipped"] = (
        "; ".join(f"{f['doc_id']} ({f['reason']})" for f in info["skipped"]) or "none"
    )
    names = {"size_bytes": "size", "cache_bytes": "cache", "last_update": "updated"}
    for key, value in shown.items():
        typer.echo(f"{names.get(key, key):10} {value}")


def _exit_for(report: UpdateReport) -> None:
    """Done with problems (files skipped or partly read) is not success: EXIT_PROBLEMS."""
    if report.problems:
        raise typer.Exit(EXIT_PROBLEMS)


def print_report(report: UpdateReport, as_json: bool) -> None:
    """An update's problems as warnings, then the report: JSON, or a summary and the doc ids."""
    for problem in report.problems:
        warn(problem)
    d = dump(report)
    if as_json:
        print_json(d)
        return
    counts = ", ".join(f"{d[k]} {k}" for k in ("added", "changed", "removed", "unchanged"))
    if not report.written:
        typer.echo(f"index is up to date: {counts} (version {report.version})")
        return
    typer.echo(
        f"{counts}; embedded {report.chunks_embedded} chunks ({report.texts_embedded} texts) "
        f"in {report.seconds:.1f}s → {report.documents} documents, {report.chunks} chunks "
        f"(version {report.version})"
    )
    for kind in ("added", "changed", "removed"):
        for doc_id in d["doc_ids"][kind]:
            typer.echo(f"  {kind:8} {doc_id}")


def _describe(changes: dict[str, list[str]]) -> str:
    return ", ".join(f"{kind}: {len(v)}" for kind, v in changes.items() if v)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


class ProgressBar:
    """Embedding progress on stderr (rate and ETA), for big runs in a terminal only."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        return self

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < PROGRESS_MIN:
            return
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("embedding"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("embed", total=total, rate="")
        speed = self._progress.tasks[0].speed
        rate = f"{speed:.0f} texts/s" if speed else ""
        self._progress.update(self._task, completed=done, total=total, rate=rate)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
