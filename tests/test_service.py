"""The library facade: input checks, ask/search contracts and filters.

Logic runs on the fake bag-of-words embedder (fast); what depends on meaning uses the real model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fakes import HashEmbedder

from qa.errors import IngestError, InvalidInput, NotFound
from qa.models import Filters, dump
from qa.searcher import MAX_QUESTION_CHARS, clean_question
from qa.service import QAService
from qa.settings import Settings

if TYPE_CHECKING:
    from conftest import Built

PENN = "000_c8b093dbc246d9b3.txt"
BARON = "003_aef95c100974d035.txt"
ASK_KEYS = {
    "question", "answerable", "answer", "quotes", "passages", "coverage", "confidence", "related"
}  # fmt: skip


@pytest.mark.parametrize(
    "question",
    ["", "   ", "\n\t ", "x" * (MAX_QUESTION_CHARS + 1), "why\x01?", "neuralink \udcff\udcfe"],
    ids=["empty", "spaces", "ws", "long", "control", "undecodable"],
)
def test_bad_questions_are_invalid_input(question: str) -> None:
    with pytest.raises(InvalidInput):
        clean_question(question)


def test_questions_are_trimmed_and_the_limit_is_inclusive() -> None:
    assert clean_question("  why?\n") == "why?"
    assert clean_question("x" * MAX_QUESTION_CHARS) == "x" * MAX_QUESTION_CHARS


def test_input_is_checked_before_the_index_is_needed(tmp_path: Path) -> None:
    svc = QAService(Settings(index_dir=tmp_path / "none"), embedder=HashEmbedder())
    with pytest.raises(InvalidInput, match="empty"):
        svc.ask("   ")
    with pytest.raises(InvalidInput, match="empty"):
        svc.search("")


def verbatim_quotes(built: Built, items: list[tuple[str, int, int, str]]) -> None:
    for doc_id, start, end, text in items:
        assert (built.source / doc_id).read_text(encoding="utf-8")[start:end] == text


@pytest.mark.parametrize("k", [1, 3, 5, 12])
def test_ask_contract(hashed: Built, k: int) -> None:
    answer = hashed.service.ask("How many actuators does the Optimus robot have?", k=k)
    assert set(dump(answer)) == ASK_KEYS
    assert answer.question == "How many actuators does the Optimus robot have?"
    assert len(answer.passages) <= k and len(answer.quotes) <= min(k, 3)
    assert answer.answerable == bool(answer.quotes)
    scores = [q.score for q in answer.quotes]
    assert scores == sorted(scores, reverse=True)
    verbatim_quotes(hashed, [(q.doc_id, q.start, q.end, q.text) for q in answer.quotes])
    verbatim_quotes(
        hashed,
        [(p.doc_id, p.start, p.end, p.text) for p in answer.passages],
    )


def test_ask_strips_the_question(hashed: Built) -> None:
    assert hashed.service.ask("  Grok 5 release?  ").question == "Grok 5 release?"


@pytest.mark.parametrize("k", [1, 5, 50])
def test_search_returns_k_ranked_exact_passages(hashed: Built, k: int) -> None:
    hits = hashed.service.search("Neuralink patients implant", k=k)
    assert len(hits) == min(k, len(hashed.service.index.chunks))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len({(h.doc_id, h.start) for h in hits}) == len(hits)
    verbatim_quotes(hashed, [(h.doc_id, h.start, h.end, h.text) for h in hits])


def test_search_filters_by_document_and_speaker(hashed: Built) -> None:
    svc = hashed.service
    by_doc = svc.search("robots", k=10, filters=Filters.of(docs=[BARON]))
    assert by_doc and {h.doc_id for h in by_doc} == {BARON}
    # Speaker names match case-insensitively.
    by_speaker = svc.search("robots", k=10, filters=Filters.of(speakers=["ron baron"]))
    assert by_speaker and {h.speaker for h in by_speaker} == {"Ron Baron"}
    both = svc.search("robots", k=10, filters=Filters.of(docs=[PENN], speakers=["Mark Penn"]))
    assert both and {(h.doc_id, h.speaker) for h in both} == {(PENN, "Mark Penn")}
    # A filter naming nothing indexed is a mistake to report, not an empty answer.
    with pytest.raises(InvalidInput, match=r"^doc: no indexed document 'no-such-doc.txt'$"):
        svc.search("robots", k=10, filters=Filters.of(docs=["no-such-doc.txt"]))


def test_a_bm25_search_finding_nothing_under_a_filter_is_not_blamed_on_it(
    hashed: Built,
) -> None:
    retrieval = hashed.service.settings.retrieval.model_copy(update={"mode": "bm25"})
    svc = QAService(
        hashed.service.settings.model_copy(update={"retrieval": retrieval}), HashEmbedder()
    )
    # No word of the question is in the document: nothing found, but it was searched.
    answer = svc.ask("xyzzy plugh", filters=Filters.of(docs=[BARON]))
    assert answer.coverage == "not_found"
    assert answer.answer == "No passage in the indexed transcripts answers this question."
    # A date range holds none of the undated seeds: nothing was searched, and it says so.
    dated = svc.ask("robots", filters=Filters.of(date_from="2020-01-01"))
    assert dated.answer.startswith("No passage of the indexed transcripts is within these")


def test_ask_filters_apply_to_quotes(hashed: Built) -> None:
    answer = hashed.service.ask(
        "What did they say about Twitter?", filters=Filters.of(speakers=["Ron Baron"])
    )
    assert {q.speaker for q in answer.quotes} <= {"Ron Baron"}
    assert {p.speaker for p in answer.passages} <= {"Ron Baron"}


def test_status_and_documents(hashed: Built) -> None:
    svc = hashed.service
    status = svc.status()
    assert status.status == "ok" and status.documents == 2
    assert status.chunks == len(svc.index.chunks) > 0 and status.model == "hash-bow"
    docs = svc.documents()
    assert [d.doc_id for d in docs] == [PENN, BARON]
    for d in docs:
        raw = (hashed.source / d.doc_id).read_text(encoding="utf-8").encode("utf-8")
        assert d.sha256 == hashlib.sha256(raw).hexdigest() and d.chunks > 0


def test_build_reports_what_it_indexed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("Alice:\nWhere is the cat?\nBob:\nOn the mat. It sleeps.\n", "utf-8")
    svc = QAService(Settings(source_dir=src, index_dir=tmp_path / "index"), HashEmbedder())
    report = svc.build()
    assert (report.documents, report.chunks, report.sentences) == (1, 2, 3)
    assert report.version == (tmp_path / "index" / "CURRENT").read_text().strip()
    answer = svc.ask("Where is the cat sleeping? mat")
    assert {q.text for q in answer.quotes} <= {"Where is the cat?", "On the mat.", "It sleeps."}


def test_strict_names_every_file_it_refuses(tmp_path: Path) -> None:
    """The refusal named the first bad file and "(and 2 more)": fixing them took a run each."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (src / name).write_bytes(b"Alice:\n\xff\xfe")
    (src / "good.txt").write_text("Alice:\nHello.\n", encoding="utf-8")
    svc = QAService(Settings(source_dir=src, index_dir=tmp_path / "index"), HashEmbedder())
    with pytest.raises(IngestError) as refused:
        svc.build(strict=True)
    assert refused.value.message == (
        "--strict: a.txt: skipped: not valid UTF-8 (byte offset 7: invalid start byte)"
        " (and 2 more, in b.txt, c.txt); nothing was written"
    )


