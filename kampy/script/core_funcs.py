# SPDX-License-Identifier: GPL-2.0-or-later
"""Kamailio's core functions: flags, R-URI rewriting, branches, logging,
stateless forwarding.  Each is a plain `(ctx, *args) -> int` function."""

import hashlib
import socket as _socket

from ..module import (
    ANY_ROUTE, BRANCH_ROUTE, FAILURE_ROUTE, REQUEST_ROUTE, ONREPLY_ROUTE, ONSEND_ROUTE,
    CORE_REPLY_ROUTE, Flag, Fmt, Func, Int, IntV,
)
from ..sip import build
from ..sip.errors import ParseError
from ..sip.headers import split_list
from ..sip.uri import parse_uri
from .context import Branch
from .pv import b2s, s2b
from .pv_net import onsend_info

RQ = REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE


# --- flags -------------------------------------------------------------------------

def setflag(ctx, flag: Flag) -> int:
    """setflag(flag)"""
    ctx.flags |= 1 << flag
    return 1


def resetflag(ctx, flag: Flag) -> int:
    """resetflag(flag)"""
    ctx.flags &= ~(1 << flag)
    return 1


def isflagset(ctx, flag: Flag) -> int:
    """isflagset(flag)"""
    return 1 if ctx.flags & (1 << flag) else -1


def setbflag(ctx, flag: Flag) -> int:
    """setbflag(flag): a flag of branch 0"""
    ctx.bflags |= 1 << flag
    return 1


def setbflag2(ctx, flag: Flag, branch: IntV) -> int:
    """setbflag(flag, branch)"""
    if branch == 0:
        return setbflag(ctx, flag)
    if 0 < branch <= len(ctx.branches):
        ctx.branches[branch - 1].flags |= 1 << flag
        return 1
    return -1


def resetbflag(ctx, flag: Flag) -> int:
    """resetbflag(flag)"""
    ctx.bflags &= ~(1 << flag)
    return 1


def resetbflag2(ctx, flag: Flag, branch: IntV) -> int:
    """resetbflag(flag, branch)"""
    if branch == 0:
        return resetbflag(ctx, flag)
    if 0 < branch <= len(ctx.branches):
        ctx.branches[branch - 1].flags &= ~(1 << flag)
        return 1
    return -1


def isbflagset(ctx, flag: Flag) -> int:
    """isbflagset(flag)"""
    return 1 if ctx.bflags & (1 << flag) else -1


def isbflagset2(ctx, flag: Flag, branch: IntV) -> int:
    """isbflagset(flag, branch)"""
    if branch == 0:
        return isbflagset(ctx, flag)
    if 0 < branch <= len(ctx.branches):
        return 1 if ctx.branches[branch - 1].flags & (1 << flag) else -1
    return -1


# --- via handling ---------------------------------------------------------------------

def force_rport(ctx) -> int:
    """force_rport(): answer to the source port as if the Via had ;rport"""
    ctx.force_rport = True
    return 1


def add_local_rport(ctx) -> int:
    """add_local_rport(): our Via on forwarded requests gets ;rport"""
    ctx.local_rport = True
    return 1


def received_via(ctx):
    """The top Via value with received/rport as RFC 3261 §18.2.1 and RFC 3581
    ask for the message's source, or None when it needs no change.  As in
    Kamailio, `rport` gets its value in place and `received` is appended."""
    via = ctx.msg.via
    if via is None:
        return None
    src = s2b(ctx.src_ip)
    host = via.host[1:-1] if via.host.startswith(b"[") else via.host
    params = via.params
    need_rport = via.rport == b"" or (ctx.force_rport and not via.rport)
    changed = False
    if need_rport:
        if via.rport == b"":
            params = _fill_rport(params, ctx.src_port)
        else:
            params += b";rport=%d" % ctx.src_port
        changed = True
    if (need_rport or host != src) and via.received != src:
        if via.received is not None:
            params = _drop_param(params, b"received")
        params += b";received=" + src
        changed = True
    if not changed:
        return None
    return via.protocol + b"/" + via.transport.encode() + b" " + via.sent_by + params


def _fill_rport(params: bytes, port: int) -> bytes:
    out = []
    for p in params.split(b";")[1:]:
        out.append(b";rport=%d" % port if p.strip().lower() == b"rport" else b";" + p)
    return b"".join(out)


def _drop_param(params: bytes, name: bytes) -> bytes:
    out = []
    for p in params.split(b";")[1:]:
        if p.split(b"=", 1)[0].strip().lower() != name:
            out.append(b";" + p)
    return b"".join(out)


