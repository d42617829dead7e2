"""Apheresis arithmetic and planning (clinical.md §3.1 formulas and worked example)."""

import math

import pytest

from marrowsim.clinical.collection import (
    aphereses_needed,
    bone_marrow_harvest,
    collection_efficiency_ce2,
    first_collection_day,
    predicted_yield_cd34_per_kg,
    processed_volume_from_blood_volumes,
    volume_to_process_l,
)
from marrowsim.errors import InputError
from marrowsim.units import total_blood_volume_l


def test_worked_example_of_clinical_md():
    # PB CD34 20/uL, 15 L, CE 0.50 → 1.5e8 cells; 75 kg → 2.0e6/kg
    per_kg = predicted_yield_cd34_per_kg(20, 15, 0.50, 75)
    assert per_kg == pytest.approx(2.0e6)
    assert per_kg * 75 == pytest.approx(1.5e8)
    assert collection_efficiency_ce2(1.5e8, 15, 20) == pytest.approx(0.50)
    # target 5e6/kg at 75 kg → 37.5 L
    assert volume_to_process_l(5e6, 75, 20, 0.5) == pytest.approx(37.5)


def test_aphereses_needed_rounds_up():
    assert aphereses_needed(5e6, 75, 20, 0.5, 20) == 2
    assert aphereses_needed(2e6, 75, 20, 0.5, 15) == 1


def test_volume_from_blood_volumes_uses_nadler():
    tbv = total_blood_volume_l(80, 180, "male")
    assert processed_volume_from_blood_volumes(3, 80, 180, "male") == pytest.approx(3 * tbv)


def test_first_collection_day_uses_threshold():
    assert first_collection_day([3, 4, 5], [4.0, 12.0, 30.0], 10.0) == 4
    assert first_collection_day([3, 4], [4.0, 5.0], 10.0) is None
    assert first_collection_day([3, 4], [4.0, 11.0], None) == 4  # default 10/uL assumption


@pytest.mark.parametrize(
    "call",
    [
        lambda: predicted_yield_cd34_per_kg(20, -15, 0.5, 75),
        lambda: predicted_yield_cd34_per_kg(20, 15, 0.5, 0),
        lambda: predicted_yield_cd34_per_kg(20, 15, 2.0, 75),
        lambda: predicted_yield_cd34_per_kg(math.nan, 15, 0.5, 75),
        lambda: collection_efficiency_ce2(-1, 15, 20),
        lambda: aphereses_needed(5e6, 75, 20, 0.5, 0),
        lambda: processed_volume_from_blood_volumes(-1, 80, 180, "male"),
    ],
)
def test_bad_numbers_raise_input_error(call):
    with pytest.raises(InputError):
        call()


def test_bone_marrow_harvest_close_to_lysak_2021():
    male = bone_marrow_harvest("male", 80, 75)
    female = bone_marrow_harvest("female", 65, 75)
    assert male.volume_ml == 1300 and female.volume_ml == 1100
    # Lysák 2021: 362 / 307 x10^6 TNC/kg; the TNC concentration is an assumption (±20 %)
    assert male.tnc_per_kg == pytest.approx(362e6, rel=0.2)
    assert female.tnc_per_kg == pytest.approx(307e6, rel=0.2)
    assert male.cd34_per_kg == pytest.approx(0.01 * male.tnc_per_kg)


def test_bone_marrow_harvest_capped_for_small_donor():
    child = bone_marrow_harvest("female", 20, 30)
    assert child.volume_ml == pytest.approx(400)


def test_bone_marrow_harvest_rejects_bad_donor():
    with pytest.raises(InputError):
        bone_marrow_harvest("other", 70, 70)
    with pytest.raises(InputError):
        bone_marrow_harvest("male", 600, 70)
