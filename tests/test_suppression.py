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
