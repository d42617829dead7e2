"""Scenario sections of a transplant: `[donor]`, `[graft]`, `[conditioning]`, `[protocol]`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

GRAFT_SOURCES = ("peripheral_blood", "bone_marrow", "cord_blood")
RELATIONS = ("autologous", "matched_sibling", "unrelated", "haploidentical", "cord")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_grade(v: str | None) -> str | None:
    if v is None:
        return v
    from marrowsim.clinical.hla import parse_grade

    parse_grade(v)  # raises a clear error for "9/8", "seven of eight" ...
    return v


def _check_typing(v: str | None, where: str) -> str | None:
    """Syntax and names against the reference release (docs/hla.md); needs the data."""
    if v is None:
        return v
    from marrowsim.clinical.compatibility import validate_typing

    return validate_typing(v, where=where)


class _HlaTyped(_Strict):
    """A section with an HLA typing and/or a match grade given directly."""

    hla: str | None = None
    hla_match: str | None = None  # e.g. "7/8": a grade given directly, needs no reference data
    hla_where: ClassVar[str] = "hla"  # how errors name the typing's place in the scenario

    @field_validator("hla_match")
    @classmethod
    def _grade(cls, v: str | None) -> str | None:
        return _check_grade(v)

    @field_validator("hla")
    @classmethod
    def _typing(cls, v: str | None) -> str | None:
        return _check_typing(v, cls.hla_where)


class CordUnit(_HlaTyped):
    """One cord blood unit, doses per kg of recipient weight (infused); ``hla`` is matched
    against ``[patient] hla``."""

    hla_where: ClassVar[str] = "[graft] units hla"
    tnc_per_kg: float = Field(gt=0, le=1e9)
    cd34_per_kg: float = Field(gt=0, le=1e8)


class Donor(_HlaTyped):
    """Whose cells the graft carries and how compatible they are."""

    hla_where: ClassVar[str] = "[donor] hla"
    relation: Literal["autologous", "matched_sibling", "unrelated", "haploidentical", "cord"]
    age_years: float | None = Field(default=None, ge=0, le=100)
    sex: Literal["male", "female"] | None = None


class Graft(_Strict):
    """The infused product; doses per kg of recipient weight."""

    source: Literal["peripheral_blood", "bone_marrow", "cord_blood"]
    cd34_per_kg: float | None = Field(default=None, gt=0, le=1e9)
    tnc_per_kg: float | None = Field(default=None, gt=0, le=1e10)
    cd3_per_kg: float | None = Field(default=None, ge=0, le=1e10)
    cryopreserved: bool = False
    cd34_selected: bool = False
    units: tuple[CordUnit, ...] = ()
    from_collection: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Graft:
        if self.source == "cord_blood":
            if self.units and self.cd34_per_kg is not None:
                raise ValueError("a cord graft gives either units = [...] or cd34_per_kg, not both")
            if not self.units and self.cd34_per_kg is None:
                raise ValueError("a cord graft needs units = [{tnc_per_kg, cd34_per_kg}, ...]")
            if len(self.units) > 2:
                raise ValueError(f"a cord graft has one or two units, got {len(self.units)}")
        else:
            if self.units:
                raise ValueError(f"units = [...] is only for cord_blood grafts, not {self.source}")
            if self.cd34_per_kg is None and not self.from_collection:
                raise ValueError("graft needs cd34_per_kg (or from_collection = true)")
            if self.cd34_per_kg is not None and self.from_collection:
                raise ValueError("give either cd34_per_kg or from_collection = true, not both")
        return self


class Conditioning(_Strict):
    """A named regimen (``regimen = "BuCy"``) or explicit protocol lines (``steps = [...]``)."""

    regimen: str | None = None
    steps: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one(self) -> Conditioning:
        if (self.regimen is None) == (not self.steps):
            raise ValueError('give either regimen = "NAME" or steps = [...] in [conditioning]')
        if self.regimen is not None:
            from marrowsim.protocol import regimen

            regimen(self.regimen)  # unknown names raise with "did you mean"
        else:
            self.protocol()  # parse errors name the section (and its line) at load time
        return self

    def protocol(self):
        from marrowsim.protocol import Protocol, regimen

        if self.regimen is not None:
            return regimen(self.regimen).protocol
        return Protocol.from_lines(list(self.steps))


class ProtocolSection(_Strict):
    """Post-transplant steps (growth factor, post-transplant Cy) and morning-count rules."""

    steps: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    @field_validator("steps", "rules")
    @classmethod
    def _parse(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        from marrowsim.protocol import parse_step

        for line in v:
            parse_step(line)
        return v

    def protocol(self):
        from marrowsim.protocol import Protocol

        return Protocol.from_lines([*self.steps, *self.rules])


def as_mapping(model: BaseModel | None) -> dict[str, Any]:
    return {} if model is None else model.model_dump()
