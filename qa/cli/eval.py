"""`qa eval`: answers and retrieval measured against gold data (seedqa, BEIR, SQuAD)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qa.cli.options import IndexOpt, JsonOpt, KOpt, SourceOpt, StoreOpt, open_service
from qa.cli.output import print_json

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
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure answers against gold data.

    beir and squad build their own index of the gold documents in a temporary folder
    (--source/--index are not used) and measure every retrieval mode. With --store, beir also
    imports that index into the (empty) database and measures both backends in one run.
    """
    report = open_service(source, index, store=store).evaluate(gold, fmt=fmt, k=k)
    if as_json:
        print_json(report)
    elif fmt == "seedqa":
        for key, value in report.items():
            if key not in ("per_question", "reliability"):
                typer.echo(f"{key:26} {value}")
        typer.echo("reliability (confidence bin, questions, mean confidence, first quote right)")
        for row in report["reliability"]:
            mean, rate = row["mean_confidence"], row["hit_rate"]
            typer.echo(
                f"  {row['bin']:9} {row['questions']:>5} "
                f"{'-' if mean is None else f'{mean:.3f}':>7} {'-' if rate is None else f'{rate:.3f}':>7}"
            )
    elif fmt == "beir":
        _echo_header(report, ("dataset", "split", "queries", "documents", "chunks", "model"))
        cols = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
        typer.echo(f"{'mode':8}" + "".join(f"{c:>12}" for c in cols))
        backends = {
            "files": report["modes"],
            **({"postgresql": report["postgresql"]} if "postgresql" in report else {}),
        }
        for backend, modes in backends.items():
            if len(backends) > 1:
                typer.echo(backend)
            for mode, m in modes.items():
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


def _echo_header(report: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        typer.echo(f"{key:12} {report[key]}")
