"""`qa ask` and `qa search`: one set of query options, the service's answer rendered or as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa.cli.options import (
    DateFromOpt,
    DateToOpt,
    DocOpt,
    IndexOpt,
    JsonOpt,
    KOpt,
    ModeOpt,
    SourceOpt,
    SpeakerOpt,
    StoreOpt,
    open_service,
)
from qa.cli.output import print_json
from qa.models import Filters, SearchResult, cite

if TYPE_CHECKING:
    import typer

    from qa.models import Answer, Passage


def register(app: typer.Typer) -> None:
    app.command()(ask)
    app.command()(search)


def ask(
    question: str,
    k: KOpt = 5,
    doc: DocOpt = None,
    speaker: SpeakerOpt = None,
    source: SourceOpt = None,
    index: IndexOpt = None,
    store: StoreOpt = None,
    mode: ModeOpt = None,
    as_json: JsonOpt = False,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
) -> None:
    """Answer QUESTION with verbatim quotes and citations."""
    svc = open_service(source, index, mode, store=store)
    answer = svc.ask(question, k=k, filters=_filters(doc, speaker, date_from, date_to))
    if as_json:
        print_json(answer)
    else:
        _render_answer(answer)


def search(
    query: str,
    k: KOpt = 5,
    doc: DocOpt = None,
    speaker: SpeakerOpt = None,
    source: SourceOpt = None,
    index: IndexOpt = None,
    store: StoreOpt = None,
    mode: ModeOpt = None,
    as_json: JsonOpt = False,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
) -> None:
    """The top passages for QUERY, with scores."""
    svc = open_service(source, index, mode, store=store)
    passages = svc.search(query, k=k, filters=_filters(doc, speaker, date_from, date_to))
    if as_json:
        print_json(SearchResult(passages=tuple(passages)))
    else:
        _render_passages(passages)


def _filters(
    doc: list[str] | None, speaker: list[str] | None, date_from: str | None, date_to: str | None
) -> Filters:
    return Filters.of(docs=doc or (), speakers=speaker or (), date_from=date_from, date_to=date_to)


def _render_answer(answer: Answer) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console()
    sure = f"{answer.coverage}, confidence {answer.confidence:.2f}"
    if not answer.answerable:
        console.print(Text(f"{answer.answer} ({sure})", style="yellow"))
        if answer.related:
            console.print(Text("Related (not an answer):", style="bold yellow"))
            console.print()
    else:
        console.print(Text(sure, style="dim"))
    for q in answer.quotes or answer.related:
        head = Text()
        if not answer.answerable:
            head.append("related  ", style="yellow")
        head.append(q.label or q.speaker or "(no speaker)", style="bold cyan")
        head.append(f"  {cite(q)}, chars {q.start}–{q.end}, score {q.score:.3f}", style="dim")
        console.print(head)
        console.print(Text(f"“{q.text}”"), soft_wrap=True)
        console.print()


def _render_passages(passages: list[Passage]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=True)
    for col in ("score", "speaker", "citation", "passage"):
        table.add_column(col)
    for p in passages:
        # The one citation format, its document on a line of its own: `doc.txt` / `line 4, …`.
        where = cite(p).removeprefix(f"{p.doc_id}, ")
        table.add_row(f"{p.score:.3f}", p.label or p.speaker or "", f"{p.doc_id}\n{where}", p.text)
    Console().print(table)
