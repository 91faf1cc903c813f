"""`qa serve` refuses an address it could not listen on before the model and the index load."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.cli import main


class Loaded(Exception):
    """`qa serve` went on to open the service: the address was accepted."""


@pytest.fixture
def serve(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Callable[..., tuple[int, str]]:
    """Run `qa serve ARGS` in process; opening the service raises `Loaded` instead of loading."""

    def opened(*args: object, **kwargs: object) -> None:
        raise Loaded

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QA_HOST", raising=False)
    monkeypatch.delenv("QA_PORT", raising=False)
    monkeypatch.setattr("qa.cli.serve.open_service", opened)

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr("sys.argv", ["qa", "serve", *args])
        with pytest.raises(SystemExit) as stop:
            main()
        out, err = capsys.readouterr()
        assert out == "" and "Traceback" not in err
        return int(stop.value.code or 0), err

    return run


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qa: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "-1"], "--port / QA_PORT must be from 1 to 65535, not -1"),
        (["--port", "0"], "not 0"),
        (["--port", "65536"], "not 65536"),
        (["--host", "999.1.1.1"], "'999.1.1.1' is not an IPv4 address"),
        (["--host", ""], "--host / QA_HOST is empty"),
        (["--host", "no-such-host.invalid"], "is not an address or a name this machine resolves"),
        (["--host", "192.0.2.1"], "cannot listen on 192.0.2.1 port"),  # TEST-NET: not ours
    ],
)
def test_a_bad_address_is_one_line_before_anything_loads(
    serve: Callable[..., tuple[int, str]], args: list[str], says: str
) -> None:
    code, err = serve("--port", "8000", *args)  # a later --port wins
    assert code == 2
    assert says in one_error_line(err), err


def test_a_bad_address_from_the_environment_is_refused_too(
    serve: Callable[..., tuple[int, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_HOST", "999.1.1.1")
    code, err = serve()
    assert code == 2
    assert "--host / QA_HOST '999.1.1.1' is not an IPv4 address" in one_error_line(err)


def test_a_port_in_use_is_one_line(serve: Callable[..., tuple[int, str]]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = serve("--host", "127.0.0.1", "--port", str(port))
    assert code == 2
    line = one_error_line(err)
    assert f"cannot listen on 127.0.0.1 port {port}: " in line and "in use" in line, err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.1"])
def test_a_good_address_goes_on_to_load(
    serve: Callable[..., tuple[int, str]], free_port: Callable[[], int], host: str
) -> None:
    with pytest.raises(Loaded):
        serve("--host", host, "--port", str(free_port()))
