"""`qa db …` and `qa worker` from the command line (the installed console script)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

CLI = Callable[..., subprocess.CompletedProcess[str]]


def test_db_migrate_creates_the_schema_once(qa_cli: CLI, pg_url: str) -> None:
    first = qa_cli("db", "migrate", "--store", pg_url, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["applied"] == [1, 2] and report["schema_version"] == report["latest"] == 2
    again = qa_cli("db", "migrate", "--store", pg_url)
    assert again.returncode == 0 and "applied: none" in again.stdout


def test_db_commands_without_a_database_fail_in_one_line(qa_cli: CLI, tmp_path: Path) -> None:
    for args in (("db", "export", str(tmp_path)), ("worker",)):
        done = qa_cli(*args, "--store", "sqlite:///nope")
        assert done.returncode != 0
        assert done.stderr.strip().count("\n") == 0 and "postgresql://" in done.stderr
    done = qa_cli("db", "migrate")  # no QA_STORE: the files backend
    assert done.returncode != 0 and "needs a database" in done.stderr
