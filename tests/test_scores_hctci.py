"""HCT-CI (Sorror, Blood 2005;106:2912; weights per ../shared/science/clinical.md §2.2),
HCT-CI/age (Sorror, JCO 2014;32:3249 abstract), Karnofsky (clinical.md §2.5) and 2-year NRM by
HCT-CI group (ElSawy 2015 and Raimondi 2012 abstracts)."""

from __future__ import annotations

import pytest

from marrowsim.clinical.scores import (
    HCT_CI_ITEMS,
    KARNOFSKY_DESCRIPTIONS,
    hct_ci,
    hct_ci_risk_group,
    karnofsky_description,
    nonrelapse_mortality,
    validate_karnofsky,
)
from marrowsim.errors import InputError, UnknownNameError

# clinical.md §2.2 table, one row per item.
EXPECTED_WEIGHTS = {
    "arrhythmia": 1,
    "cardiac": 1,
    "inflammatory_bowel_disease": 1,
    "diabetes": 1,
    "cerebrovascular_disease": 1,
    "psychiatric_disturbance": 1,
    "hepatic_mild": 1,
    "obesity": 1,
    "infection": 1,
    "rheumatologic": 2,
    "peptic_ulcer": 2,
    "renal_moderate_severe": 2,
    "pulmonary_moderate": 2,
    "prior_solid_tumor": 3,
    "heart_valve_disease": 3,
    "pulmonary_severe": 3,
    "hepatic_moderate_severe": 3,
}


def test_table_has_the_17_items_of_sorror_2005():
    assert {i.name: i.weight for i in HCT_CI_ITEMS} == EXPECTED_WEIGHTS


@pytest.mark.parametrize(("name", "weight"), sorted(EXPECTED_WEIGHTS.items()))
def test_each_item_alone_scores_its_weight(name, weight):
    r = hct_ci([name])
    assert r.score == weight
    assert r.items == ((name, weight),)
    assert r.risk_group == ("intermediate" if weight <= 2 else "high")


def test_no_comorbidity_is_low_risk():
    r = hct_ci([])
    assert (r.score, r.risk_group, r.items) == (0, "low", ())


@pytest.mark.parametrize(
    ("names", "score", "superseded"),
    [
        (["hepatic_mild", "hepatic_moderate_severe"], 3, ("hepatic_mild",)),
        (["pulmonary_moderate", "pulmonary_severe"], 3, ("pulmonary_moderate",)),
        (["hepatic_mild", "pulmonary_moderate"], 3, ()),
    ],
)
def test_exclusive_pairs_count_the_higher_only(names, score, superseded):
    r = hct_ci(names)
    assert r.score == score and r.superseded == superseded


def test_cardiac_and_valve_disease_add_up():
    """clinical.md §2.2: separate items (one public calculator wrongly merges them)."""
    assert hct_ci(["cardiac", "heart_valve_disease"]).score == 4


def test_aliases_spelling_and_duplicates():
    r = hct_ci(["Heart valve", "IBD", "renal", "Hepatic-Severe", "diabetes", "Diabetes"])
    assert r.score == 3 + 1 + 2 + 3 + 1


@pytest.mark.parametrize(
    ("score", "group"),
    [(0, "low"), (1, "intermediate"), (2, "intermediate"), (3, "high"), (12, "high")],
)
def test_risk_groups(score, group):
    assert hct_ci_risk_group(score) == group


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_risk_group_rejects_non_scores(bad):
    with pytest.raises(InputError, match="non-negative integer"):
        hct_ci_risk_group(bad)


def test_unknown_comorbidity_lists_allowed_and_suggests():
    with pytest.raises(UnknownNameError) as info:
        hct_ci(["arrythmia"])
    message = str(info.value)
    assert "did you mean 'arrhythmia'" in message
    for name in EXPECTED_WEIGHTS:
        assert name in message


def test_bad_comorbidity_containers():
    with pytest.raises(InputError, match="list of comorbidity names"):
        hct_ci("diabetes")
    with pytest.raises(InputError, match="must be strings"):
        hct_ci([3])  # type: ignore[list-item]


def test_age_adjusted_score_adds_one_from_age_40():
    assert hct_ci(["diabetes"], age_years=39.9).age_adjusted_score == 1
    assert hct_ci(["diabetes"], age_years=40).age_adjusted_score == 2
    assert hct_ci(["diabetes"]).age_adjusted_score is None
    with pytest.raises(InputError, match="age_years"):
        hct_ci([], age_years=-1)


@pytest.mark.parametrize("score", list(range(0, 101, 10)))
def test_karnofsky_valid_scores(score):
    assert validate_karnofsky(score) == score
    assert karnofsky_description(float(score)) == KARNOFSKY_DESCRIPTIONS[score]


@pytest.mark.parametrize("bad", [85, -10, 110, 55.5, True, float("nan")])
def test_karnofsky_rejects(bad):
    with pytest.raises(InputError, match="steps of 10"):
        validate_karnofsky(bad)


def test_karnofsky_rejects_non_numbers():
    with pytest.raises(InputError, match="must be a number"):
        validate_karnofsky("ninety")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("score", "source", "expected"),
    [
        (0, "ElSawy2015", 0.14),
        (2, "ElSawy2015", 0.23),
        (5, "ElSawy2015", 0.39),
        (0, "Raimondi2012", 0.147),
        (1, "Raimondi2012", 0.213),
        (3, "raimondi2012", 0.273),
    ],
)
def test_nonrelapse_mortality_by_group(score, source, expected):
    r = nonrelapse_mortality(score, source=source)
    assert r.probability == expected
    assert r.horizon_days == 730
    assert r.source.lower() == source.lower()
    assert "Abstract" in r.location and r.citation


def test_nonrelapse_mortality_errors():
    with pytest.raises(UnknownNameError, match="NRM source"):
        nonrelapse_mortality(1, source="Sorror2005")
    with pytest.raises(UnknownNameError, match="only 2-year"):
        nonrelapse_mortality(1, horizon="day 100")
    with pytest.raises(InputError, match="non-negative integer"):
        nonrelapse_mortality(-2)
