# SPDX-License-Identifier: GPL-2.0-or-later
"""Record-Route: building our header(s) and keeping them right until the
request leaves (RFC 3261 §16.6 step 4, Kamailio's rr).

Kamailio adds Record-Route as lumps whose address part is filled in when the
request is serialised, so it can write one header (the socket the request
came in on) or two (`;r2=on`, the outgoing then the incoming socket) once
the outgoing socket is known.  kampy writes the header at once, for the
socket known at that time (a forced send socket, else the incoming one), so
every way of sending the request carries it; a sender that picks another
socket calls `finalize(ctx, out_socket)` just before serialising, which
rewrites our lines for that socket (two lines when it differs from the
incoming one).  add_rr_param() after record_route() rewrites them too.

Our lines are recorded insertions of the message; to rewrite them we swap
them in the message's insertion list (by identity), or, once they have
become received lines (a message re-parsed from serialize(), or after
msg_apply_changes()), we find them by value and replace them.
"""

import re

from kampy.module import Fmt
from kampy.script.pv import b2s, s2b
from kampy.sip.errors import ParseError

from .params import P, avp_key

KEY = "rr"
_HDR = b"Record-Route: "
_SCHEME_RE = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*:")
_BAD = re.compile(rb"[\x00-\x1f\x7f<>]")


class RRData:
    """What rr knows about one message (`ctx.data["rr"]`)."""

    __slots__ = ("params", "rec", "routed_params")

    def __init__(self):
        self.params = []           # add_rr_param() values in call order, each starting with ';'
        self.rec = None            # Record once record_route*() ran
        self.routed_params = None  # URI params (no leading ';') of the Route that was ours


def data(ctx) -> RRData:
    d = ctx.data.get(KEY)
    if d is None:
        d = ctx.data[KEY] = RRData()
    return d


class Record:
    """One record_route*() call: enough to render our header(s) again."""

    __slots__ = ("kind", "extra", "addr", "addr2", "user", "ftag", "scheme",
                 "out_sock", "pos", "placed", "known")

    def __init__(self, kind):
        self.kind = kind         # "rr" (socket address), "preset", "adv" (advertised address)
        self.extra = b""         # record_route("params")
        self.addr = None         # preset / advertised address (bytes)
        self.addr2 = None        # second preset address (double RR preset)
        self.user = None         # add_username
        self.ftag = None         # append_fromtag
        self.scheme = b"sip"
        self.out_sock = None     # the socket last rendered for
        self.pos = 0             # where the lines go in ctx.msg (a header position)
        self.placed = []         # [msg, pos, [line objects]] per message holding our lines
        self.known = []          # every list of values rendered, newest last


def log(ctx, level, text):
    ctx.rt.log(level, "rr: " + text, "rr")


def norm_param(p) -> bytes:
    """A parameter string as Kamailio stores it: starting with ';'.  None
    when it holds a control character or an angle bracket (it would break
    the header)."""
    p = s2b(p or "").strip()
    if not p:
        return b""
    if _BAD.search(p):
        return None
    return p if p.startswith(b";") else b";" + p


# --- rendering -------------------------------------------------------------------------

def _lr() -> bytes:
    return b";lr=on" if P.enable_full_lr else b";lr"


def _bracket(host: str) -> str:
    return "[%s]" % host if ":" in host and not host.startswith("[") else host


def sock_addr(ctx, sock, send: bool) -> bytes:
    """host[:port][;transport=..][;sn=..] of a socket as Kamailio's lump
    substitution writes it: the advertised address when the socket has one,
    the port when it is not 5060 or an advertised one is in use.  The
    per-message set_advertised_address/port apply to the sending side only."""
    host = sock.host
    port = sock.public_port
    show_port = sock.port != 5060 or sock.advertise_host is not None or sock.advertise_port is not None
    if send:
        a = ctx.data.get("adv_addr")
        if a:
            host = _bracket(a)
        p = ctx.data.get("adv_port")
        if p:
            port = p
            show_port = True
    out = host + (":%d" % port if show_port else "")
    proto = (sock.proto or "udp").lower()
    if proto != "udp":
        out += ";transport=" + proto
    if P.sockname_mode and sock.name:
        out += ";sn=" + sock.name
    return s2b(out)


