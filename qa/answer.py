"""Passages → quotes: the sentences that best answer the question, cited, or an honest refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from qa.answertype import expected
from qa.coverage import confidence, focal_terms, mentions, support
from qa.models import Answer, Chunk, Filters, Hit, Passage, Quote, Sentence, cite
from qa.retrieve import NO_FILTERS, Query
from qa.segments import clip, joined_slice
from qa.settings import AnswerSettings
from qa.sparse import tokenize
from qa.store import IndexData

NO_ANSWER = "No passage in the indexed transcripts answers this question."
FILTERED_OUT = (
    "No passage of the indexed transcripts is within these filters (documents, speakers, "
    "dates; undated transcripts are outside any date range): widen or remove one."
)
RELATED_ANSWER = (
    "The transcripts discuss this, but no passage states what was asked; the closest quotes are "
    "related reading, not an answer."
)
STALE_ANSWER = (
    "The transcripts that answered this changed since they were indexed, so their quotes can no "
    "longer be checked: run `qa index update`."
)


class _Lookup:
    """One question's sentences: each one's chunk, sentence and text, looked up in the index once.

    Over the files backend every lookup goes through a lazy sequence (a bisect, a record's cache
    entry); the quote selection asks for the same few hundred sentences ~1,500 times. The
    retrieved passages' sentences get their chunk from the hit itself."""

    def __init__(self, index: IndexData, hits: list[Hit]) -> None:
        self.index = index
        self._chunk: dict[int, Chunk] = {}
        for h in hits:
            for sid in index.chunk_sentences.get(h.chunk.id, ()):
                self._chunk[sid] = h.chunk
        self._sentence: dict[int, Sentence] = {}
        self._text: dict[int, str] = {}
        self._rows: dict[int, int] = {}
        self._vectors: np.ndarray | None = None
        self._turn_end: dict[tuple[str, int], int] = {}

    def read_vectors(self, ids: list[int]) -> np.ndarray:
        """The sentence vectors of `ids`, kept for `vectors`."""
        self._vectors = np.asarray(self.index.sentence_vectors[ids])
        self._rows = {sid: i for i, sid in enumerate(ids)}
        return self._vectors

    def vectors(self, ids: list[int]) -> np.ndarray:
        """Sentence vectors, from those read already when they are (the same rows)."""
        if self._vectors is not None and all(i in self._rows for i in ids):
            return self._vectors[[self._rows[i] for i in ids]]
        return np.asarray(self.index.sentence_vectors[ids])

    @property
    def ids(self) -> list[int]:
        """The retrieved passages' sentence ids, in order."""
        return sorted(self._chunk)

    def sentence(self, sid: int) -> Sentence:
        hit = self._sentence.get(sid)
        if hit is None:
            hit = self._sentence[sid] = self.index.sentences[sid]
        return hit

    def chunk(self, sid: int) -> Chunk:
        """The chunk of sentence `sid`."""
        hit = self._chunk.get(sid)
        if hit is None:
            hit = self._chunk[sid] = self.index.chunks[self.sentence(sid).chunk_id]
        return hit

    def text(self, sid: int) -> str:
        hit = self._text.get(sid)
        if hit is None:
            hit = self._text[sid] = self.index.sentence_texts[sid]
        return hit

    def turn_end(self, chunk: Chunk) -> int:
        """The id of the last chunk of `chunk`'s turn, walked once per turn: the asking checks
        and the reply rule ask for the same turns, and each step reads a record."""
        key = (chunk.doc_id, chunk.turn_index)
        hit = self._turn_end.get(key)
        if hit is None:
            hit = self._turn_end[key] = _turn_end(self.index, chunk)
        return hit


@dataclass(frozen=True, slots=True)
class Candidate:
    """A quote and what the coverage checks found (qa.coverage)."""

    quote: Quote
    states: bool  # its turn mentions the question's focal terms and it has the type asked for
    penalty: float  # what the answer-type check took off its score


