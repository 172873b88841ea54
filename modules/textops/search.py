# SPDX-License-Identifier: GPL-2.0-or-later
"""Regular expression search, replace and sed-like substitution over the
message, its headers or its body.

Every function matches the message as received, as Kamailio does (its
Known Limitations: "search functions are applied to the original request"),
and records its changes as edits that show when the message is sent or
after msg_apply_changes() (see lumps.py).
"""

import re

from kampy.module import Fmt, IntV, PVW, Str
from kampy.script.pv import b2s, s2b
from kampy.sip.errors import ParseError
from kampy.sip.headers import header_key

from . import lumps
from .rx import ere, parse_subst


def _log(ctx, text):
    ctx.rt.log(-1, "textops: " + text)


def _whole(msg):
    """(offset, bytes) of the message as received."""
    return 0, msg.raw[:len(msg)]


def _body(msg):
    lay = lumps.Layout(msg)
    return lay.bstart, msg.raw[lay.bstart:lay.bend]


def _headers_part(msg):
    """The header section: after the start line, to the end of the last header."""
    lay = lumps.Layout(msg)
    start = lay.fl_end + len(lay.eol)
    end = lay.lines[-1][1] + len(lay.eol) if lay.lines else start
    return start, msg.raw[start:end]


def _after_first_line(msg):
    """Headers and body (replace_str works there, not on the start line)."""
    lay = lumps.Layout(msg)
    start = lay.fl_end + len(lay.eol)
    return start, msg.raw[start:lay.bend]


def _edit(ctx, edits) -> int:
    try:
        n = lumps.add(ctx, edits)
    except lumps.EditError as e:
        _log(ctx, "cannot change the message: %s" % e)
        return -1
    return 1 if n else -1


def _find(rx, data, first_only):
    """Matches of rx; Kamailio refuses an empty match (an endless loop in C)."""
    out = []
    for m in rx.finditer(data):
        if m.start() == m.end():
            return None
        out.append(m)
        if first_only:
            break
    return out


def _replace(ctx, region, pattern, txt, first_only) -> int:
    off, data = region(ctx.msg)
    ms = _find(ere(pattern), data, first_only)
    if ms is None:
        _log(ctx, "regular expression %r matched an empty string" % pattern)
        return -1
    if not ms:
        return -1
    t = s2b(txt)
    return _edit(ctx, [(off + m.start(), off + m.end(), t) for m in ms])


# --- search ----------------------------------------------------------------------------

def search(ctx, pattern: Str) -> int:
    """search(re)

    Case-insensitive, line by line (REG_ICASE|REG_NEWLINE), over the whole
    message as received."""
    return 1 if ere(pattern).search(_whole(ctx.msg)[1]) else -1


def search_body(ctx, pattern: Str) -> int:
    """search_body(re)"""
    return 1 if ere(pattern).search(_body(ctx.msg)[1]) else -1


def search_hf(ctx, hname: Fmt, pattern: Str, flags: Fmt) -> int:
    """search_hf(hf, re, flags)

    Flags: a (every header of that name), f (the first), l (the last)."""
    try:
        key = header_key(hname)
    except ParseError:
        _log(ctx, "search_hf: bad header name %r" % hname)
        return -1
    vals = [v for k, _n, v in ctx.msg.header_fields() if k == key]
    if not vals:
        return -1
    f = (flags or "a")[:1]
    if f == "f":
        vals = vals[:1]
    elif f == "l":
        vals = vals[-1:]
    rx = ere(pattern)
    return 1 if any(rx.search(v) for v in vals) else -1


def search_str(ctx, text: Fmt, pattern: Fmt) -> int:
    """search_str(text, re): both may hold variables, so the regex is compiled
    per call (and cached)."""
    try:
        rx = ere(pattern, text=True)
    except re.error as e:
        _log(ctx, "search_str: bad regular expression %r: %s" % (pattern, e))
        return -1
    return 1 if rx.search(text) else -1


def search_append(ctx, pattern: Str, txt: Str) -> int:
    """search_append(re, txt): txt goes right after the first match"""
    off, data = _whole(ctx.msg)
    m = ere(pattern).search(data)
    if m is None:
        return -1
    return _edit(ctx, [(off + m.end(), off + m.end(), s2b(txt))])


def search_append_body(ctx, pattern: Str, txt: Str) -> int:
    """search_append_body(re, txt)"""
    off, data = _body(ctx.msg)
    m = ere(pattern).search(data)
    if m is None:
        return -1
    return _edit(ctx, [(off + m.end(), off + m.end(), s2b(txt))])


# --- replace ----------------------------------------------------------------------------

def replace(ctx, pattern: Str, txt: Str) -> int:
    """replace(re, txt): the first match in the message.  txt is taken as
    written, without variables, as in Kamailio."""
    return _replace(ctx, _whole, pattern, txt, True)


def replace_all(ctx, pattern: Str, txt: Str) -> int:
    """replace_all(re, txt)"""
    return _replace(ctx, _whole, pattern, txt, False)


def replace_body(ctx, pattern: Str, txt: Str) -> int:
    """replace_body(re, txt)"""
    return _replace(ctx, _body, pattern, txt, True)


def replace_body_all(ctx, pattern: Str, txt: Str) -> int:
    """replace_body_all(re, txt)"""
    return _replace(ctx, _body, pattern, txt, False)


def replace_body_atonce(ctx, pattern: Str, txt: Str) -> int:
    """replace_body_atonce(re, txt): same result as replace_body_all here;
    in Kamailio it only differs in how many lumps it makes"""
    return _replace(ctx, _body, pattern, txt, False)


def replace_hdrs(ctx, pattern: Str, txt: Str) -> int:
    """replace_hdrs(re, txt): the first match in the header section"""
    return _replace(ctx, _headers_part, pattern, txt, True)


