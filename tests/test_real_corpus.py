"""The real corpus and the seeds in one index (real model): quote integrity over every file.

Every quote must be exact: `" ".join(source[s:e] for s, e in segments) == text`, with `start`/`end`
spanning the segments; quotes from subtitles carry the times of their cues; citations carry the
title and date; date, speaker and document filters hold.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qa.cli import app
from qa.evaluate import eval_seedqa
from qa.models import Filters, dump
from qa.service import QAService
from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

# (document, question about it): at least one for every file of corpora/real and seeds/.
QUESTIONS = [
    (
        "real/2023-03-08-press-briefing-by-press-secretary-karine-jean-pierre-19.md",
        "What is the administration doing about the albuterol shortage?",
    ),
    (
        "real/2023-03-08-press-briefing-by-press-secretary-karine-jean-pierre-19.md",
        "Does the White House think unemployment needs to rise to bring inflation down?",
    ),
    (
        "real/2023-06-22-remarks-by-president-biden-and-prime-minister-modi-of-the-republic-of-india-in-joint-press-conference.md",
        "What did Prime Minister Modi say about discrimination and democracy in India?",
    ),
    (
        "real/2023-09-08-press-gaggle-by-secretary-of-the-treasury-janet-yellen-ahead-of-the-g20-summit-in-india-new-delhi-india.md",
        "Is the price cap on Russian oil still working?",
    ),
    (
        "real/2024-08-29-remarks-by-apnsa-jake-sullivan-in-press-conference-beijing-peoples-republic-of-china.md",
        "Did the US and China reach an agreement on the South China Sea?",
    ),
    ("real/the-changelog-413.md", "How did Hisham find out that htop 3.0 had been released?"),
    ("real/request-for-commits-19.md", "How did Lauren McCarthy start working on p5.js?"),
    ("real/example.srt", "Do you need to spend a lot of money on a microphone for good audio?"),
    ("real/example.srt", "Why should you batch produce your podcast episodes?"),
    ("real/W3C_INTRO_SFHI.en.vtt", "What does web accessibility mean?"),
    ("seeds/000_c8b093dbc246d9b3.txt", "How many Optimus robots will Tesla build next year?"),
    ("seeds/003_aef95c100974d035.txt", "How much will an Optimus robot cost?"),
]
SUBTITLES = (".srt", ".vtt")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[QAService, dict[str, Any]]:
    base = tmp_path_factory.mktemp("real")
    shutil.copytree(ROOT / "corpora" / "real", base / "src" / "real")
    shutil.copytree(ROOT / "seeds", base / "src" / "seeds")
    service = QAService(Settings(source_dir=base / "src", index_dir=base / "index"))
    report = dump(service.build())
    return service, report


def source(service: QAService, doc_id: str) -> str:
    return (service.settings.source_dir / doc_id).read_text(encoding="utf-8")


def assert_exact(service: QAService, item: dict[str, Any]) -> None:
    text = source(service, item["doc_id"])
    segments = item["segments"]
    assert segments and " ".join(text[s:e] for s, e in segments) == item["text"]
    assert item["start"] == segments[0][0] and item["end"] == segments[-1][1]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(segments))
    assert item["line_start"] == text.count("\n", 0, item["start"]) + 1
    assert item["line_end"] == text.count("\n", 0, item["end"] - 1) + 1
    if item["doc_id"].endswith(SUBTITLES):
        assert item["time_start"] is not None and item["time_end"] is not None
        assert item["time_start"] <= item["time_end"]
    else:
        assert item["time_start"] is None and item["time_end"] is None
    if len(segments) == 1:  # plain text: one exact slice
        assert text[item["start"] : item["end"]] == item["text"]


def test_every_file_indexes_together(corpus: tuple[QAService, dict[str, Any]]) -> None:
    service, report = corpus
    assert report["documents"] == 10 and report["problems"] == []
    docs = {d.doc_id for d in service.documents()}
    assert docs == {doc for doc, _ in QUESTIONS}


def test_quote_integrity_over_every_file(corpus: tuple[QAService, dict[str, Any]]) -> None:
    service, _ = corpus
    checked = multi_segment = 0
    for doc, question in QUESTIONS:
        answer = service.ask(question, k=5)
        body = dump(answer)
        assert answer.answerable, question
        assert any(q["doc_id"] == doc for q in body["quotes"]), (question, body["answer"])
        for item in body["quotes"] + body["passages"]:
            assert_exact(service, item)
            checked += 1
            multi_segment += len(item["segments"]) > 1
        # The same, filtered to the document: every quote comes from it.
        only = service.ask(question, k=3, filters=Filters.of(docs=[doc]))
        assert only.quotes and all(q.doc_id == doc for q in only.quotes)
        for q in only.quotes:
            assert_exact(service, dump(q))
    assert checked >= 90 and multi_segment > 0  # some quotes run across several cues


def test_citations_carry_title_date_and_times(corpus: tuple[QAService, dict[str, Any]]) -> None:
    service, _ = corpus
    answer = service.ask("Is the price cap on Russian oil still working?", k=3)
    q = answer.quotes[0]
    assert q.date == "2023-09-08" and q.title and q.title.startswith("Press Gaggle by Secretary")
    assert "2023-09-08" in answer.answer and "“Press Gaggle by Secretary" in answer.answer
    srt = service.ask(
        "Why should you batch produce your podcast episodes?",
        filters=Filters.of(docs=["real/example.srt"]),
    )
    first = srt.quotes[0]
    assert first.speaker == "Travis" and first.time_start is not None
    assert first.date is None and "00:" in srt.answer


def test_date_filters(corpus: tuple[QAService, dict[str, Any]]) -> None:
    service, _ = corpus
    question = "What did they say about China?"
    hits = service.search(
        question, k=10, filters=Filters.of(date_from="2023-09-01", date_to="2023-12-31")
    )
    assert hits and {h.doc_id for h in hits} == {QUESTIONS[3][0]}
    later = service.ask(question, k=5, filters=Filters.of(date_from="2024-01-01"))
    assert later.quotes and all(q.date and q.date >= "2024-01-01" for q in later.quotes)
    # Undated documents (podcasts, subtitles, seeds) drop out once a date filter is set.
    none = service.search("htop maintainers", k=5, filters=Filters.of(date_to="2000-01-01"))
    assert none == []


def test_speaker_filter_matches_label_or_display_name(
    corpus: tuple[QAService, dict[str, Any]],
) -> None:
    service, _ = corpus
    by_label = service.search("robots", k=20, filters=Filters.of(speakers=["Musk"]))
    by_name = service.search("robots", k=20, filters=Filters.of(speakers=["Elon Musk"]))
    assert by_label and {h.speaker for h in by_label} == {"Elon Musk"}
    assert {h.label for h in by_name} == {"Musk", "Elon Musk"}
    reporters = service.search("shortage", k=5, filters=Filters.of(speakers=["Q"]))
    assert reporters and all(h.label == "Q" for h in reporters)


def test_cli_ask_with_date_filter_json(corpus: tuple[QAService, dict[str, Any]]) -> None:
    service, _ = corpus
    s = service.settings
    result = CliRunner().invoke(
        app,
        [
            "ask",
            "What did Sullivan say about the South China Sea?",
            "--json",
            "--date-from",
            "2024-08-01",
            "--date-to",
            "2024-08-31",
            "--source",
            str(s.source_dir),
            "--index",
            str(s.index_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["quotes"] and {q["date"] for q in body["quotes"]} == {"2024-08-29"}
    for q in body["quotes"]:
        assert_exact(service, q)


def test_held_out_questions(corpus: tuple[QAService, dict[str, Any]], tmp_path: Path) -> None:
    """eval/real_qa.jsonl, written by hand from these files: a floor under quality, and abstention
    that never refuses more than 1 in 20 answerable questions (measured: README, Quality)."""
    service, _ = corpus
    rows = [json.loads(line) for line in (ROOT / "eval" / "real_qa.jsonl").read_text().splitlines()]
    gold = tmp_path / "real_qa.jsonl"
    gold.write_text("".join(json.dumps({**r, "doc": f"real/{r['doc']}"}) + "\n" for r in rows))
    report = eval_seedqa(service, gold, service.settings.source_dir)
    assert report["quote_integrity"] == 1.0
    assert report["false_abstentions"] <= report["answerable"] // 20
    assert report["passage_recall@5"] >= 0.6  # measured 0.756 on its own index
    assert report["quote_hit@3"] >= 0.65  # measured 0.667 (docs/quality-s13.md, round 2)
    assert report["quote_hit@1"] >= 0.46  # measured 0.489 (docs/quality-s13.md)
    # In-domain unanswerables that are `related` (coverage checks, the type gap, the reply to a
    # reporter's question; measured 12/20 on this index, docs/quality-s13.md).
    assert report["abstained_unanswerable"] >= 11