def select_quotes(
    index: IndexData,
    query: Query,
    hits: list[Hit],
    settings: AnswerSettings,
    *,
    filters: Filters = NO_FILTERS,
) -> tuple[list[Candidate], list[Hit]]:
    """Score every sentence of the retrieved passages; keep the best distinct ones.

    Also returns the passages re-ranked by their best sentence, so passages and quotes agree.
    The floor and reply rules add sentences that were not retrieved: `filters` (those the
    passages were retrieved under) must admit their chunks too.
    """
    passage = {h.chunk.id: h.score for h in hits}
    look = _Lookup(index, hits)
    ids = look.ids
    if not ids:
        return [], hits
    # "Who asked the first question?": the floor is given just before the first questioner's
    # turn, wherever that sits in the document (it need not be among the retrieved passages).
    asks_who = bool(_WHO.match(query.text) or _ROLES.search(query.text))
    # Only when the question asks who: "what was the answer to the first question" wants the
    # answer, not the turn giving the floor.
    order = _ORDER.search(query.text) if settings.floor_bonus and asks_who else None
    floor = _floor(index, hits, order)
    # A reporter's question close to the user's marks where the answer is: the reply to it, which
    # scores just above it (unless the user asks about the asker: then the question is wanted).
    turns: dict[tuple[str, int], bool] = {}  # (doc, turn) → it ends by asking
    answers = (
        _answers(look, ids, settings.handoff_sentences, turns, parts=settings.handoff_parts)
        if settings.handoff_sentences and not asks_who
        else {}
    )
    if filters.active:
        floor = {s for s in floor if filters.admits(look.chunk(s))}
        answers = {
            q: kept
            for q, replies in answers.items()
            if (kept := [a for a in replies if filters.admits(look.chunk(a))])
        }
    if floor or answers:
        ids = sorted({*ids, *floor, *(a for opening in answers.values() for a in opening)})
    w = settings.context_weight
    # Read once: the duplicate check compares quotes by these vectors too.
    cos = (1 - w) * (look.read_vectors(ids) @ query.content_vec) + w * (
        index.context_vectors[ids] @ query.content_vec
    )
    wanted = expected(query.text)
    # …unless the user asks who asked or said something: then the question may be the quote.
    scored: list[tuple[float, int]] = []
    untyped: dict[int, float] = {}  # each sentence's score before the answer-type adjustments
    for c, sid in zip(cos, ids, strict=True):
        chunk = look.chunk(sid)
        text = look.text(sid)
        score = float(c) + settings.passage_weight * passage.get(chunk.id, 0.0)
        untyped[sid] = score
        if wanted is not None:
            if wanted.matches(text):
                score += settings.type_bonus
            elif wanted.strict:
                score -= settings.type_penalty
        if not asks_who and _asks(text):
            score -= settings.question_penalty
        if not asks_who and settings.asking_turn_penalty and _asking_turn(look, sid, turns):
            score -= settings.asking_turn_penalty
        if chunk.speaker is None:
            score -= settings.editorial_penalty
        elif query.named and any(
            w.casefold() in query.named for w in [chunk.speaker, *chunk.speaker.split()]
        ):
            score += settings.speaker_bonus
        scored.append((score, sid))
    if floor:
        # The question's words find the conversation; its order part, the place in it: the floor
        # sentences go just above the best sentence of their document.
        top: dict[str, float] = {}
        for score, sid in scored:
            if sid not in floor:
                doc = _doc(look, sid)
                top[doc] = max(top.get(doc, score), score)
        scored = [
            (max(score, top.get(_doc(look, sid), score) + settings.floor_bonus), sid)
            if sid in floor
            else (score, sid)
            for score, sid in scored
        ]
    if answers:
        lift: dict[int, float] = {}
        for score, sid in scored:
            for a in answers.get(sid, ()):
                lift[a] = max(lift.get(a, -9.0), score + settings.handoff_bonus)
        scored = [(max(score, lift.get(sid, score)), sid) for score, sid in scored]
    scored.sort(reverse=True)
    best: dict[int, float] = {}
    for score, sid in scored:
        best.setdefault(look.chunk(sid).id, score)
    reranked = sorted(
        (Hit(h.chunk, best.get(h.chunk.id, h.score)) for h in hits), key=lambda h: -h.score
    )
    if answers and settings.reply_for_question:
        # A reporter's sentence is stood for by the reply it marked: the reply is quoted, the
        # question is not (it would take a place among the quotes from the answers). Its passage
        # keeps its rank: it shows what was asked.
        asked = {a for a in answers if _QUESTIONER.fullmatch(look.chunk(a).label or "")}
        scored = [(score, sid) for score, sid in scored if sid not in asked]

    by_id = dict((sid, score) for score, sid in scored)
    picked: list[tuple[list[int], float]] = []  # sentence ids of each quote, and its score
    used: set[int] = set()
    for score, sid in scored:
        if sid in used:
            continue
        # Only within a document: the same claim in two interviews may differ (three patients in
        # one, more than ten in a later one), and then both belong in the answer.
        same_doc = [
            i for i, (ids_, _) in enumerate(picked) if _doc(look, ids_[0]) == _doc(look, sid)
        ]
        twin = _near_duplicate(
            look, sid, [picked[i][0][0] for i in same_doc], settings.duplicate_cos
        )
        if twin is not None:
            twin = same_doc[twin]
            # The same fact twice (a summary repeating the interview): cite the speaker's words.
            if _speaker(look, picked[twin][0][0]) is None and _speaker(look, sid) is not None:
                picked[twin] = ([sid], picked[twin][1])
            continue
        span = [sid]
        # An answer that runs into the next (or from the previous) sentence takes it along.
        for nb in (sid + 1, sid - 1):
            close = by_id.get(nb, -9.0) >= score - settings.extend_margin
            if close and nb not in used and _joinable(look, span, nb):
                span = sorted([*span, nb])
        picked.append((span, score))
        used.update(span)
        if len(picked) >= settings.max_quotes:
            break
    _diversify(look, scored, picked, used, settings)
    # By default only for questions asking for a value (a count, an amount, a date, a place):
    # whose value it is matters there, while an open question's answer may not repeat the name.
    # And only for what speakers said: unlabelled text (an article, a summary) has no turn, and
    # its names may sit anywhere in the document.
    checked = (
        settings.focal_check == "all" or (settings.focal_check == "typed" and wanted is not None)
    ) and any(_speaker(look, ids_[0]) is not None for ids_, _ in picked)
    focal = _focal(index, query, hits, settings) if checked else frozenset()
    turns_text: dict[tuple[str, int], set[str]] = {}
    # The closest sentence on topic, whatever its type: a quote of the type asked for that scores
    # far below it holds a value of that type about something else.
    on_topic = max(untyped.values())
    out = []
    for ids_, score in picked:
        typed = (
            wanted is None or not wanted.strict or any(wanted.matches(look.text(i)) for i in ids_)
        )
        if typed and wanted is not None and wanted.strict:
            typed = on_topic - max(untyped[i] for i in ids_) <= settings.type_gap
        penalty = 0.0 if typed else settings.type_penalty
        states = typed and (not focal or mentions(_setting(look, ids_[0], turns_text), focal))
        out.append(Candidate(_quote(look, ids_, score), states, penalty))
    if focal and not any(c.states for c in out):
        out = [replace(c, states=False) for c in out]
    elif focal:
        # The focal check asks that one of the quotes names what was asked, not every one.
        out = [replace(c, states=c.penalty == 0) for c in out]
    if settings.coverage_promote:
        # A quote that states what was asked goes before those that do not (stable otherwise).
        out.sort(key=lambda c: not c.states)
    return out, reranked


