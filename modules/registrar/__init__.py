# SPDX-License-Identifier: GPL-2.0-or-later
"""registrar: REGISTER processing (save) and the location lookups on top of usrloc."""

from kampy.module import (
    ANY_ROUTE, Counter, EVENT_ROUTE, FAILURE_ROUTE, Fmt, Func, IntV, Module, ONREPLY_ROUTE,
    PvDef, REQUEST_ROUTE, Str,
)
from kampy.script import ast as A
from kampy.script.context import Context
from kampy.sip import parse

from .params import P
from . import lookup as L
from . import save as SV
from . import ulc as U

TABLES = []     # location tables the config names (fixups), registered in usrloc at mod_init
RUNTIME = {}    # PVs of received_avp / reg_callid_avp, resolved at mod_init

ROUTES = REQUEST_ROUTE | FAILURE_ROUTE
EXPIRED_ROUTE = "usrloc:contact-expired"


# --- fixups ----------------------------------------------------------------------------

def _table_fixup(args, pos):
    a = args[0]
    if not isinstance(a, A.StrLit) or "$" in a.value or not a.value:
        raise A.ConfigError(a.pos, "the location table must be a fixed name")
    if a.value not in TABLES:
        TABLES.append(a.value)


def _flags_value(text) -> int:
    return int(str(text).strip() or "0", 0)


def _save_fixup(args, pos):
    _table_fixup(args, pos)
    if len(args) > 1 and isinstance(args[1], A.StrLit) and "$" not in args[1].value:
        try:
            _flags_value(args[1].value)
        except ValueError:
            raise A.ConfigError(args[1].pos, "save(): flags must be a number (decimal or "
                                             "0x hexadecimal)") from None


# --- script functions ------------------------------------------------------------------

def _flags(ctx, text) -> int:
    try:
        return _flags_value(text)
    except ValueError:
        ctx.rt.log(-1, "registrar: bad save() flags %r" % (text,), "registrar")
        return 0


def save1(ctx, table: Str) -> int:
    """save(table): store the REGISTER's contacts and reply"""
    return SV.save(ctx, table)


def save2(ctx, table: Str, flags: Fmt) -> int:
    """save(table, flags): 0x01 memory only, 0x02 no reply, 0x04 one contact per AOR,
    0x08 no expires randomization"""
    return SV.save(ctx, table, _flags(ctx, flags))


def save3(ctx, table: Str, flags: Fmt, uri: Fmt) -> int:
    """save(table, flags, uri): the AOR of uri instead of To's"""
    return SV.save(ctx, table, _flags(ctx, flags), uri)


def lookup1(ctx, table: Str) -> int:
    """lookup(table): R-URI := best contact of its AOR; 1, -1 none, -2 method, -3 error"""
    return L.lookup(ctx, table)


def lookup2(ctx, table: Str, uri: Fmt) -> int:
    """lookup(table, uri): the contacts of uri's AOR"""
    return L.lookup(ctx, table, uri)


def lookup_branches(ctx, table: Str) -> int:
    """lookup_branches(table): lookup() on the R-URI and on the plain branches"""
    return L.lookup_branches(ctx, table)


def registered1(ctx, table: Str) -> int:
    """registered(table): the R-URI's AOR (To's for a reply) has a contact"""
    return L.registered(ctx, table)


def registered2(ctx, table: Str, uri: Fmt) -> int:
    """registered(table, uri)"""
    return L.registered(ctx, table, uri)


def registered3(ctx, table: Str, uri: Fmt, match_option: IntV) -> int:
    """registered(table, uri, match_option): 1 Call-ID, 2 received, 4 contact (xavp_cfg)"""
    return L.registered(ctx, table, uri, match_option)


def registered4(ctx, table: Str, uri: Fmt, match_option: IntV, match_action: IntV) -> int:
    """registered(table, uri, match_option, match_action)"""
    return L.registered(ctx, table, uri, match_option, match_action)


def unregister2(ctx, table: Str, uri: Fmt) -> int:
    """unregister(table, uri): remove every contact of uri's AOR"""
    return L.unregister(ctx, table, uri)


def unregister3(ctx, table: Str, uri: Fmt, ruid: Fmt) -> int:
    """unregister(table, uri, ruid): remove the contact with this ruid"""
    return L.unregister(ctx, table, uri, ruid)


def reg_fetch_contacts(ctx, table: Str, uri: Fmt, profile: Str) -> int:
    """reg_fetch_contacts(table, uri, profile): contacts into $ulc(profile)"""
    return U.reg_fetch_contacts(ctx, table, uri, profile)


def reg_free_contacts(ctx, profile: Str) -> int:
    """reg_free_contacts(profile)"""
    return U.reg_free_contacts(ctx, profile)


