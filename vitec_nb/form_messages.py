"""Messages of the contact form: field labels, lead-score stars, a sentence for every error."""

from __future__ import annotations

import re

from vitec_nb import i18n
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

__all__ = ["ANY", "ANY_VALUE", "FIELD_LABELS", "error_message", "field_labels", "stars"]

ANY = "(any)"
# The value of every "(any)" choice. Not None: a drop-down whose value is None has no
# selection and shows blank (ipywidgets maps None to index None), in Voila's first render
# and whenever "(any)" is chosen again.
ANY_VALUE = ""

_FIELDS = (
    "customer_id",
    "agent_id",
    "created_from",
    "created_to",
    "changed_from",
    "changed_to",
    "lead_score",
    "scheduled_order_type",
    "newsletter_list_id",
    "custom_field_name",
    "custom_field_value",
    "by",
    "measure",
    "period",
    "start",
    "end",
    "compare",
    "office_group",
)


def field_labels(language: str = "en") -> dict[str, str]:
    """Python field name -> what the analyst sees on the form, in `language`."""
    return {name: i18n.text(f"field.{name}", language) for name in _FIELDS}


# Python field name -> what the analyst sees on the form (also used in validation messages).
FIELD_LABELS: dict[str, str] = field_labels("en")


def stars(score: int) -> str:
    """Lead score as five stars, e.g. 3 -> '★★★☆☆'."""
    return "★" * score + "☆" * (5 - score)


def _in_labels(text: str, labels: dict[str, str]) -> str:
    """Python field names in a message replaced by the form's labels ("created_from 1 May")."""
    pattern = r"\b(" + "|".join(sorted(labels, key=len, reverse=True)) + r")\b"
    return re.sub(pattern, lambda m: labels[m.group(1)].lower(), text)


def error_message(err: BaseException, context: str | None = None, language: str = "en") -> str:
    """A sentence an analyst can act on for any error a run can raise (never a traceback).

    `context` says what the run asked for in the analyst's words ("office M30011, contacts
    created 1 Jan – 31 Dec 2025"); offline misses name it instead of internal bounds.
    `language`: "en" or "sv" (the words of the translation table, `vitec_nb.i18n`).
    """

    def say(key: str, **values: object) -> str:
        return i18n.text(key, language, **values)

    if isinstance(err, InvalidQueryError):
        return _invalid_message(err, language)
    if isinstance(err, AuthenticationError):
        office = say("err.auth_office", office=err.customer_id) if err.customer_id else ""
        return say("err.auth", office=office)
    if isinstance(err, ForbiddenError):
        return say("err.forbidden", office=err.customer_id or say("err.this_office"))
    if isinstance(err, ServerValidationError):
        said = err.server_message or "; ".join(err.messages) or str(err)
        return say("err.rejected", said=said)
    if isinstance(err, IncompleteBreakdownError):
        return _incomplete_message(err, context, language=language)
    if isinstance(err, NotCachedError):
        return say("err.offline", what=say("err.for", context=context) if context else "")
    if isinstance(err, RequestTimeoutError):
        return say("err.timeout", error=err)
    if isinstance(err, TransportError):
        return say("err.transport", error=err)
    if isinstance(err, VitecError):
        return str(err)
    return say("err.unexpected", kind=type(err).__name__, error=err)


def _invalid_message(err: InvalidQueryError, language: str) -> str:
    """ "Created to: 1 jan 2025 is before ..." with the form's label of the field."""
    labels = field_labels(language)
    text = str(err)
    if text.startswith(f"{err.field}: "):
        text = text[len(err.field) + 2 :]
    if language != "en" and err.allowed:
        text = text.replace("(allowed: ", "(" + i18n.text("err.allowed", language, allowed=""))
    return f"{labels.get(err.field, err.field)}: {_in_labels(text, labels)}"


def _incomplete_message(
    err: IncompleteBreakdownError, context: str | None = None, shown: int = 8, language: str = "en"
) -> str:
    """What failed and what is missing, in a few lines.

    When every call failed the same way (a 401 or 403 for the office, offline misses, the
    server down) that cause is the message. Otherwise the common cause (if any) comes
    first, then which calls are missing, named by what they were for.
    """

    def say(key: str, **values: object) -> str:
        return i18n.text(key, language, **values)

    if not err.missing:  # nothing structured to say: the breakdown's own sentence
        return say("err.incomplete", error=err)
    causes = [getattr(m, "error", None) for m in err.missing]
    labels = [str(getattr(getattr(m, "call", None), "label", m)) for m in err.missing]
    plan = getattr(err.partial, "plan", None)
    total = int(getattr(plan, "n_calls", 0) or 0) or len(causes)
    kinds = {type(c) for c in causes}
    same = bool(causes) and None not in kinds and len(kinds) == 1
    if same and isinstance(causes[0], NotCachedError):
        what = say("err.for", context=context) if context else ""
        if len(causes) == total:
            return say("err.offline_none", total=total, what=what)
        return say("err.offline_some", n=len(causes), total=total, what=what)
    head = error_message(causes[0], language=language) if same and causes[0] is not None else ""
    if same and len(causes) == total:
        return say("err.all_failed", head=head, total=total)
    names = "; ".join(labels[:shown])
    if len(labels) > shown:
        names += "; " + say("err.and_more", n=len(labels) - shown)
    return (head + "\n" if head else "") + say(
        "err.some_failed", n=len(labels), total=total, names=names
    )
