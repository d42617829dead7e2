"""The infused graft: composition by source, processing, homing and the clone class it seeds.

A graft is described clinically (``[graft]``: source, CD34+ and T-cell doses per kg,
cryopreservation, CD34+ selection, cord units); here it becomes cells per kg in the model's
compartments:

* long-term HSCs from the CD34+ dose and the source's SCID-repopulating-cell frequency (Wang 1997)
  per CD34+ cell (``src_frequency_<source> / cd34_fraction_of_mnc_<source>``);
* multipotent progenitors (MPP), common myeloid progenitors (CMP), megakaryocyte-erythroid
  progenitors (MEP) and lymphoid progenitors from the CD34+ composition of a mobilized graft
  (AsctPlt2025: HSC 4.1 %, MPP 7.2 %, CMP 28.4 %, MEP 14.8 % of CD34+);
* T cells (CD3+/kg) given in the scenario or the source's typical content, reduced ~3 log by CD34+
  selection, entering the blood-equivalent lymphocyte pool;
* post-thaw viability for cryopreserved products (Abbruzzese 2013) and the homing fraction of
  infused stem and progenitor cells (assumption; mouse data only).

Donor cells enter the donor clone class (a second cord unit the ``donor2`` class); an autologous
graft returns the patient's own (host) cells, and an edited autologous graft puts its edited cells
into the ``edited`` class (``clinical/editing.py``). Sources and assumptions:
``docs/transplant.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marrowsim.errors import InputError
from marrowsim.model import layout as L

SOURCE_KEYS = {"peripheral_blood": "pbsc", "bone_marrow": "marrow", "cord_blood": "cord"}


@dataclass(frozen=True)
class GraftComponent:
    """The cells of one product (a graft, or one cord unit) that reach the marrow, per kg."""

    clone_class: int
    cd34_per_kg: float  # infused (viable) CD34+ cells per kg of recipient
    t_cells_per_kg: float  # infused CD3+ cells per kg after processing
    homed: Mapping[int, float]  # compartment index -> cells per kg in the marrow niche


@dataclass(frozen=True)
class GraftComposition:
    """What a graft delivers to the model, with the factors that produced it."""

    source: str
    viability: float
    homing_fraction: float
    components: tuple[GraftComponent, ...]

    def infusion_cells(self) -> list[tuple[int, int, float]]:
        """``(clone class, compartment, cells per kg)`` added at infusion (positive doses only)."""
        out = []
        for part in self.components:
            out += [(part.clone_class, j, x) for j, x in part.homed.items() if x > 0]
        return out

    def summary(self) -> dict[str, Any]:
        """Per product: class, CD34+/kg, CD3+/kg and homed cells per kg by compartment name."""
        return {
            "source": self.source,
            "viability": self.viability,
            "homing_fraction": self.homing_fraction,
            "products": [
                {
                    "clone_class": L.CLASS_NAMES[p.clone_class],
                    "cd34_per_kg": p.cd34_per_kg,
                    "cd3_per_kg": p.t_cells_per_kg,
                    "homed_per_kg": {L.COMPARTMENT_NAMES[j]: x for j, x in p.homed.items()},
                }
                for p in self.components
            ],
        }


def _products(graft, relation: str) -> list[tuple[int, float]]:
    """(clone class, CD34+/kg) of each product of the graft."""
    if graft.source == "cord_blood" and graft.units:
        return [(L.DONOR if i == 0 else L.DONOR2, u.cd34_per_kg) for i, u in enumerate(graft.units)]
    if graft.cd34_per_kg is None:
        raise InputError(
            "the graft has no cd34_per_kg: give it, or set from_collection = true with a "
            "[mobilization] section so that the collected dose is used"
        )
    klass = L.HOST if relation == "autologous" else L.DONOR
    return [(klass, graft.cd34_per_kg)]


def graft_composition(
    graft, relation: str, v: Mapping[str, float], *, editing=None
) -> GraftComposition:
    """Compose a validated ``[graft]`` section with parameter values ``v`` of one patient.

    ``editing`` (an ``[editing]`` section of an autologous graft) splits the product into edited
    and unedited cells (:func:`marrowsim.clinical.editing.edited_composition`)."""
    source = SOURCE_KEYS[graft.source]
    viability = v["cryopreserved_viability"] if graft.cryopreserved else 1.0
    homing = v["homing_fraction"]
    lt_hsc_per_cd34 = v[f"src_frequency_{source}"] / v[f"cd34_fraction_of_mnc_{source}"]
    mep, erythroid = v["graft_fraction_mep"], v["graft_mep_erythroid_share"]
    products = _products(graft, relation)
    cd3 = graft.cd3_per_kg if graft.cd3_per_kg is not None else v[f"cd3_per_kg_{graft.source}"]
    if graft.cd34_selected:
        cd3 *= v["cd34_selection_t_cell_depletion"]
    cd3_each = cd3 / len(products)
    components = []
    for klass, cd34 in products:
        viable = cd34 * viability
        homed = viable * homing
        cells = {
            L.HSC: homed * lt_hsc_per_cd34,
            L.MPP3: homed * v["graft_fraction_mpp"],
            L.CMP: homed * v["graft_fraction_cmp"],
            L.EP: homed * mep * erythroid * v["graft_mep_erythroid_yield"],
            L.MKP: homed * mep * (1 - erythroid) * v["graft_mep_megakaryocyte_yield"],
            L.LP: homed * v["graft_fraction_lymphoid_progenitors"],
            # infused T cells join the blood-equivalent lymphocyte pool
            L.LYM: cd3_each * v["lymphocyte_blood_fraction"],
        }
        components.append(GraftComponent(klass, viable, cd3_each, cells))
    composition = GraftComposition(graft.source, viability, homing, tuple(components))
    if editing is not None:
        from marrowsim.clinical.editing import edited_composition

        composition = edited_composition(composition, editing, v)
    return composition
