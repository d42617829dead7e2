"""The batched engine against SciPy's ``solve_ivp`` on the disease models (same right-hand side,
events and morning rules): untreated AML, a transplant with residual leukemia (conditioning,
graft-versus-leukemia, extinction rule) and aplastic anemia under immunosuppression. Every
observable within 1e-4 of its largest value on every morning (the transplant course alone differs
by ~1e-5 around engraftment)."""

from __future__ import annotations

import pytest

from marrowsim import default_parameters
from marrowsim.compile import compile_problem
from marrowsim.engine.dopri import STATUS_OK
from marrowsim.engine.solve import solve
from marrowsim.model.observables import OB, OBSERVABLE_NAMES
from marrowsim.scenario import scenario_from_mapping
from marrowsim.validation import disease_scenarios as DS

CASES = {
    "aml-untreated": DS.stiehl_untreated(days=250),
    "aml-allo-mrd": DS.aml_transplant("aml-allo-mrd", mrd_fraction=1e-3, days=150),
    "saa-ist": DS.saa_ist("saa-ist", DS.IST_REGIMENS["hATG+CsA+eltrombopag"], days=120),
}


@pytest.mark.parametrize("name", CASES)
def test_engine_matches_scipy_on_the_disease_models(name):
    problem = compile_problem([scenario_from_mapping(CASES[name])], default_parameters())
    engine = solve(problem)
    reference = solve(problem, method="scipy-lsoda", rtol=1e-10, atol=1e-10)
    assert engine.status.tolist() == reference.status.tolist() == [STATUS_OK]
    for name_ in OBSERVABLE_NAMES:
        q = OB[name_]
        e, r = engine.observables[0, :, q], reference.observables[0, :, q]
        scale = max(abs(r).max(), 1e-300)
        assert abs(e - r).max() <= 1e-4 * scale, name_  # of its largest value
