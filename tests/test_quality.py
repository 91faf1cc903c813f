"""Regression guard on the dev set: real model, real FAISS, every quote an exact source slice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa.evaluate import eval_seedqa
from qa.service import QAService
from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "seed_qa_dev.jsonl"
# Measured 0.909 (README); the floor leaves room for one question of noise, no more.
HIT3_FLOOR = 0.86

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dev_service(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    base = tmp_path_factory.mktemp("quality")
    shutil.copytree(ROOT / "seeds", base / "seeds")
    service = QAService(Settings(source_dir=base / "seeds", index_dir=base / "index"))
    service.build()
    return service


def test_dev_set_quality_and_integrity(dev_service: QAService) -> None:
    report = eval_seedqa(dev_service, DEV, dev_service.settings.source_dir)
    hits = sum(p.get("hit@3", False) for p in report["per_question"])
    print(
        f"\ndev set: {hits}/{report['answerable']} answerable questions have a gold quote in the top 3 "
        f"(hit@3 {report['quote_hit@3']}, hit@1 {report['quote_hit@1']}, "
        f"passage recall@5 {report['passage_recall@5']}, integrity {report['quote_integrity']})"
    )
    assert report["quote_integrity"] == 1.0
    assert report["quotes_checked"] > 0
    assert report["quote_hit@3"] >= HIT3_FLOOR
    assert report["false_abstentions"] <= 1


def test_every_quote_and_passage_is_an_exact_slice(dev_service: QAService) -> None:
    import json

    source = dev_service.settings.source_dir
    texts = {p.name: p.read_text(encoding="utf-8") for p in source.glob("*.txt")}
    questions = [
        json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines()
    ]
    questions += ["What is the capital of France?", "Neuralink", "robots?!"]
    for question in questions:
        answer = dev_service.ask(question, k=5)
        for q in answer.quotes:
            assert texts[q.doc_id][q.start : q.end] == q.text
            assert texts[q.doc_id].count("\n", 0, q.start) + 1 == q.line_start
        for p in answer.passages:
            c = p.chunk
            assert texts[c.doc_id][c.start : c.end] == c.text


def test_off_topic_question_is_refused(dev_service: QAService) -> None:
    answer = dev_service.ask("How do I bake sourdough bread?")
    assert not answer.answerable
    assert answer.quotes == ()
