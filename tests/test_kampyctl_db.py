# SPDX-License-Identifier: GPL-2.0-or-later
"""`kampyctl db`: create Kamailio's tables and edit uacreg rows on SQLite and
a real PostgreSQL server, without a running daemon."""

import json
import pathlib
import subprocess
import sys
import time

import pytest

from kampy import ctl
from kampy.db import Database
from pg import PASSWORD, free_tcp_port, pg_server  # noqa: F401

ROOT = pathlib.Path(__file__).resolve().parent.parent

ADD = ["a1", "alice", "example.com", "bob", "prov.example.net", "prov", "bob", "Secret-1", ".",
       "sip:prov.example.net", "600", "0", "5", "udp:127.0.0.1:5060", "."]


def run(capsys, *argv):
    code = ctl.main(["db"] + list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path, monkeypatch):
    monkeypatch.delenv("KAMPY_DB_URL", raising=False)
    if request.param == "sqlite":
        return "sqlite://%s" % (tmp_path / "kampy.db")
    return request.getfixturevalue("pg_server").new_database()


def rows(url):
    db = Database(url)
    try:
        return {r["l_uuid"]: r for r in db.query("uacreg")}
    finally:
        db.close()


def test_create(url, capsys):
    """Every table kampy knows (its modules may declare more than uacreg)."""
    code, out, err = run(capsys, "create", url)
    lines = out.splitlines()
    assert (code, err) == (0, "") and lines[:2] == ["version: created", "uacreg: created"]
    assert all(line.endswith(": created") for line in lines)
    code, out, _ = run(capsys, "create", url)
    assert code == 0 and out.splitlines() == [line.replace("created", "exists") for line in lines]
    assert run(capsys, "create", "-u", url, "uacreg") == (0, "version: exists\nuacreg: exists\n", "")
    db = Database(url)
    assert db.table_version("uacreg") == 5 and len(db.columns("uacreg")) == 16
    db.close()


def test_create_named_tables(tmp_path, capsys):
    url = "sqlite://%s" % (tmp_path / "k.db")
    assert run(capsys, "create", url, "uacreg") == (0, "version: created\nuacreg: created\n", "")
    code, _, err = run(capsys, "create", url, "no_such_table")
    assert code == 1 and "unknown table no_such_table; known: version, uacreg" in err


def test_add_list_rm(url, capsys):
    assert run(capsys, "create", url)[0] == 0
    assert run(capsys, "uacreg", "-u", url, "add", *ADD) == (0, "added a1\n", "")
    assert run(capsys, "uacreg", "add", "-u", url, "--l_uuid", "a2", "--l_username", "carol",
               "--l_domain", "example.com", "--r_username", "c", "--r_domain", "p2.example.net",
               "--auth_username", "c", "--auth_ha1", "0123456789abcdef", "--auth_proxy",
               "sip:p2.example.net", "--contact_addr", "192.0.2.1:5080") == (0, "added a2\n", "")
    got = rows(url)
    a1, a2 = got["a1"], got["a2"]
    assert (a1["auth_password"], a1["auth_ha1"], a1["contact_addr"], a1["socket"]) == (
        "Secret-1", "", "", "udp:127.0.0.1:5060")
    assert (a1["expires"], a1["flags"], a1["reg_delay"], a1["realm"]) == (600, 0, 5, "prov")
    assert (a2["auth_password"], a2["auth_ha1"], a2["expires"], a2["contact_addr"]) == (
        "", "0123456789abcdef", 3600, "192.0.2.1:5080")

    code, out, err = run(capsys, "uacreg", "-u", url, "list")
    assert code == 0 and err == ""
    assert "Secret-1" not in out and "0123456789abcdef" not in out
    assert out.startswith("{\n\tl_uuid: a1\n\tl_username: alice\n")
    assert "\tauth_password: ***\n\tauth_ha1: <null string>\n" in out
    assert "\tauth_password: <null string>\n\tauth_ha1: ***\n" in out
    assert out.count("{\n") == 2 and "\tid:" not in out
    code, out, _ = run(capsys, "uacreg", "list", "-u", url, "--json", "a2")
    listed = json.loads(out)
    assert code == 0 and len(listed) == 1 and listed[0]["auth_ha1"] == "***"
    assert listed[0]["l_domain"] == "example.com"

    assert run(capsys, "uacreg", "-u", url, "add", *ADD) == (1, "l_uuid a1 already exists\n", "")
    assert run(capsys, "uacreg", "-u", url, "rm", "a1") == (0, "removed a1\n", "")
    assert run(capsys, "uacreg", "-u", url, "rm", "a1") == (1, "no record with l_uuid a1\n", "")
    assert run(capsys, "uacreg", "-u", url, "list", "a1") == (1, "no record with l_uuid a1\n", "")
    assert list(rows(url)) == ["a2"]


