# SPDX-License-Identifier: GPL-2.0-or-later
"""Requests a module sends itself (uac's uac_req_send and registrations,
dialog's BYE, the tm.t_uac_* RPCs).

A local client transaction is a record like a relayed one but with no
caller: `local` set, the callback *name* and opaque data saved in it, so the
reply (or the timeout) can be delivered in whichever process gets it.
Callbacks are registered by name at import or mod_init, before the fork.
A request within a dialog carries the dialog's route set (RFC 3261
§12.2.1.1); a 2xx to an INVITE of ours gets our ACK (§13.2.2.4).
"""

from kampy.sip import build, parse
from kampy.sip.errors import ParseError
from kampy.sip.headers import parse_name_addr

from .params import P
from . import fsm as F
from . import relay as R
from . import trans as T

CALLBACKS = {}   # name -> fn(rt, tid, reply_msg_or_None, code, data)


def register(name, fn):
    CALLBACKS[name] = fn


def _b(v) -> bytes:
    return v if isinstance(v, bytes) else str(v).encode()


def _route_value(r) -> bytes:
    """A route set entry as a Route header value: `<uri;params>`."""
    r = _b(r).strip()
    return r if r.startswith(b"<") or b"<" in r else b"<" + r + b">"


def _ruri_form(uri) -> bytes:
    """A URI as a Request-URI: no `method` parameter, no headers (RFC 3261 §19.1.1)."""
    u = uri.raw.split(b"?", 1)[0]
    if uri.param(b"method") is None:
        return u
    head, _s, params = u.partition(b";")
    keep = [p for p in params.split(b";") if p and p.split(b"=", 1)[0].strip().lower() != b"method"]
    return b";".join([head] + keep)


def dialog_target(remote_target, route_set=()):
    """(R-URI, Route values, next hop URI) of a request within a dialog,
    RFC 3261 §12.2.1.1.  Loose first route: the remote target is the R-URI,
    the routes go in Route headers and the first one is the next hop.  Strict
    first route: it becomes the R-URI (and next hop), the rest of the routes
    and then the remote target go in Route headers."""
    target = _b(remote_target)
    routes = [_route_value(r) for r in route_set or () if r]
    if not routes:
        return target, [], target
    first = parse_name_addr(routes[0]).uri
    if first.lr:
        return target, routes, first.raw
    ruri = _ruri_form(first)
    return ruri, routes[1:] + [b"<" + target + b">"], ruri


def send_request(rt, method, ruri, from_uri, to_uri, *, from_tag=None, to_tag=None, call_id=None,
                 cseq=10, headers=(), body=b"", content_type=None, next_hop=None, sock=None,
                 callback=None, data=None, from_display=None, to_display=None, contact=None,
                 route_set=None):
    """Send a new request in its own client transaction; returns the tid or None.
    route_set: the dialog's route set (see dialog_target)."""
    sock = sock or rt.default_socket()
    tid = T.new_tid(local=True)
    routes = ()
    hop = ruri
    if route_set:
        try:
            ruri, routes, hop = dialog_target(ruri, route_set)
        except ParseError as e:
            rt.log(-1, "tm: bad route set %r: %s" % (route_set, e.reason))
            return None
    req = build.make_request(
        method, ruri, from_uri, to_uri, via_host=sock.host, via_port=sock.public_port,
        branch=T.branch_id(tid, 0), from_tag=from_tag, to_tag=to_tag, call_id=call_id, cseq=cseq,
        headers=headers, body=body, content_type=content_type, from_display=from_display,
        to_display=to_display, contact=contact, route=routes,
        user_agent=(rt.params.get("user_agent_header") or "User-Agent: kampy").split(":", 1)[-1].strip())
    return send_built(rt, tid, req, next_hop or hop, sock, callback, data)


