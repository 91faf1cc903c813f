"""`qa eval`: measure answers against gold data (seed-QA format)."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from qa.ingest import read_source_text
from qa.service import QAService


def _spans(text: str, quote: str) -> list[tuple[int, int]]:
    out, at = [], text.find(quote)
    while at >= 0:
        out.append((at, at + len(quote)))
        at = text.find(quote, at + 1)
    return out


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def eval_seedqa(service: QAService, gold_path: Path, source: Path, k: int = 5) -> dict[str, Any]:
    """Quote hit@1/@3, passage recall@k, speaker match, abstention, integrity, latency."""
    rows = [
        json.loads(line)
        for line in gold_path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    texts: dict[str, str] = {}
    answerable = hit1 = hit3 = recall = speaker_ok = false_abstain = 0
    unanswerable = refused = 0
    quotes_checked = quotes_exact = 0
    latencies: list[float] = []
    per_question: list[dict[str, Any]] = []
    for row in rows:
        t0 = time.perf_counter()
        answer = service.ask(row["question"], k=k)
        latencies.append((time.perf_counter() - t0) * 1000)
        for q in answer.quotes:
            text = texts.setdefault(q.doc_id, read_source_text(source / q.doc_id))
            quotes_checked += 1
            quotes_exact += text[q.start : q.end] == q.text
        if not row["answer_quotes"]:
            unanswerable += 1
            refused += not answer.answerable
            per_question.append({"id": row["id"], "refused": not answer.answerable})
            continue
        answerable += 1
        doc = row["doc"]
        gold_text = texts.setdefault(doc, read_source_text(source / doc))
        gold = [sp for quote in row["answer_quotes"] for sp in _spans(gold_text, quote)]
        hits = [q.doc_id == doc and _overlaps((q.start, q.end), gold) for q in answer.quotes]
        h1, h3 = any(hits[:1]), any(hits[:3])
        hit1 += h1
        hit3 += h3
        recall += any(
            p.chunk.doc_id == doc and _overlaps((p.chunk.start, p.chunk.end), gold)
            for p in answer.passages[:k]
        )
        false_abstain += not answer.answerable
        if h3:
            first = next(q for q, h in zip(answer.quotes, hits, strict=False) if h)
            speaker_ok += _same_speaker(first.speaker, row.get("speaker"))
        per_question.append(
            {"id": row["id"], "hit@1": h1, "hit@3": h3, "answerable": answer.answerable}
        )
    n = max(answerable, 1)
    return {
        "questions": len(rows),
        "answerable": answerable,
        "quote_hit@1": round(hit1 / n, 3),
        "quote_hit@3": round(hit3 / n, 3),
        f"passage_recall@{k}": round(recall / n, 3),
        "speaker_match": round(speaker_ok / max(hit3, 1), 3),
        "unanswerable": unanswerable,
        "abstained_unanswerable": refused,
        "false_abstentions": false_abstain,
        "quote_integrity": round(quotes_exact / max(quotes_checked, 1), 4),
        "quotes_checked": quotes_checked,
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "per_question": per_question,
    }


def _same_speaker(got: str | None, want: str | None) -> bool:
    if not want:
        return got is None
    if not got:
        return False
    # `Musk` and `Elon Musk` name one person: compare by the last name word.
    return got.split()[-1].casefold() == want.split()[-1].casefold()
