"""The stand-in's contact endpoint: each filter answers exactly what the ground truth says."""

from __future__ import annotations

import pandas as pd
import requests

from vitec_nb.standin import StandIn

KEYS = {"persons": "person", "companies": "company", "deceasedEstates": "deceased_estate"}


def ids_of(body: dict) -> set[str]:
    return {ref["id"] for key in KEYS for ref in body[key]}


def get(session: requests.Session, s: StandIn, cid: str, **params: object) -> requests.Response:
    return session.get(f"{s.url}/CRM/Contact/{cid}", params=params, timeout=30)


def truth_ids(frame: pd.DataFrame) -> set[str]:
    return set(frame["id"].astype(str))


def test_unfiltered_answer_lists_every_contact_of_the_office(standin, standin_session):
    cid = standin.customer_ids[1]
    body = get(standin_session, standin, cid).json()
    truth = standin.truth[standin.truth.customer_id == cid]
    assert ids_of(body) == truth_ids(truth)
    for key, kind in KEYS.items():
        assert {r["id"] for r in body[key]} == truth_ids(truth[truth.kind == kind])
