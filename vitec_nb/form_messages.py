"""Messages of the contact form: field labels, lead-score stars, a sentence for every error."""

from __future__ import annotations

import re

from vitec_nb.errors import (
    AuthenticationError,
    ForbiddenError,
    IncompleteBreakdownError,
    InvalidQueryError,
    NotCachedError,
    RequestTimeoutError,
    ServerValidationError,
    TransportError,
    VitecError,
)

__all__ = ["FIELD_LABELS", "error_message", "stars"]

# Python field name -> what the analyst sees on the form (also used in validation messages).
FIELD_LABELS: dict[str, str] = {
    "customer_id": "Office",
    "agent_id": "Agent",
    "created_from": "Created from",
    "created_to": "Created to",
    "changed_from": "Changed from",
    "changed_to": "Changed to",
    "lead_score": "Lead score",
    "scheduled_order_type": "Scheduled order",
    "newsletter_list_id": "Newsletter list",
    "custom_field_name": "Custom field",
    "custom_field_value": "Field value",
    "by": "Split by",
    "measure": "Measure",
    "period": "Period",
    "start": "Date range",
    "end": "Date range",
}


def stars(score: int) -> str:
    """Lead score as five stars, e.g. 3 -> '★★★☆☆'."""
    return "★" * score + "☆" * (5 - score)


def _in_labels(text: str) -> str:
    """Python field names in a message replaced by the form's labels ("created_from 1 May")."""
    pattern = r"\b(" + "|".join(sorted(FIELD_LABELS, key=len, reverse=True)) + r")\b"
    return re.sub(pattern, lambda m: FIELD_LABELS[m.group(1)].lower(), text)


def error_message(err: BaseException, context: str | None = None) -> str:
    """A sentence an analyst can act on for any error a run can raise (never a traceback).

    `context` says what the run asked for in the analyst's words ("office M30011, contacts
    created 1 Jan – 31 Dec 2025"); offline misses name it instead of internal bounds.
    """
    if isinstance(err, InvalidQueryError):
        label = FIELD_LABELS.get(err.field, err.field)
        text = str(err)
        if text.startswith(f"{err.field}: "):
            text = text[len(err.field) + 2 :]
        return f"{label}: {_in_labels(text)}"
    if isinstance(err, AuthenticationError):
        office = f" for office {err.customer_id}" if err.customer_id else ""
        return (
            f"Vitec Connect did not accept the credentials{office} (401): "
            "check user name and password (VITEC_USERNAME, VITEC_PASSWORD)."
        )
    if isinstance(err, ForbiddenError):
        office = err.customer_id or "this office"
        return (
            f"No access to office {office} (403): your account may not read this office's "
            "contacts; ask Vitec or your administrator."
        )
    if isinstance(err, ServerValidationError):
        said = err.server_message or "; ".join(err.messages) or str(err)
        return f"Vitec Connect rejected the query (400): {said}"
    if isinstance(err, IncompleteBreakdownError):
        return _incomplete_message(err, context)
    if isinstance(err, NotCachedError):
        what = f" for {context}" if context else ""
        return (
            f"Offline: the answer{what} is not in the cache and nothing was sent. "
            "Switch Offline off to fetch from Vitec Connect."
        )
    if isinstance(err, RequestTimeoutError):
        return f"Vitec Connect did not answer in time: {err} Try again later."
    if isinstance(err, TransportError):
        return f"Could not reach Vitec Connect: {err}"
    if isinstance(err, VitecError):
        return str(err)
    return f"Unexpected error ({type(err).__name__}): {err}"


def _incomplete_message(
    err: IncompleteBreakdownError, context: str | None = None, shown: int = 8
) -> str:
    """What failed and what is missing, in a few lines.

    When every call failed the same way (a 401 or 403 for the office, offline misses, the
    server down) that cause is the message. Otherwise the common cause (if any) comes
    first, then which calls are missing, named by what they were for.
    """
    if not err.missing:  # nothing structured to say: the breakdown's own sentence
        return f"{err} Run again to fetch only what is missing (the rest is cached)."
    causes = [getattr(m, "error", None) for m in err.missing]
    labels = [str(getattr(getattr(m, "call", None), "label", m)) for m in err.missing]
    plan = getattr(err.partial, "plan", None)
    total = int(getattr(plan, "n_calls", 0) or 0) or len(causes)
    kinds = {type(c) for c in causes}
    same = bool(causes) and None not in kinds and len(kinds) == 1
    if same and isinstance(causes[0], NotCachedError):
        what = f" for {context}" if context else ""
        if len(causes) == total:
            return (
                f"Offline: none of the {total} answers{what} is in the cache, and nothing "
                "was sent. Switch Offline off to fetch them from Vitec Connect."
            )
        return (
            f"Offline: {len(causes)} of the {total} answers{what} are not in the cache "
            "(nothing was sent). Switch Offline off to fetch only those."
        )
    head = error_message(causes[0]) if same and causes[0] is not None else ""
    if same and len(causes) == total:
        return f"{head} (all {total} calls failed.)"
    names = "; ".join(labels[:shown])
    if len(labels) > shown:
        names += f"; … and {len(labels) - shown} more"
    return (
        (head + "\n" if head else "")
        + f"{len(labels)} of {total} calls of the breakdown failed, so these counts are "
        f"missing: {names}.\nRun again to fetch only these (the others are cached)."
    )
