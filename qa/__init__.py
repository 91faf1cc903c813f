"""qa: answer questions over interview transcripts with verbatim, cited quotes."""

from __future__ import annotations

__version__ = "0.1.0"
