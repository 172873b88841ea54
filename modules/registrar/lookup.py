# SPDX-License-Identifier: GPL-2.0-or-later
"""registrar: lookup(), lookup_branches(), registered(), unregister().

lookup() rewrites the R-URI with the best contact (usrloc keeps them in
that order: highest q first), sends it to the contact's received address
or Path ($du, Route headers) over the socket the REGISTER came in on, and
appends the other contacts as branches (append_branches) for tm to fork.
"""

from kampy.script.context import Branch
from kampy.sip.errors import ParseError
from kampy.sip.headers import parse_name_addr_list

from .params import P
from .common import AorError, extract_aor, fill_rcd, method_bit, xavp_cfg


def _b2s(b) -> str:
    return b.decode("utf-8", "surrogateescape") if isinstance(b, bytes) else (b or "")


def _find_socket(rt, text):
    if not text:
        return None
    for s in rt.sockets:
        if str(s) == text:
            return s
    return None


def _path_hops(rt, path):
    """(Route header value, first hop URI) for a stored Path vector."""
    try:
        hops = parse_name_addr_list(path.encode("utf-8", "surrogateescape"))
    except ParseError:
        return None, None
    if P.path_check_local and hops:
        u = hops[0].uri
        if rt.is_myself(u.host, u.port or 5060):
            hops = hops[1:]
    if not hops:
        return None, None
    return ",".join(_b2s(h.raw).strip() for h in hops), _b2s(hops[0].uri_raw)


def _add_route(msg, value):
    """Route before the first Route header, else after the last Via."""
    routes = msg.positions("route")
    if routes:
        msg.append_header("Route: " + value, before=routes[0])
        return
    vias = msg.positions("via")
    msg.append_header("Route: " + value, before=vias[-1] + 1 if vias else 0)


def _contacts(ctx, domain, uri):
    """(aor, valid contacts, now) or an int return code."""
    api = ctx.rt.api("usrloc")
    try:
        aor, _u = extract_aor(uri, api.use_domain)
    except AorError:
        return -3
    try:
        cs = api.get(domain, aor)
    except api.UlError as e:
        ctx.rt.log(-1, "registrar: lookup of %s failed: %s" % (aor, e), "registrar")
        return -3
    t = api.now()
    return aor, [c for c in cs if api.valid(c, t)], t


def _filter(ctx, cs):
    msg = ctx.msg
    if not P.method_filtering or not msg.is_request or msg.to_tag is not None:
        return cs
    bit = method_bit(msg.method)
    return [c for c in cs if c["m"] & bit]


def _branch(ctx, c):
    du = c["r"] or None
    path = None
    if c["p"]:
        path, hop = _path_hops(ctx.rt, c["p"])
        if hop:
            du = hop
    return Branch(c["c"], du, path, None if c["q"] < 0 else c["q"] / 1000.0, c["cf"],
                  _find_socket(ctx.rt, c["sk"]), c["id"])


def lookup_to_branches(ctx, domain, uri) -> int:
    """Every contact of uri's AOR as a branch (lookup_branches)."""
    got = _contacts(ctx, domain, uri)
    if isinstance(got, int):
        return got
    _aor, cs, _t = got
    if not cs:
        return -1
    cs = _filter(ctx, cs)
    if not cs:
        return -2
    for c in cs:
        ctx.branches.append(_branch(ctx, c))
    return 1


def lookup(ctx, domain, uri=None) -> int:
    """lookup(table[, uri]): R-URI := best contact, others as branches; 1 found,
    -1 none, -2 none allows the method, -3 error"""
    msg = ctx.msg
    if uri is None or uri == "":
        if not msg.is_request:
            return -3
        uri = _b2s(msg.ruri)
    got = _contacts(ctx, domain, uri)
    if isinstance(got, int):
        return got
    _aor, cs, _t = got
    if not cs:
        return -1
    cs = _filter(ctx, cs)
    if not cs:
        return -2
    first = cs[0]
    msg.set_ruri(first["c"].encode("utf-8", "surrogateescape"))
    ctx.du = first["r"] or None
    if first["p"]:
        route, hop = _path_hops(ctx.rt, first["p"])
        if route:
            _add_route(msg, route)
            ctx.data["path_route"] = route   # tm keeps it off the other branches
            ctx.du = hop
    ctx.bflags = first["cf"]
    sock = _find_socket(ctx.rt, first["sk"])
    if sock is not None:
        ctx.send_socket = sock
    fill_rcd(ctx, first)
    if P.append_branches:
        for c in cs[1:]:
            ctx.branches.append(_branch(ctx, c))
    return 1


def lookup_branches(ctx, domain) -> int:
    """lookup_branches(table): lookup() on the R-URI and on every branch that
    has nothing but a URI"""
    old = ctx.branches
    ctx.branches = []
    ret = lookup(ctx, domain)
    for b in old:
        if b.du or b.path or b.socket is not None or b.flags or b.q is not None or b.ruid:
            ctx.branches.append(b)
            continue
        n = len(ctx.branches)
        r = lookup_to_branches(ctx, domain, b.uri)
        if r < 0:
            del ctx.branches[n:]
            ctx.branches.append(b)
        elif ret < 0:
            ret = r
    return ret


def registered(ctx, domain, uri=None, match_option=0, match_action=0) -> int:
    """registered(table[, uri[, match_option[, match_action]]]): the AOR has a
    valid contact (matching $xavp(xavp_cfg=>match_callid|match_received|
    match_contact) as match_option asks)"""
    msg = ctx.msg
    if not uri:
        if msg.is_request:
            uri = _b2s(msg.ruri)
        else:
            to = msg.to
            uri = _b2s(to.uri_raw) if to is not None else ""
    got = _contacts(ctx, domain, uri)
    if isinstance(got, int):
        return -1
    _aor, cs, _t = got
    want = {}
    if match_option & 1:
        want["ci"] = xavp_cfg(ctx, "match_callid")
    if match_option & 2:
        want["r"] = xavp_cfg(ctx, "match_received")
    if match_option & 4:
        want["c"] = xavp_cfg(ctx, "match_contact")
    if P.reg_callid_avp:
        from . import RUNTIME
        pv = RUNTIME.get("callid_pv")
        v = pv.get(ctx) if pv is not None else None
        if v:
            want["ci"] = str(v)
    for c in cs:
        if all(v is not None and c.get(k) == str(v) for k, v in want.items()):
            if not match_action & 2:
                fill_rcd(ctx, c)
            return 1
    return -1


def unregister(ctx, domain, uri, ruid=None) -> int:
    """unregister(table, uri[, ruid]): remove all the AOR's contacts, or the one
    with that ruid; 1 done, -1 bad AOR, -2 failed, -3 not found"""
    api = ctx.rt.api("usrloc")
    if ruid:
        if not uri:
            found = api.find_ruid(domain, ruid)
            if found is None:
                return -3
            aor = found[0]
        else:
            try:
                aor, _u = extract_aor(uri, api.use_domain)
            except AorError:
                return -1

        def fn(contacts, t):
            for i, c in enumerate(contacts):
                if c["id"] == ruid:
                    del contacts[i]
                    return True
            return False
        try:
            done, _after = api.modify(domain, aor, fn)
        except api.UlError:
            return -2
        return 1 if done else -3
    if not uri:
        to = ctx.msg.to
        uri = _b2s(to.uri_raw) if to is not None else ""
    try:
        aor, _u = extract_aor(uri, api.use_domain)
    except AorError:
        return -1
    try:
        api.delete(domain, aor)
    except api.UlError:
        return -2
    return 1
