"""Shared HSC/MPP regulation (model/regulation.py) and the right-hand side that calls it.

The stochastic engine and the deterministic right-hand side use the same functions; these tests pin
their values at landmarks and check that ``rhs`` still computes the stem and multipotent
derivatives of the published form (docs/model.md) to within 1e-12, relative.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from marrowsim.compile import compile_problem
from marrowsim.engine.events import EV_ADD_CELLS
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.regulation import (
    demand_signal,
    hsc_division_rate,
    hsc_self_renewal,
    mpp_demand_gain,
    niche_occupancy,
)
from marrowsim.model.rhs import cytokine_signals, hill_power, rhs_numpy
from marrowsim.parameters import default_parameters
from marrowsim.scenario import load_scenario


@pytest.fixture(scope="module")
def problem():
    return compile_problem([load_scenario("healthy-adult")], default_parameters())


def test_landmarks(problem):
    c = problem.constants[0]
    p0, g, a_max = c[K.K_P_HSC], c[K.K_HSC_STRESS], c[K.K_A_HSC_MAX]
    assert niche_occupancy(c, c[K.K_HSC_STAR]) == 1.0
    assert hsc_division_rate(c, 1.0) == pytest.approx(p0, rel=1e-15)
    assert hsc_division_rate(c, 0.0) == pytest.approx(p0 * (1 + g), rel=1e-15)
    assert hsc_self_renewal(c, 1.0, 1.0) == pytest.approx(0.5, rel=1e-15)
    assert hsc_self_renewal(c, 0.0, 1.0) == pytest.approx(a_max, rel=1e-15)
    assert hsc_self_renewal(c, 0.0, 2.0) == 1.0  # capped: a division cannot make 3 HSCs
    assert mpp_demand_gain(c, 1.0) == pytest.approx(1.0, rel=1e-15)
    assert demand_signal(1.0, 1.0, 1.0) == pytest.approx(1.0, rel=1e-15)


def _reference_stem_mpp(y, c, cm, active):
    """The HSC and MPP equations written out independently of model/regulation.py."""
    _, _, _, _, m_g, m_e, m_t = cytokine_signals(y, c, cm, active)
    occ = sum(y[k * L.N_COMPARTMENTS + L.HSC] for k in range(L.N_CLASSES)) / c[K.K_HSC_STAR]
    g, a_max, kappa = c[K.K_HSC_STRESS], c[K.K_A_HSC_MAX], c[K.K_KAPPA_MPP]
    p = c[K.K_P_HSC] * (1 + g) / (1 + g * occ)
    psi = (m_g + m_e + m_t) / 3
    gain = (1 + kappa) / (1 + kappa * psi)
    k_mpp, alpha = c[K.K_K_MPP], c[K.K_ALPHA_MPP]
    out = {}
    for k in range(L.N_CLASSES):
        if k == L.MALIGNANT:  # the leukemic hierarchy has its own equations (test_leukemia.py)
            continue
        if k == L.TRANSFUSED:  # transfused blood cells only: no stem or multipotent cells
            continue
        o = k * L.N_COMPARTMENTS
        a = min(1.0, a_max / (1 + (2 * a_max - 1) * occ) * cm[k, K.CM_HSC_FITNESS])
        h, m1, m2 = y[o + L.HSC], y[o + L.MPP1], y[o + L.MPP2]
        out[o + L.HSC] = (2 * a - 1) * p * h
        out[o + L.MPP1] = 2 * (1 - a) * p * h - k_mpp * m1
        out[o + L.MPP2] = alpha * gain * k_mpp * m1 - k_mpp * m2
        out[o + L.MPP3] = alpha * gain * k_mpp * m2 - k_mpp * y[o + L.MPP3]
    return out


def test_rhs_uses_the_published_stem_and_mpp_equations(problem):
    rng = np.random.default_rng(5)
    c = problem.constants[0]
    active = np.ones(L.N_CLASSES, dtype=bool)
    for _ in range(20):
        y = problem.y0[0] * rng.uniform(0.0, 3.0, problem.y0.shape[1])
        for k in range(1, L.TRANSFUSED):  # cells in every class that makes cells
            y[k * L.N_COMPARTMENTS : (k + 1) * L.N_COMPARTMENTS] = y[: L.N_COMPARTMENTS] * 0.1
        cm = problem.class_modifiers[0].copy()
        cm[:, K.CM_HSC_FITNESS] = rng.uniform(0.7, 1.6, L.N_CLASSES)
        dy = rhs_numpy(0.0, y, c, cm, active)
        ref = _reference_stem_mpp(y, c, cm, active)
        for i, expected in ref.items():
            # alloimmune kill acts on these compartments too; it is zero without a donor
            assert dy[i] == pytest.approx(expected, rel=1e-12, abs=1e-12 * abs(y[i]))


@pytest.mark.parametrize("n", [1.5, 1.0, 2.0, 0.7])
def test_hill_power_is_pow_within_an_ulp(n):
    x = np.concatenate([[0.0], np.geomspace(1e-12, 1e6, 400)])
    got = np.array([hill_power(v, n) for v in x])
    np.testing.assert_allclose(got, x**n, rtol=4.5e-16, atol=0)  # two ulps of 1


def test_transfused_cells_age_as_a_class_of_blood_cells_alone_would(problem):
    """``rhs`` computes only red-cell and platelet ageing for the transfused class (it holds
    nothing else); a cell-making class holding the same blood cells and nothing else has exactly
    the same derivatives."""
    rng = np.random.default_rng(7)
    c = problem.constants[0]
    cm = problem.class_modifiers[0].copy()
    cm[L.DONOR] = cm[L.TRANSFUSED]
    active = np.zeros(L.N_CLASSES, dtype=bool)
    active[[L.HOST, L.DONOR, L.TRANSFUSED]] = True
    blood = [*range(L.RBC1, L.RBC4 + 1), *range(L.PLT1, L.PLT5 + 1)]
    for _ in range(10):
        y = problem.y0[0] * rng.uniform(0.5, 1.5, problem.y0.shape[1])
        y[L.DONOR * L.N_COMPARTMENTS : L.N_CELL_STATES] = 0.0
        for j in blood:
            v = y[j] * rng.uniform(0.01, 0.5)
            y[L.cell_index(L.DONOR, j)] = v
            y[L.cell_index(L.TRANSFUSED, j)] = v
        dy = rhs_numpy(0.0, y, c, cm, active)
        donor = dy[L.DONOR * L.N_COMPARTMENTS : (L.DONOR + 1) * L.N_COMPARTMENTS]
        transfused = dy[L.TRANSFUSED * L.N_COMPARTMENTS : (L.TRANSFUSED + 1) * L.N_COMPARTMENTS]
        np.testing.assert_array_equal(transfused, donor)
        assert np.count_nonzero(transfused) == len(blood)


def test_a_problem_with_other_cells_in_the_transfused_class_is_refused(problem):
    y0 = problem.y0.copy()
    y0[0, L.cell_index(L.TRANSFUSED, L.HSC)] = 1.0
    with pytest.raises(ValueError, match="transfused class may hold only"):
        dataclasses.replace(problem, y0=y0)
    events = np.zeros((1, 1, problem.events.shape[2]))
    events[0, 0, :5] = (0.0, EV_ADD_CELLS, L.TRANSFUSED, L.NEU, 1e6)
    with pytest.raises(ValueError, match="may not add or move cells into the transfused"):
        dataclasses.replace(problem, events=events, n_events=np.ones(1, dtype=np.int64))
