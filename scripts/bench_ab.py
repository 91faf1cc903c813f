"""A/B: in-process search() and ask() p50 of two checkouts of qa, in the same minute.

Usage: .venv/bin/python scripts/bench_ab.py CHECKOUT   (run it for each checkout, interleaved)
Builds the checkout's seeds into a temporary index with the real model, then times every dev
question 3 times (query cache cleared before each call). Prints one JSON line.
"""
import json, statistics, sys, time, shutil, tempfile
from pathlib import Path
root = Path(sys.argv[1])
sys.path.insert(0, str(root))
from qa.service import QAService
try:
    from qa.settings import load_settings as make
except ImportError:
    from qa.settings import Settings as make
tmp = Path(tempfile.mkdtemp())
shutil.copytree(root / "seeds", tmp / "seeds")
svc = QAService(make(source_dir=tmp / "seeds", index_dir=tmp / "index"))
svc.build()
qs = [json.loads(l)["question"] for l in open(Path(__file__).resolve().parent.parent / "tests" / "data" / "seed_qa_dev.jsonl") if l.strip()]
svc.ask(qs[0])
def clear():
    if hasattr(svc, "searcher"): svc.searcher.clear_cache()
    else: svc._query_cache.clear()
lat_s, lat_a = [], []
for _ in range(3):
    for q in qs:
        clear(); t = time.perf_counter(); svc.search(q); lat_s.append((time.perf_counter() - t) * 1000)
        clear(); t = time.perf_counter(); svc.ask(q); lat_a.append((time.perf_counter() - t) * 1000)
print(json.dumps({"code": str(root), "search_p50": statistics.median(lat_s), "ask_p50": statistics.median(lat_a)}))
