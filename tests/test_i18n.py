"""The translation table: every key in both languages, numbers, dates and the default."""

from __future__ import annotations

import string

import pandas as pd
import pytest

from vitec_nb import i18n
from vitec_nb.errors import InvalidQueryError


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_english_key_has_a_swedish_entry_with_the_same_placeholders() -> None:
    english, swedish = i18n.TEXTS["en"], i18n.TEXTS["sv"]
    assert set(english) == set(swedish)
    for key, text in english.items():
        assert swedish[key].strip(), key
        assert placeholders(swedish[key]) == placeholders(text), key
    differ = [k for k in english if english[k] != swedish[k]]
    assert len(differ) > 0.9 * len(english)  # a copy of the English would not pass


def test_vitecs_swedish_words_for_services_and_kinds() -> None:
    from vitec_nb.vocab import KIND_LABELS, service_label

    assert [service_label(n, "sv") for n in (1, 2, 3)] == [
        "Ditt bostadsvärde",
        "Slutpriser i området",
        "Boneo bevakning",
    ]
    assert KIND_LABELS["sv"] == {
        "person": "person",
        "company": "företag",
        "deceased_estate": "dödsbo",
    }


def test_numbers_dates_and_periods_in_each_language() -> None:
    assert i18n.number(1234567, "en") == "1,234,567"
    assert i18n.number(1234, "sv") == "1\u202f234"  # a narrow no-break space
    assert i18n.number(1.5, "sv", digits=1) == "1,5"
    assert i18n.percent(12.4, "sv") == "+12 %" and i18n.percent(-3.2, "sv") == "−3 %"
    jan = pd.Timestamp("2025-01-01", tz="Europe/Stockholm")
    assert i18n.period_label(jan, "M", "sv", multiline=False) == "jan 2025"
    assert i18n.period_label(jan, "M", "en", multiline=False) == "Jan 2025"
    assert i18n.period_label(pd.Timestamp("2025-05-01"), "M", "sv") == "maj\n2025"
    assert i18n.period_label(jan, "Q", "sv", multiline=False) == "K1 2025"
    assert i18n.period_label(jan, "W", "sv", multiline=False) == "v01 2025"


def test_the_default_language_comes_from_the_environment_then_the_locale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert i18n.default_language({"VITEC_NB_LANGUAGE": "SV"}) == "sv"
    monkeypatch.setattr("locale.getlocale", lambda: ("sv_SE", "UTF-8"))
    assert i18n.default_language({}) == "sv"
    monkeypatch.setattr("locale.getlocale", lambda: ("en_GB", "UTF-8"))
    assert i18n.default_language({}) == "en"
    monkeypatch.setattr("locale.getlocale", lambda: (None, None))
    assert i18n.default_language({}) == "en"


def test_an_unknown_language_is_an_error_listing_the_languages() -> None:
    with pytest.raises(InvalidQueryError, match=r"VITEC_NB_LANGUAGE: 'de'.*allowed: en, sv"):
        i18n.default_language({"VITEC_NB_LANGUAGE": "de"})
    with pytest.raises(InvalidQueryError, match=r"language: 'fi'.*allowed: en, sv"):
        i18n.check_language("fi")
