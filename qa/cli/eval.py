"""`qa eval`: answers and retrieval measured against gold data (seedqa, BEIR, SQuAD)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qa.cli.options import IndexOpt, JsonOpt, KOpt, SourceOpt, open_service
from qa.cli.output import print_json

FORMATS = ("seedqa", "beir", "squad")
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        help="seedqa (a JSONL file), beir (a folder: corpus.jsonl, queries.jsonl, "
        "qrels/test.tsv) or squad (a SQuAD JSON file)",
    ),
]


def evaluate(
    gold: Path,
    fmt: FormatOpt = "seedqa",
    k: KOpt = 5,
    source: SourceOpt = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure answers against gold data.

    beir and squad build their own index of the gold documents in a temporary folder
    (--source/--index are not used) and measure every retrieval mode.
    """
    report = _evaluate(gold, fmt, k, source, index)
    if as_json:
        print_json(report)
    elif fmt == "seedqa":
        for key, value in report.items():
            if key != "per_question":
                typer.echo(f"{key:24} {value}")
    elif fmt == "beir":
        _echo_header(report, ("dataset", "split", "queries", "documents", "chunks", "model"))
        cols = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
        typer.echo(f"{'mode':8}" + "".join(f"{c:>12}" for c in cols))
        for mode, m in report["modes"].items():
            typer.echo(f"{mode:8}" + "".join(f"{m[c]:>12.3f}" for c in cols))
    else:
        _echo_header(report, ("dataset", "questions", "paragraphs", "chunks", "model"))
        at = ("recall@1", f"recall@{k}")
        typer.echo(f"{'mode':8}" + "".join(f"{c:>12}" for c in at))
        for mode, m in report["recall"].items():
            typer.echo(f"{mode:8}" + "".join(f"{m[c]:>12.3f}" for c in at))
        typer.echo(
            f"answer in a top-3 quote ({report['ask_mode']}): {report['answer_in_quote@3']:.3f}"
        )
        typer.echo(f"abstained: {report['abstained']}")


def _evaluate(
    gold: Path, fmt: str, k: int, source: Path | None, index: Path | None
) -> dict[str, Any]:
    # Until the facade has QAService.evaluate: the same checks, over qa.evaluate.
    from qa.errors import InvalidInput
    from qa.evaluate import eval_beir, eval_seedqa, eval_squad

    if fmt not in FORMATS:
        raise InvalidInput(f"unknown --format {fmt!r} (supported: seedqa, beir, squad)")
    if fmt == "beir":
        if not (gold / "corpus.jsonl").is_file():
            raise InvalidInput(f"not a BEIR folder (no corpus.jsonl): {gold}")
        return eval_beir(gold)
    if not gold.is_file():
        raise InvalidInput(f"gold file not found: {gold}")
    if fmt == "squad":
        return eval_squad(gold, k=k)
    svc = open_service(source, index)
    return eval_seedqa(svc, gold, svc.settings.source_dir, k=k)


def _echo_header(report: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        typer.echo(f"{key:12} {report[key]}")
