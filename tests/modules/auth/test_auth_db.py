# SPDX-License-Identifier: GPL-2.0-or-later
"""auth_db in-process against a real subscriber table (SQLite; one run on
PostgreSQL): www_authorize / proxy_authorize / auth_check return codes,
ha1 / ha1b / plain passwords, use_domain, load_credentials, is_subscriber,
table versions, and a database that is down."""

import logging
import time

import pytest

import kampy.db as D
from kampy.sip import digest

from kampy.modules.auth_db import db as ADB
from kampy.modules.auth_db import dbschema

from auth_util import answer, challenge_of, logs, make_rt, register_challenge, request, run
from pg import pg_server  # noqa: F401  (the session's PostgreSQL server)

HEAD = """
listen=udp:127.0.0.1:5060
loadmodule "sl"
loadmodule "auth"
loadmodule "auth_db"
loadmodule "xlog"
loadmodule "textops"
modparam("auth", "secret", "auth-db-tests-secret")
modparam("auth_db", "db_url", "URL")
"""

ROUTE = """
request_route {
    if (is_method("REGISTER")) {
        www_authorize("", "subscriber");
        $avp(rc) = $rc;
        if ($avp(rc) < 0) { www_challenge("", "1"); exit; }
        sl_send_reply("200", "OK");
        exit;
    }
    if (is_method("OPTIONS")) {
        if (is_subscriber("$ru", "subscriber", "$hdr(X-Flags)")) { $avp(sub) = 1; } else { $avp(sub) = $rc; }
        exit;
    }
    auth_check("$fd", "subscriber", "$hdr(X-Flags)");
    $avp(rc) = $rc;
    if ($avp(rc) < 0) { auth_challenge("$fd", "0"); exit; }
    sl_send_reply("200", "OK");
}
"""

USERS = [("alice", "example.org", "secret"), ("bob", "example.org", "b0b"),
         ("alice", "other.org", "different")]


def fill(url, users=USERS, alg="MD5"):
    assert dbschema.create(url)["subscriber"] in ("created", "exists")
    db = D.Database(url)
    try:
        for user, dom, pw in users:
            db.insert("subscriber", {
                "username": user, "domain": dom, "password": pw,
                "ha1": digest.ha1(alg, user, dom, pw),
                "ha1b": digest.ha1(alg, "%s@%s" % (user, dom), dom, pw)})
    finally:
        db.close()


def rt_for(url, params="", route=ROUTE):
    ADB.VERIFIED.clear()
    return make_rt(params + route, head=HEAD.replace("URL", url))


@pytest.fixture
def url(tmp_path):
    u = "sqlite://" + str(tmp_path / "subscribers.db")
    fill(u)
    return u


def reg(rt, ch, **kw):
    user = kw.pop("user", "alice")
    auth = answer(ch, user=user, **kw)
    ctx, rep = run(rt, request(auth=auth, cseq=2, user=user.split("@")[0]))
    return ctx.avps.get("rc"), rep, ctx


def test_auth_db_register_good_wrong_unknown(url):
    rt = rt_for(url)
    ch = register_challenge(rt)
    assert ch.realm == "example.org" and ch.qop == ["auth"]
    rc, rep, _ = reg(rt, ch)
    assert rc == 1 and rep.status == 200
    assert reg(rt, ch, password="guess")[0] == -2
    ch_carol = register_challenge(rt, user="carol")
    rc, rep, _ = reg(rt, ch_carol, user="carol")
    assert rc == -3 and rep.status == 401


def test_auth_db_username_with_domain_uses_ha1b(url):
    rt = rt_for(url)
    ch = register_challenge(rt)
    rc, _, ctx = reg(rt, ch, user="alice@example.org")
    assert rc == 1


def test_auth_db_plain_passwords_with_calculate_ha1(tmp_path):
    u = "sqlite://" + str(tmp_path / "plain.db")
    fill(u)
    db = D.Database(u)
    db.update("subscriber", {}, {"ha1": "", "ha1b": ""})
    db.close()
    rt = rt_for(u, 'modparam("auth_db", "calculate_ha1", 1)\n'
                   'modparam("auth_db", "password_column", "password")\n')
    ch = register_challenge(rt)
    assert reg(rt, ch)[0] == 1
    assert reg(rt, ch, password="different")[0] == -2