def add_sock_hdr(ctx, name: Fmt) -> int:
    """add_sock_hdr(name): a header with the receiving socket (proto:ip:port)"""
    if not name or ctx.rcv is None:
        return -1
    ctx.msg.append_header("%s: %s" % (name.strip(), ctx.rcv))
    return 1


# --- module life ---------------------------------------------------------------------

def _resolve_pv(rt, text, param):
    from kampy.script.ast import Pos
    from kampy.script.pvparse import parse_pv
    text = text.strip()
    pos = Pos("modparam registrar " + param, 1, 1)
    try:
        if not text.startswith("$"):
            raise A.ConfigError(pos, "not a pseudo-variable")
        spec, end = parse_pv(text, 0, pos)
        if end != len(text):
            raise A.ConfigError(pos, "text after the pseudo-variable")
        return rt.script.registry.resolve(spec)
    except A.ConfigError as e:
        raise ValueError("%s %r: %s" % (param, text, e.message)) from None


_EVENT_MSG = (b"OPTIONS sip:you@kamailio.org SIP/2.0\r\n"
              b"Via: SIP/2.0/UDP 127.0.0.1\r\n"
              b"From: <sip:you@kamailio.org>;tag=123\r\n"
              b"To: <sip:you@kamailio.org>\r\n"
              b"Call-ID: 123\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


def _on_expired(rt, table, aor, contact):
    """event_route[usrloc:contact-expired] with $ulc(exp=>...) set."""
    route = rt.script.event_routes.get(EXPIRED_ROUTE)
    if route is None:
        return
    U.set_profile("exp", table, aor, rt.api("usrloc").aorhash(aor), [contact])
    ctx = Context(rt, parse(_EVENT_MSG), "127.0.0.1", 5060, "udp", rt.default_socket(), EVENT_ROUTE)
    ctx.event = {"name": EXPIRED_ROUTE}
    try:
        rt.run_route(route, ctx)
    finally:
        U.PROFILES.pop("exp", None)


def mod_init(rt):
    RUNTIME.clear()
    if P.received_avp:
        RUNTIME["received_pv"] = _resolve_pv(rt, P.received_avp, "received_avp")
    if P.reg_callid_avp:
        RUNTIME["callid_pv"] = _resolve_pv(rt, P.reg_callid_avp, "reg_callid_avp")
    api = rt.api("usrloc")
    api.set_case_sensitive(P.case_sensitive)
    for name in TABLES:
        api.register_domain(name)
    if EXPIRED_ROUTE in rt.script.event_routes:
        api.register_callback("expired", _on_expired)


def _param_counter(name):
    return Counter("registrar", name, "value of the %s parameter" % name,
                   fn=lambda rt: getattr(P, name))


exports = Module(
    name="registrar",
    doc="REGISTER processing: save(), lookup(), registered(), unregister(), $ulc.",
    params=P,
    functions=[
        Func("save", save1, ROUTES | ONREPLY_ROUTE, fixup=_save_fixup),
        Func("save", save2, ROUTES | ONREPLY_ROUTE, fixup=_save_fixup),
        Func("save", save3, ROUTES | ONREPLY_ROUTE, fixup=_save_fixup),
        Func("lookup", lookup1, ROUTES, fixup=_table_fixup),
        Func("lookup", lookup2, ROUTES, fixup=_table_fixup),
        Func("lookup_branches", lookup_branches, ROUTES, fixup=_table_fixup),
        Func("registered", registered1, ANY_ROUTE, fixup=_table_fixup),
        Func("registered", registered2, ANY_ROUTE, fixup=_table_fixup),
        Func("registered", registered3, ANY_ROUTE, fixup=_table_fixup),
        Func("registered", registered4, ANY_ROUTE, fixup=_table_fixup),
        Func("unregister", unregister2, ANY_ROUTE, fixup=_table_fixup),
        Func("unregister", unregister3, ANY_ROUTE, fixup=_table_fixup),
        Func("reg_fetch_contacts", reg_fetch_contacts, ANY_ROUTE, fixup=_table_fixup),
        Func("reg_free_contacts", reg_free_contacts, ANY_ROUTE),
        Func("add_sock_hdr", add_sock_hdr, REQUEST_ROUTE),
    ],
    pvs=[PvDef("ulc", U.ulc_factory, "$ulc(profile=>attr): contacts reg_fetch_contacts() got")],
    event_routes=[EXPIRED_ROUTE],
    counters=[Counter("registrar", "accepted_regs", "REGISTERs save() accepted"),
              Counter("registrar", "rejected_regs", "REGISTERs save() rejected")]
    + [_param_counter(n) for n in ("max_expires", "max_contacts", "default_expires")],
    depends=["usrloc", "sl"],
    mod_init=mod_init,
    unsupported=("save_noreply", "save_memory"),
)