def apply_received(ctx):
    """Write received/rport into the top Via of the request being forwarded."""
    new = received_via(ctx)
    if new is None:
        return
    msg = ctx.msg
    pos = msg.positions("via")[0]
    rest = split_list(msg.headers("via")[0], brackets=False)[1:]
    msg.set_header_value(pos, b", ".join([new] + rest))


# --- R-URI rewriting -------------------------------------------------------------------

def _ruri(ctx):
    return ctx.msg.ruri_uri


def _set(ctx, **parts) -> int:
    try:
        u = _ruri(ctx).replace(**parts)
    except (ParseError, ValueError) as e:
        ctx.rt.log(-1, "cannot rewrite the R-URI: %s" % e)
        return -1
    ctx.msg.set_ruri(bytes(u))
    return 1


def seturi(ctx, uri: Fmt) -> int:
    """seturi(uri) / rewriteuri(uri)"""
    try:
        parse_uri(s2b(uri))
    except ParseError:
        ctx.rt.log(-1, "seturi: bad URI %r" % uri)
        return -1
    ctx.msg.set_ruri(s2b(uri))
    return 1


def sethost(ctx, host: Fmt) -> int:
    """sethost(host) / rewritehost(host)"""
    return _set(ctx, host=s2b(host))


def setuser(ctx, user: Fmt) -> int:
    """setuser(user) / rewriteuser(user)"""
    return _set(ctx, user=s2b(user) if user else None)


def setport(ctx, port: Fmt) -> int:
    """setport(port) / rewriteport(port)"""
    return _set(ctx, port=int(port) if port else None)


def sethostport(ctx, hostport: Fmt) -> int:
    """sethostport(host:port) / rewritehostport(host:port)"""
    host, _, port = hostport.rpartition(":") if hostport.count(":") == 1 else (hostport, "", "")
    return _set(ctx, host=s2b(host), port=int(port) if port else None)


def prefix(ctx, pfx: Fmt) -> int:
    """prefix(string): put string in front of the R-URI user"""
    u = _ruri(ctx)
    return _set(ctx, user=s2b(pfx) + (u.user or b""))


def strip(ctx, n: IntV) -> int:
    """strip(n): remove n chars from the start of the R-URI user"""
    u = _ruri(ctx)
    return _set(ctx, user=(u.user or b"")[n:] or None)


def strip_tail(ctx, n: IntV) -> int:
    """strip_tail(n): remove n chars from the end of the R-URI user"""
    u = _ruri(ctx)
    user = u.user or b""
    return _set(ctx, user=(user[:-n] if n else user) or None)


def revert_uri(ctx) -> int:
    """revert_uri(): back to the R-URI as received"""
    ctx.msg.set_ruri(ctx.msg.first_line.split(b" ")[1])
    return 1


# --- branches, logging, sockets ---------------------------------------------------------

def append_branch(ctx) -> int:
    """append_branch(): add the current R-URI (and $du) as a new branch"""
    ctx.branches.append(Branch(b2s(ctx.msg.ruri), ctx.du, flags=ctx.bflags))
    return 1


def append_branch1(ctx, uri: Fmt) -> int:
    """append_branch(uri)"""
    ctx.branches.append(Branch(uri or b2s(ctx.msg.ruri)))
    return 1


def append_branch2(ctx, uri: Fmt, q: Fmt) -> int:
    """append_branch(uri, q)"""
    try:
        qv = float(q) if q else None
    except ValueError:
        qv = None
    ctx.branches.append(Branch(uri or b2s(ctx.msg.ruri), q=qv))
    return 1


def log1(ctx, text: Fmt) -> int:
    """log(text)"""
    ctx.rt.log(0, text, "<script>")
    return 1


def log2(ctx, level: Int, text: Fmt) -> int:
    """log(level, text)"""
    ctx.rt.log(level, text, "<script>")
    return 1


def len_gt(ctx, n: IntV) -> int:
    """len_gt(n): the message is longer than n bytes"""
    return 1 if len(ctx.msg) > n else -1


def set_advertised_address(ctx, addr: Fmt) -> int:
    """set_advertised_address(addr): our address in Via/Record-Route for this message"""
    ctx.data["adv_addr"] = addr
    return 1


def set_advertised_port(ctx, port: Fmt) -> int:
    """set_advertised_port(port)"""
    try:
        ctx.data["adv_port"] = int(port)
    except ValueError:
        return -1
    return 1


