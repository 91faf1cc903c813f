"""Building a version's IVF store at load: trained (k-means, then adding) vs read from the file the
first load keeps beside the manifest (qa.store.ivf_file), and a flat store for scale.

Usage: .venv/bin/python scripts/bench_ivf_load.py [--sizes 60000 200000] [--repeats 3]

Synthetic clustered unit vectors (384-d, as MiniLM's), planned as a live index plans them
(qa.store.ann.plan, default threshold), built through the same path a load takes
(qa.store.index._store). One FAISS thread, as the service runs. Prints a Markdown table of
medians; the figures are in docs/benchmarks-update.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.store import ann  # noqa: E402
from qa.store.faiss_store import FaissStore  # noqa: E402
from qa.store.index import _store  # noqa: E402


def timed(fn: object, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[60_000, 200_000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((2000, 384), dtype=np.float32)
    print(
        "| vectors | nlist | flat store | IVF trained (before) | first load: trained + file kept "
        "| later loads: read from file | file |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        vectors = ann.clustered_sample(centres, n, 0.6, rng)
        plan = ann.plan(n)
        queries = ann.clustered_sample(centres, 200, 0.6, rng)
        flat_s, _ = timed(
            lambda: FaissStore.from_plan({"type": "flat"}, np.arange(n), vectors), args.repeats
        )
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            segs = ["synthetic"]

            def trained() -> FaissStore:
                for p in folder.glob("*.ivf"):
                    p.unlink()
                return _store("chunks", plan, vectors, None, "v", segs)

            def read() -> FaissStore:
                return _store("chunks", plan, vectors, folder, "v", segs)

            train_s, a = timed(trained, args.repeats)

            def first() -> FaissStore:
                for p in folder.glob("*.ivf"):
                    p.unlink()
                return read()  # no file yet: trains and keeps it

            first_s, _ = timed(first, args.repeats)
            size = (folder / "chunks.ivf").stat().st_size
            read_s, b = timed(read, args.repeats)
            ia = a.search(queries, 10)[1]  # type: ignore[attr-defined]
            ib = b.search(queries, 10)[1]  # type: ignore[attr-defined]
            same = "same results" if np.array_equal(ia, ib) else "DIFFERENT results"
        print(
            f"| {n:,} | {plan['nlist']} | {flat_s:.2f} s | {train_s:.2f} s | {first_s:.2f} s "
            f"| {read_s:.2f} s "
            f"| {size / 2**20:.0f} MiB ({same}) |"
        )


if __name__ == "__main__":
    main()
