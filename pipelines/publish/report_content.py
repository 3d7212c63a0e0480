"""What the officials' page says (DESIGN §8.1): its sections, in order, built from the tables
of one published file for one scope (the country or a region). The building blocks (`Cell`,
`Table`, `Chart` ...) and the rows behind them are in `report_model.py`, the charts in
`report_charts.py`, the words in `labels.csv`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pipelines.publish import report_charts as charts
from pipelines.publish.labels import Labels
from pipelines.publish.report_model import (
    NOT_AVAILABLE,
    SUPPRESSED,
    Card,
    Cards,
    Chart,
    Definitions,
    Details,
    Note,
    Page,
    Report,
    Row,
    Scope,
    Section,
    Table,
    first,
    is_missing,
)

MAX_BARS = 60  # a bar chart of more units than this is not readable; the table has them all
RATES = ("absence_rate", "illness_rate", "authorised_rate", "unauthorised_rate",
         "unexplained_rate")
BAND_RATES = ("absence_rate", "illness_rate", "unexplained_rate")
GRADE_BANDS = ("1-2", "3-6", "7-9", "all")
TERMS = ("autumn", "spring", "all")
DIMENSIONS = ("wellbeing", "learning", "cooperation", "awareness")
TIERS = ("targeted", "intensive")
STATUSES = ("ok", "late", "missing", "quarantined", "not_onboarded")


def _value(row: dict | None, column: str) -> float | None:
    """A measure for a chart: None where suppressed or missing."""
    if row is None or row.get("suppressed") or is_missing(row.get(column)):
        return None
    return float(row[column])


def _status(r: Report, row: dict) -> str:
    return r.L["chart.provisional_status" if row.get("provisional") else "chart.final_status"]


def _period_order(row: dict) -> tuple:
    return (row.get("period_start") or date.min,)


# -- the sections ---------------------------------------------------------------------------

def build_page(tables: dict[str, list[dict]], scope: Scope, labels: Labels, threshold: int,
               source: str, generated: datetime) -> Page:
    """The whole page for one scope from the tables of one published file."""
    r = Report(tables, scope, labels, threshold, source)
    L = r.L
    sections = [headline(r), trend(r), patterns(r), tiers(r), caseload(r), side_by_side(r),
                response(r), local_ladders(r), interventions(r), change(r), effect(r),
                data_quality(r), symbols(r)]
    year = r.school_year
    through = _data_through(r)
    lead = [L.fill("page.lead_year", year=_school_year(L, year)) if year else L["page.no_year"]]
    if through:
        lead.append(L.fill("page.lead_through", date=L.date(through)))
    lead.append(L.fill("page.lead_suppression", threshold=threshold))
    return Page(
        language=L["meta.lang"],
        kicker=L["page.kicker_national" if scope.national else "page.kicker_region"],
        title=r.scope_name, lead=lead, sections=sections,
        footer=[L.fill("footer.source", source=source),
                L.fill("footer.generated", when=L.datetime(generated))])


def _school_year(L: Labels, year: str) -> str:
    start, _, end = year.partition("-")
    return L.fill("format.school_year", start=start, end=end) if end else year


def _data_through(r: Report) -> date | None:
    row = first(r.own("absence_rates", period_type="school_year", grade_band="all"))
    if row and row.get("data_through"):
        return row["data_through"]
    dates = [row.get("data_through") for table in ("absence_rates", "attendance_tiers")
             for row in r.own(table) if row.get("data_through")]
    return max(dates) if dates else None


def _no_data(r: Report, table: str) -> Note:
    if table not in r.tables:
        return Note(r.L["note.not_published"])
    return Note(r.L["note.no_data"])


def headline(r: Report) -> Section:
    L = r.L
    title = L["headline.title"]
    intro = [L["headline.intro"]]
    pairs = r.series_rows("absence_rates", period_type="school_year", grade_band="all")
    if all(row is None for _, row in pairs):
        return Section("headline", title, intro, [_no_data(r, "absence_rates")])
    own, country = pairs[0][1], (pairs[1][1] if len(pairs) > 1 else None)
    cards = [Card(L[f"measure.{column}"], r.measure("absence_rates", own, column, "pct"),
                  [] if r.scope.national else
                  [(r.country_name, r.measure("absence_rates", country, column, "pct"))])
             for column in RATES]
    blocks: list = [Cards(cards)]

    records = [{"category": L[f"measure.{column}"], "series": name, "value": value,
                "text": L.pct(value)}
               for column in RATES for name, row in pairs
               if (value := _value(row, column)) is not None]
    if records:
        blocks.append(Chart(r.chart_id(), L["headline.chart"], L["headline.chart_alt"],
                            charts.grouped_bars(records, r.series, value_format=".0%",
                                                axis_title=L["chart.rate_axis"],
                                                category_title="")))
    measures = [("students", "count"), ("scheduled_lessons", "lessons"),
                ("absent_lessons", "lessons"), *((c, "pct") for c in RATES),
                ("late_count", "count")]
    blocks.append(Table(
        L["headline.table"], [L["table.measure"], *(name for name, _ in pairs)],
        [Row(L[f"measure.{column}"],
             [r.measure("absence_rates", row, column, kind) for _, row in pairs])
         for column, kind in measures]))

    bands = []
    for band in GRADE_BANDS:
        row = first(r.own("absence_rates", period_type="school_year", grade_band=band))
        cells = [r.measure("absence_rates", row, "students", "count"),
                 *(r.measure("absence_rates", row, c, "pct") for c in BAND_RATES)]
        if not r.scope.national:
            cells.append(r.measure("absence_rates", first(r.country(
                "absence_rates", period_type="school_year", grade_band=band)),
                "absence_rate", "pct"))
        bands.append(Row(L[f"grade_band.{band}"], cells))
    head = [L["table.grade_band"], L["measure.students"],
            *(L[f"measure.{c}"] for c in BAND_RATES)]
    if not r.scope.national:
        head.append(L.fill("table.country_rate", country=r.country_name))
    blocks.append(Table(L["headline.bands_table"], head, bands))
    return Section("headline", title, intro, blocks)


def trend(r: Report) -> Section:
    L = r.L
    blocks: list = []
    for period_type in ("month", "week"):
        own = sorted((row for row in r.own("absence_rates", period_type=period_type,
                                            grade_band="all")
                      if row.get("period_start") and row.get("period_end")),
                     key=_period_order)
        country = {row.get("period_start"): row for row in
                   r.country("absence_rates", period_type=period_type, grade_band="all")}
        name = (lambda row: L.month(row["period_start"])) if period_type == "month" else (
            lambda row: L.week(row["period_start"], row["period_end"]))
        if not own:
            blocks += [Note(L[f"trend.{period_type}_title"] + ": " + L["note.no_data"])]
            continue
        points, bands = [], []
        series = [(r.scope_name, own)] + ([] if r.scope.national else
                                          [(r.country_name, sorted(country.values(),
                                                                   key=_period_order))])
        for series_name, rows in series:
            for row in rows:
                start, end = row.get("period_start"), row.get("period_end")
                value = _value(row, "absence_rate")
                if start is None or end is None or value is None:
                    continue
                middle = start + (end - start) / 2
                points.append({"x": charts.when(middle), "value": value, "series": series_name,
                               "period": name(row), "text": L.pct(value),
                               "provisional": bool(row.get("provisional")),
                               "status": _status(r, row)})
        for row in own:
            if row.get("provisional") and row.get("period_start") and row.get("period_end"):
                bands.append({"start": charts.when(row["period_start"]),
                              "end": charts.when(row["period_end"] + timedelta(days=1))})
        if points:
            blocks.append(Chart(
                r.chart_id(), L[f"trend.{period_type}_chart"], L["trend.chart_alt"],
                charts.trend(points, bands, r.series, L, axis_format=".0%",
                             axis_title=L["chart.rate_axis"],
                             tick=L["chart.month_format" if period_type == "month"
                                    else "chart.day_format"],
                             domain=(charts.when(own[0]["period_start"]),
                                     charts.when(own[-1]["period_end"])),
                             monthly=period_type == "month")))
        head = [L[f"table.{period_type}"], L["measure.students"], L["measure.absence_rate"],
                L["measure.illness_rate"], L["measure.unexplained_rate"]]
        if not r.scope.national:
            head.append(L.fill("table.country_rate", country=r.country_name))
        rows = []
        for row in own:
            cells = [r.measure("absence_rates", row, "students", "count"),
                     *(r.measure("absence_rates", row, c, "pct")
                       for c in ("absence_rate", "illness_rate", "unexplained_rate"))]
            if not r.scope.national:
                cells.append(r.measure("absence_rates", country.get(row.get("period_start")),
                                       "absence_rate", "pct"))
            rows.append(Row(name(row), cells,
                            L["badge.provisional"] if row.get("provisional") else ""))
        table = Table(L[f"trend.{period_type}_table"], head, rows)
        blocks.append(table if period_type == "month" else
                      Details(L["trend.week_details"], [table]))
    return Section("trend", L["trend.title"], [L["trend.intro"]], blocks)


TIER_MEASURES = (("share_10pct_or_more", "students_10pct_or_more"),
                 ("targeted_share", "targeted_students"),
                 ("intensive_share", "intensive_students"))


def tiers(r: Report) -> Section:
    L = r.L
    title, intro = L["tiers.title"], [L["tiers.intro"]]
    own = sorted((row for row in r.own("attendance_tiers", grade_band="all")
                  if row.get("as_of_date")), key=lambda row: row["as_of_date"])
    if not own:
        return Section("tiers", title, intro, [_no_data(r, "attendance_tiers")])
    country = {row.get("as_of_date"): row for row in r.country("attendance_tiers",
                                                               grade_band="all")}
    blocks: list = []
    measures = [(key, L[f"tiers.legend.{key}"]) for key, _ in TIER_MEASURES]
    points, bands = [], []
    for row in own:
        for key, legend in measures:
            value = _value(row, key)
            if value is not None:
                points.append(_tier_point(r, row, legend, value))
        if row.get("provisional"):
            bands.append({"start": charts.when(row["as_of_date"] - timedelta(days=3)),
                          "end": charts.when(row["as_of_date"] + timedelta(days=4))})
    if not r.scope.national:
        legend = L.fill("tiers.country_legend", country=r.country_name)
        measures.append(("country", legend))
        for row in own:
            value = _value(country.get(row["as_of_date"]), "share_10pct_or_more")
            if value is not None:
                points.append(_tier_point(r, country[row["as_of_date"]], legend, value))
    if points:
        blocks.append(Chart(r.chart_id(), L["tiers.chart"], L["tiers.chart_alt"],
                            charts.tier_lines(points, bands, measures, L)))

    latest = own[-1]["as_of_date"]
    pairs = [(r.scope_name, own[-1])] + ([] if r.scope.national else
                                         [(r.country_name, country.get(latest))])
    head = [L["table.unit"], L["measure.students_with_tier"],
            L["measure.students_10pct_or_more"],
            *(L[f"measure.{share}"] for share, _ in TIER_MEASURES)]
    rows = []
    for name, row in pairs:
        cells = [r.measure("attendance_tiers", row, "students_with_tier", "count"),
                 r.measure("attendance_tiers", row, "students_10pct_or_more", "count"),
                 *(r.measure("attendance_tiers", row, share, "pct")
                   for share, _ in TIER_MEASURES)]
        rows.append(Row(name, cells,
                        L["badge.provisional"] if row and row.get("provisional") else ""))
    blocks.append(Table(L.fill("tiers.latest_table", date=L.date(latest)), head, rows))

    head = [L["table.sunday"], L["measure.students_with_tier"],
            *(L[f"measure.{share}"] for share, _ in TIER_MEASURES)]
    if not r.scope.national:
        head.append(L.fill("tiers.country_column", country=r.country_name))
    rows = []
    for row in own:
        cells = [r.measure("attendance_tiers", row, "students_with_tier", "count"),
                 *(r.measure("attendance_tiers", row, share, "pct")
                   for share, _ in TIER_MEASURES)]
        if not r.scope.national:
            cells.append(r.measure("attendance_tiers", country.get(row["as_of_date"]),
                                   "share_10pct_or_more", "pct"))
        rows.append(Row(L.date(row["as_of_date"]), cells,
                        L["badge.provisional"] if row.get("provisional") else ""))
    blocks.append(Details(L["tiers.all_details"],
                          [Table(L["tiers.all_table"], head, rows)]))
    return Section("tiers", title, intro, blocks)


CASELOAD_COUNTS = ("students_with_tier", "awaiting_targeted", "overdue_targeted",
                   "awaiting_intensive", "overdue_intensive")


def caseload(r: Report) -> Section:
    """Pupils awaiting a response on the latest Sunday, beside the country, and every Sunday
    folded below (DESIGN §7.2 support_caseload)."""
    L = r.L
    title, intro = L["caseload.title"], [L["caseload.intro"]]
    own = sorted((row for row in r.own("support_caseload", grade_band="all")
                  if row.get("as_of_date")), key=lambda row: row["as_of_date"])
    if not own:
        return Section("caseload", title, intro, [_no_data(r, "support_caseload")])
    latest = own[-1]["as_of_date"]
    country = {row.get("as_of_date"): row for row in r.country("support_caseload",
                                                               grade_band="all")}
    pairs = [(r.scope_name, own[-1])] + ([] if r.scope.national else
                                         [(r.country_name, country.get(latest))])
    head = [L["table.unit"], *(L[f"measure.{c}"] for c in CASELOAD_COUNTS)]
    blocks: list = [Table(L.fill("caseload.latest_table", date=L.date(latest)), head,
                          [Row(name, [r.measure("support_caseload", row, c, "count")
                                      for c in CASELOAD_COUNTS]) for name, row in pairs])]
    rows = [Row(L.date(row["as_of_date"]),
                [r.measure("support_caseload", row, c, "count") for c in CASELOAD_COUNTS])
            for row in own]
    blocks.append(Details(L["caseload.all_details"], [Table(
        L["caseload.all_table"], [L["table.sunday"], *head[1:]], rows)]))
    return Section("caseload", title, intro, blocks)


WEEKDAYS = (1, 2, 3, 4, 5)
STREAK_COUNTS = ("students", "students_streak_3_or_more", "students_streak_10_or_more")


def patterns(r: Report) -> Section:
    """Absence by weekday over the school year, beside the country, and full-day absence
    streaks by term (DESIGN §7.2 absence_by_weekday, absence_streaks)."""
    L = r.L
    title, intro = L["patterns.title"], [L["patterns.intro"]]
    blocks: list = []
    term = _whole_year(r, "absence_by_weekday")
    pairs = [(name, {row.get("weekday"): row for row in rows})
             for name, rows in _series_all(r, "absence_by_weekday", term=term)]
    if not any(days for _, days in pairs):
        blocks.append(_no_data(r, "absence_by_weekday"))
    else:
        records = [{"category": L[f"weekday.{day}"], "series": name, "value": value,
                    "text": L.pct(value)}
                   for day in WEEKDAYS for name, days in pairs
                   if (value := _value(days.get(day), "absence_rate")) is not None]
        if records:
            blocks.append(Chart(r.chart_id(), L["patterns.weekday_chart"],
                                L["patterns.weekday_alt"],
                                charts.grouped_bars(records, r.series, value_format=".0%",
                                                    axis_title=L["chart.rate_axis"],
                                                    category_title="")))
        own = pairs[0][1]
        head = [L["table.weekday"], L["measure.students"], L["measure.scheduled_lessons"],
                L["measure.absent_lessons"], L["measure.absence_rate"]]
        if not r.scope.national:
            head.append(L.fill("table.country_rate", country=r.country_name))
        rows = []
        for day in WEEKDAYS:
            row = own.get(day)
            cells = [r.measure("absence_by_weekday", row, "students", "count"),
                     r.measure("absence_by_weekday", row, "scheduled_lessons", "lessons"),
                     r.measure("absence_by_weekday", row, "absent_lessons", "lessons"),
                     r.measure("absence_by_weekday", row, "absence_rate", "pct")]
            if not r.scope.national:
                cells.append(r.measure("absence_by_weekday", pairs[1][1].get(day),
                                       "absence_rate", "pct"))
            rows.append(Row(L[f"weekday.{day}"], cells))
        blocks.append(Table(L.fill("patterns.weekday_table",
                                   term=r.term_name(term) if term else ""), head, rows))
    terms = _terms(r, "absence_streaks")
    rows = [Row(L.fill("table.series_term", series=name, term=r.term_name(term)),
                [r.measure("absence_streaks", row, c, "count") for c in STREAK_COUNTS])
            for term in terms for name, row in r.series_rows("absence_streaks", term=term)]
    if not any(cell.text != NOT_AVAILABLE for row in rows for cell in row.cells):
        blocks.append(_no_data(r, "absence_streaks"))
    else:
        blocks.append(Note(L["patterns.streaks_intro"]))
        blocks.append(Table(L["patterns.streaks_table"],
                            [L["table.unit_term"], *(L[f"measure.{c}"] for c in
                                                     STREAK_COUNTS)], rows))
    return Section("patterns", title, intro, blocks)


def _series_all(r: Report, table: str, **where: object) -> list[tuple[str, list[dict]]]:
    """(series name, all its rows) for the scope and, in a region report, the country."""
    pairs = [(r.scope_name, r.own(table, **where))]
    if not r.scope.national:
        pairs.append((r.country_name, r.country(table, **where)))
    return pairs


LADDER_COLUMNS = (("crossed", "count"), ("responded", "count"),
                  ("timely_response_rate", "pct"), ("median_response_lag_days", "days"))


def local_ladders(r: Report) -> Section:
    """Crossings of the municipalities' own ladders in lessons over the school year, per
    municipality and threshold (DESIGN §7.2 local_threshold_crossings). Only municipalities
    that declared a ladder have rows; schools are folded below in a region's page."""
    L = r.L
    title, intro = L["ladders.title"], [L["ladders.intro"]]
    term = _whole_year(r, "local_threshold_crossings")
    blocks: list = []
    for level in ("municipality", "school"):
        if level == "school" and r.scope.national:
            continue
        found = sorted(r.units("local_threshold_crossings", level, term=term),
                       key=lambda row: (str(_unit_code(row)),
                                        row.get("threshold_lessons") or 0.0))
        if not found:
            continue
        head = [L[f"table.{level}"], L["table.threshold"],
                *(L[f"measure.ladder.{c}"] for c, _ in LADDER_COLUMNS)]
        rows = [Row(r.unit_name(row), [
            r.text("local_threshold_crossings", row, "label"),
            *(r.measure("local_threshold_crossings", row, c, k) for c, k in LADDER_COLUMNS)])
            for row in found]
        table = Table(L.fill(f"ladders.{level}_table", term=r.term_name(term)), head, rows)
        blocks.append(table if level == "municipality" else
                      Details(L.fill("ladders.school_details", count=len(rows)), [table]))
    if not blocks:
        note = (L["ladders.none"] if "local_threshold_crossings" in r.tables
                else L["note.not_published"])
        return Section("ladders", title, intro, [Note(note)])
    return Section("ladders", title, intro, blocks)


