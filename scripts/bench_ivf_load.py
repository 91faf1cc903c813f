"""Building a version's IVF store at load: trained (k-means, then adding) vs read from the file the
first load keeps beside the manifest (qa.store.ivf_file), and a flat store for scale.

Usage: .venv/bin/python scripts/bench_ivf_load.py [--sizes 60000 200000] [--repeats 3]

Also the next version after an update that replaces 1% of the vectors: trained afresh vs built on
the previous version's cells (qa.store.ann.reuse_cells), with recall@10 against exact search.

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
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.store import ann  # noqa: E402
from qa.store.faiss_store import FaissStore  # noqa: E402
from qa.store.files import _store  # noqa: E402

NOISE = 0.06  # per dimension around unit centres, as scripts/bench.py's scale runs


def timed(fn: Callable[[], FaissStore], repeats: int) -> tuple[float, FaissStore]:
    times = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def measure(n: int, centres: np.ndarray, rng: np.random.Generator, repeats: int) -> None:
    vectors = ann.clustered_sample(centres, n, NOISE, rng)
    plan = ann.plan(n, min(ann.EXACT_BELOW, n))  # IVF at any size given
    queries = ann.clustered_sample(centres, 200, NOISE, rng)
    flat_s, _ = timed(
        lambda: FaissStore.from_plan({"type": "flat"}, np.arange(n), vectors), repeats
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

        train_s, a = timed(trained, repeats)

        def first() -> FaissStore:
            for p in folder.glob("*.ivf"):
                p.unlink()
            return read()  # no file yet: trains and keeps it

        first_s, _ = timed(first, repeats)
        size = (folder / "chunks.ivf").stat().st_size
        read_s, b = timed(read, repeats)
        ia = a.search(queries, 10)[1]
        ib = b.search(queries, 10)[1]
        same = "same results" if np.array_equal(ia, ib) else "DIFFERENT results"

        # An update replacing 1% of the vectors (the next version: other segments, no file yet).
        new = vectors.copy()
        swap = rng.choice(n, size=n // 100, replace=False)
        new[swap] = ann.clustered_sample(centres, len(swap), NOISE, rng)
        segs2 = ["synthetic-2"]

        def update(reuse: bool) -> FaissStore:
            for p in folder.glob("*.ivf"):
                p.unlink()
            earlier = (b, 2 * len(swap)) if reuse else None
            return _store("chunks", plan, new, folder, "v2", segs2, earlier)

        upd_train_s, c = timed(lambda: update(False), repeats)
        upd_reuse_s, d = timed(lambda: update(True), repeats)
        truth = FaissStore.from_plan({"type": "flat"}, np.arange(n), new).search(queries, 10)[1]
        r_train = ann.recall_at_k(c.search(queries, 10)[1], truth)
        r_reuse = ann.recall_at_k(d.search(queries, 10)[1], truth)
    print(
        f"| {n:,} | {plan['nlist']} | {flat_s:.2f} s | {train_s:.2f} s | {first_s:.2f} s "
        f"| {read_s:.2f} s "
        f"| {size / 2**20:.0f} MiB ({same}) | {upd_train_s:.2f} s (recall@10 {r_train:.4f}) "
        f"| {upd_reuse_s:.2f} s (recall@10 {r_reuse:.4f}) |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[60_000, 200_000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((1000, 384), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    print(
        "| vectors | nlist | flat store | IVF trained (before) | first load: trained + file kept "
        "| later loads: read from file | file | update (1% replaced): trained + kept "
        "| update: previous cells reused + kept |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        measure(n, centres, rng, args.repeats)


if __name__ == "__main__":
    main()
