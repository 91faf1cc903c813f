"""Passages → quotes: the sentences that best answer the question, cited, or an honest refusal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.models import Answer, Hit, Quote
from qa.store import IndexData

NO_ANSWER = "No passage in the indexed transcripts answers this question."


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    max_quotes: int = 3
    sentence_weight: float = 0.5  # the rest is the passage's score
    abstain_threshold: float = 0.30


def select_quotes(
    index: IndexData, qvec: np.ndarray, hits: list[Hit], settings: AnswerSettings
) -> list[Quote]:
    """Score every sentence of the retrieved passages; keep the best, non-overlapping ones."""
    passage_score: dict[int, float] = {h.chunk.id: h.score for h in hits}
    ids = sorted({sid for h in hits for sid in index.chunk_sentences.get(h.chunk.id, ())})
    if not ids:
        return []
    cos = index.sentence_vectors[ids] @ qvec
    w = settings.sentence_weight
    scored = sorted(
        (
            (w * float(c) + (1 - w) * passage_score[index.sentences[sid].chunk_id], sid)
            for c, sid in zip(cos, ids, strict=True)
        ),
        reverse=True,
    )
    quotes: list[Quote] = []
    seen: set[str] = set()
    for score, sid in scored:
        s = index.sentences[sid]
        text = index.sentence_texts[sid]
        key = " ".join(text.casefold().split())
        if key in seen:
            continue
        seen.add(key)
        chunk = index.chunks[s.chunk_id]
        quotes.append(
            Quote(
                text=text,
                doc_id=chunk.doc_id,
                speaker=chunk.speaker,
                start=s.start,
                end=s.end,
                line_start=s.line_start,
                line_end=s.line_end,
                score=score,
            )
        )
        if len(quotes) >= settings.max_quotes:
            break
    return quotes


def render(quotes: list[Quote]) -> str:
    """`Musk: “…” [doc.txt, lines 40–41]`, one line per quote."""
    lines = []
    for q in quotes:
        lines_ref = (
            f"line {q.line_start}"
            if q.line_start == q.line_end
            else f"lines {q.line_start}–{q.line_end}"
        )
        who = f"{q.speaker}: " if q.speaker else ""
        lines.append(f"{who}“{q.text}” [{q.doc_id}, {lines_ref}]")
    return "\n".join(lines)


def compose(
    question: str, quotes: list[Quote], hits: list[Hit], settings: AnswerSettings
) -> Answer:
    if not quotes or quotes[0].score < settings.abstain_threshold:
        return Answer(
            question=question, answerable=False, answer=NO_ANSWER, quotes=(), passages=tuple(hits)
        )
    return Answer(
        question=question,
        answerable=True,
        answer=render(quotes),
        quotes=tuple(quotes),
        passages=tuple(hits),
    )
