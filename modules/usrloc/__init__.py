# SPDX-License-Identifier: GPL-2.0-or-later
"""usrloc: the location service (AOR -> contacts) in shared memory, with
Kamailio's location table behind it (db_mode 1, 2, 3, 4)."""

import time

from kampy.module import Counter, Module, Process, Rpc, TableDef, Timer

from .api import Api
from .params import P, NO_DB, WRITE_THROUGH, WRITE_BACK
from . import rpc as R
from . import store as S


def _timer_job(rt):
    S.timer(rt)


def _timer_proc(rt, rank):
    """The usrloc timer in its own process (Kamailio's slow timer): loads the
    tables, then expires and writes back every timer_interval seconds, so
    that database time never delays tm's timers."""
    from . import db
    try:
        db.load_pending(rt)
    except Exception as e:   # the next run retries
        rt.log(-1, "usrloc: loading the location tables failed: %r" % (e,), "usrloc")
    nxt = time.monotonic() + P.timer_interval
    while True:
        time.sleep(max(0.05, min(1.0, nxt - time.monotonic())))
        if time.monotonic() < nxt:
            continue
        nxt = time.monotonic() + P.timer_interval
        try:
            S.timer(rt)
        except Exception as e:   # keep the process alive: the next run retries
            rt.log(-1, "usrloc: timer failed: %r" % (e,), "usrloc")


TIMER = Timer("usrloc", _timer_job, 60)
PROC = Process("usrloc", _timer_proc, "kampy: usrloc timer")


def mod_init(rt):
    if P.db_mode != NO_DB:
        from . import db
        db.setup(rt)
    api = rt.api("usrloc")
    for name in P.preload:
        api.register_domain(name)
    for name in S.domains():      # named by a module initialised before usrloc
        api.register_domain(name)
    TIMER.interval = P.timer_interval
    if P.db_mode != NO_DB or P.timer_procs > 0:
        exports.timers, exports.procs = [], [PROC]
    else:
        exports.timers, exports.procs = [TIMER], []


def destroy(rt):
    """Shutdown: the write-back cache goes to the database, as Kamailio does."""
    if P.db_mode in (WRITE_THROUGH, WRITE_BACK):
        try:
            S.flush(rt)
        except Exception as e:
            rt.log(-1, "usrloc: flush at shutdown: %s" % (e,), "usrloc")


def _table_size(rt):
    return 1 << P.hash_size, P.table_mb * 1024 * 1024


exports = Module(
    name="usrloc",
    doc="User location: contacts of addresses of record in shared memory, location table.",
    params=P,
    rpcs=[Rpc(name, fn, fn.__doc__) for name, fn in R.RPCS],
    counters=[
        Counter("usrloc", "registered_users", "AORs with a valid contact, all tables",
                fn=lambda rt: S.count_users(rt)),
        Counter("usrloc", "location-users", "AORs with a valid contact in table location",
                fn=lambda rt: S.count_users(rt, "location")),
        Counter("usrloc", "location-contacts", "valid contacts in table location",
                fn=lambda rt: S.count_contacts(rt, "location")),
        Counter("usrloc", "location-expires", "contacts of table location expired so far"),
    ],
    tables=[TableDef(S.TABLE, _table_size, nlocks=64),
            TableDef(S.META, lambda rt: (16, 64 << 10), nlocks=4)],
    timers=[TIMER],
    mod_init=mod_init,
    destroy=destroy,
    api=Api,
)
