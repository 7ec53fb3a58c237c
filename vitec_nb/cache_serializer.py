"""How answers are stored: requests-cache's orjson serializer, large bodies zstd-compressed."""

from __future__ import annotations

from typing import Any

__all__ = [
    "COMPRESS_BODIES_FROM",
    "RELEASE_ARROW_MEMORY_FROM",
    "SERIALIZER",
    "release_arrow_memory",
]

# Bodies at least this large are zstd-compressed inside the JSON (see _json_serializer).
COMPRESS_BODIES_FROM = 16 << 10
# After parsing a body at least this large, pyarrow's scratch memory is handed back.
RELEASE_ARROW_MEMORY_FROM = 1 << 20
_ZSTD_PREFIX = "zstd:"


def _pack_body(body: bytes) -> str | None:
    """A body as JSON text: base64, or for a large body "zstd:<size>:" + base64(zstd(body))."""
    import base64

    import pyarrow as pa

    if not body:
        return None
    if len(body) < COMPRESS_BODIES_FROM or not pa.Codec.is_available("zstd"):
        return base64.b64encode(body).decode()
    packed = pa.Codec("zstd", compression_level=1).compress(body, asbytes=True)
    return f"{_ZSTD_PREFIX}{len(body)}:{base64.b64encode(packed).decode()}"


def _unpack_body(text: str | None, _type: Any = None) -> bytes:
    import base64

    if not text:
        return b""
    if not text.startswith(_ZSTD_PREFIX):
        return base64.b64decode(text)  # plain base64, as requests-cache's orjson serializer
    import pyarrow as pa

    colon = text.index(":", len(_ZSTD_PREFIX))
    packed = base64.b64decode(text[colon + 1 :])
    size = int(text[len(_ZSTD_PREFIX) : colon])
    return pa.Codec("zstd").decompress(packed, decompressed_size=size, asbytes=True)


def release_arrow_memory() -> None:
    """Hand pyarrow's freed scratch memory back to the OS.

    Parsing a large answer leaves ~150 MB (at a million references) cached in pyarrow's
    allocator; released before the body is serialized into the cache, that peak and the
    serializer's copies do not stack.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _json_serializer() -> Any:
    """requests-cache's orjson serializer, with large bodies compressed before base64.

    Still JSON, never pickle. Why compress: a million-reference answer is ~93 MB, and
    base64 inside JSON makes three full-size copies while saving and again while loading,
    which took fetching it through the cache past 800 MB; compressed (~20 MB) the copies
    are small. From 16 KiB on, because compression (zstd level 1, ~4.6x on contact lists)
    releases the GIL and base64 does not: a 770 kB answer costs 0.4 ms of GIL-held work
    to store instead of 1.9 ms, and 0.7 ms to load instead of 6.7 ms (benchmark 5 in
    docs/benchmarks.md). Bodies stored plain by requests-cache's own serializer still load.
    """
    import orjson
    from requests_cache.serializers.pipeline import SerializerPipeline, Stage
    from requests_cache.serializers.preconf import make_stage

    stage = make_stage("cattr.preconf.orjson", b64=True)
    stage.converter.register_unstructure_hook(bytes, _pack_body)
    stage.converter.register_structure_hook(bytes, _unpack_body)
    return SerializerPipeline([stage, Stage(orjson)], name="vitec_json", is_binary=True)


SERIALIZER = _json_serializer()  # JSON via orjson: fast, never pickle
