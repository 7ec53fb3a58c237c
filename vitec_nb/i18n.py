"""The one translation table: every word of the form, charts and summaries, English and Swedish.

    from vitec_nb import i18n
    i18n.text("run", "sv")                  # "Kör"
    i18n.number(1234, "sv")                 # "1 234" (a narrow no-break space)
    i18n.period_label(ts, "M", "sv")        # "jan\\n2025"

The language of a form, report or chart is "en" or "sv": given, else `VITEC_NB_LANGUAGE`,
else the locale (`locale.getlocale()` starting with "sv"), else English. Swedish uses
Vitec's own words for the services (vocab) and the kinds of contact (person, företag,
dödsbo). Every key of `TEXTS["en"]` has a Swedish entry with the same placeholders (a test
keeps it so).
"""

from __future__ import annotations

import locale
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd

from vitec_nb.errors import InvalidQueryError
from vitec_nb.vocab import (
    COMPANY,
    DECEASED_ESTATE,
    DEMO_BANNER,
    DEMO_NOTE,
    KIND_PLURALS,
    PERSON,
    TIMEZONE,
)

__all__ = [
    "LANGUAGES",
    "TEXTS",
    "check_language",
    "default_language",
    "month_names",
    "number",
    "percent",
    "period_label",
    "period_noun",
    "resolve_language",
    "special_value",
    "text",
]

LANGUAGES = ("en", "sv")
ENV_VAR = "VITEC_NB_LANGUAGE"
NARROW_NBSP = "\u202f"  # Swedish thousands separator ("1 234"), never breaks a number

MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "sv": ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
}

