# SPDX-License-Identifier: GPL-2.0-or-later
"""Header fields: presence checks, adding and removing whole header lines,
the method check, and headers for the next local reply."""

import re
import time

from kampy.module import Fmt, IntV, Str
from kampy.script.ast import ConfigError
from kampy.script.pv import b2s, s2b
from kampy.sip.errors import ParseError
from kampy.sip.headers import header_key

from . import lumps
from .rx import arg_text, ere


def _log(ctx, text):
    ctx.rt.log(-1, "textops: " + text)


def _key(ctx, fname, name):
    try:
        return header_key(name.strip())
    except ParseError:
        _log(ctx, "%s: bad header name %r" % (fname, name))
        return None


def hname_fixup(fname, index=0):
    """A constant header name must be a header name (checked at startup)."""
    def fixup(args, pos):
        a = args[index]
        try:
            header_key(arg_text(a).strip())
        except ParseError:
            raise ConfigError(a.pos, "%s: bad header name %r" % (fname, arg_text(a))) from None
        return args
    return fixup


def header_lines(txt) -> list:
    """The header lines of a text such as "X: a\\r\\nY: b\\r\\n" (the CRLF that
    Kamailio needs at the end is optional here)."""
    data = s2b(txt).replace(b"\r\n", b"\n")
    return [ln for ln in data.split(b"\n") if ln.strip()]


def _check_lines(ctx, fname, lines) -> bool:
    for ln in lines:
        if b":" not in ln or ln[:1] in (b" ", b"\t"):
            _log(ctx, "%s: %r is not a header line (Name: value)" % (fname, ln[:60]))
            return False
    return True


# --- presence --------------------------------------------------------------------------

def is_present_hf(ctx, name: Str) -> int:
    """is_present_hf(hf_name): long and compact forms are the same header"""
    key = _key(ctx, "is_present_hf", name)
    return 1 if key and ctx.msg.has(key) else -1


def is_present_hf_pv(ctx, name: Fmt) -> int:
    """is_present_hf_pv(hf_name)"""
    key = _key(ctx, "is_present_hf_pv", name)
    return 1 if key and ctx.msg.has(key) else -1


def _names(msg):
    """(position, name as written) of every header line."""
    return [(i, n) for i, (_k, n, _v) in enumerate(msg.header_fields())]


def is_present_hf_re(ctx, pattern: Str) -> int:
    """is_present_hf_re(hf_name_re): the regex runs on the names as written"""
    rx = ere(pattern)
    return 1 if any(rx.search(n) for _i, n in _names(ctx.msg)) else -1


def _dyn_rx(ctx, fname, pattern):
    try:
        return ere(pattern)
    except re.error as e:
        _log(ctx, "%s: bad regular expression %r: %s" % (fname, pattern, e))
        return None


def is_present_hf_re_pv(ctx, pattern: Fmt) -> int:
    """is_present_hf_re_pv(hf_name_re)"""
    rx = _dyn_rx(ctx, "is_present_hf_re_pv", pattern)
    if rx is None:
        return -1
    return 1 if any(rx.search(n) for _i, n in _names(ctx.msg)) else -1


# --- removing --------------------------------------------------------------------------

def _remove_at(ctx, positions) -> int:
    msg = ctx.msg
    for p in positions:
        msg.remove_header_at(p)
        lumps.mark_removed(ctx, p)
    return len(positions) if positions else -1


def remove_hf(ctx, name: Str) -> int:
    """remove_hf(hname): how many lines were removed, -1 when none"""
    key = _key(ctx, "remove_hf", name)
    return _remove_at(ctx, ctx.msg.positions(key)) if key else -1


def remove_hf_pv(ctx, name: Fmt) -> int:
    """remove_hf_pv(hname)"""
    key = _key(ctx, "remove_hf_pv", name)
    return _remove_at(ctx, ctx.msg.positions(key)) if key else -1


def remove_hf_re(ctx, pattern: Str) -> int:
    """remove_hf_re(re): every header whose name (as written) matches"""
    rx = ere(pattern)
    return _remove_at(ctx, [i for i, n in _names(ctx.msg) if rx.search(n)])


def remove_hf_re_pv(ctx, pattern: Fmt) -> int:
    """remove_hf_re_pv(re)"""
    rx = _dyn_rx(ctx, "remove_hf_re_pv", pattern)
    if rx is None:
        return -1
    return _remove_at(ctx, [i for i, n in _names(ctx.msg) if rx.search(n)])


def remove_hf_exp(ctx, match: Str, skip: Str) -> int:
    """remove_hf_exp(expmatch, expskip): names matching the first regex but
    not the second"""
    m_rx = ere(match)
    s_rx = ere(skip)
    return _remove_at(ctx, [i for i, n in _names(ctx.msg)
                            if m_rx.search(n) and not s_rx.search(n)])


def remove_hf_exp_pv(ctx, match: Fmt, skip: Fmt) -> int:
    """remove_hf_exp_pv(expmatch, expskip)"""
    m_rx = _dyn_rx(ctx, "remove_hf_exp_pv", match)
    s_rx = _dyn_rx(ctx, "remove_hf_exp_pv", skip)
    if m_rx is None or s_rx is None:
        return -1
    return _remove_at(ctx, [i for i, n in _names(ctx.msg)
                            if m_rx.search(n) and not s_rx.search(n)])


def remove_hf_idx(ctx, name: Fmt, idx: IntV) -> int:
    """remove_hf_idx(hname, idx): 0 is the first such header, -1 the last"""
    key = _key(ctx, "remove_hf_idx", name)
    if not key:
        return -1
    pos = ctx.msg.positions(key)
    try:
        p = pos[idx]
    except IndexError:
        return -1
    return _remove_at(ctx, [p])