def _replace_str(ctx, region, match, repl, mode) -> int:
    if not match:
        return -1
    off, data = region(ctx.msg)
    needle = s2b(match)
    t = s2b(repl)
    edits = []
    i = data.find(needle)
    while i >= 0:
        edits.append((off + i, off + i + len(needle), t))
        if mode[:1] != "a":
            break
        i = data.find(needle, i + len(needle))
    if not edits:
        return -1
    return _edit(ctx, edits)


def replace_str(ctx, match: Fmt, repl: Fmt, mode: Fmt) -> int:
    """replace_str(match, repl, mode): plain text, headers and body; mode f or a"""
    return _replace_str(ctx, _after_first_line, match, repl, mode)


def replace_body_str(ctx, match: Fmt, repl: Fmt, mode: Fmt) -> int:
    """replace_body_str(match, repl, mode)"""
    return _replace_str(ctx, _body, match, repl, mode)


def replace_hdrs_str(ctx, match: Fmt, repl: Fmt, mode: Fmt) -> int:
    """replace_hdrs_str(match, repl, mode)"""
    return _replace_str(ctx, _headers_part, match, repl, mode)


# --- subst --------------------------------------------------------------------------------

def _subst_region(ctx, region, expr) -> int:
    s = parse_subst(expr)
    off, data = region(ctx.msg)
    ms = s.matches(data)
    if not ms:
        return -1
    return _edit(ctx, [(off + m.start(), off + m.end(), s.expand(ctx, m)) for m in ms])


def subst(ctx, expr: Str) -> int:
    """subst('/re/repl/flags')

    Over the whole message (headers and body).  repl may hold \\0-\\9, \\u
    (the R-URI) and variables; flags i (ignore case), g (every match), s (`.`
    matches newlines too)."""
    return _subst_region(ctx, _whole, expr)


def subst_body(ctx, expr: Str) -> int:
    """subst_body('/re/repl/flags')"""
    return _subst_region(ctx, _body, expr)


def subst_uri(ctx, expr: Str) -> int:
    """subst_uri('/re/repl/flags'): on the current R-URI, which it sets"""
    msg = ctx.msg
    if not msg.is_request:
        return -1
    new, n = parse_subst(expr).apply(ctx, msg.ruri)
    if not n:
        return -1
    msg.set_ruri(new)           # not checked, as in Kamailio
    return 1


def subst_user(ctx, expr: Str) -> int:
    """subst_user('/re/repl/flags'): on the R-URI user (an empty one when the
    URI has none); an empty result removes the user"""
    msg = ctx.msg
    if not msg.is_request:
        return -1
    try:
        u = msg.ruri_uri
    except ParseError:
        _log(ctx, "subst_user: cannot parse the R-URI")
        return -1
    new, n = parse_subst(expr).apply(ctx, u.user or b"")
    if not n:
        return -1
    try:
        u2 = u.replace(user=new or None)
    except (ParseError, ValueError) as e:
        _log(ctx, "subst_user: bad user %r: %s" % (new[:80], e))
        return -1
    msg.set_ruri(bytes(u2))
    return 1


def subst_hf(ctx, hname: Fmt, expr: Str, flags: Fmt) -> int:
    """subst_hf(hf, subexp, flags): on header values; flags a, f or l"""
    msg = ctx.msg
    try:
        key = header_key(hname)
    except ParseError:
        _log(ctx, "subst_hf: bad header name %r" % hname)
        return -1
    pos = msg.positions(key)
    if not pos:
        return -1
    f = (flags or "a")[:1]
    if f == "f":
        pos = pos[:1]
    elif f == "l":
        pos = pos[-1:]
    s = parse_subst(expr)
    lay = lumps.Layout(msg)
    edits = []
    for p in pos:
        start, end = lay.lines[p]
        line = lay.raw[start:end]
        colon = line.index(b":") + 1
        vstart = colon
        while vstart < len(line) and line[vstart] in b" \t":
            vstart += 1
        vend = len(line.rstrip(b" \t"))
        value = line[vstart:vend]
        for m in s.matches(value):
            edits.append((start + vstart + m.start(), start + vstart + m.end(), s.expand(ctx, m)))
    if not edits:
        return -1
    return _edit(ctx, edits)


def subst_v(ctx, itext: Fmt, expr: Fmt, opv: PVW) -> int:
    """subst_v(itext, subexp, opv): the expression may hold variables, so it
    is parsed per distinct value (and cached)"""
    try:
        s = parse_subst(expr)
    except (ValueError, re.error) as e:
        _log(ctx, "subst_v: bad expression %r: %s" % (expr, e))
        return -1
    new, n = s.apply(ctx, s2b(itext))
    if not n:
        return -1
    opv.set(ctx, b2s(new))
    return 1


def regex_substring(ctx, itext: Fmt, pattern: Fmt, mindex: IntV, mcount: IntV, dpv: PVW) -> int:
    """regex_substring(itext, regexp, mindex, mcount, dpv)

    Sets dpv to group `mindex` of the first match (REG_EXTENDED, case
    sensitive); mcount is how many groups the caller expects."""
    try:
        rx = ere(pattern, icase=False, newline=False, text=True)
    except re.error as e:
        _log(ctx, "regex_substring: bad regular expression %r: %s" % (pattern, e))
        return -1
    m = rx.search(itext)
    if m is None:
        return -1
    if mindex < 0 or mindex >= mcount or mindex > rx.groups:
        _log(ctx, "regex_substring: no match index %d" % mindex)
        return -1
    g = m.group(mindex)
    if g is None:
        return -1
    dpv.set(ctx, g)
    return 1