# key: (English, Swedish). One entry a key, so no language can lack a key.
_TABLE: dict[str, tuple[str, str]] = {
    # field labels (descriptions of the controls; also used in messages)
    "field.customer_id": ("Office", "Kontor"),
    "field.agent_id": ("Agent", "Handläggare"),
    "field.created_from": ("Created from", "Skapad från"),
    "field.created_to": ("Created to", "Skapad till"),
    "field.changed_from": ("Changed from", "Ändrad från"),
    "field.changed_to": ("Changed to", "Ändrad till"),
    "field.lead_score": ("Lead score", "Leadpoäng"),
    "field.scheduled_order_type": ("Scheduled order", "Bevakning"),
    "field.newsletter_list_id": ("Newsletter list", "Nyhetsbrevslista"),
    "field.custom_field_name": ("Custom field", "Eget fält"),
    "field.custom_field_value": ("Field value", "Fältvärde"),
    "field.by": ("Split by", "Dela upp per"),
    "field.measure": ("Measure", "Mät"),
    "field.period": ("Period", "Period"),
    "field.start": ("Date range", "Datumintervall"),
    "field.end": ("Date range", "Datumintervall"),
    "field.compare": ("Compare with", "Jämför med"),
    "field.office_group": ("Office group", "Kontorsgrupp"),
    "field.format": ("Format", "Format"),
    "field.language": ("Language", "Språk"),
    # form sections, buttons, choices
    "any": ("(any)", "(alla)"),
    "no_group": ("(no group)", "(ingen grupp)"),
    "section.filters": ("Filters", "Filter"),
    "section.chart": ("Chart", "Diagram"),
    "section.actions": ("Actions", "Åtgärder"),
    "section.drill": ("Contacts of one cell", "Kontakterna i en cell"),
    "tab.chart": ("Chart", "Diagram"),
    "tab.rows": ("First rows", "Första raderna"),
    "tab.contacts": ("Contacts", "Kontakter"),
    "run": ("Run", "Kör"),
    "refresh": ("Refresh", "Uppdatera"),
    "offline": ("Offline (cache only)", "Offline (bara cachen)"),
    "export_csv": ("Export CSV", "Exportera CSV"),
    "export_excel": ("Export Excel", "Exportera Excel"),
    "export_folder": ("Export to folder", "Exportera till mapp"),
    "save_chart": ("Save chart", "Spara diagram"),
    "show_contacts": ("Show contacts", "Visa kontakter"),
    "export_contacts": ("Export contacts", "Exportera kontakter"),
    "cell_period": ("Period", "Period"),
    "cell_value": ("Value", "Värde"),
    "top": ("top", "topp"),
    "pick": ("agents", "handläggare"),
    "caption.picked": (
        "agents: {names}; {n} others grouped",
        "handläggare: {names}; {n} övriga grupperade",
    ),
    "split.none": ("none", "ingen"),
    "split.agent": ("agent", "handläggare"),
    "split.lead_score": ("lead score", "leadpoäng"),
    "split.newsletter_list": ("newsletter list", "nyhetsbrevslista"),
    "split.office": ("office", "kontor"),
    "measure.created": ("created", "skapade"),
    "measure.changed": ("changed", "ändrade"),
    "period.D": ("day", "dag"),
    "period.W": ("week", "vecka"),
    "period.M": ("month", "månad"),
    "period.Q": ("quarter", "kvartal"),
    "period.Y": ("year", "år"),
    "periods.D": ("days", "dagar"),
    "periods.W": ("weeks", "veckor"),
    "periods.M": ("months", "månader"),
    "periods.Q": ("quarters", "kvartal"),
    "periods.Y": ("years", "år"),
    "compare.none": ("nothing", "inget"),
    "compare.previous": ("previous period", "föregående period"),
    "compare.year": ("same period last year", "samma period i fjol"),
    "csv.excel-sv": ("CSV for Excel, Swedish settings", "CSV för Excel, svenska inställningar"),
    "csv.plain": ("plain CSV", "vanlig CSV"),
    # tooltips
    "tip.office": (
        "The office (customer id) whose CRM is asked; several for the chain",
        "Kontoret (kund-id) vars CRM frågas; flera för kedjan",
    ),
    "tip.office_group": (
        "An office group: its offices replace the chosen ones",
        "En kontorsgrupp: dess kontor ersätter de valda",
    ),
    "tip.agent": (
        "Only contacts of this agent (from the users list)",
        "Bara kontakter med den här handläggaren (från användarlistan)",
    ),
    "tip.created_from": (
        "Contacts created on or after this day (Swedish time)",
        "Kontakter skapade denna dag eller senare (svensk tid)",
    ),
    "tip.created_to": (
        "Contacts created on or before this day (through its end)",
        "Kontakter skapade till och med denna dag",
    ),
    "tip.changed_from": (
        "Contacts changed on or after this day",
        "Kontakter ändrade denna dag eller senare",
    ),
    "tip.changed_to": (
        "Contacts changed on or before this day (through its end)",
        "Kontakter ändrade till och med denna dag",
    ),
    "tip.time": ("Optional time of day (Swedish local time)", "Klockslag, valfritt (svensk tid)"),
    "tip.lead_score": (
        "Lead score: the number of stars, 0 to 5",
        "Leadpoäng: antal stjärnor, 0 till 5",
    ),
    "tip.service": (
        "Active service on the contact: one of the published services, or a number",
        "Aktiv bevakning på kontakten: en av de publicerade tjänsterna, eller ett nummer",
    ),
    "tip.newsletter_list": (
        "Only contacts on this newsletter list",
        "Bara kontakter på den här nyhetsbrevslistan",
    ),
    "tip.custom_field": (
        "A field your office defined in Vitec Express",
        "Ett fält som kontoret har lagt upp i Vitec Express",
    ),
    "tip.custom_value": (
        "The value the custom field must have",
        "Värdet som det egna fältet ska ha",
    ),
    "tip.pick": (
        "Split by agent: the agents picked are named, all others summed (none: the top N)",
        "Per handläggare: de valda visas med namn, övriga summeras (inga: de N mest aktiva)",
    ),
    "tip.top": (
        "Split by agent: the busiest agents shown by name; the rest summed as others",
        "Per handläggare: de mest aktiva visas med namn, resten summeras som övriga",
    ),
    "tip.compare": (
        "Also count the range just before, or the same range a year earlier",
        "Räkna också perioden närmast före, eller samma period ett år tidigare",
    ),
    "tip.run": ("Run the query", "Kör frågan"),
    "tip.refresh": (
        "Run again, asking Vitec Connect instead of the cache",
        "Kör igen och fråga Vitec Connect i stället för cachen",
    ),
    "tip.offline": (
        "Answer only from the cache; nothing is sent",
        "Svara bara från cachen; inget skickas",
    ),
    "tip.export": (
        "Write the current result to the export folder",
        "Skriv det visade resultatet till exportmappen",
    ),
    "tip.run_first": ("Run first", "Kör först"),
    "tip.folder": (
        "Folder the exports are written to (relative to the notebook)",
        "Mappen som exporterna skrivs till (relativt anteckningsboken)",
    ),
    "tip.save_chart": (
        "Write the chart as PNG and SVG to the export folder",
        "Skriv diagrammet som PNG och SVG till exportmappen",
    ),
    "tip.show_contacts": (
        "List the contacts of the chosen cell with their names",
        "Lista kontakterna i den valda cellen med namn",
    ),
    "placeholder.service": ("any — a service or its number", "alla — en tjänst eller dess nummer"),
    "placeholder.office": ("customer id, e.g. M30011", "kund-id, t.ex. M30011"),
    "placeholder.custom_value": ("value (needs a field)", "värde (kräver ett fält)"),
    "placeholder.chart": (
        "Press Run: the chart of the contacts you chose appears here.",
        "Tryck Kör: diagrammet över de valda kontakterna visas här.",
    ),
    "placeholder.rows": (
        "Press Run: the first rows appear here.",
        "Tryck Kör: de första raderna visas här.",
    ),
    "placeholder.contacts": (
        "After a run, pick a period and a value, then Show contacts.",
        "Efter en körning: välj period och värde och tryck Visa kontakter.",
    ),
    # status lines
    "status.will_make": (
        "Will make {n} {calls} ({cached} cached)",
        "Gör {n} {calls} ({cached} i cachen)",
    ),
    "status.call": ("call", "anrop"),
    "status.calls": ("calls", "anrop"),
    "status.lookups_failed": ("could not load", "kunde inte läsa in"),
    "status.running": ("Running…", "Kör…"),
    "status.done": (
        "Done: {total} contacts; {calls} calls made, {cached} answered from the cache.",
        "Klart: {total} kontakter; {calls} anrop gjorda, {cached} besvarade från cachen.",
    ),
    "status.run_first": (
        "Run first: there is nothing to export yet.",
        "Kör först: det finns inget att exportera än.",
    ),
    "status.exported": (
        "Exported run {run} ({rows} rows, office {office}, {range}) to {path}",
        "Exporterade körning {run} ({rows} rader, kontor {office}, {range}) till {path}",
    ),
    "status.exported_stale": (
        "The controls have changed since that run: Run to export what they show.",
        "Inställningarna har ändrats sedan den körningen: Kör för att exportera det de visar.",
    ),
    "status.write_failed": (
        "Could not write the export: {error}",
        "Kunde inte skriva exporten: {error}",
    ),
    "status.chart_saved": (
        "Saved the chart of run {run}: {paths}",
        "Sparade diagrammet från körning {run}: {paths}",
    ),
    "status.details_plan": (
        "Show contacts will make {calls} contact-details {call_word} for {contacts} contacts "
        "({cached} already cached).",
        "Visa kontakter gör {calls} {call_word} efter kontaktuppgifter för {contacts} kontakter "
        "({cached} redan i cachen).",
    ),
    "status.details_done": (
        "{contacts} contacts of {cell}: {calls} contact-details calls, {cached} from the cache.",
        "{contacts} kontakter i {cell}: {calls} anrop av kontaktuppgifter, {cached} från cachen.",
    ),
    "stale": ("Out of date: Run to update", "Inaktuellt: Kör för att uppdatera"),
    "stale.still": (
        "the chart, rows and exports below still show",
        "diagrammet, raderna och exporterna nedan visar fortfarande",
    ),
    "saved_to": ("Saved to", "Sparad i"),
    "download": ("Download", "Ladda ner"),
    "too_large": ("too large for a download link", "för stor för en nedladdningslänk"),
    # lookups
    "lookup.agents": ("agents", "handläggare"),
    "lookup.lists": ("newsletter lists", "nyhetsbrevslistor"),
    "lookup.fields": ("custom fields", "egna fält"),
    "lookup.groups": ("office groups", "kontorsgrupper"),
    # source badge
    "source.demo": (
        (
            "synthetic contacts from the built-in stand-in ({base}); configure VITEC_USERNAME and "
            "VITEC_PASSWORD for your own CRM."
        ),
        (
            "påhittade kontakter från den inbyggda ersättaren ({base}); ange VITEC_USERNAME och "
            "VITEC_PASSWORD för ert eget CRM."
        ),
    ),
    # summary
    "summary.contacts": ("contacts", "kontakter"),
    "summary.no_match": ("No contacts match", "Inga kontakter matchar"),
    "summary.kind.person": (KIND_PLURALS[PERSON], "personer"),
    "summary.kind.company": (KIND_PLURALS[COMPANY], "företag"),
    "summary.kind.deceased_estate": (KIND_PLURALS[DECEASED_ESTATE], "dödsbon"),
    "summary.filters": ("Filters", "Filter"),
    "summary.none": ("none", "inga"),
    "summary.office": ("Office", "Kontor"),
    "summary.demo": (DEMO_BANNER, "DEMODATA"),
    "summary.live": ("live data", "riktiga data"),
    "summary.calls": ("calls made", "anrop gjorda"),
    "summary.cached": ("answered from the cache", "besvarade från cachen"),
    "summary.fetched": ("fetched {when} (Swedish time)", "hämtat {when} (svensk tid)"),
    "summary.oldest": ("oldest answer", "äldsta svaret"),
    "compare.same": (
        "{pct} on the same {periods} of {years}",
        "{pct} jämfört med samma {periods} {years}",
    ),
    "compare.previous_n": (
        "{pct} on the previous {n} {periods}",
        "{pct} jämfört med de {n} föregående {periods}a",
    ),
    "compare.counts": (
        "{now} contacts {measure} in {range}, against {then} in {earlier}",
        "{now} kontakter {measure} {range}, mot {then} {earlier}",
    ),
    "compare.nothing": (
        "No contacts {measure} in the earlier range to compare with",
        "Inga kontakter {measure} i den tidigare perioden att jämföra med",
    ),
    "compare.earlier": (
        "{range} (earlier): all contacts {measure}",
        "{range} (tidigare): alla kontakter {measure}",
    ),
    "compare.incomplete": (
        "Some calls failed: the counts are incomplete.",
        "Några anrop misslyckades: siffrorna är ofullständiga.",
    ),
    # captions and charts
    "caption.what": ("contacts {measure} per {period}", "kontakter {measure} per {period}"),
    "caption.by": ("by {split}", "per {split}"),
    "caption.no_filters": (
        "No filters: every contact of the office",
        "Inga filter: alla kontakter på kontoret",
    ),
    "caption.also_applies": ("{pair} {range} also applies", "{pair} {range} gäller också"),
    "caption.agent": ("agent {name}", "handläggare {name}"),
    "caption.lead_score": ("lead score {stars} {score}", "leadpoäng {stars} {score}"),
    "caption.list": ("newsletter list {name}", "nyhetsbrevslista {name}"),
    "caption.service": ("service {name}", "bevakning {name}"),
    "caption.field": ("field {name}", "fält {name}"),
    "caption.field_value": ("field {name} = {value}", "fält {name} = {value}"),
    "caption.from": ("from {day}", "från {day}"),
    "caption.up_to": ("up to {day}", "till och med {day}"),
    "chart.what": ("Contacts {measure} per {period}", "Kontakter {measure} per {period}"),
    "chart.what_by": (
        "Contacts {measure} per {period} by {dimension}",
        "Kontakter {measure} per {period} och {dimension}",
    ),
    "chart.total_by": ("Contacts {measure} by {dimension}", "Kontakter {measure} per {dimension}"),
    "chart.top_of": ("(top {top} of {n})", "(topp {top} av {n})"),
    "chart.created_vs_changed": (
        "Contacts created and last changed per {period}",
        "Kontakter skapade och senast ändrade per {period}",
    ),
    "chart.last_changed_note": (
        "Last changed: the same contacts, by the period of their latest change",
        "Senast ändrade: samma kontakter, efter perioden för deras senaste ändring",
    ),
    "chart.axis_period": ("{Period} (Swedish time)", "{Period} (svensk tid)"),
    "chart.partial": (
        "* partial {period}: the range covers only part of it",
        "* ofullständig {period}: intervallet täcker bara en del av den",
    ),
    "chart.axis_count": ("Contacts {measure}", "Kontakter {measure}"),
    "chart.axis_contacts": ("Contacts", "Kontakter"),
    "chart.others": ("others ({n} {dimensions})", "övriga ({n} {dimensions})"),
    "chart.unknown": ("unknown (a call failed)", "okänt (ett anrop misslyckades)"),
    "chart.unknown_value": ("unknown", "okänt"),
    "chart.empty": (
        "No contacts match these filters in this range",
        "Inga kontakter matchar filtren i det här intervallet",
    ),
    "chart.demo": (
        DEMO_NOTE,
        "DEMODATA — inbyggd ersättare, inte ett riktigt CRM",
    ),
    "chart.contacts": ("contacts", "kontakter"),
    "chart.to": ("to", "till"),
    "measure_words.created": ("created", "skapade"),
    "measure_words.changed": ("last changed", "senast ändrade"),
    "dim.agent": ("agent", "handläggare"),
    "dim.agents": ("agents", "handläggare"),
    "dim.lead_score": ("lead score", "leadpoäng"),
    "dim.lead_scores": ("lead scores", "leadpoäng"),
    "dim.newsletter_list": ("newsletter list", "nyhetsbrevslista"),
    "dim.newsletter_lists": ("newsletter lists", "nyhetsbrevslistor"),
    "dim.scheduled_order_type": ("service", "bevakning"),
    "dim.scheduled_order_types": ("services", "bevakningar"),
    "dim.custom_field": ("custom field value", "värde på eget fält"),
    "dim.custom_fields": ("custom field values", "värden på eget fält"),
    "dim.kind": ("kind of contact", "typ av kontakt"),
    "dim.kinds": ("kinds of contact", "typer av kontakt"),
    "dim.customer_id": ("office", "kontor"),
    "dim.customer_ids": ("offices", "kontor"),
    "dim.office": ("office", "kontor"),
    "dim.offices": ("offices", "kontor"),
    "lead.none": ("0 (no stars)", "0 (inga stjärnor)"),
    # columns of tables and exports
    "col.kind": ("Kind", "Typ"),
    "col.id": ("Contact id", "Kontakt-id"),
    "col.customer_id": ("Office", "Kontor"),
    "col.changed_at": ("Last changed (Swedish time)", "Senast ändrad (svensk tid)"),
    "col.created_at": ("Created (Swedish time)", "Skapad (svensk tid)"),
    "col.name": ("Name", "Namn"),
    "col.period": ("Period", "Period"),
    "col.created_period": ("Created in", "Skapad under"),
    "col.agent_name": ("Agent", "Handläggare"),
    "col.lead_score": ("Lead score", "Leadpoäng"),
    "col.newsletter_list_name": ("Newsletter lists", "Nyhetsbrevslistor"),
    "col.scheduled_order_type_name": ("Services", "Bevakningar"),
    "col.custom_field": ("Field value", "Fältvärde"),
    "col.office": ("Office", "Kontor"),
    "rows.first": ("First {shown} of {total} rows.", "De första {shown} av {total} raderna."),
    "rows.contacts": ("{total} contacts of {cell}.", "{total} kontakter i {cell}."),
    # messages (form_messages.py)
    "err.before": ("{end} is before {start_label} {start}", "{end} är före {start_label} {start}"),
    "err.on_or_after": ("a day on or after {start}", "en dag från och med {start}"),
    "err.time_needs_date": ("a time of day needs a date", "ett klockslag kräver ett datum"),
    "err.pick_date": ("pick a date too", "välj ett datum också"),
    "err.auth": (
        (
            "Vitec Connect did not accept the credentials{office} (401): check user name and "
            "password (VITEC_USERNAME, VITEC_PASSWORD)."
        ),
        (
            "Vitec Connect godtog inte inloggningen{office} (401): kontrollera användarnamn och "
            "lösenord (VITEC_USERNAME, VITEC_PASSWORD)."
        ),
    ),
    "err.auth_office": (" for office {office}", " för kontor {office}"),
    "err.forbidden": (
        (
            "No access to office {office} (403): your account may not read this office's contacts; "
            "ask Vitec or your administrator."
        ),
        (
            "Ingen behörighet till kontor {office} (403): ditt konto får kanske inte läsa "
            "kontorets kontakter; fråga Vitec eller er administratör."
        ),
    ),
    "err.this_office": ("this office", "det här kontoret"),
    "err.rejected": (
        "Vitec Connect rejected the query (400): {said}",
        "Vitec Connect avvisade frågan (400): {said}",
    ),
    "err.offline": (
        (
            "Offline: the answer{what} is not in the cache and nothing was sent. Switch Offline "
            "off to fetch from Vitec Connect."
        ),
        (
            "Offline: svaret{what} finns inte i cachen och inget skickades. Slå av Offline för att "
            "hämta från Vitec Connect."
        ),
    ),
    "err.offline_none": (
        (
            "Offline: none of the {total} answers{what} is in the cache, and nothing was sent. "
            "Switch Offline off to fetch them from Vitec Connect."
        ),
        (
            "Offline: inget av de {total} svaren{what} finns i cachen, och inget skickades. Slå av "
            "Offline för att hämta dem från Vitec Connect."
        ),
    ),
    "err.offline_some": (
        (
            "Offline: {n} of the {total} answers{what} are not in the cache (nothing was sent). "
            "Switch Offline off to fetch only those."
        ),
        (
            "Offline: {n} av de {total} svaren{what} finns inte i cachen (inget skickades). Slå av "
            "Offline för att hämta bara dem."
        ),
    ),
    "err.for": (" for {context}", " för {context}"),
    "err.timeout": (
        "Vitec Connect did not answer in time: {error} Try again later.",
        "Vitec Connect svarade inte i tid: {error} Försök igen senare.",
    ),
    "err.transport": (
        "Could not reach Vitec Connect: {error}",
        "Kunde inte nå Vitec Connect: {error}",
    ),
    "err.unexpected": ("Unexpected error ({kind}): {error}", "Oväntat fel ({kind}): {error}"),
    "err.all_failed": (
        "{head} (all {total} calls failed.)",
        "{head} (alla {total} anrop misslyckades.)",
    ),
    "err.some_failed": (
        (
            "{n} of {total} calls of the breakdown failed, so these counts are missing: "
            "{names}.\nRun again to fetch only these (the others are cached)."
        ),
        (
            "{n} av {total} anrop i uppdelningen misslyckades, så de här siffrorna saknas: "
            "{names}.\nKör igen för att hämta bara dem (resten finns i cachen)."
        ),
    ),
    "err.and_more": ("… and {n} more", "… och {n} till"),
    "err.incomplete": (
        "{error} Run again to fetch only what is missing (the rest is cached).",
        "{error} Kör igen för att hämta bara det som saknas (resten finns i cachen).",
    ),
    "err.allowed": ("allowed: {allowed}", "tillåtet: {allowed}"),
    "err.no_cell": ("Pick a period and a value first.", "Välj en period och ett värde först."),
    "err.compare_bounds": (
        (
            "Compare with needs the range from the measured dates; clear the {pair} dates' time of "
            "day or the comparison"
        ),
        (
            "Jämför med kräver intervallet från de mätta datumen; ta bort klockslaget på "
            "{pair}-datumen eller jämförelsen"
        ),
    ),
    "lines.shows": ("Shows", "Visar"),
    "lines.range": ("Range", "Intervall"),
    "lines.default_range": ("default range", "standardintervall"),
    "lines.fetched": ("Fetched", "Hämtat"),
    "lines.source": ("Source", "Källa"),
    "lines.times_local": (
        "Times: Swedish local time ({tz}), written without a UTC offset",
        "Tider: svensk lokal tid ({tz}), skrivna utan UTC-förskjutning",
    ),
    "lines.times_iso": (
        "Times: ISO 8601 with the UTC offset ({tz})",
        "Tider: ISO 8601 med UTC-förskjutningen ({tz})",
    ),
    "lines.standin": (
        "built-in stand-in, not a real CRM",
        "inbyggd ersättare, inte ett riktigt CRM",
    ),
    "field.more_offices": ("More offices", "Fler kontor"),
    "tip.more_offices": (
        "Several offices for the chain (Ctrl/Shift-click); the Office above is always included",
        "Flera kontor för kedjan (Ctrl/Skift-klick); kontoret ovan ingår alltid",
    ),
    "report.created_changed": ("Created and changed contacts", "Skapade och ändrade kontakter"),
    "archived": ("archived", "arkiverad"),
    "context": ("office {office}, contacts {measure}", "kontor {office}, kontakter {measure}"),
}

