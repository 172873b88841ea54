# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario s2: sipp caller → kampy (record_route + t_relay, in-dialog by
loose_route) → sipp callee.  Reports the highest call rate with no failed
call and the proxy CPU per call at a fixed 200 calls/s.

Run: python -m tools.bench.s2 [--duration 10] [--children 2] [--shm 256]   (prints; asserts nothing)
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from harness import Kampy, free_udp_port  # noqa: E402
from .s1 import cpu_seconds, run_sipp  # noqa: E402

CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
modparam("rr", "append_fromtag", 1)
request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    if (has_totag()) {
        if (loose_route()) { t_relay(); exit; }
        # sipp's built-in caller sends its ACK and BYE without the Route set
        t_relay("127.0.0.1", CALLEE);
        exit;
    }
    if (is_method("INVITE")) { record_route(); }
    t_relay("127.0.0.1", CALLEE);
}
"""


def run_calls(port, rate, seconds, workdir):
    res = run_sipp(port, rate, seconds, workdir, ["-sn", "uac", "-s", "bob"], limit=max(200, rate * 2))
    if res[1] or res[0] < rate * seconds:
        time.sleep(5)      # let the daemon drain what an overload left queued before the next step
    return res


def main(cfg=None, name="s2"):
    cfg = cfg or CFG
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--children", type=int, default=2)
    ap.add_argument("--max-rate", type=int, default=3000)
    ap.add_argument("--shm", type=int, default=256,
                    help="shared memory MB (-m), as the side-by-side harness gives both daemons")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        callee = free_udp_port()
        uas = subprocess.Popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(callee), "-nostdin"],
                               cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        k = Kampy(tmp, cfg.replace("CALLEE", str(callee)), children=a.children,
                  extra_args=("-m", str(a.shm))).start()
        try:
            pids = k.pids()
            c0 = cpu_seconds(pids)
            succ, fail, retr, took = run_calls(k.port, 200, a.duration, tmp)
            per = (cpu_seconds(pids) - c0) / max(succ, 1) * 1e3
            print("%s at 200 calls/s for %ds: %d ok, %d failed, %d retransmissions; kampy CPU %.2f ms per call"
                  % (name, a.duration, succ, fail, retr, per))
            lo, hi, rate = 0, None, 200
            while rate <= a.max_rate:
                succ, fail, retr, took = run_calls(k.port, rate, a.duration, tmp)
                ok = fail == 0 and succ == rate * a.duration
                print("  %5d calls/s: %s %s" % (rate, "ok  " if ok else "FAIL", (succ, fail, retr, round(took, 1))))
                if not ok:
                    hi = rate
                    break
                lo = rate
                rate *= 2
            if hi is not None:
                while hi - lo > max(25, lo // 20):
                    mid = (lo + hi) // 2
                    succ, fail, retr, took = run_calls(k.port, mid, a.duration, tmp)
                    ok = fail == 0 and succ == mid * a.duration
                    print("  %5d calls/s: %s %s" % (mid, "ok  " if ok else "FAIL", (succ, fail, retr, round(took, 1))))
                    lo, hi = (mid, hi) if ok else (lo, mid)
            print("%s highest call rate with no failed call (children=%d): %d calls/s" % (name, a.children, lo))
        finally:
            k.stop()
            uas.kill()
            uas.wait(5)


if __name__ == "__main__":
    main()
