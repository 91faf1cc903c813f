"""BM25 over chunks (bm25s): catches names, numbers and rare words that embeddings blur."""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import Stemmer

from qa.errors import StorageError

if TYPE_CHECKING:
    import bm25s

_WORD = re.compile(r"\w+(?:[-'’.]\w+)*")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


# Each word as written → its token ("" for a stop word): text repeats its words, and the
# per-word lowering, stop check and stemming are most of tokenising a passage.
_TOKEN: dict[str, str] = {}
_TOKEN_MAX = 200_000  # ~30 MB when full


def tokenize(text: str) -> list[str]:
    out: list[str] = []
    memo = _TOKEN
    for w in _WORD.findall(text):
        t = memo.get(w)
        if t is None:
            if len(memo) >= _TOKEN_MAX:
                memo.clear()
            low = w.lower().replace("’", "'")
            t = memo[w] = "" if low in _STOP else _stemmer().stemWord(low.removesuffix("'s"))
        if t:
            out.append(t)
    return out


def tokenize_spans(text: str) -> tuple[list[str], list[int]]:
    """`tokenize(text)` and where each token's word starts in `text`."""
    words: list[str] = []
    starts: list[int] = []
    for m in _WORD.finditer(text):
        w = m.group().lower().replace("’", "'")
        if w not in _STOP:
            words.append(w.removesuffix("'s"))
            starts.append(m.start())
    return list(_stemmer().stemWords(words)), starts


# bm25s's defaults, which SparseIndex uses: Lucene's BM25 (idf log(1 + (N - df + .5)/(df + .5)),
# tf / (tf + k1·(1 - b + b·len/avglen))).
K1, B = 1.5, 0.75


# A group's rows fall into runs whose global ids are its rows plus one offset (its segments in
# version order; a document another group holds, or a hole, ends a run). Up to this many runs a
# term's postings are cut at the runs' starts and added into slices of the output; past it (a
# group scattered through the version) each posting's id is looked up.
RUNS_MAX = 256
_HOLE = np.iinfo(np.int64).min  # the offset of a run of holes: no global id


class Postings:
    """One group's postings (qa.store.groups): per term, the rows holding it and how often.
    Within a term, rows ascend (groups.build and groups.merge write them so)."""

    def __init__(
        self,
        vocab: dict[str, int],
        ptr: np.ndarray,
        rows: np.ndarray,
        tf: np.ndarray,
        doclen: np.ndarray,
        to_global: np.ndarray,
        keep: np.ndarray | None = None,
    ) -> None:
        """`keep`: per row, whether it is in the version (None: all are). The others (a removed
        document's, qa.store.groups) count nowhere: not in the length, any df, or a score."""
        self.vocab, self.ptr, self.rows, self.tf = vocab, ptr, rows, tf
        self.doclen, self.to_global, self.keep = doclen, to_global, keep
        lengths = np.asarray(doclen, dtype=np.int64)
        self.length = int((lengths if keep is None else lengths[keep]).sum())
        n = len(to_global)
        delta = np.asarray(to_global, dtype=np.int64) - np.arange(n, dtype=np.int64)
        if keep is not None:
            delta[~keep] = _HOLE
        cuts = np.flatnonzero(delta[1:] != delta[:-1]) + 1
        # (first row, offset or None for holes) per run; None: too many runs to cut postings by.
        self.runs: list[tuple[int, int | None]] | None = None
        if len(cuts) < RUNS_MAX:
            starts = [0, *cuts.tolist()] if n else []
            self.runs = [(r, None if delta[r] == _HOLE else int(delta[r])) for r in starts]
        self._cut_at = np.asarray([r for r, _ in (self.runs or [])[1:]], dtype=np.int64)
        # One run: the usual group (its segments in version order), scores added by row.
        one = self.runs is not None and len(self.runs) == 1 and self.runs[0][1] is not None
        self.offset: int | None = self.runs[0][1] if one and self.runs else None

    def slices(self, t: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]] | None]:
        """Term `t`'s rows and counts, and the pieces of them in the version: (start, end,
        offset to add to a row for its global id); None: the rows are those in the version
        (filtered) and map through `to_global`."""
        a, b = int(self.ptr[t]), int(self.ptr[t + 1])
        rows, tfs = self.rows[a:b], self.tf[a:b]
        if self.runs is not None and (
            len(self.runs) == 1 or not len(rows) or bool(np.all(rows[1:] >= rows[:-1]))
        ):
            at = [0, *np.searchsorted(rows, self._cut_at).tolist(), len(rows)]
            pieces = [
                (lo, hi, off)
                for (_, off), lo, hi in zip(self.runs, at[:-1], at[1:], strict=True)
                if off is not None and hi > lo
            ]
            return rows, tfs, pieces
        if self.keep is not None:
            mask = self.keep[rows]
            rows, tfs = rows[mask], tfs[mask]
        return rows, tfs, None


