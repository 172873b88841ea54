# SPDX-License-Identifier: GPL-2.0-or-later
"""Database URLs: the two schemes kampy speaks, everything else refused with
a message that names the supported forms and never shows a password."""

import pytest

from kampy.db import Database, DbError, SUPPORTED, check_url, redact
from kampy.db.url import parse_url


@pytest.mark.parametrize("url, scheme", [
    ("sqlite:///var/lib/kampy/kampy.db", "sqlite"),
    ("sqlite:////double/slash.db", "sqlite"),
    ("SQLite:///x.db", "sqlite"),
    ("postgres://kampy:pw@127.0.0.1:5432/kampy", "postgres"),
    ("postgresql://kampy:pw@db.example.com/kampy", "postgres"),
    ("postgres://db.example.com/kampy", "postgres"),
    ("postgres://u@[::1]:6543/k", "postgres"),
])
def test_check_url_accepts(url, scheme):
    assert check_url(url) == scheme


def test_parse_postgres_parts():
    s = parse_url("postgres://kam%40ilio:p%2Fw@Db.Example.com:6000/kamailio")
    assert (s.user, s.password, s.host, s.port, s.dbname) == (
        "kam@ilio", "p/w", "Db.Example.com", 6000, "kamailio")
    s = parse_url("postgresql://u:pa/ss@wo:rd@h/db")      # unencoded, as Kamailio allows
    assert (s.user, s.password, s.host, s.port, s.dbname) == ("u", "pa/ss@wo:rd", "h", 5432, "db")
    s = parse_url("postgres://[::1]:7000/db")
    assert (s.user, s.password, s.host, s.port) == ("", "", "::1", 7000)
    assert parse_url("sqlite:///a/b c.db").path == "/a/b c.db"
    # Kamailio's spelling of an absolute path: four slashes, the same file
    assert parse_url("sqlite:////var/lib/k.db").path == "/var/lib/k.db"


@pytest.mark.parametrize("url, words", [
    ("mysql://kamailio:kamailiorw@localhost/kamailio", ["MySQL is not supported", "SQLite", "PostgreSQL"]),
    ("MYSQL://h/db", ["MySQL is not supported"]),
    ("redis://localhost:6379/0", ["unsupported database scheme 'redis'"]),
    ("text:///etc/kamailio/db", ["unsupported database scheme 'text'"]),
    ("/var/lib/kampy.db", ["not a database URL"]),
    ("", ["no database URL"]),
    (None, ["no database URL"]),
    ("sqlite://relative.db", ["absolute file path"]),
    ("sqlite:///tmp/", ["folder"]),
    ("sqlite:///tmp/x.db?mode=ro", ["no parameters"]),
    ("postgres://u:p@:5432/db", ["no host"]),
    ("postgres://u:p@h:0/db", ["bad port"]),
    ("postgres://u:p@h:99999/db", ["bad port"]),
    ("postgres://u:p@h:http/db", ["bad port"]),
    ("postgres://u:p@h:/db", ["bad port"]),
    ("postgres://u:p@h:5432", ["no database name"]),
    ("postgres://u:p@h:5432/", ["no database name"]),
    ("postgres://u:p@h/db?sslmode=require", ["no parameters"]),
])
def test_bad_urls(url, words):
    with pytest.raises(DbError) as ei:
        check_url(url)
    msg = str(ei.value)
    for w in words:
        assert w in msg
    if "scheme" in msg or "MySQL" in msg or "not a database URL" in msg:
        assert SUPPORTED in msg          # names the forms kampy takes


@pytest.mark.parametrize("url", [
    "mysql://kamailio:TopSecret9@localhost/kamailio",
    "postgres://kampy:TopSecret9@h:notaport/db",
    "postgres://kampy:TopSecret9@/db",
    "redis://kampy:TopSecret9@h/0",
    "kampy:TopSecret9@h/db",
    "postgres://kampy:TopSecret9@h/db?x=1",
])
def test_errors_hide_the_password(url):
    with pytest.raises(DbError) as ei:
        Database(url)
    assert "TopSecret9" not in str(ei.value)
    assert "***" in str(ei.value)


def test_redact():
    assert redact("postgres://kampy:pw@h:5432/db") == "postgres://kampy:***@h:5432/db"
    assert redact("postgres://u:pa/ss@wo:rd@h/db") == "postgres://u:***@h/db"
    assert redact("postgres://kampy@h/db") == "postgres://kampy@h/db"
    assert redact("postgres://h/db") == "postgres://h/db"
    assert redact("sqlite:///a:b@c.db") == "sqlite:///a:b@c.db"


@pytest.mark.parametrize("timeout", [0, -1, "x", None])
def test_bad_timeout(timeout):
    with pytest.raises(DbError):
        Database("sqlite:///tmp/x.db", timeout=timeout)


def test_database_is_lazy(tmp_path):
    """Creating a Database opens nothing: no file appears, no error for a
    server that does not exist (it is created before the fork)."""
    path = tmp_path / "none.db"
    db = Database("sqlite://%s" % path)
    Database("postgres://u:p@127.0.0.1:1/nothing")
    assert not path.exists() and db.available()
    assert repr(db) == "<Database sqlite://%s>" % path
