"""Passages → quotes: the sentences that best answer the question, cited, or an honest refusal."""

from __future__ import annotations

from dataclasses import dataclass

from qa.models import Answer, Hit, Quote
from qa.retrieve import Query
from qa.store import IndexData

NO_ANSWER = "No passage in the indexed transcripts answers this question."


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    max_quotes: int = 3
    passage_weight: float = 0.3
    speaker_bonus: float = 0.05
    editorial_penalty: float = 0.05
    abstain_threshold: float = 0.30
    context_weight: float = 0.5


def select_quotes(
    index: IndexData, query: Query, hits: list[Hit], settings: AnswerSettings
) -> tuple[list[Quote], list[Hit]]:
    """Score every sentence of the retrieved passages; keep the best distinct ones.

    Also returns the passages re-ranked by their best sentence, so passages and quotes agree.
    """
    passage = {h.chunk.id: h.score for h in hits}
    ids = sorted({sid for h in hits for sid in index.chunk_sentences.get(h.chunk.id, ())})
    if not ids:
        return [], hits
    w = settings.context_weight
    cos = (1 - w) * (index.sentence_vectors[ids] @ query.content_vec) + w * (
        index.context_vectors[ids] @ query.content_vec
    )
    scored: list[tuple[float, int]] = []
    for c, sid in zip(cos, ids, strict=True):
        chunk = index.chunks[index.sentences[sid].chunk_id]
        score = float(c) + settings.passage_weight * passage[chunk.id]
        if chunk.speaker is None:
            score -= settings.editorial_penalty
        elif query.named and any(
            w.casefold() in query.named for w in [chunk.speaker, *chunk.speaker.split()]
        ):
            score += settings.speaker_bonus
        scored.append((score, sid))
    scored.sort(reverse=True)
    best: dict[int, float] = {}
    for score, sid in scored:
        best.setdefault(index.sentences[sid].chunk_id, score)
    reranked = sorted(
        (Hit(h.chunk, best.get(h.chunk.id, h.score)) for h in hits), key=lambda h: -h.score
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
    return quotes, reranked


def render(quotes: list[Quote]) -> str:
    """`Musk: “…” [doc.txt, lines 40–41]`, one line per quote."""
    lines = []
    for q in quotes:
        where = (
            f"line {q.line_start}"
            if q.line_start == q.line_end
            else f"lines {q.line_start}–{q.line_end}"
        )
        who = f"{q.speaker}: " if q.speaker else ""
        lines.append(f"{who}“{q.text}” [{q.doc_id}, {where}]")
    return "\n".join(lines)


def compose(
    question: str, quotes: list[Quote], hits: list[Hit], settings: AnswerSettings
) -> Answer:
    if not quotes or quotes[0].score < settings.abstain_threshold:
        return Answer(question, answerable=False, answer=NO_ANSWER, quotes=(), passages=tuple(hits))
    return Answer(
        question, answerable=True, answer=render(quotes), quotes=tuple(quotes), passages=tuple(hits)
    )
