"""Columns of a contact list: changedAt as UTC, the contract checks (ids, offices), excerpts."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vitec_nb.vocab import KIND_API_LISTS, KINDS, TIMEZONE

__all__ = ["Breach", "ContractWarning", "clip", "excerpt", "excerpt_at", "first_occurrences"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SHOWN = 3  # ids quoted per kind of breach
_BLOCK = 1 << 16  # ids hashed per block
_UTC_NS = pa.timestamp("ns", tz="UTC")
_NAIVE_NS = pa.timestamp("ns")


_OFFSET = r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_OFFSET_RE = re.compile(_OFFSET)


def to_utc(changed: pa.Array) -> pa.Array:
    """ISO 8601 texts as UTC timestamps[ns]; without an offset they are Stockholm local time.

    The first value says which cast to try (a failed cast costs far more than a good one):
    with an offset, one cast, as fast as before local times were allowed; without, a naive
    cast and `assume_timezone`, also vectorised; a mix is split by a regex mask. Raises
    ArrowInvalid when some value is not ISO 8601.
    """
    first = changed[0].as_py() if len(changed) else None
    if first is None or _OFFSET_RE.search(first):
        try:
            return changed.cast(_UTC_NS)
        except pa.ArrowInvalid:
            pass
    else:
        try:
            return _local_to_utc(changed.cast(_NAIVE_NS))
        except pa.ArrowInvalid:
            pass
    with_offset = pc.match_substring_regex(changed, _OFFSET)
    aware = pc.if_else(with_offset, changed, None).cast(_UTC_NS)
    local = _local_to_utc(pc.if_else(with_offset, None, changed).cast(_NAIVE_NS))
    return pc.if_else(with_offset, aware, local)


def _local_to_utc(naive: pa.Array) -> pa.Array:
    """Stockholm wall-clock times as UTC: the autumn hour's first occurrence, a spring-gap
    time as the first instant after the gap."""
    local = pc.assume_timezone(naive, TIMEZONE, ambiguous="earliest", nonexistent="latest")
    return local.cast(_UTC_NS)


class ContractWarning(UserWarning):
    """An answer broke Vitec's contract (an id twice, an id in two lists, another office's
    reference); the message names the call and says what was kept. Not changing data."""


def _may_repeat(ids: pa.Array) -> bool:
    """False when no id can occur twice: a 64-bit hash of each id's bytes, sorted.

    Equal-length ids (the usual case: Vitec's are ADR + 32 hex digits) are hashed from the
    Arrow buffers with numpy, a few ms per 100 000; True only means "check exactly".
    """
    n = len(ids)
    if n < 2:
        return False
    lengths = pc.binary_length(ids)
    width = pc.min_max(lengths)
    low, high = width["min"].as_py(), width["max"].as_py()
    if low != high or ids.null_count or not low:
        return True  # uneven ids: let the exact check decide
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int64)[ids.offset : ids.offset + n + 1]
    data = np.frombuffer(ids.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    digest = np.empty(n, dtype=np.uint64)
    for start in range(0, n, _BLOCK):  # in blocks: the padded copy stays small
        digest[start : start + _BLOCK] = _hash_rows(data[start * low : (start + _BLOCK) * low], low)
    digest.sort()
    return bool((digest[1:] == digest[:-1]).any())


def _hash_rows(data: np.ndarray, width: int) -> np.ndarray:
    """A 64-bit hash of each `width`-byte row of `data` (multiply-xor over 8-byte words)."""
    rows = data.reshape(-1, width)
    pad = -width % 8
    if pad:
        rows = np.concatenate([rows, np.zeros((len(rows), pad), dtype=np.uint8)], axis=1)
    words = np.ascontiguousarray(rows).view(np.uint64)
    digest = np.zeros(len(rows), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(words.shape[1]):
            digest = (digest ^ words[:, j]) * _GOLDEN
    return digest


def first_occurrences(ids: pa.Array) -> np.ndarray | None:
    """A mask keeping the first occurrence of every id; None when every id is unique."""
    if not _may_repeat(ids):
        return None
    repeated = pd.Series(pd.arrays.ArrowStringArray(ids)).duplicated(keep="first").to_numpy()
    return ~repeated if repeated.any() else None


class Breach:
    """What one answer did wrong, for one `ContractWarning`."""

    def __init__(self, call: str) -> None:
        self.call = call
        self.parts: list[str] = []

    def duplicates(self, ids: pa.Array, kind_codes: np.ndarray, keep: np.ndarray) -> None:
        """Describe the ids that `keep` drops: twice in one list, or in two lists."""
        frame = pd.DataFrame({"id": pd.arrays.ArrowStringArray(ids), "kind": kind_codes})
        dropped = set(frame["id"][~keep].tolist())
        repeated = frame[frame["id"].isin(dropped)]
        kinds_per_id = repeated.groupby("id", sort=False)["kind"].nunique()
        two_lists = kinds_per_id[kinds_per_id > 1].index.tolist()
        in_one = [i for i in kinds_per_id.index if i not in set(two_lists)]
        if in_one:
            self.parts.append(
                f"{len(in_one)} id(s) appear more than once in one list ({_ids(in_one)})"
            )
        if two_lists:
            lists = sorted(
                {KIND_API_LISTS[KINDS[k]] for k in repeated["kind"][repeated["id"].isin(two_lists)]}
            )
            self.parts.append(
                f"{len(two_lists)} id(s) are in more than one list ({', '.join(lists)};"
                f" {_ids(two_lists)})"
            )
        self.parts.append(f"each is kept once, the first; {int((~keep).sum())} row(s) dropped")

    def other_offices(self, asked: str, others: dict[str, int]) -> None:
        """References whose customerId is not the office asked for (kept)."""
        listed = ", ".join(f"{n} of {cid}" for cid, n in others.items())
        self.parts.append(f"references of another office than {asked} ({listed}; kept)")

    def warn(self) -> None:
        if self.parts:
            import warnings

            warnings.warn(
                f"The answer to {self.call} breaks Vitec's contract: {'; '.join(self.parts)}."
                " This is the server's answer, not data changing between calls.",
                ContractWarning,
                stacklevel=4,
            )


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:_SHOWN])
    return f"e.g. {shown}, …" if len(ids) > _SHOWN else shown


# -- excerpts of a body for messages ---------------------------------------------------------

EXCERPT = 80  # characters of a body a message quotes at most
_SPACE = re.compile(r"\s+")


def clip(text: str, limit: int = EXCERPT) -> str:
    """`text` on one line, cut to `limit` characters (an ellipsis marks a cut)."""
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt(body: bytes) -> str:
    """The body's start, quoted, at most ~80 characters."""
    return repr(clip(body[: EXCERPT * 4].decode("utf-8", "replace")))


def excerpt_at(body: bytes, pos: int) -> str:
    """The body around byte `pos`, quoted, at most ~80 characters."""
    start = max(0, pos - EXCERPT // 2)
    text = body[start : start + EXCERPT * 2].decode("utf-8", "replace")
    return repr(("…" if start else "") + clip(text, EXCERPT - 1))