def _focal(
    index: IndexData, query: Query, hits: list[Hit], settings: AnswerSettings
) -> frozenset[str]:
    """The question's focal terms that are rare among the retrieved passages.

    A term most passages share (the institution a briefing is held at) is the setting, not what
    is asked about; one that few passages have names the entity or event the question is about.
    """
    terms = focal_terms(query.text, query.named)
    if not terms or not hits:
        return terms
    counts = dict.fromkeys(terms, 0)
    for h in hits:
        # The chunk's own words (the stored BM25 tokens span its whole turn: too wide a setting).
        for t in terms.intersection(_tokens(h.chunk.text)):
            counts[t] += 1
    return frozenset(t for t, n in counts.items() if n < settings.focal_df * len(hits))


def passage_support(index: IndexData, question: str, hits: list[Hit]) -> float:
    """How much of the question the retrieved passages' words cover (`qa.coverage.support`).

    A passage's words include its speaker's label and its document's title: "what did Hisham
    say at the workshop" names who speaks and where, which the spoken words need not repeat."""
    # A term is held when either part holds it: the text's tokens are the focal check's (cached).
    tokens = [_tokens(h.chunk.text) for h in hits]
    tokens += [_tokens(" ".join(_about(h.chunk))) for h in hits]
    return support(question, tokens, index.sparse.document_frequency, len(index.chunks))