def send_built(rt, tid, req: bytes, hop_uri, sock, callback, data):
    from kampy.script import core_funcs
    # we built req ourselves: its first line is "METHOD R-URI SIP/2.0"
    method, ruri, _v = req[:req.index(b"\r\n")].split(b" ", 2)
    hop = core_funcs.next_hop(None, hop_uri if isinstance(hop_uri, str) else hop_uri.decode())
    if hop is None:
        rt.log(-1, "tm: cannot resolve %s" % hop_uri)
        return None
    rec = {
        "m": method.decode("latin-1"), "req": req, "src": None, "sock": R._sock_index(rt, sock), "sk": "",
        "tt": "", "ss": "", "lr": b"", "lc": 0, "best": None, "fr": "", "onr": "", "brn": "",
        "ctx": {}, "done": 0, "fin": 0, "t0": rt.now_ms(), "du": "", "local": 1, "eol": 0,
        "cb": callback or "", "data": data, "hop": hop_uri if isinstance(hop_uri, str) else hop_uri.decode(),
        "b": [{"u": ruri.decode("latin-1"), "d": [hop[0], hop[1]], "r": req, "c": 0, "f": 0,
               "ri": P.retr_timer1, "cp": 0, "cs": 0, "g": 0,
               "s": F.first_state(F.client_machine(method.decode("latin-1")))}],
    }
    rec["eol"] = T.end_of_life(rec["m"], rec["t0"], P.max_inv_lifetime, P.max_noninv_lifetime)
    rec["b"][0]["fd"] = rec["t0"] + min(P.fr_timer, rec["eol"] - rec["t0"])
    if not R.table(rt).put(T.tkey(tid), rec):
        rt.log(-1, "tm: transaction table full")
        return None
    rt.count("tm:created")
    rt.count("tm:current")
    rt.send(sock, hop[0], hop[1], req)
    from .timers import arm_branch
    arm_branch(rt, tid, 0, rec["b"][0]["fd"], rec["t0"])
    return tid


def ack_2xx(ctx, rec):
    """The ACK to a 2xx of an INVITE we sent: to the 2xx's Contact through
    the route set it records (reversed Record-Route), same Call-ID, From,
    CSeq number, the To of the 2xx, a new branch (RFC 3261 §13.2.2.4)."""
    from kampy.script import core_funcs
    rt = ctx.rt
    reply = ctx.msg
    try:
        req = parse(rec["req"])
        contacts = reply.contacts
        target = contacts[0].uri_raw if contacts and contacts != "*" else req.ruri
        rrs = [na.raw.strip() for na in reply.record_routes][::-1]
        ruri, routes, hop = dialog_target(target, rrs)
    except (ParseError, ValueError) as e:
        rt.log(-1, "tm: cannot ACK a 2xx: %s" % (getattr(e, "reason", e),))
        return
    sock = R._sock(rt, rec["sock"])
    lines = [b"ACK " + ruri + b" SIP/2.0",
             b"Via: " + build.via_value(sock.host, sock.public_port, build.make_branch())]
    lines += [b"Route: " + r for r in routes]
    lines += [b"From: " + req.header("from"), b"To: " + reply.header("to"), b"Call-ID: " + req.call_id,
              b"CSeq: %d ACK" % req.cseq.number, b"Max-Forwards: 70", b"Content-Length: 0", b"", b""]
    dst = core_funcs.next_hop(ctx, hop.decode("latin-1"))
    if dst is None:
        rt.log(-1, "tm: cannot resolve %s for the ACK of a 2xx" % hop.decode("latin-1"))
        return
    rt.send(sock, dst[0], dst[1], b"\r\n".join(lines))


def resend(rt, tid, add_headers=(), callback=None, data=None):
    """The request of a finished local transaction again, CSeq+1, with more
    headers (an Authorization after a 401), in a new transaction."""
    rec = R.table(rt).get(T.tkey(tid))
    if rec is None:
        return None
    msg = parse(rec["req"])
    new_tid = T.new_tid(local=True)
    cseq_pos = msg.positions("cseq")[0]
    msg.set_header_value(cseq_pos, b"%d %s" % (msg.cseq.number + 1, msg.cseq.method.encode()))
    via_pos = msg.positions("via")[0]
    via = msg.via
    msg.set_header_value(via_pos, build.via_value(via.host, via.port, T.branch_id(new_tid, 0),
                                                  via.transport, rport=via.rport is not None))
    for h in add_headers:
        msg.append_header(h)
    sock = R._sock(rt, rec["sock"])
    return send_built(rt, new_tid, msg.serialize(), rec["hop"], sock,
                      callback if callback is not None else rec["cb"],
                      data if data is not None else rec["data"])


def deliver(rt, tid, rec, reply, code):
    fn = CALLBACKS.get(rec.get("cb") or "")
    if fn is None:
        return
    try:
        fn(rt, tid, reply, code, rec.get("data"))
    except Exception as e:
        rt.log(-1, "tm: callback %s failed: %r" % (rec.get("cb"), e))
