"""BM25 over chunks (bm25s): catches names, numbers and rare words that embeddings blur."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from qa.errors import StorageError

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


def tokenize(text: str) -> list[str]:
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    words = [w.removesuffix("'s") for w in words if w not in _STOP]
    return list(_stemmer().stemWords(words))


class SparseIndex:
    def __init__(self, model: bm25s.BM25, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> SparseIndex:
        model = bm25s.BM25()
        # bm25s cannot index an empty corpus or an empty document; a placeholder token keeps ids aligned.
        model.index([tokenize(t) or ["\x00"] for t in texts] or [["\x00"]], show_progress=False)
        return cls(model, len(texts))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (0 where no query term occurs)."""
        tokens = [t for t in tokenize(query) if t in self._model.vocab_dict]
        if not tokens or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)[: self.size]

    def save(self, path: Path) -> None:
        try:
            self._model.save(str(path))
        except OSError as exc:
            raise StorageError(f"cannot write BM25 index {path}: {exc}") from exc

    @classmethod
    def load(cls, path: Path, size: int) -> SparseIndex:
        try:
            return cls(bm25s.BM25.load(str(path)), size)
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot read BM25 index {path}: {exc}") from exc
