"""Adding one transcript to an index of N (default 1,000) vs rebuilding it from scratch, in one run.

Usage: .venv/bin/python scripts/bench_update.py [--docs 1000] [--json docs/benchmarks-update.json]
       [--cache index/cache/embeddings.sqlite]  (seed the embedding cache: a rebuild of minutes)

Filler: the first N SciFact abstracts (eval/scifact/corpus.jsonl), one document each. Steps:
1. build the N-document index from scratch (empty embedding cache): the rebuild time;
2. add one new document several times (a different, never-embedded abstract each time, and the two
   seed interview transcripts), each with a fresh service that loads the previous version from
   disk as `qa index update` does, and compare with embedding that document's texts alone
   (same model, same texts, same batching, warm model);
3. shrink the index to N/4 documents (cache-backed, no model calls) and add again, to show how the
   update's overhead grows with the index.
The model is loaded and warmed once; its load time (which `qa index update` pays as a process) is
reported separately. Prints a Markdown table; docs/benchmarks-update.md has the recorded figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.embed import Embedder  # noqa: E402
from qa.models import dump  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.store import IndexDir  # noqa: E402
from qa.update import chunk_document  # noqa: E402


def log(msg: str) -> None:
    sys.stderr.write(f"[bench_update] {msg}\n")
    sys.stderr.flush()


def abstracts(n: int) -> list[tuple[str, str]]:
    out = []
    with open(ROOT / "eval/scifact/corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            out.append((f"scifact_{d['_id']}.txt", f"{d.get('title') or ''}\n\n{d['text']}\n"))
            if len(out) == n:
                break
    return out


def embed_alone(service: QAService, doc_id: str, text: str) -> tuple[float, int]:
    """Seconds to embed the document's unique texts (what the update sends to the model)."""
    chunked = chunk_document(doc_id, text, service.settings.chunking)
    texts = sorted(dict.fromkeys(chunked.texts()), key=len)
    emb = service.embedder
    bs = service.settings.batch_size
    t0 = time.perf_counter()
    for at in range(0, len(texts), bs):
        emb.embed(texts[at : at + bs], bs)
    return time.perf_counter() - t0, len(texts)


def add_one(
    settings: Settings, embedder: Embedder, doc_id: str, text: str
) -> tuple[dict[str, Any], float]:
    """Add `doc_id` through a fresh service (cold: the previous version is read from disk)."""
    (settings.source_dir / doc_id).write_text(text, encoding="utf-8")
    svc = QAService(settings, embedder=embedder)
    t0 = time.perf_counter()
    report = svc.update()
    wall = time.perf_counter() - t0
    assert report.added == (doc_id,), report
    return dump(report), wall


def measure(
    settings: Settings, embedder: Embedder, docs: list[tuple[str, str]], label: str
) -> list[dict[str, Any]]:
    rows = []
    svc = QAService(settings, embedder=embedder)
    for doc_id, text in docs:
        alone, n_texts = embed_alone(svc, doc_id, text)
        report, wall = add_one(settings, embedder, doc_id, text)
        row = {
            "index": label,
            "doc": doc_id,
            "chars": len(text),
            "texts": n_texts,
            "embed_alone_s": round(alone, 3),
            "update_s": round(wall, 3),
            "ratio": round(wall / alone, 2),
            # Everything but the model: what grows with the index when anything does.
            "overhead_s": round(wall - report["phases"].get("embed", 0.0), 3),
            "chunks_embedded": report["chunks_embedded"],
            "texts_embedded": report["texts_embedded"],
            "phases": report["phases"],
        }
        log(json.dumps(row))
        rows.append(row)
    return rows


