"""The stand-in's synthetic CRM: deterministic, realistic, and full of boundary cases."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest
import requests

from vitec_nb.standin import StandIn
from vitec_nb.vocab import CONTACT_ID_PATTERN, SCHEDULED_ORDER_TYPES, USER_ID_PATTERN

TZ = "Europe/Stockholm"


@pytest.fixture(scope="module")
def truth(standin: StandIn) -> pd.DataFrame:
    return standin.truth


def test_same_seed_gives_the_same_data():
    first, second = StandIn(seed=5, contacts=2_000), StandIn(seed=5, contacts=2_000)
    pdt.assert_frame_equal(first.truth, second.truth)
    pdt.assert_frame_equal(first.agents, second.agents)
    pdt.assert_frame_equal(first.newsletter_lists, second.newsletter_lists)


def test_same_seed_gives_byte_identical_answers(make_standin):
    bodies = []
    for _ in range(2):
        s = make_standin(seed=9, contacts=1_000)
        bodies.append(
            requests.get(
                f"{s.url}/CRM/Contact/{s.customer_ids[0]}",
                params={"LeadScore": 1},
                auth=(s.username, s.password),
                timeout=10,
            ).content
        )
    assert bodies[0] == bodies[1]
    assert b'"id":"ADR' in bodies[0]


def test_another_seed_gives_other_data():
    first, second = StandIn(seed=5, contacts=2_000), StandIn(seed=6, contacts=2_000)
    assert set(first.truth.id) != set(second.truth.id)


def test_size_and_offices_follow_the_arguments():
    s = StandIn(seed=1, contacts=1_234, offices=["M40001", "S2", "G7"])
    assert len(s.truth) == 1_234
    assert s.customer_ids == ["M40001", "S2", "G7"]
    assert set(s.truth.customer_id.unique()) <= set(s.customer_ids)


def test_default_offices_are_three_broker_customer_ids(standin):
    assert standin.customer_ids == ["M30011", "M30012", "M30013"]


def test_truth_has_the_documented_columns_and_dtypes(truth):
    assert list(truth.columns) == [
        "kind", "id", "customer_id", "created_at", "changed_at", "agent_id",
        "lead_score", "newsletter_list_ids", "scheduled_order_types", "custom_fields",
    ]  # fmt: skip
    assert list(truth.kind.cat.categories) == ["person", "company", "deceased_estate"]
    assert str(truth.created_at.dtype) == f"datetime64[ns, {TZ}]"
    assert str(truth.changed_at.dtype) == f"datetime64[ns, {TZ}]"
    assert truth.agent_id.dtype == pd.StringDtype()
    assert truth.lead_score.dtype == pd.Int64Dtype()
    assert isinstance(truth.scheduled_order_types.iloc[0], tuple)
    assert isinstance(truth.newsletter_list_ids.iloc[0], tuple)
    assert isinstance(truth.custom_fields.iloc[0], dict)


def test_contact_ids_are_unique_in_the_published_shape(truth):
    assert truth.id.is_unique
    assert truth.id.str.fullmatch(CONTACT_ID_PATTERN.pattern).all()


def test_user_ids_are_unique_in_the_published_shape(standin):
    ids = standin.agents.user_id
    assert ids.is_unique
    assert ids.str.fullmatch(USER_ID_PATTERN.pattern).all()


def test_ids_are_deterministic_per_seed():
    assert list(StandIn(seed=3, contacts=50).truth.id) == list(
        StandIn(seed=3, contacts=50).truth.id
    )


def test_kinds_are_mostly_persons_some_companies_few_estates(truth):
    share = truth.kind.value_counts(normalize=True)
    assert 0.85 < share["person"] < 0.95
    assert 0.05 < share["company"] < 0.13
    assert 0.002 < share["deceased_estate"] < 0.03


def test_changes_happen_at_or_after_creation(truth):
    assert (truth.changed_at >= truth.created_at).all()
    assert (truth.changed_at > truth.created_at).mean() > 0.5
    assert (truth.changed_at == truth.created_at).any()


def test_times_have_sub_second_precision(truth):
    assert (truth.created_at.dt.microsecond > 0).mean() > 0.9


def test_some_contacts_were_created_exactly_at_midnight_on_a_month_start(truth):
    c = truth.created_at
    assert ((c == c.dt.normalize()) & (c.dt.day == 1)).sum() >= 3


def test_some_contacts_were_created_in_the_last_second_of_a_month(truth):
    c = truth.created_at
    last = c.dt.is_month_end & (c.dt.hour == 23) & (c.dt.minute == 59) & (c.dt.second == 59)
    assert last.sum() >= 3


def test_some_contacts_were_created_on_both_kinds_of_dst_day(truth):
    c = truth.created_at
    last_sunday = (c.dt.day_of_week == 6) & (c.dt.day > 24)
    assert (last_sunday & (c.dt.month == 3)).sum() >= 3
    assert (last_sunday & (c.dt.month == 10)).sum() >= 3


def test_both_occurrences_of_the_repeated_october_hour_occur(truth):
    c = truth.created_at
    repeated = (c.dt.month == 10) & (c.dt.day_of_week == 6) & (c.dt.day > 24) & (c.dt.hour == 2)
    offsets = {t.utcoffset() for t in c[repeated]}
    assert offsets == {pd.Timedelta(hours=2), pd.Timedelta(hours=1)}


def test_creation_grows_over_the_years(truth):
    per_year = truth.created_at.dt.year.value_counts().sort_index()
    full_years = per_year.iloc[1:-1]
    assert full_years.is_monotonic_increasing
    assert len(per_year) >= 4


def test_most_contacts_are_created_in_office_hours_on_weekdays(truth):
    c = truth.created_at
    assert c.dt.hour.between(8, 17).mean() > 0.6
    assert (c.dt.day_of_week < 5).mean() > 0.8


def test_deceased_estates_have_no_lead_score_the_others_do(truth):
    estates = truth.kind == "deceased_estate"
    assert estates.any()
    assert truth.lead_score[estates].isna().all()
    assert truth.lead_score[~estates].notna().all()


def test_lead_scores_are_zero_to_five_skewed_low(truth):
    counts = truth.lead_score.value_counts()
    assert set(counts.index) == set(range(6))
    assert counts[0] > counts[1] > counts[3] > counts[5]


def test_a_few_percent_of_contacts_have_no_agent(truth):
    assert 0.02 < truth.agent_id.isna().mean() < 0.09


def test_offices_have_5_to_40_agents_some_archived(standin):
    per_office = standin.agents.groupby("customer_id").size()
    assert per_office.between(5, 40).all()
    assert standin.agents.archived.any()
    assert not standin.agents.archived.all()


def test_agents_per_office_can_be_fixed():
    s = StandIn(seed=2, contacts=500, offices=2, agents=20)
    assert s.agents.groupby("customer_id").size().tolist() == [20, 20]


def test_contacts_belong_to_agents_of_their_own_office(truth, standin):
    office_of = dict(zip(standin.agents.user_id, standin.agents.customer_id, strict=True))
    assigned = truth.dropna(subset=["agent_id"])
    assert (assigned.agent_id.map(office_of) == assigned.customer_id.astype(str)).all()


def test_contacts_can_be_on_several_newsletter_lists_of_their_office(truth, standin):
    sizes = truth.newsletter_list_ids.map(len)
    assert (sizes >= 2).any()
    assert (sizes == 0).any()
    lists = standin.newsletter_lists
    office_of = dict(zip(lists.id, lists.customer_id, strict=True))
    for ids, cid in zip(truth.newsletter_list_ids, truth.customer_id, strict=True):
        assert all(office_of[i] == cid for i in ids)


def test_custom_field_values_use_fields_defined_for_the_office(truth, standin):
    defs = standin.custom_field_defs
    defined = defs.groupby("customer_id").name.apply(set).to_dict()
    with_fields = truth[truth.custom_fields.map(bool)]
    assert len(with_fields) > len(truth) // 4
    for fields, cid in zip(with_fields.custom_fields, with_fields.customer_id, strict=True):
        assert set(fields) <= defined[cid]
        assert all(isinstance(v, str) and v for v in fields.values())


def test_most_contacts_hold_no_service_the_rest_one_to_three(truth):
    held = truth.scheduled_order_types
    sizes = held.map(len)
    assert 0.65 < (sizes == 0).mean() < 0.75
    assert set(sizes) == {0, 1, 2, 3}
    assert all(set(h) <= set(SCHEDULED_ORDER_TYPES) and list(h) == sorted(set(h)) for h in held)
    assert {s for h in held for s in h} == {1, 2, 3}


def test_about_a_quarter_of_users_are_not_public_and_some_own_contacts(standin, truth):
    agents = standin.agents
    assert agents.public.dtype == bool
    assert 0.15 < (~agents.public).mean() < 0.35
    hidden = set(agents.user_id[~agents.public])
    assert truth.agent_id.isin(hidden).sum() > 100


def test_an_empty_crm_answers_empty_lists(make_standin):
    s = make_standin(contacts=0, offices=1)
    body = requests.get(
        f"{s.url}/CRM/Contact/{s.customer_ids[0]}", auth=(s.username, s.password), timeout=10
    ).json()
    assert body == {"persons": [], "companies": [], "deceasedEstates": []}
    assert len(s.truth) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"contacts": -1}, "contacts"), ({"offices": 0}, "offices"), ({"agents": 0}, "agents")],
)
def test_bad_sizes_are_refused_naming_the_argument(kwargs, field):
    with pytest.raises(ValueError, match=field):
        StandIn(**kwargs)
