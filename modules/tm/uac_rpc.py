# SPDX-License-Identifier: GPL-2.0-or-later
"""RPC `tm.t_uac_start` and `tm.t_uac_wait`: send a request from kampyctl.

Parameters, as Kamailio's: method, R-URI, next hop (`.` or empty: the
R-URI), send socket (`.` or empty: the first listen socket; else
`[proto:]ip[:port]` of one of ours), headers (CRLF separated; From and To
are required, Call-ID, CSeq and a From tag are made up when missing, `!!` is
replaced by our ip:port) and an optional body (which then needs a
Content-Type header and must not come with a Content-Length).

The ctl process sends the request itself but cannot receive its replies:
they reach a UDP worker (or the timer process fires the timeout), which runs
the named callback `tm.rpc_wait`; it stores the final reply in the tm table
under `u:<key>`, and the ctl process, waiting in t_uac_wait, polls that
record, bounded by the transaction's lifetime.
"""

import binascii
import os
import re
import time

from kampy.rpc import RpcFault
from kampy.sip.build import REASONS
from kampy.sip.errors import ParseError
from kampy.sip.headers import header_key, parse_name_addr
from kampy.sip.uri import parse_uri

from .params import P
from . import local as L
from . import relay as R

_HEADER_RE = re.compile(r"([A-Za-z0-9!%*_.+`'~\-]+)[ \t]*:[ \t]*(.*)\Z", re.S)
_SKIP = frozenset(("from", "to", "call-id", "cseq", "content-length", "content-type"))
POLL_S = 0.01


def _s(v) -> str:
    return "" if v is None else str(v)


def _headers(text: str) -> list:
    """(key, name, value) of each header line; literal "\\r\\n" counts as a line end
    (a shell cannot easily pass a real CR LF)."""
    text = text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\r\n", "\n")
    out = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        if line[0] in " \t" and out:        # folded continuation
            k, n, v = out[-1]
            out[-1] = (k, n, v + " " + line.strip())
            continue
        m = _HEADER_RE.match(line.strip())
        if m is None:
            raise RpcFault(400, "Invalid headers")
        name, value = m.group(1), m.group(2).strip()
        out.append((header_key(name), name, value))
    return out


