# SPDX-License-Identifier: GPL-2.0-or-later
"""Branch-failure routes: `t_on_branch_failure(NAME)` runs
`event_route[tm:branch-failure:NAME]` for each branch that ends with a
negative final reply (>= 300, or a local 408 when its timer fires), before
the transaction's own failure_route.

It runs in whichever process got that reply or fired that timer, with the
transaction's request (the branch's R-URI) as the message, the AVPs and flags
saved with the transaction, and the reply readable through $T_reply_code,
$T_reply_reason, $T_rpl(...), `status` and t_check_status().  t_relay() there
adds branches beside the pending ones (Kamailio uses this for RFC 5626 flow
failover).  While a branch-failure route runs, the transaction is not
completed by another process (the record's `bfp` count), so failure_route
always sees the branches it may have added.
"""

from kampy.module import BRANCH_FAILURE_ROUTE
from kampy.script.pv import s2b
from kampy.sip.build import REASONS

from . import relay as R

PREFIX = "tm:branch-failure:"


def route_of(rt, name):
    return rt.script.event_routes.get(PREFIX + name) if name else None


def run_branch_failure(rt, rec, tid, idx, code, reply_msg):
    """Run the branch-failure route of the transaction for branch idx."""
    route = route_of(rt, rec.get("bfr"))
    if route is None:
        rt.log(-1, "tm: no event_route[%s%s]" % (PREFIX, rec.get("bfr")))
        return
    ctx = R.failure_context(rt, rec, tid, reply_msg, BRANCH_FAILURE_ROUTE)
    ctx.t["bf"] = idx
    if idx < len(rec["b"]):
        uri = s2b(rec["b"][idx]["u"])
        if uri and uri != ctx.msg.ruri:
            ctx.msg.set_ruri(uri)
    ctx.data["tm.branch_code"] = code
    ctx.data["tm.branch_reason"] = (reply_msg.reason.decode("latin-1", "replace") if reply_msg is not None
                                    else REASONS.get(code, "Request Timeout"))
    try:
        rt.run_route(route, ctx)
    except Exception as e:           # a broken route must not leave the transaction hanging
        rt.log(-1, "tm: branch-failure route %s failed: %r" % (rec.get("bfr"), e))
