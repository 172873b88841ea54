# SPDX-License-Identifier: GPL-2.0-or-later
"""usrloc: the location records, in the shared table "location".

One record per address of record:

    "<table>|<aor>"  ->  [contact, ...]

so that everything save() decides about an AOR happens in one Table.update,
under that record's bucket lock, in whichever worker got the REGISTER (what
Kamailio does with lock_udomain).  A contact is a small dict:

    c   contact URI                 e   expires, unix time (0 permanent,
    q   q x 1000 (-1: not given)        DELETED: unregistered, row to delete)
    ci  Call-ID        cs  CSeq     p   Path vector ("" none)
    r   received ("")  ua  User-Agent      sk  socket "udp:ip:port" ("")
    in  +sip.instance  ri  reg-id   m   methods bitmask
    f   usrloc flags   cf  branch flags    id  ruid      lm  last modified
    st  NEW (not in the database), SYNC, DIRTY (changed since written)

The list keeps Kamailio's order: highest q first, equal q oldest first (or
the most recently changed first with desc_time_order), so lookup() takes it
as it is.  With a database (db_mode 1, 2) a removed contact that has a row
stays as a tombstone (e = DELETED, hidden from every reader) until the row
is deleted.
"""

import itertools
import os
import time
import zlib

from kampy.runtime import LocalTimers

from .params import P, NO_DB, WRITE_THROUGH, WRITE_BACK, DB_ONLY
from .params import CONTACT_ONLY, CONTACT_CALLID, CONTACT_PATH

TABLE = "location"
META = "usrloc_meta"
NEW, SYNC, DIRTY = 0, 1, 2
DELETED = 10                  # Kamailio's UL_EXPIRED_TIME: an expires long past
FL_NAT, FL_NATS, FL_MEM = 1, 2, 1 << 8
Q_UNSPECIFIED = -1

DOMAINS = {}                  # location table name -> registration order
CALLBACKS = {"expired": []}   # fn(rt, table, aor, contact) in the timer process
CASE = {"sensitive": False}   # registrar's case_sensitive, for the RPC commands' AORs
_BASE = int(time.time())      # wall clock of in-process runs (LocalTimers)
_ruids = itertools.count(1)
_boot = "%x" % int(time.time())


class UlError(Exception):
    """A location operation failed (shared memory full, database down)."""


def now(rt) -> int:
    """Unix seconds.  In-process runs (LocalTimers) follow the test's clock."""
    t = rt.timers
    if isinstance(t, LocalTimers):
        return _BASE + t.now_ms // 1000
    return int(time.time())


def table(rt):
    return rt.tables[TABLE]


def key(domain, aor) -> str:
    return "%s|%s" % (domain, aor)


def split_key(k):
    if isinstance(k, bytes):
        k = k.decode("utf-8", "surrogateescape")
    domain, _, aor = k.partition("|")
    return domain, aor


def aorhash(aor) -> int:
    return zlib.crc32(aor.encode("utf-8", "surrogateescape"))


def new_ruid() -> str:
    """A record id unique across processes and restarts (Kamailio's sruid)."""
    return "uloc-%s-%x-%x" % (_boot, os.getpid(), next(_ruids))


def valid(c, t) -> bool:
    """Kamailio's VALID_CONTACT: permanent or not yet expired."""
    e = c["e"]
    return e == 0 or e > t


def register_domain(name):
    DOMAINS.setdefault(name, len(DOMAINS))


def domains() -> list:
    return sorted(DOMAINS, key=DOMAINS.get)


def check_domain(name):
    if name not in DOMAINS:
        raise UlError("location table %r is not in use (no registrar function or "
                      "usrloc preload names it)" % name)


def persistent(c) -> bool:
    """A contact whose changes go to the database (db_mode 1, 2)."""
    return P.db_mode in (WRITE_THROUGH, WRITE_BACK) and not c.get("f", 0) & FL_MEM


# --- matching (Kamailio's get_ucontact) ------------------------------------------------------