def load_times(settings: Settings, embedder: Embedder, repeats: int = 3) -> dict[str, float]:
    """Median seconds: a cold load, and a reload after one add reusing the held segments."""
    idx = IndexDir(settings.index_dir)
    cold = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        held = idx.load()
        cold.append(time.perf_counter() - t0)
    warm = []
    for i in range(repeats):
        doc = settings.source_dir / f"zz_reload_{i}.txt"
        doc.write_text(f"Host:\nWhat is number {i}?\n\nGuest:\nIt is {i}.\n", encoding="utf-8")
        QAService(settings, embedder=embedder).update()
        t0 = time.perf_counter()
        held = idx.load(reuse=held)
        warm.append(time.perf_counter() - t0)
    for i in range(repeats):
        (settings.source_dir / f"zz_reload_{i}.txt").unlink()
    QAService(settings, embedder=embedder).update()
    return {
        "cold_load_s": round(statistics.median(cold), 3),
        "reload_after_add_s": round(statistics.median(warm), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--adds", type=int, default=3, help="new abstracts added one at a time")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--save-built", type=Path, help="copy the freshly built source+index here")
    ap.add_argument("--cache", type=Path, help="embedding cache (sqlite) to start from")
    args = ap.parse_args()
    corpus = abstracts(args.docs + 2 * args.adds)
    filler, extra = corpus[: args.docs], corpus[args.docs :]
    seeds = [
        (p.name, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "seeds").glob("*.txt"))
    ]

    with tempfile.TemporaryDirectory(prefix="qa-bench-update-") as tmp:
        src, idx = Path(tmp) / "src", Path(tmp) / "index"
        src.mkdir()
        for doc_id, text in filler:
            (src / doc_id).write_text(text, encoding="utf-8")
        settings = Settings(source_dir=src, index_dir=idx)
        if args.cache:
            (idx / "cache").mkdir(parents=True)
            shutil.copy(args.cache, idx / "cache" / "embeddings.sqlite")
        t0 = time.perf_counter()
        svc = QAService(settings)
        embedder = svc.embedder
        embedder.embed(["warm up"] * 8)
        model_load = time.perf_counter() - t0
        log(f"model loaded in {model_load:.1f}s; building {len(filler)} documents from scratch…")

        t0 = time.perf_counter()
        built = svc.build()
        rebuild = time.perf_counter() - t0
        log(f"rebuild: {dump(built)}")
        if args.save_built:
            shutil.copytree(src, args.save_built / "src", dirs_exist_ok=True)
            shutil.copytree(idx, args.save_built / "index", dirs_exist_ok=True)

        loads = {f"{args.docs}": load_times(settings, embedder)}
        log(f"load: {loads}")
        rows = measure(settings, embedder, extra[: args.adds], f"{args.docs}")
        rows += measure(settings, embedder, seeds, f"{args.docs}")

        # Shrink to a quarter (removals embed nothing), then add again.
        keep = len(filler) // 4
        for doc_id, _ in filler[keep:]:
            (src / doc_id).unlink()
        shrink = QAService(settings, embedder=embedder).update()
        log(f"shrunk: {shrink.documents} documents in {shrink.seconds:.1f}s")
        loads[f"{shrink.documents}"] = load_times(settings, embedder)
        log(f"load: {loads}")
        rows += measure(settings, embedder, extra[args.adds :], f"{shrink.documents}")
        size = sum(p.stat().st_size for p in idx.rglob("*") if p.is_file())

    result = {
        "command": " ".join(["scripts/bench_update.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {platform.python_version()}, "
        f"{__import__('os').cpu_count()} cores",
        "documents": args.docs,
        "chunks": built.chunks,
        "sentences": built.sentences,
        "model_load_s": round(model_load, 2),
        "rebuild_s": round(rebuild, 2),
        "rebuild_from_cache": bool(args.cache),
        "load": loads,
        "rebuild_texts_embedded": built.texts_embedded,
        "rebuild_phases": dump(built)["phases"],
        "index_bytes_at_end": size,
        "adds": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"\n{result['documents']} documents, {result['chunks']} chunks; rebuild from scratch "
        f"{result['rebuild_s']:.1f}s ({result['rebuild_texts_embedded']} texts embedded)\n"
    )
    print(
        "| index docs | new document | chars | texts | embed alone (s) | update (s) | ratio "
        "| update minus its embedding (s) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['index']} | {r['doc']} | {r['chars']} | {r['texts']} | {r['embed_alone_s']:.2f}"
            f" | {r['update_s']:.2f} | {r['ratio']:.2f} | {r['overhead_s']:.3f} |"
        )
    for label in sorted({r["index"] for r in rows}):
        ratios = [r["ratio"] for r in rows if r["index"] == label]
        over = [r["overhead_s"] for r in rows if r["index"] == label]
        print(
            f"\nindex of {label}: median ratio {statistics.median(ratios):.2f}, median overhead "
            f"{statistics.median(over):.3f}s; load {loads[label]}"
        )


if __name__ == "__main__":
    main()
