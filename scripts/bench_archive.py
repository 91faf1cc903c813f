#!/usr/bin/env python
"""Issue 16: an archive of thousands of interviews on one machine.

Two parts, one run; writes docs/benchmarks-archive.json (and prints it):

1. `indexing` (real model, real text): the seed interviews indexed from an empty cache by qa with
   embedded sentence contexts (the default), with derived ones (`QA_CHUNKING__CONTEXTS=derived`,
   qa.store.contexts) and with ones made from sentence pairs (`pairs`), beside txtai 9.14 (same MiniLM, its defaults, the same chunk texts) and the
   model's own rate on those chunk texts (qa's embedder, nothing else). Model loads excluded.
2. `structure` at each `--sizes` N: N interviews recombined from real turns (seeds/ and the
   Markdown transcripts of corpora/real, speakers renamed), embedded by a STAND-IN embedder
   (benchmark only: each text → one of the real MiniLM vectors of pool sentences, chosen by a
   hash of the text, plus gaussian noise, renormalised: the real dimension and a clustered
   distribution, at no model cost). Measured: disk per chunk (segments, manifest; the embedding
   cache apart), a real `qa serve` (real model for the queries) until /health answers and its
   peak RSS, /ask p50 at concurrency 1, a cold in-process load, a reload after adding one
   interview, recall@10 of the chunk store against exact search.

    .venv/bin/python scripts/bench_archive.py --sizes 300 1000

`--edits` (with `--keep` archives): only change one interview and delete another, both in the
version's largest group, in a serving process (seconds, save and reload phases, peak RSS, whether
the group was kept). It modifies the archives: run it on copies.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
REAL = ROOT / "corpora" / "real"
DEV = ROOT / "tests" / "data" / "seed_qa_dev.jsonl"
# Other questions, for a server that has been answering for a while: warm-up, then timed.
WARMUP = ROOT / "eval" / "real_qa.jsonl"
WARM = ROOT / "eval" / "dev2_qa.jsonl"


def read_questions(path: Path) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]


QA_BIN = Path(sys.executable).parent / "qa"
OUT = ROOT / "docs" / "benchmarks-archive.json"

sys.path.insert(0, str(ROOT))

from qa.embed import DIM, MODEL_NAME, Embedder  # noqa: E402
from qa.ingest import read_transcript  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.settings import ChunkingSettings, Settings  # noqa: E402
from qa.store import ann  # noqa: E402
from qa.store.faiss_store import FaissStore  # noqa: E402
from qa.store.files import IndexDir  # noqa: E402


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# -- 1. indexing --------------------------------------------------------------------------------
def embedded_chars(settings: Settings) -> int:
    """Characters of the distinct texts a build from an empty cache embeds."""
    from qa.update import chunk_document

    texts: set[str] = set()
    for f in sorted(settings.source_dir.iterdir()):
        if f.is_file() and not f.name.startswith(("SOURCE", ".")) and f.suffix != ".json":
            doc = read_transcript(f, settings.source_dir)
            texts.update(chunk_document(doc.doc_id, doc.text, settings.chunking, doc).texts())
    return sum(len(t) for t in texts)


def indexing(tmp: Path) -> dict[str, Any]:
    # Every core, as `qa index build` runs the model (qa.cli.options.open_service); the serving
    # default is one thread, and txtai's torch takes every core too.
    base = Settings(
        source_dir=SEEDS, index_dir=tmp / "x", reload_interval=-1, embed_threads=os.cpu_count()
    )
    model = QAService(base).embedder
    model.embed(["warm up"], 8)
    out: dict[str, Any] = {}
    for contexts in ("embedded", "derived", "pairs"):
        s = base.model_copy(
            update={
                "index_dir": tmp / f"idx-{contexts}",
                "chunking": ChunkingSettings(contexts=contexts),  # type: ignore[arg-type]
            }
        )
        rep = QAService(s, embedder=model).build()
        out[f"qa_{contexts}"] = {
            "seconds": rep.seconds,
            "embed_seconds": rep.phases.get("embed"),
            "chunks": rep.chunks,
            "texts": rep.texts_embedded,
            "texts_per_chunk": rep.texts_embedded / rep.chunks,
            # Texts count alike whatever their length; a pair is shorter than a context.
            "chars": embedded_chars(s),
        }
        print(contexts, out[f"qa_{contexts}"], file=sys.stderr)
    chunk_texts = [c.text for c in IndexDir(tmp / "idx-embedded").load().chunks]
    t0 = time.perf_counter()
    model.embed(chunk_texts, base.batch_size)
    raw = time.perf_counter() - t0
    out["raw_model"] = {
        "threads": base.embed_threads,
        "texts": len(chunk_texts),
        "seconds": raw,
        "texts_per_s": len(chunk_texts) / raw,
    }
    try:
        from importlib.metadata import version

        os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from txtai import Embeddings

        from qa.embed import bundled_model_path

        emb = Embeddings({"path": str(bundled_model_path()), "content": True})
        emb.index(["warm up"])
        emb = Embeddings({"path": str(bundled_model_path()), "content": True})
        t0 = time.perf_counter()
        emb.index(chunk_texts)
        import torch

        out["txtai"] = {
            "version": version("txtai"),
            "seconds": time.perf_counter() - t0,
            "torch_threads": torch.get_num_threads(),
        }
    except ImportError:
        out["txtai"] = None
    for k in ("qa_embedded", "qa_derived", "qa_pairs"):
        r = out[k]
        r["texts_per_s"] = r["texts"] / r["seconds"]
        r["rate_vs_raw_model"] = r["texts_per_s"] / out["raw_model"]["texts_per_s"]
        r["chunks_per_s"] = r["chunks"] / r["seconds"]
        if out["txtai"]:
            r["vs_txtai"] = r["seconds"] / out["txtai"]["seconds"]
    print(out, file=sys.stderr)
    return out


# -- 2. structure -------------------------------------------------------------------------------
class StandIn(Embedder):
    """Benchmark only: a real MiniLM vector (of a pool sentence) picked by the text's hash, plus
    noise. Named as the real model, so a real `qa serve` (real model) accepts the index."""

    backend = "stand-in"

    def __init__(self, centres: np.ndarray, noise: float) -> None:
        self.name, self.dim = MODEL_NAME, DIM
        self.centres, self.noise = centres, noise

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            h = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            rng = np.random.default_rng(h)
            v = self.centres[h % len(self.centres)] + rng.standard_normal(self.dim) * self.noise
            out[i] = v / np.linalg.norm(v)
        return out

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self.embed_batch(texts) if texts else np.zeros((0, self.dim), np.float32)


def turn_pool() -> list[str]:
    pool = []
    for folder in (SEEDS, REAL):
        for p in sorted(folder.iterdir()):
            if p.suffix not in (".txt", ".md") or p.name == "SOURCE.md":
                continue
            doc = read_transcript(p, folder)
            for t in doc.turns:
                text = " ".join(doc.text[t.start : t.end].split())
                if t.speaker and len(text) > 40:
                    pool.append(text)
    return pool


def write_interviews(folder: Path, n: int, pool: list[str], start: int = 0) -> int:
    """`n` interviews of ~20,000 characters (200 M characters per 10,000 interviews), turns
    alternating between an interviewer (a pool sentence that asks) and a renamed guest whose
    answer is 2–12 pool sentences in a random order, so chunks are not copies of each other."""
    folder.mkdir(parents=True, exist_ok=True)
    sentences = [s.strip() + "." for t in pool for s in t.split(". ") if len(s) > 20]
    asks = [s.rstrip(".") for s in sentences if s.rstrip(".").endswith("?")] or sentences
    chars = 0
    for i in range(start, start + n):
        rng = random.Random(i)
        parts = [f"Interview {i}: a recombined benchmark transcript\n"]
        size = 0
        while size < 20_000:
            q = rng.choice(asks)
            a = " ".join(rng.choice(sentences) for _ in range(rng.randint(2, 12)))
            parts.append(f"Interviewer:\n{q}\n\nGuest {i % 977}:\n{a}\n")
            size += len(q) + len(a)
        text = "\n".join(parts)
        (folder / f"interview_{i:05d}.txt").write_text(text, encoding="utf-8")
        chars += len(text)
    return chars


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int, field: str = "VmHWM:") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_healthy(client: Any, url: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the server at `url` answers /health (an error if its process exits first)."""
    import httpx

    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"qa serve exited with {proc.returncode}")
        try:
            if client.get(f"{url}/health").status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)


