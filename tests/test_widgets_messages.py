"""What the form says for each error a run can raise: a sentence, never a traceback."""

from __future__ import annotations

import pytest

from vitec_nb import errors
from vitec_nb.widgets import error_message


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            errors.ServerValidationError(messages=["LeadScore: 'x' is not a number"]),
            "rejected the query (400): LeadScore: 'x' is not a number",
        ),
        (errors.AuthenticationError(customer_id="M30011"), "check user name and password"),
        (errors.ForbiddenError(customer_id="M30012"), "No access to office M30012"),
        (
            errors.IncompleteBreakdownError("3 calls failed: agent A1 (503), ..."),
            "3 calls failed: agent A1 (503)",
        ),
        (errors.NotCachedError("Not in the cache (offline mode)."), "Switch Offline off"),
        (errors.RequestTimeoutError("no answer within 30 s"), "did not answer in time"),
        (errors.TransportError("connection refused"), "Could not reach Vitec Connect"),
        (errors.InvalidQueryError("lead_score", "7 is out of range", "0 to 5"), "Lead score:"),
        (KeyError("persons"), "Unexpected error (KeyError)"),
    ],
)
def test_each_error_becomes_a_readable_message(error: BaseException, expected: str) -> None:
    message = error_message(error)
    assert expected in message
    assert "Traceback" not in message
