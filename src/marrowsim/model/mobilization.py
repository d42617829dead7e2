"""Circulating CD34+ cells under filgrastim (G-CSF) and plerixafor, with apheresis.

No open, validated model of mobilisation kinetics exists (``../shared/science/clinical.md``
§3.2), so this is a small semi-mechanistic pharmacodynamic model, calibrated to the anchors of
``anchors.md`` §5 and validation rows 19-22 (see ``docs/collection.md``). Time is in days from
00:00 of day 1 of the protocol (day ``d`` at hour ``h`` is ``t = d - 1 + h/24``).

Equations (per patient; ``B`` circulating CD34+/µL, ``M`` marrow pool ready for release in the
same blood-equivalent units, ``P1..Pn`` G-CSF-driven expansion transit chain)::

    filgrastim  a' = -ka a             c' = ka a - ke (1 + T) c        (µg/kg)
    tolerance   T' = kT (g_T E_g - T)  E_g = c / (c + EC50_g)           (neutrophil-mediated
                                                                         clearance of G-CSF)
    plerixafor  p' = -kp p             e' = ke0 (p - e)                 (mg/kg)
                rho = 1 + Emax_p * e / (e + EC50_p)
    expansion   P1' = k_in (1 + theta S_g E_g) - ktr P1,   Pi' = ktr (P(i-1) - Pi)
    marrow      M' = ktr Pn - d_M M - k_rel rho M + k_out B
    blood       B' = k_rel rho M - k_out B - r(t) B,        r = CE Q(t) / TBV
    product     Y' = CE Q(t) B 1e6 / weight                 (CD34+ cells/kg)

``theta`` is the patient's mobilization response (lognormal, diagnosis-dependent median), so
poor mobilizers emerge from the distribution. Apheresis removes ``CE × Q/TBV`` of the circulating
pool per unit time while cells keep arriving from ``M`` (recruitment: the product can exceed the
intravascular content at the start). The right-hand side is vectorised over patients and
integrated with a fixed-step RK4 between events (doses, apheresis start/end, morning counts);
:func:`reference_solve_ivp` integrates one patient with ``scipy.integrate.solve_ivp`` for tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from marrowsim.parameters import ParameterSet, default_parameters

DRUGS = ("filgrastim", "plerixafor")
MORNING_COUNT_HOUR = 8.0  # assumption: morning blood count at 08:00 (Assumptions_mobilization)

# state indices
_A, _C, _T, _P, _E, _M, _B, _Y = 0, 1, 2, 3, 4, 5, 6, 7  # transit chain appended after _Y


@dataclass(frozen=True)
class MobilizationParameters:
    """Population (typical-patient) values of the PD model, in days and canonical units."""

    baseline_pb_cd34_per_ul: float
    filgrastim_absorption_per_day: float
    filgrastim_elimination_per_day: float
    filgrastim_ec50_ug_per_kg: float
    gcsf_tolerance_rate_per_day: float
    gcsf_tolerance_gain: float
    plerixafor_elimination_per_day: float
    plerixafor_effect_rate_per_day: float
    plerixafor_ec50_mg_per_kg: float
    plerixafor_emax: float
    gcsf_expansion_max: float
    transit_compartments: int
    transit_mean_time_days: float
    marrow_pool_turnover_per_day: float
    marrow_release_per_day: float
    blood_clearance_per_day: float

    @classmethod
    def from_parameters(cls, ps: ParameterSet | None = None) -> MobilizationParameters:
        """Read every value from the parameter registry (names prefixed ``mobilization_``)."""
        ps = ps or default_parameters()
        ln2 = math.log(2.0)
        half_lives = {
            "filgrastim_elimination_per_day": "mobilization_filgrastim_half_life_h",
            "plerixafor_elimination_per_day": "mobilization_plerixafor_half_life_h",
        }
        values = {k: 24 * ln2 / ps.value(name) for k, name in half_lives.items()}
        for f in fields(cls):
            if f.name not in values:
                values[f.name] = ps.value(f"mobilization_{f.name}")
        values["transit_compartments"] = int(values["transit_compartments"])
        return cls(**values)


@dataclass(frozen=True)
class Dose:
    """One dose: ``drug`` in :data:`DRUGS`, ``amount`` in µg/kg (filgrastim) or mg/kg."""

    drug: str
    amount: float
    time_days: float


@dataclass(frozen=True)
class Session:
    """One apheresis session: start and end time (days) and processed volume per patient (L)."""

    start_days: float
    end_days: float
    volume_l: np.ndarray  # shape (patients,)
    collection_efficiency: np.ndarray  # shape (patients,), fraction in (0, 1)


@dataclass(frozen=True)
class Patients:
    """Per-patient inputs of one batch (arrays of shape ``(patients,)``)."""

    weight_kg: np.ndarray
    blood_volume_l: np.ndarray
    response: np.ndarray  # theta, multiplies the G-CSF expansion
    plerixafor_response: np.ndarray  # multiplies Emax_p

    @property
    def n(self) -> int:
        return int(self.weight_kg.shape[0])


@dataclass(frozen=True)
class MobilizationTrajectory:
    """Morning counts and per-session yields for a batch of patients."""

    days: np.ndarray  # (days,) integer protocol days of the morning counts
    pb_cd34_per_ul: np.ndarray  # (patients, days) at MORNING_COUNT_HOUR
    session_days: np.ndarray  # (sessions,)
    session_cd34_per_kg: np.ndarray  # (patients, sessions); 0 where the session was skipped
    session_pre_pb_cd34_per_ul: np.ndarray  # (patients, sessions) count at session start
    session_performed: np.ndarray  # (patients, sessions) bool


class MobilizationModel:
    """The vectorised right-hand side and its event-driven fixed-step RK4 integrator."""

    def __init__(self, params: MobilizationParameters | None = None):
        self.p = params or MobilizationParameters.from_parameters()
        p = self.p
        self.n_transit = p.transit_compartments
        self.ktr = self.n_transit / p.transit_mean_time_days
        # baseline: B0 given; M0 from k_rel M0 = k_out B0 (no plerixafor, no G-CSF)
        self.m0 = p.blood_clearance_per_day * p.baseline_pb_cd34_per_ul / p.marrow_release_per_day
        self.k_in = p.marrow_pool_turnover_per_day * self.m0
        self.n_states = 8 + self.n_transit

    def initial_state(self, n: int) -> np.ndarray:
        y = np.zeros((n, self.n_states))
        y[:, _M] = self.m0
        y[:, _B] = self.p.baseline_pb_cd34_per_ul
        y[:, 8:] = self.k_in / self.ktr
        return y

    def rhs(self, y: np.ndarray, pts: Patients, flow_l_per_day: np.ndarray, ce: np.ndarray):
        """dy/dt for all patients; ``flow`` (L/day) and ``ce`` are zero outside apheresis."""
        p, dy = self.p, np.empty_like(y)
        a, c, tol, pl, ef, m, b = (y[:, i] for i in (_A, _C, _T, _P, _E, _M, _B))
        e_g = c / (c + p.filgrastim_ec50_ug_per_kg)
        dy[:, _A] = -p.filgrastim_absorption_per_day * a
        dy[:, _C] = (
            p.filgrastim_absorption_per_day * a - p.filgrastim_elimination_per_day * (1.0 + tol) * c
        )
        dy[:, _T] = p.gcsf_tolerance_rate_per_day * (p.gcsf_tolerance_gain * e_g - tol)
        dy[:, _P] = -p.plerixafor_elimination_per_day * pl
        dy[:, _E] = p.plerixafor_effect_rate_per_day * (pl - ef)
        rho = 1.0 + p.plerixafor_emax * pts.plerixafor_response * ef / (
            ef + p.plerixafor_ec50_mg_per_kg
        )
        chain = y[:, 8:]
        dchain = np.empty_like(chain)
        dchain[:, 0] = self.k_in * (1.0 + pts.response * p.gcsf_expansion_max * e_g)
        dchain[:, 0] -= self.ktr * chain[:, 0]
        dchain[:, 1:] = self.ktr * (chain[:, :-1] - chain[:, 1:])
        dy[:, 8:] = dchain
        release = p.marrow_release_per_day * rho * m
        back = p.blood_clearance_per_day * b
        dy[:, _M] = self.ktr * chain[:, -1] - p.marrow_pool_turnover_per_day * m - release + back
        removal = ce * flow_l_per_day / pts.blood_volume_l * b
        dy[:, _B] = release - back - removal
        dy[:, _Y] = ce * flow_l_per_day * b * 1e6 / pts.weight_kg
        return dy

    def _advance(self, y, t0, t1, pts, flow, ce, max_step):
        n = max(1, math.ceil((t1 - t0) / max_step - 1e-9))
        h = (t1 - t0) / n
        for _ in range(n):
            k1 = self.rhs(y, pts, flow, ce)
            k2 = self.rhs(y + 0.5 * h * k1, pts, flow, ce)
            k3 = self.rhs(y + 0.5 * h * k2, pts, flow, ce)
            k4 = self.rhs(y + h * k3, pts, flow, ce)
            y = y + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        return y

    def simulate(
        self,
        doses: Sequence[Dose],
        sessions: Sequence[Session],
        patients: Patients,
        *,
        count_days: Sequence[int],
        target_cd34_per_kg: float = math.inf,
        max_sessions: int | None = None,
        max_step_days: float = 1.0 / 96.0,
    ) -> MobilizationTrajectory:
        """Integrate a batch; sessions stop once a patient reached the target or the maximum."""
        n = patients.n
        max_sessions = len(sessions) if max_sessions is None else max_sessions
        events: list[tuple[float, int, str, object]] = []
        for d in doses:
            events.append((d.time_days, 1, "dose", d))
        for i, s in enumerate(sessions):
            events.append((s.start_days, 2, "start", i))
            events.append((s.end_days, 0, "end", i))
        for j, day in enumerate(count_days):
            events.append((day - 1 + MORNING_COUNT_HOUR / 24.0, 3, "count", j))
        events.sort(key=lambda e: (e[0], e[1]))
        y = self.initial_state(n)
        t = min([e[0] for e in events] + [0.0])
        flow, ce = np.zeros(n), np.zeros(n)
        counts = np.zeros((n, len(count_days)))
        yields = np.zeros((n, len(sessions)))
        pre = np.zeros((n, len(sessions)))
        performed = np.zeros((n, len(sessions)), dtype=bool)
        done = np.zeros(n, dtype=int)
        y_at_start = None
        for time, _, kind, payload in events:
            y = self._advance(y, t, time, patients, flow, ce, max_step_days) if time > t else y
            t = time
            if kind == "dose":
                dose: Dose = payload  # type: ignore[assignment]
                y[:, _A if dose.drug == "filgrastim" else _P] += dose.amount
            elif kind == "count":
                counts[:, payload] = y[:, _B]  # type: ignore[index]
            elif kind == "start":
                s = sessions[payload]  # type: ignore[index]
                cumulative = yields.sum(axis=1)
                go = (cumulative < target_cd34_per_kg) & (done < max_sessions)
                performed[:, payload] = go  # type: ignore[index]
                pre[:, payload] = y[:, _B]  # type: ignore[index]
                flow = np.where(go, s.volume_l / (s.end_days - s.start_days), 0.0)
                ce = np.where(go, s.collection_efficiency, 0.0)
                y_at_start = y[:, _Y].copy()
                done += go
            else:  # end of a session
                yields[:, payload] = y[:, _Y] - y_at_start  # type: ignore[index]
                flow, ce = np.zeros(n), np.zeros(n)
        return MobilizationTrajectory(
            days=np.asarray(count_days, dtype=int),
            pb_cd34_per_ul=counts,
            session_days=np.array([math.floor(s.start_days) + 1 for s in sessions], dtype=int),
            session_cd34_per_kg=yields,
            session_pre_pb_cd34_per_ul=pre,
            session_performed=performed,
        )


def reference_solve_ivp(
    model: MobilizationModel,
    doses: Sequence[Dose],
    patients: Patients,
    t_end_days: float,
    *,
    times: np.ndarray,
) -> np.ndarray:
    """Reference integration of patient 0 with scipy (no apheresis): B at ``times``."""
    from scipy.integrate import solve_ivp

    one = Patients(*(np.asarray(getattr(patients, f.name))[:1] for f in fields(Patients)))
    zero = np.zeros(1)

    def f(_t: float, v: np.ndarray) -> np.ndarray:
        return model.rhs(v[None, :], one, zero, zero)[0]

    y, t, out = model.initial_state(1)[0], 0.0, []
    for tb in sorted({d.time_days for d in doses} | {t_end_days}):
        if tb > t:
            sol = solve_ivp(f, (t, tb), y, method="LSODA", dense_output=True, rtol=1e-8, atol=1e-10)
            sel = times[(times >= t) & (times < tb)]
            if sel.size:
                out.extend(sol.sol(sel)[_B])
            y, t = sol.y[:, -1].copy(), tb
        for d in doses:
            if d.time_days == tb:
                y[_A if d.drug == "filgrastim" else _P] += d.amount
    return np.asarray(out)
