# SPDX-License-Identifier: GPL-2.0-or-later
"""tm: stateful transactions (RFC 3261 §17) kept in shared memory."""

from kampy.module import (
    ANY_ROUTE, BRANCH_FAILURE_ROUTE, BRANCH_ROUTE, Counter, EVENT_ROUTE, FAILURE_ROUTE, Func, Module,
    ONREPLY_ROUTE, PvDef, REQUEST_ROUTE, Rpc, TableDef,
)
from .params import P
from . import funcs as F
from . import uac_rpc as U
from .replies import reply_hook
from .timers import fire

RQ = REQUEST_ROUTE | FAILURE_ROUTE
# event_route[tm:branch-failure:NAME] runs as a branch-failure route; the
# config compiler checks event routes as EVENT_ROUTE (t_relay refuses other ones)
BF = BRANCH_FAILURE_ROUTE | EVENT_ROUTE
RQB = REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE
ALLR = REQUEST_ROUTE | FAILURE_ROUTE | ONREPLY_ROUTE | BRANCH_ROUTE

def table_size(rt):
    """(buckets, bytes) of the transaction table: by default half of the
    shared memory (shm_mem / -m) -- Kamailio's transactions live in its whole
    shm pool, so a bigger -m must give kampy's more room too."""
    mb = P.table_mb or max(8, int(rt.params.get("shm_mem", 64)) // 2)
    return P.table_buckets or max(8192, 512 * mb), mb * 1024 * 1024


COUNTERS = ("current", "created", "received_replies", "relayed_replies", "relayed_branches",
            "retransmissions", "retransmissions_rcv", "timeouts", "local_replies", "absorbed_acks",
            "1xx_transactions", "2xx_transactions", "3xx_transactions", "4xx_transactions",
            "5xx_transactions", "6xx_transactions")

exports = Module(
    name="tm",
    doc="Stateful transactions: t_relay, failure routes, timers, CANCEL.",
    params=P,
    functions=[
        Func("t_relay", F.t_relay, RQ | BF), Func("t_relay", F.t_relay2, RQ | BF),
        Func("t_relay_to_udp", F.t_relay_to_udp, RQ | BF), Func("t_relay_to_udp", F.t_relay_to_udp0, RQ | BF),
        Func("t_newtran", F.t_newtran, REQUEST_ROUTE),
        Func("t_reply", F.t_reply, RQ), Func("t_send_reply", F.t_reply, RQ),
        Func("t_release", F.t_release, REQUEST_ROUTE),
        Func("t_on_failure", F.t_on_failure, RQB), Func("t_on_reply", F.t_on_reply, RQB),
        Func("t_on_branch", F.t_on_branch, RQ),
        Func("t_on_branch_failure", F.t_on_branch_failure, RQB),
        Func("t_set_fr", F.t_set_fr, RQB), Func("t_set_fr", F.t_set_fr1, RQB),
        Func("t_reset_fr", F.t_reset_fr, RQB),
        Func("t_check_status", F.t_check_status, FAILURE_ROUTE | ONREPLY_ROUTE | BF),
        Func("t_is_canceled", F.t_is_canceled, ALLR),
        Func("t_check_trans", F.t_check_trans, REQUEST_ROUTE | ONREPLY_ROUTE),
        Func("t_lookup_request", F.t_lookup_request, REQUEST_ROUTE),
        Func("t_branch_timeout", F.t_branch_timeout, FAILURE_ROUTE | BF),
        Func("t_branch_replied", F.t_branch_replied, FAILURE_ROUTE | BF),
        Func("t_any_timeout", F.t_any_timeout, ANY_ROUTE),
        Func("t_any_replied", F.t_any_replied, ANY_ROUTE),
        Func("t_flush_flags", F.t_flush_flags, RQB),
    ],
    pvs=[PvDef(name, factory) for name, factory in F.PVS.items()],
    counters=[Counter("tm", n) for n in COUNTERS],
    rpcs=[Rpc("tm.stats", F.rpc_stats, F.rpc_stats.__doc__), Rpc("tm.list", F.rpc_list, F.rpc_list.__doc__),
          Rpc("tm.t_uac_start", U.rpc_t_uac_start, U.rpc_t_uac_start.__doc__),
          Rpc("tm.t_uac_wait", U.rpc_t_uac_wait, U.rpc_t_uac_wait.__doc__)],
    tables=[TableDef("tm", table_size, nlocks=256)],
    timer_handlers={"tm": fire},
    reply_hook=reply_hook,
    pre_script=F.pre_script,
    api=F.Api,
    unsupported=("t_relay_to_tcp", "t_relay_to_tls", "t_relay_to_sctp", "t_replicate", "t_suspend",
                 "t_continue", "t_load_contacts", "t_next_contacts", "t_next_contact_flow",
                 "t_use_uac_headers", "t_uac_send", "t_drop_replies", "t_save_lumps",
                 "t_set_auto_inv_100", "t_set_disable_6xx", "t_set_disable_failover",
                 "t_set_no_e2e_cancel_reason", "t_is_set", "t_get_status_code", "t_grep_status",
                 "t_is_expired", "t_is_retr_async_reply", "t_set_max_lifetime", "t_set_retr",
                 "t_reset_retr", "t_reset_max_lifetime", "t_forward_nonack", "t_forward_nonack_uri",
                 "t_forward_nonack_udp", "t_reply_error", "t_send_reply_error", "t_retransmit_reply",
                 "t_save_lumps", "t_clean", "t_cancel_branches", "t_cancel_callid", "t_reply_callid"),
)
