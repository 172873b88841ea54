# SPDX-License-Identifier: GPL-2.0-or-later
"""Requests a module sends itself (uac's uac_req_send and registrations).

A local client transaction is a record like a relayed one but with no
caller: `local` set, the callback *name* and opaque data saved in it, so the
reply (or the timeout) can be delivered in whichever process gets it.
Callbacks are registered by name at import or mod_init, before the fork.
"""

from kampy.sip import build, parse

from .params import P
from . import relay as R
from . import trans as T

CALLBACKS = {}   # name -> fn(rt, tid, reply_msg_or_None, code, data)


def register(name, fn):
    CALLBACKS[name] = fn


def send_request(rt, method, ruri, from_uri, to_uri, *, from_tag=None, to_tag=None, call_id=None,
                 cseq=10, headers=(), body=b"", content_type=None, next_hop=None, sock=None,
                 callback=None, data=None, from_display=None, to_display=None, contact=None):
    """Send a new request in its own client transaction; returns the tid or None."""
    sock = sock or rt.default_socket()
    tid = T.new_tid()
    req = build.make_request(
        method, ruri, from_uri, to_uri, via_host=sock.host, via_port=sock.public_port,
        branch=T.branch_id(tid, 0), from_tag=from_tag, to_tag=to_tag, call_id=call_id, cseq=cseq,
        headers=headers, body=body, content_type=content_type, from_display=from_display,
        to_display=to_display, contact=contact,
        user_agent=(rt.params.get("user_agent_header") or "User-Agent: kampy").split(":", 1)[-1].strip())
    return send_built(rt, tid, req, next_hop or ruri, sock, callback, data)


def send_built(rt, tid, req: bytes, hop_uri, sock, callback, data):
    from kampy.script import core_funcs
    from kampy.script.context import Context
    msg = parse(req)
    ctx = Context(rt, msg, rcv=sock)
    hop = core_funcs.next_hop(ctx, hop_uri if isinstance(hop_uri, str) else hop_uri.decode())
    if hop is None:
        rt.log(-1, "tm: cannot resolve %s" % hop_uri)
        return None
    rec = {
        "m": msg.method, "req": req, "src": None, "sock": R._sock_index(rt, sock), "sk": "",
        "tt": "", "ss": "local", "lr": b"", "lc": 0, "best": None, "fr": "", "onr": "", "brn": "",
        "ctx": {}, "done": 0, "fin": 0, "t0": rt.now_ms(), "du": "", "local": 1,
        "cb": callback or "", "data": data, "hop": hop_uri if isinstance(hop_uri, str) else hop_uri.decode(),
        "b": [{"u": msg.ruri.decode("latin-1"), "d": [hop[0], hop[1]], "r": req, "c": 0, "f": 0,
               "ri": P.retr_timer1, "cp": 0, "cs": 0, "g": 0}],
    }
    if not R.table(rt).put(T.tkey(tid), rec):
        rt.log(-1, "tm: transaction table full")
        return None
    rt.count("tm:created")
    rt.count("tm:current")
    rt.send(sock, hop[0], hop[1], req)
    rt.timers.arm(P.retr_timer1, "tm", "r|%s|0" % tid, 0)
    rt.timers.arm(P.fr_timer, "tm", "f|%s|0" % tid, 0)
    return tid


def resend(rt, tid, add_headers=(), callback=None, data=None):
    """The request of a finished local transaction again, CSeq+1, with more
    headers (an Authorization after a 401), in a new transaction."""
    rec = R.table(rt).get(T.tkey(tid))
    if rec is None:
        return None
    msg = parse(rec["req"])
    new_tid = T.new_tid()
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
