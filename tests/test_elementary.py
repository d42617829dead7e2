"""model/elementary.py: exp and log as vectorisable arithmetic, against the C library's."""

import numpy as np
import pytest
from numba import njit

from marrowsim.model.elementary import exp, log


@njit
def _exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


@njit
def _log_all(x, out):
    for i in range(x.shape[0]):
        out[i] = log(x[i])


def _apply(kernel, x):
    out = np.empty_like(x)
    kernel(x, out)
    return out


def _ulps(got, reference):
    return np.abs(got - reference) / np.spacing(np.abs(reference))


def test_exp_is_within_one_ulp_over_its_range():
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [rng.uniform(-708.0, 709.7, 200_000), rng.uniform(-1, 1, 100_000), [0.0, 1.0, -1.0]]
    )
    assert _ulps(_apply(_exp_all, x), np.exp(x)).max() <= 1.0


def test_exp_reaches_subnormal_results_and_the_limits():
    x = np.array([-708.5, -720.0, -744.0, -745.13, -745.2, 709.78, 709.79, -np.inf, np.inf])
    got = _apply(_exp_all, x)
    with np.errstate(over="ignore"):
        expected = np.exp(x)
    finite = np.isfinite(expected)
    difference = np.abs(got[finite] - expected[finite])
    assert np.all(difference <= np.spacing(expected[finite]))  # subnormal results: one step
    assert np.array_equal(got[~finite], expected[~finite])  # +inf
    assert np.isnan(_apply(_exp_all, np.array([np.nan])))[0]


def test_log_is_within_two_ulp_over_its_range():
    rng = np.random.default_rng(2)
    x = np.concatenate(
        [
            10.0 ** rng.uniform(-307, 308, 200_000),
            rng.uniform(0.5, 2.0, 100_000),
            10.0 ** rng.uniform(-323, -308, 20_000),  # subnormal arguments
            [1.0, 2.0, 0.5, np.e],
        ]
    )
    reference = np.log(x)
    nonzero = reference != 0
    assert _ulps(_apply(_log_all, x)[nonzero], reference[nonzero]).max() <= 2.0
    assert _apply(_log_all, np.array([1.0]))[0] == 0.0


@pytest.mark.parametrize(
    ("x", "expected"),
    [(0.0, -np.inf), (-0.0, -np.inf), (-1.0, np.nan), (np.inf, np.inf), (-np.inf, np.nan),
     (np.nan, np.nan)],
)  # fmt: skip
def test_log_special_values_are_the_c_librarys(x, expected):
    got = _apply(_log_all, np.array([x]))[0]
    assert got == expected or (np.isnan(got) and np.isnan(expected))


def test_both_work_called_from_python_as_in_the_tracer():
    assert exp(0.5) == _apply(_exp_all, np.array([0.5]))[0]
    assert log(3.0) == _apply(_log_all, np.array([3.0]))[0]
