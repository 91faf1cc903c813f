"""A version's manifest: what it was built with and, per document, its hash, counts and segment.

Read and written as compact JSON (`versions/<name>/manifest.json`); validated when read, so a
damaged or foreign manifest is one clear StorageError, not a KeyError deep in a load.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from qa.errors import IndexIncompatible, StorageError

# 6: segments written since compress their header (a version may still name older ones);
# 5: segments store float16 vectors, and no context vectors when those are derived
# (qa.store.segment); 4: segments may hold page fields and a .docx/.pdf's canonical text;
# 3: per-document segments shared between versions. 3 to 5 are read as well (their segments are
# float32, their contexts embedded); 2 (a copy each) is refused with a rebuild message.
FORMAT_VERSION = 6
READABLE_FORMATS = frozenset({3, 4, 5, 6})


class DocEntry(BaseModel):
    """One document of a version."""

    model_config = ConfigDict(frozen=True)

    sha256: str  # of the text every offset refers to
    segment: str  # the segment file (named by the hash of its bytes) holding its records
    chunks: int
    sentences: int
    questions: int
    texts: int = 0  # texts embedded for it (chunks, questions, sentences, contexts)
    size: int = 0  # bytes of its stored records (0: not recorded): a truncated file is lost
    # Of its `NAME.meta.json` sidecar (title, date, speaker names), None without one: editing
    # the sidecar changes the document as surely as editing its text.
    meta_sha256: str | None = None


class SkippedEntry(BaseModel):
    """A file an update could not index; kept so an unchanged bad file is not read again."""

    model_config = ConfigDict(frozen=True)

    sha256: str | None = None  # None: it could not even be hashed, or is of an unsupported type
    reason: str


class Counts(BaseModel):
    model_config = ConfigDict(frozen=True)

    chunks: int = 0
    sentences: int = 0
    questions: int = 0


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: int = FORMAT_VERSION
    model: str
    embedder: str = "torch"  # which runtime embedded it; any runtime of the model can read it
    dim: int
    chunking: dict[str, object]
    documents: dict[str, DocEntry]
    counts: Counts = Counts()
    # Per store (`chunks`, `questions`): how the vector backend indexes it (qa.store.ann). The
    # plan is the backend's own business; the rest of qa never reads inside it.
    ann: dict[str, dict[str, Any]] = {}
    skipped: dict[str, SkippedEntry] = {}  # files in the source folder that are not indexed
    created: str = ""
    version: str = ""

    @classmethod
    def of(
        cls,
        *,
        model: str,
        embedder: str,
        dim: int,
        chunking: dict[str, object],
        documents: dict[str, DocEntry],
        ann: dict[str, dict[str, Any]],
        created: str,
    ) -> Manifest:
        docs = {d: documents[d] for d in sorted(documents)}
        counts = Counts(
            chunks=sum(e.chunks for e in docs.values()),
            sentences=sum(e.sentences for e in docs.values()),
            questions=sum(e.questions for e in docs.values()),
        )
        return cls(
            model=model,
            embedder=embedder,
            dim=dim,
            chunking=chunking,
            documents=docs,
            counts=counts,
            ann=ann,
            created=created,
        )

    def to_json(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | str, where: str) -> Manifest:
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first.get("loc", ()))
            raise StorageError(
                f"manifest in {where} is damaged ({loc}: {first.get('msg')}): "
                "rebuild with `qa index build`"
            ) from exc

    @property
    def texts(self) -> int:
        return sum(e.texts for e in self.documents.values())

    def check_model(self, model: str, dim: int) -> None:
        """Refuse an index built with another model or dimension."""
        if self.model != model or self.dim != dim:
            raise IndexIncompatible(
                f"index was built with model {self.model!r} (dim {self.dim}), but this service "
                f"uses {model!r} (dim {dim}): rebuild it with `qa index build`"
            )
