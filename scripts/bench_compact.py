#!/usr/bin/env python
"""Issue 16: compaction of a group past its share of holes, at archive size.

Deletes `--delete` interviews of the version's largest group (every k-th of its documents) in
one update and times it, with the stand-in embedder of `bench_archive.py` (no text is embedded
by a delete). It modifies the archive: run it on a copy.

    cp -a /work/arch/idx-10000 /work/arch/src-10000 /tmp/archC/
    .venv/bin/python scripts/bench_compact.py --index /tmp/archC/idx-10000 \\
        --source /tmp/archC/src-10000 --delete 1000
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_archive as bench

from qa.service import QAService
from qa.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--delete", type=int, default=1000)
    args = ap.parse_args()
    pool = bench.turn_pool()
    real = QAService(Settings(source_dir=bench.SEEDS, index_dir=Path("/tmp/none"))).embedder
    centres = real.embed(sorted({p[:300] for p in pool})[:400], 32)
    stand_in = bench.StandIn(centres, 0.06)
    settings = Settings(source_dir=args.source, index_dir=args.index, reload_interval=-1)
    svc = QAService(settings, embedder=stand_in)
    version = args.index / "versions" / svc.index.version / "groups.json"
    listed = json.loads(version.read_text())["groups"]
    metas = {g: json.loads((args.index / "groups" / g / "meta.json").read_text()) for g in listed}
    big = max(listed, key=lambda g: len(metas[g]["segments"]))
    docs = [s[4] for s in metas[big]["segments"]]
    step = max(1, len(docs) // args.delete)
    gone = docs[::step][: args.delete]
    for d in gone:
        (args.source / d).unlink()
    t0 = time.perf_counter()
    report = svc.update()
    seconds = time.perf_counter() - t0
    after = json.loads((args.index / "versions" / svc.index.version / "groups.json").read_text())
    print(
        json.dumps(
            {
                "largest_group_docs": len(docs),
                "deleted": len(gone),
                "seconds": round(seconds, 1),
                "phases": {k: round(v, 2) for k, v in (report.phases or {}).items()},
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "largest_group_kept": big in after["groups"],
                "groups": len(after["groups"]),
                "documents": len(svc.index.documents),
                "load": bench.loadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
