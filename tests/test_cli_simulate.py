"""``marrowsim simulate | demo | scenarios list | params list/show`` and their input errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from marrowsim.cli import main

DAILY_KEYS = ["day", "anc", "wbc", "lymphocytes", "hb", "reticulocytes", "platelets", "hsc"]
MINIMAL = 'name = "x"\n[patient]\nage_years = 40\nweight_kg = 70\nsex = "male"\n'


def test_simulate_json_is_exactly_one_object(capsys):
    assert main(["simulate", "healthy-adult", "--days", "20", "--seed", "5", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    doc = json.loads(out)
    assert list(doc) == ["scenario", "seed", "outcomes", "daily"]
    assert doc["scenario"] == "healthy-adult" and doc["seed"] == 5
    assert list(doc["daily"]) == DAILY_KEYS
    assert doc["daily"]["day"] == list(range(21))
    assert all(len(v) == 21 for v in doc["daily"].values())
    assert doc["daily"]["anc"][-1] == pytest.approx(4.0)
    assert doc["daily"]["hb"][0] == pytest.approx(15.0)  # g/dL
    assert doc["daily"]["hsc"][0] == pytest.approx(1e5)  # cells
    assert doc["outcomes"]["anc_nadir"] == pytest.approx(4.0)


def test_simulate_out_writes_png_and_json(capsys, tmp_path):
    out = tmp_path / "results"
    assert main(["simulate", "hsc-loss", "--days", "30", "--json", "--out", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (out / "hsc-loss.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "hsc-loss.json").read_text()) == doc
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_simulate_prints_a_table_of_outcomes(capsys, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL)
    assert main(["simulate", str(path), "--days", "5"]) == 0
    out = capsys.readouterr().out
    assert "anc_nadir" in out and "x - key results" in out


def test_demo_writes_png_and_json_into_marrowsim_out(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "neutrophil_engraftment_day" in out and "not a medical device" in out
    folder = tmp_path / "marrowsim-out"
    assert (folder / "allo-pbsc-mac.png").read_bytes()[:4] == b"\x89PNG"
    doc = json.loads((folder / "allo-pbsc-mac.json").read_text())
    assert list(doc["daily"]) == DAILY_KEYS and doc["daily"]["day"][0] < 0  # conditioning days
    assert doc["outcomes"]["neutrophil_engraftment_day"] is not None


def test_scenarios_list(capsys):
    assert main(["scenarios", "list"]) == 0
    assert "healthy-adult" in capsys.readouterr().out
    assert main(["scenarios", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"healthy-adult", "hsc-loss"} <= set(listed)
    assert "healthy 40-year-old" in listed["healthy-adult"]


def test_params_list_and_show(capsys):
    assert main(["params", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["hsc_division_rate"] == {"value": 0.00357, "units": "1/day", "source": "Catlin2011"}
    assert main(["params", "list"]) == 0
    assert "hsc_division_rate" in capsys.readouterr().out
    assert main(["params", "show", "hsc_division_rate"]) == 0
    out = capsys.readouterr().out
    assert "0.00357 1/day" in out and "Catlin2011" in out and "lognormal" in out
    assert main(["params", "show", "lymphocyte_lifespan_days"]) == 0
    assert "assumption:" in capsys.readouterr().out


def test_params_list_markdown(capsys, tmp_path):
    assert main(["params", "list", "--markdown"]) == 0
    table = capsys.readouterr().out
    assert "#### Catlin2011" in table and "| `hsc_division_rate` | 0.00357 | 1/day |" in table
    doc = tmp_path / "model.md"
    from marrowsim.parameters.markdown import BEGIN, END

    doc.write_text(f"# Model\n\n{BEGIN}\nSTALE TABLE\n{END}\n\nafter\n")
    assert main(["params", "list", "--markdown", "--update", str(doc)]) == 0
    text = doc.read_text()
    assert "STALE" not in text and table.strip() in text and text.endswith(f"{END}\n\nafter\n")


def _write(tmp_path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            lambda t: ["simulate", _write(t, MINIMAL + "sexx = 1\n")],
            "unknown key 'patient.sexx'; did you mean 'sex'?",
        ),
        (
            lambda t: ["simulate", _write(t, MINIMAL.replace("= 70", '= "70 cm"'))],
            "unit 'cm' is a length unit, expected a mass unit",
        ),
        (
            lambda t: ["simulate", _write(t, MINIMAL.replace("= 70", "= -70"))],
            "patient.weight_kg: Input should be greater than 0 (got -70)",
        ),
        (lambda t: ["simulate", "healthy-adlt"], "did you mean 'healthy-adult'?"),
        (lambda t: ["simulate", "missing.toml"], "scenario file 'missing.toml' does not exist"),
        (lambda t: ["simulate", "healthy-adult", "--days", "0"], "--days must be positive, got 0"),
        (lambda t: ["simulate", "healthy-adult", "--days", "x"], "Invalid value for '--days'"),
        (lambda t: ["simulate", "healthy-adult", "--bogus"], "No such option: --bogus"),
        (lambda t: ["params", "show", "hsc_divison_rate"], "did you mean 'hsc_division_rate'?"),
        (lambda t: ["params", "list", "--update", "x.md"], "--update needs --markdown"),
        (
            lambda t: ["params", "list", "--markdown", "--update", str(t / "none.md")],
            "none.md' does not exist",
        ),
        (
            lambda t: ["params", "list", "--markdown", "--update", _write(t, "no markers")],
            "needs exactly one pair of generated-table markers",
        ),
    ],
)
def test_input_errors_exit_2_with_one_line(capsys, tmp_path, args, message):
    assert main(args(tmp_path)) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("marrowsim: error: ") and captured.err.count("\n") == 1
    assert message in captured.err
    assert captured.out == ""


def test_the_installed_command_exits_2_without_traceback(tmp_path):
    path = _write(tmp_path, MINIMAL.replace("= 70", '= "70 cm"'))
    run = subprocess.run(
        [sys.executable, "-c", "from marrowsim.cli import main; main()", "simulate", path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1
    assert run.stdout == ""


def test_help_and_no_arguments_exit_0_and_unknown_command_exits_2(capsys):
    assert main([]) == 0
    assert main(["--help"]) == 0
    assert "simulate" in capsys.readouterr().out
    assert main(["simulte"]) == 2
    assert "No such command 'simulte'" in capsys.readouterr().err