EFFECT_COLUMNS = (("students_in_change", "count"), ("mean_rate_before", "pct"),
                  ("mean_rate_after", "pct"), ("mean_change", "points"),
                  ("comparison_students", "count"), ("comparison_mean_change", "points"),
                  ("difference", "points"))


def effect(r: Report) -> Section:
    """Change in absence after the first responding intervention by its type, beside the
    pupils who crossed 10 % and got no response (DESIGN §7.2 intervention_effect)."""
    L = r.L
    title, intro = L["effect.title"], [L["effect.intro"], L["effect.caution"]]
    found = r.own("intervention_effect")
    if not found:
        return Section("effect", title, intro, [_no_data(r, "intervention_effect")])
    found.sort(key=lambda row: (row.get("intervention_type") == "all",
                                -(_value(row, "students_in_change") or -1),
                                str(row.get("intervention_type"))))
    blocks: list = []
    treated, comparison = L["effect.series_treated"], L["effect.series_comparison"]
    records = []
    for row in found:
        name = _type_name(L, row)
        for series, column in ((treated, "mean_change"), (comparison, "comparison_mean_change")):
            value = _value(row, column)
            if value is not None:
                records.append({"category": name, "series": series, "value": value * 100,
                                "text": L.points(value)})
    if records:
        blocks.append(Chart(r.chart_id(), L["effect.chart"], L["effect.chart_alt"],
                            charts.grouped_bars(records, [treated, comparison],
                                                value_format="+.1f",
                                                axis_title=L["chart.points_axis"],
                                                category_title="")))
    blocks.append(Table(L["effect.table"],
                        [L["table.intervention"], *(L[f"measure.effect.{c}"]
                                                    for c, _ in EFFECT_COLUMNS)],
                        [Row(_type_name(L, row),
                             [r.measure("intervention_effect", row, c, k)
                              for c, k in EFFECT_COLUMNS]) for row in found]))
    if not r.scope.national:
        row = first(r.country("intervention_effect", intervention_type="all"))
        blocks.append(Table(L.fill("effect.country_table", country=r.country_name),
                            [L["table.intervention"], *(L[f"measure.effect.{c}"]
                                                        for c, _ in EFFECT_COLUMNS)],
                            [Row(_type_name(L, row) if row else L["intervention.all"],
                                 [r.measure("intervention_effect", row, c, k)
                                  for c, k in EFFECT_COLUMNS])]))
    return Section("effect", title, intro, blocks)