# Postings whose float32 scores a version keeps, per term, most recently used first (4 bytes
# each: 128 MB at most per version). Questions share their common words ("think", "people",
# "said"), and those words' postings are most of the work: at 10,000 interviews one covers up
# to 70% of the chunks, and 88% of the postings the dev questions reach belong to a word an
# earlier question had. A quarter of this held only ~90 terms there and thrashed
# (docs/benchmarks-archive.md).
TERM_CACHE = 32_000_000
# One group's share of a term: its rows holding the term, each one's score, and the pieces of
# them in the version (Postings.slices).
_Scored = tuple["Postings", np.ndarray, np.ndarray, list[tuple[int, int, int]] | None]


def _df(rows: np.ndarray, pieces: list[tuple[int, int, int]] | None) -> int:
    return len(rows) if pieces is None else sum(hi - lo for lo, hi, _ in pieces)


class GroupedBM25:
    """BM25 over several groups' postings, scored as one index: document frequencies, the number
    of chunks and the average length are summed over the groups at query time, so each group is
    written once and a new document adds one small group. Scores equal `SparseIndex`'s (bm25s,
    same tokens; tests/test_sparse.py), computed the way bm25s does (float32 per term, summed)."""

    def __init__(self, groups: Sequence[Postings], size: int) -> None:
        self._groups = list(groups)
        self.size = size
        total = sum(g.length for g in self._groups)
        # bm25s indexes an empty corpus as one placeholder document.
        self._n = size or 1
        self._avg = np.float64(total / size) if size else np.float64(1.0)
        # Per row, the length part of the denominator, k1·(1 - b + b·len/avglen): fixed for the
        # version, so a query gathers it instead of computing it for every posting (float64,
        # the precision the formula is evaluated in, so scores stay bit for bit the same).
        self._norm = [K1 * ((1 - B) + B * np.asarray(g.doclen) / self._avg) for g in self._groups]
        # A term's scores depend on the version only (its df, the average length): kept.
        self._terms: OrderedDict[str, list[_Scored]] = OrderedDict()
        self._kept = 0  # postings in `_terms`
        self._lock = threading.Lock()

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        if not self.size:
            return out
        for term in tokenize(query):
            for g, rows, part, pieces in self._term(term):
                if pieces is None:
                    np.add.at(out, g.to_global[rows], part)
                    continue
                for lo, hi, off in pieces:
                    # ufunc.at: numpy's fast path for unbuffered adds (rows are distinct), 2x
                    # faster than `view[rows] += …`, and the same float32 additions.
                    if off >= 0:
                        np.add.at(out[off:], rows[lo:hi], part[lo:hi])
                    else:
                        np.add.at(out, rows[lo:hi] + off, part[lo:hi])
        return out

    def document_frequency(self, term: str) -> int:
        """How many chunks hold `term` (a token)."""
        df = 0
        for g in self._groups:
            t = g.vocab.get(term)
            if t is not None:
                if g.keep is None:
                    df += int(g.ptr[t + 1] - g.ptr[t])
                else:
                    rows, _, pieces = g.slices(t)
                    df += _df(rows, pieces)
        return df

    def _term(self, term: str) -> list[_Scored]:
        """Each group's postings of `term` and their scores, from the cache when kept."""
        with self._lock:
            hit = self._terms.get(term)
            if hit is not None:
                self._terms.move_to_end(term)
                return hit
        slices = []
        df = 0
        for g, norm in zip(self._groups, self._norm, strict=True):
            t = g.vocab.get(term)
            if t is not None:
                # A group with holes: their postings are scored but in no piece, in no df.
                rows, tfs, pieces = g.slices(t)
                if n := _df(rows, pieces):
                    slices.append((g, norm, rows, tfs, pieces))
                    df += n
        if not df:
            return []
        idf = np.float32(np.log(1 + (self._n - df + 0.5) / (df + 0.5)))
        scored: list[_Scored] = []
        for g, norm, rows, tfs, pieces in slices:
            # A few passes over the postings in place: tf / (norm + tf) · idf in float64, as
            # the formula was always evaluated, then float32.
            tf = np.asarray(tfs, dtype=np.float64)
            part = norm.take(rows)
            part += tf
            np.divide(tf, part, out=part)
            part *= idf
            scored.append((g, rows, part.astype(np.float32), pieces))
        if df <= TERM_CACHE:
            with self._lock:
                if term not in self._terms:
                    self._terms[term] = scored
                    self._kept += df
                while self._kept > TERM_CACHE:
                    _, old = self._terms.popitem(last=False)
                    self._kept -= sum(_df(rows, pieces) for _, rows, _, pieces in old)
        return scored


