"""What the doctor's answers say about a server: pure functions of the probes' bodies."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from vitec_nb.profile import ServerProfile
from vitec_nb.vocab import KIND_API_LISTS, TIMEZONE

__all__ = [
    "Probe",
    "actions",
    "all_users",
    "answer_cap",
    "changed_at_format",
    "contact_ids",
    "contact_refs",
    "dialect_name",
    "empty_list_shape",
    "error_shape",
    "field",
    "zero_filters",
]

_CHANGED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:[.,](\d+))?)?(Z|[+-]\d\d:?\d\d)?$")
_REFUSED = (400, 403, 404, 405, 501)


@dataclasses.dataclass(frozen=True)
class Probe:
    """One request the doctor sent: what for, its status ("no answer" on a transport
    failure), milliseconds, the JSON body (None when not JSON) and the failure in words."""

    office: str
    endpoint: str
    status: int | str
    ms: float
    body: Any = None
    keys: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


def contact_refs(body: Any) -> dict[str, list[Mapping[str, Any]]]:
    """The references of a contact-list body per kind (absent, null or malformed: none)."""
    lowered = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
    out: dict[str, list[Mapping[str, Any]]] = {}
    for kind, key in KIND_API_LISTS.items():
        items = lowered.get(key.lower())
        out[kind] = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    return out


def contact_ids(probe: Probe) -> set[str]:
    return {str(field(r, "id")) for refs in contact_refs(probe.body).values() for r in refs}


def field(record: Mapping[str, Any], name: str) -> Any:
    """A field of a record, its name in any case (JSON is camelCase, the tables Pascal)."""
    if name in record:
        return record[name]
    low = name.lower()
    return next((v for k, v in record.items() if str(k).lower() == low), None)


# --- what the answers say -----------------------------------------------------------------


def changed_at_format(probes: Sequence[Probe]) -> tuple[bool | None, str]:
    """(offset carried?, the format in words) from every `changedAt` seen."""
    offsets, digits, odd, seen = set(), set(), 0, 0
    for probe in probes:
        for refs in contact_refs(probe.body).values():
            for ref in refs[:2000]:
                text = str(field(ref, "changedAt") or "")
                match = _CHANGED_AT.match(text)
                seen += 1
                if match is None:
                    odd += 1
                    continue
                offsets.add(match.group(2) or "")
                digits.add(len(match.group(1) or ""))
    if not seen:
        return None, "unknown (no contact in the window)"
    has = {bool(o) for o in offsets}
    fraction = f"{min(digits)}-{max(digits)}" if len(digits) > 1 else str(max(digits, default=0))
    words = "offset " + ", ".join(sorted(o for o in offsets if o)) if has == {True} else "local"
    if has == {True, False}:
        words = "mixed: some with an offset, some without"
    words += f", {fraction} fraction digits ({seen} values"
    words += f", {odd} not ISO 8601)" if odd else ")"
    return (True if has == {True} else False if has == {False} else None), words


def empty_list_shape(probes: Sequence[Probe]) -> tuple[str | None, str]:
    """How an empty list comes ("[]", "null", "absent") from every contact-list answer."""
    seen: dict[str, set[str]] = {}
    for probe in probes:
        if not probe.ok or not isinstance(probe.body, dict):
            continue
        lowered = {str(k).lower(): v for k, v in probe.body.items()}
        for key in KIND_API_LISTS.values():
            if key.lower() not in lowered:
                seen.setdefault("absent", set()).add(key)
            elif lowered[key.lower()] is None:
                seen.setdefault("null", set()).add(key)
            elif lowered[key.lower()] == []:
                seen.setdefault("[]", set()).add(key)
    if not seen:
        return None, "unknown (no answer had an empty list)"
    if len(seen) > 1:
        return None, "mixed: " + "; ".join(
            f"{k} for {', '.join(sorted(v))}" for k, v in seen.items()
        )
    ((shape, keys),) = seen.items()
    return shape, f"{shape} (seen for {', '.join(sorted(keys))})"


def error_shape(probe: Probe) -> tuple[str | None, str]:
    """The shape of the answer to a deliberately invalid request (LeadScore=99)."""
    if probe.status == 200:
        return None, "unknown: the invalid request was accepted (200)"
    if not isinstance(probe.status, int):
        return None, f"unknown: no answer ({probe.problem})"
    keys = set(probe.keys)
    shape = "plain" if not isinstance(probe.body, dict) else "other"
    if "Message" in keys:
        shape = "webapi"
    elif "message" in keys:
        shape = "camel"
    shown = ", ".join(sorted(keys)) if keys else "not a JSON object"
    return shape, f"{shape}: {probe.status} with {shown} (for an invalid LeadScore)"


def zero_filters(base: Probe, zero: Probe, details: Probe | None) -> tuple[bool | None, str]:
    """Whether `LeadScore=0` narrows the window's set, from evidence only (else None)."""
    if not (base.ok and zero.ok):
        return None, f"unknown: LeadScore=0 answered {zero.status}"
    # The window has no upper bound, so a contact changed between the two calls stays in
    # it; one that appeared since is in the second answer only and tells nothing.
    all_ids, zero_ids = contact_ids(base), contact_ids(zero)
    if not all_ids:
        return None, "unknown: the window holds no contact"
    if all_ids - zero_ids:
        kept = len(all_ids & zero_ids)
        return True, f"narrows ({kept} of the window's {len(all_ids)} contacts)"
    starred = [
        r for r in (details.body if details and details.ok and isinstance(details.body, list)
                    else [])
        if isinstance(r, dict) and field(r, "leadScore") not in (None, 0)
        and str(field(r, "id")) in zero_ids
    ]  # fmt: skip
    if starred:
        return False, (
            f'means "no filter": its answer is the whole window ({len(all_ids)}), '
            f"with a contact of {field(starred[0], 'leadScore')} stars in it"
        )
    return None, (
        f"unknown: same {len(all_ids)} contacts as the window, and every contact looked up "
        "has 0 stars (both meanings give this)"
    )


