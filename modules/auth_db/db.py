# SPDX-License-Identifier: GPL-2.0-or-later
"""auth_db: the subscriber rows, read per request through kampy.db.

The Database object is made in mod_init (before the fork) and connects in
each process on first use.  A database that is down costs a request -1 and
a log line, never a wait: kampy.db answers at once while it backs off.
Table versions are checked once per table: in mod_init for the tables the
config names literally (a wrong version stops the start, as in Kamailio),
otherwise on first use.
"""

import time
import weakref

from .dbschema import VERSION
from .params import LITERAL_TABLES, P, parse_credentials

_STATE = {"db": None, "url": None, "creds": None, "creds_text": None}
VERIFIED = set()       # (url, table) whose version was found right
_LOG = weakref.WeakKeyDictionary()   # runtime (one per process) -> [last time, suppressed]


def dbmod():
    import kampy.db
    return kampy.db


def log(rt, level, text):
    rt.log(level, text, "auth_db")


def _db_logger(rt):
    """kampy.db's messages: failures as errors, a reconnection as a warning."""
    def fn(text, *args):
        text = text % args if args else str(text)
        text = text[9:] if text.startswith("auth_db: ") else text
        log(rt, 0 if "connected again" in text else -1, text)
    return fn


def database(rt):
    """The Database of P.db_url (one object; a connection per process)."""
    if _STATE["db"] is None or _STATE["url"] != P.db_url:
        _STATE["db"] = dbmod().Database(P.db_url, timeout=2.0, name="auth_db", log=_db_logger(rt))
        _STATE["url"] = P.db_url
    return _STATE["db"]


def credentials():
    """[(avp key, column)] of load_credentials, parsed once per value."""
    if _STATE["creds_text"] != P.load_credentials:
        _STATE["creds"] = parse_credentials(P.load_credentials)
        _STATE["creds_text"] = P.load_credentials
    return _STATE["creds"]


def error(rt, text):
    """A failed DB access: logged, but at most once a second per process
    (an outage under load must not flood the log)."""
    now = time.monotonic()
    st = _LOG.setdefault(rt, [-1.0, 0])
    if now - st[0] >= 1.0:
        extra = " (%d more suppressed)" % st[1] if st[1] else ""
        log(rt, -1, text + extra)
        st[0], st[1] = now, 0
    else:
        st[1] += 1


def version_problem(db, table):
    """None when the table has Kamailio's version (or the check is off),
    else the reason; raises DbError when the database cannot tell."""
    if not P.version_table or (P.db_url, table) in VERIFIED:
        return None
    have = db.table_version(table)
    if have == VERSION:
        VERIFIED.add((P.db_url, table))
        return None
    if have is None:
        return "table %s has no row in the version table (create it with kampy's schema or " \
               "kamdbctl, or set version_table to 0)" % table
    return "table %s has version %s, expected %d" % (table, have, VERSION)


def check_startup(rt):
    """mod_init: the URL, and the versions of the tables named in the config.
    An unreachable database does not stop the start (each table is then
    checked on first use); a wrong version does."""
    from .params import DEFAULT_URL
    m = dbmod()
    if P.db_url == DEFAULT_URL:
        raise m.DbError("db_url is not set (Kamailio's default is a MySQL URL); use %s"
                        % m.SUPPORTED)
    m.check_url(P.db_url)
    credentials()
    if not P.version_table or not LITERAL_TABLES:
        return
    db = m.Database(P.db_url, timeout=2.0, name="auth_db", log=_db_logger(rt))
    try:
        for table in sorted(LITERAL_TABLES):
            try:
                problem = version_problem(db, table)
            except m.DbError as e:
                log(rt, 0, "cannot check the table versions now (%s); checking on first use" % e)
                return
            if problem:
                raise m.DbError(problem)
    finally:
        db.close()


def fetch(rt, table, where, columns):
    """The first row (a dict) or None; DbError for a failure or a table of
    the wrong version."""
    m = dbmod()
    db = database(rt)
    problem = version_problem(db, table)
    if problem:
        raise m.DbError(problem)
    rows = db.query(table, columns, where, limit=1)
    return rows[0] if rows else None