def _realm(sock):
    return ((sock.proto or "udp").lower(), sock.ip, sock.port)


def _userinfo(rec) -> bytes:
    return rec.user + b"@" if rec.user else b""


def _suffix(rec, params) -> bytes:
    return (b";ftag=" + rec.ftag if rec.ftag else b"") + params


def _rr_value(rec, addr: bytes, r2: bool, params: bytes) -> bytes:
    """<sip:[user@]addr[;r2=on];lr[;ftag=..][rr params][record_route params]>"""
    return (b"<" + rec.scheme + b":" + _userinfo(rec) + addr + (b";r2=on" if r2 else b"")
            + _lr() + _suffix(rec, params) + rec.extra + b">")


def _preset_value(rec, addr: bytes, r2: bool, params: bytes) -> bytes:
    """<sip:[user@]addr[;r2=on][;ftag=..][rr params];lr> (Kamailio puts lr last here)."""
    m = _SCHEME_RE.match(addr)
    if m is not None:
        head, rest = addr[:m.end()], addr[m.end():]
    else:
        head, rest = rec.scheme + b":", addr
    return (b"<" + head + _userinfo(rec) + rest + (b";r2=on" if r2 else b"")
            + _suffix(rec, params) + _lr() + b">")


def render(ctx, rec, out_sock) -> list:
    """The values of our Record-Route lines for a request leaving on out_sock."""
    params = b"".join(data(ctx).params)
    if rec.kind == "preset":
        if rec.addr2 is None:
            return [_preset_value(rec, rec.addr, False, params)]
        return [_preset_value(rec, rec.addr, True, params),
                _preset_value(rec, rec.addr2, True, params)]
    rcv = ctx.rcv or ctx.rt.default_socket()
    out = out_sock or rcv
    if rec.kind == "adv":
        # Kamailio doubles an advertised Record-Route only when the transports differ
        pin, pout = (rcv.proto or "udp").lower(), (out.proto or "udp").lower()
        if not P.enable_double_rr or pin == pout:
            return [_rr_value(rec, rec.addr, False, params)]
        tr = lambda p: b"" if p == "udp" else b";transport=" + p.encode()
        return [_rr_value(rec, rec.addr + tr(pout), True, params),
                _rr_value(rec, rec.addr + tr(pin), True, params)]
    in_addr = sock_addr(ctx, rcv, send=False)
    double = P.enable_double_rr == 2 or (P.enable_double_rr and _realm(out) != _realm(rcv))
    if not double:
        return [_rr_value(rec, in_addr, False, params)]
    return [_rr_value(rec, sock_addr(ctx, out, send=True), True, params),
            _rr_value(rec, in_addr, True, params)]


# --- placing the lines in a message ------------------------------------------------------

def rr_position(msg) -> int:
    """Before the first Record-Route, else after the last Via."""
    rr = msg.positions("record-route")
    if rr:
        return rr[0]
    vias = msg.positions("via")
    return vias[-1] + 1 if vias else 0


def _swap_inserted(msg, entry, lines) -> bool:
    """Replace the lines we inserted in msg (found by identity) by `lines`."""
    _m, pos, objs = entry
    e = msg._edits
    lst = e.ins.get(pos) if e is not None else None
    if not lst or not objs:
        return False
    for i, x in enumerate(lst):
        if x is objs[0]:
            if len(lst) < i + len(objs) or any(a is not b for a, b in zip(lst[i:i + len(objs)], objs)):
                return False
            lst[i:i + len(objs)] = lines
            entry[2] = lst[i:i + len(lines)]
            return True
    return False


def _find_received(msg, known) -> list:
    """Positions of our lines among the received Record-Route lines."""
    pos = msg.positions("record-route")
    vals = msg.headers("record-route")
    for values in reversed(known):
        k = len(values)
        for i in range(len(vals) - k + 1):
            if vals[i:i + k] == values:
                return pos[i:i + k]
    return []


