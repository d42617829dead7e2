"""Mobilization PD model: numerics, recruitment and calibration targets (anchors rows 19-22).

Calibration targets are checked with the shipped parameters; nothing is tuned here. The values
were fitted by ``python -m marrowsim.validation.calibrate_mobilization --write``.
"""

import numpy as np
import pytest

from marrowsim.clinical.collection_spec import CollectionPatient, compile_schedule
from marrowsim.model.mobilization import (
    Dose,
    MobilizationModel,
    Patients,
    Session,
    reference_solve_ivp,
)
from marrowsim.validation import calibrate_mobilization as cal


def _patients(n=1, response=1.0):
    return Patients(
        weight_kg=np.full(n, 70.0),
        blood_volume_l=np.full(n, 5.0),
        response=np.full(n, response),
        plerixafor_response=np.ones(n),
    )


def test_steady_state_without_drugs():
    model = MobilizationModel()
    traj = model.simulate([], [], _patients(), count_days=[1, 5, 10])
    assert traj.pb_cd34_per_ul[0] == pytest.approx([3.0, 3.0, 3.0], rel=1e-9)


def test_rk4_agrees_with_scipy_reference():
    model = MobilizationModel()
    doses = [Dose("filgrastim", 10.0, d - 1 + 8 / 24) for d in range(1, 5)]
    doses.append(Dose("plerixafor", 0.24, 3 + 23 / 24))
    times = np.array([d - 1 + 8 / 24 for d in range(1, 8)])
    ref = reference_solve_ivp(model, doses, _patients(), 7.0, times=times)
    traj = model.simulate(doses, [], _patients(), count_days=list(range(1, 8)))
    assert traj.pb_cd34_per_ul[0] == pytest.approx(ref, rel=1e-3)


def test_batch_equals_single_patients():
    model = MobilizationModel()
    doses = [Dose("filgrastim", 10.0, d - 1 + 8 / 24) for d in range(1, 5)]
    batch = Patients(np.array([70.0, 90.0]), np.array([5.0, 6.0]), np.array([0.3, 2.0]), np.ones(2))
    both = model.simulate(doses, [], batch, count_days=[5]).pb_cd34_per_ul[:, 0]
    one = model.simulate(doses, [], _patients(response=2.0), count_days=[5]).pb_cd34_per_ul[0, 0]
    assert both[1] == pytest.approx(
        one, rel=1e-6 * 1000
    )  # weight/TBV do not enter without apheresis


def test_apheresis_recruits_more_than_intravascular_content():
    """Anchors §5: product > intravascular CD34+ at start in 78 % of procedures (LVL 1.4-fold)."""
    patient = CollectionPatient(weight_kg=75, height_cm=175, sex="male", diagnosis="healthy")
    steps = ["Filgrastim 10 ug/kg SC daily on days 1 to 5", "Apheresis 20 L on day 5"]
    traj, _, _ = cal._typical(steps, patient, cal.default_parameters(), [5])
    product = traj.session_cd34_per_kg[0, 0] * patient.weight_kg
    from marrowsim.units import total_blood_volume_l

    content = traj.session_pre_pb_cd34_per_ul[0, 0] * 1e6 * total_blood_volume_l(75, 175, "male")
    assert product / content > 1.0


def test_apheresis_depletes_circulating_pool():
    model = MobilizationModel()
    doses = [Dose("filgrastim", 10.0, d - 1 + 8 / 24) for d in range(1, 7)]
    session = Session(4 + 10 / 24, 4 + 14 / 24, np.full(1, 20.0), np.full(1, 0.7))
    with_ = model.simulate(doses, [session], _patients(), count_days=[6]).pb_cd34_per_ul[0, 0]
    without = model.simulate(doses, [], _patients(), count_days=[6]).pb_cd34_per_ul[0, 0]
    assert with_ < without


def test_stops_at_target():
    model = MobilizationModel()
    doses = [Dose("filgrastim", 10.0, d - 1 + 8 / 24) for d in range(1, 7)]
    sessions = [
        Session(d - 1 + 10 / 24, d - 1 + 14 / 24, np.full(1, 20.0), np.full(1, 0.7)) for d in (5, 6)
    ]
    traj = model.simulate(doses, sessions, _patients(), count_days=[5], target_cd34_per_kg=1e6)
    assert traj.session_performed[0].tolist() == [True, False]


def test_schedule_clock_times():
    patient = CollectionPatient(weight_kg=80)
    sched = compile_schedule(
        [
            "Filgrastim 800 ug SC daily on days 1 to 2",
            "Plerixafor 0.24 mg/kg SC on day 2",
            "Apheresis 21.6 L on day 3",
        ],
        patient,
    )
    assert [d.amount for d in sched.doses[:2]] == pytest.approx([10.0, 10.0])  # 800 ug / 80 kg
    assert sched.doses[-1].time_days == pytest.approx(1 + 23 / 24)
    start, end = sched.session_hours[0]
    assert (end - start) * 24 == pytest.approx(4.0)  # 21.6 L at 90 mL/min


# --- calibration targets (anchors §8) -------------------------------------------------------


def test_row21_healthy_donor_day5_and_peak():
    counts = cal.healthy_donor_counts()
    assert 0.7 * 90 <= counts[4] <= 1.3 * 90  # 80-100/uL ± 30 % (Vasu 2008)
    assert int(np.argmax(counts)) + 1 in (5, 6)  # Ann Hematol 1996;72:269


def test_row20_plerixafor_fold_rise():
    assert 2.0 <= cal.plerixafor_fold_rise() <= 3.5  # median 2.6 (BMT 2010;45:269)


def test_row22_collection_efficiency():
    ce2 = cal.ce2_distribution()
    assert 0.45 <= float(np.median(ce2)) <= 0.55  # Gidron 2005; J Clin Apher 2025
    assert float(np.percentile(ce2, 5)) >= 0.30 and float(np.percentile(ce2, 95)) <= 0.70


def test_row19_dipersio_fractions():
    got = cal.dipersio_fractions(n=3000, seed=2009)
    assert got["plerixafor"] == pytest.approx(0.716, abs=0.08)
    assert got["placebo"] == pytest.approx(0.344, abs=0.08)


def test_poor_mobilizers_emerge_by_diagnosis():
    from marrowsim.clinical.collection import collect
    from marrowsim.clinical.collection_spec import MobilizationSpec

    spec = MobilizationSpec(
        steps=["Filgrastim 10 ug/kg SC daily on days 1 to 6", "Apheresis 20 L on days 5 to 6"],
        target_cd34_per_kg=2e6,
        max_aphereses=2,
    )
    poor = {}
    for diagnosis in ("healthy", "myeloma", "lymphoma"):
        patient = CollectionPatient(weight_kg=75, diagnosis=diagnosis)
        poor[diagnosis] = collect(spec, seed=4, patients=1000, patient=patient).to_dict()[
            "fraction_below_2e6_per_kg"
        ]
    assert poor["healthy"] < poor["myeloma"] < poor["lymphoma"]