def _about(chunk: Chunk) -> list[str]:
    return [chunk.speaker or "", chunk.label or "", chunk.title or ""]


@lru_cache(maxsize=8192)
def _tokens(text: str) -> frozenset[str]:
    """A chunk's BM25 tokens; the same passages come back for many questions."""
    return frozenset(tokenize(text))


def _setting(look: _Lookup, sid: int, memo: dict[tuple[str, int], set[str]]) -> set[str]:
    """The tokens of what a quote is said in: its whole speaker turn, the question it answers,
    and its document's title and editorial text (a heading names the event or the outlet)."""
    index = look.index
    chunk = look.chunk(sid)
    key = (chunk.doc_id, chunk.turn_index)
    if key not in memo:
        # The turn's chunks are one run of ids (a document's chunks are made turn by turn), and
        # the unlabelled ones come from the facets: the rest of the document is not decoded.
        # Tokens of parts joined by spaces are the tokens of each part, in any order.
        turn = range(_turn_start(index, chunk), _turn_end(index, chunk) + 1)
        ids = sorted({*turn, *index.unlabelled_chunks(chunk.id)})
        parts = [chunk.title or "", chunk.question or ""]
        parts += [index.chunks[c].text for c in ids]
        memo[key] = set(tokenize(" ".join(parts)))
    return memo[key]


def _turn_start(index: IndexData, chunk: Chunk) -> int:
    """The id of the first chunk of `chunk`'s turn."""
    first = chunk.id
    while first > 0:
        prev = index.chunks[first - 1]
        if prev.doc_id != chunk.doc_id or prev.turn_index != chunk.turn_index:
            break
        first -= 1
    return first


def _turn_end(index: IndexData, chunk: Chunk) -> int:
    """The id of the last chunk of `chunk`'s turn: stepping chunk by chunk reads a few records,
    not every sentence of a long turn."""
    last = chunk.id
    while last + 1 < len(index.chunks):
        nxt = index.chunks[last + 1]
        if nxt.doc_id != chunk.doc_id or nxt.turn_index != chunk.turn_index:
            break
        last += 1
    return last


# A question about the order of the conversation: who asked first, or last.
_ORDER = re.compile(
    r"\b(?:(?P<first>first|opening)|(?:last|final|closing)) (?:question|questioner)s?\b"
    r"|\bwho asked (?:(?P<first2>first)|last)\b",
    re.I,
)
# A turn labelled as the asker's: "Q", "Interviewer", "Reporter".
_QUESTIONER = re.compile(
    r"(?:q|question|interviewer|reporter|journalist|questioner|audience(?: member)?)\W*", re.I
)
FLOOR_DOCS = 5  # documents of the top passages looked through for the floor-giving turn


