# SPDX-License-Identifier: GPL-2.0-or-later
"""The receive path of a UDP worker: datagram → message → route → send.

A bad datagram is counted and dropped, or answered 400/505 when its first
line and a Via can be read; nothing in here lets one bad message kill the
worker.  Replies no module takes are forwarded statelessly by their second
Via (RFC 3261 §18.2.2, RFC 3581), after checking that the top Via is ours.
"""

import re
import socket
import time

from .module import CORE_REPLY_ROUTE
from .script.context import Context, ScriptExit
from .sip import parse
from .sip.errors import ParseError

_FIRST_LINE = re.compile(rb"([A-Za-z0-9\-.!%*_+`'~]+) [^ \r\n]+ SIP/[0-9.]+\r?\n")
_COPY = re.compile(rb"^(Via|v|From|f|To|t|Call-ID|i|CSeq)[ \t]*:[^\r\n]*\r?$", re.I | re.M)


class UdpTransport:
    """Sends through the daemon's bound UDP sockets (one per listen)."""

    def __init__(self, bound):
        self.bound = bound           # list of (Socket, socket.socket)
        # id(Socket) -> (the v4 sendto, the v6 sendto): the socket itself when
        # its family fits, else the first bound one of the other family
        # (socket.family is a Python property: not read per message)
        self.v4 = next((fd for s, fd in bound if fd.family == socket.AF_INET), None)
        self.v6 = next((fd for s, fd in bound if fd.family == socket.AF_INET6), None)
        self.by_sock = {}
        for s, fd in bound:
            own6 = fd.family == socket.AF_INET6
            v4 = self.v4 if own6 else fd
            v6 = fd if own6 else self.v6
            self.by_sock[id(s)] = (v4.sendto if v4 is not None else None,
                                   v6.sendto if v6 is not None else None)
        self.default = (self.v4.sendto if self.v4 is not None else None,
                        self.v6.sendto if self.v6 is not None else None)

    def send(self, sock, ip, port, data: bytes) -> bool:
        fds = self.by_sock.get(id(sock), self.default)
        if ":" in ip:
            sendto = fds[1]
            ip = ip.strip("[]")
        else:
            sendto = fds[0]
        if sendto is None:
            return False
        try:
            sendto(data, (ip, port))
            return True
        except OSError:
            return False


def error_reply(data: bytes, status: int, reason: str):
    """A minimal reply to a request we cannot parse, when its first line and
    a Via are readable (else None).  Never for ACK, never for replies."""
    m = _FIRST_LINE.match(data)
    if m is None or m.group(1).upper() == b"ACK":
        return None
    head = data.split(b"\r\n\r\n", 1)[0]
    lines = [x.group(0).rstrip(b"\r") for x in _COPY.finditer(head)]
    if not any(l[:1].lower() == b"v" for l in lines):
        return None
    out = [b"SIP/2.0 %d %s" % (status, reason.encode("ascii", "replace"))] + lines
    out.append(b"Content-Length: 0")
    return b"\r\n".join(out) + b"\r\n\r\n"


def via_destination(via):
    """Where a reply goes back to per this Via: received/rport, else sent-by."""
    host = via.received or via.host
    rport = via.rport
    if rport:
        try:
            port = int(rport)
        except ValueError:
            port = via.port or 5060
    else:
        port = via.port or 5060
    return host.decode("latin-1").strip("[]"), port


class Receiver:
    """Handles the datagrams of one process; keeps per-process sequence ids."""

    def __init__(self, rt):
        self.rt = rt
        self.seq = 0
        self.pre_hooks = [m.pre_script for m in rt.modules.values() if getattr(m, "pre_script", None)]
        self.reply_hooks = [m.reply_hook for m in rt.modules.values() if m.reply_hook]

    def handle(self, data: bytes, src, sock):
        rt = self.rt
        if len(data) <= 4 and not data.strip(b"\r\n\x00 "):
            return   # a keep-alive
        try:
            msg = parse(data)
        except ParseError as e:
            self.bad(data, src, sock, e)
            return
        self.seq += 1
        ctx = Context(rt, msg, src[0], src[1], "udp", sock)
        ctx.msg_id = self.seq
        ctx.t0 = time.time()
        try:
            if msg.is_request:
                self.request(ctx)
            else:
                self.reply(ctx)
        except ParseError as e:
            rt.count("core:bad_msg_hdr")
            rt.log(3, "dropping a message with a bad header from %s:%d: %s" % (src[0], src[1], e.reason))
        except ScriptExit:
            pass
        except Exception as e:   # a bug must not kill the worker
            rt.log(-1, "error handling a message from %s:%d: %r" % (src[0], src[1], e))

    def bad(self, data, src, sock, e):
        rt = self.rt
        is_reply = data[:4] == b"SIP/"
        rt.count("core:err_replies" if is_reply else "core:err_requests")
        rt.log(3, "bad message from %s:%d: %s" % (src[0], src[1], e.reason))
        if is_reply:
            return
        reply = error_reply(data, e.status, "Bad Request" if e.status == 400 else
                            "Version Not Supported" if e.status == 505 else "Bad Request")
        if reply is not None:
            rt.send(sock, src[0], src[1], reply)

    def request(self, ctx):
        rt = self.rt
        rt.count("core:rcv_requests")
        msg = ctx.msg
        if msg.via is None or msg.cseq is None or msg.call_id is None:
            rt.count("core:drop_requests")
            return
        for hook in self.pre_hooks:
            if hook(ctx):
                return
        rt.run_request(ctx)

    def reply(self, ctx):
        rt = self.rt
        rt.count("core:rcv_replies")
        msg = ctx.msg
        if msg.via is None or msg.cseq is None:
            rt.count("core:drop_replies")
            return
        for hook in self.reply_hooks:
            if hook(ctx):
                return
        if rt.script.reply_route is not None:
            ctx.route_type = CORE_REPLY_ROUTE
            rt.run_route(rt.script.reply_route, ctx)
            if ctx.dropped:
                rt.count("core:drop_replies")
                return
        forward_reply(ctx)


def forward_reply(ctx) -> bool:
    """Stateless reply forwarding by the second Via."""
    rt = ctx.rt
    msg = ctx.msg
    vias = msg.vias
    if len(vias) < 2:
        rt.count("core:drop_replies")
        return False
    top = vias[0]
    if not rt.is_myself(top.host, top.port or 5060):
        rt.log(3, "reply not addressed to us (top Via %s), dropped" % top.sent_by.decode("latin-1"))
        rt.count("core:drop_replies")
        return False
    ip, port = via_destination(vias[1])
    msg.pop_via()
    if rt.send(None, ip, port, msg.serialize()):
        rt.count("core:fwd_replies")
        return True
    rt.count("core:drop_replies")
    return False


def serve_udp(rt, sock, fd, should_stop):
    """The loop of a UDP receiver process: block in recvfrom, handle, repeat."""
    recv = Receiver(rt)
    handle = recv.handle
    recvfrom = fd.recvfrom
    while not should_stop():
        try:
            data, addr = recvfrom(65535)
        except InterruptedError:
            continue
        except OSError as e:
            rt.log(-1, "recvfrom on %s failed: %s" % (sock, e))
            time.sleep(0.01)
            continue
        handle(data, addr, sock)