def test_contact_user_column_when_present(url, capsys):
    run(capsys, "create", url)
    code, _, err = run(capsys, "uacreg", "-u", url, "add", "--contact_user", "trunk1", *ADD)
    assert code == 1 and "no column contact_user" in err
    db = Database(url)
    db._script([("ALTER TABLE uacreg ADD COLUMN contact_user VARCHAR(64) DEFAULT '' NOT NULL", ())])
    db.close()
    assert run(capsys, "uacreg", "-u", url, "add", "--contact_user", "trunk1", *ADD)[0] == 0
    assert rows(url)["a1"]["contact_user"] == "trunk1"


@pytest.mark.parametrize("argv, words", [
    (["add", "a1", "alice"], "missing l_domain, r_username, r_domain, auth_username, auth_proxy"),
    (["add"] + ADD[:7] + [".", "."] + ADD[9:], "give auth_password or auth_ha1"),
    (["add"] + ADD[:10] + ["soon"], "expires must be an integer"),
    (["add"] + ADD[:11] + ["-1"], "flags must be >= 0"),
    (["add"] + ADD + ["extra"], "at most 15 values"),
    (["add", "--l_uuid", "x"] + ADD, "l_uuid given twice"),
    (["add", "--bogus", "1"] + ADD, "unrecognized arguments"),
    (["rm"], "required: l_uuid"),
    (["list", "a", "b"], "unrecognized arguments"),
    ([], "uacreg needs list, add or rm"),
    (["drop"], "invalid choice"),
])
def test_usage_errors(tmp_path, capsys, argv, words):
    url = "sqlite://%s" % (tmp_path / "k.db")
    assert run(capsys, "create", url)[0] == 0
    code, out, err = run(capsys, "uacreg", "-u", url, *argv)
    assert code == 2 and out == ""
    assert words in err and "usage: kampyctl db" in err
    assert rows(url) == {}


def test_url_from_environment_and_missing(tmp_path, capsys, monkeypatch):
    url = "sqlite://%s" % (tmp_path / "k.db")
    monkeypatch.delenv("KAMPY_DB_URL", raising=False)
    code, _, err = run(capsys, "uacreg", "list")
    assert code == 2 and "no database URL: give -u URL or set $KAMPY_DB_URL" in err
    assert run(capsys, "create")[0] == 2
    monkeypatch.setenv("KAMPY_DB_URL", url)
    assert run(capsys, "create", "uacreg") == (0, "version: created\nuacreg: created\n", "")
    assert run(capsys, "uacreg", "add", *ADD) == (0, "added a1\n", "")
    assert list(rows(url)) == ["a1"]


def test_other_table_name(tmp_path, capsys):
    url = "sqlite://%s" % (tmp_path / "k.db")
    run(capsys, "create", url)
    db = Database(url)
    db._script([("CREATE TABLE trunks AS SELECT * FROM uacreg", ())])
    db.close()
    assert run(capsys, "uacreg", "-u", url, "-T", "trunks", "add", *ADD) == (0, "added a1\n", "")
    assert rows(url) == {}
    db = Database(url)
    assert [r["l_uuid"] for r in db.query("trunks")] == ["a1"]
    db.close()


def test_database_errors(tmp_path, capsys):
    code, _, err = run(capsys, "create", "mysql://kamailio:kamailiorw@localhost/kamailio")
    assert code == 1 and "MySQL is not supported" in err and "kamailiorw" not in err
    url = "postgres://kampy:%s@127.0.0.1:%d/kampy" % (PASSWORD, free_tcp_port())
    t0 = time.monotonic()
    code, _, err = run(capsys, "uacreg", "-u", url, "list")
    assert code == 1 and "cannot connect" in err and PASSWORD not in err
    assert time.monotonic() - t0 < 15
    code, _, err = run(capsys, "uacreg", "-u", "sqlite://%s" % (tmp_path / "none.db"), "list")
    assert code == 1 and "cannot connect" in err
    assert not (tmp_path / "none.db").exists()


def test_help(capsys):
    code, out, _ = run(capsys, "-h")
    assert code == 0 and out.startswith("usage: kampyctl db create URL")
    assert "URL (-u URL, else $KAMPY_DB_URL): sqlite:///abs/path.db" in out
    code, out, err = run(capsys)
    assert code == 2 and "no command given" in err
    assert ctl.main(["--help"]) == 0
    assert "kampyctl db create URL" in capsys.readouterr().out


def test_subprocess_without_daemon(tmp_path, pg_server):
    """The installed command line, with no kampy running (no control socket)."""
    url = pg_server.new_database()
    env_cmd = [sys.executable, "-m", "kampy.ctl", "-s", str(tmp_path / "no_ctl"), "db"]
    r = subprocess.run(env_cmd + ["create", url, "uacreg"], cwd=str(ROOT), capture_output=True,
                       text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "version: created\nuacreg: created\n"), r.stderr
    r = subprocess.run(env_cmd + ["uacreg", "-u", url, "add"] + ADD, cwd=str(ROOT),
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "added a1\n"), r.stderr
    r = subprocess.run(env_cmd + ["uacreg", "-u", url, "list"], cwd=str(ROOT),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "\tl_uuid: a1\n" in r.stdout and "Secret-1" not in r.stdout
