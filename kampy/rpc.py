# SPDX-License-Identifier: GPL-2.0-or-later
"""JSON-RPC 2.0 over a Unix stream socket: the server side of `kampyctl`.

Three layers, each usable alone:

- `RpcRegistry` holds the methods (`module.verb` -> `fn(rt, *params)`), checks
  the arity of a call against the function's signature and turns failures into
  `RpcFault`s with Kamailio's HTTP-like codes (400 bad params, 404 not found,
  409 exists, 500 internal).
- `handle_request(rt, registry, data)` is sans-IO: bytes of one request (or a
  batch) in, bytes of the response out (b"" when nothing is to be answered).
- `bind_socket` / `serve_socket` / `serve` are the ctl process's loop.

Wire framing: a request is one JSON text ended by a newline, or by the client
shutting down its write side.  A newline inside a JSON text that is not yet
complete (pretty-printed requests) does not end it.  Each response is one
line: the JSON text and a newline.  Several requests on one connection are
answered in turn; clients are served one at a time.

The runtime interface the core methods use (the daemon provides it; tests use
a small fake):

    rt.version_text   str, e.g. "kampy 0.1.0 (x86_64/linux)" (optional;
                      default_version_text() when missing)
    rt.start_time     unix seconds when the daemon started
    rt.procs()        [{"IDX": rank, "PID": pid, "DSC": process title}, ...]
    rt.shm_stats()    {"total", "free", "used", "real_used", "max_used",
                       "fragments"}: ints, in bytes
    rt.counters       names() -> ["group:name", ...]; get(name) -> int;
                      reset(name); get_all() -> {"group:name": int}.
                      A plain dict {"group:name": int} is accepted too.
    rt.rpc            this registry (system.listMethods, system.methodHelp)
"""

import inspect
import json
import logging
import os
import platform
import re
import select
import socket
import stat
import sys
import time
from collections.abc import Mapping

from . import __version__

log = logging.getLogger("kampy.rpc")

MAX_REQUEST = 1 << 20       # bytes of one request (a batch counts as one)
IDLE_TIMEOUT = 5.0          # a client silent this long is dropped
POLL = 0.5                  # should_stop is checked at least this often
BACKLOG = 16

# JSON-RPC 2.0 error codes
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INTERNAL_ERROR = -32603


class RpcFault(Exception):
    """A failed RPC: `code` is HTTP-like (400, 404, 409, 500) or a JSON-RPC
    code, `message` the text kampyctl prints as `error: CODE - MESSAGE`."""

    def __init__(self, code: int, message: str):
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self):
        return "%d - %s" % (self.code, self.message)


class CtlSocketError(Exception):
    """The control socket cannot be set up (path in use, not a socket, ...)."""


# --- the registry ----------------------------------------------------------------------

class RpcRegistry:
    """RPC methods by name, in registration order (system.listMethods order)."""

    def __init__(self):
        self._methods = {}   # name -> (fn, signature or None, doc)

    def add(self, name: str, fn, doc: str = ""):
        """Register `fn(rt, *params)`; doc defaults to fn's docstring, whose first
        line is by convention the RPC signature (`cnt.get group [name]`)."""
        if not isinstance(name, str) or not name:
            raise ValueError("RPC method name must be a non-empty string")
        if name in self._methods:
            raise ValueError("RPC method %s is already registered" % name)
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None   # not introspectable: arity is left to the function
        self._methods[name] = (fn, sig, doc or inspect.getdoc(fn) or "")

    def add_all(self, rpcs):
        """Register module declarations (kampy.module.Rpc: name, fn, doc)."""
        for r in rpcs:
            self.add(r.name, r.fn, r.doc)

    def names(self) -> list:
        return list(self._methods)

    def __contains__(self, name) -> bool:
        return name in self._methods

    def help(self, name: str):
        """The first line of the method's doc ("" if undocumented); None if unknown."""
        entry = self._methods.get(name)
        if entry is None:
            return None
        doc = entry[2].strip()
        return doc.splitlines()[0].strip() if doc else ""

    def call(self, rt, name: str, params=None):
        """Run a method.  params: a list (positional) or a dict (keywords).
        Raises RpcFault: -32601 unknown method, 400 wrong parameters, the
        method's own faults, 500 with the text of any other exception."""
        entry = self._methods.get(name)
        if entry is None:
            raise RpcFault(METHOD_NOT_FOUND, "Method not found")
        fn, sig, _ = entry
        if params is None:
            args, kwargs = (), {}
        elif isinstance(params, Mapping):
            args, kwargs = (), dict(params)
        else:
            args, kwargs = tuple(params), {}
        if sig is not None:
            try:
                sig.bind(rt, *args, **kwargs)
            except TypeError as e:
                log.debug("rpc %s: %s", name, e)
                raise RpcFault(400, "Invalid parameters") from None
        try:
            return fn(rt, *args, **kwargs)
        except RpcFault:
            raise
        except Exception as e:
            log.error("rpc %s failed: %s", name, e, exc_info=True)
            raise RpcFault(500, str(e) or type(e).__name__) from None