def serve(index: Path, source: Path, questions: list[str]) -> dict[str, Any]:
    import httpx

    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(QA_BIN), "serve", "--port", str(port), "--index", str(index), "--source", str(source)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {}
    try:
        with httpx.Client(timeout=120) as client:
            wait_healthy(client, url, proc)
            out["health_s"] = time.perf_counter() - t0
            client.post(f"{url}/ask", json={"question": questions[0]})
            out["first_ask_s"] = time.perf_counter() - t0
            lat = []
            for q in questions[1:]:
                t1 = time.perf_counter()
                r = client.post(f"{url}/ask", json={"question": q})
                lat.append((time.perf_counter() - t1) * 1000)
                assert r.status_code == 200, r.text
            # The first questions a fresh server answers: nothing decoded, mapped pages cold.
            out["ask_p50_ms"] = statistics.median(lat)
            out["ask_p90_ms"] = float(np.percentile(lat, 90))
            for q in read_questions(WARMUP):
                client.post(f"{url}/ask", json={"question": q})
            warm = []
            for q in read_questions(WARM):
                t1 = time.perf_counter()
                r = client.post(f"{url}/ask", json={"question": q})
                warm.append((time.perf_counter() - t1) * 1000)
                assert r.status_code == 200, r.text
            # After answering the warm-up set: what a server that has been running serves at.
            out["warm_ask_p50_ms"] = statistics.median(warm)
            out["warm_ask_p90_ms"] = float(np.percentile(warm, 90))
            out["peak_rss_mb"] = rss_mb(proc.pid)
            out["rss_mb"] = rss_mb(proc.pid, "VmRSS:")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def recall(data: Any, queries: np.ndarray) -> dict[str, Any]:
    store = data.chunk_store
    vecs = np.vstack([p.chunk_vectors for p in data.parts.values()])
    exact = FaissStore.from_plan({"type": "flat"}, np.arange(len(vecs)), vecs)
    _, want = exact.search(queries, 10)
    t0 = time.perf_counter()
    _, got = store.search(queries, 10)
    ms = (time.perf_counter() - t0) * 1000 / len(queries)
    return {
        "store": "ivf" if store.approximate else "flat",
        "recall@10": ann.recall_at_k(got, want),
        "search_ms": ms,
    }


