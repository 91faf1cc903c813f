"""`qa`: the command line. Parse, call the service, render (rich, or --json)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from qa.errors import QAError

if TYPE_CHECKING:
    from types import TracebackType

    from qa.models import Answer, Passage, UpdateReport
    from qa.service import QAService

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False
)
index_app = typer.Typer(no_args_is_help=True, help="Build, update, watch and inspect the index.")
app.add_typer(index_app, name="index")

_state = {"debug": False}
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

SourceOpt = Annotated[
    Path | None, typer.Option("--source", help="transcript folder [QA_SOURCE_DIR]")
]
IndexOpt = Annotated[Optional[Path], typer.Option("--index", help="index folder [QA_INDEX_DIR]")]  # noqa: UP045
ModeOpt = Annotated[
    str | None,
    typer.Option(
        "--mode",
        help="retrieval: hybrid (default), dense or bm25 [QA_MODE]",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of text")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="fail on any problem (a skipped or partly read file)")
]
# `qa index build/update` finished, every readable file indexed, but some were skipped or read
# only in part (README: Exit codes). Failures keep their own codes (qa.errors).
EXIT_PROBLEMS = 20
# Below this many texts to embed an update is quick: a progress bar would only flicker.
PROGRESS_MIN = 300
KOpt = Annotated[int, typer.Option("-k", min=1, max=50, help="passages to return")]
DocOpt = Annotated[list[str] | None, typer.Option("--doc", help="only this document (repeatable)")]
SpeakerOpt = Annotated[
    list[str] | None, typer.Option("--speaker", help="only this speaker (repeatable)")
]
DateFromOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--date-from", help="only documents dated on or after YYYY-MM-DD"),
]
DateToOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--date-to", help="only documents dated on or before YYYY-MM-DD"),
]


def _service(
    source: Path | None = None,
    index: Path | None = None,
    mode: str | None = None,
    indexing: bool = False,
) -> QAService:
    from qa.errors import InvalidInput
    from qa.service import QAService
    from qa.settings import MODES, load_settings

    settings = load_settings()
    overrides: dict[str, Any] = {}
    if indexing and settings.embed_threads is None:
        # An index command embeds large batches with no requests to serve: every core helps
        # (docs/benchmarks.md: seed build with one onnxruntime thread vs two).
        overrides["embed_threads"] = os.cpu_count() or 1
    if mode is not None:
        if mode not in MODES:
            raise InvalidInput(f"unknown --mode {mode!r} ({', '.join(MODES[:-1])} or {MODES[-1]})")
        overrides["retrieval"] = settings.retrieval.model_copy(update={"mode": mode})
    if source is not None:
        overrides["source_dir"] = source
    if index is not None:
        overrides["index_dir"] = index
    return QAService(settings.model_copy(update=overrides))


def _print_json(data: Any) -> None:
    from qa.models import dump

    sys.stdout.write(json.dumps(dump(data), ensure_ascii=False, indent=2) + "\n")


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False) -> None:
    _state["debug"] = debug


@index_app.command("build")
def index_build(
    source: SourceOpt = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    strict: StrictOpt = False,
) -> None:
    """Index every transcript in the source folder (default seeds/) into a new version.

    The same as `qa index update` from an empty index; texts embedded before still come from the
    embedding cache (index/cache/).
    """
    svc = _service(source, index, indexing=True)
    with _ProgressBar(quiet or as_json) as bar:
        report = svc.build(progress=bar, strict=strict)
    _print_report(report, as_json)
    _exit_for(report)


@index_app.command("update")
def index_update(
    source: SourceOpt = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    strict: StrictOpt = False,
) -> None:
    """Add new transcripts, re-index changed ones, drop deleted ones (by content hash)."""
    svc = _service(source, index, indexing=True)
    with _ProgressBar(quiet or as_json) as bar:
        report = svc.update(progress=bar, strict=strict)
    _print_report(report, as_json)
    _exit_for(report)


@index_app.command("prune")
def index_prune(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Delete crash leftovers, segments no kept version uses, and their cached embeddings.

    Builds prune by themselves, updates once the cache outgrows the index (QA_CACHE_MAX_RATIO);
    this does it now, e.g. after deleting many transcripts.
    """
    result = _service(None, index).prune()
    if as_json:
        _print_json(result)
        return
    typer.echo(
        f"removed {result.leftovers} leftovers, {result.segments} segments, "
        f"{result.embeddings} cached embeddings ({result.embeddings_kept} kept)"
    )


