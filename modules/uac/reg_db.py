# SPDX-License-Identifier: GPL-2.0-or-later
"""Remote registrations: rows of the uacreg table into records.

The supervisor reads the rows once in mod_init (to size the shared tables
and to have them at hand), with a connection it closes before the fork; the
timer process stores them as records when it starts.  A database that is
down then is not fatal: the timer process keeps trying (1 s doubling to
30 s) and the records come when it answers.  Later reads (uac.reg_reload,
uac.reg_refresh, uac_reg_refresh()) use a connection of the process that
runs them, opened on first use.
"""

import os
import re

from .params import P
from . import reg_core as C

MANDATORY = ("l_uuid", "l_username", "l_domain", "r_username", "r_domain", "auth_username",
             "auth_proxy")
OPTIONAL = ("realm", "auth_password", "auth_ha1", "expires", "flags", "reg_delay", "contact_addr",
            "socket", "contact_user")
_INTS = ("expires", "flags", "reg_delay")
_HEX = re.compile(r"[0-9a-fA-F]+\Z")

_PROC = {"pid": None, "db": None, "url": None}      # this process's connection
BOOT = {"cfgs": None, "error": ""}     # rows read by mod_init (inherited by the children)
_RETRY = {"logged": False}            # the timer process told the DB is down


class LoadError(Exception):
    """The database could not be read (the message says why, no password)."""


def dbmod():
    import kampy.db
    return kampy.db


def _logger(rt):
    def fn(text, *args):
        text = text % args if args else str(text)
        C.log(rt, -1, text[5:] if text.startswith("uac: ") else text)
    return fn


def database(rt):
    """This process's Database (opened lazily, after the fork)."""
    if _PROC["pid"] != os.getpid() or _PROC["db"] is None or _PROC["url"] != P.reg_db_url:
        close()
        _PROC["pid"] = os.getpid()
        _PROC["url"] = P.reg_db_url
        _PROC["db"] = dbmod().Database(P.reg_db_url, timeout=2.0, name="uac", log=_logger(rt),
                                       clock=lambda: C.now(rt))
    return _PROC["db"]


def close():
    db = _PROC["db"]
    if db is not None and _PROC["pid"] == os.getpid():
        try:
            db.close()
        except Exception:
            pass
    _PROC["db"] = None


# --- rows --------------------------------------------------------------------------------

def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return str(v).strip()


def _int(v) -> int:
    if v is None or v == "":
        return 0
    try:
        return max(int(v), 0)
    except (TypeError, ValueError):
        raise ValueError("not an integer: %r" % (v,)) from None


def row_config(row: dict) -> dict:
    """A uacreg row (column -> value) as record config; ValueError naming
    what is wrong (a missing mandatory column, a bad HA1, ...)."""
    missing = [c for c in MANDATORY if not _text(row.get(c))]
    if not _text(row.get("auth_password")) and not _text(row.get("auth_ha1")):
        missing.append("auth_password (or auth_ha1)")
    if missing:
        raise ValueError("missing mandatory column%s %s" % ("s" if len(missing) > 1 else "",
                                                            ", ".join(missing)))
    cfg = {}
    for key, col in C.CONFIG:
        try:
            cfg[key] = _int(row.get(col)) if col in _INTS else _text(row.get(col))
        except ValueError as e:
            raise ValueError("column %s: %s" % (col, e)) from None
    if len(cfg["lu"].encode()) > C.KEY_MAX:
        raise ValueError("l_uuid longer than %d bytes" % C.KEY_MAX)
    ha1 = cfg["ah"]
    if ha1:
        if len(ha1) not in (32, 64) or not _HEX.match(ha1):
            raise ValueError("auth_ha1 must be 32 (MD5) or 64 (SHA-256) hex digits")
        cfg["ah"] = ha1.lower()
    if not cfg["ca"] and not P.reg_contact_addr:
        raise ValueError("no contact_addr and no reg_contact_addr")
    return cfg


def _columns(db):
    have = set(db.columns(P.reg_db_table))
    absent = [c for c in MANDATORY if c not in have]
    if absent:
        raise LoadError("table %s has no column %s" % (P.reg_db_table, ", ".join(absent)))
    return [c for c in MANDATORY + OPTIONAL if c in have]


