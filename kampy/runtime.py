# SPDX-License-Identifier: GPL-2.0-or-later
"""The per-process runtime: compiled routes, sockets, $var, transport, APIs.

One Runtime exists in each process.  In the daemon it is built by the
supervisor before the fork and inherited by every child; in tests it is built
in-process with a transport that records what would have been sent.
"""

import logging
import os
import random
import time

from .script.context import Context, ScriptExit, Socket
from .module import REQUEST_ROUTE, CORE_REPLY_ROUTE

log = logging.getLogger("kampy")

# Kamailio's levels: debug=N in the config
L_ALERT, L_BUG, L_CRIT, L_ERR, L_WARN, L_NOTICE, L_INFO, L_DBG = -5, -4, -3, -1, 0, 1, 2, 3
LEVEL_NAMES = {
    "L_ALERT": L_ALERT, "L_BUG": L_BUG, "L_CRIT": L_CRIT, "L_ERR": L_ERR,
    "L_WARN": L_WARN, "L_NOTICE": L_NOTICE, "L_INFO": L_INFO, "L_DBG": L_DBG,
}
LEVEL_LABEL = {L_ALERT: "ALERT", L_BUG: "BUG", L_CRIT: "CRITICAL", L_ERR: "ERROR",
               L_WARN: "WARNING", L_NOTICE: "NOTICE", L_INFO: "INFO", L_DBG: "DEBUG"}
_PY_LEVEL = {L_ALERT: logging.CRITICAL, L_BUG: logging.CRITICAL, L_CRIT: logging.CRITICAL,
             L_ERR: logging.ERROR, L_WARN: logging.WARNING, L_NOTICE: logging.WARNING,
             L_INFO: logging.INFO, L_DBG: logging.DEBUG}


class Shv:
    """$shv storage.  The daemon swaps in a shared-memory backed one."""

    def __init__(self):
        self.d = {}

    def get(self, name):
        return self.d.get(name)

    def set(self, name, value):
        if value is None:
            self.d.pop(name, None)
        else:
            self.d[name] = value


class LocalCounters:
    """Counters of one process (in-process runs and before the fork).  The
    daemon replaces them with shared-memory counters of the same names and
    the same methods, summed over all processes."""

    def __init__(self):
        self.d = {}

    def declare(self, name):
        self.d.setdefault(name, 0)

    def inc(self, name, n=1):
        self.d[name] = self.d.get(name, 0) + n

    def get(self, name):
        return self.d[name]

    def reset(self, name):
        self.d[name] = 0

    def names(self):
        return list(self.d)

    def get_all(self):
        return dict(self.d)


class ComputedCounters:
    """Counters plus those a module computes when asked (Counter(fn=...)),
    e.g. from the states of records in a shared table."""

    def __init__(self, base, rt, computed: dict):
        self.base = base
        self.rt = rt
        self.computed = computed      # "group:name" -> fn(rt)
        self.inc = base.inc           # the hot path: no __getattr__ per count

    def __getattr__(self, name):
        return getattr(self.base, name)

    def get(self, name):
        fn = self.computed.get(name)
        return fn(self.rt) if fn is not None else self.base.get(name)

    def reset(self, name):
        if name not in self.computed:
            self.base.reset(name)

    def names(self):
        return self.base.names() + [n for n in self.computed if n not in self.base.names()]

    def get_all(self):
        out = self.base.get_all()
        for n, fn in self.computed.items():
            out[n] = fn(self.rt)
        return out


CORE_COUNTERS = (
    "core:rcv_requests", "core:rcv_replies", "core:fwd_requests", "core:fwd_replies",
    "core:drop_requests", "core:drop_replies", "core:err_requests", "core:err_replies",
    "core:bad_URIs_rcvd", "core:unsupported_methods", "core:bad_msg_hdr",
)


class LocalTable:
    """A dict with the shm Table's API, for in-process runs.  The daemon
    replaces it with a shared-memory table of the same name."""

    KEEP = object()
    DELETE = object()
    FULL = object()

    def __init__(self, name):
        self.name = name
        self.d = {}
        self.h = {}      # key -> (expires, flags)

    def insert(self, key, value, expires=0.0, flags=0, **fields):
        if key in self.d:
            return False
        self.d[key] = value
        self.h[key] = (expires, flags)
        return True

    def put(self, key, value, expires=0.0, flags=0, **fields):
        self.d[key] = value
        self.h[key] = (expires, flags)
        return True

    def get(self, key, default=None):
        return self.d.get(key, default)

    def header(self, key):
        if key not in self.d:
            return None
        return self.h.get(key, (0.0, 0))

    def update(self, key, fn, default=None, header=None):
        cur = self.d.get(key, default)
        if header is not None:
            header["expires"], header["flags"] = self.h.get(key, (0.0, 0)) if key in self.d else (0.0, 0)
        new = fn(cur)
        if new is self.DELETE:
            self.d.pop(key, None)
            self.h.pop(key, None)
        elif new is not self.KEEP:
            self.d[key] = new
            if header is not None:
                self.h[key] = (header["expires"], header["flags"])
        return new

    def delete(self, key):
        self.h.pop(key, None)
        return self.d.pop(key, None) is not None

    def items(self):
        return list(self.d.items())

    def __len__(self):
        return len(self.d)