@index_app.command("watch")
def index_watch(source: SourceOpt = None, index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Watch the source folder and update the index when transcripts appear, change or go."""
    import threading

    from qa.watch import watch

    svc = _service(source, index, indexing=True)
    typer.echo(f"qa: watching {svc.settings.source_dir} (Ctrl-C to stop)", err=True)

    def on_update(report: UpdateReport) -> None:
        if report.written or as_json:
            _print_report(report, as_json)

    def on_error(exc: QAError) -> None:
        typer.echo(f"qa: error: {exc.message}", err=True)

    watch(svc, threading.Event(), on_update=on_update, on_error=on_error)


def _exit_for(report: UpdateReport) -> None:
    """Done with problems (files skipped or partly read) is not success: EXIT_PROBLEMS."""
    if report.problems:
        raise typer.Exit(EXIT_PROBLEMS)


def _print_report(report: UpdateReport, as_json: bool) -> None:
    for problem in report.problems:
        typer.echo(f"qa: warning: {problem}", err=True)
    if as_json:
        _print_json(report)
        return
    counts = ", ".join(
        f"{n} {kind}"
        for kind, n in (
            ("added", report.added),
            ("changed", report.changed),
            ("removed", report.removed),
            ("unchanged", report.unchanged),
        )
    )
    if not report.written:
        typer.echo(f"index is up to date: {counts} (version {report.version})")
        return
    typer.echo(
        f"{counts}; embedded {report.chunks_embedded} chunks ({report.texts_embedded} texts) "
        f"in {report.seconds:.1f}s → {report.documents} documents, {report.chunks} chunks "
        f"(version {report.version})"
    )
    ids = report.doc_ids
    for kind, docs in (("added", ids.added), ("changed", ids.changed), ("removed", ids.removed)):
        for doc_id in docs:
            typer.echo(f"  {kind:8} {doc_id}")


class _ProgressBar:
    """Embedding progress on stderr (rate and ETA), for big runs in a terminal only."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _ProgressBar:
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


@index_app.command("status")
def index_status(
    source: SourceOpt = None, index: IndexOpt = None, as_json: JsonOpt = False
) -> None:
    """Documents, chunks, model, size on disk, last update, and unindexed changes in the source."""
    from qa.models import dump

    status = _service(source, index).index_info()
    if as_json:
        _print_json(status)
        return
    info = dump(status)
    shown = {
        **info,
        "size_bytes": _size(status.size_bytes),
        "cache_bytes": _size(status.cache_bytes),
        "pending": _describe(status.pending) or "none",
        "problems": "; ".join(status.problems) or "none",
        "skipped": "; ".join(f"{f.doc_id} ({f.reason})" for f in status.skipped) or "none",
    }
    names = {"size_bytes": "size", "cache_bytes": "cache", "last_update": "updated"}
    for key, value in shown.items():
        typer.echo(f"{names.get(key, key):10} {value}")
    if status.problems:
        typer.echo(
            "qa: warning: the index is damaged: `qa index build` rewrites it, or "
            "`qa index prune` then `qa index update` re-index what is damaged",
            err=True,
        )


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@app.command()
def ask(
    question: str,
    k: KOpt = 5,
    doc: DocOpt = None,
    speaker: SpeakerOpt = None,
    source: SourceOpt = None,
    index: IndexOpt = None,
    mode: ModeOpt = None,
    as_json: JsonOpt = False,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
) -> None:
    """Answer QUESTION with verbatim quotes and citations."""
    filters = _filters(doc, speaker, date_from, date_to)
    answer = _service(source, index, mode).ask(question, k=k, filters=filters)
    if as_json:
        _print_json(answer)
    else:
        _render_answer(answer)


@app.command()
def search(
    query: str,
    k: KOpt = 5,
    doc: DocOpt = None,
    speaker: SpeakerOpt = None,
    source: SourceOpt = None,
    index: IndexOpt = None,
    mode: ModeOpt = None,
    as_json: JsonOpt = False,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
) -> None:
    """The top passages for QUERY, with scores."""
    from qa.models import SearchResult

    filters = _filters(doc, speaker, date_from, date_to)
    hits = _service(source, index, mode).search(query, k=k, filters=filters)
    if as_json:
        _print_json(SearchResult(tuple(hits)))
    else:
        _render_hits(hits)


def _filters(
    doc: list[str] | None, speaker: list[str] | None, date_from: str | None, date_to: str | None
) -> Any:
    from qa.models import Filters

    return Filters.of(docs=doc or (), speakers=speaker or (), date_from=date_from, date_to=date_to)


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="bind address [QA_HOST]")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option(help="port [QA_PORT]")] = None,  # noqa: UP045
    source: SourceOpt = None,
    index: IndexOpt = None,
    build: Annotated[
        bool,
        typer.Option(
            "--build/--no-build", help="build or update the index first if it is missing or stale"
        ),
    ] = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="update the index when the source folder changes")
    ] = False,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from qa.api import create_app
    from qa.api.observability import configure_logging

    svc = _service(source, index)
    svc.check_index(update=build or watch, notify=lambda msg: typer.echo(f"qa: {msg}", err=True))
    s = svc.settings
    configure_logging(s.log_level)
    # Our middleware logs each request as JSON with its id; uvicorn's access log would repeat it.
    config = uvicorn.Config(
        create_app(service=svc, watch=watch),
        host=host or s.host,
        port=port or s.port,
        log_level=s.log_level.lower(),
        access_log=False,
    )
    _GracefulServer(config).run()


