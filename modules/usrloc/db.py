# SPDX-License-Identifier: GPL-2.0-or-later
"""usrloc: the `location` table (Kamailio 5.6 layout) behind the records.

db_mode 1 writes a record's changes right after the shared update that made
them; db_mode 2 leaves them to the timer; both keep the contact's state
(NEW, DIRTY, SYNC) in shared memory, so a database that is down costs
nothing but a log line: the next timer run writes what is still pending.
Rows are found by ruid, as Kamailio's db_ops_ruid=1 does.  db_mode 3 keeps
no records at all: every read and write is a query.

Times are Kamailio's: DATETIME columns in local time (or BIGINT unix time
with expires_type=1); q as a float (-1: not given); methods, flags and
cflags as signed 32-bit integers.
"""

import datetime
import time

from .params import P, WRITE_THROUGH, WRITE_BACK, DB_READONLY
from . import store as S

_STATE = {"db": None, "loaded": set(), "checked": set(), "down_logged": False}
ALL_METHODS = 0xFFFFFFFF


def _kdb():
    import kampy.db
    return kampy.db


def setup(rt):
    """mod_init: check the URL; the connection opens in each process on first use."""
    if not P.db_url:
        raise S.UlError("db_mode %d needs db_url (%s)" % (P.db_mode, _kdb().SUPPORTED))
    _kdb().check_url(P.db_url)
    close()
    _STATE["checked"] = set()
    _STATE["db"] = _kdb().Database(P.db_url, timeout=2.0, name="usrloc",
                                   log=lambda text: rt.log(-1, text, "usrloc"),
                                   clock=lambda: rt.now_ms() / 1000.0)
    _STATE["loaded"] = set()


def database():
    return _STATE["db"]


def close():
    db = _STATE["db"]
    if db is not None:
        try:
            db.close()
        except Exception:
            pass


def check_version(rt, domain):
    """Startup: the table exists with Kamailio's version (unless version_table=0)."""
    if not P.version_table or domain in _STATE["checked"]:
        return
    db = database()
    try:
        have = db.table_version(domain)
        db.columns(domain)
    except _kdb().DbError as e:
        raise S.UlError("cannot use location table %s: %s (create it with: kampyctl db create "
                        "URL %s)" % (domain, e, domain)) from None
    finally:
        db.close()
    from .dbschema import VERSION
    if have != VERSION:
        raise S.UlError("location table %s has version %s in the version table, kampy "
                        "expects %d (Kamailio 5.6)" % (domain, have, VERSION))
    _STATE["checked"].add(domain)


# --- rows and contacts ------------------------------------------------------------------

def col(name) -> str:
    return getattr(P, "%s_column" % name)


def _i32(v) -> int:
    v = int(v) & 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _u32(v, default=0) -> int:
    if v is None or v == "":
        return default
    return int(v) & 0xFFFFFFFF


def to_time(t):
    if P.expires_type:
        return int(t)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(t)))


def from_time(v) -> int:
    if v is None or v == "":
        return 0
    if isinstance(v, (int, float)):
        return int(v)
    if isinstance(v, datetime.datetime):
        return int(time.mktime(v.timetuple()))
    text = str(v).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        return int(time.mktime(time.strptime(text[:19], "%Y-%m-%d %H:%M:%S")))
    except (ValueError, OverflowError):
        return 0


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bytes):
        v = v.decode("utf-8", "surrogateescape")
    return str(v)


def split_aor(aor):
    """(username, domain or None) of an AOR as the row stores it."""
    if P.use_domain and "@" in aor:
        user, _, dom = aor.rpartition("@")
        return user, dom
    return aor, None


def row_of(aor, c) -> dict:
    user, dom = split_aor(aor)
    row = {
        col("ruid"): c["id"], col("user"): user, col("contact"): c["c"],
        col("expires"): to_time(c["e"]),
        col("q"): -1.0 if c["q"] < 0 else c["q"] / 1000.0,
        col("callid"): c["ci"], col("cseq"): c["cs"], col("flags"): _i32(c.get("f", 0)),
        col("cflags"): _i32(c.get("cf", 0)), col("user_agent"): c.get("ua", ""),
        col("methods"): _i32(c.get("m", ALL_METHODS)), "last_modified": to_time(c["lm"]),
        col("received"): c.get("r") or None, col("path"): c.get("p") or None,
        col("socket"): c.get("sk") or None, col("instance"): c.get("in") or None,
        "reg_id": c.get("ri", 0),
    }
    if P.use_domain:
        row[col("domain")] = dom or ""
    return row