def build_archive(n: int, tmp: Path, stand_in: StandIn, pool: list[str]) -> dict[str, Any]:
    """N interviews and their index under `tmp` (kept: a later run with the same `--keep` folder
    reuses them; the interview added by a run is removed again first)."""
    src, idx = tmp / f"src-{n}", tmp / f"idx-{n}"
    done = tmp / f"built-{n}.json"
    extra = src / f"interview_{n:05d}.txt"
    if done.is_file() and (idx / "CURRENT").is_file():
        if extra.exists():
            extra.unlink()
            QAService(
                Settings(source_dir=src, index_dir=idx, reload_interval=-1), embedder=stand_in
            ).update()
        return dict(json.loads(done.read_text()), reused=True)
    shutil.rmtree(idx, ignore_errors=True)
    shutil.rmtree(src, ignore_errors=True)
    t0 = time.perf_counter()
    chars = write_interviews(src, n, pool)
    written = time.perf_counter() - t0
    s = Settings(source_dir=src, index_dir=idx, reload_interval=-1)
    t0 = time.perf_counter()
    rep = QAService(s, embedder=stand_in).build()
    row: dict[str, Any] = {
        "interviews": n,
        "chars": chars,
        "chunks": rep.chunks,
        "sentences": rep.sentences,
        "texts": rep.texts_embedded,
        "write_s": written,
        "build_s_standin": time.perf_counter() - t0,
        "build_load": loadavg(),
        "phases": rep.phases,
    }
    done.write_text(json.dumps(row, default=str))
    return row


def structure(
    n: int, tmp: Path, stand_in: StandIn, pool: list[str], dev: list[str]
) -> dict[str, Any]:
    src, idx = tmp / f"src-{n}", tmp / f"idx-{n}"
    row = build_archive(n, tmp, stand_in, pool)
    s = Settings(source_dir=src, index_dir=idx, reload_interval=-1)
    rep_chunks = row["chunks"]
    store = IndexDir(idx)
    row["segments_bytes"] = store.size_on_disk()
    row["cache_bytes"] = store.cache_bytes()
    row["versions_bytes"] = du(idx / "versions")
    row["bytes_per_chunk"] = (row["segments_bytes"] + row["versions_bytes"]) / rep_chunks
    row["bytes_per_chunk_with_cache"] = row["bytes_per_chunk"] + row["cache_bytes"] / rep_chunks
    print(n, {k: v for k, v in row.items() if k != "phases"}, file=sys.stderr)
    # A first load trains and keeps the IVF cells (once per version); the timed loads after it
    # are what every later start-up pays.
    svc = QAService(s, embedder=stand_in)
    t0 = time.perf_counter()
    svc.load()
    row["first_load_s"] = time.perf_counter() - t0
    # Derived per-group files (qa.store.groups), written by that first load: those the version
    # lists (groups/ also holds the intermediate ones of that load until they are collected).
    listed = json.loads((idx / "versions" / svc.index.version / "groups.json").read_text())
    row["groups"] = len(listed["groups"])
    row["groups_bytes"] = sum(du(idx / "groups" / g) for g in listed["groups"])
    row["groups_files"] = [
        {p.name: p.stat().st_size for p in (idx / "groups" / g).iterdir()} for g in listed["groups"]
    ]
    row["bytes_per_chunk_with_groups"] = row["bytes_per_chunk"] + row["groups_bytes"] / rep_chunks
    loads = []
    for _ in range(2):
        t0 = time.perf_counter()
        data = QAService(s, embedder=stand_in).load()
        loads.append(time.perf_counter() - t0)
    row["cold_load_s"] = min(loads)
    row["recall"] = recall(data, stand_in.embed(dev))
    del data
    # Reload after adding one interview, in a process that serves (the held version reused).
    write_interviews(src, 1, pool, start=n)
    rep = svc.update()
    row["add_one"] = {
        "seconds": rep.seconds,
        "reload_s": rep.phases.get("reload"),
        "embed_s": rep.phases.get("embed"),
        "minus_embed_s": rep.seconds - (rep.phases.get("embed") or 0),
        "phases": rep.phases,
    }
    del svc
    row["serve"] = serve(idx, src, dev)
    print(n, row, file=sys.stderr)
    return row


