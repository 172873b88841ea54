# SPDX-License-Identifier: GPL-2.0-or-later
"""usrloc RPC commands, with Kamailio's names, shapes and fault texts."""

from kampy.rpc import RpcFault

from .params import P, WRITE_THROUGH, WRITE_BACK, DB_ONLY
from . import store as S

NOT_SET = "[not set]"
RPC_CALLID = "dfjrewr12386fd6-343@kampy.rpc"
RPC_UA = "kampy SIP Router - RPC Server"
RPC_CSEQ = 1
_STATES = {S.NEW: "CS_NEW", S.SYNC: "CS_SYNC", S.DIRTY: "CS_DIRTY"}


def contact_struct(c, t) -> dict:
    """One contact as Kamailio's rpc_dump_contact prints it."""
    e = c["e"]
    if e == 0:
        exp = "permanent"
    elif e == S.DELETED:
        exp = "deleted"
    elif t > e:
        exp = "expired"
    else:
        exp = e - t
    return {
        "Address": c["c"], "Expires": exp,
        "Q": -1.0 if c["q"] < 0 else c["q"] / 1000.0,
        "Call-ID": c["ci"], "CSeq": c["cs"], "User-Agent": c.get("ua") or NOT_SET,
        "Received": c.get("r") or NOT_SET, "Path": c.get("p") or NOT_SET,
        "State": _STATES.get(c.get("st", S.NEW), "CS_UNKNOWN") if P.db_mode != DB_ONLY else "CS_SYNC",
        "Flags": c.get("f", 0), "CFlags": c.get("cf", 0), "Socket": c.get("sk") or NOT_SET,
        "Methods": c.get("m", 0xFFFFFFFF), "Ruid": c.get("id") or NOT_SET,
        "Instance": c.get("in") or NOT_SET, "Reg-Id": c.get("ri", 0), "Server-Id": 0,
        "Tcpconn-Id": -1, "Keepalive": 0, "Last-Keepalive": c.get("lm", 0),
        "Last-Modified": c.get("lm", 0),
    }


def _stored(rt, domain):
    """(aor, stored contacts with tombstones) of one table, for the dump."""
    if P.db_mode == DB_ONLY:
        return [(a, cs) for _d, a, cs in S.records(rt, domain)]
    out = []
    for k, cur in S.table(rt).items():
        d, aor = S.split_key(k)
        if d == domain and cur:
            out.append((k, aor, cur))
    return out


def _bucket(rt, k):
    tab = S.table(rt)
    if hasattr(tab, "bucket_of"):
        return tab.bucket_of(k)
    return S.aorhash(k) % (1 << P.hash_size)    # in-process runs (LocalTable)


def rpc_dump(rt, mode=None):
    """ul.dump [brief]: every location table, its AORs and their contacts"""
    t = S.now(rt)
    brief = mode == "brief"
    doms = []
    for domain in S.domains():
        try:
            stored = _stored(rt, domain)
        except S.UlError as e:
            raise RpcFault(500, "Internal error: %s" % e)
        slots = {}
        aors = []
        for item in sorted(stored, key=lambda x: x[-2]):
            if P.db_mode != DB_ONLY:
                k, aor, cur = item
                b = _bucket(rt, k)
                slots[b] = slots.get(b, 0) + 1
            else:
                aor, cur = item
            if brief:
                aors.append({"AoR": aor})
            else:
                aors.append({"Info": {"AoR": aor, "HashID": S.aorhash(aor),
                                      "Contacts": [{"Contact": contact_struct(c, t)} for c in cur]}})
        doms.append({"Domain": {
            "Domain": domain, "Size": 1 << P.hash_size, "AoRs": aors,
            "Stats": {"Records": len(aors), "Max-Slots": max(slots.values()) if slots else
                      (1 if aors else 0)},
        }})
    return {"Domains": doms}


def fix_aor(aor) -> str:
    """Kamailio's rpc_fix_aor: the domain part only with use_domain; lower case."""
    aor = str(aor)
    if P.use_domain:
        if "@" not in aor:
            raise RpcFault(500, "Domain missing in AOR")
    else:
        aor = aor.split("@", 1)[0]
    return aor if S.CASE["sensitive"] else aor.lower()


def _domain(table):
    if table not in S.DOMAINS:
        raise RpcFault(500, "Domain table not found")
    return table


