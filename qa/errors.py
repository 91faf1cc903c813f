"""The one exception tree: each error knows its HTTP status and CLI exit code."""

from __future__ import annotations


class QAError(Exception):
    """Base of every error qa raises on purpose."""

    status_code = 500
    exit_code = 1
    code = "qa_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(QAError):
    status_code = 422
    exit_code = 2
    code = "invalid_input"


class ConfigError(QAError):
    """A `QA_*` setting has a value qa cannot use; the message names the variable."""

    status_code = 500
    exit_code = 2
    code = "config_error"


class NotFound(QAError):
    status_code = 404
    exit_code = 3
    code = "not_found"


class IndexMissing(QAError):
    """No index has been built yet where we looked."""

    status_code = 503
    exit_code = 4
    code = "index_missing"


class IndexIncompatible(QAError):
    """The index on disk was built with another model, dimension or format."""

    status_code = 503
    exit_code = 5
    code = "index_incompatible"


class IngestError(QAError):
    """A transcript could not be read or parsed."""

    status_code = 400
    exit_code = 6
    code = "ingest_error"


class ModelUnavailable(QAError):
    status_code = 503
    exit_code = 7
    code = "model_unavailable"


class StorageError(QAError):
    """Reading or writing the index failed (disk, permissions, corrupt files)."""

    status_code = 500
    exit_code = 8
    code = "storage_error"


class BadUpload(QAError):
    """An uploaded document was refused before anything was written (name, encoding, content)."""

    status_code = 400
    exit_code = 2
    code = "bad_upload"


class PayloadTooLarge(QAError):
    status_code = 413
    exit_code = 2
    code = "payload_too_large"


class UnsupportedType(BadUpload):
    """The file's extension is not a transcript format qa reads."""

    status_code = 415
    code = "unsupported_media_type"


class Forbidden(QAError):
    """Write endpoints are closed: no `QA_API_KEY` is configured."""

    status_code = 403
    exit_code = 9
    code = "forbidden"


class Unauthorized(QAError):
    """A write endpoint was called without the API key (`QA_API_KEY`)."""

    status_code = 401
    exit_code = 9
    code = "unauthorized"


class IndexBusy(QAError):
    """Another process holds the index lock for longer than we were willing to wait."""

    status_code = 409
    exit_code = 10
    code = "index_busy"


class SourceChanged(QAError):
    """A transcript's file changed since it was indexed: offsets into it would point elsewhere."""

    status_code = 409
    exit_code = 11
    code = "source_changed"