def place(ctx, rec, msg, values) -> bool:
    """Make msg carry exactly `values` as our Record-Route lines."""
    lines = [_HDR + v for v in values]
    for entry in rec.placed:
        if entry[0] is msg:
            if _swap_inserted(msg, entry, lines):
                if not lines:
                    rec.placed.remove(entry)
                _remember(rec, values)
                return True
            rec.placed.remove(entry)
            break
    if not rec.known:                      # the first placement, in ctx.msg
        pos = rec.pos
    else:
        found = _find_received(msg, rec.known)
        if not found:
            log(ctx, -1, "our Record-Route is not in the message any more")
            return False
        for p in found:
            msg.remove_header_at(p)
        pos = found[0]
    if lines:
        for line in lines:
            msg.append_header(line, before=pos)
        lst = msg._edits.ins[pos]
        rec.placed.append([msg, pos, lst[len(lst) - len(lines):]])
    _remember(rec, values)
    return True


def _remember(rec, values):
    if values and (not rec.known or rec.known[-1] != values):
        rec.known.append(values)


def refresh(ctx):
    """Render again for the socket last used (after add_rr_param())."""
    rec = data(ctx).rec
    if rec is not None:
        place(ctx, rec, ctx.msg, render(ctx, rec, rec.out_sock))


def finalize(ctx, out_socket, msg=None) -> int:
    """Rewrite our Record-Route line(s) of msg (ctx.msg by default) for a
    request leaving on out_socket: two lines with ;r2=on when out_socket is
    another socket than the one the request came in on (enable_double_rr).
    1 when done, -1 when record_route() did not run or our lines are gone."""
    d = ctx.data.get(KEY)
    rec = d.rec if d is not None else None
    if rec is None:
        return -1
    rec.out_sock = out_socket
    return 1 if place(ctx, rec, ctx.msg if msg is None else msg, render(ctx, rec, out_socket)) else -1


# --- the record_route*() family ---------------------------------------------------------------

def _username(ctx):
    if P.custom_user_avp:
        v = ctx.avps.get(avp_key(P.custom_user_avp))
        if v is not None and str(v) != "":
            return s2b(str(v))
    u = ctx.msg.ruri_uri
    return u.user or None


def start(ctx, kind, extra=b""):
    """A new Record for this request, or None (logged) when it cannot be."""
    msg = ctx.msg
    if not msg.is_request:
        log(ctx, -1, "Record-Route is for requests")
        return None
    d = data(ctx)
    if d.rec is not None:
        log(ctx, -1, "double attempt to record-route")
        return None
    rec = Record(kind)
    rec.extra = extra
    try:
        if P.add_username:
            rec.user = _username(ctx)
        scheme = msg.ruri_uri.scheme
    except ParseError:
        log(ctx, -1, "cannot parse the Request-URI")
        return None
    if scheme == "sips" and not P.ignore_sips:
        rec.scheme = b"sips"
    if P.append_fromtag:
        if not msg.has("from"):
            log(ctx, -1, "no From header for ftag")
            return None
        rec.ftag = msg.from_tag
    rec.pos = rr_position(msg)
    rec.out_sock = ctx.send_socket
    return rec


def commit(ctx, rec) -> int:
    data(ctx).rec = rec
    place(ctx, rec, ctx.msg, render(ctx, rec, rec.out_sock))
    return 1


def do_record_route(ctx, params="") -> int:
    extra = norm_param(params)
    if extra is None:
        log(ctx, -1, "bad Record-Route parameters %r" % params)
        return -1
    rec = start(ctx, "rr", extra)
    return -1 if rec is None else commit(ctx, rec)


def _addr(text):
    a = s2b(text or "").strip()
    if not a or _BAD.search(a) or b" " in a:
        return None
    return a


