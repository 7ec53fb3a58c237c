"""Every error vitec_nb raises, in one hierarchy under VitecError.

    VitecError
    ├── ConfigurationError                 credentials or settings incomplete or contradictory
    ├── InvalidQueryError (also a ValueError)  bad input, caught before any request
    ├── ApiError                               the server answered with an error status
    │   ├── ServerValidationError   400  the server's own validation messages
    │   ├── AuthenticationError     401  wrong user name or password
    │   ├── ForbiddenError          403  no access to that office (customer id)
    │   ├── NotFoundError           404  wrong path or base URL
    │   ├── RedirectError           3xx  the API answered with a redirect (never followed)
    │   ├── RateLimitedError        429  too many requests, retries exhausted
    │   └── ServerError             5xx  Vitec's side failed, retries exhausted
    ├── TransportError                     no usable answer: connection refused, reset, ...
    │   └── RequestTimeoutError            the server did not answer in time
    ├── MalformedResponseError             an answer that is not a valid contact list
    ├── NotCachedError                     offline mode and the answer is not in the cache
    └── IncompleteBreakdownError           some calls of a breakdown failed; names them

Messages are sentences an analyst can act on. They never contain a password or an
Authorization header: URLs in messages carry no credentials (the client uses headers), and
server text passes through a `Redactor` of the credentials in use before it is quoted.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ForbiddenError",
    "IncompleteBreakdownError",
    "InvalidQueryError",
    "MalformedResponseError",
    "NotCachedError",
    "NotFoundError",
    "RateLimitedError",
    "Redactor",
    "RedirectError",
    "RequestTimeoutError",
    "ServerError",
    "ServerValidationError",
    "TransportError",
    "VitecError",
]


class VitecError(Exception):
    """Base of every error raised by vitec_nb."""


class ConfigurationError(VitecError):
    """Credentials or settings are incomplete or contradictory (e.g. a user name, no password).

    Raised by `connect()` before any request; the message names what is missing and where
    it may come from (argument, environment variable, keyring). See docs/credentials.md.
    """


class InvalidQueryError(VitecError, ValueError):
    """A filter or option has a value the API does not allow; raised before any request.

    `field` is the Python name of the offending field (e.g. ``"lead_score"``) and
    `allowed` says in words what would be accepted.
    """

    def __init__(self, field: str, message: str, allowed: str | None = None) -> None:
        self.field = field
        self.allowed = allowed
        text = f"{field}: {message}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)


class ApiError(VitecError):
    """The server answered with an error status.

    Attributes: `status` (HTTP status), `url` (without credentials), `server_message`
    (the message from the server's JSON body, if any), `customer_id` (when known).
    """

    status: int | None = None
    hint: str = ""

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        url: str | None = None,
        server_message: str | None = None,
        customer_id: str | None = None,
    ) -> None:
        if status is not None:
            self.status = status
        self.url = url
        self.server_message = server_message
        self.customer_id = customer_id
        if message is None:
            message = self.default_message()
        super().__init__(message)

    def default_message(self) -> str:
        parts = [f"Vitec Connect answered {self.status}"]
        if self.customer_id:
            parts.append(f" for office {self.customer_id}")
        text = "".join(parts) + "."
        if self.server_message:
            text += f" The server said: {self.server_message}"
        if self.hint:
            text += f" {self.hint}"
        return text


class ServerValidationError(ApiError):
    """400: the server rejected the request; `messages` holds its validation messages."""

    status = 400
    hint = "Change the filter the server names and run again."

    def __init__(self, message: str | None = None, *, messages: Sequence[str] = (), **kw: Any):
        self.messages = list(messages)
        if kw.get("server_message") is None and self.messages:
            kw["server_message"] = "; ".join(self.messages)
        super().__init__(message, **kw)


class AuthenticationError(ApiError):
    """401: the user name or password is wrong. Check them (see docs/credentials.md)."""

    status = 401
    hint = "Check the user name and password for this office."


class ForbiddenError(ApiError):
    """403: the credentials are valid but have no access to this office's data."""

    status = 403
    hint = "Your account has no access to this office; ask Vitec or your administrator."


class NotFoundError(ApiError):
    """404: the path does not exist; usually a wrong base URL."""

    status = 404
    hint = "Check the base URL (VITEC_BASE_URL)."


class RedirectError(ApiError):
    """3xx: the API answered with a redirect; never followed, nothing cached.

    `location` is where it pointed (user info and query removed). Usually a wrong base URL
    (http instead of https, a moved host) or a proxy or login page in between.
    """

    status = 302
    hint = "Check the base URL (VITEC_BASE_URL) and any proxy in between; nothing was cached."

    def __init__(self, message: str | None = None, *, location: str | None = None, **kw: Any):
        self.location = location
        super().__init__(message, **kw)

    def default_message(self) -> str:
        where = f" to {self.location}" if self.location else " without a location"
        text = f"Vitec Connect answered {self.status} (a redirect{where})"
        if self.customer_id:
            text += f" for office {self.customer_id}"
        return f"{text}; it was not followed. {self.hint}"


class RateLimitedError(ApiError):
    """429 after the retries ran out; `retry_after` is the server's wait in seconds."""

    status = 429
    hint = "The server asks us to slow down; wait a minute and run again (cached answers stay)."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kw: Any):
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(ApiError):
    """5xx after the retries ran out: an unexpected error on Vitec's side."""

    status = 500
    hint = "This is on Vitec's side; try again later (answers already fetched are cached)."


