"""Typed steps: validation in Python, and the text round trip as a Hypothesis property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marrowsim.errors import ProtocolError
from marrowsim.protocol import (
    Apheresis,
    CountRule,
    DrugDose,
    GrowthFactor,
    Infusion,
    Irradiation,
    TransfusionRule,
    list_drugs,
    parse_step,
)
from marrowsim.protocol.steps import format_number

_doses = st.floats(min_value=1e-3, max_value=1e5, allow_nan=False, allow_infinity=False)
_day = st.integers(min_value=-30, max_value=400)
_days = st.lists(_day, min_size=1, max_size=8, unique=True).map(tuple)


@st.composite
def drug_doses(draw):
    info = draw(st.sampled_from(list_drugs()))
    days = draw(_days)
    if not info.after_infusion:
        days = tuple(d for d in days if d <= 0) or (0,)
    return DrugDose(
        info.name,
        draw(_doses),
        draw(st.sampled_from(info.units)),
        draw(st.sampled_from(info.routes)),
        days,
        draw(st.integers(1, 4)),
    )


@st.composite
def growth_factors(draw):
    info = draw(st.sampled_from([d for d in list_drugs() if d.open_ended]))
    start = draw(_day)
    if draw(st.booleans()):
        stop = start + draw(st.integers(0, 60))
    else:
        analyte, unit = draw(
            st.sampled_from([("ANC", "10^9/L"), ("PLT", "10^9/L"), ("Hb", "g/dL")])
        )
        stop = CountRule(
            analyte, draw(st.sampled_from([">", ">="])), draw(_doses), unit, draw(st.integers(1, 7))
        )
    return GrowthFactor(
        info.name,
        draw(_doses),
        draw(st.sampled_from(info.units)),
        draw(st.sampled_from(info.routes)),
        start,
        stop,
    )


steps = st.one_of(
    drug_doses(),
    growth_factors(),
    st.builds(
        Irradiation,
        _doses,
        st.integers(1, 4),
        st.lists(st.integers(-30, 0), min_size=1, max_size=6, unique=True).map(tuple),
    ),
    st.builds(Infusion, _day),
    st.builds(
        TransfusionRule,
        st.just("platelets"),
        st.just("PLT"),
        _doses,
        st.just("10^9/L"),
    ),
    st.builds(TransfusionRule, st.just("RBC"), st.just("Hb"), _doses, st.just("g/dL")),
    st.builds(Apheresis, _doses, _days),
)


@given(steps)
def test_text_round_trip(step):
    text = str(step)
    assert parse_step(text) == step
    assert str(parse_step(text)) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_number_reads_back(x):
    assert float(format_number(x)) == x


def test_python_construction_normalises():
    step = DrugDose("cytoxan", 60, "mg/kg", "intravenous", [-2, -3])
    assert step == DrugDose("Cyclophosphamide", 60.0, "mg/kg", "IV", (-3, -2))
    assert step.days == (-3, -2)
    assert Infusion(0).day == 0


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: DrugDose("Busulfan", 3.2, "mg/kg", "IV", ()), "non-empty"),
        (lambda: DrugDose("Busulfan", 3.2, "mg/kg", "IV", (-1.5,)), "must be integers"),
        (lambda: DrugDose("Busulfan", 3.2, "mg/kg", "IV", (True,)), "must be integers"),
        (lambda: DrugDose("Busulfan", float("nan"), "mg/kg", "IV", (-1,)), "finite number"),
        (lambda: DrugDose("Busulfan", "3", "mg/kg", "IV", (-1,)), "finite number"),
        (lambda: DrugDose("Busulfan", 3.2, "mg/kg", "IV", (-1,), 5), "1, 2, 3, 4 per day"),
        (lambda: Irradiation(2, 0, (-1,)), "1, 2, 3, 4 per day"),
        (lambda: Irradiation(0, 1, (-1,)), "must be positive"),
        (lambda: Apheresis(-1, (5,)), "must be positive"),
        (lambda: Infusion(0.5), "tuple of integers"),
        (lambda: CountRule("ANC", "<", 0.5, "10^9/L"), "comparator"),
        (lambda: GrowthFactor("Filgrastim", 5, "ug/kg", "SC", 5, "ANC"), "stop must be"),
    ],
)
def test_invalid_python_construction(make, pattern):
    with pytest.raises(ProtocolError, match=pattern):
        make()