class LocalTimers:
    """The timer wheel's API for in-process runs, with an explicit clock:
    tests arm timers and then `fire(rt, now_ms)` what is due."""

    def __init__(self):
        self.entries = []   # (due_ms, seq, kind, key, gen)
        self.seq = 0
        self.now_ms = 0

    def arm(self, delay_ms, kind, key, gen=0):
        self.seq += 1
        self.entries.append((self.now_ms + delay_ms, self.seq, kind, key, gen))
        return True

    def due(self, now_ms=None):
        now = self.now_ms if now_ms is None else now_ms
        self.entries.sort()
        out = []
        while self.entries and self.entries[0][0] <= now:
            _d, _s, kind, key, gen = self.entries.pop(0)
            out.append((kind, key, gen))
        return out

    def __len__(self):
        return len(self.entries)


class RecordingTransport:
    """A transport for in-process runs: keeps what would go on the wire."""

    def __init__(self):
        self.sent = []   # (socket, ip, port, bytes)

    def send(self, sock, ip, port, data: bytes):
        self.sent.append((sock, ip, port, data))
        return True


class Runtime:
    """Process-wide state shared by every script run in this process."""

    def __init__(self, script, transport=None):
        self.script = script                    # kampy.script.compiler.Script
        self.params = script.core_params        # core parameters, resolved
        self.sockets = script.sockets           # list[Socket]
        self.defines = script.defines
        self.modules = script.modules           # name -> Module
        self.transport = transport or RecordingTransport()
        self.vars = {}                          # $var: per process, kept across messages
        self.shv = Shv()
        self.start_time = int(time.time())
        self.rank = 0                           # process rank (0 = main / in-process)
        self.pid = os.getpid()
        self.debug = int(self.params.get("debug", L_WARN))
        self.random = random.Random()
        self._apis = {}
        self._myself = None
        self.server_header = self._server_value()
        self.tables = {}                        # name -> table (LocalTable or shm Table)
        self.timers = LocalTimers()
        self.timer_handlers = {}
        for mod in self.modules.values():
            for t in mod.tables:
                self.tables[t.name] = LocalTable(t.name)
            self.timer_handlers.update(mod.timer_handlers)
        self.counters = LocalCounters()         # "group:name" -> int
        for name in CORE_COUNTERS:
            self.counters.declare(name)
        for mod in self.modules.values():
            for c in mod.counters:
                if c.fn is None:
                    self.counters.declare("%s:%s" % (c.group, c.name))
        self.wrap_counters()

    def wrap_counters(self):
        """Put the computed counters of modules in front of self.counters."""
        computed = {"%s:%s" % (c.group, c.name): c.fn for m in self.modules.values()
                    for c in m.counters if c.fn is not None}
        if computed:
            base = self.counters.base if isinstance(self.counters, ComputedCounters) else self.counters
            self.counters = ComputedCounters(base, self, computed)

    def _server_value(self):
        """The Server header value of local replies (None: server_signature=no)."""
        if not self.params.get("server_signature", True):
            return None
        hdr = str(self.params.get("server_header") or "Server: kampy")
        return (hdr.split(":", 1)[1].strip() if ":" in hdr else hdr).encode()

    # --- for the RPC process ---------------------------------------------------------
    @property
    def version_text(self):
        from .cli import version_text
        return version_text().splitlines()[0]

    def procs(self) -> list:
        table = getattr(self, "proc_table", None)
        if table is None:
            return [{"IDX": 0, "PID": os.getpid(), "DSC": "kampy: main"}]
        return table.entries()

    def shm_stats(self) -> dict:
        arena = getattr(self, "arena", None)
        if arena is None:
            return {"total": 0, "free": 0, "used": 0, "real_used": 0, "max_used": 0, "fragments": 0}
        stats = getattr(arena, "stats", None)
        if stats is not None:
            return stats()
        # The tables' heaps are carved whole at startup; count what their
        # records hold instead, as Kamailio counts what its allocator gave out:
        # used = records' blocks, real_used = pages given to a size class,
        # max_used = pages ever touched (the high-water mark).
        used = real = touched = arena.used
        for t in list(getattr(self, "tables", {}).values()):
            mem = getattr(t, "mem_stats", None)
            if mem is None:
                continue
            st = mem()
            used += st["used_bytes"] - st["heap_bytes"]
            real -= st["free_pages"] * st["page_bytes"]
            touched += st["touched_bytes"] - st["heap_bytes"]
        return {"total": arena.size, "free": arena.size - used, "used": used,
                "real_used": real, "max_used": touched, "fragments": 0}

    def init_modules(self):
        """Run every module's mod_init (in the supervisor, before the fork)."""
        for mod in self.modules.values():
            if mod.mod_init is not None:
                mod.mod_init(self)

    # --- modules -------------------------------------------------------------------
    def now_ms(self) -> int:
        """The clock the timers use (monotonic ms; tests move LocalTimers.now_ms)."""
        t = self.timers
        if isinstance(t, LocalTimers):
            return t.now_ms
        return int(time.monotonic() * 1000)

    def fire_timers(self, now_ms=None):
        """Run every due timer handler (the timer process does this each tick)."""
        for kind, key, gen in self.timers.due(now_ms):
            fn = self.timer_handlers.get(kind)
            if fn is not None:
                try:
                    fn(self, key, gen)
                except Exception as e:
                    self.log(-1, "timer %s failed: %r" % (kind, e))

    def api(self, name):
        """The API object a module exports to others (declared dependency)."""
        a = self._apis.get(name)
        if a is None:
            mod = self.modules.get(name)
            if mod is None or mod.api is None:
                raise KeyError("module %s exports no API" % name)
            a = self._apis[name] = mod.api(self)
        return a

    def count(self, key, n=1):
        try:
            self.counters.inc(key, n)
        except KeyError:
            self.log(-1, "counter %s was not declared" % key)

    # --- logging -------------------------------------------------------------------
    def log(self, level: int, text: str, facility: str = "<core>"):
        if level > self.debug:
            return
        log.log(_PY_LEVEL.get(level, logging.INFO), " %d(%d) %s: %s: %s",
                self.rank, self.pid, LEVEL_LABEL.get(level, "INFO"), facility, text)

    # --- addresses -----------------------------------------------------------------
    def is_myself(self, host, port=None) -> bool:
        """`uri == myself`: host (and port, if given) is one of ours."""
        if self._myself is None:
            names = set()
            ports = set()
            for s in self.sockets:
                names.add(s.ip.lower())
                ports.add(s.port)
                if s.advertise_host:
                    names.add(s.advertise_host.lower())
                    ports.add(s.advertise_port or s.port)
            if not self.sockets:
                names.update(("127.0.0.1", "localhost"))
                ports.add(5060)
            for a in self.script.aliases:
                names.add(a[0].lower())
                if a[1]:
                    ports.add(a[1])
            self._myself = (names, ports)
        names, ports = self._myself
        if isinstance(host, bytes):
            host = host.decode("latin-1")
        host = host.lower()
        if host.startswith("["):
            host = host[1:-1]
        if host not in names:
            return False
        return port is None or port in ports or (not ports and port == 5060)

    def default_socket(self):
        return self.sockets[0] if self.sockets else Socket("udp", "127.0.0.1", 5060)

    # --- sending -------------------------------------------------------------------
    def send(self, sock, ip, port, data: bytes) -> bool:
        return self.transport.send(sock or self.default_socket(), ip, port, data)

    def reply_destination(self, ctx):
        """Where a reply to ctx.msg goes: RFC 3261 §18.2.2 and RFC 3581."""
        via = ctx.msg.via
        if via is None:
            return ctx.src_ip, ctx.src_port
        if via.rport is not None or ctx.force_rport:
            return ctx.src_ip, ctx.src_port
        if via.maddr:
            host = via.maddr.decode("latin-1")
        elif via.received:
            host = via.received.decode("latin-1")
        else:
            host = ctx.src_ip
        return host, via.port or 5060

    # --- running routes --------------------------------------------------------------
    def new_context(self, msg, src_ip="127.0.0.1", src_port=5060, proto="udp",
                    rcv=None, route_type=REQUEST_ROUTE) -> Context:
        return Context(self, msg, src_ip, src_port, proto, rcv or self.default_socket(),
                       route_type)

    def run_route(self, route, ctx) -> int:
        """Run a compiled route (request, failure, ...) to its end or an exit."""
        try:
            rc = route(ctx)
        except ScriptExit:
            rc = 0
        return 1 if rc is None else rc

    def run_request(self, ctx) -> int:
        return self.run_route(self.script.request_route, ctx)

    def run_reply(self, ctx) -> int:
        ctx.route_type = CORE_REPLY_ROUTE
        r = self.script.reply_route
        return self.run_route(r, ctx) if r is not None else 1
