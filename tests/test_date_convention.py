"""One date convention end to end: a day is a whole day, both ends included, everywhere.

The same range, 1-31 March 2025, through `client.contacts()`, `client.breakdown()`, the
form (`ContactExplorer` driven through `.value` and `run()`) and `vitec-nb fetch`, against
the stand-in's ground truth, with contacts placed on the edges: the last day's last
microsecond (23:59:59.999999) and the first day's midnight are in; the next midnight and
the microsecond before the first day are out. The stand-in's clock is tested here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import vitec_nb
from vitec_nb import ContactQuery
from vitec_nb.cli import main
from vitec_nb.standin import StandIn
from vitec_nb.standin.data import CLOCK_VARIABLE, TEST_NOW

OFFICE = "M30011"
FIRST, LAST = "2025-03-01", "2025-03-31"
INSIDE = ("2025-03-31 23:59:59.999999", "2025-03-01 00:00:00")
OUTSIDE = ("2025-04-01 00:00:00", "2025-02-28 23:59:59.999999")
TZ = "Europe/Stockholm"


@pytest.fixture
def edges(make_standin: Callable[..., StandIn]) -> StandIn:
    """A stand-in with one contact placed on each edge of the range (kinds vary)."""
    placed = [
        {"customer_id": OFFICE, "created_at": at, "kind": kind}
        for at, kind in zip(
            INSIDE + OUTSIDE, ("person", "company", "person", "company"), strict=True
        )
    ]
    return make_standin(seed=3, contacts=3_000, offices=2, extra_contacts=placed)


def truth_ids(s: StandIn) -> set[str]:
    """The truth's contacts of OFFICE created from FIRST's midnight to the day after LAST."""
    t = s.truth
    lo, hi = pd.Timestamp(FIRST, tz=TZ), pd.Timestamp(LAST, tz=TZ) + pd.Timedelta(days=1)
    rows = t[(t["customer_id"] == OFFICE) & (t["created_at"] >= lo) & (t["created_at"] < hi)]
    return set(rows["id"].astype(str))


def placed_ids(s: StandIn, instants: tuple[str, ...]) -> set[str]:
    """The placed contacts created at `instants`: those a stand-in without them lacks."""
    with StandIn(seed=3, contacts=3_000, offices=2) as plain:
        drawn = set(plain.truth["id"].astype(str))
    t = s.truth
    at = t["created_at"].isin([pd.Timestamp(i, tz=TZ) for i in instants])
    return set(t.loc[at, "id"].astype(str)) - drawn


def connect(s: StandIn, tmp_path: Path) -> vitec_nb.VitecClient:
    return vitec_nb.connect(base_url=s.url, username=s.username, password=s.password,
                            customer_ids=s.customer_ids, cache=tmp_path / "c.sqlite")  # fmt: skip


def test_the_placed_edges_are_where_they_were_put(edges: StandIn) -> None:
    want = truth_ids(edges)
    assert placed_ids(edges, INSIDE) <= want and len(placed_ids(edges, INSIDE)) == 2
    assert not placed_ids(edges, OUTSIDE) & want and len(placed_ids(edges, OUTSIDE)) == 2


def test_contacts_and_breakdown_give_the_same_contacts(edges: StandIn, tmp_path: Path) -> None:
    want = truth_ids(edges)
    with connect(edges, tmp_path) as client:
        frame = client.contacts(ContactQuery(OFFICE, created_from=FIRST, created_to=LAST))
        result = client.breakdown(ContactQuery(OFFICE), by=(), start=FIRST, end=LAST,
                                  progress=False)  # fmt: skip
        # a time of day is that instant, included ("till och med")
        instant = client.contacts(
            customer_id=OFFICE, created_from=FIRST, created_to=f"{LAST}T23:59:59.999999"
        )
        before = client.contacts(
            customer_id=OFFICE, created_from=FIRST, created_to=f"{LAST}T23:59:59.999998"
        )
    assert set(frame["id"].astype(str)) == want
    assert set(result.facts["id"].astype(str)) == want
    assert result.counts["contacts"].tolist() == [len(want)]  # March: one whole month
    assert set(instant["id"].astype(str)) == want
    assert set(before["id"].astype(str)) == want - placed_ids(edges, INSIDE[:1])


def test_the_form_gives_the_same_contacts(edges: StandIn, tmp_path: Path) -> None:
    from vitec_nb.widgets import ContactExplorer

    with connect(edges, tmp_path) as client:
        form = ContactExplorer(client)
        form.office.value = OFFICE
        form.measure.value = "created"
        form.created_from.value = dt.date.fromisoformat(FIRST)
        form.created_to.value = dt.date.fromisoformat(LAST)
        form.run()
        assert form.last_error is None, form.last_error
        assert form.last_frame is not None
        assert set(form.last_frame["id"].astype(str)) == truth_ids(edges)


def test_the_cli_gives_the_same_contacts(
    edges: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("VITEC_BASE_URL", edges.url)
    monkeypatch.setenv("VITEC_USERNAME", edges.username)
    monkeypatch.setenv("VITEC_PASSWORD", edges.password)
    out = tmp_path / "march.csv"
    argv = ["fetch", OFFICE, "--created-from", FIRST, "--created-to", LAST, "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    written = pd.read_csv(out, dtype=str, comment="#")
    assert set(written["id"]) == truth_ids(edges)
    assert f"Wrote {len(truth_ids(edges))} contacts" in capsys.readouterr().out


# --- the stand-in's clock ----------------------------------------------------------------


def test_the_data_ends_the_day_before_now(make_standin: Callable[..., StandIn]) -> None:
    s = make_standin(seed=1, contacts=2_000, offices=1, now="2026-12-01 19:30")
    created, changed = s.truth["created_at"], s.truth["changed_at"]
    midnight = pd.Timestamp("2026-12-01", tz=TZ)
    assert created.max() < midnight and changed.max() < midnight
    november = created >= pd.Timestamp("2026-11-01", tz=TZ)
    assert november.sum() > 20  # the last month is a full, busy one
    assert s.dataset.last_day == pd.Timestamp("2026-11-30")


def test_the_same_seed_and_clock_day_give_the_same_data(
    make_standin: Callable[..., StandIn], monkeypatch: pytest.MonkeyPatch
) -> None:
    a = make_standin(seed=2, contacts=500, offices=1, now="2026-06-10 08:00")
    monkeypatch.setenv(CLOCK_VARIABLE, "2026-06-10T23:00:00+02:00")
    b = make_standin(seed=2, contacts=500, offices=1)
    pd.testing.assert_frame_equal(a.truth, b.truth)


def test_the_suite_runs_on_the_fixed_clock(standin: StandIn) -> None:
    assert standin.dataset.last_day == pd.Timestamp(TEST_NOW) - pd.Timedelta(days=1)


def test_placed_contacts_leave_the_drawn_data_as_it_was(
    make_standin: Callable[..., StandIn], edges: StandIn
) -> None:
    plain = make_standin(seed=3, contacts=3_000, offices=2).truth
    placed = placed_ids(edges, INSIDE + OUTSIDE)
    assert len(placed) == 4
    rest = edges.truth[~edges.truth["id"].astype(str).isin(placed)]
    pd.testing.assert_frame_equal(rest.reset_index(drop=True), plain.reset_index(drop=True),
                                  check_categorical=False)  # fmt: skip


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"now": "soon"}, "now: 'soon' is not a date"),
        ({"now": "2026-01-01", "end": "2025-12-31"}, "end, now: give one of them"),
        ({"extra_contacts": [{"customer_id": OFFICE}]}, "needs customer_id and created_at"),
        ({"extra_contacts": [{"customer_id": "M1", "created_at": FIRST}]}, "allowed: M30011"),
        ({"extra_contacts": [{"customer_id": OFFICE, "created_at": FIRST, "lead_score": 7}]},
         "lead_score 7"),
    ],
)  # fmt: skip
def test_bad_clock_or_placed_contacts_are_refused(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StandIn(seed=0, contacts=10, offices=1, **kw)


def test_a_bad_clock_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLOCK_VARIABLE, "yesterday-ish")
    with pytest.raises(ValueError, match=f"{CLOCK_VARIABLE}: 'yesterday-ish'"):
        StandIn(seed=0, contacts=10, offices=1)