# --- one request: bytes in, bytes out ------------------------------------------------------

def _error(rid, code: int, message: str) -> dict:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": rid}


def _valid_id(rid) -> bool:
    return rid is None or (isinstance(rid, (str, int, float)) and not isinstance(rid, bool))


def _dumps(obj) -> bytes:
    return json.dumps(obj, allow_nan=False).encode("utf-8")


def _parse(data: bytes):
    """-> (True, the decoded JSON value) or (False, None)."""
    try:
        return True, json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):   # bad JSON or UTF-8, huge int literal, deep nesting
        return False, None


def _run_one(rt, registry, req):
    """One request object -> response dict, or None for a notification."""
    if not isinstance(req, dict):
        return _error(None, INVALID_REQUEST, "Invalid Request")
    has_id = "id" in req
    rid = req.get("id")
    if has_id and not _valid_id(rid):
        return _error(None, INVALID_REQUEST, "Invalid Request")
    method = req.get("method")
    params = req.get("params", [])
    if (req.get("jsonrpc") != "2.0" or not isinstance(method, str)
            or not isinstance(params, (list, dict))):
        return _error(rid, INVALID_REQUEST, "Invalid Request")
    try:
        result = registry.call(rt, method, params)
    except RpcFault as f:
        return _error(rid, f.code, f.message) if has_id else None
    return {"jsonrpc": "2.0", "result": result, "id": rid} if has_id else None


def _checked(resp: dict) -> dict:
    """resp, or a 500 error when its result does not serialize to JSON."""
    try:
        json.dumps(resp, allow_nan=False)
        return resp
    except (TypeError, ValueError) as e:
        log.error("rpc: a result is not JSON: %s", e)
        return _error(resp.get("id"), 500, "result is not JSON: %s" % e)


def _respond(rt, registry, obj) -> bytes:
    if isinstance(obj, list):
        if not obj:
            return _dumps(_error(None, INVALID_REQUEST, "Invalid Request"))
        out = [_checked(r) for r in (_run_one(rt, registry, o) for o in obj) if r is not None]
        return _dumps(out) if out else b""
    resp = _run_one(rt, registry, obj)
    if resp is None:
        return b""
    try:
        return _dumps(resp)
    except (TypeError, ValueError):
        return _dumps(_checked(resp))


def handle_request(rt, registry, data: bytes) -> bytes:
    """Answer one JSON-RPC 2.0 request or batch; b"" when nothing is to be sent
    back (notifications).  Never raises, whatever the bytes."""
    try:
        if len(data) > MAX_REQUEST:
            return _dumps(_error(None, INVALID_REQUEST, "request too large"))
        ok, obj = _parse(data)
        if not ok:
            return _dumps(_error(None, PARSE_ERROR, "Parse error"))
        return _respond(rt, registry, obj)
    except Exception as e:   # a bug here must not take the ctl process down
        log.error("rpc: failed to answer a request: %s", e, exc_info=True)
        return _dumps(_error(None, INTERNAL_ERROR, "Internal error"))


# --- the socket ---------------------------------------------------------------------------

