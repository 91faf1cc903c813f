"""Questions about the conversation itself (who asked first or last, which paper a reporter is
from) and the reply to a reporter's question (qa.answer, fake embedder)."""

from __future__ import annotations

import pytest
from fakes import HashEmbedder

from qa.models import Filters
from qa.service import QAService
from qa.settings import Settings

BRIEFING = """MODERATOR: Good afternoon. The secretary will open with remarks on the grain talks.

SECRETARY: We met the ministers today about grain exports. The talks were useful and long. \
I'll take your questions now. Maria Lopez from the Daily Ledger has the first question.

Q: Thank you. Did the ministers agree to reopen the grain corridor?

SECRETARY: Not yet. They agreed to meet again next week, and the ministers will bring their \
experts and the shipping companies along.

Q: Tom Reyes, City Wire. What about fertilizer exports and the talks?

SECRETARY: Fertilizer is part of the same talks. Last question, please, from Ann Bell.

Q: Ann Bell, Morning Post. Will you travel to the region for the grain talks?

SECRETARY: Yes, in March.
"""


def _indexed(tmp_path_factory: pytest.TempPathFactory, name: str, text: str) -> QAService:
    """A service over one transcript, indexed with the fake embedder."""
    base = tmp_path_factory.mktemp(name)
    (base / "src").mkdir()
    (base / "src" / f"{name}.txt").write_text(text, encoding="utf-8")
    service = QAService(
        Settings(source_dir=base / "src", index_dir=base / "index"), embedder=HashEmbedder()
    )
    service.build()
    return service


@pytest.fixture(scope="module")
def briefing(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    return _indexed(tmp_path_factory, "briefing", BRIEFING)


def _ask(service: QAService, question: str, **answer: object) -> str:
    if answer:
        settings = service.settings.with_overrides(answer=answer)
        service = QAService(settings, embedder=HashEmbedder())
    got = service.ask(question)
    assert got.quotes, got
    return got.quotes[0].text


def test_who_asked_first_is_the_turn_giving_the_floor(briefing: QAService) -> None:
    question = (
        "Who asked the first question at the briefing on the grain talks, and for which paper?"
    )
    assert "Maria Lopez from the Daily Ledger" in _ask(briefing, question)


def test_who_asked_last_is_the_turn_giving_the_floor_last(briefing: QAService) -> None:
    question = "Which reporter asked the last question about the grain talks?"
    assert "Last question, please, from Ann Bell" in _ask(briefing, question)


def test_the_floor_rule_is_only_for_questions_asking_who(briefing: QAService) -> None:
    question = "What did the secretary answer to the first question about the grain corridor?"
    assert "Maria Lopez" not in _ask(briefing, question)


def test_the_floor_rule_is_a_setting(briefing: QAService) -> None:
    question = (
        "Who asked the first question at the briefing on the grain talks, and for which paper?"
    )
    assert "Maria Lopez" not in _ask(briefing, question, floor_bonus=0.0)


def test_the_reply_to_a_reporters_question_comes_before_it(briefing: QAService) -> None:
    question = "Did the ministers agree to reopen the grain corridor?"
    got = briefing.ask(question)
    assert got.quotes[0].text.startswith("Not yet.") and got.quotes[0].speaker == "SECRETARY"
    assert "corridor" in _ask(briefing, question, handoff_sentences=0)


def test_a_lifted_reply_or_floor_turn_obeys_the_speaker_filter(briefing: QAService) -> None:
    for question in [
        "Did the ministers agree to reopen the grain corridor?",
        "Who asked the first question at the briefing on the grain talks, and for which paper?",
    ]:
        got = briefing.ask(question, filters=Filters.of(speakers=["Q"]))
        assert got.quotes and {q.speaker for q in got.quotes} == {"Q"}


def test_the_reporters_question_is_not_quoted_beside_its_reply(briefing: QAService) -> None:
    question = "Did the ministers agree to reopen the grain corridor?"
    got = briefing.ask(question)
    assert got.quotes[0].text.startswith("Not yet.")
    assert not any(q.speaker == "Q" and "corridor" in q.text for q in got.quotes)
    settings = briefing.settings.with_overrides(answer={"reply_for_question": False})
    got = QAService(settings, embedder=HashEmbedder()).ask(question)
    assert got.quotes[0].text.startswith("Not yet.")
    assert any(q.speaker == "Q" and "corridor" in q.text for q in got.quotes[1:])


def test_which_paper_a_reporter_is_from_is_in_their_own_turn(briefing: QAService) -> None:
    got = briefing.ask("Which paper is Ann Bell from?")
    assert got.quotes[0].speaker == "Q" and "Morning Post" in got.quotes[0].text


# A question in two parts: the reply to the first part comes after the second, and its first
# sentences are courtesies.
TWO_PARTS = """MODERATOR: Next, Jane Roe.

Q: One question, and I have a second one. Why was the harbour closed to the fishing boats \
last week?

MAYOR: Go ahead with your second one.

Q: And will the bridge toll go up this year?

MAYOR: Thanks for those. I appreciate it. Storm damage to the outer wall, and repairs take \
time. The toll stays as it is.
"""


@pytest.fixture(scope="module")
def two_parts(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    return _indexed(tmp_path_factory, "call", TWO_PARTS)


def test_a_question_in_two_parts_is_answered_after_its_second_part(two_parts: QAService) -> None:
    question = "Why was the harbour closed to the fishing boats?"
    assert _ask(two_parts, question).startswith("Storm damage to the outer wall")
    assert "harbour" in _ask(two_parts, question, handoff_parts=False)
