"""Named regimens (protocol/regimens/*.toml) and multi-line protocols.

Totals checked here are those of anchors.md §3.1-3.2 (Alyea 2005, Weissinger 2001 and
Bolaños-Meade 2019 verified; the standard-practice totals of Gyurkocza & Sandmaier 2014 UNVERIFIED).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from marrowsim.errors import ProtocolError, UnknownNameError
from marrowsim.protocol import (
    DrugDose,
    Infusion,
    Irradiation,
    Protocol,
    list_regimens,
    regimen,
)
from marrowsim.protocol.regimens import INDICATIONS, INTENSITIES, load_regimen_file

REQUIRED = {"BuCy", "CyTBI", "FluBu4", "FluMel", "FluTBI2", "BEAM", "Mel200", "FluBu2"}


def _total(name: str, drug: str) -> float:
    return sum(s.total_dose for s in regimen(name).protocol.steps_of(DrugDose) if s.drug == drug)


def test_all_required_regimens_load_and_are_cited():
    found = {r.name for r in list_regimens()}
    assert found >= REQUIRED | {"FluCyTBI-haplo"}
    for r in list_regimens():
        assert r.intensity in INTENSITIES and r.indication in INDICATIONS
        assert r.source and r.location and r.notes and r.source_key
        assert r.protocol.steps_of(Infusion) == (Infusion(0),)
        assert Protocol.from_lines(str(r.protocol).splitlines()) == r.protocol


@pytest.mark.parametrize(
    ("name", "drug", "total"),
    [
        ("BuCy", "Busulfan", 12.8),
        ("BuCy", "Cyclophosphamide", 120),
        ("CyTBI", "Cyclophosphamide", 120),
        ("FluBu4", "Fludarabine", 160),
        ("FluBu4", "Busulfan", 12.8),
        ("FluBu2", "Fludarabine", 120),
        ("FluBu2", "Busulfan", 3.2),
        ("FluMel", "Fludarabine", 150),
        ("FluMel", "Melphalan", 140),
        ("FluTBI2", "Fludarabine", 90),
        ("Mel200", "Melphalan", 200),
        ("FluCyTBI-haplo", "Fludarabine", 150),
    ],
)
def test_totals_match_anchors(name, drug, total):
    assert _total(name, drug) == pytest.approx(total)


def test_tbi_totals():
    def tbi(name):
        return sum(s.total_dose_gy for s in regimen(name).protocol.steps_of(Irradiation))

    assert tbi("CyTBI") == 12
    assert tbi("FluTBI2") == 2
    assert tbi("FluCyTBI-haplo") == 4


def test_haplo_has_pre_and_post_transplant_cyclophosphamide():
    cy = [
        s for s in regimen("FluCyTBI-haplo").protocol.steps_of(DrugDose) if s.drug.startswith("Cy")
    ]
    assert sum(s.total_dose for s in cy if s.days[-1] < 0) == pytest.approx(29)
    assert [s.days for s in cy if s.days[0] > 0] == [(3, 4)]


def test_unverified_doses_are_labelled():
    assert regimen("FluBu2").verified and regimen("FluTBI2").verified
    for name in ("BuCy", "CyTBI", "FluBu4", "FluMel", "BEAM", "Mel200"):
        assert not regimen(name).verified
        assert "UNVERIFIED" in regimen(name).notes


@pytest.mark.parametrize("spelling", ["flubu2", "Flu/Bu2", "FLUBU2", "flu-bu2", "FB2"])
def test_names_match_loosely(spelling):
    assert regimen(spelling).name == "FluBu2"


def test_unknown_regimen_did_you_mean():
    with pytest.raises(UnknownNameError, match="did you mean 'FluBu4'"):
        regimen("FluBu3")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
name = "X"
intensity = "myeloablative"
indication = "allogeneic"
steps = ["Infuse graft on day 0"]
source_key = "Nobody2000"
source = "s"
location = "l"
notes = "n"
"""


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("name = ", "not valid TOML"),
        (GOOD.replace('location = "l"', ""), "missing keys"),
        (GOOD + 'dose = "x"\n', "unknown keys"),
        (GOOD.replace('"myeloablative"', '"mild"'), "intensity 'mild'"),
        (GOOD.replace('"allogeneic"', '"syngeneic"'), "indication 'syngeneic'"),
        (
            GOOD.replace('"Infuse graft on day 0"', '"Busulfan 3 mg/kg on day 2"'),
            "Bad.toml: line 1",
        ),
    ],
)
def test_bad_regimen_files(tmp_path, text, pattern):
    with pytest.raises(ProtocolError, match=pattern):
        load_regimen_file(_write(tmp_path, text))


def test_good_file_loads(tmp_path):
    assert load_regimen_file(_write(tmp_path, GOOD)).name == "X"


# --- Protocol across lines ---------------------------------------------------------------


def test_protocol_from_text_keeps_order_and_skips_comments():
    text = "Busulfan 3.2 mg/kg IV daily on days -5 to -2  # RIC\n\nInfuse graft on day 0\n"
    p = Protocol.from_lines(text)
    assert len(p) == 2
    assert p.lines == ("Busulfan 3.2 mg/kg IV daily on days -5 to -2", "Infuse graft on day 0")
    assert p.steps_of(Infusion) == (Infusion(0),)
    assert Protocol.from_lines(str(p).splitlines()) == p
    extra = p + Protocol.from_lines(["Transfuse RBC when Hb < 7 g/dL"])
    assert len(extra) == 3
    assert p.__add__(1) is NotImplemented


def test_protocol_without_infusion_counts_from_start():
    mobilization = Protocol.from_lines(
        [
            "Filgrastim 10 ug/kg SC daily on days 1 to 4",
            "Plerixafor 0.24 mg/kg SC on day 4",
            "Apheresis 20 L on days 5 to 6",
        ]
    )
    assert len(mobilization.steps_of(DrugDose)) == 2


@pytest.mark.parametrize(
    ("lines", "pattern"),
    [
        (["Infuse graft on day 0", "Infuse graft on day 0"], "one graft infusion"),
        (["Infuse graft on day 1"], "defines day 0"),
        (["Infuse graft on day 0", "Busulfn 3 mg/kg on day -2"], "line 2: unknown drug"),
        (["Infuse graft on day 0", 3], "line 2: a protocol line must be text"),
    ],
)
def test_protocol_errors(lines, pattern):
    with pytest.raises(ProtocolError, match=pattern):
        Protocol.from_lines(lines)


def test_protocol_rejects_non_steps():
    with pytest.raises(ProtocolError, match="not a protocol step"):
        Protocol(("Infuse graft on day 0",))
