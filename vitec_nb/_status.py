"""What went wrong, as the exception hierarchy: answers by status, transport failures.

Pure functions of a response or a requests exception (no session, no client): the table
from status to exception lives in errors.py (`error_for_status`); here each error gets its
fields, with every secret removed from any text the server or a proxy sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import requests
from urllib3.exceptions import ReadTimeoutError

from vitec_nb.errors import (
    ApiError,
    MalformedResponseError,
    RateLimitedError,
    Redactor,
    RedirectError,
    RequestTimeoutError,
    ServerValidationError,
    TransportError,
    VitecError,
    error_for_status,
)
from vitec_nb.retries import DeadlineExceeded, retry_after_seconds

__all__ = [
    "caused_by",
    "error_for_response",
    "malformed",
    "public_url",
    "server_message",
    "transport_error",
]


def server_message(
    response: requests.Response, redact: Callable[[str], str | None] = lambda t: t
) -> tuple[str | None, list[str]]:
    """The server's message and, for validation errors, the per-field messages.

    `redact` runs on every text before it is cut to length, so no secret survives in part.
    """

    def clean(text: Any) -> str:
        return str(redact(str(text)) or "")[:300]

    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:  # plain text: the message, then "field: problem" lines
        text = str(redact(response.text) or "")
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if not lines:
            return None, []
        return clean(lines[0]), [clean(line) for line in lines[1:] if ":" in line]
    if not isinstance(body, dict):
        return (clean(body) if body else None), []
    lowered = {str(k).lower(): v for k, v in body.items()}
    message = lowered.get("message") or lowered.get("title") or lowered.get("error")
    messages: list[str] = []
    for key in ("errors", "modelstate", "validationerrors", "details"):
        value = lowered.get(key)
        if isinstance(value, Mapping):
            for field, problems in value.items():
                problems = problems if isinstance(problems, list) else [problems]
                messages += [f"{field}: {p}" for p in problems]
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    low = {str(k).lower(): v for k, v in item.items()}
                    field = low.get("field") or low.get("parameter") or low.get("name")
                    text = low.get("message") or low.get("error") or str(dict(item))
                    messages.append(f"{field}: {text}" if field else str(text))
                else:
                    messages.append(str(item))
    return (clean(message) if message is not None else None), [clean(m) for m in messages]


def _validation(
    response: requests.Response, kwargs: dict[str, Any], messages: list[str], _r: Redactor
) -> ApiError:
    message = kwargs["server_message"]
    if messages and message:
        kwargs["server_message"] = f"{message} {'; '.join(messages)}"
    return ServerValidationError(messages=messages, **kwargs)


def _rate_limited(
    response: requests.Response, kwargs: dict[str, Any], _m: list[str], _r: Redactor
) -> ApiError:
    retry_after = response.headers.get("Retry-After")
    seconds = None if retry_after is None else retry_after_seconds(retry_after)
    return RateLimitedError(retry_after=seconds, **kwargs)


def _redirect(
    response: requests.Response, kwargs: dict[str, Any], _m: list[str], redact: Redactor
) -> ApiError:
    location = redact(public_url(response.headers.get("Location") or "")) or None
    return RedirectError(location=location, **kwargs)


# The errors that carry more than status, URL, message and office: how each is built.
_Builder = Callable[[requests.Response, dict[str, Any], list[str], Redactor], ApiError]
_BUILDERS: dict[type[ApiError], _Builder]
_BUILDERS = {
    ServerValidationError: _validation,
    RateLimitedError: _rate_limited,
    RedirectError: _redirect,
}


def error_for_response(response: requests.Response, cid: str, redact: Redactor) -> ApiError:
    """The ApiError for a non-200 answer: the class from the status table (errors.py's
    `error_for_status`), its fields from the answer (no secret in any server text)."""
    status = response.status_code
    message, messages = server_message(response, redact)
    cls = error_for_status(status)
    kwargs: dict[str, Any] = {
        "status": status,
        "url": response.url.split("?", 1)[0] if response.url else None,
        "server_message": message,
        "customer_id": cid,
    }
    build = _BUILDERS.get(cls)
    if build is None:
        return cls(**kwargs)
    return build(response, kwargs, messages, redact)


def malformed(
    exc: MalformedResponseError, response: requests.Response | None, redact: Redactor
) -> MalformedResponseError:
    """`exc` without secrets: its text may quote the body, which may echo credentials
    (then no excerpt at all: a cut excerpt could hold part of an encoded secret)."""
    text = str(redact(str(exc)))
    body = response.content if response is not None else b""
    if body and redact.finds(body.decode("utf-8", "replace")):
        text = text.split(" Near there:")[0] + " (no excerpt: the answer quoted credentials)"
    return MalformedResponseError(text)


def transport_error(
    exc: requests.RequestException,
    what: str,
    *,
    base_url: str,
    deadline: float,
    read_timeout: float,
    redact: Redactor,
) -> VitecError:
    """The VitecError for an exception from requests (no password, no URL credentials)."""
    if caused_by(exc, DeadlineExceeded):
        return RequestTimeoutError(
            f"Vitec Connect at {base_url} took longer than the deadline of "
            f"{deadline:g} s for one call ({what}); try again, or raise deadline= in "
            "connect()."
        )
    timeout = RequestTimeoutError(
        f"Vitec Connect at {base_url} did not answer within {read_timeout:g} s "
        f"({what}); try again, or raise timeout= in connect()."
    )
    if isinstance(exc, requests.Timeout) or caused_by_read_timeout(exc):
        return timeout
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return MalformedResponseError(
            f"The answer for {what} was cut off or garbled in transit; nothing was cached."
        )
    if isinstance(exc, requests.ConnectionError):
        return TransportError(
            f"Could not reach Vitec Connect at {base_url} ({what}): {_reason(exc)}. "
            "Check the network and the base URL; cached answers still work with "
            "offline=True."
        )
    if isinstance(exc, requests.TooManyRedirects) and exc.response is not None:
        location = exc.response.headers.get("Location") or ""
        return RedirectError(
            status=exc.response.status_code,
            location=redact(public_url(location)) or None,
        )
    return TransportError(f"The request for {what} failed: {_reason(exc)}.")


def _reason(exc: BaseException) -> str:
    text = str(exc.args[0] if exc.args else exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "reset"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


def public_url(url: str) -> str:
    """`url` without user info, query or fragment (safe to show, to log and to cache)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(an unreadable URL)"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether `exc` or anything it wraps (args, cause, context, reason) is a `kind`."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return True
        if isinstance(item, BaseException):
            stack += [*item.args, item.__cause__, item.__context__, getattr(item, "reason", None)]
    return False


def caused_by_read_timeout(exc: BaseException) -> bool:
    return caused_by(exc, ReadTimeoutError) or caused_by(exc, requests.ReadTimeout)
