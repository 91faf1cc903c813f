"""One writer at a time: an exclusive `fcntl.flock` on `index/LOCK`.

flock belongs to the open file description, so two threads of one process exclude each other as
two processes do, and the kernel drops the lock when its holder dies (even by kill -9): a crashed
updater never leaves the index locked.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from qa.errors import IndexBusy, StorageError

LOCK_NAME = "LOCK"


class IndexLock:
    def __init__(self, root: Path, timeout: float = 600.0) -> None:
        self.path = root / LOCK_NAME
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> IndexLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot open the index lock {self.path}: {exc}") from exc
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(fd)
                    os.close(fd)
                    raise IndexBusy(
                        f"the index in {self.path.parent} is being updated by another process"
                        f"{f' (pid {holder})' if holder else ''}; try again when it finishes"
                    ) from None
                time.sleep(0.05)
        # Who holds it, for the message above (advisory only: the flock is the lock).
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
