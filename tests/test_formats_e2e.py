"""A folder with one file of each export format and two broken files, built and asked through
the real `qa` command (real model): the two are reported, every other file answers with its
speaker, time and page, and every quote is exact slices of its canonical text."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.cli import EXIT_PROBLEMS
from qa.ingest import read_source_text
from tests import transcript_files as tf

Run = Callable[..., subprocess.CompletedProcess[str]]
# What no quote may contain: a speaker header's clock, an inline timing tag, a running header.
HEADERISH = re.compile(r"\d:\d\d[)\]]|\(\d\d?:\d\d|<\d\d:|</?c>|\b\d:\d\d\s*$|" + tf.PDF_HEADER)


@pytest.mark.slow
def test_mixed_folder_builds_reports_the_broken_files_and_answers_from_each(
    tmp_path: Path, qa_cli: Run
) -> None:
    source = tf.write_all(tmp_path / "src")
    index = tmp_path / "index"
    built = qa_cli("index", "build", "--source", str(source), "--index", str(index), "--json")
    assert built.returncode == EXIT_PROBLEMS, built.stderr
    report = json.loads(built.stdout)
    assert {s["doc_id"] for s in report["skipped"]} == set(tf.BROKEN)
    assert report["added"] == len(tf.EXPECT)
    for name in tf.BROKEN:
        assert f"qa: warning: {name}: skipped: " in built.stderr
    status = qa_cli("index", "status", "--source", str(source), "--index", str(index), "--json")
    assert status.returncode == 0, status.stderr
    assert {s["doc_id"] for s in json.loads(status.stdout)["skipped"]} == set(tf.BROKEN)

    canonical = {e.name: read_source_text(source / e.name) for e in tf.EXPECT}
    checked = 0
    for e in tf.EXPECT:
        done = qa_cli(
            "ask", e.question, "--source", str(source), "--index", str(index), "--json", "-k", "3"
        )
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        quotes = answer["quotes"]
        for q in quotes + answer["passages"]:
            text = canonical[q["doc_id"]]
            assert " ".join(text[s:b] for s, b in q["segments"]) == q["text"], q
            if len(q["segments"]) == 1:
                assert text[q["start"] : q["end"]] == q["text"]
            assert not HEADERISH.search(q["text"]), q["text"]
            checked += 1
        mine = [q for q in quotes if q["doc_id"] == e.name and e.sentence[:40] in q["text"]]
        assert mine, (e.name, [(q["doc_id"], q["text"]) for q in quotes])
        q = mine[0]
        assert q["speaker"] == e.speaker, e.name
        if e.time is not None:
            assert q["time_start"] == pytest.approx(e.time), e.name
        if e.page is not None:
            assert (q["page"], q["page_line_start"], q["page_line_end"]) == (e.page, *e.page_lines)
        # A repeated caption line would show up as the phrase twice.
        words = q["text"].split()
        assert all(words[i : i + 4] != words[i + 4 : i + 8] for i in range(len(words) - 7))
    assert checked >= len(tf.EXPECT)

    # The plain output cites a PDF by page and printed lines.
    done = qa_cli("ask", tf.EXPECT[-1].question, "--source", str(source), "--index", str(index))
    assert "hearing.pdf, p. 12, ll. 3–4" in done.stdout, done.stdout

    strict = qa_cli("index", "update", "--source", str(source), "--index", str(index), "--strict")
    assert strict.returncode != 0 and strict.returncode != EXIT_PROBLEMS
    assert "--strict" in strict.stderr and "nothing was written" in strict.stderr
