"""The question sets `qa eval` scores stay valid against their transcripts (no model, fast).

`eval_seedqa` counts a hit only where a gold quote occurs verbatim in its document, so a quote
that no longer matches (an edited transcript, a retyped quote) would silently turn into a miss.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.ingest import read_source_text

ROOT = Path(__file__).resolve().parent.parent

# (question file, the folder its `doc` names are relative to)
SETS = [
    ("eval/heldout_qa.jsonl", "corpora/heldout"),
    ("eval/dev2_qa.jsonl", "corpora/train"),
    ("eval/real_qa.jsonl", "corpora/real"),
]
FIELDS = {"id", "question", "doc", "answer_quotes", "speaker", "kind"}


def _rows(gold: str) -> list[dict[str, object]]:
    lines = (ROOT / gold).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize(("gold", "corpus"), SETS)
def test_every_gold_quote_occurs_verbatim_in_its_document(gold: str, corpus: str) -> None:
    texts: dict[str, str] = {}
    for row in _rows(gold):
        quotes = row["answer_quotes"]
        assert isinstance(quotes, list)
        if not quotes:
            continue
        doc = row["doc"]
        assert isinstance(doc, str)
        text = texts.setdefault(doc, read_source_text(ROOT / corpus / doc))
        for quote in quotes:
            assert quote in text, f"{row['id']}: gold quote not in {doc}: {quote!r}"


@pytest.mark.parametrize(("gold", "corpus"), SETS)
def test_rows_have_the_seedqa_fields_and_unique_ids(gold: str, corpus: str) -> None:
    rows = _rows(gold)
    assert all(set(row) == FIELDS for row in rows)
    assert len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        # Nobody says the answer to an unanswerable question (an answerable one may be unlabelled).
        assert row["answer_quotes"] or row["speaker"] is None, row["id"]
        if row["doc"] is not None:
            assert (ROOT / corpus / str(row["doc"])).is_file(), row["id"]


def test_heldout_set_has_the_sizes_it_promises() -> None:
    rows = _rows("eval/heldout_qa.jsonl")
    answerable = [r for r in rows if r["answer_quotes"]]
    in_domain = [r for r in rows if not r["answer_quotes"] and r["kind"] == "unanswerable"]
    assert len(answerable) >= 60
    assert len(in_domain) >= 20
