"""Smoke test of the benchmark harness (``make bench``) on tiny sizes, every case (the issue 6
cases included: transplant engine vs LSODA vs libroadrunner, throughput and memory, the cohort
command). It asserts no timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
TINY = ["--patients", "6", "--days", "12", "--baseline-patients", "2", "--accuracy-patients", "1"]


def test_benchmark_harness_runs_every_case_and_writes_markdown(tmp_path):
    out = tmp_path / "performance.md"
    run = subprocess.run(
        [sys.executable, str(RUN), "--quick", *TINY, "--write", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    text = out.read_text()
    assert text.startswith("# marrowsim performance")
    assert "Quick mode" in text and "## Machine" in text and "numba threads" in text
    for case in ("healthy-adult-10k", "hsc-loss-10k", "transplant-365d", "cohort-1e6"):
        assert f"## {case}:" in text
    assert text.count("speed-up per patient at equal accuracy (LSODA / engine)") == 2
    assert "max relative error vs DOP853" in text
    # issue 6: engine vs LSODA vs libroadrunner, throughput and memory, the cohort path
    assert "libroadrunner (CVODE) loop, rtol = atol" in text
    assert text.count("work-precision, engine rtol = atol") == 4
    assert "throughput, engine path" in text and "peak memory" in text
    assert "patients, " in text and "target: 10^6 x 365 days" in text


def test_benchmark_list(tmp_path):
    run = subprocess.run(
        [sys.executable, str(RUN), "--list"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0 and "healthy-adult-10k" in run.stdout