def _answers(
    look: _Lookup, ids: list[int], n: int, asking: dict[tuple[str, int], bool], *, parts: bool
) -> dict[int, list[int]]:
    """Each sentence of a questioner's turn (labelled as the asker's, ending by asking, or itself
    asking) → the first `n` sentences of the answer: the next turn, when another speaker, not a
    questioner, says it and it is more than an interjection ("Go ahead."), courtesies left out.

    With `parts`, a question in two parts ("And then I have a second question." / "Go ahead with
    your second one." / the second part) is answered by the turn after its second part."""
    index = look.index
    memo: dict[tuple[str, int], list[int]] = {}
    out: dict[int, list[int]] = {}
    for sid in ids:
        chunk = look.chunk(sid)
        if chunk.speaker is None:
            continue
        if not (
            _QUESTIONER.fullmatch(chunk.label or "")
            or _asks(look.text(sid))
            or _asking_turn(look, sid, asking)
        ):
            continue
        key = (chunk.doc_id, chunk.turn_index)
        if key not in memo:
            memo[key] = []
            nxt = look.turn_end(chunk) + 1
            if parts:
                nxt = _after_parts(look, chunk, nxt)
            if nxt < len(index.chunks):
                c = index.chunks[nxt]
                last = look.turn_end(c)
                if (
                    c.doc_id == chunk.doc_id
                    and c.speaker is not None
                    and c.speaker != chunk.speaker
                    and not _QUESTIONER.fullmatch(c.label or "")
                    and (last > c.id or c.end - c.start >= MIN_ANSWER_CHARS)
                ):
                    # From the whole turn: its first chunk may hold only courtesies ("Thanks for
                    # those.  I appreciate it."); read chunk by chunk until `n` are found.
                    opening: list[int] = []
                    for k in range(c.id, last + 1):
                        opening += (
                            i
                            for i in index.chunk_sentences.get(k, ())
                            if not _COURTESY.fullmatch(index.sentence_texts[i].strip())
                        )
                        if len(opening) >= n:
                            break
                    memo[key] = opening[:n]
        if memo[key]:
            out[sid] = memo[key]
    return out


def _after_parts(look: _Lookup, chunk: Chunk, nxt: int) -> int:
    """Where the reply to the questioner's turn ending before `nxt` starts, when an interjection
    and the same questioner's next turn (the question's second part) come between: after that."""
    index = look.index
    if nxt >= len(index.chunks):
        return nxt
    c = index.chunks[nxt]
    after = nxt + 1
    if (
        after < len(index.chunks)
        and c.doc_id == chunk.doc_id
        and c.speaker is not None
        and c.speaker != chunk.speaker
        and c.end - c.start < MIN_ANSWER_CHARS  # short…
        and look.turn_end(c) == c.id  # …and one chunk: an interjection
        and index.chunks[after].doc_id == chunk.doc_id
        and index.chunks[after].speaker == chunk.speaker
    ):
        return look.turn_end(index.chunks[after]) + 1
    return nxt


MIN_ANSWER_CHARS = 80  # a shorter turn between a questioner's is an interjection
# What opens a reply without answering: thanks, an apology, a go-ahead.
_COURTESY = re.compile(
    r"(?:(?:oh|yeah|yes|well|okay|ok|sure|so|and|great),? )*(?:thanks?(?: you)?|sorry|sure|"
    r"go ahead|absolutely|good (?:morning|afternoon|evening)|hi|hello|(?:a )?great question|"
    r"okay|ok|yeah|all right|alright|(?:i )?appreciate (?:it|that|those|this|the questions?))\b"
    r"[^.!?]{0,40}[.!?]*",
    re.I,
)