# the planner's special values ("(no agent)") as Swedish legends and tables show them
SPECIAL_VALUES_SV: dict[str, str] = {
    "(no agent)": "(ingen handläggare)",
    "(no agent or an unlisted user)": "(ingen handläggare eller en olistad användare)",
    "(other)": "(annan)",
    "(none)": "(ingen)",
    "(no lead score)": "(ingen leadpoäng)",
    "(no list)": "(ingen lista)",
    "(no active service)": "(ingen aktiv bevakning)",
    "(other or no list)": "(annan eller ingen lista)",
    "(other or no service)": "(annan eller ingen bevakning)",
    "(conflict)": "(konflikt)",
}


def special_value(value: Any, language: str = "en") -> Any:
    """A special value's words in `language` ("(no agent)" -> "(ingen handläggare)")."""
    if language == "sv" and isinstance(value, str):
        return SPECIAL_VALUES_SV.get(value, value)
    return value


TEXTS: dict[str, dict[str, str]] = {
    language: {key: pair[i] for key, pair in _TABLE.items()} for i, language in enumerate(LANGUAGES)
}
_EN = TEXTS["en"]


def check_language(value: Any, option: str = "language") -> str:
    """ "en" or "sv" (any case); anything else is an error listing the languages."""
    if isinstance(value, str) and value.strip().lower() in LANGUAGES:
        return value.strip().lower()
    raise InvalidQueryError(option, f"{value!r} is not a language", ", ".join(LANGUAGES))


