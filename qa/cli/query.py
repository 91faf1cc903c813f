"""`qa ask` and `qa search`: one set of query options, the service's answer rendered or as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    open_service,
)
from qa.cli.output import print_json

if TYPE_CHECKING:
    import typer

    from qa.models import Answer, Hit


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
    mode: ModeOpt = None,
    as_json: JsonOpt = False,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
) -> None:
    """Answer QUESTION with verbatim quotes and citations."""
    svc = open_service(source, index, mode)
    answer = svc.ask(question, k=k, **_filters(doc, speaker, date_from, date_to))
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
    mode: ModeOpt = None,
    as_json: JsonOpt = False,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
) -> None:
    """The top passages for QUERY, with scores."""
    svc = open_service(source, index, mode)
    passages = svc.search(query, k=k, **_filters(doc, speaker, date_from, date_to))
    if as_json:
        print_json({"passages": [p.to_dict() for p in passages]})
    else:
        _render_passages(passages)


def _filters(
    doc: list[str] | None, speaker: list[str] | None, date_from: str | None, date_to: str | None
) -> dict[str, Any]:
    return {
        "docs": doc or (),
        "speakers": speaker or (),
        "date_from": date_from,
        "date_to": date_to,
    }


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


def _render_passages(hits: list[Hit]) -> None:
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
