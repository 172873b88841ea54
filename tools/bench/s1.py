# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario s1: sipp sends OPTIONS, kampy answers 200 with sl_send_reply.

Reports the highest rate sustained with no failed and no retransmitted
request (stepping the rate up, then bisecting), and the proxy's CPU time per
request at a fixed 2 000/s, summed over every kampy process (from /proc).

Run: python -m tools.bench.s1 [--duration 10] [--children 2]   (prints; asserts nothing)
"""

import argparse
import csv
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from harness import Kampy, SCENARIOS, free_udp_port  # noqa: E402

CFG = """
loadmodule "sl.so"
loadmodule "textops.so"
request_route {
    if (is_method("OPTIONS")) {
        sl_send_reply("200", "OK");
        exit;
    }
    sl_send_reply("404", "Not here");
}
"""

CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    total = 0
    for pid in pids:
        try:
            fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])   # utime + stime
    return total / CLK


def run_sipp(port, rate, seconds, workdir, scenario=None, limit=None, give_up=None):
    """One sipp run at `rate` for `seconds` (OPTIONS unless another scenario's
    arguments are given); returns (successful, failed, retransmissions, seconds taken).
    give_up: seconds after which sipp is stopped (sipp's own -timeout waits
    for hung calls to time out; this does not): what its statistics file
    says then is the result, the calls it had not finished count as failed.
    Default seconds + 30."""
    n = int(rate * seconds)
    stat = pathlib.Path(workdir) / ("stat_%d.csv" % rate)
    if stat.exists():
        stat.unlink()
    scenario = scenario or ["-sf", str(SCENARIOS / "options_uac.xml"), "-rp", "1000", "-max_socket", "1000"]
    cmd = ["sipp", "127.0.0.1:%d" % port] + scenario + [
        "-m", str(n), "-r", str(rate), "-l", str(limit or max(1000, rate)),
        "-i", "127.0.0.1", "-p", str(free_udp_port()), "-nostdin", "-timeout", "%ds" % (give_up or seconds + 30),
        "-trace_stat", "-stf", str(stat), "-fd", "1"]
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(give_up + 2 if give_up else seconds + 60)
    except subprocess.TimeoutExpired:
        proc.kill()          # its statistics file is written every second (-fd 1)
        proc.wait(5)
    took = time.time() - t0
    rows = list(csv.reader(open(stat), delimiter=";")) if stat.exists() else []
    if len(rows) < 2:
        return 0, n, 0, took
    col = {name: i for i, name in enumerate(rows[0])}
    last = rows[-1]
    succ = int(last[col["SuccessfulCall(C)"]])
    return (succ, max(int(last[col["FailedCall(C)"]]), n - succ if proc.returncode else 0),
            int(last[col["Retransmissions(C)"]]), took)


def sustained(port, rate, seconds, workdir):
    succ, fail, retr, took = run_sipp(port, rate, seconds, workdir)
    ok = fail == 0 and retr == 0 and succ == int(rate * seconds) and took < seconds * 1.3 + 5
    return ok, (succ, fail, retr, took)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--children", type=int, default=2)
    ap.add_argument("--max-rate", type=int, default=30000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        k = Kampy(tmp, CFG, children=a.children).start()
        try:
            pids = k.pids()
            # CPU per request at a fixed 2 000/s
            c0 = cpu_seconds(pids)
            succ, fail, retr, took = run_sipp(k.port, 2000, a.duration, tmp)
            c1 = cpu_seconds(pids)
            per = (c1 - c0) / max(succ, 1) * 1e6
            print("s1 at 2000/s for %ds: %d ok, %d failed, %d retransmissions; "
                  "kampy CPU %.2f s = %.1f us per request" % (a.duration, succ, fail, retr, c1 - c0, per))
            # highest sustained rate
            lo, hi = 0, None
            rate = 2000
            while rate <= a.max_rate:
                ok, res = sustained(k.port, rate, a.duration, tmp)
                print("  %6d/s: %s %s" % (rate, "ok  " if ok else "FAIL", res))
                if not ok:
                    hi = rate
                    break
                lo = rate
                rate *= 2
            if hi is not None:
                while hi - lo > max(250, lo // 20):
                    mid = (lo + hi) // 2
                    ok, res = sustained(k.port, mid, a.duration, tmp)
                    print("  %6d/s: %s %s" % (mid, "ok  " if ok else "FAIL", res))
                    if ok:
                        lo = mid
                    else:
                        hi = mid
            print("s1 highest sustained rate (children=%d): %d requests/s" % (a.children, lo))
        finally:
            k.stop()


if __name__ == "__main__":
    main()