def _tier_point(r: Report, row: dict, legend: str, value: float) -> dict:
    return {"x": charts.when(row["as_of_date"]), "value": value, "measure": legend,
            "text": r.L.pct(value), "period": r.L.date(row["as_of_date"]),
            "provisional": bool(row.get("provisional")), "status": _status(r, row)}


def side_by_side(r: Report) -> Section:
    L = r.L
    blocks: list = []
    for level in r.scope.unit_levels:
        blocks += _units(r, level)
    title = L["units.title_national" if r.scope.national else "units.title_region"]
    return Section("units", title, [L["units.intro"]], blocks)


def _unit_code(row: dict) -> str | None:
    return {"region": row.get("region_code"), "municipality": row.get("municipality_code"),
            "school": row.get("school_code")}.get(row.get("level"))


def _units(r: Report, level: str) -> list:
    L = r.L
    rates = {_unit_code(row): row for row in
             r.units("absence_rates", level, period_type="school_year", grade_band="all")}
    tier_rows = r.units("attendance_tiers", level, grade_band="all")
    latest = max((row["as_of_date"] for row in tier_rows if row.get("as_of_date")),
                 default=None)
    tier = {_unit_code(row): row for row in tier_rows if row.get("as_of_date") == latest}
    metrics = {_unit_code(row): row for row in
               r.units("intervention_metrics", level, term="all")}
    named: dict[str, dict] = {}
    for source in (rates, tier, metrics):
        for code, row in source.items():
            named.setdefault(code, row)
    heading = L[f"units.{level}_heading"]
    if not named:
        return [Note(heading + ": " + L["note.no_data"])]
    order = sorted(named, key=lambda code: (named[code].get("municipality_code") or "",
                                            code or ""))
    blocks: list = []
    records = [{"label": r.unit_name(named[code]), "value": value, "text": L.pct(value)}
               for code in order
               if (value := _value(rates.get(code), "absence_rate")) is not None]
    references = [{"value": value, "label": L.fill("chart.reference", series=name,
                                                   value=L.pct(value))}
                  for name, row in r.series_rows("absence_rates", period_type="school_year",
                                                 grade_band="all")
                  if (value := _value(row, "absence_rate")) is not None]
    if records and len(records) <= MAX_BARS:
        blocks.append(Chart(r.chart_id(), L[f"units.{level}_chart"], L["units.chart_alt"],
                            charts.unit_bars(records, references,
                                             axis_title=L["measure.absence_rate"],
                                             value_format=".0%")))
        if len(records) < len(order):
            blocks.append(Note(L["units.not_in_chart"]))
    elif records:
        blocks.append(Note(L.fill("units.too_many", count=len(records), limit=MAX_BARS)))
    head = [L[f"table.{level}"], L["measure.students"], L["measure.absence_rate"],
            L["measure.unexplained_rate"],
            L.fill("units.share_10_column", date=L.date(latest)) if latest
            else L["measure.share_10pct_or_more"],
            L["measure.timely_response_rate"], L["measure.median_response_lag_days"]]
    rows = [Row(r.unit_name(named[code]), [
        r.measure("absence_rates", rates.get(code), "students", "count"),
        r.measure("absence_rates", rates.get(code), "absence_rate", "pct"),
        r.measure("absence_rates", rates.get(code), "unexplained_rate", "pct"),
        r.measure("attendance_tiers", tier.get(code), "share_10pct_or_more", "pct"),
        r.measure("intervention_metrics", metrics.get(code), "timely_response_rate", "pct"),
        r.measure("intervention_metrics", metrics.get(code), "median_response_lag_days",
                  "days"),
    ]) for code in order]
    table = Table(L[f"units.{level}_table"], head, rows)
    # A country's 300 municipalities would bury the sections below: folded, one click away.
    blocks.append(table if len(rows) <= MAX_BARS else
                  Details(L.fill(f"units.{level}_details", count=len(rows)), [table]))
    return blocks