def _answers(path: str) -> bool:
    """True if a server accepts connections on the socket file at path."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
        return True
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except socket.timeout:
        return True          # a listener with a full backlog: alive
    except OSError as e:
        raise CtlSocketError("cannot check control socket %s: %s" % (path, e.strerror or e)) from e
    finally:
        probe.close()


def bind_socket(sock_path: str, mode: int = 0o660) -> socket.socket:
    """Bind and listen on a Unix stream socket at sock_path, chmod it to mode.
    A stale socket file (nothing answers) is replaced; a live one, or a path
    that is not a socket, raises CtlSocketError.  Run by the supervisor before
    it forks the ctl process, so a bad path fails startup."""
    try:
        st = os.lstat(sock_path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise CtlSocketError("control socket %s: %s" % (sock_path, e.strerror or e)) from e
    if st is not None:
        if not stat.S_ISSOCK(st.st_mode):
            raise CtlSocketError("control socket %s: the path exists and is not a socket"
                                 % sock_path)
        if _answers(sock_path):
            raise CtlSocketError("control socket %s is in use: another kampy is running "
                                 "and answering on it" % sock_path)
        log.info("removing stale control socket %s", sock_path)
        try:
            os.unlink(sock_path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise CtlSocketError("cannot remove stale control socket %s: %s"
                                 % (sock_path, e.strerror or e)) from e
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bound = False
    try:
        sock.bind(sock_path)
        bound = True
        os.chmod(sock_path, mode)
        sock.listen(BACKLOG)
    except OSError as e:
        sock.close()
        if bound:
            _unlink_socket(sock_path)
        raise CtlSocketError("cannot bind control socket %s: %s"
                             % (sock_path, e.strerror or e)) from e
    return sock


def _unlink_socket(path):
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass


class _Framer:
    """Cuts a byte stream into JSON texts.  A text ends at a newline where its
    brackets are balanced outside strings, so a pretty-printed request may span
    lines; each byte is looked at once.  The bytes scanned for are ASCII, which
    never occur inside a UTF-8 multi-byte sequence."""

    _TOKEN = re.compile(rb'[\[\]{}"\\\n]')

    def __init__(self):
        self.buf = bytearray()
        self.scanned = 0       # buf[:scanned] has been looked at
        self.skip = 0          # the byte before this offset is escaped (in a string)
        self.depth = 0
        self.in_str = False

    def feed(self, data: bytes) -> list:
        """Add data; return the texts it completes (blank ones left out)."""
        self.buf += data
        frames, start = [], 0
        for m in self._TOKEN.finditer(self.buf, self.scanned):
            i = m.start()
            if i < self.skip:
                continue
            c = self.buf[i]
            if c == 0x0A and (self.in_str or self.depth <= 0):   # a newline ends the text
                frames.append(bytes(self.buf[start:i + 1]))        # (in a string: invalid)
                start, self.depth, self.in_str = i + 1, 0, False
            elif self.in_str:
                if c == 0x5C:
                    self.skip = i + 2
                elif c == 0x22:
                    self.in_str = False
            elif c == 0x22:
                self.in_str = True
            elif c in b"[{":
                self.depth += 1
            elif c in b"]}":
                self.depth -= 1
        del self.buf[:start]
        self.skip = max(0, self.skip - start)
        self.scanned = len(self.buf)
        return [f for f in frames if f.strip()]


def _send(conn, data: bytes):
    if data:
        conn.sendall(data + b"\n")


def _serve_client(conn, registry, rt, should_stop):
    """Answer the requests of one connection until it ends, stays silent for
    IDLE_TIMEOUT, sends too much, or should_stop() says so."""
    conn.settimeout(IDLE_TIMEOUT)          # bounds sendall to a client that does not read
    framer = _Framer()
    too_large = _dumps(_error(None, INVALID_REQUEST, "request too large"))
    deadline = time.monotonic() + IDLE_TIMEOUT
    while not should_stop():
        left = deadline - time.monotonic()
        if left <= 0:
            log.debug("rpc: dropping a client silent for %.0f s", IDLE_TIMEOUT)
            return
        ready, _, _ = select.select([conn], [], [], min(POLL, left))
        if not ready:
            continue
        chunk = conn.recv(65536)
        if not chunk:                      # the client shut down its write side
            if framer.buf.strip():
                _send(conn, handle_request(rt, registry, bytes(framer.buf)))
            return
        deadline = time.monotonic() + IDLE_TIMEOUT
        for frame in framer.feed(chunk):
            if len(frame) > MAX_REQUEST:
                _send(conn, too_large)
                return
            _send(conn, handle_request(rt, registry, frame))
        if len(framer.buf) > MAX_REQUEST:
            _send(conn, too_large)
            return


def serve_socket(listen_sock, registry, rt, should_stop=lambda: False, unlink=False):
    """Serve clients one at a time on an already bound and listening socket
    until should_stop() is true (checked every POLL seconds).  Closes the
    socket on exit and, with unlink=True, removes its file (the supervisor,
    which keeps the socket across ctl restarts, removes it itself)."""
    try:
        path = listen_sock.getsockname()
    except OSError:
        path = None
    listen_sock.setblocking(False)
    try:
        while not should_stop():
            ready, _, _ = select.select([listen_sock], [], [], POLL)
            if not ready:
                continue
            try:
                conn, _ = listen_sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue
            except OSError as e:           # EMFILE and the like: wait, then retry
                log.error("rpc: accept failed: %s", e)
                time.sleep(POLL)
                continue
            try:
                _serve_client(conn, registry, rt, should_stop)
            except OSError as e:
                log.debug("rpc: client connection ended: %s", e)
            except Exception as e:
                log.error("rpc: client handling failed: %s", e, exc_info=True)
            finally:
                conn.close()
    finally:
        listen_sock.close()
        if unlink and isinstance(path, str) and path:
            _unlink_socket(path)


def serve(sock_path, registry, rt, should_stop=lambda: False, mode=0o660):
    """Bind sock_path (see bind_socket), serve until should_stop(), then close
    and remove the socket file."""
    sock = bind_socket(sock_path, mode)
    serve_socket(sock, registry, rt, should_stop, unlink=True)


# --- core methods ---------------------------------------------------------------------------

def default_version_text() -> str:
    return "kampy %s (%s/%s)" % (__version__, platform.machine() or "unknown",
                                 sys.platform)


class _DictCounters:
    """The counters interface over a plain {"group:name": int} dict."""

    def __init__(self, d):
        self.d = d

    def names(self):
        return list(self.d)

    def get(self, name):
        return self.d[name]

    def reset(self, name):
        self.d[name] = 0

    def get_all(self):
        return dict(self.d)


def _counters(rt):
    c = rt.counters
    return _DictCounters(c) if isinstance(c, Mapping) else c


def _table(rt):
    """[(group, name, value)]: groups sorted, names in the counters' order."""
    rows = []
    for key, value in _counters(rt).get_all().items():
        group, _, name = key.partition(":")
        rows.append((group, name, value))
    return sorted(rows, key=lambda r: r[0])   # stable: names keep their order


