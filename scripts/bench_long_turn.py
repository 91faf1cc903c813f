#!/usr/bin/env python
"""Indexing cost of one long speaker turn: peak RSS, segment bytes and seconds against text size.

    .venv/bin/python scripts/bench_long_turn.py [--sizes 0.25,0.5,1,2] [--cues 10000,40000,100000]
        [--real] [--ceiling-gb 4] [--json FILE] [--code DIR]

`--code DIR` measures another checkout of qa (e.g. `git archive <commit> | tar -x -C DIR`), for
before/after figures with the same inputs.

Each case is indexed in a fresh child process (`qa index build` through QAService) from a file
generated here, deterministically, out of the words of seeds/:
- `txt`: `Alice: ` and one paragraph of N bytes (a lecture or monologue: one turn);
- `vtt`: one WebVTT cue whose text is N bytes;
- `srt`: N cues continuing one speaker (one turn of N segments).
The child's peak RSS is its `ru_maxrss` (from wait4); a child whose RSS passes `--ceiling-gb` is
killed and reported as such, so a superlinear build cannot take the shared machine down. The fake
bag-of-words embedder (qa.embed.HashEmbedder) is used unless `--real`: it costs what the model does
not, so what is measured is chunking, tokenising, segment writing and loading.
Figures are recorded in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from qa.service import QAService
from qa.settings import Settings
source, index, real = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
embedder = None
if not real:
    sys.path.insert(0, {root!r} + "/tests")
    try:
        from fakes import HashEmbedder  # the test double (tests/fakes.py)
    except ImportError:  # a checkout from before it moved there
        from qa.embed import HashEmbedder
    embedder = HashEmbedder()
t = time.perf_counter()
report = QAService(Settings(source_dir=source, index_dir=index), embedder=embedder).build()
hwm = next(x.split()[1] for x in open("/proc/self/status") if x.startswith("VmHWM:"))
print(time.perf_counter() - t, report.chunks, report.sentences, hwm)
"""


def words() -> list[str]:
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt")))
    return re.findall(r"[A-Za-z][A-Za-z'’-]*", text)


def sentences(n_bytes: int, seed: int = 0) -> list[str]:
    """Sentences of 6–24 seed words, about `n_bytes` in all, the same on every run."""
    rng = random.Random(seed)
    vocab = words()
    out: list[str] = []
    size = 0
    while size < n_bytes:
        s = " ".join(rng.choice(vocab) for _ in range(rng.randint(6, 24))).capitalize() + "."
        out.append(s)
        size += len(s.encode()) + 1
    return out


def long_txt(n_bytes: int) -> str:
    return "Alice: " + " ".join(sentences(n_bytes)) + "\n"


def long_vtt(n_bytes: int) -> str:
    return "WEBVTT\n\n00:00:00.000 --> 01:00:00.000\n" + " ".join(sentences(n_bytes)) + "\n"


