# SPDX-License-Identifier: GPL-2.0-or-later
"""Whole-message operations: apply the recorded changes, replace the buffer,
change a reply's status, drop the body, keep only some headers, fnmatch."""

import fnmatch as _fnmatch
import re

from kampy.module import Fmt, IntV, Str
from kampy.sip import parse
from kampy.sip.errors import ParseError
from kampy.sip.message import Message
from kampy.script.pv import s2b

from ..textops.rx import ere


def _log(ctx, text):
    ctx.rt.log(-1, "textopsx: " + text)


def _replace_message(msg, fresh):
    """Make msg the freshly parsed message, in place: scripts and modules
    hold the Message object, so it must stay the same object."""
    for name in Message.__slots__:
        setattr(msg, name, getattr(fresh, name))


def msg_apply_changes(ctx) -> int:
    """msg_apply_changes()

    After it the message reads as it will be sent ($hdr, search(), ...).
    A result that does not parse stops the script, as in Kamailio."""
    msg = ctx.msg
    if not msg.changed:
        return 1
    try:
        msg.apply_changes()
    except ParseError as e:
        _log(ctx, "msg_apply_changes: the new message does not parse: %s" % e)
        return 0
    return 1


def msg_set_buffer(ctx, data: Fmt) -> int:
    """msg_set_buffer(data): the new text must be a request when the message
    is a request, a reply when it is a reply; else -1 and nothing changes"""
    msg = ctx.msg
    try:
        fresh = parse(s2b(data))
    except ParseError as e:
        _log(ctx, "msg_set_buffer: the new message does not parse: %s" % e)
        return -1
    if fresh.is_request != msg.is_request:
        _log(ctx, "msg_set_buffer: a request cannot become a reply or back")
        return -1
    _replace_message(msg, fresh)
    return 1


def _reply(ctx):
    """The reply being handled: the message itself in reply_route, the
    reply tm hands to an onreply_route when the context holds the request."""
    msg = ctx.msg
    return msg if msg is not None and not msg.is_request else ctx.reply


def _change_status(ctx, code, reason) -> int:
    msg = _reply(ctx)
    if msg is None:
        _log(ctx, "change_reply_status: not a reply")
        return -1
    if not 100 <= code <= 699:
        _log(ctx, "change_reply_status: bad status code %d" % code)
        return -1
    old = msg.status
    if (code < 300 or old < 300) and code // 100 != old // 100:
        _log(ctx, "change_reply_status: the class of a provisional or positive "
                  "final reply cannot change (%d -> %d)" % (old, code))
        return -1
    msg.set_status(code, reason)
    return 1


def change_reply_status(ctx, code: IntV, reason: Fmt) -> int:
    """change_reply_status(code, reason)

    1xx and 2xx replies keep their class (and nothing becomes 1xx or 2xx), as
    in Kamailio: a proxy must not turn a final answer into another kind."""
    return _change_status(ctx, code, reason)


def change_reply_status_code(ctx, code: IntV) -> int:
    """change_reply_status_code(vcode): the reason phrase stays"""
    msg = _reply(ctx)
    return _change_status(ctx, code, msg.reason if msg is not None else b"")


def remove_body(ctx) -> int:
    """remove_body(): Content-Length becomes 0, Content-Type stays"""
    msg = ctx.msg
    if not msg.body:
        return 1
    msg.set_body(b"")
    return 1


# headers keep_hf() never removes
ALWAYS_KEPT = frozenset(("via", "from", "to", "call-id", "cseq", "content-length",
                         "content-type", "max-forwards", "contact", "route",
                         "record-route"))


def keep_hf(ctx) -> int:
    """keep_hf(): only the headers a request cannot do without stay"""
    msg = ctx.msg
    for i, (k, _n, _v) in enumerate(msg.header_fields()):
        if k not in ALWAYS_KEPT:
            msg.remove_header_at(i)
    return 1


def keep_hf1(ctx, pattern: Str) -> int:
    """keep_hf(regexp): also the headers whose name matches regexp"""
    rx = ere(pattern)
    msg = ctx.msg
    for i, (k, n, _v) in enumerate(msg.header_fields()):
        if k not in ALWAYS_KEPT and not rx.search(n):
            msg.remove_header_at(i)
    return 1


_FN = {}


def _fn_rx(expr: str, icase: bool):
    rx = _FN.get((expr, icase))
    if rx is None:
        rx = _FN[(expr, icase)] = re.compile(_fnmatch.translate(expr), re.I if icase else 0)
    return rx


def fnmatch(ctx, value: Fmt, expr: Fmt) -> int:
    """fnmatch(value, expr): shell-style wildcards (* ? [...])"""
    return 1 if _fn_rx(expr, False).match(value) else -1


def fnmatch3(ctx, value: Fmt, expr: Fmt, flags: Fmt) -> int:
    """fnmatch(value, expr, flags): flags "i" ignores case"""
    return 1 if _fn_rx(expr, "i" in flags).match(value) else -1
