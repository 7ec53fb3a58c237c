"""Any breakdown frame as Arrow IPC bytes, rebuilt exactly; a joined breakdown packed whole.

The codec of the joins kept beside the cache (parsed_store.py, plan/memo.py): each column
by its dtype (categories with their order and dtype, tz-aware times as int64 UTC, pyarrow
strings, numbers, text and tuples of text in object columns); a frame it would not give
back equal is `Unstorable` (then nothing is kept). A packed join is magic, a JSON header
(with a BLAKE2b digest of the rest) and each frame's stream; damage is a ValueError.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

__all__ = ["Unstorable", "join_header", "pack_join", "unpack_join"]

_LAYOUT = b"vitec_nb.layout"
# -- joined breakdowns: any frame's columns, exactly -------------------------------------------
_JOIN_MAGIC = b"VNBJOIN1"


class Unstorable(ValueError):
    """A frame with a column (or values) the join codec does not rebuild exactly."""


def _scalar(value: Any) -> list[Any]:
    if isinstance(value, bool | np.bool_):
        return ["b", bool(value)]
    if isinstance(value, int | np.integer):
        return ["i", int(value)]
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, pd.Timestamp):
        return ["t", value.value, str(value.tz) if value.tz else None]
    raise Unstorable(f"a value of type {type(value).__name__}")


def _unscalar(item: list[Any]) -> Any:
    if item[0] == "t":
        stamp = pd.Timestamp(item[1])
        return stamp.tz_localize("UTC").tz_convert(item[2]) if item[2] else stamp
    return item[1]


def _encode_column(col: pd.Series) -> tuple[pa.Array, list[Any]]:
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = [_scalar(c) for c in dtype.categories]
        kind = str(dtype.categories.dtype)
        return pa.array(col.cat.codes.to_numpy()), ["category", cats, dtype.ordered, kind]
    if isinstance(dtype, pd.DatetimeTZDtype):
        return pa.array(col.array.asi8), ["datetime", dtype.unit, str(dtype.tz)]
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        na = "nan" if dtype.na_value is not pd.NA else "NA"
        return pa.array(col.array), ["string", na]
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return pa.array(col.to_numpy()), ["numpy", dtype.str]
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        values = col.tolist()
        if all(isinstance(v, str) for v in values):
            return pa.array(values, type=pa.large_string()), ["strs"]
        if all(isinstance(v, tuple) and all(isinstance(x, str) for x in v) for v in values):
            return pa.array(values, type=pa.list_(pa.string())), ["tuples"]
    raise Unstorable(f"column {col.name!r} of dtype {dtype}")


def _decode_column(array: pa.ChunkedArray, layout: list[Any]) -> Any:
    kind = layout[0]
    if kind == "category":
        cats = pd.Index([_unscalar(c) for c in layout[1]], dtype=layout[3])
        dtype = pd.CategoricalDtype(cats, ordered=layout[2])
        return pd.Categorical.from_codes(array.to_numpy(), dtype=dtype, validate=False)
    if kind == "datetime":
        stamps = array.to_numpy().view(f"M8[{layout[1]}]")
        return pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert(layout[2]).array
    if kind == "string":
        dtype = pd.StringDtype("pyarrow", na_value=np.nan if layout[1] == "nan" else pd.NA)
        return pd.array(pd.arrays.ArrowStringArray(array.combine_chunks()), dtype=dtype)
    if kind == "numpy":
        return array.to_numpy().astype(layout[1], copy=False)
    values = array.to_pylist()
    if kind == "tuples":
        values = [tuple(v) for v in values]
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    """`frame` as one Arrow IPC stream that `_bytes_frame` rebuilds exactly, or Unstorable."""
    index = frame.index
    if not isinstance(index, pd.RangeIndex) or index.start != 0 or index.step != 1:
        raise Unstorable("an index other than 0..n-1")
    if not all(isinstance(c, str) for c in frame.columns) or frame.columns.has_duplicates:
        raise Unstorable("column names that are not distinct strings")
    arrays, layout = [], {}
    for name in frame.columns:
        arrays.append(_encode_column(frame[name]))
        layout[name] = arrays[-1][1]
    meta = {_LAYOUT: orjson.dumps({"columns": layout, "rows": len(frame)})}
    table = (
        pa.Table.from_arrays([a for a, _ in arrays], names=list(frame.columns), metadata=meta)
        if arrays
        else pa.table({}, metadata=meta)
    )
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _bytes_frame(data: Any) -> pd.DataFrame:
    table = ipc.open_stream(data).read_all()
    meta = orjson.loads((table.schema.metadata or {})[_LAYOUT])
    columns = meta["columns"]
    frame = pd.DataFrame(
        {name: _decode_column(table.column(name), columns[name]) for name in columns},
        index=pd.RangeIndex(meta["rows"]),
        copy=False,
    )
    return frame


def pack_join(header: dict[str, Any], frames: Sequence[pd.DataFrame]) -> bytes:
    """A joined breakdown as bytes: magic, header (JSON: its entries, what the result needs,
    a BLAKE2b digest of the rest), then each frame; Unstorable if a frame cannot be kept
    exactly (then nothing is kept)."""
    parts = []
    for frame in frames:
        data = _frame_bytes(frame)
        back = _bytes_frame(pa.py_buffer(data))
        try:  # kept only if it comes back exactly as it is
            pd.testing.assert_frame_equal(back, frame, check_exact=True, check_categorical=True)
        except AssertionError as exc:
            raise Unstorable(f"a frame that does not come back exactly ({exc})") from None
        parts.append(data)
    body = b"".join(len(p).to_bytes(8, "little") + p for p in parts)
    head = orjson.dumps(dict(header, digest=hashlib.blake2b(body).hexdigest(), parts=len(parts)))
    return _JOIN_MAGIC + len(head).to_bytes(8, "little") + head + body


def join_header(data: Any) -> dict[str, Any]:
    """The header of packed join bytes (ValueError if they are not a packed join)."""
    view = memoryview(data)
    if bytes(view[:8]) != _JOIN_MAGIC:
        raise ValueError("not a kept join")
    size = int.from_bytes(view[8:16], "little")
    return orjson.loads(bytes(view[16 : 16 + size]))


def unpack_join(data: Any) -> tuple[dict[str, Any], list[pd.DataFrame]]:
    """(header, frames) of packed join bytes; ValueError if damaged (digest, lengths)."""
    header = join_header(data)
    view = memoryview(data)
    body = view[16 + int.from_bytes(view[8:16], "little") :]
    if hashlib.blake2b(body).hexdigest() != header.get("digest"):
        raise ValueError("a kept join whose bytes changed (digest)")
    frames, at = [], 0
    for _ in range(header["parts"]):
        size = int.from_bytes(body[at : at + 8], "little")
        frames.append(_bytes_frame(pa.py_buffer(body[at + 8 : at + 8 + size])))
        at += 8 + size
    if at != len(body):
        raise ValueError("a kept join of the wrong length")
    return header, frames
