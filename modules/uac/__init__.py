# SPDX-License-Identifier: GPL-2.0-or-later
"""uac: From/To replacement with restore, client digest authentication,
requests sent from the config, and database-driven remote registrations.

The module is one declaration assembled from its parts, each a file that
owns one feature and lists what it exports (FUNCS, PVS, RPCS, COUNTERS,
EVENT_ROUTES, TABLES, TIMER_HANDLERS, TIMERS, PROCS, UNSUPPORTED and the
optional hooks mod_init / child_init / destroy):
  replace  uac_replace_from/to, uac_restore_from/to, restore modes
  auth     credential, uac_auth(), the CSeq shift of re-sent requests
  req      $uac_req, uac_req_send(), event_route[uac:reply]
  reg      uacreg records, uac_reg_* functions, uac.reg_* RPCs, counters
"""

from kampy.module import Module

from .params import P
from . import replace, auth, req, reg

PARTS = (replace, auth, req, reg)


def _collect(name):
    out = []
    for part in PARTS:
        out.extend(getattr(part, name, ()))
    return out


def _hooks(name):
    fns = [getattr(p, name) for p in PARTS if callable(getattr(p, name, None))]
    if not fns:
        return None

    def run(*args):
        for fn in fns:
            fn(*args)
    return run


def _timer_handlers():
    out = {}
    for part in PARTS:
        out.update(getattr(part, "TIMER_HANDLERS", {}))
    return out


exports = Module(
    name="uac",
    doc="From/To replacement, client authentication, requests from the config, remote registrations.",
    params=P,
    functions=_collect("FUNCS"),
    pvs=_collect("PVS"),
    rpcs=_collect("RPCS"),
    counters=_collect("COUNTERS"),
    event_routes=_collect("EVENT_ROUTES"),
    tables=_collect("TABLES"),
    timer_handlers=_timer_handlers(),
    timers=_collect("TIMERS"),
    procs=_collect("PROCS"),
    depends=["tm"],
    mod_init=_hooks("mod_init"),
    child_init=_hooks("child_init"),
    destroy=_hooks("destroy"),
    unsupported=tuple(_collect("UNSUPPORTED")),
)