def force_send_socket(ctx, sock: Fmt) -> int:
    """force_send_socket([proto:]addr[:port])"""
    from .coreparams import parse_socket
    try:
        proto, host, port = parse_socket(sock)
    except ValueError:
        return -1
    for s in ctx.rt.sockets:
        if s.ip == host and s.port == port:
            ctx.send_socket = s
            return 1
    ctx.rt.log(-1, "force_send_socket: %s is not one of our sockets" % sock)
    return -1


# --- stateless forwarding ----------------------------------------------------------------

def resolve_host(host: str, port):
    """An address for host (numeric or by DNS), or None."""
    h = host[1:-1] if host.startswith("[") else host
    try:
        info = _socket.getaddrinfo(h, port or 5060, 0, _socket.SOCK_DGRAM)
    except (OSError, UnicodeError):
        return None
    return info[0][4][0] if info else None


_NUMERIC_HOPS = {}   # URI -> (ip, port), for URIs naming an IP literal: no DNS to expire


def next_hop(ctx, uri=None):
    """(ip, port) the request goes to: uri, else $du, else the R-URI."""
    target = uri or ctx.du or b2s(ctx.msg.ruri)
    hit = _NUMERIC_HOPS.get(target)
    if hit is not None:
        return hit
    try:
        u = parse_uri(s2b(target))
    except ParseError:
        return None
    if u.scheme not in ("sip", "sips"):
        return None
    maddr = u.param("maddr")
    host = b2s(maddr) if maddr else b2s(u.host)
    ip = resolve_host(host, u.port)
    if ip is None:
        return None
    hop = ip, u.port or 5060
    if ip == host.strip("[]"):
        if len(_NUMERIC_HOPS) >= 4096:
            _NUMERIC_HOPS.clear()
        _NUMERIC_HOPS[target] = hop
    return hop


def stateless_branch(msg) -> bytes:
    """Same request, same branch: retransmissions get the branch of the first."""
    via = msg.via
    h = hashlib.md5()
    h.update(via.branch if via is not None and via.branch else b"")
    h.update(b"|" + (msg.call_id or b"") + b"|" + msg.ruri)
    try:
        h.update(b"|%d" % msg.cseq.number)
    except Exception:
        pass
    return build.MAGIC + b"sl" + h.hexdigest()[:20].encode()


def run_onsend(ctx, sock, ip, port, data: bytes) -> bool:
    """Run onsend_route, if the config has one, for a request about to be
    sent; False when the route dropped it.  $snd(...) reads the send."""
    script = getattr(ctx.rt, "script", None)
    route = getattr(script, "onsend_route", None)
    if route is None or ctx.msg is None or not ctx.msg.is_request:
        return True
    saved = ctx.route_type, ctx.event, ctx.dropped
    ctx.route_type = ONSEND_ROUTE
    ctx.event = onsend_info(sock, ip, port, data)
    ctx.dropped = False
    try:
        ctx.rt.run_route(route, ctx)
        return not ctx.dropped
    finally:
        ctx.route_type, ctx.event, ctx.dropped = saved


def forward_request(ctx, uri=None) -> int:
    rt = ctx.rt
    hop = next_hop(ctx, uri)
    if hop is None:
        rt.log(-1, "forward: cannot resolve the destination")
        return -1
    msg = ctx.msg
    sock = ctx.send_socket or ctx.rcv or rt.default_socket()
    apply_received(ctx)
    host = ctx.data.get("adv_addr") or sock.host
    port = ctx.data.get("adv_port") or sock.public_port
    msg.push_via(build.via_value(host, port, stateless_branch(msg), "UDP", ctx.local_rport))
    data = msg.serialize()
    if run_onsend(ctx, sock, hop[0], hop[1], data):
        rt.send(sock, hop[0], hop[1], data)
    return 1


def _send_hop(ctx, dest):
    """(ip, port) of send()'s destination: a SIP URI, or `[proto:]host[:port]`."""
    d = dest.strip()
    if d[:4].lower() in ("sip:", "sips") or d[:4].lower() == "tel:":
        return next_hop(ctx, d)
    from .pv_core import parse_socket
    p = parse_socket(d)
    if p is None:
        return None
    proto, host, port = p
    if proto not in (None, "udp"):
        ctx.rt.log(-1, "send: %s: kampy sends over UDP only" % dest)
        return None
    ip = resolve_host(host, port)
    return None if ip is None else (ip, port or 5060)


