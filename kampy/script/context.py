# SPDX-License-Identifier: GPL-2.0-or-later
"""What a route sees while it handles one message.

A Context lives for one run of the script over one message (or one
transaction event).  Per-process state ($var, the sockets, the transport,
module APIs) lives in the Runtime (`ctx.rt`); per-message state (flags, AVPs,
destination URI, branches, return code) lives here.
"""

from dataclasses import dataclass
from typing import Optional

from ..module import REQUEST_ROUTE


class ScriptExit(BaseException):
    """`exit`, `drop`, or a function returning 0: stop the script for this
    message.  BaseException, so a module's `except Exception` cannot swallow it."""


@dataclass(slots=True)
class Socket:
    """A listening socket as the config names it."""
    proto: str            # "udp"
    ip: str               # "127.0.0.1", "::1"
    port: int
    advertise_host: Optional[str] = None
    advertise_port: Optional[int] = None
    name: Optional[str] = None

    @property
    def af(self) -> str:
        return "INET6" if ":" in self.ip else "INET"

    @property
    def host(self) -> str:
        """The address for our Via/Record-Route: advertised one if set."""
        h = self.advertise_host or self.ip
        return "[%s]" % h if ":" in h and not h.startswith("[") else h

    @property
    def public_port(self) -> int:
        return self.advertise_port or self.port

    def __str__(self):
        ip = "[%s]" % self.ip if ":" in self.ip else self.ip
        return "%s:%s:%d" % (self.proto, ip, self.port)


@dataclass(slots=True)
class Branch:
    """An additional destination added by append_branch() / lookup()."""
    uri: str
    du: Optional[str] = None
    path: Optional[str] = None
    q: Optional[float] = None
    flags: int = 0
    socket: Optional[Socket] = None
    ruid: Optional[str] = None


class Avps:
    """AVP store: name -> list of values, the most recently added first,
    as Kamailio reads them ($avp(x) is the last value set)."""

    __slots__ = ("d",)

    def __init__(self):
        self.d = {}

    def add(self, name, value):
        lst = self.d.get(name)
        if lst is None:
            self.d[name] = [value]
        else:
            lst.insert(0, value)

    def get(self, name, index=0):
        lst = self.d.get(name)
        if not lst:
            return None
        try:
            return lst[index]
        except IndexError:
            return None

    def all(self, name) -> list:
        return list(self.d.get(name, ()))

    def delete(self, name, index=None):
        if index is None:
            self.d.pop(name, None)
            return
        lst = self.d.get(name)
        if lst:
            try:
                del lst[index]
            except IndexError:
                pass
            if not lst:
                del self.d[name]

    def replace(self, name, value, index=0):
        lst = self.d.get(name)
        if not lst:
            self.d[name] = [value]
        else:
            try:
                lst[index] = value
            except IndexError:
                lst.append(value)

    def clear(self):
        self.d.clear()

    def copy(self):
        a = Avps()
        a.d = {k: list(v) for k, v in self.d.items()}
        return a


class Context:
    """Per-message state of one script run."""

    __slots__ = (
        "rt", "msg", "route_type", "src_ip", "src_port", "proto", "rcv",
        "flags", "bflags", "avps", "xavps", "du", "branches", "rc", "dropped",
        "reply", "t", "data", "send_socket", "event", "force_rport",
        "local_rport", "t0", "msg_id",
    )

    def __init__(self, rt, msg, src_ip="127.0.0.1", src_port=5060, proto="udp",
                 rcv=None, route_type=REQUEST_ROUTE):
        self.rt = rt
        self.msg = msg
        self.route_type = route_type
        self.src_ip = src_ip
        self.src_port = src_port
        self.proto = proto
        self.rcv = rcv
        self.flags = 0
        self.bflags = 0
        self.avps = Avps()
        self.xavps = {}
        self.du = None
        self.branches = []
        self.rc = 1
        self.dropped = False
        self.reply = None      # the reply being handled (failure/onreply routes)
        self.t = None          # the transaction, when tm has one
        self.data = {}         # per-message data of modules, by module name
        self.send_socket = None
        self.event = None      # event_route data (name, values)
        self.force_rport = False
        self.local_rport = False
        self.t0 = None         # arrival time (for $TV-like PVs), set by the receiver
        self.msg_id = 0        # $mi: a per-process sequence number, set by the receiver
