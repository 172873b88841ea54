# SPDX-License-Identifier: GPL-2.0-or-later
"""Kamailio's core keywords in expressions: `method == "INVITE"`,
`uri == myself`, `src_ip == 10.0.0.0/8`, `proto == UDP`, `status == "200"`...

Kamailio compares method, uri, from_uri and to_uri case-insensitively with a
string and matches them with case-insensitive regexes; addresses compare as
addresses (with an optional network mask); ports, lengths and status codes
as integers.
"""

import ipaddress

from . import ast as A
from .pv import b2s, to_int, to_str
from .regex import compile_posix


def _method(ctx):
    m = ctx.msg
    if m.is_request:
        return m.method
    try:
        return m.cseq.method
    except Exception:
        return None


def _uri(ctx):
    return b2s(ctx.msg.ruri) if ctx.msg.is_request else None


def _hdr_uri(which):
    def get(ctx):
        try:
            na = ctx.msg.from_ if which == "from" else ctx.msg.to
            return None if na is None else b2s(na.uri_raw)
        except Exception:
            return None
    return get


def _status(ctx):
    r = ctx.reply if ctx.reply is not None else ctx.msg
    return None if r.is_request else r.status


VALUES = {
    "method": _method,
    "uri": _uri,
    "from_uri": _hdr_uri("from"),
    "to_uri": _hdr_uri("to"),
    "status": _status,
    "src_ip": lambda ctx: ctx.src_ip,
    "src_port": lambda ctx: ctx.src_port,
    "dst_ip": lambda ctx: ctx.rcv.ip if ctx.rcv else None,
    "dst_port": lambda ctx: ctx.rcv.port if ctx.rcv else None,
    "snd_ip": lambda ctx: (ctx.event or {}).get("snd_ip") if isinstance(ctx.event, dict) else None,
    "snd_port": lambda ctx: (ctx.event or {}).get("snd_port") if isinstance(ctx.event, dict) else None,
    "to_ip": lambda ctx: (ctx.event or {}).get("to_ip") if isinstance(ctx.event, dict) else None,
    "to_port": lambda ctx: (ctx.event or {}).get("to_port") if isinstance(ctx.event, dict) else None,
    "proto": lambda ctx: ctx.proto,
    "af": lambda ctx: "inet6" if ":" in (ctx.src_ip or "") else "inet",
    "msg:len": lambda ctx: len(ctx.msg),
    "UDP": lambda ctx: "udp", "TCP": lambda ctx: "tcp", "TLS": lambda ctx: "tls",
    "SCTP": lambda ctx: "sctp", "WS": lambda ctx: "ws", "WSS": lambda ctx: "wss",
    "INET": lambda ctx: "inet", "INET6": lambda ctx: "inet6",
}

_STRINGS = ("method", "uri", "from_uri", "to_uri")
_ADDRS = ("src_ip", "dst_ip", "snd_ip", "to_ip")
_INTS = ("src_port", "dst_port", "snd_port", "to_port", "msg:len", "status")


def keyword_value(name):
    return VALUES[name]


def _host_port_of(value):
    """Host and port of a URI string or a bare host."""
    from ..sip.uri import parse_uri
    if value is None:
        return None, None
    s = to_str(value)
    if ":" in s and not s.startswith("["):
        try:
            u = parse_uri(s.encode("utf-8", "surrogateescape"))
            if u.scheme in ("sip", "sips"):
                return u.host, u.port
        except Exception:
            pass
    return s, None


def _myself(getter):
    def check(ctx):
        host, port = _host_port_of(getter(ctx))
        return host is not None and ctx.rt.is_myself(host, port)
    return check


def _ip_matcher(text):
    """A function telling whether an address string is in `text` (ip or ip/mask;
    the mask as a length or as an address; IPv6 possibly in brackets)."""
    t = text.replace("[", "").replace("]", "")
    try:
        net = ipaddress.ip_network(t, strict=False)
    except ValueError:
        return None

    def match(v):
        if v is None:
            return False
        try:
            return ipaddress.ip_address(to_str(v).strip("[]")) in net
        except ValueError:
            return False
    return match