def _floor(index: IndexData, hits: list[Hit], order: re.Match[str] | None) -> set[int]:
    """For a question asking who asked first (or last): the closing sentences of the turn that
    gives the floor to the document's first (last) questioner, or that questioner's opening one
    when no turn comes before."""
    if order is None:
        return set()
    first = bool(order.group("first") or order.group("first2"))
    near: dict[str, int] = {}  # each document of the top passages → one of its chunks
    for h in hits:
        near.setdefault(h.chunk.doc_id, h.chunk.id)
    out: set[int] = set()
    for doc in list(near)[:FLOOR_DOCS]:
        turns: list[list[Chunk]] = []
        for c in index.chunks_of(doc, near=near[doc]):
            if c.speaker is None:
                continue
            if turns and turns[-1][0].turn_index == c.turn_index:
                turns[-1].append(c)
            else:
                turns.append([c])
        asking = [i for i, t in enumerate(turns) if _QUESTIONER.fullmatch(t[0].label or "")]
        if not asking:
            continue
        at = asking[0] if first else asking[-1]
        if at > 0 and not _QUESTIONER.fullmatch(turns[at - 1][0].label or ""):
            sids = [s for c in turns[at - 1] for s in index.chunk_sentences.get(c.id, ())][-2:]
        else:
            sids = [s for c in turns[at] for s in index.chunk_sentences.get(c.id, ())][:1]
        out.update(sids)
    return out


_WHO = re.compile(r"\s*(?:who|whom|which (?:person|reporter|speaker|guest|host))\b", re.I)
# Questions about the questioner: their turns are what is wanted ("When asked about…" is not one).
_ROLES = re.compile(
    r"\b(?:interviewer|reporter|journalist|moderator|questioner)s?\b|\bthe (?:host|anchor)\b"
    r"|\bwho (?:asked|questioned)\b|\bthe question\b|(?<!^when )\basked\b"
    # Which outlet someone works for, reports or calls from: a reporter introduces themself.
    r"|\b(?:which|what) (?:news )?(?:network|outlet|paper|newspaper|publication|station|channel|"
    r"magazine|news organi[sz]ation|wire service)\b",
    re.I,
)
_CLOSERS = "\"'”’)]» \n"


def _asks(sentence: str) -> bool:
    return sentence.rstrip(_CLOSERS).endswith("?")


def _asking_turn(look: _Lookup, sid: int, memo: dict[tuple[str, int], bool]) -> bool:
    """The sentence's speaker turn ends with a question: a reporter's or host's set-up."""
    index = look.index
    chunk = look.chunk(sid)
    cid = chunk.id
    if chunk.speaker is None:
        return False
    key = (chunk.doc_id, chunk.turn_index)
    if key not in memo:
        # The turn's last sentence is its last chunk's last one (ids run in document order).
        last_chunk = look.turn_end(chunk)
        last = sid
        for c in range(last_chunk, cid - 1, -1):  # a chunk may hold no sentence
            if ids := index.chunk_sentences.get(c):
                last = max(last, *ids)
                break
        memo[key] = _asks(look.text(last))
    return memo[key]


def _diversify(
    look: _Lookup,
    scored: list[tuple[float, int]],
    picked: list[tuple[list[int], float]],
    used: set[int],
    settings: AnswerSettings,
) -> None:
    """When every quote comes from one document but another says something close, show it too.

    Two interviews may disagree (three patients in January, more than ten in November); a reader
    must see both, each with its own citation.
    """
    if len(picked) < 2 or len({_doc(look, ids_[0]) for ids_, _ in picked}) > 1:
        return
    doc = _doc(look, picked[0][0][0])
    top = picked[0][1]
    for score, sid in scored:
        if score < top - settings.other_doc_margin:
            return
        # Only what someone said: a summary or heading from elsewhere is no second source.
        if sid not in used and _doc(look, sid) != doc and _speaker(look, sid) is not None:
            # One more quote rather than a replaced one: the best three stay as they were.
            picked.append(([sid], score))
            return


def _doc(look: _Lookup, sid: int) -> str:
    return look.chunk(sid).doc_id


def _speaker(look: _Lookup, sid: int) -> str | None:
    return look.chunk(sid).speaker


