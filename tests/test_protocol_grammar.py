"""Protocol text → typed steps: the line forms of docs/protocols.md and their errors."""

from __future__ import annotations

import pytest

from marrowsim.errors import InputError, ProtocolError, UnknownNameError
from marrowsim.protocol import (
    EXAMPLES,
    Apheresis,
    CountRule,
    DrugDose,
    GrowthFactor,
    Infusion,
    Irradiation,
    TransfusionRule,
    parse_step,
)
from marrowsim.protocol.grammar import parse_days


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Busulfan 3.2 mg/kg IV daily on days -7 to -4",
            DrugDose("Busulfan", 3.2, "mg/kg", "IV", (-7, -6, -5, -4)),
        ),
        (
            "Busulfan 0.8 mg/kg IV four times daily on days -7 to -4",
            DrugDose("Busulfan", 0.8, "mg/kg", "IV", (-7, -6, -5, -4), 4),
        ),
        (
            "Cyclophosphamide 60 mg/kg IV daily on days -3 to -2",
            DrugDose("Cyclophosphamide", 60, "mg/kg", "IV", (-3, -2)),
        ),
        (
            "Fludarabine 30 mg/m^2 IV daily on days -6 to -2",
            DrugDose("Fludarabine", 30, "mg/m^2", "IV", (-6, -5, -4, -3, -2)),
        ),
        ("Melphalan 140 mg/m^2 IV on day -1", DrugDose("Melphalan", 140, "mg/m^2", "IV", (-1,))),
        (
            "ATG 2.5 mg/kg IV daily on days -3 to -1",
            DrugDose("ATG", 2.5, "mg/kg", "IV", (-3, -2, -1)),
        ),
        (
            "hATG 40 mg/kg IV daily on days 1 to 4",
            DrugDose("hATG", 40, "mg/kg", "IV", (1, 2, 3, 4)),
        ),
        (
            "Cyclophosphamide 50 mg/kg IV daily on days 3 to 4",
            DrugDose("Cyclophosphamide", 50, "mg/kg", "IV", (3, 4)),
        ),
        (
            "Cyclosporine 5 mg/kg PO twice daily on days -1 to 180",
            DrugDose("Cyclosporine", 5, "mg/kg", "PO", tuple(range(-1, 181)), 2),
        ),
        (
            "Methotrexate 15 mg/m^2 IV on days 1, 3, 6",
            DrugDose("MTX", 15, "mg/m2", "iv", (6, 3, 1)),
        ),
        ("Filgrastim 5 ug/kg SC daily on day +5", DrugDose("G-CSF", 5, "µg/kg", "s.c.", (5,))),
        ("Plerixafor 0.24 mg/kg SC on day 4", DrugDose("Plerixafor", 0.24, "mg/kg", "SC", (4,))),
        ("Pegfilgrastim 6 mg SC on day 1", DrugDose("Pegfilgrastim", 6, "mg", "SC", (1,))),
        (
            "bu 3.2 mg/kg on days -5 to -2",
            DrugDose("Busulfan", 3.2, "mg/kg", "IV", (-5, -4, -3, -2)),
        ),
        ("Cy 60 mg/kg IV bid on day -3", DrugDose("Cyclophosphamide", 60, "mg/kg", "IV", (-3,), 2)),
        ("TBI 2 Gy twice daily on days -3 to -1", Irradiation(2.0, 2, (-3, -2, -1))),
        ("TBI 200 cGy on day 0", Irradiation(2.0, 1, (0,))),
        ("Infuse graft on day 0", Infusion(0)),
        ("infuse the graft", Infusion()),
        (
            "Filgrastim 5 ug/kg SC daily from day +5 until ANC > 0.5 10^9/L for 3 days",
            GrowthFactor(
                "Filgrastim", 5, "ug/kg", "SC", 5, CountRule("ANC", ">", 0.5, "10^9/L", 3)
            ),
        ),
        (
            "Filgrastim 5 mcg/kg from day 5 until ANC >= 500/uL for 1 day",
            GrowthFactor("Filgrastim", 5, "ug/kg", "SC", 5, CountRule("ANC", ">=", 0.5, "10^9/L")),
        ),
        (
            "Filgrastim 5 ug/kg SC daily from day 5 until ANC > 0.5 x 10^9/L for 3 days",
            GrowthFactor(
                "Filgrastim", 5, "ug/kg", "SC", 5, CountRule("ANC", ">", 0.5, "10^9/L", 3)
            ),
        ),
        (
            "Filgrastim 5 ug/kg SC daily from day 5 until day 21",
            GrowthFactor("Filgrastim", 5, "ug/kg", "SC", 5, 21),
        ),
        (
            "Transfuse platelets when PLT < 10 10^9/L",
            TransfusionRule("platelets", "PLT", 10, "10^9/L"),
        ),
        ("Transfuse RBC when Hb < 7 g/dL", TransfusionRule("RBC", "Hb", 7, "g/dL")),
        ("Transfuse red cells when Hb < 70 g/L", TransfusionRule("RBC", "Hb", 7, "g/dL")),
        ("Apheresis 20 L on days 5 to 6", Apheresis(20, (5, 6))),
        ("Apheresis 15000 mL on day 5", Apheresis(15, (5,))),
    ],
)
def test_line_parses_to_step_and_prints_back(line, expected):
    step = parse_step(line)
    assert step == expected
    assert parse_step(str(step)) == step


