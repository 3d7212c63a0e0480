"""Small-cell suppression: primary below the threshold, secondary so nothing is derivable."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.publish.suppression import RULES, suppress

RULE = RULES["attendance_tiers"]
BANDS = ["1-2", "3-6", "7-9"]


def _tiers(schools: dict[tuple[str, str, str], dict[str, int]]) -> pd.DataFrame:
    """Rows for every level and band from school-level pupil counts per band (additive)."""
    rows = []
    for (region, municipality, school), bands in schools.items():
        for band, n in bands.items():
            rows.append(("school", region, municipality, school, band, n))
    frame = pd.DataFrame(rows, columns=["level", "region_code", "municipality_code",
                                        "school_code", "grade_band", "n"])
    levels = [("school", ["region_code", "municipality_code", "school_code"]),
              ("municipality", ["region_code", "municipality_code"]),
              ("region", ["region_code"]), ("national", [])]
    out = []
    for level, codes in levels:
        for band_rows, band in ((frame, None), (frame, "all")):
            keys = ["_one", *codes, *([] if band else ["grade_band"])]
            grouped = band_rows.assign(_one=1).groupby(keys, dropna=False)["n"].sum()
            grouped = grouped.reset_index().drop(columns="_one")
            if band:
                grouped["grade_band"] = "all"
            grouped["level"] = level
            out.append(grouped)
    tiers = pd.concat(out, ignore_index=True)
    for column in ["region_code", "municipality_code", "school_code"]:
        if column not in tiers:
            tiers[column] = None
    tiers["school_year"] = "2026-2027"
    tiers["as_of_date"] = pd.Timestamp("2026-09-06").date()
    tiers["students_with_tier"] = tiers["n"]
    for column in ["universal_students", "targeted_students", "intensive_students",
                   "targeted_share", "intensive_share"]:
        tiers[column] = 0
    tiers["suppressed"] = False
    return tiers.drop(columns="n")


def _derivable(result: pd.DataFrame) -> list[str]:
    """Parents that are published while exactly one of their children is suppressed."""
    problems = []
    geo = {"national": None, "region": "national", "municipality": "region",
           "school": "municipality"}
    code_of = {"region": "region_code", "municipality": "municipality_code",
               "school": "school_code"}
    for row in result.itertuples():
        if row.suppressed:
            continue
        same = (result["grade_band"] == row.grade_band)
        for child_level, parent_level in geo.items():
            if parent_level != row.level:
                continue
            children = result[same & (result["level"] == child_level)]
            for column in ["region_code", "municipality_code"]:
                if column != code_of[child_level] and pd.notna(getattr(row, column)):
                    children = children[children[column] == getattr(row, column)]
            if children["suppressed"].sum() == 1:
                problems.append(f"{row.level} {row.grade_band}")
        if row.grade_band == "all":
            bands = result[(result["level"] == row.level) & (result["grade_band"] != "all")]
            for column in ["region_code", "municipality_code", "school_code"]:
                value = getattr(row, column)
                bands = bands[bands[column].isna()] if pd.isna(value) else bands[
                    bands[column] == value]
            if bands["suppressed"].sum() == 1:
                problems.append(f"{row.level} bands")
    return problems


def test_a_row_below_the_threshold_is_nulled_and_marked():
    frame = _tiers({("01", "091", "00101"): {"1-2": 4, "3-6": 30, "7-9": 40},
                    ("01", "091", "00102"): {"1-2": 20, "3-6": 30, "7-9": 40}})
    result = suppress(frame, RULE, threshold=5)
    small = result[(result["level"] == "school") & (result["school_code"] == "00101")
                   & (result["grade_band"] == "1-2")].iloc[0]
    assert small["suppressed"] and pd.isna(small["students_with_tier"])


def test_the_smallest_sibling_of_a_lone_suppressed_cell_is_suppressed_too():
    frame = _tiers({("01", "091", "00101"): {"1-2": 4, "3-6": 30, "7-9": 40},
                    ("01", "091", "00102"): {"1-2": 20, "3-6": 30, "7-9": 40}})
    result = suppress(frame, RULE, threshold=5)
    school_bands = result[(result["level"] == "school") & (result["school_code"] == "00101")]
    # 1-2 (4 pupils) is primary; 3-6 (30) is the smallest sibling under band `all`.
    assert set(school_bands[school_bands["suppressed"]]["grade_band"]) >= {"1-2", "3-6"}
    assert _derivable(result) == []


counts = st.integers(min_value=0, max_value=40)
schools = st.dictionaries(
    keys=st.tuples(st.sampled_from(["01", "02"]), st.sampled_from(["091", "049", "837"]),
                   st.sampled_from(["00101", "00102", "00103"])),
    values=st.fixed_dictionaries({band: counts for band in BANDS}),
    min_size=1, max_size=6,
).map(lambda d: {(r, m + r, m + s): v for (r, m, s), v in d.items()})


@settings(max_examples=60, deadline=None)
@given(schools, st.integers(min_value=3, max_value=10))
def test_no_suppressed_value_can_be_derived_from_parent_and_siblings(schools, threshold):
    result = suppress(_tiers(schools), RULE, threshold=threshold)
    published = result[~result["suppressed"]]
    assert (published["students_with_tier"] >= threshold).all()
    assert result.loc[result["suppressed"], "students_with_tier"].isna().all()
    assert _derivable(result) == []


# -- the planning and evaluation tables (DESIGN §7.2) ------------------------------------------

def _effect_rows(schools: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """intervention_effect rows (`all` only) for schools of 091 in region 01 and every level
    above, from each school's (students_in_change, comparison_students)."""
    rows = [("school", "01", "091", code, n, c) for code, (n, c) in schools.items()]
    total = (sum(n for n, _ in schools.values()), sum(c for _, c in schools.values()))
    rows += [("municipality", "01", "091", None, *total), ("region", "01", None, None, *total),
             ("national", None, None, None, *total)]
    frame = pd.DataFrame(rows, columns=["level", "region_code", "municipality_code",
                                        "school_code", "students_in_change",
                                        "comparison_students"])
    frame["school_year"] = "2026-2027"
    frame["intervention_type"] = "all"
    for column in ["mean_rate_before", "mean_rate_after", "mean_change",
                   "comparison_mean_change", "difference"]:
        frame[column] = 0.01
    frame["suppressed"] = False
    return frame


