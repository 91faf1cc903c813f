"""`qa eval`: measure answers against gold data (seed-QA, BEIR and SQuAD formats)."""

from __future__ import annotations

import itertools
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.chunk import chunk_transcript
from qa.embed import Embedder
from qa.errors import InvalidInput
from qa.ingest import parse_transcript, read_source_text
from qa.models import COVERAGES, Answer
from qa.segments import join
from qa.settings import Mode, Settings, load_settings

if TYPE_CHECKING:
    # Only a type: the facade calls in here (`QAService.evaluate`), and beir/squad make their
    # services with the class they are given.
    from qa.service import QAService

MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")
Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _spans(text: str, quote: str) -> list[tuple[int, int]]:
    out, at = [], text.find(quote)
    while at >= 0:
        out.append((at, at + len(quote)))
        at = text.find(quote, at + 1)
    return out


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def _gold_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the gold file: {exc.strerror}") from exc


def seedqa_rows(path: Path) -> list[dict[str, Any]]:
    """The gold questions of a seedqa JSONL file, checked before any is asked: one JSON object
    per line with `id`, `question`, `answer_quotes` (a list; empty for an unanswerable) and,
    for an answerable one, `doc`. A bad line is an InvalidInput naming it."""
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(_gold_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise InvalidInput(f"{path}:{n}: not a JSON object ({exc})") from exc
        missing = [
            f
            for f in ("id", "question", "answer_quotes")
            if not isinstance(row, dict) or f not in row
        ]
        if missing:
            raise InvalidInput(f"{path}:{n}: missing {', '.join(missing)} (a seedqa row)")
        quotes = row["answer_quotes"]
        if not isinstance(row["question"], str) or not (
            isinstance(quotes, list) and all(isinstance(q, str) for q in quotes)
        ):
            raise InvalidInput(
                f"{path}:{n}: question must be text and answer_quotes a list of texts"
            )
        if row["answer_quotes"] and not isinstance(row.get("doc"), str):
            raise InvalidInput(f"{path}:{n}: an answerable row needs its doc")
        rows.append(row)
    if not rows:
        raise InvalidInput(f"{path}: no questions in the gold file")
    return rows


def eval_seedqa(service: QAService, gold_path: Path, source: Path, k: int = 5) -> dict[str, Any]:
    """Quote hit@1/@3, passage recall@k, speaker match, abstention, integrity, latency."""
    rows = seedqa_rows(gold_path)
    texts: dict[str, str] = {}
    answerable = hit1 = hit3 = recall = speaker_ok = false_abstain = 0
    unanswerable = refused = 0
    quotes_checked = quotes_exact = 0
    latencies: list[float] = []
    confidences: list[tuple[float, bool]] = []  # per question: confidence, first quote is right
    refused_by_kind: dict[str, tuple[int, int]] = {}  # unanswerable kind → (questions, refused)
    per_question: list[dict[str, Any]] = []
    for row in rows:
        t0 = time.perf_counter()
        answer = service.ask(row["question"], k=k)
        latencies.append((time.perf_counter() - t0) * 1000)
        for q in answer.quotes:
            text = texts.setdefault(q.doc_id, read_source_text(source / q.doc_id))
            quotes_checked += 1
            quotes_exact += join(text, q.segments) == q.text  # one segment: text[start:end]
        if not row["answer_quotes"]:
            unanswerable += 1
            refused += not answer.answerable
            kind = str(row.get("kind") or "unanswerable")
            seen, no = refused_by_kind.get(kind, (0, 0))
            refused_by_kind[kind] = (seen + 1, no + (not answer.answerable))
            confidences.append((answer.confidence, False))
            per_question.append(
                {
                    "id": row["id"],
                    "refused": not answer.answerable,
                    "coverage": answer.coverage,
                    "confidence": round(answer.confidence, 3),
                    "scores": _shown_scores(answer),
                }
            )
            continue
        answerable += 1
        doc = row["doc"]
        gold_text = texts.setdefault(doc, read_source_text(source / doc))
        gold = [sp for quote in row["answer_quotes"] for sp in _spans(gold_text, quote)]
        hits = [q.doc_id == doc and _overlaps((q.start, q.end), gold) for q in answer.quotes]
        h1, h3 = any(hits[:1]), any(hits[:3])
        hit1 += h1
        hit3 += h3
        recall += any(
            p.doc_id == doc and _overlaps((p.start, p.end), gold) for p in answer.passages[:k]
        )
        false_abstain += not answer.answerable
        if h3:
            first = next(q for q, h in zip(answer.quotes, hits, strict=False) if h)
            speaker_ok += _same_speaker(first.speaker, row.get("speaker"))
        confidences.append((answer.confidence, h1))
        per_question.append(
            {
                "id": row["id"],
                "hit@1": h1,
                "hit@3": h3,
                "answerable": answer.answerable,
                "coverage": answer.coverage,
                "confidence": round(answer.confidence, 3),
                "scores": _shown_scores(answer),
            }
        )
    n = max(answerable, 1)
    return {
        "questions": len(rows),
        "answerable": answerable,
        "quote_hit@1": round(hit1 / n, 3),
        "quote_hit@3": round(hit3 / n, 3),
        f"passage_recall@{k}": round(recall / n, 3),
        "speaker_match": round(speaker_ok / max(hit3, 1), 3),
        "unanswerable": unanswerable,
        "abstained_unanswerable": refused,
        "false_abstentions": false_abstain,
        # Refused = coverage other than `answered` (related or not found).
        "refusal_rate_unanswerable": round(refused / max(unanswerable, 1), 3),
        # In-domain ("unanswerable") and off-topic rows apart, when the gold file says which.
        "refused_by_kind": {k: f"{no}/{seen}" for k, (seen, no) in sorted(refused_by_kind.items())},
        "false_refusal_rate": round(false_abstain / n, 3),
        "coverage": {c: sum(p["coverage"] == c for p in per_question) for c in COVERAGES},
        "reliability": reliability(confidences),
        "quote_integrity": round(quotes_exact / max(quotes_checked, 1), 4),
        "quotes_checked": quotes_checked,
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "per_question": per_question,
    }


def _shown_scores(answer: Answer) -> list[float]:
    """The scores of the quotes shown (as the answer, or as related): what confidence reads."""
    return [round(q.score, 4) for q in (answer.quotes or answer.related)]


RELIABILITY_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def reliability(
    points: Sequence[tuple[float, bool]], edges: Sequence[float] = RELIABILITY_BINS
) -> list[dict[str, Any]]:
    """Confidence bins vs. how often the first quote was right (an unanswerable: never).

    A calibrated confidence has `hit_rate` close to `mean_confidence` in every bin.
    """
    rows = []
    for lo, hi in itertools.pairwise(edges):
        last = hi == edges[-1]
        inside = [(c, ok) for c, ok in points if lo <= c < hi or (last and c == hi)]
        rows.append(
            {
                "bin": f"{lo:.1f}–{hi:.1f}",
                "questions": len(inside),
                "mean_confidence": (
                    round(statistics.fmean(c for c, _ in inside), 3) if inside else None
                ),
                "hit_rate": round(sum(ok for _, ok in inside) / len(inside), 3) if inside else None,
            }
        )
    return rows


def _same_speaker(got: str | None, want: str | None) -> bool:
    if not want:
        return got is None
    if not got:
        return False
    # `Musk` and `Elon Musk` name one person: compare by the last name word.
    return got.split()[-1].casefold() == want.split()[-1].casefold()


# -- BEIR and SQuAD ---------------------------------------------------------------------------


class _RetrievalOnly(Embedder):
    """Embeds only the texts retrieval reads (chunks, interviewer questions, queries).

    `QAService.build` also embeds every sentence and sentence context for quote selection; a
    retrieval benchmark never asks for quotes, and on a 2-core CPU those vectors cost several
    times the chunk vectors. Texts outside `wanted` get zero vectors, so such an index serves
    `search` exactly as a full one would, but not `ask`.
    """

    def __init__(self, inner: Embedder, wanted: set[str], log: Log = _stderr) -> None:
        self.inner, self.wanted, self.log = inner, wanted, log
        self.name, self.dim = inner.name, inner.dim
        self._cache: dict[str, np.ndarray] = {}

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_batch(texts)

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = sorted({t for t in texts if t in self.wanted and t not in self._cache}, key=len)
        # Sorted by length: batches of similar length pad less.
        for at in range(0, len(todo), 2048):
            part = todo[at : at + 2048]
            for t, v in zip(part, self.inner.embed(part, batch_size), strict=True):
                self._cache[t] = v
            self.log(f"embedded {at + len(part)}/{len(todo)}")
        for i, t in enumerate(texts):
            if t in self._cache:
                out[i] = self._cache[t]
        return out


class _QueryCache(Embedder):
    """Remembers query vectors: the same question is asked once per mode and once more by `ask`."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self._cache: dict[tuple[str, ...], np.ndarray] = {}

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        key = tuple(texts)
        if key not in self._cache:
            self._cache[key] = self.inner.embed_batch(texts)
        return self._cache[key]

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self.inner.embed(texts, batch_size)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _write_docs(src: Path, docs: dict[str, str]) -> None:
    src.mkdir(parents=True, exist_ok=True)
    for doc_id, text in docs.items():
        (src / f"{doc_id}.txt").write_text(text, encoding="utf-8")


def _doc_of(hit_doc_id: str) -> str:
    return hit_doc_id.removesuffix(".txt")


def _ranked_docs(service: QAService, query: str, passages: int, docs: int) -> list[str]:
    """Documents in order of their best passage (a document's score = max over its chunks)."""
    out: list[str] = []
    for hit in service.search(query, k=passages):
        d = _doc_of(hit.doc_id)
        if d not in out:
            out.append(d)
            if len(out) == docs:
                break
    return out


def _ndcg(ranked: list[str], rels: dict[str, int], k: int) -> float:
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rels.values(), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def _mrr(ranked: list[str], rels: dict[str, int], k: int) -> float:
    return next((1 / (i + 1) for i, d in enumerate(ranked[:k]) if rels.get(d, 0) > 0), 0.0)


def _recall(ranked: list[str], rels: dict[str, int], k: int) -> float:
    relevant = {d for d, r in rels.items() if r > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def eval_beir(
    folder: Path,
    modes: Sequence[Mode] = MODES,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    split: str = "test",
    passages: int = 300,
    log: Log = _stderr,
    *,
    service_type: type[QAService],
) -> dict[str, Any]:
    """nDCG@10, Recall@10/@100, MRR@10 per retrieval mode on a BEIR folder.

    Each corpus document (title, blank line, text) is one transcript; a document's score is its
    best chunk's, so the top `passages` chunks are deduplicated to a document ranking. The index
    is built once (in a temporary folder) and queried in every mode.

    With `settings.store` a database URL, that index is also imported into the database (as
    `qa db import` does: nothing is embedded twice) and every mode is measured on both backends
    in the same run, under "modes" (files) and "postgresql". The database must hold no index.
    """
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        if line.strip():
            qid, did, score = line.split("\t")[:3]
            qrels.setdefault(qid, {})[did] = int(score)
    queries = {q["_id"]: q["text"] for q in _read_jsonl(folder / "queries.jsonl")}
    corpus = {
        str(d["_id"]): f"{d.get('title') or ''}\n\n{d['text']}\n".lstrip()
        for d in _read_jsonl(folder / "corpus.jsonl")
    }
    base = settings or load_settings()
    database = base.store
    with tempfile.TemporaryDirectory(prefix="qa-beir-") as tmp:
        src, idx = Path(tmp) / "src", Path(tmp) / "index"
        _write_docs(src, corpus)
        base = base.model_copy(update={"source_dir": src, "index_dir": idx, "store": ""})
        if database:
            _require_empty(service_type(base.model_copy(update={"store": database})))
        wanted: set[str] = set()
        # Per chunk, as the index compares them (the BM25 scope does not change the chunks).
        chunking = base.chunking
        for doc_id, text in corpus.items():
            for c in chunk_transcript(parse_transcript(f"{doc_id}.txt", text), chunking)[0]:
                wanted.add(c.text)
                if c.question:
                    wanted.add(c.question)
        inner = embedder or service_type(base).embedder
        first = service_type(base, embedder=_RetrievalOnly(inner, wanted, log))
        log(f"beir: indexing {len(corpus)} documents ({len(wanted)} texts to embed)…")
        report = first.build()
        log(f"beir: indexed {report.chunks} chunks in {report.seconds:.0f}s")
        backends = {"files": base}
        if database:
            backends["postgresql"] = base.model_copy(update={"store": database})
            moved = service_type(backends["postgresql"], embedder=first.embedder).import_index(idx)
            log(f"beir: imported {moved.chunks} chunks into the database in {moved.seconds:.0f}s")
        # The query vectors are computed once and shared by every mode and backend.
        queried = _QueryCache(first.embedder)
        results: dict[str, dict[str, Any]] = {name: {} for name in backends}
        for mode in modes:
            for name, backend in backends.items():
                svc = service_type(_with_mode(backend, mode), embedder=queried)
                t0 = time.perf_counter()
                sums = {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
                for qid, rels in qrels.items():
                    ranked = _ranked_docs(svc, queries[qid], passages, 100)
                    sums["ndcg@10"] += _ndcg(ranked, rels, 10)
                    sums["recall@10"] += _recall(ranked, rels, 10)
                    sums["recall@100"] += _recall(ranked, rels, 100)
                    sums["mrr@10"] += _mrr(ranked, rels, 10)
                got = {m: round(v / len(qrels), 4) for m, v in sums.items()}
                got["seconds"] = round(time.perf_counter() - t0, 1)
                results[name][mode] = got
                log(f"beir: {name} {mode}: {got}")
    extra: dict[str, Any] = {}
    if database:
        extra["postgresql"] = results["postgresql"]
    return {
        "dataset": folder.name,
        "split": split,
        "queries": len(qrels),
        "documents": len(corpus),
        "chunks": report.chunks,
        "chunking": {"size": base.chunking.size, "overlap": base.chunking.overlap},
        "model": inner.name,
        "index_seconds": round(report.seconds, 1),
        "modes": results["files"],
        **extra,
    }


def _require_empty(service: QAService) -> None:
    """A benchmark imports its own index: never over a database that serves one."""
    if service.store.current() is not None:
        raise InvalidInput(
            "qa eval --format beir --store: the database already holds an index; "
            "give it an empty database to import the benchmark's index into"
        )


def _with_mode(base: Settings, mode: Mode) -> Settings:
    return base.model_copy(update={"retrieval": base.retrieval.model_copy(update={"mode": mode})})


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def eval_squad(
    path: Path,
    modes: Sequence[Mode] = MODES,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    k: int = 5,
    quotes: int = 3,
    log: Log = _stderr,
    *,
    service_type: type[QAService],
) -> dict[str, Any]:
    """Each paragraph is a document: gold-paragraph recall@1/@k per mode (`search`), and with the
    configured mode the rate at which one of the top `quotes` quotes of `ask` contains the gold
    answer (casefolded, whitespace collapsed)."""
    docs: dict[str, str] = {}
    items: list[tuple[str, str, list[str]]] = []  # question, gold doc, answer texts
    try:
        data = json.loads(_gold_text(path))["data"]
        for a, article in enumerate(data):
            for p, para in enumerate(article["paragraphs"]):
                doc = f"a{a:02d}p{p:02d}"
                docs[doc] = str(para["context"])
                for qa in para["qas"]:
                    items.append(
                        (str(qa["question"]), doc, [str(x["text"]) for x in qa["answers"]])
                    )
    except (ValueError, RecursionError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{path}: not a SQuAD file (data → paragraphs → qas): {exc!r}") from exc
    if not items:
        raise InvalidInput(f"{path}: no questions in the SQuAD file")
    base = settings or load_settings()
    with tempfile.TemporaryDirectory(prefix="qa-squad-") as tmp:
        src, idx = Path(tmp) / "src", Path(tmp) / "index"
        _write_docs(src, docs)
        base = base.model_copy(update={"source_dir": src, "index_dir": idx})
        first = service_type(base, embedder=_QueryCache(embedder or service_type(base).embedder))
        log(f"squad: indexing {len(docs)} paragraphs…")
        report = first.build()
        log(f"squad: indexed {report.chunks} chunks in {report.seconds:.0f}s")
        recall: dict[str, Any] = {}
        for mode in modes:
            svc = service_type(_with_mode(base, mode), embedder=first.embedder)
            r1 = rk = 0
            for question, doc, _ in items:
                ranked = _ranked_docs(svc, question, max(k * 4, 20), k)
                r1 += ranked[:1] == [doc]
                rk += doc in ranked
            recall[mode] = {
                "recall@1": round(r1 / len(items), 4),
                f"recall@{k}": round(rk / len(items), 4),
            }
            log(f"squad: {mode}: {recall[mode]}")
        t0 = time.perf_counter()
        in_quote = abstained = 0
        for question, _, answers in items:
            answer = first.ask(question, k=k)
            abstained += not answer.answerable
            got = [_norm(q.text) for q in answer.quotes[:quotes]]
            in_quote += any(_norm(ans) in g for ans in answers for g in got)
        log(f"squad: ask: {in_quote}/{len(items)} answers in a quote")
    return {
        "dataset": path.name,
        "questions": len(items),
        "paragraphs": len(docs),
        "chunks": report.chunks,
        "model": first.embedder.name,
        "index_seconds": round(report.seconds, 1),
        "recall": recall,
        "ask_mode": base.retrieval.mode,
        f"answer_in_quote@{quotes}": round(in_quote / len(items), 4),
        "abstained": abstained,
        "ask_seconds": round(time.perf_counter() - t0, 1),
    }


FORMATS = ("seedqa", "beir", "squad")


def evaluate(service: QAService, gold: Path, *, fmt: str = "seedqa", k: int = 5) -> dict[str, Any]:
    """`qa eval`: seedqa against `service`'s index; beir and squad on their own temporary index,
    with `service`'s settings otherwise."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown --format {fmt!r} (supported: {', '.join(FORMATS)})")
    if fmt == "beir":
        if not (gold / "corpus.jsonl").is_file():
            raise InvalidInput(f"not a BEIR folder (no corpus.jsonl): {gold}")
        return eval_beir(gold, settings=service.settings, service_type=type(service))
    if not gold.is_file():
        raise InvalidInput(f"gold file not found: {gold}")
    if fmt == "squad":
        return eval_squad(gold, settings=service.settings, k=k, service_type=type(service))
    return eval_seedqa(service, gold, service.settings.source_dir, k=k)