RESPONSE_COLUMNS = (("crossed_targeted", "count"), ("responded_targeted", "count"),
                    ("timely_response_rate", "pct"), ("median_response_lag_days", "days"),
                    ("crossed_intensive", "count"), ("responded_intensive", "count"),
                    ("intensive_response_rate", "pct"))


def _terms(r: Report, table: str) -> list[str]:
    present = {row.get("term") for row in r.year_rows(table)}
    return [t for t in TERMS if t in present]


def response(r: Report) -> Section:
    L = r.L
    title, intro = L["response.title"], [L["response.intro"], L["response.intensive_intro"]]
    terms = _terms(r, "intervention_metrics")
    if not terms or not any(row for term in terms
                            for _, row in r.series_rows("intervention_metrics", term=term)):
        return Section("response", title, intro, [_no_data(r, "intervention_metrics")])
    blocks: list = []
    for column, fmt, writer in (("timely_response_rate", ".0%", L.pct),
                                ("median_response_lag_days", ",.0f", L.days)):
        records = [{"category": r.term_name(term), "series": name, "value": value,
                    "text": writer(value)}
                   for term in terms
                   for name, row in r.series_rows("intervention_metrics", term=term)
                   if (value := _value(row, column)) is not None]
        if records:
            blocks.append(Chart(r.chart_id(), L[f"response.{column}_chart"],
                                L[f"response.{column}_alt"],
                                charts.grouped_bars(records, r.series, value_format=fmt,
                                                    axis_title=L[f"measure.{column}"],
                                                    category_title="")))
    rows = []
    for term in terms:
        for name, row in r.series_rows("intervention_metrics", term=term):
            rows.append(Row(L.fill("table.series_term", series=name, term=r.term_name(term)),
                            [r.measure("intervention_metrics", row, c, k)
                             for c, k in RESPONSE_COLUMNS]))
    blocks.append(Table(L["response.table"],
                        [L["table.unit_term"], *(L[f"measure.{c}"] for c, _ in
                                                 RESPONSE_COLUMNS)], rows))
    return Section("response", title, intro, blocks)