def test_auth_db_use_domain(url):
    rt = rt_for(url, 'modparam("auth_db", "use_domain", 1)\n')
    ch = register_challenge(rt)
    assert reg(rt, ch)[0] == 1
    _, rep = run(rt, request(domain="other.org"))
    ch = challenge_of(rep)
    assert ch.realm == "other.org"
    auth = answer(ch, password="different", uri="sip:other.org")
    ctx, _ = run(rt, request(domain="other.org", auth=auth, cseq=2))
    assert ctx.avps.get("rc") == 1
    _, rep = run(rt, request(user="bob", domain="other.org"))
    auth = answer(challenge_of(rep), user="bob", password="b0b", uri="sip:other.org")
    ctx, _ = run(rt, request(user="bob", domain="other.org", auth=auth, cseq=2))
    assert ctx.avps.get("rc") == -3


def test_auth_db_sha256(tmp_path):
    u = "sqlite://" + str(tmp_path / "sha.db")
    fill(u, alg="SHA-256")
    rt = rt_for(u, 'modparam("auth", "algorithm", "SHA-256")\n')
    ch = register_challenge(rt)
    assert ch.algorithm == "SHA-256"
    assert reg(rt, ch)[0] == 1
    assert reg(rt, ch, password="x")[0] == -2


def test_auth_db_load_credentials_only_on_success(url):
    rt = rt_for(url, 'modparam("auth_db", "load_credentials", "$avp(pw)=password;domain")\n')
    ch = register_challenge(rt)
    rc, _, ctx = reg(rt, ch)
    assert rc == 1 and ctx.avps.get("pw") == "secret" and ctx.avps.get("domain") == "example.org"
    rc, _, ctx = reg(rt, ch, password="guess")
    assert rc == -2 and ctx.avps.get("pw") is None


def test_auth_db_auth_check_identity(url):
    rt = rt_for(url)

    def invite(auth_user, from_user, flags, pw="secret"):
        _, rep = run(rt, request("INVITE", user=from_user, extra=["X-Flags: %s" % flags]))
        assert rep.status == 407
        auth = answer(challenge_of(rep, "proxy-authenticate"), user=auth_user, password=pw,
                      method="INVITE", uri="sip:bob@example.org")
        ctx, _ = run(rt, request("INVITE", user=from_user, auth=auth, hname="Proxy-Authorization",
                                 cseq=2, extra=["X-Flags: %s" % flags]))
        return ctx.avps.get("rc")

    assert invite("alice", "alice", 1) == 1
    assert invite("alice", "mallory", 1) == -8
    assert invite("alice", "mallory", 3) == 1       # bit 2: INVITE may carry another caller id
    assert invite("alice", "mallory", 0) == 1
    assert invite("bob", "bob", 1, pw="bad") == -2


def test_auth_db_auth_check_register_to_must_match(url):
    rt = rt_for(url, route="""
request_route {
    auth_check("$td", "subscriber", "1");
    $avp(rc) = $rc;
    if ($avp(rc) < 0) { auth_challenge("$td", "0"); exit; }
    sl_send_reply("200", "OK");
}
""")
    ch = register_challenge(rt)
    ctx, _ = run(rt, request(auth=answer(ch), cseq=2))
    assert ctx.avps.get("rc") == 1
    ctx, _ = run(rt, request(auth=answer(ch), to_user="bob", cseq=3))
    assert ctx.avps.get("rc") == -8


def test_auth_db_is_subscriber(url):
    rt = rt_for(url, 'modparam("auth_db", "load_credentials", "$avp(pw)=password")\n')

    def opt(ruri, flags):
        ctx, _ = run(rt, request("OPTIONS", ruri=ruri, extra=["X-Flags: %d" % flags]))
        return ctx.avps.get("sub"), ctx.avps.get("pw")

    assert opt("sip:bob@example.org", 0) == (1, "b0b")
    assert opt("sip:bob@example.org", 2) == (1, None)
    assert opt("sip:bob@other.org", 1) == (-2, None)
    assert opt("sip:alice@other.org", 1) == (1, "different")
    assert opt("sip:carol@example.org", 0) == (-2, None)


def test_auth_db_table_version_is_checked(url, caplog):
    db = D.Database(url)
    db.update("version", {"table_name": "subscriber"}, {"table_version": 6})
    db.close()
    with pytest.raises(D.DbError, match="version 6, expected 7"):
        rt_for(url)
    caplog.set_level(logging.ERROR)
    rt = rt_for(url, route="""
request_route {
    $var(t) = "subscriber";
    www_authorize("", "$var(t)");
    $avp(rc) = $rc;
    if ($avp(rc) < 0) { www_challenge("", "1"); exit; }
    sl_send_reply("200", "OK");
}
""")
    ch = register_challenge(rt)
    assert reg(rt, ch)[0] == -1
    assert logs(caplog, r"auth_db: cannot read subscriber: table subscriber has version 6, expected 7")
    rt = rt_for(url, 'modparam("auth_db", "version_table", 0)\n')
    assert reg(rt, register_challenge(rt))[0] == 1


