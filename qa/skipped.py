"""Files an update could not index: one bad file never stops the others (issue 13).

An update records them in the version's manifest, `"skipped": {doc_id: {"sha256", "reason"}}`
(sha256 None when the file could not be hashed or is of an unsupported type), so that
`qa index status` and `GET /documents` can list them, and an unchanged bad file is not read
again by every update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qa.errors import IngestError

Skipped = dict[str, dict[str, Any]]  # doc id → {"sha256": str | None, "reason": str}


def reason(doc_id: str, message: str) -> str:
    """An error message without the file name it starts with (the report names the file)."""
    for prefix in (f"{doc_id}: ", f"{doc_id.rsplit('/', 1)[-1]}: "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def still_skipped(previous: Mapping[str, Mapping[str, Any]], current: Mapping[str, str]) -> Skipped:
    """Files that failed before and have the same content hash now."""
    return {
        d: dict(e)
        for d, e in previous.items()
        if e.get("sha256") is not None and current.get(d) == e["sha256"]
    }


def skipped_pairs(skipped: Skipped) -> tuple[tuple[str, str], ...]:
    return tuple((d, str(skipped[d]["reason"])) for d in sorted(skipped))


def skipped_problems(skipped: Skipped) -> tuple[str, ...]:
    """`doc: skipped: reason` lines, as the update report lists problems."""
    return tuple(f"{d}: skipped: {reason}" for d, reason in skipped_pairs(skipped))


def check_strict(strict: bool, skipped: Skipped, problems: Sequence[str]) -> None:
    """`--strict`: any skipped file or reader problem fails the update (nothing is written)."""
    if not strict:
        return
    found = [*skipped_problems(skipped), *problems]
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise IngestError(f"--strict: {found[0]}{more}; nothing was written")