def contact_of(row):
    """(aor, contact) of a row; None for a row without a contact."""
    g = lambda name: row.get(col(name))   # noqa: E731
    uri = _text(g("contact"))
    if not uri:
        return None
    user, dom = _text(g("user")), _text(g("domain"))
    aor = "%s@%s" % (user, dom) if P.use_domain and dom else user
    q = g("q")
    q = -1 if q is None or float(q) < 0 else int(round(float(q) * 1000))
    c = {
        "c": uri, "e": from_time(g("expires")), "q": q, "ci": _text(g("callid")),
        "cs": int(g("cseq") or 0), "p": _text(g("path")), "r": _text(g("received")),
        "ua": _text(g("user_agent")), "sk": _text(g("socket")), "in": _text(g("instance")),
        "ri": int(row.get("reg_id") or 0), "m": _u32(g("methods"), ALL_METHODS),
        "f": _u32(g("flags")), "cf": _u32(g("cflags")),
        "id": _text(g("ruid")) or S.new_ruid(), "lm": from_time(row.get("last_modified")),
        "st": S.SYNC,
    }
    return aor, c


def _where(domain, aor):
    user, dom = split_aor(aor)
    w = {col("user"): user}
    if P.use_domain:
        w[col("domain")] = dom or ""
    return w


# --- writing (db_mode 1, 2) -------------------------------------------------------------

def _log_down(rt, e):
    if not _STATE["down_logged"]:
        _STATE["down_logged"] = True
        rt.log(-1, "usrloc: database unavailable, changes kept in memory until it is back: %s"
               % e, "usrloc")


def _put(db, domain, aor, c, first):
    """Write one contact: insert or update by ruid, whichever the row needs."""
    DbError = _kdb().DbError
    row = row_of(aor, c)
    ruid = {col("ruid"): c["id"]}
    if first == "insert":
        try:
            db.insert(domain, row)
            return
        except DbError:
            if not db.available():
                raise
        if db.update(domain, ruid, row) == 0:
            db.insert(domain, row)
        return
    if db.update(domain, ruid, row) == 0:
        db.insert(domain, row)


def write(rt, domain, aor, pending, deletes) -> set:
    """Write contacts and delete the rows of removed ones; the done set:
    ("w", ruid) written, ("d", ruid) deleted.  Stops at a lost database."""
    db = database()
    done = set()
    if db is None or P.db_mode == DB_READONLY or not db.available():
        return done
    DbError = _kdb().DbError
    try:
        for c in pending:
            try:
                _put(db, domain, aor, c, "insert" if c["st"] == S.NEW else "update")
                done.add(("w", c["id"]))
            except DbError as e:
                if not db.available():
                    raise
                rt.log(-1, "usrloc: cannot write contact %s of %s: %s" % (c["c"], aor, e), "usrloc")
        for c in deletes:
            try:
                db.delete(domain, {col("ruid"): c["id"]})
                done.add(("d", c["id"]))
            except DbError as e:
                if not db.available():
                    raise
                rt.log(-1, "usrloc: cannot delete contact %s of %s: %s" % (c["c"], aor, e), "usrloc")
    except DbError as e:
        _log_down(rt, e)
        return done
    if _STATE["down_logged"]:
        _STATE["down_logged"] = False
        rt.log(1, "usrloc: database available again", "usrloc")
    return done


def sync_record(rt, domain, aor, snapshot) -> bool:
    """Write what is pending in one record (a snapshot of it) and mark it
    written in shared memory; True when nothing is left pending."""
    pending = [c for c in snapshot if c["e"] != S.DELETED and c["st"] != S.SYNC and S.persistent(c)]
    stones = [c for c in snapshot if c["e"] == S.DELETED]
    if not pending and not stones:
        return True
    done = write(rt, domain, aor, pending, stones)
    tab = S.table(rt)

    def step(rec):
        if rec is None:
            return tab.KEEP
        out = []
        for c in rec:
            if c["e"] == S.DELETED and ("d", c["id"]) in done:
                continue
            if ("w", c["id"]) in done and any(c == p for p in pending):
                c = dict(c, st=S.SYNC)
            out.append(c)
        if out == rec:
            return tab.KEEP
        return out if out else tab.DELETE

    if done:
        tab.update(S.key(domain, aor), step)
    return len(done) == len(pending) + len(stones)


