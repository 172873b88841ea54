# SPDX-License-Identifier: GPL-2.0-or-later
"""Core extensions: script flags, the destination URI, pv_printf, is_myself,
the log level of this process, km_append_branch."""

from kampy.module import Fmt, IntV, PVW, Str
from kampy.runtime import L_WARN
from kampy.script import core_funcs
from kampy.script.ast import ConfigError
from kampy.script.pv import b2s, s2b
from kampy.sip.errors import ParseError
from kampy.sip.uri import parse_uri

SFLAGS = "kex.sflags"
MAX_FLAG = 31


def _flag_ok(ctx, flag) -> bool:
    if 0 <= flag <= MAX_FLAG:
        return True
    ctx.rt.log(-1, "kex: flag %d out of range 0..%d" % (flag, MAX_FLAG))
    return False


def setsflag(ctx, flag: IntV) -> int:
    """setsflag(flag): a script flag, kept while this message is handled"""
    if not _flag_ok(ctx, flag):
        return -1
    ctx.data[SFLAGS] = ctx.data.get(SFLAGS, 0) | (1 << flag)
    return 1


def resetsflag(ctx, flag: IntV) -> int:
    """resetsflag(flag)"""
    if not _flag_ok(ctx, flag):
        return -1
    ctx.data[SFLAGS] = ctx.data.get(SFLAGS, 0) & ~(1 << flag)
    return 1


def issflagset(ctx, flag: IntV) -> int:
    """issflagset(flag)"""
    if not _flag_ok(ctx, flag):
        return -1
    return 1 if ctx.data.get(SFLAGS, 0) & (1 << flag) else -1


def dsturi_fixup(args, pos):
    a = args[0]
    try:
        parse_uri(s2b(str(a.value)))
    except ParseError as e:
        raise ConfigError(a.pos, "setdsturi: bad URI %r: %s" % (a.value, e)) from None
    return args


def setdsturi(ctx, uri: Str) -> int:
    """setdsturi(uri): a constant, as in Kamailio; assign $du for variables"""
    ctx.du = uri
    return 1


def resetdsturi(ctx) -> int:
    """resetdsturi()"""
    ctx.du = None
    return 1


def isdsturiset(ctx) -> int:
    """isdsturiset()"""
    return 1 if ctx.du else -1


def pv_printf(ctx, var: PVW, text: Fmt) -> int:
    """pv_printf(var, str): var gets str with its variables expanded"""
    var.set(ctx, text)
    return 1


def is_myself(ctx, uri: Fmt) -> int:
    """is_myself(uri): a SIP URI or an address; a URI without a port matches
    any of our ports"""
    host, port = uri.strip(), None
    try:
        u = parse_uri(s2b(host))
        if u.host:
            host, port = b2s(u.host), u.port
    except ParseError:
        if host.count(":") == 1:
            h, _, p = host.partition(":")
            if p.isdigit():
                host, port = h, int(p)
    return 1 if host and ctx.rt.is_myself(host, port) else -1


def setdebug(ctx, level: IntV) -> int:
    """setdebug(level): the log level of this process"""
    ctx.rt.debug = level
    return 1


def resetdebug(ctx) -> int:
    """resetdebug(): back to the core parameter debug"""
    ctx.rt.debug = int(ctx.rt.params.get("debug", L_WARN))
    return 1


def km_append_branch(ctx) -> int:
    """km_append_branch(): core append_branch() under its old kex name"""
    return core_funcs.append_branch(ctx)


def km_append_branch1(ctx, uri: Fmt) -> int:
    """km_append_branch(uri)"""
    return core_funcs.append_branch1(ctx, uri)