def test_build_skips_unreadable_sources_and_strict_refuses_them(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "bad.txt").write_bytes(b"Alice:\n\xff\xfe")
    (src / "good.txt").write_text("Alice:\nHello.\n", encoding="utf-8")
    svc = QAService(Settings(source_dir=src, index_dir=tmp_path / "index"), HashEmbedder())
    with pytest.raises(IngestError, match=r"--strict: bad\.txt: skipped: not valid UTF-8"):
        svc.build(strict=True)
    assert not (tmp_path / "index" / "CURRENT").exists()
    report = svc.build()  # one bad file never stops the others
    assert report.doc_ids.added == ("good.txt",)
    assert [f.doc_id for f in report.skipped] == ["bad.txt"]
    assert report.problems[0].startswith("bad.txt: skipped: not valid UTF-8 (byte offset 7")
    svc = QAService(
        Settings(source_dir=tmp_path / "missing", index_dir=tmp_path / "index2"), HashEmbedder()
    )
    with pytest.raises(IngestError, match="source folder not found"):
        svc.build()
    assert not (tmp_path / "index2" / "CURRENT").exists()


# -- with the real model ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "doc", "expected"),
    [
        (
            "How many degrees of freedom do Optimus hands have?",
            PENN,
            "Its hands have 22 degrees of freedom",
        ),
        (
            "Roughly how many actuators are in a complete Optimus robot?",
            BARON,
            "each robot has a total of about 100 actuators",
        ),
    ],
)
def test_real_model_finds_the_answering_sentence(
    seeded: Built, question: str, doc: str, expected: str
) -> None:
    answer = seeded.service.ask(question)
    assert answer.answerable
    assert any(q.doc_id == doc and expected in q.text for q in answer.quotes), answer.answer
    verbatim_quotes(seeded, [(q.doc_id, q.start, q.end, q.text) for q in answer.quotes])