def peak_reset() -> None:
    """Reset this process's peak RSS (VmHWM), so the next reading is the peak since now."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def edits(n: int, tmp: Path, stand_in: StandIn) -> dict[str, Any]:
    """Change one interview and then delete another, both in the version's largest group, in a
    process that serves (the held version reused): each update's seconds, its save and reload
    phases, the peak RSS over it, and whether the largest group is still listed (not rebuilt).
    Modifies the archive under `tmp`: run it on a copy."""
    src, idx = tmp / f"src-{n}", tmp / f"idx-{n}"
    s = Settings(source_dir=src, index_dir=idx, reload_interval=-1)
    svc = QAService(s, embedder=stand_in)
    t0 = time.perf_counter()
    svc.load()
    row: dict[str, Any] = {"interviews": n, "load_s": time.perf_counter() - t0}

    def listed() -> list[str]:
        version = (idx / "CURRENT").read_text().strip()
        return list(json.loads((idx / "versions" / version / "groups.json").read_text())["groups"])

    def largest() -> tuple[str, list[str]]:
        metas = {g: json.loads((idx / "groups" / g / "meta.json").read_text()) for g in listed()}
        gid = max(metas, key=lambda g: sum(x[1] for x in metas[g]["segments"]))
        return gid, [str(x[4]) for x in metas[gid]["segments"]]

    gid, docs = largest()
    row["largest_group"] = {"id": gid, "documents": len(docs)}
    for what, doc in (("change_one", docs[len(docs) // 3]), ("delete_one", docs[len(docs) // 2])):
        path = src / doc
        if what == "change_one":
            path.write_text(path.read_text("utf-8") + "\nInterviewer:\nOne more thing?\n", "utf-8")
        else:
            path.unlink()
        peak_reset()
        rep = svc.update()
        row[what] = {
            "document": doc,
            "seconds": rep.seconds,
            "save_s": rep.phases.get("save"),
            "reload_s": rep.phases.get("reload"),
            "peak_rss_mb": rss_mb(os.getpid()),
            "groups": len(listed()),
            "largest_kept": gid in listed(),
            "phases": rep.phases,
        }
        print(n, what, row[what], file=sys.stderr)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[300, 1000])
    ap.add_argument("--skip-indexing", action="store_true")
    ap.add_argument("--noise", type=float, default=0.03)
    ap.add_argument("--json", type=Path, default=OUT)
    ap.add_argument("--keep", type=Path, help="build archives here and reuse them across runs")
    ap.add_argument("--build-only", action="store_true", help="only build the --sizes archives")
    ap.add_argument(
        "--edits",
        action="store_true",
        help="only change one interview and delete another in each --keep archive (modifies it)",
    )
    args = ap.parse_args()
    res: dict[str, Any] = {"argv": sys.argv[1:], "load_start": loadavg(), "cores": os.cpu_count()}
    dev = [json.loads(line)["question"] for line in DEV.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="qa-archive-") as t:
        tmp = args.keep or Path(t)
        tmp.mkdir(parents=True, exist_ok=True)
        if not args.skip_indexing:
            res["indexing"] = indexing(tmp)
        pool = turn_pool()
        real = QAService(Settings(source_dir=SEEDS, index_dir=tmp / "none")).embedder
        centres = real.embed(sorted(set(p[:300] for p in pool))[:400], 32)
        stand_in = StandIn(centres, args.noise)
        res["pool_turns"] = len(pool)
        res["structure"] = []
        for n in args.sizes:
            if args.edits:
                res.setdefault("edits", []).append(edits(n, tmp, stand_in))
                continue
            if args.build_only:
                print(n, build_archive(n, tmp, stand_in, pool), file=sys.stderr)
                continue
            res["structure"].append(structure(n, tmp, stand_in, pool, dev))
            if args.keep is None:
                shutil.rmtree(tmp / f"src-{n}", ignore_errors=True)
                shutil.rmtree(tmp / f"idx-{n}", ignore_errors=True)
        if args.build_only:
            return
    res["load_end"] = loadavg()
    res["finished"] = time.strftime("%Y-%m-%d %H:%M UTC")
    args.json.write_text(json.dumps(res, indent=2, default=str) + "\n")
    print(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
