"""`vitec-nb doctor` and `client.doctor()`: a cheap check of an account and how its server behaves.

Per office it asks the contact list for a narrow recent window and each lookup once; on the
first office that lets us in it also asks the few questions Vitec's docs leave open
(docs/doctor.md): the `changedAt` format, how empty lists come, whether `LeadScore=0`
narrows, the shape of a 400's body and whether big answers are cut. Every probe goes
through the client's own send path (`BaseClient._probe`: auth, retries, the 429 gate,
secret-free errors) with the cache bypassed for reading, so each answer is the server's
own. What it learns is a `ServerProfile`, remembered per base URL beside the cache.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from vitec_nb import doctor_findings as facts
from vitec_nb.dates import format_api_datetime
from vitec_nb.doctor_findings import Probe
from vitec_nb.errors import InvalidQueryError, VitecError
from vitec_nb.profile import PROFILE_FILE, ServerProfile, load_profile, save_profile
from vitec_nb.vocab import (
    COMPANY,
    CUSTOMER_ID_ALLOWED,
    DECEASED_ESTATE,
    KIND_TYPES,
    PERSON,
    TIMEZONE,
    is_customer_id,
    normalize_customer_id,
)

if TYPE_CHECKING:
    from vitec_nb._base_client import BaseClient

__all__ = ["DoctorReport", "OfficeCheck", "Probe", "profile_path", "run_doctor"]

OFFICE_ENDPOINTS = ("contact list", "GetUser", "GetAllUsers", "newsletter lists",
                    "custom fields", "offices")  # fmt: skip
"""Asked for every office."""
SERVER_ENDPOINTS = ("office groups", "details")
"""Asked once, on the first office that answers (they do not differ between offices)."""
WINDOW_DAYS = (2, 14, 92, 730)
"""The narrow window "changed since N days ago", widened until it holds a contact."""
CAP_DAYS = (366, 183)
"""The cap check: one year's changes, and its two halves (which must be inside it)."""
CAP_END_MARGIN_MINUTES = 10
"""The cap check's windows end this long before `now`."""
DETAIL_IDS = 20
INVALID = {"LeadScore": "not-a-number"}
"""The deliberately invalid parameter whose 400 shows the error body's shape (a number out
of range, such as 99, may be accepted: Vitec documents no range)."""
"""Ids in the one details call (Vitec's maximum per call)."""


def profile_path(cache: Any) -> Path:
    """The server-profile store beside the cache (`cache` as in `Settings.cache`)."""
    from vitec_nb import cache as cache_mod

    if isinstance(cache, str | Path) and not str(cache).startswith(("redis", "unix:")):
        return cache_mod.sqlite_path(Path(cache), create=False).parent / PROFILE_FILE
    return cache_mod.default_cache_path().parent / PROFILE_FILE


def remembered_profile(client: BaseClient) -> ServerProfile:
    """What an earlier doctor run learnt about the client's base URL (defaults if none)."""
    if client.is_demo:
        return ServerProfile()
    return load_profile(client.base_url, profile_path(client.settings.cache))


# --- probes ------------------------------------------------------------------------------


class _Prober:
    """Sends probes through the client and keeps them all (the call count is their number)."""

    def __init__(self, client: BaseClient) -> None:
        self.client = client
        self.probes: list[Probe] = []

    def get(self, office: str, endpoint: str, path: str, params: Mapping[str, str]) -> Probe:
        started = time.perf_counter()
        try:
            response = self.client._probe(path, params, office, f"doctor: {endpoint}")
        except VitecError as exc:  # messages from the client carry no secret
            ms = (time.perf_counter() - started) * 1000
            probe = Probe(office, endpoint, "no answer", ms, problem=str(exc))
        else:
            ms = (time.perf_counter() - started) * 1000
            try:
                body = orjson.loads(response.content) if response.content else None
            except orjson.JSONDecodeError:
                body = None
            keys = tuple(str(k) for k in body) if isinstance(body, dict) else ()
            problem = (
                None
                if response.status_code == 200
                else _status_words(response, self.client._redact)
            )
            probe = Probe(office, endpoint, response.status_code, ms, body, keys, problem)
        self.probes.append(probe)
        return probe