def _configs(rt, rows):
    for row in rows:
        try:
            yield row_config(row)
        except ValueError as e:
            C.log(rt, -1, "skipping %s row l_uuid=%r: %s" % (
                P.reg_db_table, _text(row.get("l_uuid")), e))


def read_all(rt, db) -> list:
    """Every valid row as a config, read in chunks; LoadError if the DB fails."""
    err = dbmod().DbError
    try:
        cols = _columns(db)
        out = []
        for chunk in db.query_chunks(P.reg_db_table, columns=cols, chunk=1000):
            out.extend(_configs(rt, chunk))
        return out
    except err as e:
        raise LoadError(str(e)) from None


def read_one(rt, db, uuid):
    """The config of one row by l_uuid: None if absent; ValueError if invalid."""
    err = dbmod().DbError
    try:
        rows = db.query(P.reg_db_table, columns=_columns(db), where={"l_uuid": uuid}, limit=1)
    except err as e:
        raise LoadError(str(e)) from None
    if not rows:
        return None
    return row_config(rows[0])


# --- startup --------------------------------------------------------------------------------

def mod_init(rt):
    """Before the fork: check the URL, read the rows once (to size the shared
    tables); a DB that does not answer is left to the timer process."""
    BOOT["cfgs"] = None
    BOOT["error"] = ""
    _RETRY["logged"] = False
    close()
    if not P.reg_db_url:
        return
    db_mod = dbmod()
    try:
        db_mod.check_url(P.reg_db_url)
    except db_mod.DbError as e:
        raise ValueError("uac: reg_db_url: %s" % e) from None
    if not P.reg_contact_addr:
        raise ValueError("uac: reg_contact_addr is required with reg_db_url")
    db = db_mod.Database(P.reg_db_url, timeout=2.0, name="uac", log=_logger(rt))
    try:
        BOOT["cfgs"] = read_all(rt, db)
    except LoadError as e:
        BOOT["error"] = str(e)
        C.log(rt, 0, "cannot read %s now (%s); the timer process will retry"
              % (P.reg_db_table, e))
    finally:
        db.close()



def initial_load(rt) -> bool:
    """In the timer process: store the records once (meta "loaded").  With
    no rows from mod_init, read the DB whenever it is out of its back-off."""
    if C.meta_get(rt, "loaded"):
        return True
    if not P.reg_db_url:
        C.meta_set(rt, "loaded", 1)
        return True
    cfgs = BOOT["cfgs"]
    if cfgs is None:
        db = database(rt)
        if not db.available():
            return False
        try:
            cfgs = read_all(rt, db)
        except LoadError as e:
            if not _RETRY["logged"]:
                _RETRY["logged"] = True
                C.log(rt, -1, "cannot load %s (%s); the records come when the database answers"
                      % (P.reg_db_table, e))
            return False
    store(rt, cfgs, C.now(rt))
    BOOT["cfgs"] = None
    C.meta_set(rt, "loaded", 1)
    C.log(rt, 1, "%d remote registration record(s) loaded" % len(cfgs))
    return True


def store(rt, cfgs, t):
    """Add records (their first REGISTERs are paced by the window)."""
    for cfg in cfgs:
        if C.add(rt, cfg, t) == "exists":
            C.log(rt, -1, "duplicate l_uuid %s in %s, kept the first" % (cfg["lu"], P.reg_db_table))


# --- reload and refresh -------------------------------------------------------------------

def reload(rt):
    """uac.reg_reload: the table's rows replace the records.  Unchanged
    registered records stay registered; new ones are added; gone ones removed.
    Raises LoadError when the DB cannot be read (memory is then unchanged)."""
    cfgs = read_all(rt, database(rt))
    t = C.now(rt)
    seen = set()
    for cfg in cfgs:
        uuid = cfg["lu"]
        if uuid in seen:
            continue
        seen.add(uuid)
        if C.table(rt).get(uuid) is not None:
            C.replace_config(rt, uuid, cfg, t)
        else:
            C.add(rt, cfg, t)
    for uuid in [k for k, _ in C.table(rt).items() if k not in seen]:
        C.remove(rt, uuid)
    C.meta_set(rt, "loaded", 1)
    return len(seen)


def refresh(rt, uuid) -> int:
    """One record from its row: 1 done, 0 no such row; LoadError / ValueError."""
    cfg = read_one(rt, database(rt), uuid)
    if cfg is None:
        return 0
    C.replace_config(rt, uuid, cfg, C.now(rt))
    return 1
