"""The live index: the version a process serves, loaded once, reloaded in the background.

Requests take the version once (`get()`) and keep it to the end: a reload swaps the reference,
never changes a version in place, so in-flight requests finish on the one they started with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from qa.errors import QAError
from qa.store import IndexData, IndexStore
from qa.store.segment import DocPart

log = logging.getLogger("qa")

# (model name, dimension) of the embedder queries will use: an index of another model is refused.
ModelCheck = Callable[[], tuple[str, int]]


class LiveIndex:
    def __init__(self, store: IndexStore, model: ModelCheck, *, reload_interval: float) -> None:
        self._store = store
        self._model = model
        self._interval = reload_interval
        self._data: IndexData | None = None
        self._lock = threading.Lock()  # guards `_data` and the reload bookkeeping
        self._load_lock = threading.Lock()  # one first load, however many requests arrive
        self._checked = time.monotonic()  # when CURRENT was last compared with `_data`
        self._reloading = False

    @property
    def held(self) -> IndexData | None:
        """The version in memory, if any (never loads)."""
        return self._data

    def get(self) -> IndexData:
        """The live version. At most every `reload_interval` seconds this compares CURRENT with
        the version in memory; a newer one (written by another process) is loaded in a
        background thread and swapped in, while requests keep the one they hold."""
        data = self._data
        if data is None:
            with self._load_lock:
                data = self._data or self.load()
        self._maybe_reload(data)
        return data

    def load(self) -> IndexData:
        """Load the live version now (reusing the parts held) and serve it."""
        data = self._read(reuse=self._data)
        self._install(data)
        return data

    def refresh(self, version: str, known: Mapping[str, DocPart] | None = None) -> None:
        """Serve `version`, just written by this process, if this process serves at all.

        Assembled from the parts held and those just written (`known`), so only the global
        structures are rebuilt; a process that holds no index (a CLI update) loads nothing.
        """
        # Under the first-load lock: a first load that read CURRENT before the switch finishes
        # first, and is then brought up to date here instead of being served stale.
        with self._load_lock:
            held = self._data
            if held is None or held.version == version:
                return
            try:
                data = self._read(reuse=held, known=known)
            except QAError as exc:
                log.warning("qa: cannot load the new index version, serving the old one: %s", exc)
                return
            self._install(data)

    def _read(
        self, *, reuse: IndexData | None, known: Mapping[str, DocPart] | None = None
    ) -> IndexData:
        data = self._store.load(reuse=reuse, known=known)
        data.manifest.check_model(*self._model())
        return data

    def _install(self, data: IndexData) -> None:
        with self._lock:
            self._data = data
            self._checked = time.monotonic()

    def _maybe_reload(self, data: IndexData) -> None:
        if self._interval < 0 or time.monotonic() - self._checked < self._interval:
            return
        with self._lock:
            if self._reloading:
                return
            self._checked = time.monotonic()
            try:
                name = self._store.current()
            except QAError:
                return
            if name is None or name == data.version:
                return
            self._reloading = True
        threading.Thread(target=self._reload, name="qa-reload", daemon=True).start()

    def _reload(self) -> None:
        try:
            data = self._read(reuse=self._data)  # reads only the parts it lacks
            with self._lock:
                # An update of our own may have installed something newer meanwhile.
                if self._store.current() == data.version:
                    self._data = data
            log.info("qa: now serving index version %s", data.version)
        except QAError as exc:
            log.warning("qa: index reload failed, still serving the previous version: %s", exc)
        finally:
            with self._lock:
                self._reloading = False