def match(contacts, uri, callid, path, cseq, t, instance="", reg_id=0):
    """(code, contact): 0 found, 1 not found, -1 found with an older CSeq of the
    same Call-ID (out of order), -2 found with the same CSeq within
    cseq_delay (a retransmission).  A contact with +sip.instance matches by
    instance and reg-id, whatever its URI."""
    if instance:
        bare = instance.strip("<>")
        for c in contacts:
            if c.get("in") and c.get("ri", 0) == reg_id and c["in"].strip("<>") == bare:
                return 0, c
        return 1, None
    mode = P.matching_mode
    found = None
    for c in contacts:
        if mode == CONTACT_ONLY:
            ok = c["c"] == uri
        elif mode == CONTACT_CALLID:
            ok = c["c"] == uri and c["ci"] == callid
        elif mode == CONTACT_PATH:
            ok = c["c"] == uri and (not path or c["p"] == path)
        else:
            ok = c["ci"] == callid
        if ok:
            found = c
            break
    if found is None:
        return 1, None
    if mode == CONTACT_CALLID or found["ci"] == callid:
        if cseq < found["cs"]:
            return -1, found
        if cseq == found["cs"]:
            return (-2 if found["lm"] + P.cseq_delay > t else -1), found
    return 0, found


# --- order ------------------------------------------------------------------------------------

def _ordered(contacts, moved):
    """Kamailio's list order; `moved` (ruids) were inserted or changed now."""
    if P.desc_time_order:
        front = [c for c in contacts if c["id"] in moved]
        rest = [c for c in contacts if c["id"] not in moved]
        return list(reversed(front)) + rest
    rest = [c for c in contacts if c["id"] not in moved]
    return sorted(rest + [c for c in contacts if c["id"] in moved], key=lambda c: -c["q"])


# --- one record ----------------------------------------------------------------------------

def _apply(old, fn, t, box):
    """Run fn over the live contacts of `old`; the new stored list."""
    old = old or []
    live = [c for c in old if c["e"] != DELETED]
    stones = [c for c in old if c["e"] == DELETED]
    before = {c["id"]: c for c in live}
    work = [dict(c) for c in live]
    box["res"] = fn(work, t)
    moved = set()
    out = []
    seen = set()
    for c in work:
        prev = before.get(c["id"])
        seen.add(c["id"])
        if prev is None:
            c["st"] = NEW
            c.setdefault("lm", t)
            moved.add(c["id"])
        elif c != prev:
            if c["q"] != prev["q"] or P.desc_time_order:
                moved.add(c["id"])
            c["lm"] = t
            if prev["st"] == SYNC:
                c["st"] = DIRTY
        out.append(c)
    for rid, c in before.items():
        if rid not in seen and c["st"] != NEW and persistent(c):
            stones.append(dict(c, e=DELETED))
    out = _ordered(out, moved)
    box["after"] = out
    return out + stones


def modify(rt, domain, aor, fn):
    """fn(contacts, now) edits a copy of the AOR's live contacts in place (add,
    change, remove dicts) and returns a result; under the record's lock, so
    it must not do I/O.  Returns (result, contacts after).  With db_mode 1
    the changes are written to the database before returning."""
    check_domain(domain)
    if P.db_mode == DB_ONLY:
        from . import db
        return db.modify(rt, domain, aor, fn, now(rt))
    t = now(rt)
    box = {}
    tab = table(rt)

    def step(cur):
        new = _apply(cur, fn, t, box)
        if new == (cur or []):
            return tab.KEEP
        return new if new else tab.DELETE

    res = tab.update(key(domain, aor), step)
    if res is tab.FULL:
        raise UlError("no shared memory left for the contacts of %s (raise usrloc table_mb)" % aor)
    if P.db_mode == WRITE_THROUGH and res is not tab.KEEP:
        from . import db
        db.sync_record(rt, domain, aor, res if res is not tab.DELETE else [])
    return box["res"], box["after"]


def get(rt, domain, aor) -> list:
    """The AOR's contacts (copies, expired ones included, tombstones not)."""
    check_domain(domain)
    if P.db_mode == DB_ONLY:
        from . import db
        return db.get(rt, domain, aor)
    cur = table(rt).get(key(domain, aor)) or []
    return [c for c in cur if c["e"] != DELETED]


