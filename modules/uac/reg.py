# SPDX-License-Identifier: GPL-2.0-or-later
"""uac part: database-driven remote registrations.

What the config sees: the uac_reg_* functions, the uac.reg_* RPCs and the
uac:regtotal / regactive / regdisabled counters.  The records and their state
machine are in reg_core.py, the uacreg table in reg_db.py, the RPCs in
reg_rpc.py.
"""

from kampy.module import (
    ANY_ROUTE, BRANCH_ROUTE, Counter, FAILURE_ROUTE, Fmt, Func, IntV, PVW, REQUEST_ROUTE, Rpc,
    TableDef, Timer,
)
from kampy.script.ast import Pos
from kampy.script.pvparse import parse_pv
from kampy.sip.errors import ParseError
from kampy.sip.uri import parse_uri

from .params import P
from . import reg_core as C
from . import reg_db
from . import reg_rpc

RQ = REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE


# --- startup ---------------------------------------------------------------------------

_CAP = {"records": 256}


def mod_init(rt):
    """Register the tm callback, check the parameters, read the uacreg rows."""
    if "tm" in rt.modules:
        rt.api("tm").register_callback(C.CALLBACK, C.on_reply)
    if P.default_socket and C.find_socket(rt, P.default_socket) is None:
        raise ValueError("uac: default_socket %s is not one of the listen sockets" % P.default_socket)
    _TICK["sweep"] = None
    _TICK["loaded"] = False
    C.reset_window()
    _CAP["records"] = 256
    reg_db.mod_init(rt)
    if P.reg_db_url:
        rows = len(reg_db.BOOT["cfgs"]) if reg_db.BOOT["cfgs"] is not None else 5000
        _CAP["records"] = max(2 * rows, 1024)


def _pow2(n):
    return 1 << max(4, (max(n, 1) - 1).bit_length())


def _records_size(rt):
    """Room for twice the rows found at startup (reloads may add some)."""
    n = _CAP["records"]
    return max(_pow2(n), 1 << P.reg_hash_size), n * 768 + (256 << 10)


def _index_size(rt):
    n = _CAP["records"]
    return _pow2(3 * n), 3 * n * 160 + (256 << 10)


_TICK = {"sweep": None, "loaded": False}


def tick(rt):
    """The timer process's job: the first load, then a safety sweep every
    reg_timer_interval (at least 30 s: records are woken by their own
    timers, the sweep only catches what a dead process left behind)."""
    if not _TICK["loaded"]:
        if not reg_db.initial_load(rt):
            return
        _TICK["loaded"] = True
    C.drain(rt)
    t = C.now(rt)
    every = max(P.reg_timer_interval, 30)
    nxt = _TICK["sweep"]
    if nxt is None:
        _TICK["sweep"] = t + every
    elif t >= nxt:
        _TICK["sweep"] = t + every
        C.sweep(rt)


# --- script functions --------------------------------------------------------------------

def _set(ctx, pv, value) -> int:
    try:
        pv.set(ctx, value)
    except Exception as e:
        C.log(ctx.rt, -1, "cannot set %s: %s" % (pv, e))
        return -1
    return 1


def uac_reg_lookup(ctx, uuid: Fmt, dst: PVW) -> int:
    """uac_reg_lookup(uuid, dst): dst = sip:l_username@l_domain of the record uuid"""
    rec = C.table(ctx.rt).get(uuid) if uuid else None
    if rec is None:
        return -1
    return _set(ctx, dst, "sip:%s@%s" % (rec["lun"], rec["ld"]))


def _user_of(ctx, uri):
    """(user, domain or None) of a URI, the domain only with reg_use_domain."""
    try:
        u = parse_uri(uri.encode("utf-8", "surrogateescape"))
    except ParseError:
        C.log(ctx.rt, -1, "cannot parse URI %r" % uri)
        return None
    user = (u.user or b"").decode("utf-8", "replace")
    return user, (u.host.decode("utf-8", "replace") if P.reg_use_domain else None)


def uac_reg_lookup_uri(ctx, uri: Fmt, dst: PVW) -> int:
    """uac_reg_lookup_uri(uri, dst): dst = l_uuid of the record whose l_username is uri's user"""
    ud = _user_of(ctx, uri)
    if ud is None:
        return -2
    rec = C.by_user(ctx.rt, ud[0], ud[1])
    if rec is None:
        return -1
    return _set(ctx, dst, rec["lu"])


def uac_reg_status(ctx, uuid: Fmt) -> int:
    """uac_reg_status(uuid): 1 registered, -1 unknown, -2 in progress, -3 disabled, -99 waiting"""
    rec = C.table(ctx.rt).get(uuid) if uuid else None
    if rec is None:
        return -1
    return C.status(ctx.rt, rec)


_PVS = {}


def _auth_pv(rt, text):
    """The PV an auth_*_avp parameter names (resolved once per process)."""
    if not text:
        return None
    key = (id(rt.script), text)
    pv = _PVS.get(key)
    if pv is None:
        spec, _end = parse_pv(text, 0, Pos("modparam", 0, 0))
        pv = _PVS[key] = rt.script.registry.resolve(spec)
    return pv