def send_as_is(ctx, dest=None) -> int:
    """The message as received (no Via added, edits only once msg_apply_changes()
    applied them), statelessly, to dest or to the next hop ($du, else the R-URI)."""
    msg = ctx.msg
    if dest is None:
        if not msg.is_request:
            ctx.rt.log(-1, "send(): a reply has no next hop; give a destination")
            return -1
        hop = next_hop(ctx)
    else:
        hop = _send_hop(ctx, dest)
    if hop is None:
        ctx.rt.log(-1, "send: cannot resolve the destination %s" % (dest or "of the request"))
        return -1
    rt = ctx.rt
    sock = ctx.send_socket or ctx.rcv or rt.default_socket()
    data = msg.raw[:len(msg)]
    if run_onsend(ctx, sock, hop[0], hop[1], data):
        rt.send(sock, hop[0], hop[1], data)
    return 1


def send0(ctx) -> int:
    """send(): the message as is to $du or the R-URI (no Via added)"""
    return send_as_is(ctx)


def send1(ctx, dest: Fmt) -> int:
    """send(dest): the message as is to a SIP URI or [udp:]host[:port]"""
    return send_as_is(ctx, dest)


def send2(ctx, host: Fmt, port: IntV) -> int:
    """send(host, port): the message as is to host:port"""
    return send_as_is(ctx, "%s:%d" % (host, port))


def forward(ctx) -> int:
    """forward(): send the request statelessly to $du or the R-URI"""
    return forward_request(ctx)


def forward2(ctx, host: Fmt, port: IntV) -> int:
    """forward(host, port): send the request statelessly to host:port"""
    return forward_request(ctx, "sip:%s:%d" % (host, port))


def forward1(ctx, uri: Fmt) -> int:
    """forward(uri): send the request statelessly to uri"""
    return forward_request(ctx, uri if ":" in uri else "sip:" + uri)


FUNCTIONS = [
    Func("setflag", setflag), Func("resetflag", resetflag),
    Func("isflagset", isflagset), Func("isflag", isflagset),
    Func("setbflag", setbflag), Func("setbflag", setbflag2),
    Func("resetbflag", resetbflag), Func("resetbflag", resetbflag2),
    Func("isbflagset", isbflagset), Func("isbflagset", isbflagset2),
    Func("force_rport", force_rport, REQUEST_ROUTE | ONREPLY_ROUTE | CORE_REPLY_ROUTE | BRANCH_ROUTE | FAILURE_ROUTE),
    Func("add_local_rport", add_local_rport, RQ),
    Func("seturi", seturi, RQ), Func("rewriteuri", seturi, RQ),
    Func("sethost", sethost, RQ), Func("rewritehost", sethost, RQ),
    Func("setuser", setuser, RQ), Func("rewriteuser", setuser, RQ),
    Func("setport", setport, RQ), Func("rewriteport", setport, RQ),
    Func("sethostport", sethostport, RQ), Func("rewritehostport", sethostport, RQ),
    Func("prefix", prefix, RQ), Func("strip", strip, RQ), Func("strip_tail", strip_tail, RQ),
    Func("revert_uri", revert_uri, RQ),
    Func("append_branch", append_branch, REQUEST_ROUTE | FAILURE_ROUTE),
    Func("append_branch", append_branch1, REQUEST_ROUTE | FAILURE_ROUTE),
    Func("append_branch", append_branch2, REQUEST_ROUTE | FAILURE_ROUTE),
    Func("log", log1, ANY_ROUTE), Func("log", log2, ANY_ROUTE),
    Func("len_gt", len_gt, ANY_ROUTE),
    Func("set_advertised_address", set_advertised_address, ANY_ROUTE),
    Func("set_advertised_port", set_advertised_port, ANY_ROUTE),
    Func("force_send_socket", force_send_socket, ANY_ROUTE),
    Func("forward", forward, REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE),
    Func("forward", forward1, REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE),
    Func("forward", forward2, REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE),
    Func("forward_udp", forward, REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE),
    Func("forward_udp", forward1, REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE),
    Func("forward_udp", forward2, REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE),
    Func("send", send0, ANY_ROUTE & ~ONSEND_ROUTE),
    Func("send", send1, ANY_ROUTE & ~ONSEND_ROUTE),
    Func("send", send2, ANY_ROUTE & ~ONSEND_ROUTE),
    Func("send_udp", send0, ANY_ROUTE & ~ONSEND_ROUTE),    # corex's name for send() since 5.2
    Func("send_udp", send1, ANY_ROUTE & ~ONSEND_ROUTE),
]

# Kamailio core functions kampy refuses at startup, with the reason.
UNSUPPORTED = {
    name: "kampy sends over UDP only" for name in (
        "send_tcp", "forward_tcp", "forward_tls", "forward_sctp")
}