def _status_words(response: Any, redact: Callable[[str], str | None]) -> str:
    """The status and the server's words, every form of the account's secrets removed
    (`redact`: the client's redactor; a proxy may echo the Authorization header)."""
    from vitec_nb._status import server_message

    message, messages = server_message(response, redact)
    text = " ".join([message or "", *messages]).strip()
    return f"{response.status_code}: {text[:200]}" if text else str(response.status_code)


# --- the run -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OfficeCheck:
    """One office: whether we got in, and each endpoint's answer ("200", "404", "-": not asked)."""

    office: str
    authenticated: bool | None
    endpoints: dict[str, str]
    latency_ms: tuple[float, ...]
    problem: str | None = None


@dataclasses.dataclass(frozen=True)
class DoctorReport:
    """What `run_doctor` found; `text()` is the printed table, `to_dict()` the --json form."""

    base_url: str
    demo: bool
    window: str
    offices: tuple[OfficeCheck, ...]
    findings: dict[str, str]
    profile: ServerProfile
    actions: tuple[str, ...]
    calls_planned: int
    calls_made: int
    dialect: str | None = None
    stored_at: str | None = None

    @property
    def ok(self) -> bool:
        """Every office let us in."""
        return all(o.authenticated for o in self.offices)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"ok": self.ok}

    def text(self) -> str:
        return _report_text(self)


def run_doctor(
    client: BaseClient,
    offices: Sequence[str] | str | None = None,
    *,
    now: Any = None,
    save: bool = True,
    echo: Callable[[str], None] | None = None,
) -> DoctorReport:
    """Check `offices` (default: every configured office) and learn the server's profile.

    Args:
        now: the moment the windows end at (default: now; a date-time for tests).
        save: remember the profile for the base URL beside the cache (never in demo mode,
            whose base URL changes every process); `client.profile` is updated either way.
        echo: called with the line announcing the call count before any request.
    """
    chosen = _chosen_offices(client, offices)
    stamp = _now(now)
    planned = 17 + 6 * (len(chosen) - 1)
    where = "the built-in stand-in (demo data, not Vitec)" if client.is_demo else client.base_url
    if echo is not None:
        echo(f"Checking {len(chosen)} office(s) at {where}: at most {planned} calls.")
    prober = _Prober(client)
    window: dict[str, str] | None = None
    server: dict[str, Probe] = {}
    for office in chosen:
        base, found = _contact_list(prober, office, stamp, window)
        if base.ok:  # the window is settled by the first office that answers
            window = found
            _lookups(prober, office)
            if not server:
                server = _server_probes(prober, office, stamp, window, base)
    profile, findings = _learn(prober.probes, server, stamp)
    report = DoctorReport(
        base_url=client.base_url,
        demo=client.is_demo,
        window=_window_words(window),
        offices=tuple(_office_check(prober.probes, o) for o in chosen),
        findings=findings,
        profile=profile,
        actions=facts.actions(profile),
        calls_planned=planned,
        calls_made=len(prober.probes),
        dialect=facts.dialect_name(profile) if server else None,
    )
    if server:  # a check that reached no office leaves what was known alone
        client._profile = profile
    if save and server and not client.is_demo:
        path = save_profile(client.base_url, profile, profile_path(client.settings.cache))
        report = dataclasses.replace(report, stored_at=str(path))
    return report


def _chosen_offices(client: BaseClient, offices: Sequence[str] | str | None) -> list[str]:
    """The offices to check, validated before any request."""
    if offices is None or (not isinstance(offices, str) and len(offices) == 0):
        offices = list(client.customer_ids)
    elif isinstance(offices, str):
        offices = [offices]
    if not offices:
        raise InvalidQueryError(
            "office", "no office is configured", "pass --office M30011 or set VITEC_CUSTOMER_IDS"
        )
    chosen: list[str] = []
    for value in offices:
        cid = normalize_customer_id(value) if isinstance(value, str) else value
        if not isinstance(cid, str) or not is_customer_id(cid):
            raise InvalidQueryError("office", f"{value!r} is not an office id", CUSTOMER_ID_ALLOWED)
        client.credentials.auth_for(cid)  # no password for it: an error naming it, no request
        if cid not in chosen:
            chosen.append(cid)
    return chosen