def test_a_small_comparison_group_is_hidden_and_complemented_across_schools():
    """Three schools with enough responded pupils; school A's comparison group has 3 pupils.
    Its comparison columns are hidden, and so are those of the smallest other school (B, 6),
    or A's 3 would be the municipality's 29 minus B and C; the rows stay published."""
    result = suppress(_effect_rows({"A": (20, 3), "B": (20, 6), "C": (20, 20)}),
                      RULES["intervention_effect"], threshold=5)
    schools = result[result["level"] == "school"].set_index("school_code")
    assert not result["suppressed"].any()
    assert schools["comparison_students"].isna().to_dict() == {"A": True, "B": True, "C": False}
    assert schools.loc[["A", "B"], ["comparison_mean_change", "difference"]].isna().all().all()
    assert schools.loc["C", "difference"] == 0.01
    assert (result[result["level"] != "school"]["comparison_students"] == 29).all()


def test_a_type_row_below_the_threshold_hides_a_sibling_type_under_all():
    """Each pupil has one first responding intervention, so the types add up to `all`: one
    type resting on 3 pupils takes the smallest other type with it."""
    frame = _effect_rows({"A": (40, 40)})
    frame = frame[frame["level"] == "national"]
    types = pd.concat([frame.assign(intervention_type=t, students_in_change=n)
                       for t, n in [("concern_raised", 3), ("school_coach", 7),
                                    ("targeted_work", 30)]])
    result = suppress(pd.concat([frame, types]), RULES["intervention_effect"], threshold=5)
    hidden = set(result.loc[result["suppressed"], "intervention_type"])
    assert hidden == {"concern_raised", "school_coach"}
    assert result.loc[result["suppressed"], "mean_change"].isna().all()


def test_local_ladder_rows_nest_schools_in_their_municipality_only():
    """local_threshold_crossings has municipality and school rows: a school below the
    threshold hides its smallest sibling, and a municipality (no region row above it) is
    published on its own count."""
    rows = [("school", "01", "091", "S1", 2), ("school", "01", "091", "S2", 9),
            ("school", "01", "091", "S3", 30), ("municipality", "01", "091", None, 41),
            ("municipality", "01", "049", None, 6)]
    frame = pd.DataFrame(rows, columns=["level", "region_code", "municipality_code",
                                        "school_code", "crossed"])
    frame["school_year"], frame["term"], frame["threshold_lessons"] = "2026-2027", "all", 30.0
    frame["label"], frame["responded"], frame["timely_response_rate"] = "30 h", 1, 0.5
    frame["median_response_lag_days"], frame["suppressed"] = 3.0, False
    result = suppress(frame, RULES["local_threshold_crossings"], threshold=5)
    assert result["suppressed"].tolist() == [True, True, False, False, False]
    assert result.loc[result["suppressed"], "crossed"].isna().all()
