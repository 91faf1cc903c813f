"""The records: one citation format, and the wire form `dump` gives."""

from __future__ import annotations

import pytest

from qa.errors import InvalidInput
from qa.models import Answer, Filters, Quote, cite, dump


def test_cite_gives_lines_or_pdf_pages_times_title_and_date() -> None:
    q = Quote("t", "talk.txt", "Ann", 0, 1, 4, 5, 1.0)
    assert cite(q) == "talk.txt, lines 4–5"
    assert cite(Quote("t", "talk.txt", "Ann", 0, 1, 4, 4, 1.0)) == "talk.txt, line 4"
    pdf = Quote("t", "h.pdf", None, 0, 1, 4, 5, 1.0, page=12, page_line_start=3, page_line_end=4)
    assert cite(pdf) == "h.pdf, p. 12, ll. 3–4"
    timed = Quote(
        "t", "a.vtt", "Ann", 0, 1, 2, 2, 1.0, time_start=62.0, time_end=69.5, title="Hearing",
        date="2023-03-08",
    )  # fmt: skip
    assert cite(timed) == "a.vtt, line 2, 00:01:02–00:01:09, “Hearing”, 2023-03-08"


def test_dump_is_the_wire_form() -> None:
    q = Quote("t", "a.txt", "Ann", 3, 4, 1, 1, 0.123456789)
    body = dump(Answer("why?", True, "Ann: “t”", quotes=(q,), coverage="answered", confidence=0.5))
    assert body["quotes"][0]["score"] == 0.1235  # shown to 4 decimals
    assert body["quotes"][0]["segments"] == [[3, 4]] and body["quotes"][0]["label"] == "Ann"
    assert body["passages"] == [] and set(body) == {
        "question", "answerable", "answer", "quotes", "passages", "coverage", "confidence",
        "related",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"date_to": "2023-01-01T00:00:00"}, "date_to must be a date like"),
        ({"date_from": "20230101"}, "date_from must be a date like"),
        ({"date_from": "2023-02-01", "date_to": "2023-01-01"}, "is after date_to"),
    ],
)
def test_filter_dates_are_days_in_order(kw: dict[str, str], expected: str) -> None:
    with pytest.raises(InvalidInput, match=expected):
        Filters.of(**kw)  # type: ignore[arg-type]
    assert Filters.of(date_from="2023-01-01", date_to="2023-01-01").active


def test_a_filter_is_refused_only_when_no_value_names_anything() -> None:
    from qa.models import Filters, speaker_keys

    keys = speaker_keys([("Elon Musk", "Elon Musk")])
    # One value that matches keeps the filter: a saved query naming a deleted document runs.
    assert (
        Filters.of(docs=["a.txt", "gone.txt"], speakers=["Musk", "Nobody"]).unmatched(
            {"a.txt"}, keys
        )
        == []
    )
    problems = Filters.of(docs=["b.txt", "c.txt"], speakers=["Elon Mosk"]).unmatched(
        {"a.txt"}, keys
    )
    assert problems == [
        "doc: no indexed document 'b.txt' (did you mean 'a.txt'?) (nor 1 more)",
        "speaker: no indexed speaker 'elon mosk' (did you mean 'elon musk'?)",
    ]


def test_suggestions_stay_cheap_on_a_large_index() -> None:
    """One suggestion per filter, from candidates narrowed by their first letters: 100 near
    misses against 10,000 same-length ids took minutes when each was compared with all."""
    import time

    from qa.models import Filters

    ids = {f"interview-{n:05d}.txt" for n in range(10_000)}
    wrong = [f"intreview-{n:05d}.txt" for n in range(100)]
    started = time.process_time()
    (problem,) = Filters.of(docs=wrong).unmatched(ids, frozenset())
    assert time.process_time() - started < 5  # was 88 s
    assert problem.startswith("doc: no indexed document 'intreview-00000.txt' (did you mean")
    assert problem.endswith("(nor 99 more)")
