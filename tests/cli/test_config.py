"""A bad `QA_*` value is one line naming the variable and what it accepts, and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.api import create_app
from qa.cli import main
from qa.errors import ConfigError


def run_main(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> int:
    monkeypatch.chdir(tmp_path)  # were a setting accepted, nothing would touch the repository
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setattr("sys.argv", ["qa", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    return int(stop.value.code or 0)


@pytest.mark.parametrize(
    ("variable", "value", "args", "says"),
    [
        ("QA_RETRIEVAL__MODE", "fast", ["search", "robots"], "'hybrid', 'dense' or 'bm25'"),
        ("QA_RETRIEVAL__MODE", "fast", ["ask", "robots"], "'hybrid', 'dense' or 'bm25'"),
        ("QA_PORT", "x", ["serve"], "integer"),
        ("QA_EMBEDDER", "gpu", ["index", "build"], "'onnx-fp32'"),
        ("QA_MAX_UPLOAD_BYTES", "lots", ["index", "status"], "integer"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    variable: str,
    value: str,
    args: list[str],
    says: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert run_main(monkeypatch, tmp_path, *args) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"qa: error: {variable}={value!r} is invalid"), err
    assert says in lines[0], err


def test_the_app_refuses_a_bad_setting_before_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_REQUEST_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="QA_REQUEST_TIMEOUT='soon' is invalid"):
        create_app()


@pytest.mark.parametrize("args", [[], ["index"]], ids=["qa", "qa-index"])
def test_no_command_shows_the_help_and_exits_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: list[str],
) -> None:
    assert run_main(monkeypatch, tmp_path, *args) == 2
    out, err = capsys.readouterr()
    assert "Usage:" in out and "Traceback" not in out + err
