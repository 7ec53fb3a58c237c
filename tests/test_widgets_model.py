"""The form's model (form_model.py) without widgets: pure, and its rules as plain calls."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pytest

from vitec_nb import form_model
from vitec_nb.errors import InvalidQueryError
from vitec_nb.form_messages import ANY_VALUE


def test_importing_the_form_model_loads_no_ipywidgets() -> None:
    code = "import sys, vitec_nb.form_model; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_to_day_before_its_from_day_names_the_to_control() -> None:
    with pytest.raises(InvalidQueryError) as err:
        form_model._check_days("created", dt.date(2025, 3, 2), dt.date(2025, 3, 1))
    assert err.value.field == "created_to"
    form_model._check_days("created", dt.date(2025, 3, 1), dt.date(2025, 3, 1))  # one day


def test_a_time_without_a_day_is_refused_and_a_day_with_a_time_is_that_instant() -> None:
    with pytest.raises(InvalidQueryError) as err:
        form_model._combine(None, dt.time(9, 30), "changed_from")
    assert err.value.field == "changed_from"
    assert form_model._combine(dt.date(2025, 1, 2), None, "x") == dt.date(2025, 1, 2)
    assert form_model._combine(dt.date(2025, 1, 2), dt.time(9, 30), "x") == dt.datetime(
        2025, 1, 2, 9, 30
    )


def test_any_is_no_filter_and_namesakes_stay_apart_in_the_agent_choices() -> None:
    assert form_model._chosen(ANY_VALUE) is None
    assert form_model._chosen("HAN1") == "HAN1"
    agents = pd.DataFrame(
        {
            "user_id": ["HAN2", "HAN1", "HAN3"],
            "name": ["Anna Berg", "Anna Berg", "Erik Holm"],
            "archived": [False, False, True],
        }
    )
    options = form_model._agent_options(agents)
    assert options == [
        ("Anna Berg", "HAN2"),
        ("Anna Berg [HAN1]", "HAN1"),
        ("Erik Holm (archived)", "HAN3"),
    ]
    picks = form_model._pick_options([("(any)", ANY_VALUE), *options])
    assert picks == options