def rpc_lookup(rt, table=None, aor=None):
    """ul.lookup table AOR: the valid contacts of one AOR"""
    if table is None or aor is None:
        raise RpcFault(500, "Not enough parameters (table and AOR to lookup)")
    domain = _domain(str(table))
    aor = fix_aor(aor)
    try:
        cs = S.get(rt, domain, aor)
    except S.UlError as e:
        raise RpcFault(500, "Internal error: %s" % e)
    if not cs:
        raise RpcFault(500, "AOR not found in location table")
    t = S.now(rt)
    valid = [c for c in cs if S.valid(c, t)]
    if not valid:
        raise RpcFault(500, "AOR has no contacts")
    return {"AoR": aor, "Contacts": [{"Contact": contact_struct(c, t)} for c in valid]}


def rpc_rm(rt, table=None, aor=None):
    """ul.rm table AOR: delete an AOR and all its contacts"""
    if table is None or aor is None:
        raise RpcFault(500, "Not enough parameters (table and AOR to lookup)")
    domain = _domain(str(table))
    try:
        S.delete_aor(rt, domain, fix_aor(aor))
    except S.UlError:
        raise RpcFault(500, "Failed to delete AOR")
    return None


def rpc_rm_contact(rt, table=None, aor=None, contact=None):
    """ul.rm_contact table AOR contact: delete one contact of an AOR"""
    if table is None or aor is None or contact is None:
        raise RpcFault(500, "Not enough parameters (table, AOR and contact)")
    domain = _domain(str(table))
    aor = fix_aor(aor)
    contact = str(contact)
    try:
        if not S.get(rt, domain, aor):
            raise RpcFault(404, "AOR not found")

        def fn(contacts, t):
            for i, c in enumerate(contacts):
                if c["c"] == contact:
                    del contacts[i]
                    return True
            return False
        found, _after = S.modify(rt, domain, aor, fn)
    except S.UlError:
        raise RpcFault(500, "Internal error (can't delete contact)")
    if not found:
        raise RpcFault(404, "Contact not found")
    return None


def rpc_flush(rt):
    """ul.flush: write the memory cache to the database now"""
    if P.db_mode not in (WRITE_THROUGH, WRITE_BACK):
        return None
    try:
        S.flush(rt)
    except S.UlError:
        raise RpcFault(500, "Operation failed")
    return None


def _is_set(v) -> bool:
    """Kamailio's ul_rpc_is_param_set: "", "." and "0" mean not given."""
    return v is not None and str(v) not in ("", ".", "0")


def rpc_add(rt, table=None, aor=None, contact=None, expires=None, q=None, path=None,
            flags=None, cflags=None, methods=None, received=None, socket=None):
    """ul.add table AOR contact expires q path flags cflags methods [received [socket]]

    Adds (or updates) a contact; expires 0 is permanent; path, received and
    socket "." or "0" mean none."""
    if methods is None:
        raise RpcFault(500, "Not enough parameters or wrong format")
    try:
        expires, flags, cflags, methods = int(expires), int(flags), int(cflags), int(methods)
        qv = float(q)
    except (TypeError, ValueError):
        raise RpcFault(500, "Not enough parameters or wrong format")
    domain = _domain(str(table))
    aor = fix_aor(aor)
    contact = str(contact)
    info = {
        "q": -1 if qv < 0 else int(round(qv * 1000)), "p": str(path) if _is_set(path) else "",
        "f": flags & 0xFFFFFFFF, "cf": cflags & 0xFFFFFFFF, "m": methods & 0xFFFFFFFF,
        "r": str(received) if _is_set(received) else "",
        "sk": str(socket) if _is_set(socket) else "", "ci": RPC_CALLID, "cs": RPC_CSEQ,
        "ua": RPC_UA,
    }

    def fn(contacts, t):
        info["e"] = expires + t if expires else 0
        code, c = S.match(contacts, contact, RPC_CALLID, "dummypath", RPC_CSEQ + 1, t)
        if c is not None:
            c.update(info)
        else:
            contacts.append(dict(info, c=contact, id=S.new_ruid(), ri=0, **{"in": ""}))
        return 1
    try:
        S.modify(rt, domain, aor, fn)
    except S.UlError:
        raise RpcFault(500, "Can't insert contact")
    return None


RPCS = [
    ("ul.dump", rpc_dump), ("ul.lookup", rpc_lookup), ("ul.rm", rpc_rm),
    ("ul.rm_contact", rpc_rm_contact), ("ul.flush", rpc_flush), ("ul.add", rpc_add),
]
