"""Where an answer came from, as a typed value: `Provenance`, written to and read from `attrs`.

Users read `df.attrs` (docs/architecture.md, "The contacts DataFrame"); the layers of
vitec_nb read `provenance_of(frame)` and write `set_provenance(frame, ...)` instead of
naming `attrs` keys, so the keys are spelled in this module only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from vitec_nb.query import ContactQuery

__all__ = ["Provenance", "combined", "provenance_from", "provenance_of", "set_provenance"]

_CORE = ("query", "fetched_at", "from_cache", "stale", "demo", "source", "format")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclasses.dataclass(frozen=True)
class Provenance:
    """What an answer is, when it was fetched, and from where (None: the frame does not say).

    `notes` holds what a layer adds for users (a lookup's `endpoint`, a drill-down's `cell`,
    a chart's `measure` ...); the notes the layers read back have properties below.
    """

    source: str | None = None  # the API's base URL (never user info)
    fetched_at: pd.Timestamp | None = None  # when the server answered (cached: originally)
    from_cache: bool | None = None
    stale: bool | None = None  # an expired answer served because the server failed
    demo: bool | None = None  # stand-in data
    query: ContactQuery | None = None
    format: str | None = None  # "json" or "xml": how the answer was asked for
    notes: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _EMPTY, compare=False)

    def attrs(self) -> dict[str, Any]:
        """The `attrs` of a frame with this provenance (what users read)."""
        said = {name: getattr(self, name) for name in _CORE if getattr(self, name) is not None}
        return {**said, **self.notes}

    def noted(self, **notes: Any) -> Provenance:
        """This provenance with `notes` added (or replaced)."""
        return dataclasses.replace(self, notes=MappingProxyType({**self.notes, **notes}))

    @property
    def agents_complete(self) -> bool:
        """An agents frame: every user (GetAllUsers), not the public ones only (GetUser)."""
        return bool(self.notes.get("agents_complete", False))

    @property
    def missing(self) -> tuple[str, ...]:
        """A details frame: the contact ids asked for and not found."""
        return tuple(self.notes.get("missing", ()))

    @property
    def details_calls(self) -> int:
        """A drill-down's rows: the details calls planned (each a request unless cached)."""
        return int(self.notes.get("details_calls", 0))

    @property
    def details_cached(self) -> int:
        """A drill-down's rows: how many of `details_calls` the cache answered."""
        return int(self.notes.get("details_cached", 0))


def provenance_of(frame: pd.DataFrame) -> Provenance:
    """The provenance a frame of vitec_nb carries (None where it does not say)."""
    return provenance_from(frame.attrs)


def provenance_from(attrs: Mapping[Any, Any]) -> Provenance:
    """The provenance `attrs` (a frame's, or as a frame's would be) say."""

    def flag(name: str) -> bool | None:
        value = attrs.get(name)
        return None if value is None else bool(value)

    return Provenance(
        source=attrs.get("source"),
        fetched_at=attrs.get("fetched_at"),
        from_cache=flag("from_cache"),
        stale=flag("stale"),
        demo=flag("demo"),
        query=attrs.get("query"),
        format=attrs.get("format"),
        notes=MappingProxyType({k: v for k, v in attrs.items() if k not in _CORE}),
    )


def set_provenance(
    frame: pd.DataFrame, provenance: Provenance | None, *, as_text: bool = False
) -> pd.DataFrame:
    """`frame`, its `attrs` replaced by `provenance` (None: emptied; pandas copies attrs
    deeply on every operation, so frames used inside carry none). The one writer.

    `as_text`: every value as text, the per-office provenance left out, for a file's
    metadata (Parquet keeps `attrs` as JSON).
    """
    attrs: dict[Any, Any] = {} if provenance is None else provenance.attrs()
    if as_text:
        attrs = {k: str(v) for k, v in attrs.items() if k != "offices"}
    frame.attrs = attrs
    return frame


def combined(parts: Iterable[Provenance]) -> Provenance:
    """The provenance of an answer made of `parts`: fetched when the oldest was, from the
    cache if all were, stale if any was, demo if any was; source of the first; no notes."""
    each = list(parts)
    times = [p.fetched_at for p in each if p.fetched_at is not None]
    return Provenance(
        source=each[0].source if each else None,
        fetched_at=min(times) if times else None,
        from_cache=all(bool(p.from_cache) for p in each),
        stale=any(bool(p.stale) for p in each),
        demo=any(bool(p.demo) for p in each),
    )