def _socket(rt, text: str):
    if not text or text == ".":
        return rt.default_socket()
    t = text
    proto = None
    if re.match(r"(udp|tcp|tls|sctp):", t, re.I):
        proto, t = t.split(":", 1)
    if t.startswith("["):
        host, _b, rest = t[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _c, port = t.rpartition(":") if t.count(":") == 1 else (t, "", "")
    if not host or (port and not port.isdigit()):
        raise RpcFault(400, 'Invalid send socket "%s"' % text)
    for s in rt.sockets:
        if s.ip == host and (not port or s.port == int(port)) and (proto is None or s.proto == proto.lower()):
            return s
    raise RpcFault(400, 'No local socket for "%s"' % text)


def prepare(rt, method, ruri, nexthop, socket, headers, body):
    """Check the parameters as Kamailio does; the keywords for local.send_request."""
    method, ruri, nexthop = _s(method), _s(ruri), _s(nexthop)
    if not method:
        raise RpcFault(400, "Empty method")
    try:
        parse_uri(ruri.encode())
    except ParseError:
        raise RpcFault(400, 'Invalid request uri "%s"' % ruri) from None
    if nexthop in (".", ""):
        nexthop = None
    else:
        try:
            parse_uri(nexthop.encode())
        except ParseError:
            raise RpcFault(400, 'Invalid next-hop uri "%s"' % nexthop) from None
    sock = _socket(rt, _s(socket))
    hdrs = _headers(_s(headers))
    found = {k: v for k, _n, v in reversed(hdrs)}
    body = _s(body).encode()
    if body and "content-type" not in found:
        raise RpcFault(400, "Content-Type missing")
    if body and "content-length" in found:
        raise RpcFault(400, "Content-Length disallowed")
    if "to" not in found:
        raise RpcFault(400, "To missing")
    if "from" not in found:
        raise RpcFault(400, "From missing")
    try:
        fr = parse_name_addr(found["from"].encode())
        to = parse_name_addr(found["to"].encode())
    except ParseError:
        raise RpcFault(400, "Error in From") from None
    cseq = 10
    if "cseq" in found:
        num, _sp, cm = found["cseq"].strip().partition(" ")
        if not num.isdigit():
            raise RpcFault(400, "Non-numerical CSeq")
        if cm.strip() != method:
            raise RpcFault(400, "CSeq method mismatch")
        cseq = int(num)
    hostport = "%s:%d" % (sock.host, sock.public_port)
    extra = [("%s: %s" % (n, v)).replace("!!", hostport) for k, n, v in hdrs if k not in _SKIP]
    ftag = fr.tag
    return {
        "method": method, "ruri": ruri, "from_uri": fr.uri_raw.decode("latin-1"),
        "to_uri": to.uri_raw.decode("latin-1"), "from_tag": ftag if ftag else None,
        "to_tag": to.tag or None, "from_display": fr.display, "to_display": to.display,
        "call_id": found.get("call-id") or None, "cseq": cseq, "headers": extra, "body": body,
        "content_type": found.get("content-type") if body else None, "next_hop": nexthop, "sock": sock,
    }


def _send(rt, args, callback=None, data=None):
    kw = dict(args)
    method, ruri, fu, tu = kw.pop("method"), kw.pop("ruri"), kw.pop("from_uri"), kw.pop("to_uri")
    tid = L.send_request(rt, method, ruri, fu, tu, callback=callback, data=data, **kw)
    if tid is None:
        raise RpcFault(500, "RPC/UAC error")
    return tid


def rpc_t_uac_start(rt, method=None, ruri=None, nexthop=None, socket=None, headers=None, body=None):
    """tm.t_uac_start method ruri nexthop socket headers [body]: send a request, return at once"""
    _arity(method, ruri, nexthop, socket, headers)
    _send(rt, prepare(rt, method, ruri, nexthop, socket, headers, body))


def rpc_t_uac_wait(rt, method=None, ruri=None, nexthop=None, socket=None, headers=None, body=None):
    """tm.t_uac_wait method ruri nexthop socket headers [body]: send a request, return its final reply

    The result is Kamailio's array: code, reason, then for a 2xx the remote
    target, the next hop and the route set ("Route: ..." or ""), then the
    reply from its first header on (headers and body); a local timeout gives
    408 and four empty strings."""
    _arity(method, ruri, nexthop, socket, headers)
    args = prepare(rt, method, ruri, nexthop, socket, headers, body)
    key = "u:" + binascii.hexlify(os.urandom(8)).decode()
    tab = R.table(rt)
    if not tab.put(key, 0):            # 0: waiting; the callback fills it only then
        raise RpcFault(500, "no shared memory")
    try:
        _send(rt, args, "tm.rpc_wait", {"k": key})
        limit = (P.max_inv_lifetime if args["method"] == "INVITE" else P.max_noninv_lifetime) / 1000.0 + 2
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            got = tab.get(key)
            if got:
                return got
            time.sleep(POLL_S)
        raise RpcFault(500, "no final reply")
    finally:
        tab.delete(key)


def _arity(*given):
    n = sum(1 for g in given if g is not None)
    if n < 5:
        raise RpcFault(400, "too few parameters (%d/5)" % n)


def _on_reply(rt, tid, reply, code, data):
    """Callback of t_uac_wait, in whichever process gets the final reply."""
    if code < 200 or not isinstance(data, dict) or "k" not in data:
        return
    if reply is None:
        result = [code, REASONS.get(code, "Request Timeout"), "", "", "", ""]
    else:
        raw = reply.raw
        eol = raw.find(b"\n")
        rest = raw[eol + 1:].decode("utf-8", "replace") if eol >= 0 else ""
        result = [code, reply.reason.decode("utf-8", "replace")]
        if code < 300:
            result.extend(_dialog_fields(reply))
        result.append(rest)
    tab = R.table(rt)
    tab.update(data["k"], lambda cur: result if cur == 0 else tab.KEEP)   # nobody waits any more: drop it


def _dialog_fields(reply):
    """Remote target, next hop and "Route: ..." of the dialog a 2xx sets up."""
    try:
        contacts = reply.contacts
        if not contacts or contacts == "*":
            return ["", "", ""]
        rrs = [na.raw.strip() for na in reply.record_routes][::-1]
        ruri, routes, hop = L.dialog_target(contacts[0].uri_raw, rrs)
    except (ParseError, ValueError):
        return ["", "", ""]
    return [ruri.decode("latin-1"), hop.decode("latin-1"),
            ("Route: " + ", ".join(r.decode("latin-1") for r in routes)) if routes else ""]


L.register("tm.rpc_wait", _on_reply)
