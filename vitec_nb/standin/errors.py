"""The stand-in's answers as values, and error bodies in the dialect's shape."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
INVALID = "The request is invalid."


@dataclass(frozen=True)
class Answer:
    """One answer before sending: status, body, content type and extra headers."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


def error(
    status: int,
    message: str,
    shape: str = "webapi",
    model_state: dict[str, list[str]] | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> Answer:
    """An error answer: Web API 2's `{"Message", "ModelState"}`, camel-cased, or plain text.

    `model_state` maps a parameter (as Web API names it, e.g. "criteria.LeadScore") to
    its validation messages; it is sent with 400 answers.
    """
    if shape == "plain":
        lines = [message] + [f"{k}: {m}" for k, msgs in (model_state or {}).items() for m in msgs]
        return Answer(status, "\n".join(lines).encode(), TEXT_TYPE, headers)
    keys = ("Message", "ModelState") if shape == "webapi" else ("message", "modelState")
    body: dict[str, object] = {keys[0]: message}
    if model_state:
        body[keys[1]] = model_state
    return Answer(status, orjson.dumps(body), JSON_TYPE, headers)
