# SPDX-License-Identifier: GPL-2.0-or-later
"""auth and auth_db through the real daemon: sipp phones register with
digest authentication against the subscriber table (SQLite, PostgreSQL),
children=4, so the worker that checks an answer is often not the one that
made the challenge; nonce counts are kept in shared memory.  As Kamailio's
manual asks for nonce_count, the config is stateful (t_newtran first), so a
retransmitted answer is absorbed instead of being refused as a replay."""

import re
import subprocess

import pytest

import kampy.db as D
from kampy.sip import digest

from kampy.modules.auth_db import dbschema
from harness import Kampy, SCENARIOS, free_udp_port, wait_for
from pg import pg_server  # noqa: F401  (the session's PostgreSQL server)
from toolcheck import require_tool

DOMAIN = "example.test"
USERS = [("phone%d" % i, "pw-%d-secret" % i) for i in range(4)]

CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "xlog.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
modparam("auth_db", "db_url", "DBURL")
modparam("auth", "nonce_count", 1)
request_route {
    if (!t_newtran()) { xlog("L_ERR", "no transaction for $ci\\n"); exit; }
    if (!www_authorize("", "subscriber")) {
        xlog("L_NOTICE", "challenge call=$ci rc=$rc\\n");
        www_challenge("", "1");
        exit;
    }
    xlog("L_NOTICE", "authorized call=$ci user=$au realm=$ar\\n");
    t_reply("200", "OK");
}
"""


def subscribers(url):
    dbschema.create(url)
    db = D.Database(url)
    try:
        for user, pw in USERS:
            db.insert("subscriber", {"username": user, "domain": DOMAIN, "password": pw,
                                     "ha1": digest.ha1("MD5", user, DOMAIN, pw), "ha1b": ""})
    finally:
        db.close()


def phones(tmp_path, port, scenario, calls, password=None):
    """One sipp phone per user, all at once; their CompletedProcess-like results."""
    exe = require_tool("sipp")
    procs = []
    try:
        for user, pw in USERS:
            procs.append(subprocess.Popen(
                [exe, "127.0.0.1:%d" % port, "-sf", str(SCENARIOS / scenario), "-s", user,
                 "-key", "domain", DOMAIN, "-au", user, "-ap", password or pw, "-m", str(calls),
                 "-r", "25", "-i", "127.0.0.1", "-p", str(free_udp_port()), "-nostdin",
                 "-timeout", "30s", "-timeout_error"],
                cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        return [(p.wait(45), p.communicate()[0]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)


def stats(k, group):
    return {a: int(b) for a, b in (x.split(" = ") for x in k.rpc("stats.get_statistics", group))}


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        url = "sqlite://" + str(tmp_path / "subscribers.db")
    else:
        url = request.getfixturevalue("pg_server").new_database()
    subscribers(url)
    return url


def test_auth_hundred_registers_of_four_phones_across_four_workers(tmp_path, db_url):
    k = Kampy(tmp_path, CFG.replace("DBURL", db_url), children=4).start()
    try:
        results = phones(tmp_path, k.port, "auth_register.xml", 25)
        for rc, out in results:
            assert rc == 0, out[-1500:] + k.output()[-3000:]
        # a worker counts its reply just after sending it: give it a moment
        wait_for(lambda: stats(k, "tm:")["tm:local_replies"] >= 200, 5)
        tm = stats(k, "tm:")
        assert tm["tm:created"] == 200 and tm["tm:local_replies"] == 200
        log = k.output()
    finally:
        k.stop()
    lines = re.findall(r" (\d+)\(\d+\) NOTICE: <script>: (challenge|authorized) call=(\S+) (.*)", log)
    challenged = {c: rank for rank, what, c, rest in lines if what == "challenge"}
    authorized = {c: (rank, rest) for rank, what, c, rest in lines if what == "authorized"}
    assert len(challenged) == 100 and len(authorized) == 100 and set(challenged) == set(authorized)
    assert {rest for _, rest in authorized.values()} == {
        "user=%s realm=%s" % (u, DOMAIN) for u, _ in USERS}
    assert all(rest == "rc=-5" for rank, what, c, rest in lines if what == "challenge")
    crossed = sum(1 for c, rank in challenged.items() if authorized[c][0] != rank)
    assert crossed > 0, "every answer was checked by the worker that challenged"
    assert len({rank for rank, _ in authorized.values()}) > 1


def test_auth_wrong_password_is_challenged_again(tmp_path):
    url = "sqlite://" + str(tmp_path / "subscribers.db")
    subscribers(url)
    k = Kampy(tmp_path, CFG.replace("DBURL", url), children=4).start()
    try:
        results = phones(tmp_path, k.port, "auth_register_rejected.xml", 5, password="not-it")
        for rc, out in results:
            assert rc == 0, out[-1500:] + k.output()[-3000:]
        wait_for(lambda: stats(k, "tm:")["tm:local_replies"] >= 40, 5)
        tm = stats(k, "tm:")
        assert tm["tm:created"] == 40 and tm["tm:local_replies"] == 40
        log = k.output()
    finally:
        k.stop()
    assert log.count("rc=-2") == 20 and log.count("rc=-5") == 20
