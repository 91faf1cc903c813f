"""The web page's routes: server-rendered HTML over the service's public methods.

Every page works without JavaScript (`static/app.js` only adds copying, keys, upload and the
player). Pages carry their own Content-Security-Policy (`default-src 'self'`, no inline script);
Jinja autoescaping makes everything from a transcript text, never markup.
"""

from __future__ import annotations

import datetime as dt
import hmac
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from qa.errors import InvalidInput, NotFound, QAError, Unauthorized
from qa.models import Answer, Filters, Transcript, check_date_order, iso_date
from qa.service import QAService
from qa.web import views
from qa.web.views import PageFilters

# One policy for every page: only this origin, no inline script or style, no framing.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
STATIC = files("qa.web") / "static"
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
DEFAULT_K = 5
MAX_K = 20
PARSED_CACHE = 16
MEDIA_CHUNK = 256 * 1024
MAX_SKIPPED_SHOWN = 200

_env = Environment(
    loader=PackageLoader("qa.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["path"] = lambda s: quote(str(s))
_env.filters["clock"] = views.clock


def ask(service: QAService, question: str, filters: PageFilters, k: int) -> Answer:
    """The page's one call into the query API (its signature is about to change: edit here)."""
    return service.ask(
        question,
        k=k,
        filters=Filters.of(
            docs=filters.docs,
            speakers=filters.speakers,
            date_from=filters.date_from,
            date_to=filters.date_to,
        ),
    )


@dataclass(frozen=True)
class Catalog:
    """The filter choices (documents and speakers) of one index version."""

    docs: list[tuple[str, str]]  # (doc id, label: its title, with its id when shared)
    speakers: list[str]
    summaries: dict[str, views.DocSummary]
    shared: frozenset[str] = frozenset()  # titles of more than one document


class _Caches:
    """Per-process caches keyed by index version / content hash, so a reload never serves stale."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.catalog: tuple[str, Catalog] | None = None
        self.parsed: OrderedDict[tuple[str, str], Transcript] = OrderedDict()


def _service(request: Request) -> QAService:
    service: QAService = request.app.state.service
    return service


def _check_read_key(request: Request) -> None:
    """Pages are read routes: keyed like /ask when QA_READ_API_KEY is set."""
    key = _service(request).settings.read_api_key
    if key is None or not key.get_secret_value():
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), key.get_secret_value().encode()
    ):
        raise Unauthorized("this page needs `Authorization: Bearer <QA_READ_API_KEY>`")


def _page(request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
    active = {"ask.html": "ask", "documents.html": "docs"}.get(template)
    html = _env.get_template(template).render(request=request, active=active, **context)
    return HTMLResponse(html, status_code=code, headers={"content-security-policy": PAGE_CSP})


def _filters(request: Request) -> tuple[PageFilters, str | None]:
    """The URL's filters, and what is wrong with them (a bad date is shown, not raised).

    Dates are checked as the API and the CLI check them (qa.models): `YYYY-MM-DD` only, and
    date_from not after date_to.
    """
    params = request.query_params
    error = None
    dates: list[str | None] = []
    for name in ("date_from", "date_to"):
        value = (params.get(name) or "").strip() or None
        try:
            value = iso_date(value, name)
        except InvalidInput as exc:
            error, value = exc.message, None
        dates.append(value)
    if error is None:
        try:
            check_date_order(*dates)
        except InvalidInput as exc:
            error = exc.message
    docs = tuple(d for d in params.getlist("doc") if d)
    speakers = tuple(s for s in params.getlist("speaker") if s)
    return PageFilters(docs, speakers, dates[0], dates[1]), error


def _k(request: Request) -> int:
    raw = request.query_params.get("k", "")
    return max(1, min(MAX_K, int(raw))) if raw.isdigit() else DEFAULT_K


def router() -> APIRouter:
    """The web page's routes, to `include_router` into the app (the service is app.state's)."""
    api = APIRouter(include_in_schema=False)
    caches = _Caches()

    def catalog(service: QAService) -> Catalog:
        index = service.index
        with caches.lock:
            if caches.catalog and caches.catalog[0] == index.version:
                return caches.catalog[1]
        counts = {d.doc_id: d.chunks for d in service.documents()}
        sums = views.summaries(index.outlines(), counts)
        shared = views.shared_titles(s.title for s in sums.values())
        found = Catalog(
            sorted(
                ((d, views.doc_label(d, s.title, shared)) for d, s in sums.items()),
                key=lambda p: p[1].lower(),
            ),
            sorted({sp for s in sums.values() for sp in s.speakers}, key=str.lower),
            sums,
            shared,
        )
        with caches.lock:
            caches.catalog = (index.version, found)
        return found

    def parsed(service: QAService, doc_id: str) -> Transcript:
        text = service.document_text(doc_id)  # NotFound for ids the index does not know
        index = service.index
        key = (doc_id, index.version)
        with caches.lock:
            doc = caches.parsed.get(key)
            if doc is not None:
                caches.parsed.move_to_end(key)
                return doc
        doc = views.transcript_of(doc_id, text, index.chunks_of(doc_id))
        with caches.lock:
            caches.parsed[key] = doc
            if len(caches.parsed) > PARSED_CACHE:
                caches.parsed.popitem(last=False)
        return doc

    @api.get("/static/{name}")
    def static(name: str) -> Response:
        item = STATIC / name
        suffix = Path(name).suffix
        if "/" in name or name.startswith(".") or suffix not in STATIC_TYPES or not item.is_file():
            raise NotFound(f"no static file {name!r}")
        return Response(
            item.read_bytes(),
            media_type=STATIC_TYPES[suffix],
            headers={"cache-control": "public, max-age=300"},
        )

    @api.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        _check_read_key(request)
        service = _service(request)
        question = (request.query_params.get("q") or "").strip()
        filters, error = _filters(request)
        context: dict[str, Any] = {
            "q": question,
            "filters": filters,
            "chips": filters.chips(question),
            "catalog": catalog(service),
            "error": error,
            "answer": None,
        }
        if not question or error:
            return _page(request, "ask.html", 422 if error else 200, **context)
        try:
            answer = ask(service, question, filters, _k(request))
        except QAError as exc:
            context["error"] = exc.message
            return _page(request, "ask.html", exc.status_code, **context)
        context.update(_answer_context(request, service, answer, filters, context["catalog"]))
        return _page(request, "ask.html", **context)

    @api.get("/answer.{fmt}")
    def export(fmt: str, request: Request) -> Response:
        _check_read_key(request)
        if fmt not in ("md", "csv", "json"):
            raise NotFound(f"no export format {fmt!r} (md, csv or json)")
        service = _service(request)
        question = (request.query_params.get("q") or "").strip()
        filters, error = _filters(request)
        if error:
            return JSONResponse({"error": "invalid_request", "detail": error}, status_code=422)
        answer = ask(service, question, filters, _k(request))
        base = str(request.base_url).rstrip("/")
        link = base + views.answer_href(answer.question, filters)
        checks = [_verified(service, q) for q in answer.quotes]
        name = "answer." + fmt
        if fmt == "md":
            shared = catalog(service).shared
            body, ctype = views.export_markdown(answer, link, base, shared), "text/markdown"
        elif fmt == "csv":
            body, ctype = views.export_csv(answer, checks), "text/csv"
        else:
            body, ctype = views.export_json(answer, checks, link), "application/json"
        return Response(
            body,
            media_type=f"{ctype}; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    @api.get("/transcripts", response_class=HTMLResponse)
    def transcripts(request: Request) -> HTMLResponse:
        _check_read_key(request)
        service = _service(request)
        cat = catalog(service)
        rows = []
        docs = service.documents()
        for d in docs:
            if d.status != "indexed":
                continue
            summary = cat.summaries.get(d.doc_id)
            rows.append(
                {
                    "doc": summary
                    or views.DocSummary(d.doc_id, d.doc_id, None, [], 0, d.chunks, None),
                    "indexed": _indexed_at(service, d.doc_id),
                }
            )
        return _page(
            request,
            "documents.html",
            rows=rows,
            skipped=_skipped(service, docs),
            status=service.status(),
            suffixes=service.upload_suffixes,  # what POST /documents takes
        )

    @api.get("/summary/{doc_id:path}")
    def summary(doc_id: str, request: Request) -> dict[str, Any]:
        """What was indexed from a document: speakers, turns, duration (the upload's report)."""
        _check_read_key(request)
        found = catalog(_service(request)).summaries.get(doc_id)
        if found is None:
            raise NotFound(f"no document {doc_id!r} in the index")
        return found.to_dict()

    @api.get("/media/{doc_id:path}")
    def media(doc_id: str, request: Request) -> Response:
        """The audio or video beside a timed transcript, with HTTP range requests."""
        _check_read_key(request)
        service = _service(request)
        # From the index, not the file: the audio beside an edited transcript is still its audio.
        if not service.index.chunks_of(doc_id):
            raise NotFound(f"no document {doc_id!r} in the index")
        path = _media_for(service, doc_id)
        if path is None:
            raise NotFound(f"no audio or video beside {doc_id!r}")
        return _ranged(path, request.headers.get("range"))

    @api.get("/transcripts/{doc_id:path}", response_class=HTMLResponse)
    def reader(doc_id: str, request: Request) -> HTMLResponse:
        _check_read_key(request)
        service = _service(request)
        doc = parsed(service, doc_id)
        params = request.query_params
        start, end = _int(params.get("start")), _int(params.get("end"))
        if start is None or end is None or not 0 <= start < end <= len(doc.text):
            start = end = None
        turns = views.reader_turns(doc, start, end)
        marked = None
        if start is not None and end is not None:
            segs = views.span_segments(doc, start, end)
            text = " ".join(doc.text[a:b] for a, b in segs)
            line_start = doc.text.count("\n", 0, start) + 1
            marked = {
                "start": start,
                "end": end,
                "text": text,
                "lines": views.lines_label(line_start, doc.text.count("\n", 0, end - 1) + 1),
            }
        nav = _quote_nav(request, service, doc_id, start, end)
        cat = catalog(service)
        found = cat.summaries.get(doc_id)
        media_path = _media_for(service, doc_id)
        return _page(
            request,
            "reader.html",
            doc_id=doc_id,
            title=(found.title if found else None) or doc.title or doc_id,
            date=found.date if found else doc.date,
            speakers=found.speakers if found else [],
            turns=turns,
            marked=marked,
            nav=nav,
            media=media_path is not None,
            media_kind=(
                "video"
                if media_path is not None and media_path.suffix in (".mp4", ".webm")
                else "audio"
            ),
            media_type=views.MEDIA_TYPES.get(media_path.suffix, "") if media_path else "",
        )

    def _quote_nav(
        request: Request, service: QAService, doc_id: str, start: int | None, end: int | None
    ) -> dict[str, Any] | None:
        """Previous / next quote of the answer the reader was opened from (its URL says which)."""
        question = (request.query_params.get("q") or "").strip()
        if not question:
            return None
        filters, error = _filters(request)
        if error:
            return None
        try:
            answer = ask(service, question, filters, _k(request))
        except QAError:
            return None
        quotes = answer.quotes if answer.answerable else ()
        n = _int(request.query_params.get("n"))
        if n is None or not 1 <= n <= len(quotes):
            n = next(
                (
                    i
                    for i, q in enumerate(quotes, 1)
                    if (q.doc_id, q.start, q.end) == (doc_id, start, end)
                ),
                None,
            )
        back = views.answer_href(question, filters) + (f"#quote-{n}" if n else "")
        out: dict[str, Any] = {"back": back, "n": n, "total": len(quotes), "question": question}
        if n:
            for key, i in (("prev", n - 1), ("next", n + 1)):
                if 1 <= i <= len(quotes):
                    q = quotes[i - 1]
                    out[key] = views.reader_href(q.doc_id, q.start, q.end, question, filters, i)
        return out

    return api


def _answer_context(
    request: Request, service: QAService, answer: Answer, filters: PageFilters, cat: Catalog
) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    permalink = views.answer_href(answer.question, filters)
    quotes = []
    for i, q in enumerate(answer.quotes, 1):
        href = views.reader_href(q.doc_id, q.start, q.end, answer.question, filters, i)
        link = f"{base}{permalink}#quote-{i}"
        quotes.append(
            {
                "quote": q,
                "cite": views.citation(q, cat.shared),
                "verified": _verified(service, q),
                "href": href,
                "link": link,
                "clip": views.copy_texts(q, link, cat.shared),
            }
        )
    related = [
        {
            "quote": q,
            "cite": views.citation(q, cat.shared),
            "verified": _verified(service, q),
            "href": views.reader_href(q.doc_id, q.start, q.end),
        }
        for q in answer.related
    ]
    passages = [
        {
            "passage": p,
            "cite": views.citation(p, cat.shared),
            "href": views.reader_href(p.doc_id, p.start, p.end),
        }
        for p in answer.passages
    ]
    docs = {q.doc_id for q in answer.quotes}
    if answer.answerable:
        announce = (
            f"{len(quotes)} quote{'s' if len(quotes) != 1 else ''} from {len(docs)} "
            f"transcript{'s' if len(docs) != 1 else ''}"
        )
    elif answer.coverage == "related":
        announce = f"Discussed, but not answered; {len(related)} related quotes"
    else:
        announce = f"Not found in these transcripts; {len(passages)} related passages"
    query = permalink[2:]
    return {
        "answer": answer,
        "quotes": quotes,
        "related": related,
        "passages": passages,
        "announce": announce,
        "permalink": permalink,
        "exports": {fmt: f"/answer.{fmt}?{query}" for fmt in ("md", "csv", "json")},
    }


def _verified(service: QAService, quote: Any) -> bool:
    """Checked while rendering: the quote is exactly the canonical text of its span."""
    try:
        return views.verified(service.document_text(quote.doc_id, as_indexed=False), quote)
    except QAError:
        return False


def _int(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() else None


def _media_for(service: QAService, doc_id: str) -> Path | None:
    """`talk.mp3` (…) beside a timed `talk.srt`, when there is one."""
    if not any(c.times for c in service.index.chunks_of(doc_id)):
        return None
    base = service.settings.source_dir / doc_id
    for suffix in views.MEDIA_SUFFIXES:
        candidate = base.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def _ranged(path: Path, header: str | None) -> Response:
    """The file, or the byte range asked for (206), so players can seek."""
    size = path.stat().st_size
    ctype = views.MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    headers = {"accept-ranges": "bytes", "cache-control": "no-cache"}
    start, end = 0, size - 1
    status = 200
    if header:
        unit, _, spec = header.partition("=")
        first, _, last = spec.split(",")[0].strip().partition("-")
        try:
            if unit.strip() != "bytes":
                raise ValueError(unit)
            if first:
                start = int(first)
                end = min(int(last), size - 1) if last else size - 1
            else:  # the last N bytes
                start, end = max(0, size - int(last)), size - 1
        except ValueError:
            start, end = size, 0
        if start > end or start >= size:
            return Response(
                status_code=416, headers={**headers, "content-range": f"bytes */{size}"}
            )
        status = 206
        headers["content-range"] = f"bytes {start}-{end}/{size}"
    headers["content-length"] = str(end - start + 1)

    def body() -> Iterator[bytes]:
        with path.open("rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                data = f.read(min(MEDIA_CHUNK, left))
                if not data:
                    return
                left -= len(data)
                yield data

    return StreamingResponse(body(), status_code=status, media_type=ctype, headers=headers)


def _indexed_at(service: QAService, doc_id: str) -> str | None:
    """When this document's segment was written (its version's time when that is unknown)."""
    index = service.index
    entry = index.documents.get(doc_id)
    # Only the folder store has files to date; another backend shows the version's time.
    root = getattr(service.store, "root", None)
    if entry is not None and isinstance(root, Path):
        try:
            mtime = (root / "segments" / entry.segment).stat().st_mtime
            return dt.datetime.fromtimestamp(mtime, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        except OSError:
            pass
    return index.manifest.created or None


def _skipped(service: QAService, docs: list[Any]) -> list[dict[str, str]]:
    """Files the last update skipped (with the reason), then files it has not seen yet."""
    out = [
        {"name": d.doc_id, "reason": d.reason or "skipped"} for d in docs if d.status == "skipped"
    ]
    try:
        pending = service.pending_changes().get("added", [])
    except QAError:
        pending = []
    known = {d["name"] for d in out}
    out += [
        {"name": d, "reason": "not indexed yet: run `qa index update`"}
        for d in pending
        if d not in known
    ]
    return out[:MAX_SKIPPED_SHOWN]