def many_cues(n: int) -> str:
    """`n` SubRip cues, one sentence each; the first names the speaker, the rest continue."""
    lines = []
    for i, s in enumerate(sentences(n * 90)[:n]):
        a, b = i * 2, i * 2 + 2
        stamp = f"{a // 3600:02d}:{a // 60 % 60:02d}:{a % 60:02d},000 --> "
        stamp += f"{b // 3600:02d}:{b // 60 % 60:02d}:{b % 60:02d},000"
        lines.append(f"{i + 1}\n{stamp}\n{'Alice: ' if i == 0 else ''}{s}\n")
    return "\n".join(lines)


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(
    name: str, text: str, real: bool, ceiling_kb: int, code: Path, timeout: float
) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="qa-long-turn-"))
    try:
        source = base / "source"
        source.mkdir()
        (source / name).write_text(text, encoding="utf-8")
        started = time.perf_counter()
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD.format(root=str(code)),
                str(source),
                str(base / "index"),
                "1" if real else "0",
            ],
            stdout=(base / "out").open("w"),
            stderr=(base / "err").open("w"),  # files, not pipes: a full pipe would stall it
        )
        killed = timed_out = False
        # wait4, not poll: it reaps the child and gives its peak RSS (ru_maxrss) in one call.
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                child.returncode = os.waitstatus_to_exitcode(status)
                break
            if not killed and _rss_kb(child.pid) > ceiling_kb:
                child.send_signal(signal.SIGKILL)
                killed = True
            if not killed and time.perf_counter() - started > timeout:
                child.send_signal(signal.SIGKILL)
                timed_out = killed = True
            time.sleep(0.05)
        out = (base / "out").read_text(encoding="utf-8")
        err = (base / "err").read_text(encoding="utf-8")
        seconds = time.perf_counter() - started
        segs = sum(p.stat().st_size for p in (base / "index").rglob("*.seg"))
        row: dict[str, Any] = {
            "case": name,
            "text_bytes": len(text.encode()),
            "segment_bytes": segs,
            "seconds": round(seconds, 2),
            "killed_over_gb": round(ceiling_kb / 2**20, 1) if killed and not timed_out else None,
            "killed_after_s": round(timeout) if timed_out else None,
        }
        row["peak_rss_mb"] = round(usage.ru_maxrss / 1024)
        if child.returncode == 0 and out.strip():
            build_s, chunks, sents, hwm_kb = out.split()
            # The child's own peak: ru_maxrss (above) also carries over the forking parent's.
            row["peak_rss_mb"] = round(int(hwm_kb) / 1024)
            row.update(build_seconds=round(float(build_s), 2), chunks=int(chunks))
            row["sentences"] = int(sents)
        elif not killed:
            row["error"] = err.strip().splitlines()[-1:] or [f"exit {child.returncode}"]
        return row
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="0.25,0.5,1,2", help="single-turn .txt sizes, MB")
    ap.add_argument("--vtt", default="1", help="one-cue .vtt sizes, MB ('' for none)")
    ap.add_argument("--cues", default="10000,40000,100000", help="one-turn .srt cue counts")
    ap.add_argument("--real", action="store_true", help="the real model instead of the fake")
    ap.add_argument("--ceiling-gb", type=float, default=4.0, help="kill a child above this RSS")
    ap.add_argument("--json", type=Path, help="write the rows here too")
    ap.add_argument("--timeout", type=float, default=600, help="kill a child after this, s")
    ap.add_argument("--code", type=Path, default=ROOT, help="the qa checkout to measure")
    args = ap.parse_args()
    ceiling = int(args.ceiling_gb * 2**20)
    cases: list[tuple[str, str]] = []
    for mb in filter(None, args.sizes.split(",")):
        cases.append((f"long-turn-{mb}MB.txt", long_txt(int(float(mb) * 2**20))))
    for mb in filter(None, args.vtt.split(",")):
        cases.append((f"long-cue-{mb}MB.vtt", long_vtt(int(float(mb) * 2**20))))
    for n in filter(None, args.cues.split(",")):
        cases.append((f"cues-{n}.srt", many_cues(int(n))))
    rows = []
    print("| case | text bytes | peak RSS MB | segment bytes | seconds | chunks |")
    print("|---|---|---|---|---|---|")
    for name, text in cases:
        row = measure(name, text, args.real, ceiling, args.code.resolve(), args.timeout)
        rows.append(row)
        rss = row.get("peak_rss_mb", "?")
        if row["killed_over_gb"]:
            rss = f"killed > {row['killed_over_gb']} GB"
        if row["killed_after_s"]:
            rss = f"{rss} (killed after {row['killed_after_s']} s)"
        print(
            f"| {name} | {row['text_bytes']:,} | {rss} | {row['segment_bytes']:,} | "
            f"{row['seconds']} | {row.get('chunks', row.get('error', ''))} |",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