def delete_aor(rt, domain, aor) -> bool:
    """Remove every contact of an AOR; False when it had none."""
    res, _after = modify(rt, domain, aor, _clear)
    return res


def _clear(contacts, t):
    had = bool(contacts)
    del contacts[:]
    return had


def records(rt, domain=None):
    """(table, aor, live contacts) of every record (a snapshot, bucket by bucket)."""
    if P.db_mode == DB_ONLY:
        from . import db
        for d in ([domain] if domain else domains()):
            for aor, contacts in db.all_records(rt, d):
                yield d, aor, contacts
        return
    for k, cur in table(rt).items():
        d, aor = split_key(k)
        if domain is not None and d != domain:
            continue
        live = [c for c in cur if c["e"] != DELETED]
        if live:
            yield d, aor, live


# --- the timer ------------------------------------------------------------------------------

def _run_expired(rt, domain, aor, c):
    for fn in CALLBACKS["expired"]:
        try:
            fn(rt, domain, aor, c)
        except Exception as e:   # a bad callback must not stop the timer
            rt.log(-1, "usrloc: expired-contact callback failed: %r" % (e,), "usrloc")


def timer(rt):
    """Drop expired contacts (and tombstones) and, with a database, write what
    changed: every timer_interval seconds, in the usrloc timer process."""
    from . import db
    if P.db_mode == DB_ONLY:
        for d in domains():
            db.expire_rows(rt, d, now(rt))
        return
    if P.db_mode != NO_DB:
        db.load_pending(rt)         # what could not be loaded at startup (database down)
    t = now(rt)
    tab = table(rt)
    for k, cur in tab.items():
        gone = [c for c in cur if c["e"] and c["e"] <= t]
        pending = [c for c in cur if c["st"] != SYNC and persistent(c) and c not in gone]
        if not gone and not pending:
            continue
        domain, aor = split_key(k)
        done = set()
        if P.db_mode in (WRITE_THROUGH, WRITE_BACK):
            done = db.write(rt, domain, aor, pending, [c for c in gone if c["st"] != NEW
                                                       and persistent(c)])
        expired = []

        def step(rec):
            if rec is None:
                return tab.KEEP
            out = []
            for c in rec:
                if c["e"] and c["e"] <= t and (c["st"] == NEW or not persistent(c)
                                               or ("d", c["id"]) in done):
                    if c["e"] != DELETED:
                        expired.append(c)
                    continue
                if ("w", c["id"]) in done and any(c == p for p in pending):
                    c = dict(c, st=SYNC)
                out.append(c)
            if out == rec:
                return tab.KEEP
            return out if out else tab.DELETE

        tab.update(k, step)
        for c in expired:
            if domain == "location":
                rt.count("usrloc:location-expires")
            _run_expired(rt, domain, aor, c)


def flush(rt):
    """ul.flush: write every changed contact now (db_mode 1, 2)."""
    from . import db
    if P.db_mode not in (WRITE_THROUGH, WRITE_BACK):
        return
    tab = table(rt)
    failed = 0
    for k, cur in tab.items():
        pending = [c for c in cur if c["st"] != SYNC and persistent(c) and c["e"] != DELETED]
        stones = [c for c in cur if c["e"] == DELETED]
        if not pending and not stones:
            continue
        domain, aor = split_key(k)
        if not db.sync_record(rt, domain, aor, cur):
            failed += 1
    if failed:
        raise UlError("%d record(s) could not be written" % failed)


# --- counters -----------------------------------------------------------------------------

def count_users(rt, domain=None) -> int:
    if P.db_mode == DB_ONLY:
        return 0
    t = now(rt)
    return sum(1 for _d, _a, cs in records(rt, domain) if any(valid(c, t) for c in cs))


def count_contacts(rt, domain=None) -> int:
    if P.db_mode == DB_ONLY:
        return 0
    t = now(rt)
    return sum(sum(1 for c in cs if valid(c, t)) for _d, _a, cs in records(rt, domain))
