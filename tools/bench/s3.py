# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario s3: N uacreg records (SQLite) registering against a sipp
registrar that challenges every REGISTER (401, then 200 after checking the
digest).  Reports the time from start until all N are registered, the
authenticated registrations (and REGISTER transactions) per second, the CPU
seconds kampy used for it (all processes, from /proc), then the timer
process's CPU at steady state (expires 3600: no refresh is due).

Run: python -m tools.bench.s3 [--records 1000 10000] [--children 4] [--steady 60]
(prints; asserts nothing)
"""

import argparse
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
from .s1 import cpu_seconds  # noqa: E402
from .compare import BENCH_SCENARIOS, granted_count  # noqa: E402

CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "db_sqlite.so"
loadmodule "uac.so"
modparam("rr", "append_fromtag", 1)
modparam("tm", "table_mb", TMMB)
modparam("uac", "reg_db_url", "DBURL")
modparam("uac", "reg_contact_addr", "127.0.0.1:KPORT")
modparam("uac", "reg_timer_interval", 1)
modparam("uac", "reg_retry_interval", 5)
request_route {
    sl_send_reply("404", "Not here");
}
"""


def make_db(path, n, registrar_port):
    import kampy.db as D
    url = "sqlite://" + str(path)
    D.schema.create(url)
    import sqlite3
    con = sqlite3.connect(str(path))
    con.executemany(
        "INSERT INTO uacreg (l_uuid, l_username, l_domain, r_username, r_domain, realm, auth_username,"
        " auth_password, auth_ha1, auth_proxy, expires, flags, reg_delay, contact_addr, socket)"
        " VALUES (?, ?, 'local.test', ?, 'prov.test', 'prov.test', ?, 'secret', '', ?, 3600, 0, 0, '', '')",
        [("b%06d" % i, "user%d" % i, "acc%d" % i, "acc%d" % i, "sip:127.0.0.1:%d" % registrar_port)
         for i in range(n)])
    con.commit()
    con.close()
    return url


def stat(k, name):
    for line in k.rpc("stats.get_statistics", name, timeout=30):
        if line.startswith(name + " = "):
            return int(line.split(" = ")[1])
    return 0


def timer_pid(k):
    return [p["PID"] for p in k.rpc("core.psx") if p["DSC"] == "kampy: timer"][0]


def run(n, children, steady, workdir, settle=35, limit=300):
    sipp_port = free_udp_port()
    regdir = pathlib.Path(workdir) / ("registrar_%d" % n)
    regdir.mkdir()
    # the registrar's -trace_rtt lists each grant: counted there, kampy is not polled
    uas = subprocess.Popen(["sipp", "-i", "127.0.0.1", "-p", str(sipp_port), "-sf",
                            str(BENCH_SCENARIOS / "registrar_rtd.xml"), "-set", "granted", "3600", "-nostdin",
                            "-timeout", "%ds" % (limit + steady + 60), "-trace_rtt", "-rtt_freq", "1"],
                           cwd=str(regdir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = make_db(pathlib.Path(workdir) / ("s3_%d.db" % n), n, sipp_port)
    port = free_udp_port()
    tm_mb = max(24, n * 8 // 1000)
    k = Kampy(workdir, CFG.replace("DBURL", url).replace("KPORT", str(port)).replace("TMMB", str(tm_mb)),
              children=children, port=port)
    k.cfg.write_text(k.cfg.read_text().replace("shm_mem=64", "shm_mem=%d" % (tm_mb + 64 + n // 200)))
    try:
        t0 = time.time()
        k.start()
        t_up = time.time()
        pids = k.pids()
        done = None
        while time.time() - t0 < limit:
            if n == 0 or granted_count(str(regdir)) >= n:
                done = time.time()
                break
            time.sleep(0.05)
        cpu = cpu_seconds(pids)
        created = stat(k, "tm:created")
        if done is None:
            print("s3 N=%d: only %d of %d registered after %ds (kampy CPU %.1f s)"
                  % (n, stat(k, "uac:regactive"), n, limit, cpu))
            return
        took = done - t0
        work = done - t_up
        active = stat(k, "uac:regactive")
        if active != n:
            print("s3 N=%d: the registrar granted all, but kampy counts %d registered" % (n, active))
        print("s3 N=%d children=%d: all registered %.1f s after start (%.1f s after the daemon was up); "
              "%.0f authenticated registrations/s, %.0f REGISTER transactions/s; kampy CPU %.1f s "
              "(%.2f ms per registration); host load average %.1f"
              % (n, children, took, work, n / max(work, 1e-3), created / max(work, 1e-3), cpu,
                 cpu * 1000 / max(n, 1), os.getloadavg()[0]))
        if steady:
            time.sleep(settle)         # tm's own timers of the burst (fr_timer, wt_timer) run out
            tp = timer_pid(k)
            c0 = cpu_seconds([tp])
            a0 = cpu_seconds(pids)
            time.sleep(steady)
            c1 = cpu_seconds([tp])
            a1 = cpu_seconds(pids)
            print("s3 N=%d steady state over %ds (from %ds after the last registration): timer process "
                  "%.2f CPU s/min (%.2f %% of one core); all processes %.2f CPU s/min; still registered %d"
                  % (n, steady, settle, (c1 - c0) * 60 / steady, (c1 - c0) * 100 / steady,
                     (a1 - a0) * 60 / steady, stat(k, "uac:regactive")))
    finally:
        k.stop()
        uas.kill()
        uas.wait(5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--children", type=int, default=4)
    ap.add_argument("--steady", type=int, default=60, help="seconds of steady state measured (0: skip)")
    ap.add_argument("--settle", type=int, default=35, help="seconds waited before measuring it")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.records:
            run(n, a.children, a.steady if n == max(a.records) else 0, tmp, a.settle)


if __name__ == "__main__":
    main()