def interventions(r: Report) -> Section:
    L = r.L
    title, intro = L["interventions.title"], [L["interventions.intro"]]
    blocks: list = []
    term = _whole_year(r, "interventions_by_dimension")
    own = {row.get("dimension"): row for row in r.own("interventions_by_dimension", term=term)}
    if not own:
        blocks.append(_no_data(r, "interventions_by_dimension"))
    else:
        records = [{"label": L[f"dimension.{d}"], "value": value, "text": L.number(value),
                    "group": ""}
                   for d in DIMENSIONS
                   if (value := _value(own.get(d), "students")) is not None]
        if records:
            blocks.append(Chart(r.chart_id(), L["interventions.dimension_chart"],
                                L["interventions.dimension_alt"],
                                charts.count_bars(records, axis_title=L["measure.students"])))
        present = [d for d in (*DIMENSIONS, "all") if d in own]
        blocks.append(Table(L["interventions.dimension_table"],
                            [L["table.dimension"], L["measure.interventions"],
                             L["measure.students"]],
                            [Row(L[f"dimension.{d}"],
                                 [r.measure("interventions_by_dimension", own[d], c, "count")
                                  for c in ("interventions", "students")]) for d in present]))

    term = _whole_year(r, "interventions_by_type")
    types = r.own("interventions_by_type", term=term)
    if not types:
        blocks.append(_no_data(r, "interventions_by_type"))
    else:
        types.sort(key=lambda row: (TIERS.index(row["tier"]) if row.get("tier") in TIERS
                                    else len(TIERS), -(_value(row, "interventions") or -1),
                                    str(row.get("intervention_type"))))
        tier_names = {t: L[f"tier.{t}"] for t in TIERS}
        records = [{"label": _type_name(L, row), "value": value, "text": L.number(value),
                    "group": tier_names.get(row.get("tier"), str(row.get("tier")))}
                   for row in types if (value := _value(row, "interventions")) is not None]
        if records:
            colours = {tier_names[t]: charts.TIER_COLOURS[t] for t in TIERS}
            blocks.append(Chart(r.chart_id(), L["interventions.type_chart"],
                                L["interventions.type_alt"],
                                charts.count_bars(records, axis_title=L["measure.interventions"],
                                                  colour_title=L["table.tier"],
                                                  colours=colours)))
        blocks.append(Table(
            L["interventions.type_table"],
            [L["table.intervention"], L["table.tier"], L["table.dimension"],
             L["measure.interventions"], L["measure.students"]],
            [Row(_type_name(L, row), [
                r.text("interventions_by_type", row, "tier", "tier"),
                r.text("interventions_by_type", row, "dimension", "dimension"),
                r.measure("interventions_by_type", row, "interventions", "count"),
                r.measure("interventions_by_type", row, "students", "count")])
             for row in types]))
    return Section("interventions", title, intro, blocks)


