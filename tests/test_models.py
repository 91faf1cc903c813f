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