def uac_reg_request_to(ctx, user: Fmt, mode: IntV) -> int:
    """uac_reg_request_to(user, mode): R-URI, $du and the auth AVPs of a record;
    mode bit 1: user is an l_username (else an l_uuid), bit 2: give auth_ha1"""
    rt = ctx.rt
    if mode & ~3:
        C.log(rt, -1, "uac_reg_request_to: unknown mode %d" % mode)
        return -1
    if mode & 1:
        if P.reg_use_domain:
            ud = _user_of(ctx, user)
            if ud is None:
                return -2
            rec = C.by_user(rt, ud[0], ud[1])
        else:
            rec = C.by_user(rt, user)
    else:
        rec = C.table(rt).get(user) if user else None
    if rec is None:
        return -1
    try:
        pvs = [_auth_pv(rt, P.auth_realm_avp), _auth_pv(rt, P.auth_username_avp),
               _auth_pv(rt, P.auth_password_avp)]
    except Exception as e:
        C.log(rt, -1, "bad auth_*_avp parameter: %s" % e)
        return -1
    if None in pvs:
        C.log(rt, -1, "uac_reg_request_to needs auth_realm_avp, auth_username_avp and "
                      "auth_password_avp")
        return -1
    ctx.msg.set_ruri(("sip:%s@%s" % (rec["run"], rec["rd"])).encode())
    ctx.du = rec["px"] or None
    secret = rec["ah"] if mode & 2 else rec["ap"]
    for pv, value in zip(pvs, (rec["rlm"], rec["au"], secret)):
        if _set(ctx, pv, value) < 0:
            return -1
    return 1


def _by_filter(ctx, attr, val, fn) -> int:
    if attr not in C.ATTRS:
        C.log(ctx.rt, -1, "unsupported filter attribute %s" % attr)
        return -3
    uuids = C.find(ctx.rt, attr, val) if val else []
    done = sum(1 for u in uuids if fn(ctx.rt, u))
    return 1 if done else -2


def uac_reg_enable(ctx, attr: Fmt, val: Fmt) -> int:
    """uac_reg_enable(attr, val): enable the records whose attr is val"""
    return _by_filter(ctx, attr, val, C.enable)


def uac_reg_disable(ctx, attr: Fmt, val: Fmt) -> int:
    """uac_reg_disable(attr, val): disable the records whose attr is val"""
    return _by_filter(ctx, attr, val, C.disable)


def uac_reg_send_register(ctx, attr: Fmt, val: Fmt) -> int:
    """uac_reg_send_register(attr, val): REGISTER the matching records now"""
    return _by_filter(ctx, attr, val, C.register_now)


def uac_reg_send_unregister(ctx, attr: Fmt, val: Fmt) -> int:
    """uac_reg_send_unregister(attr, val): unREGISTER (Expires: 0) the matching records now"""
    return _by_filter(ctx, attr, val, C.unregister_now)


def uac_reg_refresh(ctx, luuid: Fmt) -> int:
    """uac_reg_refresh(luuid): load the record luuid from the uacreg table again"""
    rt = ctx.rt
    if not P.reg_db_url:
        C.log(rt, -1, "uac_reg_refresh needs reg_db_url")
        return -1
    try:
        found = reg_db.refresh(rt, luuid)
    except (reg_db.LoadError, ValueError) as e:
        C.log(rt, 0, "failed to refresh record %s: %s" % (luuid, e))
        return -1
    if not found:
        C.log(rt, 0, "record not found: %s" % luuid)
        return -1
    return 1


# --- counters -----------------------------------------------------------------------------

def _count(i):
    def fn(rt):
        if C.TABLE not in rt.tables:
            return 0
        return C.counts(rt)[i]
    return fn


# --- exports --------------------------------------------------------------------------------

FUNCS = [
    Func("uac_reg_lookup", uac_reg_lookup, ANY_ROUTE),
    Func("uac_reg_lookup_uri", uac_reg_lookup_uri, ANY_ROUTE),
    Func("uac_reg_status", uac_reg_status, ANY_ROUTE),
    Func("uac_reg_request_to", uac_reg_request_to, RQ),
    Func("uac_reg_enable", uac_reg_enable, ANY_ROUTE),
    Func("uac_reg_disable", uac_reg_disable, ANY_ROUTE),
    Func("uac_reg_refresh", uac_reg_refresh, ANY_ROUTE),
    Func("uac_reg_send_register", uac_reg_send_register, ANY_ROUTE),
    Func("uac_reg_send_unregister", uac_reg_send_unregister, ANY_ROUTE),
]

RPCS = [Rpc(name, fn, fn.__doc__) for name, fn in reg_rpc.RPCS_TABLE]

COUNTERS = [
    Counter("uac", "regtotal", "records in memory", fn=_count(0)),
    Counter("uac", "regactive", "records registered now", fn=_count(1)),
    Counter("uac", "regdisabled", "records disabled", fn=_count(2)),
]

TABLES = [
    TableDef(C.TABLE, _records_size, nlocks=64),
    TableDef(C.INDEX, _index_size, nlocks=32),
    TableDef(C.META, lambda rt: (16, 64 << 10), nlocks=4),
]

TIMER_HANDLERS = {C.KIND: C.fire}

TIMERS = [Timer("uac.reg", tick, 0.02)]
