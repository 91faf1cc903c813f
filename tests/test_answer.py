"""Quote selection on the seeds (real model): disagreeing documents, joined sentences, no overlaps."""

from __future__ import annotations

import itertools

import pytest
from conftest import Built

pytestmark = pytest.mark.slow


def test_documents_that_disagree_are_both_quoted(seeded: Built) -> None:
    # CES (Jan): three patients; Baron Capital (Nov): more than ten. Both belong in the answer.
    answer = seeded.service.ask("How many patients have had a Neuralink device implanted?")
    assert answer.answerable
    assert {q.doc_id for q in answer.quotes} == {
        "000_c8b093dbc246d9b3.txt",
        "003_aef95c100974d035.txt",
    }
    assert [q.score for q in answer.quotes] == sorted(
        (q.score for q in answer.quotes), reverse=True
    )


@pytest.mark.parametrize(
    "question",
    [
        "Why does Musk call Ron Baron a real friend?",
        "How many Optimus robots does Tesla plan to build next year?",
        "What did Musk say about Starlink and poverty?",
    ],
)
def test_quotes_never_overlap_or_cross_a_turn(seeded: Built, question: str) -> None:
    answer = seeded.service.ask(question)
    spans = sorted((q.doc_id, q.start, q.end) for q in answer.quotes)
    for (d1, _, e1), (d2, s2, _) in itertools.pairwise(spans):
        assert d1 != d2 or e1 <= s2
    index = seeded.service.index
    for q in answer.quotes:
        owners = {
            (c.doc_id, c.turn_index)
            for c in index.chunks
            if c.doc_id == q.doc_id and c.start < q.end and q.start < c.end
        }
        assert len(owners) == 1, f"quote crosses a speaker turn: {q.text!r}"


def test_summary_repeating_the_interview_cites_the_speaker(seeded: Built) -> None:
    answer = seeded.service.ask(
        "How much safer than human drivers could Tesla's autonomous driving become?"
    )
    top = answer.quotes[0]
    assert top.speaker is not None and "100 times safer" in top.text


def test_a_value_of_the_type_asked_far_from_the_topic_is_no_answer(seeded: Built) -> None:
    # The implants are discussed, but no date is given for them: the only date near the topic is
    # about autonomous driving (a quarter of 2025), far below the implant sentences' scores.
    answer = seeded.service.ask("On what date was the first Neuralink patient implanted?")
    assert answer.coverage == "related" and not answer.quotes
    assert any("2025" in q.text for q in answer.related)


@pytest.mark.parametrize(
    "question", ["What is the tallest mountain in Africa?", "Who won the 1998 football World Cup?"]
)
def test_a_question_whose_words_the_passages_lack_is_not_found(
    seeded: Built, question: str
) -> None:
    # The nearest sentences are close enough in meaning to pass the abstention threshold, but the
    # retrieved passages hold almost none of the question's words: it is about something else.
    answer = seeded.service.ask(question)
    assert answer.coverage == "not_found" and not answer.quotes and not answer.related
