"""The report's charts as Vega-Lite specifications, built with Altair (DESIGN §8.1).

Each builder takes plain records (already filtered to published, unsuppressed values) and the
labels, and returns a specification with its data inline; the page renders it with the Vega
bundle it carries. Tooltips show the same text the tables show (formatted by the labels), so a
number reads the same wherever it appears. Dates travel as local date-times
("2026-09-15T00:00:00") so an axis never shows the previous day west of Greenwich.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import altair as alt

from pipelines.publish.labels import Labels

SCOPE_COLOUR = "#1f4e79"
COUNTRY_COLOUR = "#8c96a0"
TIER_COLOURS = {"targeted": "#c98a1b", "intensive": "#a3372f"}
TIER_SHARE_COLOURS = {"share_10pct_or_more": SCOPE_COLOUR, "targeted_share": "#c98a1b",
                      "intensive_share": "#a3372f"}
BAND_COLOUR = "#eceff3"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
BAR_STEP = 22  # pixels per bar of a horizontal bar chart


def when(day: date) -> str:
    """A date as Vega reads it in the viewer's time zone (midnight local)."""
    return f"{day.isoformat()}T00:00:00"


class _Datasets:
    """The records of one chart, named; they join the specification only at the end (Altair
    would otherwise deep-copy every record at every layer and encoding)."""

    def __init__(self) -> None:
        self.values: dict[str, list[dict]] = {}

    def __call__(self, records: list[dict]) -> alt.NamedData:
        name = f"data-{len(self.values)}"
        self.values[name] = records
        return alt.NamedData(name)


def _finish(data: _Datasets, chart: alt.TopLevelMixin) -> dict:
    # Width follows the page; heights are fixed or per bar.
    spec = (chart.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
            .configure(font=FONT)
            .configure_view(stroke=None)
            .configure_axis(labelColor="#3b434b", titleColor="#3b434b", gridColor="#e3e7eb",
                            domainColor="#9aa3ab", tickColor="#9aa3ab", labelFontSize=11,
                            titleFontSize=11, titleFontWeight="normal")
            .configure_legend(orient="top", labelFontSize=12, titleFontSize=12,
                              symbolStrokeWidth=2, labelLimit=0, columnPadding=16)
            .to_dict(validate=False))
    spec["datasets"] = data.values
    return spec


def series_scale(series: Sequence[str]) -> alt.Scale:
    """The scope in blue, the country in grey (the first series is the scope)."""
    colours = [SCOPE_COLOUR, COUNTRY_COLOUR][: len(series)]
    return alt.Scale(domain=list(series), range=colours)


def grouped_bars(records: list[dict], series: Sequence[str], *, value_format: str,
                 axis_title: str, category_title: str) -> dict:
    """Horizontal bars per category, one per series side by side (scope and country).
    Records: category, series, value, text (the value as the tables write it)."""
    data = _Datasets()
    categories = list(dict.fromkeys(r["category"] for r in records))
    values = [r["value"] for r in records]
    # Room beyond the longest bar for its label, on whichever side the bars grow.
    domain = [min(0.0, *values) * 1.45, max(0.0, *values) * 1.3]
    base = alt.Chart(data(records)).encode(
        y=alt.Y("category:N", sort=categories, title=None,
                axis=alt.Axis(labelLimit=260, title=category_title or None)),
        yOffset=alt.YOffset("series:N", sort=list(series)),
        tooltip=[alt.Tooltip("category:N", title=category_title or axis_title),
                 alt.Tooltip("series:N", title=" "), alt.Tooltip("text:N", title=axis_title)],
    )
    bars = base.mark_bar(height={"band": 0.9}).encode(
        x=alt.X("value:Q", title=axis_title, axis=alt.Axis(format=value_format, tickCount=5),
                scale=alt.Scale(domain=domain)),
        color=alt.Color("series:N", scale=series_scale(series), title=None),
    )
    right = base.mark_text(align="left", dx=4, fontSize=11, color="#1b1f24").encode(
        x="value:Q", text="text:N").transform_filter("datum.value >= 0")
    left = base.mark_text(align="right", dx=-4, fontSize=11, color="#1b1f24").encode(
        x="value:Q", text="text:N").transform_filter("datum.value < 0")
    height = BAR_STEP * len(categories) * len({r["series"] for r in records}) + 8
    return _finish(data, alt.layer(bars, right, left).properties(width="container", height=height))


