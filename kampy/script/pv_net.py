# SPDX-License-Identifier: GPL-2.0-or-later
"""Where a message came from and where it goes: $Rn, $rcv(key), $snd(key),
$sndto(key), $sndfrom(key), $nh(key).

$snd/$sndto/$sndfrom read the send in progress, which exists only while
onsend_route runs: whoever runs it puts an onsend_info() dict in ctx.event
(kampy.script.core_funcs.run_onsend does).  Elsewhere they are $null, as in
Kamailio.  $rcv gives the received datagram and its addresses; Kamailio
fills it only in event_route[core:msg-received], kampy in every route that
handles a received message.
"""

import socket

from ..sip import ParseError, parse_uri
from .ast import ConfigError
from .pv import FuncPV, b2s, fixed_name

PROTO_UDP = 1   # Kamailio's PROTO_UDP, what $snd(proto) and $rcv(proto) give


def onsend_info(sock, to_ip, to_port, data: bytes) -> dict:
    """The ctx.event of an onsend_route run: the local socket, the
    destination and the bytes about to be sent."""
    return {"onsend": True, "snd_ip": sock.ip, "snd_port": sock.port,
            "to_ip": to_ip, "to_port": to_port, "proto": sock.proto, "buf": data}


def _af(ip) -> int:
    return socket.AF_INET6 if ":" in (ip or "") else socket.AF_INET


def _snd(ctx):
    e = ctx.event
    return e if isinstance(e, dict) and e.get("onsend") else None


def _snd_fields(local: bool):
    ip = "snd_ip" if local else "to_ip"
    port = "snd_port" if local else "to_port"
    return {
        "ip": lambda e: e[ip],
        "port": lambda e: e[port],
        "af": lambda e: _af(e[ip]),
        "proto": lambda e: PROTO_UDP,
        "buf": lambda e: b2s(e["buf"]),
        "len": lambda e: len(e["buf"]),
    }


def _snd_factory(local: bool):
    fields = _snd_fields(local)

    def factory(spec, resolve):
        name = fixed_name(spec)
        field = fields.get(name)
        if field is None:
            raise ConfigError(spec.pos, "unknown $%s field %r (one of %s)"
                              % (spec.name, name, ", ".join(fields)))

        def get(ctx):
            e = _snd(ctx)
            return None if e is None else field(e)
        return FuncPV(spec, get)
    return factory


def _rcv_fields():
    def rcv(fn):
        def get(ctx):
            s = ctx.rcv
            return None if s is None else fn(ctx, s)
        return get

    def buf(ctx):
        m = ctx.msg
        return None if m is None else b2s(m.raw)
    return {
        "buf": buf,
        "len": lambda ctx: None if ctx.msg is None else len(ctx.msg.raw),
        "srcip": lambda ctx: ctx.src_ip,
        "srcport": lambda ctx: ctx.src_port,
        "rcvip": rcv(lambda ctx, s: s.ip),
        "rcvport": rcv(lambda ctx, s: s.port),
        "proto": lambda ctx: PROTO_UDP,
        "sproto": lambda ctx: (ctx.proto or "udp").lower(),
        "af": lambda ctx: _af(ctx.src_ip),
    }


_RCV = _rcv_fields()


def _rcv_factory(spec, resolve):
    name = fixed_name(spec)
    fn = _RCV.get(name)
    if fn is None:
        raise ConfigError(spec.pos, "unknown $rcv field %r (one of %s)" % (name, ", ".join(_RCV)))
    return FuncPV(spec, fn)


def _nh_uri(ctx):
    """The next hop of a request: $du, else the current R-URI."""
    msg = ctx.msg
    if msg is None or not msg.is_request:
        return None
    return ctx.du or b2s(msg.ruri)


def _nh_parsed(fn):
    def get(ctx):
        u = _nh_uri(ctx)
        if u is None:
            return None
        try:
            return fn(parse_uri(u.encode("utf-8", "surrogateescape")))
        except ParseError:
            return None
    return get


def _nh_port(u):
    return u.port if u.port is not None else 5060


def _nh_proto(u):
    t = u.param(b"transport")
    return "udp" if t is None else b2s(t)


_NH = {
    "u": _nh_uri,
    "U": _nh_parsed(lambda u: b2s(u.user) if u.user else None),
    "d": _nh_parsed(lambda u: b2s(u.host) if u.host else None),
    "p": _nh_parsed(_nh_port),
    "P": _nh_parsed(_nh_proto),
}


def _nh_factory(spec, resolve):
    name = fixed_name(spec)
    fn = _NH.get(name)
    if fn is None:
        raise ConfigError(spec.pos, "unknown $nh field %r (one of u, U, d, p, P)" % name)
    return FuncPV(spec, fn)


def _Rn_factory(spec, resolve):
    if spec.inner is not None or spec.index is not None:
        raise ConfigError(spec.pos, "$Rn takes no name in parentheses")
    return FuncPV(spec, lambda ctx: None if ctx.rcv is None else ctx.rcv.name)


NET_PVS = {
    "Rn": _Rn_factory,
    "rcv": _rcv_factory,
    "snd": _snd_factory(False),
    "sndto": _snd_factory(False),
    "sndfrom": _snd_factory(True),
    "nh": _nh_factory,
}