def test_auth_db_unset_db_url_stops_the_start():
    with pytest.raises(D.DbError, match="db_url is not set"):
        make_rt(ROUTE, head=HEAD.replace('modparam("auth_db", "db_url", "URL")\n', ""))


def test_auth_db_database_down_is_a_quick_error_with_a_log_line(caplog):
    from pg import free_tcp_port
    down = "postgres://kampy:pw@127.0.0.1:%d/nothing" % free_tcp_port()
    caplog.set_level(logging.WARNING)
    rt = rt_for(down)
    assert logs(caplog, "cannot check the table versions now")
    ch = register_challenge(rt)
    t0 = time.monotonic()
    results = [reg(rt, ch)[0] for _ in range(5)]
    assert results == [-1] * 5
    assert time.monotonic() - t0 < 2.5
    assert logs(caplog, r"auth_db: postgres://kampy:\*\*\*@127.0.0.1:\d+/nothing: cannot connect")
    assert logs(caplog, r"auth_db: cannot read subscriber")


def test_auth_db_postgresql(pg_server):  # noqa: F811
    u = pg_server.new_database()
    fill(u)
    rt = rt_for(u, 'modparam("auth_db", "load_credentials", "$avp(pw)=password")\n')
    ch = register_challenge(rt)
    rc, _, ctx = reg(rt, ch)
    assert rc == 1 and ctx.avps.get("pw") == "secret"
    assert reg(rt, ch, password="x")[0] == -2
    assert reg(rt, register_challenge(rt, user="carol"), user="carol")[0] == -3


def test_auth_db_postgresql_outage_and_recovery(caplog):
    """The server stops mid-run: answers get -1 at once (with a log line),
    and authentication works again by itself once the server is back."""
    from pg import PgServer
    srv = PgServer.start_new()
    try:
        u = srv.new_database()
        fill(u)
        rt = rt_for(u)
        ch = register_challenge(rt)
        assert reg(rt, ch)[0] == 1
        srv.stop()
        caplog.set_level(logging.WARNING)
        t0 = time.monotonic()
        assert [reg(rt, ch)[0] for _ in range(3)] == [-1, -1, -1]
        assert time.monotonic() - t0 < 3.0
        assert logs(caplog, r"auth_db: cannot read subscriber")
        srv.start()
        deadline = time.monotonic() + 10
        rc = -1
        while rc != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
            rc = reg(rt, ch)[0]
        assert rc == 1
        assert logs(caplog, r"WARNING: auth_db: postgres://.*: connected again after \d+ failed attempt")
    finally:
        srv.destroy()


def test_auth_db_subscriber_layout_is_kamailios(tmp_path):
    lite = D.schema.create_sql(dbschema.SUBSCRIBER, "sqlite")
    pg = D.schema.create_sql(dbschema.SUBSCRIBER, "postgres")
    cols = ('"username" VARCHAR(64) DEFAULT \'\' NOT NULL,\n'
            '    "domain" VARCHAR(64) DEFAULT \'\' NOT NULL,\n'
            '    "password" VARCHAR(64) DEFAULT \'\' NOT NULL,\n'
            '    "ha1" VARCHAR(128) DEFAULT \'\' NOT NULL,\n'
            '    "ha1b" VARCHAR(128) DEFAULT \'\' NOT NULL,\n'
            '    CONSTRAINT "subscriber_account_idx" UNIQUE ("username", "domain")\n)')
    assert lite[0] == ('CREATE TABLE IF NOT EXISTS "subscriber" (\n'
                       '    "id" INTEGER PRIMARY KEY NOT NULL,\n    ' + cols)
    assert pg[0] == ('CREATE TABLE IF NOT EXISTS "subscriber" (\n'
                     '    "id" SERIAL PRIMARY KEY NOT NULL,\n    ' + cols)
    assert lite[1] == pg[1] == \
        'CREATE INDEX IF NOT EXISTS "subscriber_username_idx" ON "subscriber" ("username")'
    known = dict(D.schema.TABLES)
    u = "sqlite://" + str(tmp_path / "layout.db")
    assert dbschema.create(u) == {"version": "created", "subscriber": "created"}
    assert dbschema.create(u) == {"version": "exists", "subscriber": "exists"}
    assert D.schema.TABLES == known
    db = D.Database(u)
    try:
        assert db.table_version("subscriber") == 7
        assert db.columns("subscriber") == ["id", "username", "domain", "password", "ha1", "ha1b"]
    finally:
        db.close()
