"""Where an answer came from, as a typed value: `Provenance`, written to and read from `attrs`.

Users read `df.attrs` (docs/architecture.md, "The contacts DataFrame"); the layers of
vitec_nb read `provenance_of(frame)` instead of naming `attrs` keys, so the keys are
spelled in this module only.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from vitec_nb.query import ContactQuery

__all__ = ["Provenance", "provenance_of"]


@dataclasses.dataclass(frozen=True)
class Provenance:
    """What an answer is, when it was fetched, and from where."""

    source: str  # the API's base URL (never user info)
    fetched_at: pd.Timestamp | None  # when the server answered (a cached answer: originally)
    from_cache: bool
    stale: bool  # an expired answer served because the server failed
    demo: bool  # stand-in data
    query: ContactQuery | None = None
    format: str = "json"

    def attrs(self) -> dict[str, Any]:
        """The `attrs` of a frame with this provenance (what users read)."""
        return {
            "query": self.query,
            "fetched_at": self.fetched_at,
            "from_cache": self.from_cache,
            "stale": self.stale,
            "demo": self.demo,
            "source": self.source,
            "format": self.format,
        }


def provenance_of(frame: pd.DataFrame) -> Provenance:
    """The provenance a frame of vitec_nb carries (defaults where a key is missing)."""
    attrs = frame.attrs
    return Provenance(
        source=str(attrs.get("source") or ""),
        fetched_at=attrs.get("fetched_at"),
        from_cache=bool(attrs.get("from_cache")),
        stale=bool(attrs.get("stale")),
        demo=bool(attrs.get("demo")),
        query=attrs.get("query"),
        format=str(attrs.get("format") or "json"),
    )
