"""Small helpers that write SBML elements: parameters, annotations, math."""

from __future__ import annotations

import libsbml

from marrowsim.errors import MarrowsimError
from marrowsim.export import units as U
from marrowsim.export.symbolic import Expr
from marrowsim.export.trace import TracedModel

NAMESPACE = "https://marrowsim.org/sbml-export/1"


class SBMLExportError(MarrowsimError, RuntimeError):
    """The exported document failed libsbml's consistency check (a bug: please report it)."""


def xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "'")


def annotate(element: libsbml.SBase, tag: str, **attributes: str) -> None:
    """A ``<marrowsim:TAG attr="..."/>`` annotation."""
    attrs = " ".join(f'{k}="{xml_text(v)}"' for k, v in attributes.items() if v)
    element.setAnnotation(
        f'<annotation><marrowsim:{tag} xmlns:marrowsim="{NAMESPACE}" {attrs}/></annotation>'
    )


def add_parameter(
    model: libsbml.Model, sid: str, value: float, units: str | None, *, constant: bool, name=""
) -> libsbml.Parameter:
    parameter = model.createParameter()
    parameter.setId(sid)
    parameter.setValue(float(value))
    parameter.setConstant(constant)
    if units is not None:
        parameter.setUnits(U.sbml_unit(units))
    if name:
        parameter.setName(name)
    return parameter


def math_of(traced: TracedModel, node: Expr | float, *, top: bool = True) -> libsbml.ASTNode:
    """libsbml math of ``node`` with the hoisted values written by name."""
    text = traced.ctx.infix(node, traced.names) if top else traced.names[node]
    ast = libsbml.parseL3Formula(text)
    if ast is None:
        raise SBMLExportError(f"cannot write {text[:80]!r}: {libsbml.getLastParseL3Error()}")
    return ast