@pytest.mark.parametrize(
    ("line", "canonical"),
    [
        ("TBI 200 cGy on day 0", "TBI 2 Gy on day 0"),
        ("Transfuse RBC when Hb < 70 g/L", "Transfuse RBC when Hb < 7 g/dL"),
        ("bu 3.2 mg/kg on days -5 to -2", "Busulfan 3.2 mg/kg IV daily on days -5 to -2"),
        ("Filgrastim 5 ug/kg SC daily on day +5", "Filgrastim 5 ug/kg SC on day 5"),
        ("Melphalan 100 mg/m2 IV on days -3, -2", "Melphalan 100 mg/m^2 IV daily on days -3 to -2"),
        ("Pegfilgrastim 6000 ug SC on day 1", "Pegfilgrastim 6 mg SC on day 1"),
    ],
)
def test_canonical_text(line, canonical):
    assert str(parse_step(line)) == canonical


def test_every_example_parses():
    for line in EXAMPLES:
        assert str(parse_step(line)) == line


def test_totals():
    assert parse_step(EXAMPLES[1]).total_dose == pytest.approx(12.8)
    assert parse_step("TBI 2 Gy twice daily on days -3 to -1").total_dose_gy == 12


def test_parse_days_mixed_list():
    assert parse_days("1, 3 to 5 and 8") == (1, 3, 4, 5, 8)


@pytest.mark.parametrize(
    "line",
    ["hello world", "", "Busulfan on days -7 to -4", "TBI 2 Gy", "Apheresis 20 L", "Transfuse RBC"],
)
def test_unreadable_line_shows_the_one_example_list(line):
    with pytest.raises(ProtocolError, match="accepted forms") as info:
        parse_step(line)
    message = str(info.value)
    assert "\n" not in message
    assert all(example in message for example in EXAMPLES)


def test_not_text_is_an_error():
    with pytest.raises(ProtocolError, match="must be text"):
        parse_step(42)  # type: ignore[arg-type]


def test_unknown_drug_did_you_mean():
    with pytest.raises(ProtocolError, match="did you mean 'Busulfan'") as info:
        parse_step("Busulfn 3.2 mg/kg IV daily on days -7 to -4")
    assert isinstance(info.value, UnknownNameError)
    assert isinstance(info.value, InputError)


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        (
            "Busulfan 3.2 g/dL IV daily on days -7 to -4",
            r"not allowed for Busulfan.*mg/kg, mg/m\^2",
        ),
        ("Busulfan 3.2 mg/lb IV daily on days -7 to -4", "unknown unit 'mg/lb' for Busulfan"),
        ("TBI 2 mg/kg on day -1", "not allowed for TBI"),
        ("Transfuse RBC when Hb < 7 10^9/L", "not allowed for Hb"),
        ("Apheresis 20 kg on day 5", "not allowed for apheresis volume"),
        ("Busulfan 3.2 mg/kg IV daily on days 1 to 4", "may not be given after day 0"),
        ("Melphalan 140 mg/m^2 IV on day 1", "may not be given after day 0"),
        ("TBI 2 Gy on day 3", "TBI is conditioning"),
        ("Busulfan 3.2 mg/kg IV daily on days 5 to 2", "run backwards"),
        ("Busulfan 0 mg/kg IV on day -2", "must be positive"),
        ("Busulfan -3.2 mg/kg IV on day -2", "must be positive"),
        ("Busulfan 3.2 mg/kg IT on day -2", "route 'IT' is not allowed for Busulfan"),
        ("Busulfan 3.2 mg/kg IV on days -3, -3", "more than once"),
        ("Busulfan 3.2 mg/kg IV on days -3 to -2 to -1", "cannot read the days"),
        ("Cyclosporine 3 mg/kg PO from day 1 until day 3", "cannot be given 'from day N"),
        ("Filgrastim 5 ug/kg SC from day 5 until day 2", "before first day"),
        ("Filgrastim 5 ug/kg SC from day 5 until XYZ > 1 10^9/L for 3 days", "unknown count"),
        ("Filgrastim 5 ug/kg SC from day 5 until ANC > 1 10^9/L for 0 days", "integer >= 1"),
        ("Transfuse RBC when PLT < 10 10^9/L", "RBC are transfused on Hb"),
        ("Transfuse plasma when PLT < 10 10^9/L", "unknown blood product"),
    ],
)
def test_errors(line, pattern):
    with pytest.raises(ProtocolError, match=pattern):
        parse_step(line)
