# SPDX-License-Identifier: GPL-2.0-or-later
"""The memory soak (python -m tools.bench.soak) runs for a few seconds at a
low rate against kampy, so that it cannot rot.  Its verdicts come from the
10-minute runs by hand; here only that every piece of the report is made."""

import json

from tools.bench import compare as C   # first: it puts tests/integration on sys.path
from tools.bench import soak

from toolcheck import require_tool  # noqa: E402

SHORT = ["--minutes", "0.1", "--interval", "1", "--warmup", "2", "--window", "2"]


def test_bench_soak_rate_scenario(tmp_path, capsys):
    require_tool("sipp")
    out = tmp_path / "soak.json"
    soak.main(["--scenario", "s2", "--rate", "20", "--out", str(out)] + SHORT)
    e = json.loads(out.read_text())["s2"]
    text = capsys.readouterr().out
    assert (e["successful"], e["failed"], e["not_done"]) == (120, 0, 0), text
    assert [s["t"] for s in e["samples"]] == [0, 1, 2, 3, 4, 5, 6], text
    # the daemon's whole tree was sampled: main, 2 receivers, timer, ctl handler
    names = sorted(p["name"] for p in e["processes"].values())
    assert len(names) == 5 and sum("udp receiver" in n for n in names) == 2, names
    rss = [s["rss_mb"] for s in e["samples"]]
    assert e["rss_mb"]["start"] == (rss[2] + rss[3]) / 2 and e["rss_mb"]["end"] == (rss[5] + rss[6]) / 2, e
    assert e["rss_mb"]["start"] > 20 and e["pss_mb"]["start"] > 5, e
    assert e["verdict"] == ("met" if e["rss_mb"]["growth_pct"] < 5 else "NOT met"), e
    assert "| s2 | 20 calls/s | 0.1 | %.1f |" % e["rss_mb"]["start"] in text, text
    # what RESULTS.md shows of it
    sec = soak.section(soak.load(out))
    assert sec[0] == "## Memory soak" and sum(ln.startswith("| s2 | 20 calls/s") for ln in sec) == 1, sec
    row = "| s2 | soak RSS growth < 5 %% (0.1 min at 20 calls/s) | %+.2f %% | %s |" % (
        e["rss_mb"]["growth_pct"], e["verdict"])
    zero = "| s2 | soak: zero failed calls (0.1 min at 20 calls/s) | 0 failed of 120 | met |"
    assert soak.target_rows(soak.load(out)) == [row, zero]


def test_bench_soak_s3_refreshes(tmp_path, capsys):
    """20 records granted 4 s refresh every 2 s: the registrar sees each of
    them several times within the 6 s, and all are registered at the end."""
    require_tool("sipp")
    out = tmp_path / "soak.json"
    soak.main(["--scenario", "s3", "--records", "20", "--rate", "10", "--out", str(out)] + SHORT)
    e = json.loads(out.read_text())["s3"]
    text = capsys.readouterr().out
    assert e["granted"] == 4 and e["registered_at_end"] == 20 and e["failed"] == 0, text
    assert e["grants"] >= 3 * 20 and e["steady_rate"] >= 5, text
    assert "| s3 | 20 records, granted 4 s: " in text, text


def test_bench_soak_arithmetic():
    """Growth compares the window after the warm-up with the last one; the
    s3 expiry follows the uac refresh rule (half the lifetime under 10 s)."""
    samples = [{"t": t, "m": v} for t, v in zip(range(0, 11), [50, 90, 100, 100, 101, 102, 103, 104, 105,
                                                                 106, 104])]
    assert soak.growth(samples, "m", 10, 2, 2) == (100, 105, 5.0)
    assert soak.mean_refresh(8) == 4.0 and soak.pick_granted(20, 10) == 4
    assert 40 < soak.mean_refresh(60) < 54
    rates = soak.max_rates(C.HERE / "results.json")
    assert set(rates) <= set(C.SCENARIO_NAMES) and all(r > 0 for r in rates.values()), rates
