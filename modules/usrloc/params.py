# SPDX-License-Identifier: GPL-2.0-or-later
"""usrloc parameters: Kamailio's names and defaults.

A parameter kampy cannot honour is refused at startup when it is set to
something else than its default ("not supported"), never silently ignored;
one that cannot change anything here (TCP-only ones, on a UDP proxy) is
accepted.
"""

import sys

from kampy.module import Param, ParamValues

NO_DB, WRITE_THROUGH, WRITE_BACK, DB_ONLY, DB_READONLY = 0, 1, 2, 3, 4
CONTACT_ONLY, CONTACT_CALLID, CONTACT_PATH, CALLID_ONLY = 0, 1, 2, 3


def _range(lo, hi):
    def check(v):
        if not lo <= v <= hi:
            raise ValueError("must be between %d and %d" % (lo, hi))
        return v
    return check


def _positive(v):
    if v <= 0:
        raise ValueError("must be positive")
    return v


def _not_supported(default, why=""):
    def check(v):
        if v != default:
            raise ValueError("not supported by kampy%s" % (": " + why if why else ""))
        return v
    return check


def _url(v):
    from kampy.db import DbError, check_url
    v = v.strip()
    if v:
        try:
            check_url(v)
        except DbError as e:
            raise ValueError(str(e)) from None
    return v


def _bflag(v):
    if v != -1 and not 0 <= v <= 31:
        raise ValueError("a branch flag is 0..31 (-1: not set)")
    return v


class _Params(ParamValues):
    """Kamailio's parameters, plus a reset that forgets the location tables
    registered by the previous config compiled in this process."""

    def reset(self):
        super().reset()
        store = sys.modules.get(__package__ + ".store")
        if store is None:
            return
        store.DOMAINS.clear()
        store.CALLBACKS["expired"] = []
        store.CASE["sensitive"] = False


COLUMNS = ("user", "domain", "contact", "expires", "q", "callid", "cseq", "methods", "flags",
           "cflags", "user_agent", "received", "socket", "path", "ruid", "instance",
           "server_id", "connection_id", "keepalive")

P = _Params([
    Param("db_url", str, "", check=_url,
          doc="db_url: sqlite:///abs/path.db or postgres://user:pass@host:port/db"),
    Param("db_mode", int, NO_DB, check=_range(0, 4),
          doc="db_mode: 0 memory only, 1 write-through, 2 write-back, 3 DB only, "
              "4 loaded at startup then memory only"),
    Param("db_load", int, 1, doc="db_load: load the location table(s) at startup (db_mode 1, 2)"),
    Param("timer_interval", int, 60, check=_positive,
          doc="timer_interval: seconds between two runs of the expiry (and write-back) timer"),
    Param("use_domain", int, 0, doc="use_domain: the AOR is user@domain, not user alone"),
    Param("desc_time_order", int, 0, doc="desc_time_order: newest contact first instead of by q"),
    Param("matching_mode", int, CONTACT_ONLY, check=_range(0, 3),
          doc="matching_mode: 0 contact, 1 contact+Call-ID, 2 contact+path, 3 Call-ID only"),
    Param("cseq_delay", int, 20,
          doc="cseq_delay: seconds a REGISTER with the same Call-ID and CSeq counts as a "
              "retransmission"),
    Param("nat_bflag", int, -1, check=_bflag,
          doc="nat_bflag: branch flag marking a contact behind NAT"),
    Param("hash_size", int, 10, check=_range(1, 20),
          doc="hash_size: the shared location table has 2^hash_size buckets"),
    Param("preload", str, multi=True, doc="preload: a location table to create (and load) "
                                          "even if no registrar function names it"),
    Param("fetch_rows", int, 2000, check=_positive, doc="fetch_rows: rows read at once at load"),
    Param("timer_procs", int, 0, check=_range(0, 64),
          doc="timer_procs: >0 runs the usrloc timer in its own process (one, whatever N); "
              "with a database it always has its own process"),
    Param("expires_type", int, 0, check=_range(0, 1),
          doc="expires_type: 1 when expires and last_modified are BIGINT columns"),
    Param("db_insert_update", int, 0, doc="db_insert_update: accepted; an insert that finds the "
                                          "ruid already stored updates it anyway"),
    Param("db_check_update", int, 0, doc="db_check_update: accepted; an update that matches no "
                                         "row inserts it anyway"),
    Param("db_insert_null", int, 0, doc="db_insert_null: accepted (empty columns are NULL)"),
    Param("db_timer_clean", int, 0, doc="db_timer_clean: accepted; the timer always deletes "
                                        "the rows of the contacts it expires"),
    Param("skip_remote_socket", int, 0, doc="skip_remote_socket: skip loaded rows whose socket "
                                            "is not one of ours"),
    Param("db_raw_fetch_type", int, 0, doc="db_raw_fetch_type: accepted, no effect"),
    Param("handle_lost_tcp", int, 0, doc="handle_lost_tcp: accepted, no effect (UDP only)"),
    Param("close_expired_tcp", int, 0, doc="close_expired_tcp: accepted, no effect (UDP only)"),
    Param("server_id_filter", int, 0, doc="server_id_filter: accepted, no effect"),
    Param("version_table", int, 1, doc="version_table: 0 skips the check of the table version"),
    Param("db_ops_ruid", int, 1, check=_not_supported(1, "rows are always updated by ruid"),
          doc="db_ops_ruid: must stay 1"),
    Param("db_update_as_insert", int, 0, check=_not_supported(0), doc="not supported"),
    Param("xavp_contact", str, "", check=_not_supported(""), doc="not supported"),
    Param("ka_mode", int, 0, check=_not_supported(0, "no keepalives are sent"), doc="not supported"),
    Param("table_mb", int, 8, check=_positive, doc="kampy: MB of shared memory for location records"),
] + [Param("%s_column" % c, str, "username" if c == "user" else c,
           doc="%s_column: name of the %s column" % (c, c)) for c in COLUMNS])