def answer_cap(big: Probe, parts: Sequence[Probe]) -> tuple[int | None, str]:
    """A silent cap: contacts of a window inside the big one missing from the big answer."""
    if not big.ok:
        return None, f"unknown: the one-year answer was {big.status}"
    inside, got = set().union(*(contact_ids(p) for p in parts if p.ok)), contact_ids(big)
    size = sum(len(v) for v in contact_refs(big.body).values())
    missing = inside - got
    if missing:
        return size, (
            f"cut at {size} references: {len(missing)} contacts of windows inside the "
            "one-year window are missing from its answer"
        )
    return None, f"none seen (largest answer {size} references; a higher cap cannot be seen)"


def all_users(probes: Sequence[Probe]) -> tuple[bool | None, str]:
    asked = [p for p in probes if p.endpoint == "GetAllUsers"]
    answered = [p for p in asked if p.ok and isinstance(p.body, list)]
    refused = [p for p in asked if p.status in _REFUSED]
    if refused:
        return False, f"refused ({refused[0].status}): only public users are listed (GetUser)"
    if answered and len(answered) == len(asked):
        return True, f"answers ({sum(len(p.body) for p in answered)} users in all)"
    return None, "unknown: " + ", ".join(str(p.status) for p in asked)


def actions(profile: ServerProfile) -> tuple[str, ...]:
    """What the toolkit does because of the profile, in words."""
    agents = {
        True: "Agents from GetAllUsers (every user): '(no agent)' is exact.",
        False: "Agents from GetUser (public users only): a contact of an unlisted user is "
        "shown as '(no agent or an unlisted user)'.",
        None: "Agents from GetAllUsers when it answers, else GetUser (public users only).",
    }[profile.all_users]
    zero = {
        True: " (LeadScore=0 does narrow here, but nothing depends on it)",
        False: " (LeadScore=0 would return everyone here)",
        None: "",
    }[profile.zero_filters]
    changed = {
        True: "changedAt read with its offset.",
        False: f"changedAt without an offset read as {TIMEZONE} local time.",
        None: "changedAt read with its offset, or as Stockholm local time without one.",
    }[profile.changed_at_offset]
    cap = "No cap assumed (none seen)."
    if profile.answer_cap:
        n = profile.answer_cap
        cap = (
            f"Answers stop at {n} references here: an answer of {n} is not the whole set, so "
            f"use shorter periods or fewer offices per call until each stays below {n}."
        )
    errors = {
        "webapi": "Server error messages read from its Message and ModelState.",
        "camel": "Server error messages read from its message and modelState.",
        "plain": "Server error messages shown as the text it sends.",
    }.get(str(profile.error_shape), "Server error messages read from whatever body it sends.")
    return (
        agents,
        "0 stars derived (the base set minus stars 1-5), never asked" + zero + "; the same "
        "for 'no active service' and 'no list'.",
        changed,
        "Empty lists read as empty whether [], null or absent.",
        errors + " Secrets are never shown.",
        cap,
    )


def dialect_name(profile: ServerProfile) -> str | None:
    """The stand-in preset that behaves as this server did (None if no preset matches)."""
    try:
        from vitec_nb.standin import DIALECTS  # type: ignore[attr-defined]
    except ImportError:
        return None
    names = []
    for name, dialect in DIALECTS.items():
        shared = {f.name for f in dataclasses.fields(dialect)} & set(_FIELD_NAMES)
        if all(
            (getattr(profile, f) is None and f != "answer_cap")
            or getattr(profile, f) == getattr(dialect, f)
            for f in shared
        ):
            names.append(name)
    return " or ".join(names) if names else None


_FIELD_NAMES = ("all_users", "zero_filters", "changed_at_offset", "empty_lists",
                "error_shape", "answer_cap")  # fmt: skip
