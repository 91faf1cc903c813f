"""Error messages as HTTP clients see them: no absolute server paths.

The library's messages name files by path, which is what a CLI user needs; over HTTP the source
and index folders are the server's business. A path inside the source folder becomes the
document's relative name (its id), the folders themselves a word, and any other absolute path
its last part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

# An absolute path in a message: `/a/b/c.txt`, up to a quote, a space or a colon.
_ABSOLUTE = re.compile(r"(?<![\w.~:/-])/(?:[^\s'\":/]+/)*([^\s'\":/]*)")


def public_message(message: str, folders: Iterable[tuple[Path, str]]) -> str:
    """`message` with each folder (and paths under it) made relative; `folders` are (path, word)."""
    forms: list[tuple[str, str]] = []
    for folder, word in folders:
        for form in {str(folder), str(folder.absolute()), str(folder.resolve())}:
            forms.append((form.rstrip("/"), word))
    for form, word in sorted(forms, key=lambda f: -len(f[0])):
        if form:
            message = message.replace(form + "/", "").replace(form, word)
    return _ABSOLUTE.sub(lambda m: m.group(1) or "/", message)