def _whole_year(r: Report, table: str) -> str | None:
    """`all` (the school year), else the latest term published."""
    terms = _terms(r, table)
    return "all" if "all" in terms else (terms[-1] if terms else None)


def _type_name(L: Labels, row: dict) -> str:
    """The type's name from the labels (so a translation can be added), else the Finnish name
    the table carries, else its code."""
    kind = str(row.get("intervention_type"))
    return L.get_text(f"intervention.{kind}", str(row.get("intervention_name_fi") or kind))


def change(r: Report) -> Section:
    L = r.L
    title, intro = L["change.title"], [L["change.intro"], L["change.caution"]]
    terms = _terms(r, "intervention_metrics")
    pairs = [(term, name, row) for term in terms
             for name, row in r.series_rows("intervention_metrics", term=term)]
    if not any(row for _, _, row in pairs):
        return Section("change", title, intro, [_no_data(r, "intervention_metrics")])
    blocks: list = []
    records = [{"category": r.term_name(term), "series": name, "value": value,
                "text": L.fill("change.with_count", change=L.points(value),
                               count=L.number(row["students_in_change"]))
                if not is_missing(row.get("students_in_change")) else L.points(value)}
               for term, name, row in pairs
               if (value := _value(row, "mean_rate_change_after_intervention")) is not None]
    if records:
        blocks.append(Chart(r.chart_id(), L["change.chart"], L["change.chart_alt"],
                            charts.grouped_bars(
                                [{**x, "value": x["value"] * 100} for x in records], r.series,
                                value_format="+.1f", axis_title=L["chart.points_axis"],
                                category_title="")))
    blocks.append(Table(L["change.table"],
                        [L["table.unit_term"], L["measure.students_in_change"],
                         L["measure.mean_rate_change_after_intervention"]],
                        [Row(L.fill("table.series_term", series=name,
                                    term=r.term_name(term)),
                             [r.measure("intervention_metrics", row, "students_in_change",
                                        "count"),
                              r.measure("intervention_metrics", row,
                                        "mean_rate_change_after_intervention", "points")])
                         for term, name, row in pairs]))
    return Section("change", title, intro, blocks)


