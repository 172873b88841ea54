# SPDX-License-Identifier: GPL-2.0-or-later
"""tm parameters, Kamailio's names; times in milliseconds."""

from kampy.module import Param, ParamValues


def _positive(v):
    if v <= 0:
        raise ValueError("must be positive")
    return v


def _not_negative(v):
    if v < 0:
        raise ValueError("must not be negative")
    return v


P = ParamValues([
    Param("fr_timer", int, 30000, doc="final reply timeout of a non-INVITE branch (Timer F)", check=_positive),
    Param("fr_inv_timer", int, 120000, doc="final reply timeout of an INVITE branch after a 1xx (Timer C)",
          check=_positive),
    Param("retr_timer1", int, 500, doc="T1: first retransmission interval", check=_positive),
    Param("retr_timer2", int, 4000, doc="T2: largest retransmission interval", check=_positive),
    Param("wt_timer", int, 5000, doc="how long a finished transaction is kept (absorbs retransmissions)",
          check=_positive),
    Param("auto_inv_100", int, 1, doc="send 100 Trying as soon as an INVITE is relayed"),
    Param("auto_inv_100_reason", str, "Trying"),
    Param("max_inv_lifetime", int, 180000, check=_positive),
    Param("max_noninv_lifetime", int, 32000, check=_positive),
    Param("restart_fr_on_each_reply", int, 1),
    Param("noisy_ctimer", int, 1),
    Param("unix_tx_timeout", int, 500),
    Param("aggregate_challenges", int, 1),
    Param("reparse_invite", int, 1),
    Param("ac_extra_hdrs", str, ""),
    Param("blst_503", int, 0),
    Param("failure_reply_mode", int, 3),
    Param("contacts_avp", str, ""),
    Param("contact_flows_avp", str, ""),
    Param("fr_timer_avp", str, ""),
    Param("fr_inv_timer_avp", str, ""),
    Param("on_sl_reply", str, ""),
    Param("e2e_cancel_reason", int, 1),
    Param("cancel_b_method", int, 1),
    Param("reparse_on_dns_failover", int, 1),
    Param("disable_6xx_block", int, 0),
    Param("local_ack_mode", int, 0),
    Param("local_cancel_reason", int, 1),
    Param("xavp_contact", str, ""),
    Param("failure_exec_mode", int, 0),
    Param("dns_reuse_rcv_socket", int, 0),
    Param("event_callback", str, ""),
    Param("relay_100", int, 0),
    Param("rich_redirect", int, 0),
    Param("table_buckets", int, 0, check=_not_negative,
          doc="kampy: buckets of the shared transaction table (0: 512 per MB of table_mb, at least 8192)"),
    Param("table_mb", int, 0, check=_not_negative,
          doc="kampy: MB of shared memory for transactions (0: half of shm_mem, at least 8)"),
])
