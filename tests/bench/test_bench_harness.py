# SPDX-License-Identifier: GPL-2.0-or-later
"""The side-by-side harness (python -m tools.bench) runs every scenario for a
moment at a low rate against kampy, so that it cannot rot.  The figures
themselves come from running it by hand; here only that each step produced
what the report is made of."""

import pytest

from tools.bench import compare as C   # first: it puts tests/integration on sys.path
from tools.bench.__main__ import main

from toolcheck import require_tool  # noqa: E402


@pytest.mark.parametrize("scenario", ["s1", "s2", "s2u", "s4"])
def test_bench_rate_scenario_runs(tmp_path, scenario):
    require_tool("sipp")
    lines = []
    r = C.measure_rate_scenario(C.KampyTarget, scenario, str(tmp_path), 1, fixed_rate=20, search=False,
                                log=lines.append)
    assert r["fixed_ok"], lines
    # CPU comes in clock ticks: 20 requests may take less than one
    assert r["cpu_ms"] >= 0 and r["cpu_total_s"] > 0 and r["mem_mb"] > 1, r
    assert r["p50_ms"] is not None and r["p99_ms"] >= r["p50_ms"], r     # sipp's -trace_rtt was read
    assert [(p[0], p[2]) for p in r["points"]] == [(20, True)], r


def test_bench_s3_runs(tmp_path):
    require_tool("sipp")
    lines = []
    r = C.measure_s3(C.KampyTarget, str(tmp_path), records=20, limit=30, log=lines.append)
    assert r["registered"] == 20 and r["time_s"] is not None, lines
    assert 0 < r["time_s"] < 30 and r["cpu_s"] > 0, r


def test_bench_cli_searches_and_reports(capsys):
    """Step up from 20/s to the 40/s ceiling, then the report (printed, not
    written: --no-report leaves RESULTS.md alone)."""
    require_tool("sipp")
    results = main(["--target", "kampy", "--scenario", "s1", "--duration", "1", "--repeat", "1",
                    "--fixed-rate", "20", "--start-rate", "20", "--max-rate", "40", "--no-report"])
    out = capsys.readouterr().out
    run = results["s1"]["targets"]["kampy"]["runs"][0]
    assert [p[0] for p in run["points"]] == [20, 20, 40] and run["max_rate"] == 40, out
    assert run["at_ceiling"], run
    assert "| highest sustained rate (requests/s) | ≥ 40 | – | – |" in out, out
    assert "| s1 | max_rate ≥ 0.5× | – | not measured |" in out, out
