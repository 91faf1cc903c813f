"""Soak: many readers for a minute while transcripts are uploaded and deleted; memory sampled.

Usage: .venv/bin/python scripts/soak.py [--clients 32] [--seconds 60] [--modes inline,process]
                                        [--out docs/soak.json]

The seeds are copied and indexed once into a temporary folder. For each mode of
`QA_INDEXING__SERVER_UPDATES` (in the same run, so the ratio is what counts on a noisy machine) a
fresh `qa serve` is started, warmed, and then for `--seconds`:

- `--clients` threads alternate `/ask` and `/search` with distinct questions (no cache hits);
- one writer uploads a new transcript (`--upload-chars`, turns recombined from corpora/real, so its
  sentences are new to the embedding cache), waits for the answer, deletes the one before, and
  starts again after a pause;
- the RSS of the server and its children is sampled every 0.5 s.

Reported per mode: requests, errors, read latency p50/p99 overall and split by whether the read
overlapped an upload, upload and delete durations, RSS at the start/end/peak and its growth
(least-squares slope after the first 10 s, MB per minute).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, SEEDS, distinct_questions, free_port, loadavg, pct

QA_BIN = Path(sys.executable).parent / "qa"
KEY = "soak-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
REAL = ROOT / "corpora" / "real"


@dataclass
class ModeResult:
    mode: str
    clients: int
    seconds: float
    requests: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    read_ms: dict[str, float] = field(default_factory=dict)
    during_upload_ms: dict[str, float] = field(default_factory=dict)
    outside_upload_ms: dict[str, float] = field(default_factory=dict)
    uploads: int = 0
    upload_s: dict[str, float] = field(default_factory=dict)
    delete_s: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    rss_curve: list[tuple[int, float]] = field(default_factory=list)  # (second, MB) every 10 s
    load_average: str = ""


def turns() -> list[str]:
    """Speaker turns of the Markdown transcripts in corpora/real (`**NAME:** text` lines)."""
    out: list[str] = []
    for path in sorted(REAL.glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.match(r"^[A-Z][A-Za-z .'-]{1,40}:\s+\S", line) and len(line) > 80:
                out.append(line)
    return out


def transcript(pool: list[str], rng: random.Random, n: int, size: int) -> str:
    """A new transcript: a unique first line, then turns drawn from `pool`, renamed."""
    speakers = ["Reporter", "Interviewer", "Guest", "Host"]
    lines = [f"Soak transcript {n} ({rng.random():.12f})", ""]
    done = 0
    while done < size:
        turn = rng.choice(pool)
        body = turn.split(":", 1)[1].strip()
        words = body.split()
        rng.shuffle(words)  # new sentences for the embedding cache, real vocabulary
        text = " ".join(words)
        lines.append(f"{rng.choice(speakers)}: {text}")
        lines.append("")
        done += len(text)
    return "\n".join(lines)


def tree_rss_mb(pid: int) -> float:
    """RSS of `pid` and its descendants (the indexing process counts), in MB."""
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    tree = {pid}
    grew = True
    while grew:
        kids = {p for p, pp in parent.items() if pp in tree} - tree
        tree |= kids
        grew = bool(kids)
    total = 0
    for p in tree:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def slope_per_min(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 3:
        return float("nan")
    xs = [t for t, _ in samples]
    ys = [v for _, v in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0


def summary_ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": pct(values, 50), "p99": pct(values, 99)}


def run_mode(
    mode: str, source: Path, index: Path, questions: list[str], args: argparse.Namespace
) -> ModeResult:
    work = Path(tempfile.mkdtemp(prefix=f"qa-soak-{mode}-"))
    src, idx = work / "src", work / "index"
    shutil.copytree(source, src)
    shutil.copytree(index, idx)
    port = free_port()
    env = {
        **os.environ,
        "QA_API_KEY": KEY,
        "QA_RELOAD_INTERVAL": "0.5",
        "QA_INDEXING__SERVER_UPDATES": mode,
    }
    cmd = [str(QA_BIN), "serve", "--port", str(port), "--index", str(idx), "--source", str(src)]
    log = (work / "server.log").open("wb")
    proc = __import__("subprocess").Popen(cmd, stdout=log, stderr=log, env=env)
    url = f"http://127.0.0.1:{port}"
    result = ModeResult(mode=mode, clients=args.clients, seconds=args.seconds)
    try:
        with httpx.Client(base_url=url, timeout=5) as c:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"qa serve exited with {proc.returncode}")
                try:
                    if c.get("/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            for q in questions[:20]:  # warm-up: first-use costs out of the figures
                c.post("/ask", json={"question": q})
        pool = turns()
        rng = random.Random(7)
        reads: list[tuple[float, float, float]] = []  # (start, end, ms)
        uploads: list[tuple[float, float]] = []
        deletes: list[float] = []
        failures: list[str] = []
        rss: list[tuple[float, float]] = []
        lock = threading.Lock()
        t0 = time.monotonic()
        stop = t0 + args.seconds
        todo = iter(questions[20:])

        def reader(n: int) -> None:
            with httpx.Client(base_url=url, timeout=120) as c:
                i = 0
                while time.monotonic() < stop:
                    with lock:
                        q = next(todo, None)
                    if q is None:
                        return
                    route = "/ask" if (n + i) % 2 == 0 else "/search"
                    i += 1
                    s = time.monotonic()
                    try:
                        if route == "/ask":
                            r = c.post(route, json={"question": q, "k": 3})
                        else:
                            r = c.get(route, params={"q": q, "k": 3})
                        ok = r.status_code == 200
                        why = f"{route} {r.status_code} {r.text[:120]}"
                    except httpx.HTTPError as exc:
                        ok, why = False, f"{route} {type(exc).__name__}"
                    e = time.monotonic()
                    with lock:
                        reads.append((s - t0, e - t0, (e - s) * 1000))
                        if not ok:
                            failures.append(why)

        def writer() -> None:
            previous: str | None = None
            n = 0
            with httpx.Client(base_url=url, timeout=600, headers=AUTH) as c:
                while time.monotonic() < stop - 2:
                    name = f"soak-{n:04d}.txt"
                    body = transcript(pool, rng, n, args.upload_chars)
                    s = time.monotonic()
                    r = c.post("/documents", json={"name": name, "text": body})
                    e = time.monotonic()
                    with lock:
                        uploads.append((s - t0, e - t0))
                        if r.status_code not in (200, 201):
                            failures.append(f"upload {r.status_code} {r.text[:120]}")
                    if previous is not None:
                        s = time.monotonic()
                        r = c.delete(f"/documents/{previous}")
                        with lock:
                            deletes.append(time.monotonic() - s)
                            if r.status_code != 200:
                                failures.append(f"delete {r.status_code} {r.text[:120]}")
                    previous = name
                    n += 1
                    time.sleep(args.pause)

        def sampler() -> None:
            while time.monotonic() < stop:
                rss.append((time.monotonic() - t0, tree_rss_mb(proc.pid)))
                time.sleep(0.5)

        threads = [threading.Thread(target=reader, args=(n,)) for n in range(args.clients)]
        threads += [threading.Thread(target=writer), threading.Thread(target=sampler)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        def overlaps(s: float, e: float) -> bool:
            return any(us < e and s < ue for us, ue in uploads)

        lat = [ms for _, _, ms in reads]
        result.requests = len(reads) + len(uploads) + len(deletes)
        result.errors = len(failures)
        result.error_samples = failures[:5]
        result.read_ms = summary_ms(lat)
        result.during_upload_ms = summary_ms([ms for s, e, ms in reads if overlaps(s, e)])
        result.outside_upload_ms = summary_ms([ms for s, e, ms in reads if not overlaps(s, e)])
        result.uploads = len(uploads)
        up = [e - s for s, e in uploads]
        result.upload_s = {"p50": pct(up, 50), "max": max(up)} if up else {}
        result.delete_s = {"p50": pct(deletes, 50), "max": max(deletes)} if deletes else {}
        later = [(t, v) for t, v in rss if t >= 10]
        result.rss_mb = {
            "start": rss[0][1] if rss else float("nan"),
            "end": rss[-1][1] if rss else float("nan"),
            "peak": max(v for _, v in rss) if rss else float("nan"),
            "growth_mb_per_min_after_10s": slope_per_min(later),
        }
        result.rss_curve = [
            (int(t), round(v)) for t, v in rss if int(t) % 10 == 0 and t - int(t) < 0.5
        ]
        result.load_average = loadavg()
        return result
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except Exception:
            proc.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--pause", type=float, default=3.0, help="seconds between writes")
    ap.add_argument("--upload-chars", type=int, default=6000, help="size of each upload")
    ap.add_argument("--modes", default="inline,process")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    from qa.service import QAService
    from qa.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="qa-soak-"))
    try:
        index = tmp / "index"
        svc = QAService(Settings(source_dir=SEEDS, index_dir=index))
        svc.build()
        questions = distinct_questions(svc.index.sentence_texts, 20_000)
        print(f"load average at start: {loadavg()}", file=sys.stderr)
        results: list[dict[str, Any]] = []
        for i, mode in enumerate(args.modes.split(",")):
            share = questions[i::2] if len(args.modes.split(",")) == 2 else questions
            r = run_mode(mode, SEEDS, index, share, args)
            print(json.dumps(asdict(r)), flush=True)
            results.append(asdict(r))
        if args.out:
            args.out.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
