"""What the toolkit knows about a server: plain data the planner and the client act on.

A `ServerProfile` starts from safe defaults (nothing known), is refined by
`vitec-nb doctor` (remembered per base URL beside the cache) and by what answers reveal.
The planner never depends on an undocumented meaning: where a field is None, it takes the
path that is right under every dialect (see docs/standin.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = ["PROFILE_FILE", "ServerProfile", "load_profile", "profile_key", "save_profile"]

logger = logging.getLogger("vitec_nb")

EmptyLists = Literal["[]", "null", "absent"]


@dataclasses.dataclass(frozen=True)
class ServerProfile:
    """How one base URL behaves where Vitec's docs are silent; None means "not known".

    Args:
        all_users: `User/GetAllUsers` answers (True), is refused or missing (False).
        zero_filters: `LeadScore=0` narrows the set (True) or means "no filter" (False).
        changed_at_offset: `changedAt` carries a UTC offset (True) or is local time (False).
        empty_lists: how an empty contact list is sent ("[]", "null" or "absent").
        error_shape: "webapi" (`Message` + `ModelState`), "camel" (`message` +
            `modelState`), "plain" (not a JSON object with a message) or "other" (JSON
            of another shape).
        answer_cap: the size at which answers seemed to be cut silently, if ever.
        checked_at: ISO time of the doctor run that learnt this (None: defaults).
        lead_scores_total: every person and company has a lead score of 0-5 (True), so
            with `zero_filters` the planner's `infer_last` may ask 0-4 and derive 5.
    """

    all_users: bool | None = None
    zero_filters: bool | None = None
    changed_at_offset: bool | None = None
    empty_lists: EmptyLists | None = None
    error_shape: str | None = None
    answer_cap: int | None = None
    checked_at: str | None = None
    lead_scores_total: bool | None = None


# --- the store: one small JSON file beside the cache, keyed by base URL ----------------------

PROFILE_FILE = "server_profiles.json"
"""The store's file name, in the cache's directory (see `vitec_nb.doctor.profile_path`)."""

_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "all_users": (bool,),
    "zero_filters": (bool,),
    "changed_at_offset": (bool,),
    "empty_lists": (str,),
    "error_shape": (str,),
    "answer_cap": (int,),
    "checked_at": (str,),
    "lead_scores_total": (bool,),
}


def profile_key(base_url: str) -> str:
    """The store's key for a base URL: scheme and host lower-cased, no trailing slash."""
    parts = urlsplit(base_url.strip())
    path = parts.path.rstrip("/")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}"


def _from_record(record: Any) -> ServerProfile:
    """A profile from a stored record; unknown keys and values of the wrong type ignored."""
    if not isinstance(record, dict):
        return ServerProfile()
    values: dict[str, Any] = {}
    for name, types in _FIELD_TYPES.items():
        value = record.get(name)
        is_bool = isinstance(value, bool)
        if value is None or not isinstance(value, types) or (is_bool and bool not in types):
            continue
        if name == "empty_lists" and value not in ("[]", "null", "absent"):
            continue
        values[name] = value
    return ServerProfile(**values)


def _read_store(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.warning("server profiles at %s unreadable (%s); using defaults", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def load_profile(base_url: str, path: Path) -> ServerProfile:
    """The profile remembered for `base_url` in the store at `path`; defaults if none.

    A missing or damaged store gives the defaults (nothing known): the planner then takes
    the path that is right under every dialect, so a lost profile never changes a number.
    """
    return _from_record(_read_store(Path(path)).get(profile_key(base_url)))


def save_profile(base_url: str, profile: ServerProfile, path: Path) -> Path:
    """Remember `profile` for `base_url` in the store at `path` (file mode 0600); the path.

    Written atomically (a temporary file in the same folder, then a rename), so a reader
    never sees half a file. Only the profile's fields are stored: nothing secret.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = _read_store(path)
    store[profile_key(base_url)] = dataclasses.asdict(profile)
    text = json.dumps(store, indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".profiles-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
