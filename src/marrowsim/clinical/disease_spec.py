"""The ``[disease]`` section of a scenario: which disease model runs, and its burden at the start.

A scenario simulates a disease only when it has a ``[disease]`` section (a diagnosis alone, as in
the transplant scenarios, labels the patient for the mortality model and leaves the marrow
normal). The model follows ``[patient] diagnosis`` (equations and sources: ``docs/disease.md``):

========================  ==============  ==================================================
diagnosis                 model           keys (all optional; defaults vary between patients)
========================  ==============  ==================================================
``AML``                   leukemia        ``mrd_fraction`` *or* ``leukemic_stem_cells_per_kg``
``aplastic_anemia``       autoimmunity    ``residual_hsc_fraction``
========================  ==============  ==================================================

* ``mrd_fraction``: leukemic cells per marrow cell on the first simulated day (the measurable
  residual disease of flow cytometry, 1e-3 = 0.1 %), in [0, 1). Default: the parameter
  ``aml_mrd_fraction`` (its prior gives each virtual patient their own burden).
* ``leukemic_stem_cells_per_kg``: leukemic stem cells per kg on the first simulated day (the
  rest of the clone in its growing proportions), >= 0; ``1`` is the single leukemic stem cell per
  kg of Stiehl et al. 2015.
* ``residual_hsc_fraction``: the patient's HSCs and multipotent progenitors on the first
  simulated day as a fraction of normal, in (0, 1]. Default: the parameter
  ``aa_residual_hsc_fraction`` (varies between patients).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DISEASE_MODELS = {"AML": "leukemia", "aplastic_anemia": "autoimmunity"}
MODEL_KEYS = {
    "leukemia": ("mrd_fraction", "leukemic_stem_cells_per_kg"),
    "autoimmunity": ("residual_hsc_fraction",),
}


class Disease(BaseModel):
    """The disease burden on the first simulated day (see the module documentation)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mrd_fraction: float | None = Field(default=None, ge=0, lt=1)
    leukemic_stem_cells_per_kg: float | None = Field(default=None, ge=0, le=1e9)
    residual_hsc_fraction: float | None = Field(default=None, gt=0, le=1)

    def given(self) -> tuple[str, ...]:
        """The keys the scenario set."""
        return tuple(k for k in type(self).model_fields if getattr(self, k) is not None)


def disease_model(diagnosis: str, disease: Disease | None) -> str | None:
    """``"leukemia"``, ``"autoimmunity"`` or ``None`` (no ``[disease]`` section)."""
    if disease is None:
        return None
    return DISEASE_MODELS.get(diagnosis)


def check_disease(diagnosis: str, disease: Disease | None) -> None:
    """Refuse a ``[disease]`` section that does not fit the diagnosis, with one clear line."""
    if disease is None:
        return
    model = DISEASE_MODELS.get(diagnosis)
    if model is None:
        raise ValueError(
            f"[disease] has no model for diagnosis {diagnosis!r} (disease models exist for: "
            f"{', '.join(DISEASE_MODELS)}); remove [disease] or change [patient] diagnosis"
        )
    allowed = MODEL_KEYS[model]
    for key in disease.given():
        if key not in allowed:
            raise ValueError(
                f"[disease] {key} does not apply to diagnosis {diagnosis!r} ({model} model; "
                f"its keys: {', '.join(allowed)})"
            )
    if disease.mrd_fraction is not None and disease.leukemic_stem_cells_per_kg is not None:
        raise ValueError(
            "[disease] give either mrd_fraction or leukemic_stem_cells_per_kg, not both "
            f"(got {disease.mrd_fraction!r} and {disease.leukemic_stem_cells_per_kg!r})"
        )
