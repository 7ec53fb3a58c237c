"""The summary of a form run: counts per kind, calls, cache, fetch time, the comparison."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from vitec_nb import i18n
from vitec_nb.captions import Caption
from vitec_nb.provenance import provenance_of
from vitec_nb.vocab import KINDS, TIMEZONE

__all__ = ["comparison_text", "summarize", "summary_html"]


def _range_words(plan: Any, language: str) -> str:
    first = i18n.period_label(plan.periods[0], plan.period, language, multiline=False)
    last = i18n.period_label(plan.periods[-1], plan.period, language, multiline=False)
    return first if first == last else f"{first} – {last}"


def comparison_text(result: Any, language: str = "en") -> str | None:
    """With a comparison: "+12 % on the same months of 2024: 1,234 contacts created in Jan
    2025 – Dec 2025, against 1,102 in Jan 2024 – Dec 2024" ("+12 % jämfört med samma
    månader 2024: ..."), the contacts of the base set in each range. None without."""
    earlier = getattr(result, "previous", None)
    if earlier is None:
        return None
    plan, lang = result.plan, language
    now, then = len(result.facts), len(earlier.facts)
    periods = i18n.period_noun(plan.period, lang, plural=True)
    measure = i18n.text(f"measure_words.{plan.measure}", lang)
    counts = i18n.text(
        "compare.counts", lang, now=i18n.number(now, lang), then=i18n.number(then, lang),
        measure=measure, range=_range_words(plan, lang), earlier=_range_words(earlier.plan, lang),
    )  # fmt: skip
    if then == 0:
        text = i18n.text("compare.nothing", lang, measure=measure) + f": {counts}."
    else:
        pct = i18n.percent((now - then) / then * 100, lang)
        years = sorted({p.year for p in earlier.plan.periods})
        span = str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
        if result.compare == "year":
            head = i18n.text("compare.same", lang, pct=pct, periods=periods, years=span)
        else:
            n = len(plan.periods)
            head = i18n.text("compare.previous_n", lang, pct=pct, n=n, periods=periods)
        text = f"{head}: {counts}."
    if not (result.is_complete and earlier.is_complete):
        text += " " + i18n.text("compare.incomplete", lang)
    return text


def summarize(result: Any, client: Any, office: Any) -> dict[str, Any]:
    """The numbers of the summary line: counts per kind, calls, cache, fetch time, source."""
    facts = result.facts
    counts = facts["kind"].value_counts()
    summary: dict[str, Any] = {k: int(counts.get(k, 0)) for k in KINDS}
    plan = result.plan
    summary.update(
        total=len(facts),
        calls=int(result.calls),
        cached=int(result.cached_calls),
        planned=int(plan.n_calls),
        # the oldest answer's fetch time: a cached answer keeps the time it was fetched
        fetched_at=getattr(result, "fetched_at", None) or provenance_of(facts).fetched_at,
        demo=bool(getattr(result, "demo", False) or getattr(client, "is_demo", False)),
        office=office,
        start=plan.start,
        end=plan.end,
        measure=plan.measure,
        warnings=list(getattr(result, "warnings", [])),
    )
    return summary


def summary_html(s: dict[str, Any], caption: Caption | None = None, language: str = "en") -> str:
    """The summary as HTML; numbers sit in spans with class vnb-count for tests to read.

    With a caption (the form's runs) it says what the run shows: the office, every filter
    in words, the range as the analyst wrote it and, comparing, the change.
    """

    def t(key: str, **values: Any) -> str:
        return i18n.text(key, language, **values)

    def n(value: int, kind: str) -> str:
        return _count(value, kind, language)

    kinds = ", ".join(f"{n(s[k], k)} {t(f'summary.kind.{k}')}" for k in KINDS)
    source = (
        f'<b style="color:#c77c02">{t("summary.demo")}</b>'
        if s["demo"]
        else f'<b style="color:#3c763d">{t("summary.live")}</b>'
    )
    if caption is not None:
        what = caption.what.split(" ", 1)[-1]  # "contacts created per month" less "contacts"
        span = f"{what}, {caption.range}" if caption.range else what
        office = caption.office
        listed = "; ".join(caption.filters) if caption.filters else t("summary.none")
        filters = f"{t('summary.filters')}: {listed}"
    else:
        last_day = s["end"] - pd.Timedelta(microseconds=1)
        span = f"{s['measure']} {_local(s['start'])[:10]} to {_local(last_day)[:10]}"
        office, filters = str(s["office"]), ""
    fetched = _local(s["fetched_at"])
    warnings = "".join(
        f'<br><span style="color:#b94a48">⚠ {html.escape(w)}</span>' for w in s["warnings"]
    )
    head = f"<b>{n(s['total'], 'total')} {t('summary.contacts')}</b> {html.escape(span)}: {kinds}"
    if s["total"] == 0:
        head = (
            f'<b class="vnb-empty">{t("summary.no_match")}</b> ({n(0, "total")} '
            f"{t('summary.contacts')}) {html.escape(span)}"
        )
    compare = s.get("comparison")
    when = ""
    if fetched:
        when = " · " + (t("summary.oldest") + " " if s["cached"] else "")
        when += t("summary.fetched", when=fetched)
    return (
        '<div style="padding:4px 2px;line-height:1.6">'
        f"{head}<br>"
        + (f'<span class="vnb-compare">{html.escape(compare)}</span><br>' if compare else "")
        + (f"{html.escape(filters)}<br>" if filters else "")
        + f"{t('summary.office')} {html.escape(office)} · {source} · "
        f'<span class="vnb-calls">{s["calls"]}</span> {t("summary.calls")}, '
        f'<span class="vnb-cached">{s["cached"]}</span> {t("summary.cached")}'
        + when
        + warnings
        + "</div>"
    )


def _local(ts: Any) -> str:
    """A timestamp as Swedish local time, minutes precision ('' when unknown)."""
    if ts is None or ts is pd.NaT:
        return ""
    ts = pd.Timestamp(ts)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(TIMEZONE)
    return ts.strftime("%Y-%m-%d %H:%M")


def _count(n: int, kind: str, language: str = "en") -> str:
    """A count in a span tests read (`data-value` is the plain number)."""
    return (
        f'<span class="vnb-count" data-value="{n}" data-kind="{kind}">'
        f"{i18n.number(n, language)}</span>"
    )
