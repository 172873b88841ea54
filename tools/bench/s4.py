# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario s4: sipp phones REGISTER with digest authentication against kampy
(www_authorize("", "subscriber") + save("location")), users in an SQLite
subscriber table.  Reports the proxy CPU per authenticated REGISTER (both
transactions: 401, then 200) at a fixed rate, then the highest rate with no
failure that kampy keeps up with (every REGISTER done within 1.3 x the run
time + 2 s; stepping up, then bisecting).  --no-auth measures save() alone.
Each phone registers its own AOR (phoneNNNNN, from sipp's injection file);
they all authenticate as one subscriber (sipp -au/-ap: this sipp cannot take
credentials from the injection file).

Run: python -m tools.bench.s4 [--duration 10] [--children 2] [--users 1000] [--no-auth]
(prints; asserts nothing)
"""

import argparse
import hashlib
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from harness import Kampy, SCENARIOS  # noqa: E402
from .s1 import cpu_seconds, run_sipp  # noqa: E402

REALM = "127.0.0.1"     # www_authorize("") takes the To host; sipp registers to 127.0.0.1

CFG = """
loadmodule "sl.so"
loadmodule "textops.so"
loadmodule "db_sqlite.so"
#!ifdef WITH_AUTH
loadmodule "auth.so"
loadmodule "auth_db.so"
modparam("auth_db", "db_url", "DBURL")
#!endif
loadmodule "usrloc.so"
loadmodule "registrar.so"
request_route {
    if (is_method("REGISTER")) {
#!ifdef WITH_AUTH
        if (!www_authorize("", "subscriber")) {
            www_challenge("", "0");
            exit;
        }
#!endif
        save("location");
        exit;
    }
    sl_send_reply("404", "Not here");
}
"""


AUTH_USER, AUTH_PW = "phone00000", "pw00000"


def make_users(tmp, n):
    """The subscriber table (HA1 for REALM) and sipp's injection file."""
    import sqlite3
    from kampy.db import schema
    path = pathlib.Path(tmp) / "kampy.db"
    url = "sqlite://" + str(path)
    schema.create(url, tables=("version", "subscriber"))
    users = [("phone%05d" % i, "pw%05d" % i) for i in range(max(n, 1))]
    con = sqlite3.connect(str(path))
    con.executemany("INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?, ?, ?, ?, '')",
                    [(u, REALM, p, hashlib.md5(("%s:%s:%s" % (u, REALM, p)).encode()).hexdigest())
                     for u, p in users])
    con.commit()
    con.close()
    inf = pathlib.Path(tmp) / "users.csv"
    inf.write_text("SEQUENTIAL\n" + "".join("%s;%s\n" % up for up in users))
    return url, inf


def run_registers(port, rate, seconds, workdir, inf, auth=True):
    scen = "regphone_auth.xml" if auth else "regphone_noauth.xml"
    return run_sipp(port, rate, seconds, workdir,
                    ["-sf", str(SCENARIOS / scen), "-inf", str(inf), "-au", AUTH_USER, "-ap", AUTH_PW],
                    limit=max(200, rate * 2))


def kept_up(res, rate, seconds):
    succ, fail, _retr, took = res
    ok = fail == 0 and succ == rate * seconds and took <= seconds * 1.3 + 2
    if not ok:
        time.sleep(3)     # let kampy drain what the overload left queued before the next run
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--children", type=int, default=2)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--fixed-rate", type=int, default=500)
    ap.add_argument("--max-rate", type=int, default=8000)
    ap.add_argument("--no-auth", action="store_true")
    a = ap.parse_args()
    auth = not a.no_auth
    name = "s4" if auth else "s4 (no auth)"
    with tempfile.TemporaryDirectory() as tmp:
        url, inf = make_users(tmp, a.users)
        defines = {"WITH_AUTH": None} if auth else {}
        k = Kampy(tmp, CFG.replace("DBURL", url), children=a.children, defines=defines).start()
        try:
            pids = k.pids()
            c0 = cpu_seconds(pids)
            succ, fail, retr, took = run_registers(k.port, a.fixed_rate, a.duration, tmp, inf, auth)
            per = (cpu_seconds(pids) - c0) / max(succ, 1) * 1e3
            print("%s at %d REGISTER/s for %ds: %d ok, %d failed, %d retransmissions; "
                  "kampy CPU %.2f ms per REGISTER" % (name, a.fixed_rate, a.duration, succ, fail, retr, per))
            lo, hi, rate = 0, None, a.fixed_rate
            while rate <= a.max_rate:
                succ, fail, retr, took = res = run_registers(k.port, rate, a.duration, tmp, inf, auth)
                ok = kept_up(res, rate, a.duration)
                print("  %5d REGISTER/s: %s %s" % (rate, "ok  " if ok else "FAIL",
                                                   (succ, fail, retr, round(took, 1))))
                if not ok:
                    hi = rate
                    break
                lo = rate
                rate *= 2
            if hi is not None:
                while hi - lo > max(25, lo // 20):
                    mid = (lo + hi) // 2
                    succ, fail, retr, took = res = run_registers(k.port, mid, a.duration, tmp, inf, auth)
                    ok = kept_up(res, mid, a.duration)
                    print("  %5d REGISTER/s: %s %s" % (mid, "ok  " if ok else "FAIL",
                                                       (succ, fail, retr, round(took, 1))))
                    lo, hi = (mid, hi) if ok else (lo, mid)
            contacts = dict(x.split(" = ") for x in k.rpc("stats.get_statistics", "usrloc:"))
            print("%s highest rate with no failure (children=%d): %d REGISTER/s; %s bindings"
                  % (name, a.children, lo, contacts.get("usrloc:location-contacts")))
        finally:
            k.stop()


if __name__ == "__main__":
    main()
