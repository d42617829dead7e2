"""Protocol text → typed steps (:func:`parse_step`); ``str(step)`` is the printer.

One line is one step. The line forms (see ``docs/protocols.md``)::

    DRUG DOSE UNIT [ROUTE] [FREQUENCY] on day D | on days A to B | on days D1, D2, ...
    DRUG DOSE UNIT [ROUTE] [daily] from day D until day E | until COUNT > X UNIT for N days
    TBI DOSE Gy|cGy [FREQUENCY] on day D | on days ...
    Infuse graft on day 0
    Transfuse platelets|RBC when PLT|Hb < X UNIT
    Apheresis VOLUME L|mL on day D | on days ...

Keywords are case-insensitive; ``+5`` and ``5`` are the same day. A line that does not fit any
form raises :class:`ProtocolError` with the one list of accepted examples, :data:`EXAMPLES`.
"""

from __future__ import annotations

import re

from marrowsim.errors import ProtocolError
from marrowsim.protocol.drugs import drug_info
from marrowsim.protocol.steps import (
    Apheresis,
    CountRule,
    DrugDose,
    GrowthFactor,
    Infusion,
    Irradiation,
    Step,
    TransfusionRule,
    _convert,
)

EXAMPLES: tuple[str, ...] = (
    "Busulfan 3.2 mg/kg IV daily on days -7 to -4",
    "Busulfan 0.8 mg/kg IV four times daily on days -7 to -4",
    "Fludarabine 30 mg/m^2 IV daily on days -6 to -2",
    "Melphalan 140 mg/m^2 IV on day -1",
    "Methotrexate 15 mg/m^2 IV on days 1, 3, 6",
    "TBI 2 Gy twice daily on days -3 to -1",
    "Infuse graft on day 0",
    "Filgrastim 5 ug/kg SC daily from day 5 until ANC > 0.5 10^9/L for 3 days",
    "Pegfilgrastim 6 mg SC on day 1",
    "Transfuse platelets when PLT < 10 10^9/L",
    "Transfuse RBC when Hb < 7 g/dL",
    "Apheresis 20 L on days 5 to 6",
)
"""The accepted examples shown in every parse error (each one parses)."""

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_INT = r"[-+]?\d+"
_DAYLIST = rf"{_INT}(?:\s*(?:,|and|to|through)\s*{_INT})*"
_DAYS = rf"on\s+days?\s+(?P<days>{_DAYLIST})"
_FREQUENCY_WORDS: dict[str, int] = {
    "daily": 1,
    "once daily": 1,
    "q24h": 1,
    "twice daily": 2,
    "twice": 2,
    "bid": 2,
    "q12h": 2,
    "three times daily": 3,
    "tid": 3,
    "q8h": 3,
    "four times daily": 4,
    "qid": 4,
    "q6h": 4,
}
_FREQ = "|".join(
    sorted((re.escape(w).replace(r"\ ", r"\s+") for w in _FREQUENCY_WORDS), key=len)[::-1]
)
_SCHEDULE = rf"(?:(?P<freq>{_FREQ})\s+)?{_DAYS}"

_DRUG_HEAD = (
    rf"(?P<drug>[A-Za-z][\w\-]*)\s+(?P<dose>{_NUM})\s*(?P<unit>\S+)"
    rf"(?:\s+(?!(?:{_FREQ}|on|from)\b)(?P<route>[A-Za-z.]+))?"
)
_FORMS: dict[str, re.Pattern[str]] = {
    "tbi": re.compile(rf"^TBI\s+(?P<dose>{_NUM})\s*(?P<unit>\S+)\s+{_SCHEDULE}$", re.I),
    "infuse": re.compile(rf"^Infuse\s+(?:the\s+)?graft(?:\s+on\s+day\s+(?P<day>{_INT}))?$", re.I),
    "transfuse": re.compile(
        rf"^Transfuse\s+(?P<product>.+?)\s+when\s+(?P<analyte>[A-Za-z]+)\s*<\s*"
        rf"(?P<threshold>{_NUM})\s*(?P<unit>\S+)$",
        re.I,
    ),
    "apheresis": re.compile(rf"^Apheresis\s+(?P<volume>{_NUM})\s*(?P<unit>\S+)\s+{_DAYS}$", re.I),
    "until": re.compile(
        rf"^{_DRUG_HEAD}\s+(?:daily\s+)?from\s+day\s+(?P<start>{_INT})\s+until\s+"
        rf"(?:day\s+(?P<stop>{_INT})|(?P<analyte>[A-Za-z]+)\s*(?P<cmp>>=|≥|>)\s*"
        rf"(?P<threshold>{_NUM})\s*(?P<unit2>\S+)\s+for\s+(?P<n>\d+)\s+(?:consecutive\s+)?days?)$",
        re.I,
    ),
    "drug": re.compile(rf"^{_DRUG_HEAD}\s+{_SCHEDULE}$", re.I),
}