def _select(rows, selector: str):
    """The rows one stats selector picks: `all`, `group:`, `group:name`, `name`."""
    if selector == "all":
        return list(rows)
    if selector.endswith(":"):
        return [r for r in rows if r[0] == selector[:-1]]
    if ":" in selector:
        group, _, name = selector.partition(":")
        return [r for r in rows if r[0] == group and r[1] == name]
    return [r for r in rows if r[1] == selector]


def _stat_line(group, name, value) -> str:
    return "%s:%s = %s" % (group, name, value)


def core_version(rt):
    """core.version
    The daemon's version string."""
    return getattr(rt, "version_text", None) or default_version_text()


def core_uptime(rt):
    """core.uptime
    now and up_since (ctime), uptime (seconds)."""
    now = int(time.time())
    start = int(rt.start_time)
    return {"now": time.ctime(now), "up_since": time.ctime(start), "uptime": now - start}


def core_psx(rt):
    """core.psx
    The processes: IDX (rank), PID, DSC (title)."""
    return [{"IDX": p["IDX"], "PID": p["PID"], "DSC": p["DSC"]} for p in rt.procs()]


_UNITS = {"b": 0, "k": 10, "kb": 10, "m": 20, "mb": 20, "g": 30, "gb": 30}


def core_shmmem(rt, unit="b"):
    """core.shmmem [unit]
    Shared memory: total, free, used, real_used, max_used, fragments; sizes
    in bytes, or in the unit given (b, k, m, g)."""
    shift = _UNITS.get(str(unit).lower())
    if shift is None:
        raise RpcFault(400, "Invalid unit %s (use b, k, m or g)" % unit)
    st = rt.shm_stats()
    out = {}
    for key in ("total", "free", "used", "real_used", "max_used", "fragments"):
        v = int(st.get(key, 0))
        out[key] = v if key == "fragments" else v >> shift
    return out


