"""Keep the index in line with the source folder: watch it (watchfiles) and update on changes.

Changes arriving within the debounce window make one update; the index lock serializes these
updates with any other writer (CLI, HTTP uploads), and an update that finds nothing to do writes
nothing, so an upload seen again by the watcher costs one scan of the folder.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from qa.errors import QAError
from qa.ingest import SIDECAR, check_source_folder, is_transcript_name
from qa.models import UpdateReport
from qa.service import QAService

log = logging.getLogger("qa")


def is_transcript(source: Path, path: str) -> bool:
    """A change the index cares about: a transcript, or the sidecar of one."""
    try:
        name = Path(path).relative_to(source).as_posix()
    except ValueError:
        return False
    if name.lower().endswith(SIDECAR):
        return not any(part.startswith(".") for part in Path(name).parts)
    return is_transcript_name(name)


def watch(
    service: QAService,
    stop: threading.Event,
    on_update: Callable[[UpdateReport], None] | None = None,
    on_error: Callable[[QAError], None] | None = None,
) -> None:
    """Update once now (changes made while nobody watched), then after every burst of changes.

    Returns when `stop` is set. Errors (a transcript that cannot be parsed, a busy lock) are
    reported to `on_error` and watching goes on: the next change retries. A source folder that
    does not exist is IngestError, before anything is indexed.
    """
    from watchfiles import watch as watch_changes

    source = service.settings.source_dir.resolve()
    check_source_folder(source)  # a mistyped QA_SOURCE_DIR, made empty, would empty the index
    logged: tuple[str, ...] = ()

    def run() -> None:
        nonlocal logged
        try:
            report = service.update()
        except QAError as exc:
            (on_error or _log_error)(exc)
            return
        if on_update is not None:
            on_update(report)
        elif report.written or report.problems != logged:
            _log_problems(report)  # not again at every burst while nothing changed
        logged = report.problems

    run()
    settled = False
    for changes in watch_changes(
        source,
        watch_filter=lambda _, path: is_transcript(source, path),
        debounce=service.settings.watch_debounce_ms,
        stop_event=stop,
        rust_timeout=1000,
        yield_on_timeout=True,
        raise_interrupt=False,
    ):
        if stop.is_set():
            break
        if not changes:
            # The first quiet second proves the watcher is running: one more update catches
            # what changed between the first update and the watcher's start.
            if not settled:
                settled = True
                run()
            continue
        settled = True
        run()


def _log_problems(report: UpdateReport) -> None:
    # The server's watcher: a file skipped or read in part is named in the log, with why.
    for problem in report.problems:
        log.warning("qa: %s", problem)


def _log_error(exc: QAError) -> None:
    log.error("qa: update failed: %s", exc.message)