def compile_keyword_cmp(comp, e):
    """Code for `KEYWORD op value` (or `x == myself`); returns (src, "bool")."""
    op = e.op
    left, right = e.left, e.right
    negate = op in ("!=", "!~", "ne", "ine")
    if isinstance(right, A.Keyword) and right.name == "myself":
        if op not in ("==", "!=", "eq", "ne"):
            raise A.ConfigError(e.pos, "myself can only be compared with == or !=")
        if isinstance(left, A.Keyword):
            if left.name not in _STRINGS + _ADDRS:
                raise A.ConfigError(left.pos, "%s cannot be compared with myself" % left.name)
            getter = VALUES[left.name]
        else:
            saved, comp.in_route = comp.in_route, False
            src, _k = comp.expr(left)
            comp.in_route = saved
            getter = eval("lambda ctx: " + src, comp.ns)
        code = "%s(ctx)" % comp.bind(_myself(getter), "_my")
        return ("(not %s)" % code if negate else code), "bool"
    name = left.name
    if name not in VALUES or name == "myself":
        raise A.ConfigError(left.pos, "'%s' cannot be compared" % name)
    lget = comp.bind(VALUES[name], "_kw")
    if op in ("=~", "!~"):
        if isinstance(right, A.StrLit):
            try:
                rx = compile_posix(right.value)
            except Exception as ex:
                raise A.ConfigError(right.pos, "bad regular expression %r: %s" % (right.value, ex))
            code = "(%s.search(_to_str(%s(ctx))) is not None)" % (comp.bind(rx, "_rx"), lget)
        else:
            rs, _k = comp.expr(right)
            code = "_ops.match(%s(ctx), %s)" % (lget, rs)
        return ("(not %s)" % code if negate else code), "bool"
    if isinstance(right, A.Keyword):
        rs = "%s(ctx)" % comp.bind(VALUES.get(right.name, lambda ctx: None), "_kw")
    else:
        rs, _k = comp.expr(right)
    if name in _STRINGS:
        if op not in ("==", "!=", "eq", "ne"):
            raise A.ConfigError(e.pos, "%s can only be compared with ==, != or =~" % name)
        code = "(_to_str(%s(ctx)).lower() == _to_str(%s).lower())" % (lget, rs)
        if name == "method":
            code = "(_to_str(%s(ctx)).upper() == _to_str(%s).upper())" % (lget, rs)
        return ("(not %s)" % code if negate else code), "bool"
    if name in _ADDRS:
        if op not in ("==", "!=", "eq", "ne"):
            raise A.ConfigError(e.pos, "%s can only be compared with ==, != or =~" % name)
        if isinstance(right, A.StrLit):
            m = _ip_matcher(right.value)
            if m is None:
                raise A.ConfigError(right.pos, "bad address %r" % right.value)
            code = "%s(%s(ctx))" % (comp.bind(m, "_ipm"), lget)
        else:
            code = "_ops.eq(%s(ctx), %s)" % (lget, rs)
        return ("(not %s)" % code if negate else code), "bool"
    if name in _INTS:
        pyop = {"==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">=",
                "eq": "==", "ne": "!=", "ieq": "==", "ine": "!="}.get(op)
        if pyop is None:
            raise A.ConfigError(e.pos, "operator %s cannot be used with %s" % (op, name))
        lv = comp.bind(lambda ctx, g=VALUES[name]: to_int(g(ctx)), "_kwi")
        return "(%s(ctx) %s _to_int(%s))" % (lv, pyop, rs), "bool"
    # proto, af and the protocol names
    if op not in ("==", "!=", "eq", "ne"):
        raise A.ConfigError(e.pos, "%s can only be compared with == or !=" % name)
    code = "(_to_str(%s(ctx)).lower() == _to_str(%s).lower())" % (lget, rs)
    return ("(not %s)" % code if negate else code), "bool"