class TransportError(VitecError):
    """No usable answer reached us (connection refused or reset, DNS, TLS)."""


class RequestTimeoutError(TransportError):
    """The server did not answer within the configured timeout."""


class MalformedResponseError(VitecError):
    """The body is not a valid contact list (truncated, not JSON/XML, wrong shape)."""


class NotCachedError(VitecError):
    """Offline mode: the answer is not in the cache, and offline mode may not ask the server."""


class IncompleteBreakdownError(VitecError):
    """Some calls of a breakdown failed; `missing` names them, `partial` keeps what arrived.

    Everything that was fetched is in the cache: running the breakdown again fetches only
    the missing calls.
    """

    def __init__(self, message: str, *, missing: Sequence[Any] = (), partial: Any = None) -> None:
        self.missing = list(missing)
        self.partial = partial
        super().__init__(message)


class Redactor:
    """Removes every form of some secrets from text: plain, URL-quoted, and base64 of
    ``user:password`` (a Basic header's value) and of the password alone.

    For server text (an error body, a proxy echoing the Authorization header, a location)
    before it reaches an exception, a log line or a warning.
    """

    MASK = "***"
    SHORT = 6  # forms shorter than this are matched as whole words only

    def __init__(self, username: str, passwords: Iterable[str]) -> None:
        forms: set[str] = set()
        for password in passwords:
            if not password:
                continue
            forms |= {password, urllib.parse.quote(password, safe=""), urllib.parse.quote(password)}
            for encoding in ("latin-1", "utf-8"):
                try:
                    pair = f"{username}:{password}".encode(encoding)
                    alone = password.encode(encoding)
                except UnicodeEncodeError:
                    continue
                for raw in (pair, alone):
                    forms |= {
                        base64.b64encode(raw).decode(),
                        base64.urlsafe_b64encode(raw).decode(),
                    }
                    forms.add(base64.b64encode(raw).decode().rstrip("="))
        ordered = sorted((f for f in forms if f), key=len, reverse=True)
        self._forms = [f for f in ordered if len(f) >= self.SHORT]
        # A short form is removed only where it stands alone, so "http" survives "p".
        self._short = [
            re.compile(rf"(?<![A-Za-z0-9]){re.escape(f)}(?![A-Za-z0-9])")
            for f in ordered
            if len(f) < self.SHORT
        ]

    def __repr__(self) -> str:
        return f"Redactor({len(self._forms)} forms)"

    def finds(self, text: str) -> bool:
        """Whether `text` holds any form of the secrets."""
        return any(f in text for f in self._forms) or any(p.search(text) for p in self._short)

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        for form in self._forms:
            if form in text:
                text = text.replace(form, self.MASK)
        for pattern in self._short:
            text = pattern.sub(self.MASK, text)
        return text


# Status code -> class, for the client's error mapping.
STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: ServerValidationError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    429: RateLimitedError,
}


def error_for_status(status: int) -> type[ApiError]:
    """The ApiError subclass for an HTTP status (5xx -> ServerError)."""
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    if 300 <= status < 400:
        return RedirectError
    if status >= 500:
        return ServerError
    return ApiError
