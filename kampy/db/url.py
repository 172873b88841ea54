# SPDX-License-Identifier: GPL-2.0-or-later
"""Database URLs: which driver a URL picks, its parts, and a form safe to print.

Kamailio's URL forms, for the two engines kampy speaks:

    sqlite:///abs/path.db                      stdlib sqlite3, the file must exist
    postgres://user:pass@host:port/db          psycopg 3 (also postgresql://)

User, password and port are optional for PostgreSQL; user and password are
percent-decoded, as libpq does.  Every other scheme is refused at startup with
a message that names the supported ones.
"""

import re
import urllib.parse
from dataclasses import dataclass

SUPPORTED = ("sqlite:///abs/path.db, postgres://user:pass@host:port/db "
             "or postgresql://user:pass@host:port/db")

_SCHEMES = {"sqlite": "sqlite", "postgres": "postgres", "postgresql": "postgres"}
_MYSQL = ("mysql", "mariadb")


class DbError(Exception):
    """Every failure of the DB layer: bad URL, no connection, SQL error, timeout.
    The message never holds a password."""


@dataclass(frozen=True)
class UrlSpec:
    scheme: str              # "sqlite" or "postgres"
    path: str = ""           # sqlite: the file
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""


def redact(url) -> str:
    """The URL with its password replaced by ***."""
    url = str(url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    elif scheme.lower() == "sqlite":
        return url
    creds, at, hostpart = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    return "%s%s:***@%s" % (scheme + sep, creds.split(":", 1)[0], hostpart)


def parse_url(url) -> UrlSpec:
    """The parts of a database URL; raises DbError naming what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise DbError("no database URL given: use %s" % SUPPORTED)
    url = url.strip()
    shown = redact(url)
    scheme, sep, rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise DbError("%r is not a database URL: use %s" % (shown, SUPPORTED))
    low = scheme.lower()
    if low in _MYSQL:
        raise DbError("%s: MySQL is not supported by kampy; use SQLite or PostgreSQL: %s"
                      % (shown, SUPPORTED))
    if low not in _SCHEMES:
        raise DbError("%s: unsupported database scheme %r; supported: %s" % (shown, scheme, SUPPORTED))
    if _SCHEMES[low] == "sqlite":
        return _parse_sqlite(rest, shown)
    return _parse_postgres(rest, shown)


def _parse_sqlite(rest: str, shown: str) -> UrlSpec:
    if not rest.startswith("/"):
        raise DbError("%s: SQLite needs an absolute file path, as in sqlite:///abs/path.db" % shown)
    if "?" in rest or "#" in rest:
        raise DbError("%s: SQLite URLs take no parameters ('?' or '#')" % shown)
    if rest.endswith("/"):
        raise DbError("%s: the path names a folder, not a database file" % shown)
    # Kamailio writes an absolute path with four slashes (sqlite:////var/x.db):
    # accept it as the same file as kampy's sqlite:///var/x.db
    return UrlSpec("sqlite", path="/" + rest.lstrip("/"))


def _parse_postgres(rest: str, shown: str) -> UrlSpec:
    """user:pass@host:port/db, split at the last '@' so that a password may
    hold '/', ':' or '@' unencoded, as Kamailio's own URL parser allows."""
    form = "expected postgres://user:pass@host:port/db"
    creds, _, hostpart = rest.rpartition("@")
    user, _, password = creds.partition(":")
    hostport, _, dbname = hostpart.partition("/")
    if any(c in hostpart for c in "?#"):
        raise DbError("%s: PostgreSQL URLs take no parameters ('?' or '#')" % shown)
    if hostport.startswith("["):
        host, _, tail = hostport[1:].partition("]")
        if tail and not tail.startswith(":"):
            raise DbError("%s: bad host, %s" % (shown, form))
        port_text = tail[1:]
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise DbError("%s: no host, %s" % (shown, form))
    port = 5432
    if port_text or hostport.endswith(":"):
        if not re.fullmatch(r"[0-9]{1,5}", port_text) or not 0 < int(port_text) < 65536:
            raise DbError("%s: bad port %r, %s" % (shown, port_text, form))
        port = int(port_text)
    dbname = urllib.parse.unquote(dbname)
    if not dbname or "/" in dbname:
        raise DbError("%s: no database name, %s" % (shown, form))
    return UrlSpec("postgres", host=host, port=port, user=urllib.parse.unquote(user),
                   password=urllib.parse.unquote(password), dbname=dbname)


def check_url(url) -> str:
    """check_url(url) -> "sqlite" | "postgres": validate a URL at startup,
    including that the driver a postgres:// URL needs is installed."""
    scheme = parse_url(url).scheme
    if scheme == "postgres":
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise DbError("%s: PostgreSQL needs psycopg 3, which is not installed "
                          "(pip install 'psycopg[binary]')" % redact(url)) from None
    return scheme
