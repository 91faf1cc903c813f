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


def test_a_database_that_cannot_be_reached_is_one_line(qa_cli: CLI, tmp_path: Path) -> None:
    # psycopg's message has a line break and a tab ("…Connection refused\n\tIs the server
    # running on that host…?"): it was printed as two lines.
    url = "postgresql://nobody@127.0.0.1:1/none"  # port 1: refused at once
    done = qa_cli("ask", "anything", "--store", url, "--source", str(tmp_path))
    assert done.returncode == 8, done.stderr
    assert done.stderr.startswith("qa: error: cannot reach the database postgresql://")
    assert done.stderr.count("\n") == 1 and "\t" not in done.stderr, done.stderr