TREND_HEIGHT = 240


def _over_time(data: _Datasets, base: alt.Chart, bands: list[dict], labels: Labels,
               point_size: int) -> dict:
    """Lines with points over time: provisional periods shaded and named at the foot of the
    shading, their points hollow."""
    layers = []
    if bands:
        layers.append(alt.Chart(data(bands)).mark_rect(color=BAND_COLOUR, clip=True)
                      .encode(x="start:T", x2="end:T"))
        first = min(bands, key=lambda b: b["start"])
        layers.append(alt.Chart(data([{**first, "label": labels["chart.provisional"]}]))
                      .mark_text(align="left", baseline="bottom", dx=4, dy=-4, fontSize=11,
                                 color="#5b6570")
                      .encode(x="start:T", y=alt.value(TREND_HEIGHT), text="label:N"))
    layers.append(base.mark_line(strokeWidth=2, clip=True))
    layers.append(base.mark_point(filled=True, size=point_size, opacity=1, clip=True)
                  .transform_filter("!datum.provisional"))
    layers.append(base.mark_point(filled=False, size=point_size, fill="white", strokeWidth=1.5,
                                  opacity=1, clip=True).transform_filter("datum.provisional"))
    return _finish(data, alt.layer(*layers).properties(width="container", height=TREND_HEIGHT))


def trend(points: list[dict], bands: list[dict], series: Sequence[str], labels: Labels, *,
          axis_format: str, axis_title: str, tick: str, domain: tuple[str, str],
          monthly: bool = False) -> dict:
    """A line per series over time with provisional periods shaded and their points hollow.
    Points: x (a date-time), value, series, period, text, provisional. Bands: start, end.
    `domain`: the time axis from the first period's start to the last one's end."""
    data = _Datasets()
    base = alt.Chart(data(points)).encode(
        x=alt.X("x:T", title=None, scale=alt.Scale(domain=list(domain)), axis=alt.Axis(
            format=tick, labelAngle=0,
            tickCount=alt.TimeIntervalStep(interval="month", step=1) if monthly else 8)),
        y=alt.Y("value:Q", title=axis_title, axis=alt.Axis(format=axis_format, tickCount=5),
                scale=alt.Scale(zero=True)),
        color=alt.Color("series:N", scale=series_scale(series), title=None),
        tooltip=[alt.Tooltip("period:N", title=labels["chart.period"]),
                 alt.Tooltip("series:N", title=" "),
                 alt.Tooltip("text:N", title=axis_title),
                 alt.Tooltip("status:N", title=labels["chart.status"])],
    )
    return _over_time(data, base, bands, labels, point_size=36)


def tier_lines(points: list[dict], bands: list[dict], measures: Sequence[tuple[str, str]],
               labels: Labels) -> dict:
    """Tier shares over the Sundays: one line per measure (key, legend text), the country's
    dashed. Points: x, value, measure (legend text), text, period, provisional, status."""
    data = _Datasets()
    names = [name for _, name in measures]
    colours = [TIER_SHARE_COLOURS.get(key, COUNTRY_COLOUR) for key, _ in measures]
    dashes = [[4, 3] if key == "country" else [1, 0] for key, _ in measures]
    base = alt.Chart(data(points)).encode(
        x=alt.X("x:T", title=None, axis=alt.Axis(format=labels["chart.day_format"],
                                                 labelAngle=0, tickCount=8)),
        y=alt.Y("value:Q", title=labels["chart.share_of_pupils"],
                axis=alt.Axis(format=".0%", tickCount=5), scale=alt.Scale(zero=True)),
        color=alt.Color("measure:N", scale=alt.Scale(domain=names, range=colours), title=None,
                        sort=names),
        strokeDash=alt.StrokeDash("measure:N", scale=alt.Scale(domain=names, range=dashes),
                                  sort=names, title=None),
        tooltip=[alt.Tooltip("period:N", title=labels["chart.sunday"]),
                 alt.Tooltip("measure:N", title=" "),
                 alt.Tooltip("text:N", title=labels["chart.share_of_pupils"]),
                 alt.Tooltip("status:N", title=labels["chart.status"])],
    )
    return _over_time(data, base, bands, labels, point_size=24)


