# SPDX-License-Identifier: GPL-2.0-or-later
"""Building and sending a stateless reply to the request being routed."""

import os
import zlib

from kampy.module import Fmt, IntV
from kampy.script.core_funcs import received_via
from kampy.sip import build
from kampy.script.pv import s2b

COUNTERS = (
    "1xx_replies", "200_replies", "202_replies", "2xx_replies", "300_replies",
    "301_replies", "302_replies", "3xx_replies", "400_replies", "401_replies",
    "403_replies", "404_replies", "407_replies", "408_replies", "483_replies",
    "4xx_replies", "500_replies", "5xx_replies", "6xx_replies", "xxx_replies",
    "sent_replies", "sent_err_replies", "received_ACKs", "failures",
)
_SPECIFIC = {200, 202, 300, 301, 302, 400, 401, 403, 404, 407, 408, 483, 500}
_TAG_PREFIX = os.urandom(12).hex().encode() + b"-"


def to_tag(msg) -> bytes:
    """A To tag that is the same for every retransmission of the request and
    for the ACK of a negative reply (same Call-ID, same top Via branch, RFC
    3261 §17.1.1.3), so that ACK can be recognised; like Kamailio's sl, a
    fixed per-server prefix and a checksum of the request."""
    branch = msg.branch or b""
    return _TAG_PREFIX + b"%08x" % zlib.crc32(branch, zlib.crc32(msg.call_id or b""))


def _counter_names(code: int) -> tuple:
    names = ["sl:sent_replies"]
    if code in _SPECIFIC:
        names.append("sl:%d_replies" % code)
    cls = code // 100
    names.append("sl:%dxx_replies" % cls if 1 <= cls <= 6 else "sl:xxx_replies")
    if code >= 300:
        names.append("sl:sent_err_replies")
    return tuple(names)


_NAMES_BY_CODE = {code: _counter_names(code) for code in range(100, 700)}


def count_reply(rt, code: int):
    for name in _NAMES_BY_CODE[code]:
        rt.count(name)


def reply(ctx, code: int, reason: str, headers=(), body=b"", content_type=None) -> int:
    """Send a reply to ctx.msg now, without a transaction."""
    rt = ctx.rt
    msg = ctx.msg
    if not msg.is_request or msg.method == "ACK":
        return -1
    if not 100 <= code <= 699:
        rt.log(-1, "sl: bad reply code %d" % code)
        rt.count("sl:failures")
        return -1
    extra = headers
    data = ctx.data
    if data:
        extra = list(headers) + data.pop("reply_headers", [])
        if not body and "reply_body" in data:
            body, content_type = data.pop("reply_body")
    server = rt.server_header
    try:
        data = build.make_reply(msg, code, s2b(reason), to_tag=to_tag(msg),
                                headers=extra, body=body, content_type=content_type,
                                top_via=received_via(ctx), server=server)
    except Exception as e:   # a request whose headers do not parse
        rt.log(-1, "sl: cannot build reply: %s" % e)
        rt.count("sl:failures")
        return -1
    ip, port = rt.reply_destination(ctx)
    if not rt.send(ctx.rcv, ip, port, data):
        rt.count("sl:failures")
        return -1
    count_reply(rt, code)
    return 1


def sl_send_reply(ctx, code: IntV, reason: Fmt) -> int:
    """sl_send_reply(code, reason): reply statelessly"""
    return reply(ctx, code, reason)


def send_reply(ctx, code: IntV, reason: Fmt) -> int:
    """send_reply(code, reason): statefully when tm has a transaction, else statelessly"""
    tm = ctx.rt.modules.get("tm")
    if tm is not None and ctx.t is not None:
        return ctx.rt.api("tm").reply(ctx, code, reason)
    return reply(ctx, code, reason)


def sl_reply_error(ctx) -> int:
    """sl_reply_error(): reply with the last internal error (500 when none)"""
    code, reason = ctx.data.get("error", (500, "Server Internal Error"))
    return reply(ctx, code, reason)


def filter_ack(ctx) -> bool:
    """Absorb the ACK to a negative reply we sent statelessly (before the script)."""
    msg = ctx.msg
    if msg.method != "ACK":
        return False
    tag = msg.to_tag
    if tag is None or tag != to_tag(msg):
        return False
    ctx.rt.count("sl:received_ACKs")
    return True