class _GracefulServer:
    """uvicorn, except that a SIGTERM/SIGINT stop after draining requests exits 0.

    uvicorn stops accepting, finishes in-flight requests, then re-raises the signal, so the
    process would die with -15; for a supervisor a drained, clean stop is a success.
    """

    def __init__(self, config: Any) -> None:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
                try:
                    yield
                finally:
                    for sig, handler in previous.items():
                        signal.signal(sig, handler)

        self.server = Server(config)

    def run(self) -> None:
        self.server.run()


@app.command("eval")
def evaluate(
    gold: Path,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="seedqa (a JSONL file), beir (a folder: corpus.jsonl, queries.jsonl, "
            "qrels/test.tsv) or squad (a SQuAD JSON file)",
        ),
    ] = "seedqa",
    k: KOpt = 5,
    source: SourceOpt = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure answers against gold data.

    beir and squad build their own index of the gold documents in a temporary folder
    (--source/--index are not used) and measure every retrieval mode.
    """
    from qa.errors import InvalidInput

    if fmt == "seedqa":
        from qa.evaluate import eval_seedqa

        if not gold.is_file():
            raise InvalidInput(f"gold file not found: {gold}")
        svc = _service(source, index)
        report = eval_seedqa(svc, gold, svc.settings.source_dir, k=k)
        if as_json:
            _print_json(report)
            return
        for key, value in report.items():
            if key != "per_question":
                typer.echo(f"{key:24} {value}")
    elif fmt == "beir":
        from qa.evaluate import eval_beir

        if not (gold / "corpus.jsonl").is_file():
            raise InvalidInput(f"not a BEIR folder (no corpus.jsonl): {gold}")
        report = eval_beir(gold)
        if as_json:
            _print_json(report)
            return
        _echo_header(report, ("dataset", "split", "queries", "documents", "chunks", "model"))
        cols = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
        typer.echo(f"{'mode':8}" + "".join(f"{c:>12}" for c in cols))
        for mode, m in report["modes"].items():
            typer.echo(f"{mode:8}" + "".join(f"{m[c]:>12.3f}" for c in cols))
    elif fmt == "squad":
        from qa.evaluate import eval_squad

        if not gold.is_file():
            raise InvalidInput(f"gold file not found: {gold}")
        report = eval_squad(gold, k=k)
        if as_json:
            _print_json(report)
            return
        _echo_header(report, ("dataset", "questions", "paragraphs", "chunks", "model"))
        at = ("recall@1", f"recall@{k}")
        typer.echo(f"{'mode':8}" + "".join(f"{c:>12}" for c in at))
        for mode, m in report["recall"].items():
            typer.echo(f"{mode:8}" + "".join(f"{m[c]:>12.3f}" for c in at))
        typer.echo(
            f"answer in a top-3 quote ({report['ask_mode']}): {report['answer_in_quote@3']:.3f}"
        )
        typer.echo(f"abstained: {report['abstained']}")
    else:
        raise InvalidInput(f"unknown --format {fmt!r} (supported: seedqa, beir, squad)")


def _echo_header(report: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        typer.echo(f"{key:12} {report[key]}")


def _describe(changes: dict[str, list[str]]) -> str:
    return ", ".join(f"{kind}: {len(v)}" for kind, v in changes.items() if v)


def _render_answer(answer: Answer) -> None:
    from rich.console import Console
    from rich.text import Text

    from qa.models import cite

    console = Console()
    if not answer.answerable:
        console.print(Text(answer.answer, style="yellow"))
        return
    for q in answer.quotes:
        head = Text()
        head.append(q.label or q.speaker or "(no speaker)", style="bold cyan")
        head.append(f"  {cite(q)}, chars {q.start}–{q.end}, score {q.score:.3f}", style="dim")
        console.print(head)
        console.print(Text(f"“{q.text}”"), soft_wrap=True)
        console.print()


def _render_hits(hits: list[Passage]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=True)
    for col in ("score", "speaker", "citation", "passage"):
        table.add_column(col)
    for c in hits:
        dated = "".join(f"\n{x}" for x in (c.title, c.date) if x and x != c.doc_id)
        table.add_row(
            f"{c.score:.3f}",
            c.label or c.speaker or "",
            f"{c.doc_id}\nlines {c.line_start}–{c.line_end}{dated}",
            c.text,
        )
    Console().print(table)


def main() -> None:
    """Entry point: every error is one line on stderr and a non-zero exit code."""
    from typer._click.exceptions import NoArgsIsHelpError

    try:
        rc = app(standalone_mode=False)
    except QAError as exc:
        if _state["debug"]:
            raise
        typer.echo(f"qa: error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:
        if _state["debug"]:
            raise
        typer.echo(f"qa: error: {exc}", err=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("qa: aborted", err=True)
        sys.exit(130)
    except NoArgsIsHelpError as exc:  # bare `qa` or `qa index`: the help is the answer
        exc.show()
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: one line, like every other error
        message = " ".join(exc.format_message().split())
        typer.echo(f"qa: error: {message} (see `qa --help`)", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(rc if isinstance(rc, int) else 0)
