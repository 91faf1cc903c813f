"""GET, POST and DELETE /documents: the transcripts in the source folder and the index."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from qa.api.deps import ReadKey, ServiceDep, WriteKey
from qa.api.schemas import WRITE_ERRORS, DocumentText, ErrorBody
from qa.errors import BadUpload, PayloadTooLarge
from qa.models import DocumentInfo, DocumentWritten, UpdateReport

router = APIRouter(tags=["documents"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/json": {"schema": DocumentText.model_json_schema()},
        },
    }
}
# Multipart framing and JSON escaping around a document of the maximum size.
BODY_SLACK = 64 * 1024


@router.get("/documents", response_model=list[DocumentInfo])
def documents(service: ServiceDep, _: ReadKey) -> list[DocumentInfo]:
    """The indexed documents with their content hashes and chunk counts."""
    return service.documents()


@router.get(
    "/documents/{doc_id:path}/text",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, 404: {"model": ErrorBody}},
)
def document_text(doc_id: str, service: ServiceDep, _: ReadKey) -> PlainTextResponse:
    """The document's canonical text, which every quote's offsets refer to.

    For text formats, the file as UTF-8; for .docx, .pdf and .html, the text extracted when it was
    indexed: `" ".join(text[s:e] for s, e in quote.segments) == quote.text`.
    """
    return PlainTextResponse(service.document_text(doc_id))


@router.post(
    "/documents",
    response_model=DocumentWritten,
    status_code=201,
    responses={200: {"model": DocumentWritten, "description": "replaced"}, **WRITE_ERRORS},
    openapi_extra=UPLOAD_BODY,
)
async def add_document(
    request: Request, response: Response, service: ServiceDep, _: WriteKey
) -> DocumentWritten:
    """Store a transcript (multipart `file`, or JSON `{name, text}`) and index it.

    201 when the document is new, 200 when it replaced one of the same name. A refused
    upload (name, size, encoding, no transcript text) writes nothing.
    """
    limit = service.settings.max_upload_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit():  # refused before the body is read
        _check_size(max(0, int(length) - BODY_SLACK), limit)
    name, data = await _read_upload(request, limit)
    doc_id, report = await run_in_threadpool(service.add_document, name, data)
    if doc_id not in report.doc_ids.added:
        response.status_code = 200
    return DocumentWritten(doc_id=doc_id, update=report)


@router.delete("/documents/{doc_id:path}", response_model=UpdateReport, responses=WRITE_ERRORS)
def delete_document(doc_id: str, service: ServiceDep, _: WriteKey) -> UpdateReport:
    """Delete a transcript from the source folder and the index."""
    return service.delete_document(doc_id)


def _check_size(size: int, limit: int) -> None:
    # The service checks the stored bytes again; this refuses a large body before reading it.
    if size > limit:
        raise PayloadTooLarge(f"a document may be at most {limit} bytes ({size} sent)")


async def _read_upload(request: Request, limit: int) -> tuple[str, bytes]:
    """(file name, bytes) from a multipart `file` part or a JSON `{name, text}` body."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10) as form:
            part = form.get("file")
            if not isinstance(part, UploadFile):
                raise BadUpload("multipart upload needs a `file` part")
            data = await part.read(limit + 1)
            _check_size(len(data), limit)
            return part.filename or "", data
    if ctype.startswith("application/json"):
        body = await request.body()
        _check_size(max(0, len(body) - BODY_SLACK), limit)
        try:
            doc = DocumentText.model_validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            ) from exc
        try:
            return doc.name, doc.text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate from a JSON \ud800 escape
            raise BadUpload(
                f"{doc.name}: text is not valid Unicode (character {exc.start}: {exc.reason})"
            ) from exc
    raise BadUpload("send the transcript as multipart/form-data (`file`) or JSON {name, text}")
