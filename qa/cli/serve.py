"""`qa serve`: the HTTP API under uvicorn, on an index brought up to date first if asked."""

from __future__ import annotations

import errno
import socket
from typing import Annotated, Optional

import typer

from qa.cli.options import IndexOpt, SourceOpt, StoreOpt, open_service
from qa.errors import InvalidInput
from qa.settings import load_settings

BuildOpt = Annotated[
    bool,
    typer.Option(
        "--build/--no-build", help="build or update the index first if it is missing or stale"
    ),
]
WatchOpt = Annotated[
    bool, typer.Option("--watch", help="update the index when the source folder changes")
]


def check_address(host: str, port: int) -> None:
    """Refuse, before the model and the index load, an address uvicorn could not listen on.

    Port 0 is refused too: uvicorn would pick a free port and no client would know which. Each
    address is bound once as asyncio will bind it (SO_REUSEADDR, IPV6_V6ONLY), so a port another
    server holds is one line here; one taken between this check and uvicorn still fails late.
    """
    if not 1 <= port <= 65535:
        raise InvalidInput(f"--port / QA_PORT must be from 1 to 65535, not {port}")
    if not host.strip():
        raise InvalidInput("--host / QA_HOST is empty (0.0.0.0 listens on every interface)")
    where = f"--host / QA_HOST {host!r}"
    if host.replace(".", "").isdigit():  # dotted digits: an IPv4 address or nothing, no DNS
        try:
            socket.inet_aton(host)  # as uvicorn reads it: `127.1` is 127.0.0.1
        except OSError:
            raise InvalidInput(f"{where} is not an IPv4 address") from None
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidInput(
            f"{where} is not an address or a name this machine resolves ({why})"
        ) from None
    bound, failed = 0, None
    for family, kind, proto, _, address in set(found):  # each one asyncio will bind
        try:
            sock = socket.socket(family, kind, proto)
        except OSError:
            continue  # a family this machine lacks (IPv6): asyncio skips it too
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
                bound += 1
            except OSError as exc:
                failed = exc
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):  # taken, or not ours to take
                    break
    # Another failure (`::1` of `localhost` where IPv6 is off) matters only if nothing binds.
    if failed is not None and (not bound or failed.errno in (errno.EADDRINUSE, errno.EACCES)):
        why = failed.strerror or str(failed)
        if failed.errno == errno.EADDRINUSE:
            why += " (another server is listening there)"
        raise InvalidInput(f"cannot listen on {host} port {port}: {why}")


def serve(
    host: Annotated[Optional[str], typer.Option(help="bind address [QA_HOST]")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option(help="port [QA_PORT]")] = None,  # noqa: UP045
    source: SourceOpt = None,
    index: IndexOpt = None,
    store: StoreOpt = None,
    build: BuildOpt = False,
    watch: WatchOpt = False,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    defaults = load_settings()  # QA_HOST, QA_PORT: checked with the options, before any loading
    host = defaults.host if host is None else host
    port = defaults.port if port is None else port
    check_address(host, port)

    from qa.api import create_app
    from qa.api.server import run

    svc = open_service(source, index, store=store, serving=True)
    svc.check_index(update=build or watch, notify=lambda msg: typer.echo(f"qa: {msg}", err=True))
    run(create_app(service=svc, watch=watch), host, port, svc.settings.log_level)
