"""Strict checks of `connect()` options: real bools, finite numbers, clean text, safe URLs.

Every check raises `ConfigurationError` naming the option, what was given (never a secret)
and what is allowed, before anything is sent. Truthiness is never trusted: ``"no"`` is not a
bool, ``nan`` is not a number of seconds.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vitec_nb import vocab
from vitec_nb.errors import ConfigurationError

__all__ = [
    "MAX_CONCURRENCY",
    "MAX_SECONDS",
    "base_url",
    "cache",
    "check_bool",
    "customer_id",
    "customer_ids",
    "non_negative",
    "seconds",
    "split_ids",
    "text",
    "whole",
]

MAX_SECONDS = 100 * 365 * 86_400.0
"""Longest duration accepted (a century): beyond it dates overflow in the cache's arithmetic."""

MAX_CONCURRENCY = 64
"""Most concurrent calls allowed; Vitec publishes no limit, and more only invites 429s."""


def _is_control(char: str) -> bool:
    return ord(char) < 32 or 127 <= ord(char) < 160


def check_bool(value: Any, name: str) -> bool | None:
    """`value` if it is a bool or None; "yes", 1 and friends are refused."""
    if value is not None and not isinstance(value, bool):
        raise ConfigurationError(
            f"{name}: {value!r} ({type(value).__name__}) is not allowed (allowed: True,"
            " False or None)"
        )
    return value


def _number(value: Any, name: str, allowed: str) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigurationError(
            f"{name}: {value!r} ({type(value).__name__}) is not a number (allowed: {allowed})"
        )
    number = float(value)
    if not math.isfinite(number):
        raise ConfigurationError(f"{name}: {value!r} is not a finite number (allowed: {allowed})")
    return number


def seconds(value: Any, name: str, *, allow_never: bool = False) -> float:
    """A positive, finite number of seconds (or a timedelta); -1 for never if allowed."""
    allowed = f"a positive number of seconds up to {MAX_SECONDS:.0f} or a timedelta"
    if allow_never:
        allowed += ", or -1 for never"
    number = _number(value, name, allowed)
    if allow_never and number == -1:
        return -1.0
    if not 0 < number <= MAX_SECONDS:
        raise ConfigurationError(f"{name}: {value!r} is not allowed (allowed: {allowed})")
    return number


def non_negative(value: Any, name: str, *, maximum: float = MAX_SECONDS) -> float:
    """A finite number >= 0 and <= `maximum`."""
    allowed = f"a number of seconds from 0 to {maximum:g}"
    number = _number(value, name, allowed)
    if not 0 <= number <= maximum:
        raise ConfigurationError(f"{name}: {value!r} is not allowed (allowed: {allowed})")
    return number


