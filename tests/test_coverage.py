"""Coverage verdicts and confidence: the pure parts (focal terms, the logistic map, the record)."""

from __future__ import annotations

import pytest

from qa.coverage import confidence, focal_terms, mentions, support
from qa.models import COVERAGES, Answer, Quote
from qa.settings import CalibrationSettings
from qa.sparse import tokenize


@pytest.mark.parametrize(
    ("question", "named", "terms"),
    [
        # The first word, question words, titles and the speaker's name are not what is asked about.
        ("What did the Senator say about Acme's merger?", {"Senator"}, {"acm"}),
        ("Why did Ann Lee leave Zurich in 2019?", {"Ann", "Lee"}, {"zurich", "2019"}),
        ("How many robots did they build?", set(), set()),
        ("Did the Minister visit Oslo on Monday?", set(), {"oslo"}),
    ],
)
def test_focal_terms_are_named_entities_and_numbers(
    question: str, named: set[str], terms: set[str]
) -> None:
    assert focal_terms(question, named) == terms


def test_a_focal_term_is_found_by_its_stem_or_number() -> None:
    terms = focal_terms("What did they sell to Acme in 2019?")
    assert mentions(tokenize("We sold it to Acme's team."), terms)
    assert mentions(tokenize("That was 2019."), terms)
    assert not mentions(tokenize("We sold it to a client."), terms)


def test_support_weighs_the_question_words_the_passages_hold_by_idf() -> None:
    df = {"mountain": 1, "africa": 2, "say": 90}.get
    passages = [set(tokenize("Africa is a continent.")), set(tokenize("They say so."))]
    held = support(
        "What did they say about the tallest mountain in Africa?", passages, lambda t: df(t, 0), 100
    )
    assert 0 < held < 0.5  # "tallest" (in no chunk) and "mountain" (rare) are missing
    assert support("What did they say?", passages, lambda t: df(t, 0), 100) == 1.0
    assert support("What is the tallest mountain?", [], lambda t: 0, 100) == 0.0
    assert support("the of", passages, lambda t: 0, 100) == 1.0  # no content words: no verdict


def test_confidence_is_a_probability_that_grows_with_the_evidence() -> None:
    cal = CalibrationSettings()
    low = confidence(cal, 0.5, 0.5, failed=False)
    high = confidence(cal, 1.2, 0.9, failed=False)
    failed = confidence(cal, 1.2, 0.9, failed=True)
    assert 0.0 <= low < high <= 1.0 and failed < high


def test_answer_enforces_the_coverage_contract() -> None:
    q = Quote("t", "a.txt", "Ann", 0, 1, 1, 1, 0.9)
    assert COVERAGES == ("answered", "related", "not_found")
    Answer("q", True, "a", quotes=(q,), coverage="answered", confidence=0.7)
    Answer("q", False, "r", coverage="related", confidence=0.2, related=(q,))
    with pytest.raises(ValueError, match="answerable"):
        Answer("q", True, "a", quotes=(q,), coverage="related")
    with pytest.raises(ValueError, match="quotes"):
        Answer("q", False, "r", quotes=(q,), coverage="related")
    with pytest.raises(ValueError, match="confidence"):
        Answer("q", True, "a", quotes=(q,), coverage="answered", confidence=1.5)