def _now(now: Any) -> pd.Timestamp:
    stamp = pd.Timestamp.now(tz=TIMEZONE) if now is None else pd.Timestamp(now)
    stamp = stamp.tz_localize(TIMEZONE) if stamp.tzinfo is None else stamp.tz_convert(TIMEZONE)
    return stamp.floor("s")


def _since(stamp: pd.Timestamp, days: int, minutes: int = 0) -> str:
    return format_api_datetime(stamp - pd.Timedelta(days=days, minutes=minutes))


def _contact_list(
    prober: _Prober, office: str, stamp: pd.Timestamp, window: dict[str, str] | None
) -> tuple[Probe, dict[str, str]]:
    """The office's contact list in the narrow window; the first office finds the window
    (changed in the last 2 days, widened until it holds a contact)."""
    path = f"CRM/Contact/{office}"
    if window is not None:
        return prober.get(office, "contact list", path, window), window
    for days in WINDOW_DAYS:
        window = {"ChangedAtFrom": _since(stamp, days)}
        probe = prober.get(office, "contact list", path, window)
        if not probe.ok or facts.contact_ids(probe):
            break
    assert window is not None
    return probe, window


def _lookups(prober: _Prober, office: str) -> None:
    prober.get(office, "GetUser", "User/GetUser", {"CustomerId": office})
    prober.get(office, "GetAllUsers", "User/GetAllUsers", {"CustomerId": office})
    prober.get(office, "newsletter lists", f"CRM/Newsletter/{office}/NewsletterLists", {})
    prober.get(office, "custom fields", "CustomField/Get", {"customerId": office})
    prober.get(office, "offices", "Office/GetOffice", {"CustomerId": office})


def _server_probes(
    prober: _Prober, office: str, stamp: pd.Timestamp, window: dict[str, str], base: Probe
) -> dict[str, Probe]:
    """The questions about the server, asked once (on the first office that answered)."""
    path = f"CRM/Contact/{office}"
    got = {"base": base}
    got["zero"] = prober.get(office, "LeadScore=0", path, {**window, "LeadScore": "0"})
    got["invalid"] = prober.get(office, "invalid request", path, {**window, **INVALID})
    got["groups"] = prober.get(office, "office groups", f"CRM/Officegroups/{office}", {})
    details = _details(prober, office, base)
    if details is not None:
        got["details"] = details
    # fixed ends a little in the past: a contact changed during the check (or by a server
    # whose clock is behind ours) falls in none of the three windows
    end = _since(stamp, 0, minutes=CAP_END_MARGIN_MINUTES)
    year = {"ChangedAtFrom": _since(stamp, CAP_DAYS[0]), "ChangedAtTo": end}
    got["big"] = prober.get(office, "one year", path, year)
    older = {**year, "ChangedAtTo": _since(stamp, CAP_DAYS[1])}
    got["older"] = prober.get(office, "older half-year", path, older)
    newer = {"ChangedAtFrom": _since(stamp, CAP_DAYS[1]), "ChangedAtTo": end}
    got["newer"] = prober.get(office, "newer half-year", path, newer)
    if facts.empty_list_shape(prober.probes)[0] is None:  # every list so far had contacts
        future = {"ChangedAtFrom": _since(stamp, -1)}
        got["empty"] = prober.get(office, "empty window", path, future)
    return got


def _details(prober: _Prober, office: str, base: Probe) -> Probe | None:
    """One typed details call for up to 20 of the window's persons (or companies): more
    than 5 ids go in the query string, as Vitec's help page says. None: no contact."""
    refs = facts.contact_refs(base.body)
    kind = max((PERSON, COMPANY), key=lambda k: len(refs[k]))
    kind = kind if refs[kind] else DECEASED_ESTATE
    if not refs[kind]:
        return None
    ids = [str(facts.field(r, "id")) for r in refs[kind][:DETAIL_IDS]]
    route = KIND_TYPES[kind]
    path = f"CRM/Contact/{office}/{route}"
    if len(ids) > 5:
        return prober.get(office, "details", path, {"contactIds": ",".join(ids)})
    return prober.get(office, "details", f"{path}/{','.join(ids)}", {})