@pytest.mark.slow
def test_real_model_speaker_filter(seeded: Built) -> None:
    answer = seeded.service.ask(
        "What did the interviewer think X was worth?", filters=Filters.of(speakers=["Ron Baron"])
    )
    assert answer.quotes and {q.speaker for q in answer.quotes} == {"Ron Baron"}


def test_quotes_are_served_only_while_they_are_still_in_the_source(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(
        "Alice:\nHow many patients have the implant?\nBob:\nMore than 10 patients have it.\n",
        encoding="utf-8",
    )
    svc = QAService(
        Settings(source_dir=src, index_dir=tmp_path / "index", reload_interval=-1),
        HashEmbedder(),
    )
    svc.build()
    question = "How many patients have the implant? patients"
    assert any("10 patients" in q.text for q in svc.ask(question).quotes)
    # Edited after indexing (same length): the index's copy no longer matches the file.
    path = src / "a.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("10", "90"), encoding="utf-8")
    answer = svc.ask(question)
    assert not any("10 patients" in q.text or "90" in q.text for q in answer.quotes)
    assert all(p.text in path.read_text(encoding="utf-8") for p in answer.passages)
    path.unlink()
    gone = svc.ask(question)
    assert not gone.answerable and gone.quotes == () and gone.passages == ()
    assert "index update" in gone.answer


def test_document_text_is_the_canonical_text_of_indexed_documents_only(hashed: Built) -> None:
    service = hashed.service
    assert service.document_text(PENN) == (hashed.source / PENN).read_text(encoding="utf-8")
    for unknown in ("SOURCE.md", "nope.txt", "../seeds/" + PENN):
        with pytest.raises(NotFound):
            service.document_text(unknown)


def test_health_says_stale_when_a_transcript_is_added_or_deleted(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("Alice:\nHello there.\n", encoding="utf-8")
    (src / "keep.txt").write_text("Carol:\nStill here.\n", encoding="utf-8")
    svc = QAService(
        Settings(source_dir=src, index_dir=tmp_path / "index", reload_interval=-1),
        HashEmbedder(),
    )
    svc.build()
    assert svc.status().stale is False
    (src / "a.txt").unlink()
    assert svc.status().stale is True
    svc.update()
    (src / "b.txt").write_text("Bob:\nHi.\n", encoding="utf-8")
    assert svc.status().stale is True