def remove_hf_match(ctx, name: Fmt, op: Fmt, expr: Fmt) -> int:
    """remove_hf_match(hname, op, expr): op is eq, ne, in (contains) or re"""
    key = _key(ctx, "remove_hf_match", name)
    if not key:
        return -1
    msg = ctx.msg
    e = s2b(expr)
    op = op.strip().lower()
    if op == "re":
        rx = _dyn_rx(ctx, "remove_hf_match", expr)
        if rx is None:
            return -1
        test = lambda v: rx.search(v) is not None          # noqa: E731
    elif op == "eq":
        test = lambda v: v == e                              # noqa: E731
    elif op == "ne":
        test = lambda v: v != e                              # noqa: E731
    elif op == "in":
        test = lambda v: e in v                              # noqa: E731
    else:
        _log(ctx, "remove_hf_match: unknown operator %r" % op)
        return -1
    return _remove_at(ctx, [i for i, (k, _n, v) in enumerate(msg.header_fields())
                            if k == key and test(v)])


# --- adding -------------------------------------------------------------------------------

def append_hf(ctx, txt: Fmt) -> int:
    """append_hf(txt): after the last header"""
    lines = header_lines(txt)
    if not lines or not _check_lines(ctx, "append_hf", lines):
        return -1
    for ln in lines:
        ctx.msg.append_header(ln)
    return 1


def append_hf2(ctx, txt: Fmt, hdr: Str) -> int:
    """append_hf(txt, hdr): after the last header called hdr, as the Kamailio
    5.x manual says; -1 when there is none"""
    lines = header_lines(txt)
    key = _key(ctx, "append_hf", hdr)
    if not lines or not key or not _check_lines(ctx, "append_hf", lines):
        return -1
    pos = ctx.msg.positions(key)
    if not pos:
        return -1
    for ln in lines:
        ctx.msg.append_header(ln, before=pos[-1] + 1)
    return 1


def insert_hf(ctx, txt: Fmt) -> int:
    """insert_hf(txt): before the first header"""
    lines = header_lines(txt)
    if not lines or not _check_lines(ctx, "insert_hf", lines):
        return -1
    for ln in reversed(lines):
        ctx.msg.insert_header(ln)
    return 1


def insert_hf2(ctx, txt: Fmt, hdr: Str) -> int:
    """insert_hf(txt, hdr): before the first header called hdr"""
    lines = header_lines(txt)
    key = _key(ctx, "insert_hf", hdr)
    if not lines or not key or not _check_lines(ctx, "insert_hf", lines):
        return -1
    pos = ctx.msg.positions(key)
    if not pos:
        return -1
    for ln in lines:
        ctx.msg.append_header(ln, before=pos[0])
    return 1


def append_urihf(ctx, prefix: Str, suffix: Str) -> int:
    """append_urihf(prefix, suffix): a header made of prefix, the R-URI as
    received and suffix"""
    msg = ctx.msg
    if not msg.is_request:
        return -1
    orig = msg.first_line.split(b" ")[1]
    return append_hf(ctx, prefix + b2s(orig) + suffix)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def date_header() -> str:
    """`Date: Sat, 13 Nov 2010 23:29:00 GMT` (RFC 1123, English names whatever
    the locale)."""
    t = time.gmtime()
    return "Date: %s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.tm_wday], t.tm_mday, _MONTHS[t.tm_mon - 1], t.tm_year,
        t.tm_hour, t.tm_min, t.tm_sec)


def append_time(ctx) -> int:
    """append_time(): a Date header in the next local reply"""
    ctx.data.setdefault("reply_headers", []).append(date_header())
    return 1


def append_time_to_request(ctx) -> int:
    """append_time_to_request(): a Date header in the request"""
    ctx.msg.append_header(date_header())
    return 1


def append_to_reply(ctx, txt: Fmt) -> int:
    """append_to_reply(txt): header lines for the next reply sl or tm sends
    for this request"""
    lines = header_lines(txt)
    if not lines or not _check_lines(ctx, "append_to_reply", lines):
        return -1
    ctx.data.setdefault("reply_headers", []).extend(b2s(ln) for ln in lines)
    return 1


# --- method -------------------------------------------------------------------------------

KNOWN_METHODS = frozenset((
    "INVITE", "CANCEL", "ACK", "BYE", "INFO", "REGISTER", "SUBSCRIBE", "NOTIFY",
    "MESSAGE", "OPTIONS", "PRACK", "UPDATE", "REFER", "PUBLISH", "KDMQ",
    "GET", "POST", "PUT", "DELETE",
))


def method_fixup(args, pos):
    """A list of methods may hold only methods Kamailio knows by id."""
    a = args[0]
    text = arg_text(a)
    if "|" in text:
        for m in text.split("|"):
            if m.strip().upper() not in KNOWN_METHODS:
                raise ConfigError(a.pos, "is_method: unknown method %r in list %r" % (m, text))
    elif not text.strip():
        raise ConfigError(a.pos, "is_method: empty method name")
    return args


_METHOD_SETS = {}


def is_method(ctx, names: Str) -> int:
    """is_method(name): "INVITE|BYE" lists allowed; replies test the CSeq method"""
    wanted = _METHOD_SETS.get(names)
    if wanted is None:
        wanted = _METHOD_SETS[names] = frozenset(m.strip().upper() for m in names.split("|"))
    msg = ctx.msg
    if msg.is_request:
        m = msg.method
    else:
        try:
            cs = msg.cseq
        except ParseError:
            return -1
        if cs is None:
            return -1
        m = cs.method
    return 1 if m.upper() in wanted else -1
