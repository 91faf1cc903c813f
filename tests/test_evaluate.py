"""qa.evaluate: a gold file is checked before any question is asked; a bad one is one clear
InvalidInput line naming the file (and the line), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import InvalidInput
from qa.evaluate import eval_squad, seedqa_rows
from qa.service import QAService

GOOD = '{"id": "q1", "question": "Why?", "doc": "a.txt", "answer_quotes": ["Because."]}\n'


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"bad json\n', "g.jsonl:1: not a JSON object"),
        (b"\xff\xfe\n", "not UTF-8 text"),
        (b'{"foo": 1}\n', "g.jsonl:1: missing id, question, answer_quotes"),
        (b"[1, 2]\n", "g.jsonl:1: missing"),
        (
            GOOD.encode() + b'{"id": "q2", "question": "Who?", "answer_quotes": ["x"]}\n',
            ":2: an answerable row needs its doc",
        ),
        (b"\n\n", "no questions"),
    ],
)
def test_a_bad_seedqa_gold_file_names_its_problem(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_bytes(data)
    with pytest.raises(InvalidInput, match=expected):
        seedqa_rows(gold)


def test_a_good_seedqa_row_and_an_unanswerable_one_pass(tmp_path: Path) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_text(GOOD + '{"id": "q2", "question": "Who?", "answer_quotes": []}\n')
    assert [r["id"] for r in seedqa_rows(gold)] == ["q1", "q2"]


@pytest.mark.parametrize("text", ['{"x": 1}', '{"data": [{"paragraphs": [{"qas": []}]}]}', "[]"])
def test_a_file_that_is_not_squad_is_invalid_input(tmp_path: Path, text: str) -> None:
    gold = tmp_path / "s.json"
    gold.write_text(text)
    with pytest.raises(InvalidInput, match="SQuAD"):
        eval_squad(gold, service_type=QAService)
