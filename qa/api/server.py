"""uvicorn for `qa serve`: JSON logs, no duplicate access log, and a clean exit on SIGTERM."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from qa.api.observability import configure_logging

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulServer(uvicorn.Server):
    """uvicorn, except that a SIGTERM/SIGINT stop after draining requests exits 0.

    uvicorn stops accepting, finishes in-flight requests, then re-raises the signal, so the
    process would die with -15; for a supervisor a drained, clean stop is a success.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run(app: FastAPI, host: str, port: int, log_level: str) -> None:
    """Serve `app` until SIGTERM/SIGINT; in-flight requests finish first."""
    configure_logging(log_level)
    # Our middleware logs each request as JSON with its id; uvicorn's access log would repeat it.
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level.lower(), access_log=False
    )
    GracefulServer(config).run()