def whole(value: Any, default: int, name: str, minimum: int, maximum: int) -> int:
    """An int (not a bool, not 2.0) within [minimum, maximum]; `default` for None."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        ok = False
    else:
        ok = minimum <= int(value) <= maximum
    if not ok:
        raise ConfigurationError(
            f"{name}: {value!r} is not allowed (allowed: a whole number from {minimum} to"
            f" {maximum})"
        )
    return int(value)


def text(value: Any, name: str, what: str, *, colon: bool = True) -> str:
    """Text without control characters (and without ":" unless `colon`), stripped."""
    allowed = f"{what} as text without control characters" + ("" if colon else " or ':'")
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{name}: must be text, not {type(value).__name__} (allowed: {allowed})"
        )
    stripped = value.strip()
    if any(_is_control(c) for c in stripped) or (not colon and ":" in stripped):
        raise ConfigurationError(f"{name}: {stripped[:40]!r} is not allowed (allowed: {allowed})")
    return stripped


def customer_id(value: Any, where: str) -> str:
    """The one customer-id rule (`vocab`): " m30011" -> "M30011"; anything else refused."""
    cid = vocab.normalize_customer_id(value) if isinstance(value, str) else None
    if cid is None or not vocab.is_customer_id(cid):
        raise ConfigurationError(
            f"{where}: {value!r} is not a customer id (allowed: {vocab.CUSTOMER_ID_ALLOWED})"
        )
    return cid


def base_url(value: Any, where: str) -> str:
    """An http(s) URL with a host and no user info, query or fragment, without a final "/".

    The error never repeats what may be secret: user info, query and fragment are left out
    of the message (a token in a query string is still a token).
    """
    allowed = "http:// or https:// with a host, e.g. https://connect.maklare.vitec.net"
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{where}: must be text, not {type(value).__name__} (allowed: {allowed})"
        )
    url = value.strip()
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    shown = urlunsplit((parts.scheme, host, parts.path, "", ""))[:80] or "(empty)"
    if any(_is_control(c) or c.isspace() for c in url):
        raise ConfigurationError(f"{where}: holds a space or control character ({allowed})")
    if "@" in parts.netloc:
        raise ConfigurationError(
            f"{where}: must not hold a user name or password before '@' ({shown} with user"
            " info; the user info is not repeated here): pass username= and password= or"
            " token=, or use the environment or keyring (docs/credentials.md)"
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ConfigurationError(
            f"{where}: must not have a query string or fragment ({shown}?…; not repeated"
            f" here). Allowed: {allowed}"
        )
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port_ok:
        raise ConfigurationError(f"{where}: {shown!r} is not allowed (allowed: {allowed})")
    if ".." in parts.path.split("/"):
        raise ConfigurationError(f"{where}: {shown!r} has a '..' path segment ({allowed})")
    return url.rstrip("/")


def split_ids(text: str, where: str) -> tuple[str, ...]:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    return tuple(dict.fromkeys(customer_id(cid, where) for cid in ids))


def customer_ids(
    customer_ids: Iterable[str] | str | None, env: Mapping[str, str], sources: dict[str, str]
) -> tuple[str, ...] | None:
    if customer_ids is not None:
        sources["customer_ids"] = "argument"
        if isinstance(customer_ids, str):
            return split_ids(customer_ids, "customer_ids")
        if not isinstance(customer_ids, Iterable) or isinstance(customer_ids, bytes | Mapping):
            raise ConfigurationError(
                f"customer_ids: must be a list of office ids or comma-separated text, not "
                f"{type(customer_ids).__name__}"
            )
        ids = tuple(dict.fromkeys(customer_id(c, "customer_ids") for c in customer_ids))
        if not ids:
            raise ConfigurationError("customer_ids: the list is empty (allowed: ids like M30011)")
        return ids
    listed = env.get("VITEC_CUSTOMER_IDS")
    if listed and listed.strip():
        sources["customer_ids"] = "VITEC_CUSTOMER_IDS"
        return split_ids(listed, "VITEC_CUSTOMER_IDS")
    return None


def cache(cache: Any, env: Mapping[str, str], sources: dict[str, str]) -> Any:
    """A Path, a redis:// URL (str) or a backend object; None means the default location."""
    if cache is None:
        text = env.get("VITEC_NB_CACHE", "").strip()
        if not text:
            sources["cache"] = "default"
            return None
        sources["cache"] = "VITEC_NB_CACHE"
        cache = text
    else:
        sources["cache"] = "argument"
    if isinstance(cache, bool | int | float | bytes) or cache == "":
        raise ConfigurationError(
            f"cache: {cache!r} ({type(cache).__name__}) is not allowed (allowed: a file path, a"
            " directory, a redis://host:port/db URL, or a requests_cache backend object)"
        )
    if isinstance(cache, str):
        if cache.startswith(("redis://", "rediss://", "unix://")):
            return cache
        if "://" in cache:
            raise ConfigurationError(
                f"cache: {cache!r} is not allowed (allowed: a file path, a directory, a "
                "redis://host:port/db URL, or a requests_cache backend object)"
            )
        return Path(cache).expanduser()
    if isinstance(cache, os.PathLike):
        return Path(cache).expanduser()
    return cache
