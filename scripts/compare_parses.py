"""Turns of every transcript-like file under some folders, by two checkouts of qa: what changed.

An ingest change should move only the documents it means to. Run it with a checkout of the
previous code (`git worktree add /tmp/before main`) and this one, over corpora nobody tuned on:

    .venv/bin/python scripts/compare_parses.py --before /tmp/before --after . \\
        seeds corpora tests/data /path/to/other/transcripts /path/to/prose

It prints the files whose turns (speaker, start, end) differ, or whose reading failed on one
side only. Each side runs in its own process, so the two `qa` packages never meet.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SUFFIXES = {".txt", ".md", ".srt", ".vtt", ".json", ".docx", ".pdf"}

_CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from qa.ingest import parse_file
SUFFIXES = set(sys.argv[3].split(","))
out = {}
for root in sys.argv[4:]:
    for p in sorted(Path(root).rglob("*")):
        if p.is_file() and p.suffix.lower() in SUFFIXES:
            try:
                t = parse_file(p.name, p.read_bytes())
                out[str(p)] = [(u.speaker, u.start, u.end) for u in t.turns]
            except Exception as e:
                out[str(p)] = "error: " + type(e).__name__
json.dump(out, open(sys.argv[2], "w"))
"""


def turns(checkout: Path, roots: list[str], out: Path) -> dict[str, object]:
    suffixes = ",".join(sorted(SUFFIXES))
    subprocess.run(
        [sys.executable, "-c", _CHILD, str(checkout), str(out), suffixes, *roots], check=True
    )
    result: dict[str, object] = json.loads(out.read_text())
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, required=True)
    ap.add_argument("roots", nargs="+")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        a = turns(args.before.resolve(), args.roots, Path(tmp) / "a.json")
        b = turns(args.after.resolve(), args.roots, Path(tmp) / "b.json")
    changed = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    for k in changed:
        print(k)
    print(f"{len(changed)} of {len(a)} files read differently", file=sys.stderr)


if __name__ == "__main__":
    main()
