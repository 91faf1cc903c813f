"""`qa`: the command line. Parse, call the service, render (rich, or --json)."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from qa.errors import QAError

if TYPE_CHECKING:
    from qa.models import Answer, Hit
    from qa.service import QAService

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False
)
index_app = typer.Typer(no_args_is_help=True, help="Build and inspect the index.")
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
    source: Path | None = None, index: Path | None = None, mode: str | None = None
) -> QAService:
    from qa.errors import InvalidInput
    from qa.service import QAService
    from qa.settings import Settings

    overrides: dict[str, Any] = {}
    if mode is not None:
        if mode not in ("hybrid", "dense", "bm25"):
            raise InvalidInput(f"unknown --mode {mode!r} (hybrid, dense or bm25)")
        overrides["mode"] = mode
    if source is not None:
        overrides["source_dir"] = source
    if index is not None:
        overrides["index_dir"] = index
    return QAService(Settings(**overrides))


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False) -> None:
    _state["debug"] = debug


@index_app.command("build")
def index_build(source: SourceOpt = None, index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Index every transcript in the source folder (default seeds/) into the index folder."""
    report = _service(source, index).build()
    if as_json:
        _print_json(report.to_dict())
    else:
        typer.echo(
            f"indexed {report.documents} documents: {report.chunks} chunks, "
            f"{report.sentences} sentences in {report.seconds:.1f}s (version {report.version})"
        )
        for problem in report.problems:
            typer.echo(f"qa: warning: {problem}", err=True)


@index_app.command("status")
def index_status(
    source: SourceOpt = None, index: IndexOpt = None, as_json: JsonOpt = False
) -> None:
    """Documents and chunks in the index, and whether the source folder has unindexed changes."""
    svc = _service(source, index)
    manifest = svc.index_dir.manifest()
    changes = svc.pending_changes()
    info = {
        "documents": len(manifest["documents"]),
        "chunks": manifest["counts"]["chunks"],
        "model": manifest["model"],
        "version": manifest.get("version"),
        "created": manifest.get("created"),
        "stale": any(changes.values()),
        "pending": changes,
    }
    if as_json:
        _print_json(info)
        return
    for key, value in info.items():
        typer.echo(f"{key:10} {value}")


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
    answer = _service(source, index, mode).ask(
        question,
        k=k,
        docs=doc or (),
        speakers=speaker or (),
        date_from=date_from,
        date_to=date_to,
    )
    if as_json:
        _print_json(answer.to_dict())
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
    hits = _service(source, index, mode).search(
        query,
        k=k,
        docs=doc or (),
        speakers=speaker or (),
        date_from=date_from,
        date_to=date_to,
    )
    if as_json:
        _print_json({"passages": [h.to_dict() for h in hits]})
    else:
        _render_hits(hits)


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="bind address [QA_HOST]")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option(help="port [QA_PORT]")] = None,  # noqa: UP045
    source: SourceOpt = None,
    index: IndexOpt = None,
    build: Annotated[
        bool,
        typer.Option(
            "--build/--no-build", help="build or refresh the index first if it is missing or stale"
        ),
    ] = False,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from qa.api import create_app
    from qa.api.observability import configure_logging
    from qa.errors import IndexMissing

    svc = _service(source, index)
    try:
        changes = svc.pending_changes()
    except IndexMissing:
        if not build:
            raise
        changes = {"missing": ["no index yet"]}
    if any(changes.values()):
        if build:
            typer.echo(f"qa: index is missing or stale ({_describe(changes)}); building…", err=True)
            svc.build()
        else:
            typer.echo(
                f"qa: warning: index is stale ({_describe(changes)}); run `qa index build`",
                err=True,
            )
    s = svc.settings
    configure_logging(s.log_level)
    # Our middleware logs each request as JSON with its id; uvicorn's access log would repeat it.
    config = uvicorn.Config(
        create_app(service=svc),
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

    from qa.answer import cite_extra

    console = Console()
    if not answer.answerable:
        console.print(Text(answer.answer, style="yellow"))
        return
    for q in answer.quotes:
        lines = (
            f"line {q.line_start}"
            if q.line_start == q.line_end
            else f"lines {q.line_start}–{q.line_end}"
        )
        head = Text()
        head.append(q.label or q.speaker or "(no speaker)", style="bold cyan")
        head.append(
            f"  {q.doc_id}, {lines}, chars {q.start}–{q.end}{cite_extra(q)}, score {q.score:.3f}",
            style="dim",
        )
        console.print(head)
        console.print(Text(f"“{q.text}”"), soft_wrap=True)
        console.print()


def _render_hits(hits: list[Hit]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=True)
    for col in ("score", "speaker", "citation", "passage"):
        table.add_column(col)
    for h in hits:
        c = h.chunk
        dated = "".join(f"\n{x}" for x in (c.title, c.date) if x and x != c.doc_id)
        table.add_row(
            f"{h.score:.3f}",
            c.label or c.speaker or "",
            f"{c.doc_id}\nlines {c.line_start}–{c.line_end}{dated}",
            c.text,
        )
    Console().print(table)


def main() -> None:
    """Entry point: every error is one line on stderr and a non-zero exit code."""
    try:
        # Standalone mode: typer reports usage errors itself (exit 2); ours arrive here.
        app(standalone_mode=True)
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