def parse_error(line: str, reason: str = "") -> ProtocolError:
    """The one parse error: what was read, why, and the same list of accepted examples."""
    because = f" ({reason})" if reason else ""
    examples = "; ".join(f"'{e}'" for e in EXAMPLES)
    return ProtocolError(f"cannot read protocol line {line!r}{because}; accepted forms: {examples}")


def parse_days(text: str, line: str = "") -> tuple[int, ...]:
    """``-7 to -4`` → (-7, -6, -5, -4); ``1, 3, 6`` → (1, 3, 6); ranges and lists may mix."""
    days: list[int] = []
    for part in re.split(r"\s*(?:,|\band\b)\s*", text.strip()):
        bounds = re.split(r"\s*(?:\bto\b|\bthrough\b)\s*", part)
        if len(bounds) == 1:
            days.append(int(bounds[0]))
            continue
        if len(bounds) != 2:
            raise parse_error(line or text, f"cannot read the days {part!r}")
        first, last = int(bounds[0]), int(bounds[1])
        if last < first:
            raise ProtocolError(
                f"days {first} to {last} run backwards in {line or text!r}; "
                f"write 'on days {last} to {first}'"
            )
        days.extend(range(first, last + 1))
    return tuple(days)


def _times(match: re.Match[str]) -> int:
    freq = match.group("freq")
    return _FREQUENCY_WORDS[" ".join(freq.lower().split())] if freq else 1


def _normalise(line: str) -> str:
    text = " ".join(line.replace("\u2212", "-").split())
    return re.sub(r"(?<=\d)\s*[x×]\s*10\^", " 10^", text)  # "0.5 x 10^9/L" → "0.5 10^9/L"


def parse_step(line: str) -> Step:
    """Parse one protocol line into a typed step (raises :class:`ProtocolError`)."""
    if not isinstance(line, str):
        raise ProtocolError(f"a protocol line must be text, got {type(line).__name__}")
    text = _normalise(line)
    if not text:
        raise parse_error(line, "the line is empty")
    keyword = text.split()[0].lower()
    if keyword in ("tbi", "infuse", "transfuse", "apheresis"):
        form = keyword
    elif re.search(r"\bfrom\s+day\b", text, re.I):
        form = "until"
    else:
        form = "drug"
    match = _FORMS[form].match(text)
    if match is None:
        raise parse_error(line)
    return _BUILDERS[form](match, line)


def _tbi(m: re.Match[str], line: str) -> Step:
    dose, _ = _convert(float(m["dose"]), m["unit"], ("Gy",), "TBI")
    return Irradiation(dose, _times(m), parse_days(m["days"], line))


def _infuse(m: re.Match[str], line: str) -> Step:
    return Infusion(int(m["day"]) if m["day"] else 0)


def _transfuse(m: re.Match[str], line: str) -> Step:
    return TransfusionRule(m["product"], m["analyte"], float(m["threshold"]), m["unit"])


def _apheresis(m: re.Match[str], line: str) -> Step:
    volume, _ = _convert(float(m["volume"]), m["unit"], ("L",), "apheresis volume")
    return Apheresis(volume, parse_days(m["days"], line))


def _route(m: re.Match[str]) -> str:
    return m["route"] or drug_info(m["drug"]).default_route


def _until(m: re.Match[str], line: str) -> Step:
    if m["stop"] is not None:
        stop: int | CountRule = int(m["stop"])
    else:
        stop = CountRule(m["analyte"], m["cmp"], float(m["threshold"]), m["unit2"], int(m["n"]))
    return GrowthFactor(m["drug"], float(m["dose"]), m["unit"], _route(m), int(m["start"]), stop)


def _drug(m: re.Match[str], line: str) -> Step:
    days = parse_days(m["days"], line)
    return DrugDose(m["drug"], float(m["dose"]), m["unit"], _route(m), days, _times(m))


_BUILDERS = {
    "tbi": _tbi,
    "infuse": _infuse,
    "transfuse": _transfuse,
    "apheresis": _apheresis,
    "until": _until,
    "drug": _drug,
}