TOKENS_FILE = "qa_tokens.json"  # beside bm25s's own files: the next version reuses them


class SparseIndex:
    def __init__(self, model: bm25s.BM25, size: int, tokens: list[list[str]] | None = None) -> None:
        self._model = model
        self.size = size
        self.tokens = tokens  # per chunk; None for an index saved without them

    @classmethod
    def build(cls, texts: Sequence[str]) -> SparseIndex:
        return cls.from_tokens([tokenize(t) for t in texts])

    @classmethod
    def from_tokens(cls, tokens: Sequence[list[str]]) -> SparseIndex:
        import bm25s  # only the PostgreSQL backend indexes with bm25s: it costs 0.2 s to import

        model = bm25s.BM25()
        # bm25s cannot index an empty corpus or an empty document; a placeholder token keeps ids aligned.
        model.index([t or ["\x00"] for t in tokens] or [["\x00"]], show_progress=False)
        return cls(model, len(tokens), list(tokens))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (0 where no query term occurs)."""
        tokens = [t for t in tokenize(query) if t in self._model.vocab_dict]
        if not tokens or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)[: self.size]

    def document_frequency(self, term: str) -> int:
        """How many chunks hold `term` (a token): bm25s keeps one column of scores per term."""
        t = self._model.vocab_dict.get(term)
        if t is None:
            return 0
        ptr = self._model.scores["indptr"]
        return int(ptr[t + 1]) - int(ptr[t])

    def save(self, path: Path) -> None:
        try:
            self._model.save(str(path))
            if self.tokens is not None:
                (path / TOKENS_FILE).write_text(json.dumps(self.tokens), encoding="utf-8")
        except OSError as exc:
            raise StorageError(f"cannot write BM25 index {path}: {exc}") from exc

    @classmethod
    def load(cls, path: Path, size: int) -> SparseIndex:
        try:
            tokens_file = path / TOKENS_FILE
            tokens = (
                json.loads(tokens_file.read_text(encoding="utf-8"))
                if tokens_file.is_file()
                else None
            )
            import bm25s

            return cls(bm25s.BM25.load(str(path)), size, tokens)
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot read BM25 index {path}: {exc}") from exc