def data_quality(r: Report) -> Section:
    L = r.L
    title, intro = L["quality.title"], [L["quality.intro"]]
    rows = sorted((row for row in r.rows("data_freshness") if r.scope.holds(row)),
                  key=lambda row: str(row.get("municipality_code")))
    if not rows:
        return Section("quality", title, intro, [_no_data(r, "data_freshness")])
    scope_where = {} if r.scope.national else {"region_code": r.scope.region_code}
    present = list(dict.fromkeys([*(s for s in STATUSES if any(x.get("status") == s
                                                               for x in rows)),
                                  *(str(x.get("status")) for x in rows)]))
    summary = Table(L["quality.summary_table"], [L["table.status"], L["table.municipalities"]],
                    [Row(L.get_text(f"status.{status}", status),
                         [r.count_of("data_freshness", {**scope_where, "status": status},
                                     sum(1 for x in rows if str(x.get("status")) == status))])
                     for status in present])
    blocks: list = [summary]
    attention = [row for row in rows if row.get("status") != "ok"]
    columns = (("status", "status"), ("last_error", "text"), ("coverage_end", "date"),
               ("last_loaded_at", "datetime"), ("rejected_rows", "count"))
    head = [L["table.municipality"], *(L[f"measure.{c}"] for c, _ in columns)]

    def table_row(row: dict) -> Row:
        name = f"{row.get('municipality_name') or ''} ({row.get('municipality_code')})"
        return Row(name.strip(), [r.measure("data_freshness", row, c, k) if k == "count"
                                  else r.text("data_freshness", row, c, k)
                                  for c, k in columns])

    if attention:
        order = {s: n for n, s in enumerate(("quarantined", "late", "missing",
                                             "not_onboarded"))}
        attention.sort(key=lambda row: (order.get(row.get("status"), 9),
                                        str(row.get("municipality_code"))))
        blocks.append(Table(L["quality.attention_table"], head,
                            [table_row(row) for row in attention]))
    else:
        blocks.append(Note(L["quality.all_ok"]))
    blocks.append(Details(L["quality.all_details"],
                          [Table(L["quality.all_table"], head, [table_row(x) for x in rows])]))
    return Section("quality", title, intro, blocks)


def symbols(r: Report) -> Section:
    L = r.L
    items = [(SUPPRESSED, L.fill("symbols.suppressed", threshold=r.threshold)),
             (NOT_AVAILABLE, L["symbols.not_available"]),
             (L["badge.provisional"], L["symbols.provisional"])]
    items += [(L[f"definition.{key}.term"], L[f"definition.{key}.text"])
              for key in ("absence_rate", "categories", "tiers", "caseload",
                          "timely_response", "median_lag", "change", "dimensions",
                          "local_ladder", "streak", "effect", "data_through")]
    return Section("symbols", L["symbols.title"], [], [Definitions(items)])
