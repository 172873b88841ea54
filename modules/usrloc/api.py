# SPDX-License-Identifier: GPL-2.0-or-later
"""What other modules (registrar) use through rt.api("usrloc").

Contacts are the dicts described in store.py.  Every method takes the
location table's name ("location") first, as Kamailio's udomain.
"""

from .params import P, DB_ONLY
from . import store as S

UlError = S.UlError


class Api:
    UlError = S.UlError
    NEW, SYNC, DIRTY = S.NEW, S.SYNC, S.DIRTY
    FL_NAT, FL_MEM = S.FL_NAT, S.FL_MEM
    Q_UNSPECIFIED = S.Q_UNSPECIFIED

    def __init__(self, rt):
        self.rt = rt

    # --- settings the registrar follows ---
    @property
    def use_domain(self) -> bool:
        return bool(P.use_domain)

    @property
    def nat_bflag(self) -> int:
        return P.nat_bflag

    @property
    def db_only(self) -> bool:
        return P.db_mode == DB_ONLY

    def set_case_sensitive(self, flag: bool):
        """The registrar's case_sensitive, for the AORs RPC commands take."""
        S.CASE["sensitive"] = bool(flag)

    def register_domain(self, name):
        """A location table the config uses (registrar's mod_init, before the
        fork): created in memory, its database table checked (now, or by
        usrloc's mod_init if that runs later)."""
        S.register_domain(name)
        if P.db_mode:
            from . import db
            if db.database() is not None:
                db.check_version(self.rt, name)

    def domains(self) -> list:
        return S.domains()

    def register_callback(self, event, fn):
        """fn(rt, table, aor, contact) for "expired", in the timer process.
        Register before the fork (mod_init)."""
        if event not in S.CALLBACKS:
            raise ValueError("unknown usrloc event %r" % event)
        if fn not in S.CALLBACKS[event]:
            S.CALLBACKS[event].append(fn)

    # --- records ---
    def now(self) -> int:
        return S.now(self.rt)

    def new_ruid(self) -> str:
        return S.new_ruid()

    def aorhash(self, aor) -> int:
        return S.aorhash(aor)

    def valid(self, c, t) -> bool:
        return S.valid(c, t)

    def match(self, contacts, uri, callid, path, cseq, t, instance="", reg_id=0):
        """Kamailio's get_ucontact: (0 found | 1 not found | -1 older CSeq |
        -2 retransmission, contact)."""
        return S.match(contacts, uri, callid, path, cseq, t, instance, reg_id)

    def get(self, domain, aor) -> list:
        """Copies of the AOR's contacts in lookup order (expired ones too)."""
        return S.get(self.rt, domain, aor)

    def modify(self, domain, aor, fn):
        """Atomic edit of one AOR: fn(contacts, now) changes the list in place
        and returns a result; returns (result, contacts after).  fn runs under
        a lock: no I/O.  Raises UlError."""
        return S.modify(self.rt, domain, aor, fn)

    def delete(self, domain, aor) -> bool:
        return S.delete_aor(self.rt, domain, aor)

    def find_ruid(self, domain, ruid):
        """(aor, contact) of a ruid, searching the whole table; None if absent."""
        for _d, aor, cs in S.records(self.rt, domain):
            for c in cs:
                if c["id"] == ruid:
                    return aor, c
        return None