def _learn(
    probes: Sequence[Probe], server: Mapping[str, Probe], stamp: pd.Timestamp
) -> tuple[ServerProfile, dict[str, str]]:
    """The profile and a sentence per finding, from every probe's answer."""
    if not server:
        return ServerProfile(), {"server": "unknown: no office answered the contact list"}
    lists = [p for p in probes if p.endpoint in _LIST_ENDPOINTS and p.ok]
    offset, changed_words = facts.changed_at_format(lists)
    empty, empty_words = facts.empty_list_shape(lists)
    zero, zero_words = facts.zero_filters(server["base"], server["zero"], server.get("details"))
    shape, shape_words = facts.error_shape(server["invalid"])
    cap, cap_words = facts.answer_cap(server["big"], [server["older"], server["newer"]])
    users, users_words = facts.all_users(probes)
    ms = [p.ms for p in probes]
    slowest = max(probes, key=lambda p: p.ms)
    findings = {
        "checked on": server["base"].office,
        "changedAt": changed_words,
        "empty lists": empty_words,
        "LeadScore=0": zero_words,
        "error body": shape_words,
        "answer cap": cap_words,
        "all users": users_words,
        "latency": f"median {statistics.median(ms):.0f} ms, slowest {slowest.ms:.0f} ms "
        f"({slowest.endpoint}, {slowest.office})",
    }
    profile = ServerProfile(
        all_users=users,
        zero_filters=zero,
        changed_at_offset=offset,
        empty_lists=empty,  # type: ignore[arg-type]
        error_shape=shape,
        answer_cap=cap,
        checked_at=stamp.tz_convert("UTC").isoformat() if stamp is not None else None,
    )
    return profile, findings


_LIST_ENDPOINTS = ("contact list", "LeadScore=0", "one year", "older half-year", "newer half-year",
                   "empty window")  # fmt: skip


def _office_check(probes: Sequence[Probe], office: str) -> OfficeCheck:
    mine = [p for p in probes if p.office == office]
    cells: dict[str, str] = {}
    for name in (*OFFICE_ENDPOINTS, *SERVER_ENDPOINTS):
        asked = [p for p in mine if p.endpoint == name]
        cells[name] = _cell(asked[-1]) if asked else "-"
    lists = [p for p in mine if p.endpoint == "contact list"]
    status = lists[-1].status if lists else None
    authenticated = {200: True, 401: False, 403: False}.get(status) if status else None
    problem = next((p.problem for p in lists if p.problem), None)
    return OfficeCheck(office, authenticated, cells, tuple(p.ms for p in mine), problem)


def _cell(probe: Probe) -> str:
    if probe.status == 200:
        return "ok" if isinstance(probe.body, list | dict) else "200?"
    return str(probe.status)


def _window_words(window: Mapping[str, str] | None) -> str:
    if not window:
        return "none"
    return f"contacts changed since {window['ChangedAtFrom'].replace('T', ' ')} (Stockholm time)"


def _report_text(report: DoctorReport) -> str:
    """The printed form: a line on where, the table per office, the findings, the actions."""
    lines = [f"vitec-nb doctor: {report.base_url}"]
    if report.demo:
        lines.append("DEMO: this ran against the built-in stand-in, not Vitec Connect.")
    lines += [f"Window: {report.window}", ""]
    header = ["office", "auth", *OFFICE_ENDPOINTS, *SERVER_ENDPOINTS, "ms median/max"]
    rows = [header]
    for check in report.offices:
        auth = {True: "ok", False: "REFUSED", None: "?"}[check.authenticated]
        ms = check.latency_ms
        timing = f"{statistics.median(ms):.0f}/{max(ms):.0f}" if ms else "-"
        rows.append([check.office, auth, *check.endpoints.values(), timing])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines += [f"  {c.office}: {c.problem}" for c in report.offices if c.problem]
    lines += ["", "Server behaviour:"]
    lines += [f"  {name:<13} {words}" for name, words in report.findings.items()]
    if report.dialect:
        lines.append(f"  {'stand-in':<13} behaves like StandIn(dialect={report.dialect!r})")
    lines += ["", "What the toolkit will do:", *(f"  - {a}" for a in report.actions), ""]
    if report.stored_at:
        lines.append(f"Remembered for {report.base_url} in {report.stored_at} (mode 0600).")
    elif report.demo:
        lines.append("Not remembered (demo mode: the stand-in's address changes every run).")
    lines.append(f"Made {report.calls_made} calls (at most {report.calls_planned} planned).")
    return "\n".join(lines)