def unit_bars(records: list[dict], references: list[dict], *, axis_title: str,
              value_format: str) -> dict:
    """One bar per unit (municipality, school, region), largest first, with reference lines
    (the country, the region). Records: label, value, text. References: value, label."""
    data = _Datasets()
    order = [r["label"] for r in sorted(records, key=lambda r: -r["value"])]
    bars = alt.Chart(data(records)).encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("value:Q", title=axis_title, axis=alt.Axis(format=value_format, tickCount=5)),
        tooltip=[alt.Tooltip("label:N", title=" "), alt.Tooltip("text:N", title=axis_title)],
    )
    top = max(r["value"] for r in [*records, *references])
    layers = [bars.mark_bar(color=SCOPE_COLOUR, height={"band": 0.75})]
    # A bar's value is written inside its end (white) when the bar is long enough, so the
    # reference lines, which sit near the bars' ends, never run through it.
    inside = [r for r in records if r["value"] >= 0.25 * top]
    outside = [r for r in records if r["value"] < 0.25 * top]
    if inside:
        layers.append(alt.Chart(data(inside)).encode(x="value:Q", y=alt.Y("label:N", sort=order),
                                                     text="text:N")
                      .mark_text(align="right", dx=-4, fontSize=11, color="white"))
    if outside:
        layers.append(alt.Chart(data(outside)).encode(x="value:Q",
                                                      y=alt.Y("label:N", sort=order),
                                                      text="text:N")
                      .mark_text(align="left", dx=4, fontSize=11, color="#1b1f24"))
    if references:
        # Each reference's label on its own line above the bars, so two never overlap; one
        # near the right edge is written leftwards from its line.
        references = [{**ref, "label_y": -4 - 15 * n} for n, ref in enumerate(references)]
        layers.append(alt.Chart(data(references)).encode(x="value:Q")
                      .mark_rule(color="#3b434b", strokeDash=[4, 3], strokeWidth=1.5))
        for align, dx, leftwards in (("left", 3, False), ("right", -3, True)):
            labelled = [ref for ref in references if (ref["value"] > 0.7 * top) == leftwards]
            if labelled:
                layers.append(alt.Chart(data(labelled))
                              .mark_text(align=align, baseline="bottom", dx=dx, fontSize=11,
                                         color="#3b434b")
                              .encode(x="value:Q", y=alt.Y("label_y:Q", scale=None),
                                      text="label:N"))
    height = BAR_STEP * max(len(records), 1)
    return _finish(data, alt.layer(*layers).properties(
        width="container", height=height,
        padding={"top": 4 + 15 * len(references), "left": 5, "right": 40, "bottom": 5}))


def count_bars(records: list[dict], *, axis_title: str, colour_title: str = "",
               colours: dict[str, str] | None = None) -> dict:
    """Counts per category (interventions by dimension or type), largest first, coloured by
    `group` when `colours` names the groups. Records: label, value, text, group."""
    data = _Datasets()
    order = [r["label"] for r in sorted(records, key=lambda r: -r["value"])]
    colour = (alt.Color("group:N", title=colour_title or None,
                        scale=alt.Scale(domain=list(colours), range=list(colours.values())))
              if colours else alt.value(SCOPE_COLOUR))
    base = alt.Chart(data(records)).encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("value:Q", title=axis_title, axis=alt.Axis(format=",d", tickCount=5)),
        tooltip=[alt.Tooltip("label:N", title=" "), alt.Tooltip("text:N", title=axis_title)]
        + ([alt.Tooltip("group:N", title=colour_title)] if colours else []),
    )
    layers = [base.mark_bar(height={"band": 0.75}).encode(color=colour),
              base.mark_text(align="left", dx=4, fontSize=11, color="#1b1f24")
              .encode(text="text:N")]
    return _finish(data, alt.layer(*layers).properties(
        width="container", height=BAR_STEP * max(len(records), 1),
        padding={"top": 5, "left": 5, "right": 40, "bottom": 5}))