def core_echo(rt, *params):
    """core.echo [value ...]
    Returns its parameters."""
    return list(params)


def system_list_methods(rt):
    """system.listMethods
    The names of all RPC methods."""
    return rt.rpc.names()


def system_method_help(rt, name=None):
    """system.methodHelp method
    The help text (signature) of a method."""
    if name is None:
        raise RpcFault(400, "Method Name Expected")
    text = rt.rpc.help(str(name))
    if text is None:
        raise RpcFault(400, "command not found")
    return text or "undocumented"


def stats_get_statistics(rt, *selectors):
    """stats.get_statistics all|group:|group:name|name ...
    "group:name = value" lines of the selected counters (unknown ones are
    left out, as Kamailio does)."""
    if not selectors:
        raise RpcFault(400, "Please provide which stats to retrieve")
    rows = _table(rt)
    return [_stat_line(*r) for s in selectors for r in _select(rows, str(s))]


def stats_reset_statistics(rt, *selectors):
    """stats.reset_statistics all|group:|group:name|name ...
    Resets the selected counters; returns nothing."""
    if not selectors:
        raise RpcFault(400, "Please provide which stats to reset")
    rows = _table(rt)
    counters = _counters(rt)
    for s in selectors:
        for g, n, _ in _select(rows, str(s)):
            counters.reset("%s:%s" % (g, n))


def _counter_key(rt, group, name) -> str:
    key = "%s:%s" % (group, name)
    if key not in _counters(rt).names():
        raise RpcFault(400, "non-existent counter %s.%s" % (group, name))
    return key


def cnt_get(rt, group, name=None):
    """cnt.get group [name]
    A counter's value; with only a group, the group's counters (cnt.grp_get_all)."""
    if name is None:
        return cnt_grp_get_all(rt, group)
    return _counters(rt).get(_counter_key(rt, group, name))


def cnt_reset(rt, group, name):
    """cnt.reset group name
    Sets a counter to 0."""
    _counters(rt).reset(_counter_key(rt, group, name))


def cnt_grp_get_all(rt, group):
    """cnt.grp_get_all group
    {name: value} of a group's counters (empty for an unknown group, as Kamailio)."""
    return {n: v for g, n, v in _table(rt) if g == str(group)}


def cnt_get_all(rt):
    """cnt.get_all
    {group: {name: value}} of every counter."""
    out = {}
    for g, n, v in _table(rt):
        out.setdefault(g, {})[n] = v
    return out


def cnt_grps_list(rt):
    """cnt.grps_list
    The counter group names."""
    return list(dict.fromkeys(g for g, _, _ in _table(rt)))


def cnt_var_list(rt, group):
    """cnt.var_list group
    The counter names of a group."""
    return [n for g, n, _ in _table(rt) if g == str(group)]


CORE_METHODS = (
    ("core.version", core_version),
    ("core.uptime", core_uptime),
    ("core.psx", core_psx),
    ("core.shmmem", core_shmmem),
    ("core.echo", core_echo),
    ("system.listMethods", system_list_methods),
    ("system.methodHelp", system_method_help),
    ("stats.get_statistics", stats_get_statistics),
    ("stats.reset_statistics", stats_reset_statistics),
    ("cnt.get", cnt_get),
    ("cnt.reset", cnt_reset),
    ("cnt.grp_get_all", cnt_grp_get_all),
    ("cnt.get_all", cnt_get_all),
    ("cnt.grps_list", cnt_grps_list),
    ("cnt.var_list", cnt_var_list),
)


def core_methods(registry: RpcRegistry) -> RpcRegistry:
    """Register the core methods (Kamailio's names) in registry."""
    for name, fn in CORE_METHODS:
        registry.add(name, fn)
    return registry