def do_preset(ctx, addr, addr2=None) -> int:
    a = _addr(addr)
    a2 = _addr(addr2) if addr2 is not None else None
    if a is None or (addr2 is not None and a2 is None):
        log(ctx, -1, "bad record_route_preset address")
        return -1
    if a2 is not None and not P.enable_double_rr:
        log(ctx, -1, "record_route_preset() with two addresses needs enable_double_rr")
        return -1
    rec = start(ctx, "preset")
    if rec is None:
        return -1
    rec.addr, rec.addr2 = a, a2
    return commit(ctx, rec)


def do_advertised(ctx, addr) -> int:
    a = _addr(addr)
    if a is None:
        log(ctx, -1, "bad record_route_advertised_address address")
        return -1
    rec = start(ctx, "adv")
    if rec is None:
        return -1
    rec.addr = a
    return commit(ctx, rec)


def do_add_rr_param(ctx, param) -> int:
    p = norm_param(param)
    if p is None:
        log(ctx, -1, "bad Record-Route parameter %r" % param)
        return -1
    if not p:
        return 1
    d = data(ctx)
    d.params.append(p)
    if d.rec is not None:
        refresh(ctx)
    return 1


def do_set_rr_params(ctx, items: dict) -> int:
    """Set ;name=value on our Record-Route for each item, replacing an earlier
    value of the same name (a module called twice on one request: the last
    call wins); a value None removes it, "" leaves a bare ;name.  Our header
    is rendered again once."""
    d = data(ctx)
    drop = {b";" + s2b(n).lower() for n in items}
    keep = [p for p in d.params if p.split(b"=", 1)[0].lower() not in drop]
    for name, value in items.items():
        if value is None:
            continue
        p = norm_param("%s=%s" % (name, value) if value != "" else name)
        if p is None:
            log(ctx, -1, "bad Record-Route parameter %r" % name)
            return -1
        keep.append(p)
    d.params = keep
    if d.rec is not None:
        refresh(ctx)
    return 1


def do_set_rr_param(ctx, name: str, value) -> int:
    return do_set_rr_params(ctx, {name: value})


def do_remove(ctx) -> int:
    d = ctx.data.get(KEY)
    if d is None:
        return 1
    rec = d.rec
    if rec is not None:
        place(ctx, rec, ctx.msg, [])
    d.rec = None
    d.params = []
    return 1


# --- script functions ------------------------------------------------------------------------

def record_route(ctx) -> int:
    """record_route()

    Add our Record-Route (the address of the socket the request came in on;
    two headers with ;r2=on when it leaves on another socket)."""
    return do_record_route(ctx)


def record_route_params(ctx, params: Fmt) -> int:
    """record_route(params)

    record_route() with `params` (";name=value...") added to our URI."""
    return do_record_route(ctx, params)


def record_route_preset(ctx, addr: Fmt) -> int:
    """record_route_preset(addr)

    Record-Route with a given address ("host[:port][;params]" or a sip: URI)."""
    return do_preset(ctx, addr)


def record_route_preset2(ctx, addr: Fmt, addr2: Fmt) -> int:
    """record_route_preset(addr, addr2)

    Two Record-Route headers with ;r2=on: addr (outgoing side) then addr2
    (incoming side); needs enable_double_rr."""
    return do_preset(ctx, addr, addr2)


def record_route_advertised_address(ctx, addr: Fmt) -> int:
    """record_route_advertised_address(addr)

    record_route() with `addr` ("host[:port]") instead of the socket's address."""
    return do_advertised(ctx, addr)


def add_rr_param(ctx, param: Fmt) -> int:
    """add_rr_param(param)

    Add ";param" to our Record-Route URI, before or after record_route()."""
    return do_add_rr_param(ctx, param)


def remove_record_route(ctx) -> int:
    """remove_record_route()

    Take back the Record-Route header(s) and parameters added to this request."""
    return do_remove(ctx)


def route_uri(ctx):
    """$route_uri: the URI of the first Route header of the request, or $null."""
    msg = ctx.msg
    try:
        routes = msg.routes if msg.is_request else []
    except ParseError:
        return None
    return b2s(routes[0].uri_raw) if routes else None