# --- loading (db_mode 1, 2, 4) ----------------------------------------------------------

def _merge(rows, keep):
    def step(cur):
        cur = list(cur or [])
        have = {c["id"] for c in cur} | {c["c"] for c in cur}
        added = False
        for c in rows:
            if c["id"] in have or c["c"] in have:
                continue
            cur.append(c)
            added = True
        if not added:
            return keep
        return sorted(cur, key=lambda c: -c["q"]) if not P.desc_time_order else \
            sorted(cur, key=lambda c: -c["lm"])
    return step


def load_domain(rt, domain) -> int:
    """Read one location table into the records; the number of contacts read."""
    db = database()
    ours = {str(s) for s in rt.sockets}
    by_aor = {}
    n = 0
    for chunk in db.query_chunks(domain, chunk=P.fetch_rows):
        for row in chunk:
            got = contact_of(row)
            if got is None:
                continue
            aor, c = got
            if P.skip_remote_socket and c["sk"] and c["sk"] not in ours:
                continue
            by_aor.setdefault(aor, []).append(c)
            n += 1
    tab = S.table(rt)
    for aor, cs in by_aor.items():
        if tab.update(S.key(domain, aor), _merge(cs, tab.KEEP)) is tab.FULL:
            rt.log(-1, "usrloc: no shared memory for the contacts of %s: not loaded" % aor, "usrloc")
    return n


def load_pending(rt):
    """Load the tables not loaded yet (once per server run: the mark is in
    shared memory, so a restarted timer process does not load again)."""
    if P.db_mode not in (WRITE_THROUGH, WRITE_BACK, DB_READONLY):
        return
    if P.db_mode != DB_READONLY and not P.db_load:
        return
    meta = rt.tables[S.META]
    for domain in S.domains():
        if domain in _STATE["loaded"]:
            continue
        if meta.get("loaded:" + domain):
            _STATE["loaded"].add(domain)
            continue
        try:
            n = load_domain(rt, domain)
        except _kdb().DbError as e:
            _log_down(rt, e)
            continue
        meta.put("loaded:" + domain, 1)
        _STATE["loaded"].add(domain)
        rt.log(2, "usrloc: %d contact(s) loaded from %s" % (n, domain), "usrloc")


# --- db_mode 3: no records, only rows ----------------------------------------------------

def _sorted(cs):
    if P.desc_time_order:
        return sorted(cs, key=lambda c: -c["lm"])
    return sorted(cs, key=lambda c: -c["q"])


def get(rt, domain, aor) -> list:
    try:
        rows = database().query(domain, where=_where(domain, aor), order_by="id")
    except _kdb().DbError as e:
        raise S.UlError(str(e)) from None
    return _sorted([got[1] for got in map(contact_of, rows) if got is not None])


def modify(rt, domain, aor, fn, t):
    cur = get(rt, domain, aor)
    box = {}
    new = S._apply(cur, fn, t, box)
    before = {c["id"]: c for c in cur}
    after = {c["id"]: c for c in new}
    db = database()
    try:
        for rid, c in after.items():
            if rid not in before:
                _put(db, domain, aor, c, "insert")
            elif c != before[rid]:
                _put(db, domain, aor, c, "update")
        for rid in before:
            if rid not in after:
                db.delete(domain, {col("ruid"): rid})
    except _kdb().DbError as e:
        raise S.UlError(str(e)) from None
    return box["res"], box["after"]


def all_records(rt, domain):
    by_aor = {}
    try:
        for chunk in database().query_chunks(domain, chunk=P.fetch_rows):
            for row in chunk:
                got = contact_of(row)
                if got is not None:
                    by_aor.setdefault(got[0], []).append(got[1])
    except _kdb().DbError as e:
        raise S.UlError(str(e)) from None
    return [(aor, _sorted(cs)) for aor, cs in by_aor.items()]


def expire_rows(rt, domain, t):
    """db_mode 3 timer: delete the rows of expired contacts."""
    db = database()
    DbError = _kdb().DbError
    try:
        for aor, cs in all_records(rt, domain):
            for c in cs:
                if c["e"] and c["e"] <= t:
                    db.delete(domain, {col("ruid"): c["id"]})
                    if c["e"] != S.DELETED:
                        if domain == "location":
                            rt.count("usrloc:location-expires")
                        S._run_expired(rt, domain, aor, c)
    except (DbError, S.UlError) as e:
        _log_down(rt, e)
