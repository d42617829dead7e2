"""Ex vivo gene editing of an autologous graft: the ``[editing]`` section and the edited product.

A scenario says::

    [editing]
    target = "BCL11A_erythroid_enhancer"     # or "HBB_correction"
    allele_editing_fraction = 0.8            # edited alleles among the product's CD34+ cells
    edited_hsc_fraction = 0.9                # optional: long-term HSCs with >= 1 edited allele

The product is the patient's own mobilized CD34+ cells, cultured, electroporated with Cas9 and
cryopreserved (``[graft]`` with ``[donor] relation = "autologous"``). Here its composition
(:func:`marrowsim.clinical.graft.graft_composition`) becomes two components:

* cells with at least one edited allele go to the ``edited`` clone class, the others stay ``host``;
  with alleles edited independently at fraction ``f``, a fraction ``1 - (1 - f)^2`` of cells is
  edited and an edited cell carries ``f / (1 - (1 - f)^2)`` of its alleles edited (used for the
  edited allele fraction in blood and marrow); long-term HSCs can be edited less often than bulk
  CD34+ cells (``edited_hsc_fraction``);
* editing and culture cost stem cells: long-term HSCs survive with ``editing_hsc_viability``
  (CRISPR-associated HSC loss, anchors.md §7); multipotent and committed progenitors, which give an
  unmanipulated graft its early wave of neutrophils and platelets, with
  ``editing_progenitor_retention``;
* without those progenitors the product engrafts from its long-term HSCs, whose output must first
  cross the multipotent stages (~20 days): neutrophils around day 18-20 instead of ~12 for an
  unmanipulated graft (exa-cel: day ~29, validation row 26; the remaining gap is discussed in
  docs/gene-editing.md). Both factors are assumptions
  (``parameters/sets/Assumptions_editing.toml``).

What the edit does to the red cells (HbF induction, HbA instead of HbS/beta-thalassaemia) is the
erythroid phenotype of the ``edited`` class (:mod:`marrowsim.clinical.erythroid`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, field_validator

from marrowsim.errors import ScenarioError, UnknownNameError
from marrowsim.model import layout as L

if TYPE_CHECKING:
    from marrowsim.clinical.graft import GraftComposition

EDITING_TARGETS = ("BCL11A_erythroid_enhancer", "HBB_correction")
# long-term HSCs (editing_hsc_viability) and short-term repopulating cells (progenitor retention)
_STEM = (L.HSC,)
_PROGENITORS = (L.MPP1, L.MPP2, L.MPP3, L.CMP, L.GP, L.EP, L.MKP, L.MKB, L.MK, L.LP)


def _fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number between 0 and 1")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1 (a fraction of alleles or cells)")
    return float(value)


class Editing(BaseModel):
    """The ``[editing]`` section: what was edited in the autologous product, and how often."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str
    allele_editing_fraction: float
    edited_hsc_fraction: float | None = None

    @field_validator("target")
    @classmethod
    def _target(cls, v: str) -> str:
        if v not in EDITING_TARGETS:
            raise UnknownNameError("editing target", v, EDITING_TARGETS)
        return v

    @field_validator("allele_editing_fraction", mode="before")
    @classmethod
    def _allele_fraction(cls, v: Any) -> float:
        return _fraction("allele_editing_fraction", v)

    @field_validator("edited_hsc_fraction", mode="before")
    @classmethod
    def _hsc_fraction(cls, v: Any) -> float | None:
        return None if v is None else _fraction("edited_hsc_fraction", v)

    @property
    def edited_cell_fraction(self) -> float:
        """Fraction of CD34+ cells with at least one edited allele (alleles independent)."""
        return 1.0 - (1.0 - self.allele_editing_fraction) ** 2

    @property
    def hsc_fraction(self) -> float:
        """Fraction of long-term HSCs with at least one edited allele."""
        if self.edited_hsc_fraction is not None:
            return self.edited_hsc_fraction
        return self.edited_cell_fraction

    @property
    def edited_allele_share(self) -> float:
        """Mean fraction of the two alleles that are edited in an edited cell."""
        cells = self.edited_cell_fraction
        return self.allele_editing_fraction / cells if cells > 0 else 0.0


def check_editing(scenario: Any) -> None:
    """Refuse, in one line, an ``[editing]`` section the model cannot apply (raises ValueError
    inside scenario validation, which reports it as a :class:`ScenarioError`)."""
    editing = scenario.editing
    if editing is None:
        return
    donor, graft = scenario.donor, scenario.graft
    if graft is None or donor is None:
        raise ValueError(
            "[editing] edits the patient's own graft: it needs [donor] relation = "
            '"autologous" and a [graft] section (the edited product)'
        )
    if donor.relation != "autologous":
        raise ValueError(
            "editing an allogeneic graft is not supported: [editing] applies to the patient's "
            f"own (autologous) CD34+ cells, got donor relation {donor.relation!r} "
            '(use relation = "autologous", or remove [editing])'
        )


def edited_composition(
    composition: GraftComposition, editing: Editing, v: Mapping[str, float]
) -> GraftComposition:
    """The composition of the edited product: stem-cell loss, committed-progenitor loss, and the
    edited cells moved from the ``host`` component into an ``edited`` component."""
    if len(composition.components) != 1 or composition.components[0].clone_class != L.HOST:
        raise ScenarioError("[editing] needs a single autologous product (host cells)")
    part = composition.components[0]
    stem, committed = v["editing_hsc_viability"], v["editing_progenitor_retention"]
    edited_cells = editing.edited_cell_fraction
    host: dict[int, float] = {}
    edited: dict[int, float] = {}
    for j, x in part.homed.items():
        if j in _STEM:
            x *= stem
        elif j in _PROGENITORS:
            x *= committed
        else:  # T cells of the product are not edited (CD34+ selection removes most)
            host[j] = x
            continue
        share = editing.hsc_fraction if j == L.HSC else edited_cells
        edited[j] = x * share
        host[j] = x * (1.0 - share)
    cd34 = part.cd34_per_kg
    return replace(
        composition,
        components=(
            replace(part, cd34_per_kg=cd34 * (1 - edited_cells), homed=host),
            replace(part, clone_class=L.EDITED, cd34_per_kg=cd34 * edited_cells,
                    t_cells_per_kg=0.0, homed=edited),
        ),
    )  # fmt: skip