def _near_duplicate(look: _Lookup, sid: int, others: list[int], threshold: float) -> int | None:
    if not others:
        return None
    sims = look.vectors(others) @ look.vectors([sid])[0]
    i = int(sims.argmax())
    return i if sims[i] >= threshold else None


def _joinable(look: _Lookup, span: list[int], nb: int) -> bool:
    """`nb` is in the same chunk as the span, so one exact slice of the chunk covers them all."""
    if not 0 <= nb < len(look.index.sentences):
        return False
    chunk = look.chunk(span[0])
    first = look.sentence(min(*span, nb))
    last = look.sentence(max(*span, nb))
    return (
        look.chunk(nb).turn_index == chunk.turn_index
        and look.chunk(nb).doc_id == chunk.doc_id
        and chunk.start <= first.start
        and last.end <= chunk.end
    )


def _quote(look: _Lookup, ids: list[int], score: float) -> Quote:
    first, last = look.sentence(ids[0]), look.sentence(ids[-1])
    chunk = look.chunk(ids[0])
    segments, times = first.segments, first.times
    if len(ids) == 1:
        text = look.text(ids[0])
    else:
        chunk = next(
            c for c in (look.chunk(i) for i in ids) if c.start <= first.start and last.end <= c.end
        )
        text = joined_slice(chunk.text, chunk.segments, first.start, last.end)
        segments, times = clip(chunk.segments, chunk.times, first.start, last.end)
    return Quote(
        text=text,
        doc_id=chunk.doc_id,
        speaker=chunk.speaker,
        start=first.start,
        end=last.end,
        line_start=first.line_start,
        line_end=last.line_end,
        score=score,
        label=chunk.label or chunk.speaker,
        segments=segments,
        time_start=times[0][0] if times else None,
        time_end=times[-1][1] if times else None,
        title=chunk.title,
        date=chunk.date,
        page=first.page,
        page_line_start=first.page_line_start,
        page_line_end=last.page_line_end,
    )


def render(quotes: list[Quote]) -> str:
    """`Musk: “…” [doc.txt, lines 40–41]`, one line per quote."""
    return "\n".join(
        f"{q.label + ': ' if q.speaker and q.label else ''}“{q.text}” [{cite(q)}]" for q in quotes
    )


def compose(
    question: str,
    candidates: list[Candidate],
    hits: list[Hit],
    settings: AnswerSettings,
    *,
    support: float = 1.0,
) -> Answer:
    """The answer: `answered` by the quotes, `related` to them, or `not_found` (qa.coverage).

    `support` is `passage_support` of the retrieved passages (1.0: not measured)."""
    passages = tuple(Passage.of(h) for h in hits)
    if not candidates:
        return Answer(question, answerable=False, answer=NO_ANSWER, passages=passages)
    first = candidates[0]
    quotes = tuple(c.quote for c in candidates)
    second = quotes[1].score if len(quotes) > 1 else first.quote.score - settings.lone_margin
    failed = not first.states if settings.coverage_checks else False
    sure = confidence(settings.calibration, first.quote.score, second, failed=failed)
    # On topic is judged before the answer-type penalty: a question asking for a count that no
    # quote gives is related to them, not off topic.
    # A question whose words the passages barely hold is about something the transcripts do
    # not discuss, however close in meaning the nearest sentences are.
    off_topic = settings.coverage_checks and support < settings.off_topic_support
    if off_topic or first.quote.score + (first.penalty if settings.coverage_checks else 0) < (
        settings.abstain_threshold
    ):
        return Answer(
            question,
            answerable=False,
            answer=NO_ANSWER,
            passages=passages,
            confidence=min(sure, settings.abstain_confidence),
        )
    if failed:
        return Answer(
            question,
            answerable=False,
            answer=RELATED_ANSWER,
            passages=passages,
            coverage="related",
            confidence=sure,
            related=quotes,
        )
    return Answer(
        question,
        answerable=True,
        answer=render(list(quotes)),
        quotes=quotes,
        passages=passages,
        coverage="answered",
        confidence=sure,
    )
