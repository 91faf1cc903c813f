#!/usr/bin/env python
"""Large request bodies against a real `qa serve`: status, seconds to the answer, server RSS growth.

    .venv/bin/python scripts/probe_body_limits.py --index DIR --source DIR [--mb 100]

Starts `qa serve` on a free loopback port with QA_API_KEY and QA_READ_API_KEY set, then sends,
over a raw socket, `--mb` MB bodies: to /ask without a key, to /ask with the key (streamed,
chunked), and to POST /documents without a key. The body is sent while the answer is awaited, so
a server that answers early is timed as such. Figures are recorded in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

QA = Path(sys.executable).parent / "qa"
READ_KEY, WRITE_KEY = "probe-read", "probe-write"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def send(port: int, head: str, body_mb: int, chunked: bool) -> tuple[str, float]:
    """(status line, seconds until the first byte of the answer)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(head.encode("latin-1"))
    piece = b"x" * 65536
    started = time.perf_counter()

    def body() -> None:
        try:
            for _ in range(body_mb * 16):
                if chunked:
                    sock.sendall(b"10000\r\n" + piece + b"\r\n")
                else:
                    sock.sendall(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: the rest is not wanted

    writer = threading.Thread(target=body, daemon=True)
    writer.start()
    sock.settimeout(120)
    first = sock.recv(200)
    seconds = time.perf_counter() - started
    sock.close()
    writer.join(timeout=5)
    return first.split(b"\r\n")[0].decode("latin-1"), seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--mb", type=int, default=100)
    args = ap.parse_args()
    port = free_port()
    env = {**os.environ, "QA_API_KEY": WRITE_KEY, "QA_READ_API_KEY": READ_KEY}
    cmd = [str(QA), "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--index", str(args.index), "--source", str(args.source)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                    if b" 200 " in s.recv(100):
                        break
            except OSError:
                time.sleep(0.2)
        size = args.mb * 2**20
        cases = [
            ("POST /ask, no key, Content-Length", f"POST /ask HTTP/1.1\r\nHost: x\r\n"
             f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n", False),
            ("POST /ask, key, chunked", f"POST /ask HTTP/1.1\r\nHost: x\r\n"
             f"Authorization: Bearer {READ_KEY}\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\n\r\n", True),
            ("POST /documents, no key, Content-Length", f"POST /documents HTTP/1.1\r\n"
             f"Host: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n", False),
        ]  # fmt: skip
        rows = []
        for name, head, chunked in cases:
            before = rss_mb(server.pid)
            status, seconds = send(port, head, args.mb, chunked)
            time.sleep(0.5)
            rows.append(
                {
                    "case": f"{name} ({args.mb} MB)",
                    "status": status,
                    "seconds": round(seconds, 3),
                    "rss_growth_mb": round(rss_mb(server.pid) - before),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
