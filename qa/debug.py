"""Pause points for crash tests: `QA_PAUSE_AT=<point>` stops the process there until killed.

The kill -9 tests (tests/test_update_e2e.py) run `qa index update` with this set, wait for the
`paused at` line on stderr and kill the process at that exact moment.
"""

from __future__ import annotations

import os
import sys
import time

PAUSE_ENV = "QA_PAUSE_AT"
# In order: the first batch of new vectors is cached; the new version folder is written and
# fsynced under its temporary name; it is renamed into place; CURRENT names it (pruning not done).
POINTS = ("embedding", "version-written", "version-renamed", "current-switched")


def pause_point(name: str) -> None:
    if os.environ.get(PAUSE_ENV) != name:
        return
    sys.stderr.write(f"qa: paused at {name} (pid {os.getpid()})\n")
    sys.stderr.flush()
    while True:
        time.sleep(3600)
