# SPDX-License-Identifier: GPL-2.0-or-later
"""The ctl parameters, checked when the config is read."""

import re

from kampy.module import Param, ParamValues

DEFAULT_SOCKET = "unix:/run/kamailio/kamailio_ctl"
_SOCK_RE = re.compile(r"(?:(unix|unixs|unixd|udp|tcp):)?(.+)\Z", re.I)


def parse_binrpc(text: str):
    """`unix:/tmp/kamailio_ctl`, `udp:1.2.3.4:2046`, `tcp:*:2049`, or a bare
    path (unix) -> (proto, address, port or None).  ValueError otherwise."""
    m = _SOCK_RE.match(text.strip())
    if m is None or not m.group(2):
        raise ValueError("bad binrpc socket %r" % text)
    proto = (m.group(1) or ("unix" if m.group(2).startswith("/") else "udp")).lower()
    addr = m.group(2)
    if proto.startswith("unix"):
        return "unix", addr, None
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("bad binrpc socket %r: expected %s:host:port" % (text, proto))
    return proto, host.strip("[]"), int(port)


def _check_binrpc(v):
    parse_binrpc(v)
    return v


def _octal(v):
    """Kamailio writes the mode in octal (0600); the config reader gives the
    digits as a decimal number, so they are read again as octal."""
    s = str(v).strip()
    if s.lower().startswith("0o"):
        s = s[2:]
    if not s or any(c not in "01234567" for c in s):
        raise ValueError("mode must be octal digits, like 0600, not %r" % v)
    n = int(s, 8)
    if n > 0o7777:
        raise ValueError("mode %r is too large" % v)
    return n


def _positive(v):
    if v <= 0:
        raise ValueError("must be positive")
    return v


P = ParamValues([
    Param("binrpc", str, multi=True, check=_check_binrpc,
          doc="a control socket: unix:/path, udp:host:port or tcp:host:port"),
    Param("mode", str, 0o600, check=_octal, doc="permissions of a unix socket (octal)"),
    Param("user", str, "", doc="owner of a unix socket"),
    Param("group", str, "", doc="group of a unix socket"),
    Param("fifo", str, "", doc="accepted; kampy has no FIFO control interface"),
    Param("autoconversion", int, 0, doc="accepted"),
    Param("binrpc_buffer_size", int, 1024, check=_positive),
    Param("binrpc_max_body_size", int, 32, check=_positive, doc="in KB"),
    Param("binrpc_struct_max_body_size", int, 8, check=_positive, doc="in KB"),
])


def sockets():
    """The configured sockets, the default one when none is: what the daemon opens."""
    return [parse_binrpc(s) for s in (P.binrpc or [DEFAULT_SOCKET])]
