"""The henkilötunnus detector: valid codes (all century signs) found, near misses not."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pipelines.ingest.identity_codes import CHECK_CHARS, contains_identity_code, is_identity_code

SIGNS = {1800: "+", 1900: "-YXWVU", 2000: "ABCDEF"}


def _code(birth: date, individual: int, sign: str) -> str:
    digits = f"{birth:%d%m%y}"
    return f"{digits}{sign}{individual:03d}{CHECK_CHARS[int(digits + f'{individual:03d}') % 31]}"


births = st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31))
individuals = st.integers(min_value=2, max_value=999)


@st.composite
def valid_codes(draw) -> str:
    birth = draw(births)
    sign = draw(st.sampled_from(SIGNS[birth.year // 100 * 100]))
    return _code(birth, draw(individuals), sign)


@given(valid_codes())
def test_every_valid_code_is_found(code):
    assert is_identity_code(code)
    assert contains_identity_code(f"oppilas {code} luokka 7B")


@given(valid_codes(), st.sampled_from(CHECK_CHARS))
def test_a_wrong_check_character_is_not_a_code(code, other):
    if other != code[-1]:
        assert not is_identity_code(code[:-1] + other)


@given(births, individuals)
def test_an_impossible_date_is_not_a_code(birth, individual):
    # 31st of a 30-day month never exists, whatever the check character says.
    day_after = birth.replace(day=1) + timedelta(days=40)
    bad = f"31{day_after:%m}{day_after:%y}" if day_after.month in (4, 6, 9, 11) else "300299"
    digits = bad + f"{individual:03d}"
    assert not is_identity_code(f"{bad}-{individual:03d}{CHECK_CHARS[int(digits) % 31]}")


def test_known_examples():
    assert is_identity_code("131052-308T")
    assert is_identity_code("010594Y9032")  # 2023 sign for the 1900s
    assert is_identity_code("020505A0009") is False  # individual number 000 is never issued
    assert not contains_identity_code("1.2.246.562.24.10000000001")
    assert not contains_identity_code("20260827T234000")