def default_language(environ: Mapping[str, str] | None = None) -> str:
    """`VITEC_NB_LANGUAGE` when set (checked), else "sv" for a Swedish locale, else "en"."""
    environ = os.environ if environ is None else environ
    given = environ.get(ENV_VAR, "").strip()
    if given:
        return check_language(given, ENV_VAR)
    try:
        name = locale.getlocale()[0] or ""
    except ValueError:  # an unparsable LANG: no opinion
        name = ""
    return "sv" if name.lower().startswith("sv") else "en"


def resolve_language(value: Any = None) -> str:
    """The language to use: `value` (checked) when given, else `default_language()`."""
    return default_language() if value is None else check_language(value)


def text(key: str, language: str = "en", /, **values: Any) -> str:
    """The words for `key` in `language`, placeholders filled; English when Swedish lacks it."""
    table = TEXTS.get(language, _EN)
    template = table.get(key, _EN[key])
    return template.format(**values) if values else template


def month_names(language: str = "en") -> list[str]:
    """Short month names: "Jan" ... (English), "jan" ... "maj" ... (Swedish)."""
    return MONTHS.get(language, MONTHS["en"])


def number(value: Any, language: str = "en", digits: int = 0) -> str:
    """A count or figure for people: "1,234" / "1 234" (narrow no-break space), "1,5" in Swedish."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    shown = f"{float(value):,.{digits}f}" if digits else f"{round(float(value)):,d}"
    if language == "sv":
        return shown.replace(",", NARROW_NBSP).replace(".", ",")
    return shown


def percent(change: float, language: str = "en") -> str:
    """A change in % with its sign: "+12 %", "−3 %" ("±0 %" for no change)."""
    shown = f"{change:+.0f}"
    if shown in ("+0", "-0"):
        return "±0 %"
    return f"{shown} %" if language == "en" else f"{shown.replace('-', '−')} %"


def period_noun(code: str, language: str = "en", *, plural: bool = False) -> str:
    """ "month" / "månad" ("months" / "månader" with `plural`)."""
    return text(("periods." if plural else "period.") + code, language)


def period_label(start: Any, code: str, language: str = "en", *, multiline: bool = True) -> str:
    """Tick or title text for the period starting at `start` (Swedish time).

    English: "3 Mar 2025", "W05 2025", "Jan 2025", "2025-Q1", "2025"; Swedish: "3 mar 2025",
    "v05 2025", "jan 2025", "K1 2025", "2025". With `multiline` the year goes on a line of
    its own (chart ticks).
    """
    ts = pd.Timestamp(start)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(TIMEZONE).tz_localize(None)
    sep = "\n" if multiline else " "
    month = month_names(language)[ts.month - 1]
    if code == "D":
        return f"{ts.day} {month}{sep}{ts.year}"
    if code == "W":
        iso = ts.isocalendar()
        return f"{'v' if language == 'sv' else 'W'}{iso.week:02d}{sep}{iso.year}"
    if code == "M":
        return f"{month}{sep}{ts.year}"
    if code == "Q":
        quarter = (ts.month - 1) // 3 + 1
        if language == "sv":
            return f"K{quarter}{sep}{ts.year}"
        return f"Q{quarter}\n{ts.year}" if multiline else f"{ts.year}-Q{quarter}"
    return str(ts.year)
