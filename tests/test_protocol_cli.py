"""``marrowsim regimens list|show`` and ``marrowsim protocol check``."""

from __future__ import annotations

import json

from marrowsim.cli import main


def test_regimens_list_json(capsys):
    assert main(["regimens", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["FluBu2"]["intensity"] == "reduced_intensity"
    assert data["Mel200"]["indication"] == "autologous"


def test_regimens_list_table(capsys):
    assert main(["regimens", "list"]) == 0
    assert "BuCy" in capsys.readouterr().out


def test_regimens_show(capsys):
    assert main(["regimens", "show", "flu/mel"]) == 0
    out = capsys.readouterr().out
    assert "Melphalan 140 mg/m^2 IV on day -1" in out and "UNVERIFIED" in out
    assert main(["regimens", "show", "BEAM", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"][-1] == "Infuse graft on day 0"


def test_regimens_show_unknown(capsys):
    assert main(["regimens", "show", "FluBu3"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'FluBu4'" in err and err.count("\n") == 1


def test_protocol_check_prints_canonical(capsys):
    assert main(["protocol", "check", "bu 3.2 mg/kg on days -5 to -2", "TBI 200 cGy on day 0"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Busulfan 3.2 mg/kg IV daily on days -5 to -2",
        "TBI 2 Gy on day 0",
    ]


def test_protocol_check_json(capsys):
    assert main(["protocol", "check", "--json", "Transfuse RBC when Hb < 70 g/L"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {"lines": ["Transfuse RBC when Hb < 7 g/dL"], "steps": ["TransfusionRule"]}


def test_protocol_check_error_is_one_line_exit_2(capsys):
    assert main(["protocol", "check", "Busulfan 3.2 g/dL IV daily on days -7 to -4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "allowed: mg/kg, mg/m^2" in err
