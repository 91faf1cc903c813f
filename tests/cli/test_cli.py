"""The `qa` console script as a user runs it: a subprocess per command (each loads the model)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from qa.models import dump

if TYPE_CHECKING:
    from conftest import Built

pytestmark = pytest.mark.slow

ASK_KEYS = {
    "question", "answerable", "answer", "quotes", "passages", "coverage", "confidence", "related"
}  # fmt: skip
QaCli = Callable[..., subprocess.CompletedProcess[str]]
Verbatim = Callable[[Any, Path], int]


def where(built: Built) -> list[str]:
    return ["--source", str(built.source), "--index", str(built.index)]


def test_ask_json(qa_cli: QaCli, seeded: Built, verbatim: Verbatim, tmp_path: Path) -> None:
    question = "How many Optimus robots does Tesla plan to build next year?"
    done = qa_cli("ask", question, "--json", *where(seeded), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert set(body) == ASK_KEYS
    assert body["question"] == question
    assert body["answerable"] and body["quotes"]
    assert "[000_c8b093dbc246d9b3.txt, line" in body["answer"]
    assert verbatim(body["quotes"] + body["passages"], seeded.source) > 0
    # Same service, same answer as the library gives.
    assert body == json.loads(json.dumps(dump(seeded.service.ask(question))))


def test_search_json(qa_cli: QaCli, seeded: Built, verbatim: Verbatim, tmp_path: Path) -> None:
    done = qa_cli("search", "Neuralink patients", "-k", "3", "--json", *where(seeded), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert set(body) == {"passages"} and len(body["passages"]) == 3
    assert verbatim(body["passages"], seeded.source) == 3


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_search_modes(
    qa_cli: QaCli, seeded: Built, verbatim: Verbatim, tmp_path: Path, mode: str
) -> None:
    done = qa_cli(
        "search", "Neuralink patients", "--mode", mode, "--json", *where(seeded), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    passages = json.loads(done.stdout)["passages"]
    assert passages and verbatim(passages, seeded.source) == len(passages)


def test_unknown_mode_is_one_line(qa_cli: QaCli, seeded: Built, tmp_path: Path) -> None:
    done = qa_cli("search", "x", "--mode", "fuzzy", *where(seeded), cwd=tmp_path)
    assert (
        done.returncode != 0
        and done.stderr.strip() == "qa: error: unknown --mode 'fuzzy' (hybrid, dense or bm25)"
    )


def test_a_source_folder_that_does_not_exist_is_one_line(
    qa_cli: QaCli, seeded: Built, tmp_path: Path
) -> None:
    missing = tmp_path / "typo"
    done = qa_cli("ask", "x", "--source", str(missing), "--index", str(seeded.index), cwd=tmp_path)
    assert done.returncode == 6
    assert done.stderr.strip() == f"qa: error: source folder not found: {missing}"


def test_index_status_json(qa_cli: QaCli, seeded: Built, tmp_path: Path) -> None:
    done = qa_cli("index", "status", "--json", *where(seeded), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["documents"] == 2 and info["stale"] is False
    assert info["version"] == seeded.service.status().version


def test_index_build_json(qa_cli: QaCli, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("Alice:\nWhere is the cat?\nBob:\nOn the mat.\n", encoding="utf-8")
    done = qa_cli("index", "build", "--source", str(src), "--index", str(tmp_path / "i"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["documents"], report["chunks"], report["sentences"]) == (1, 2, 2)
    assert (tmp_path / "i" / "CURRENT").read_text().strip() == report["version"]


def test_a_misspelt_filter_is_one_line_naming_it(
    qa_cli: QaCli, seeded: Built, tmp_path: Path
) -> None:
    done = qa_cli("ask", "Neuralink?", "--speaker", "Elon Mosk", *where(seeded), cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "qa: error: speaker: no indexed speaker 'elon mosk' (did you mean 'elon musk'?)\n"
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ask", ""], 2, "question must not be empty"),
        (["ask", "   "], 2, "question must not be empty"),
        (["search", "", "--json"], 2, "question must not be empty"),
        (["ask", "x" * 2001], 2, "longer than 2000"),
        (["ask", "anything", "--index", "/nonexistent"], 4, "no index in /nonexistent"),
        (["search", "anything", "--index", "/nonexistent"], 4, "qa index build"),
        (["index", "status", "--index", "/nonexistent"], 4, "no index in /nonexistent"),
        (
            ["index", "build", "--source", "/nonexistent"],
            6,
            "source folder not found: /nonexistent",
        ),
        (
            ["index", "build", "--source", "/etc/passwd"],  # a file: not "not found"
            6,
            "source folder /etc/passwd is a file: give the folder that holds it",
        ),
    ],
    ids=[
        "ask-empty",
        "ask-whitespace",
        "search-empty",
        "ask-too-long",
        "ask-missing-index",
        "search-missing-index",
        "status-missing-index",
        "build-missing-source",
        "build-source-is-a-file",
    ],
)
def test_errors_are_one_line_and_nonzero(
    qa_cli: QaCli, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    if "--index" not in args:
        args = [*args, "--index", str(tmp_path / "index")]
    done = qa_cli(*args, cwd=tmp_path)
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("qa: error: ") and message in lines[0], done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "index").exists(), "a failed command must not create an index"


@pytest.mark.parametrize("args", [["ask", "hi", "-k", "0"], ["ask"], ["nope"]])
def test_usage_errors_exit_2(qa_cli: QaCli, tmp_path: Path, args: list[str]) -> None:
    done = qa_cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qa: error: "), done.stderr


def test_help(qa_cli: QaCli) -> None:
    done = qa_cli("--help")
    assert done.returncode == 0
    for command in ("ask", "search", "serve", "index", "eval"):
        assert command in done.stdout


def test_index_update_json(qa_cli: QaCli, seeded: Built, tmp_path: Path) -> None:
    """One JSON object; add, change and delete counted in one run, and a no-op run after it."""
    from qa.update import chunk_document

    src, idx = tmp_path / "src", tmp_path / "index"
    shutil.copytree(seeded.source, src)
    shutil.copytree(seeded.index, idx)
    a, b = "000_c8b093dbc246d9b3.txt", "003_aef95c100974d035.txt"
    chunking = seeded.service.settings.chunking

    def chunks(doc_id: str) -> set[str]:
        text = (src / doc_id).read_text(encoding="utf-8")
        return {c.text for c in chunk_document(doc_id, text, chunking).chunks}

    old = chunks(a) | chunks(b)
    (src / "new.txt").write_text(
        "Interviewer:\nWhere do the bacteria live?\n\nDr. Rivera:\nInside salt crystals.\n",
        encoding="utf-8",
    )
    with (src / b).open("a", encoding="utf-8") as f:
        f.write("\n\nRon Baron:\nWhat comes after Mars?\n\nElon Musk:\nThe moons of Jupiter.\n")
    (src / a).unlink()
    expected = len((chunks("new.txt") | chunks(b)) - old)

    done = qa_cli("index", "update", "--json", "--source", str(src), "--index", str(idx))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # the whole of stdout is one object
    assert isinstance(report, dict)
    keys = ("added", "changed", "removed", "unchanged", "chunks_embedded", "seconds")
    assert set(keys) <= set(report)
    assert [report[k] for k in keys[:5]] == [1, 1, 1, 0, expected] and expected > 0
    assert report["written"] and report["documents"] == 2 and report["seconds"] >= 0
    assert report["doc_ids"] == {"added": ["new.txt"], "changed": [b], "removed": [a]}

    again = qa_cli("index", "update", "--json", "--source", str(src), "--index", str(idx))
    assert again.returncode == 0, again.stderr
    noop = json.loads(again.stdout)
    assert [noop[k] for k in keys[:5]] == [0, 0, 0, 2, 0] and not noop["written"]
    assert noop["version"] == report["version"]
