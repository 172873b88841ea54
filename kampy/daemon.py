# SPDX-License-Identifier: GPL-2.0-or-later
"""The supervisor: build shared state, bind sockets, fork, watch, stop.

Theory of operation (gunicorn's arbiter is the model).  Everything that can
fail fails before the first fork, with one line on stderr: module init, the
shared-memory arena, the UDP sockets, the RPC socket.  Then the supervisor
forks `children` UDP receivers per listen socket, the timer process, the ctl
(RPC) process and any process a module asks for, and sits in a loop.
Signal handlers only queue the signal and wake the loop; the loop dispatches
to handle_chld / handle_term / handle_hup.  A child that dies is logged,
the locks it held are released, and it is started again; a child that fails
to boot (exit code 3) stops the daemon instead of looping.  SIGTERM/SIGINT:
children get SIGTERM (then SIGKILL after a grace period), the RPC socket file
and the pid file are removed, exit 0.  The shared memory is an anonymous
mapping: nothing is left behind.
"""

import gc
import os
import select
import signal
import socket
import struct
import sys
import time

from . import log as klog
from .runtime import Runtime
from .script.context import Socket
from .script import coreparams

BOOT_FAILED = 3
GRACE = 1.5

_PROC_FMT = struct.Struct("<ii120s")   # idx, pid, title


class StartupError(Exception):
    pass


class ProcTable:
    """The process list in shared memory, for core.psx from the ctl process.

    Layout: n entries of (int32 idx, int32 pid, 120-byte title, NUL padded)."""

    def __init__(self, arena, n):
        self.n = n
        self.buf = arena.region(_PROC_FMT.size * n)

    def set(self, idx, pid, title):
        _PROC_FMT.pack_into(self.buf, idx * _PROC_FMT.size, idx, pid,
                            title.encode("utf-8", "replace")[:120])

    def entries(self):
        out = []
        for i in range(self.n):
            idx, pid, title = _PROC_FMT.unpack_from(self.buf, i * _PROC_FMT.size)
            if pid:
                out.append({"IDX": idx, "PID": pid, "DSC": title.rstrip(b"\0").decode("utf-8", "replace")})
        return out


def set_title(title):
    try:
        import setproctitle
        setproctitle.setproctitle(title)
    except ImportError:
        pass


class Child:
    """What the supervisor knows of one child process."""

    def __init__(self, idx, kind, title, target, rank):
        self.idx = idx
        self.kind = kind
        self.title = title
        self.target = target     # function run in the child: target(rt)
        self.rank = rank         # Kamailio-style rank for child_init
        self.pid = 0
        self.started = 0.0


class Supervisor:
    def __init__(self, script, opts):
        self.script = script
        self.opts = opts
        self.children = []
        self.signals = []
        self.pipe = None
        self.stopping = False
        self.rpc_path = None
        self.rpc_sock = None
        self.bound = []
        self.rt = None
        self.exit_code = 0

    # --- startup -----------------------------------------------------------------------
    def prepare(self):
        s = self.script
        o = self.opts
        params = s.core_params
        if o.listen:
            socks = []
            for text in o.listen:
                try:
                    proto, host, port = coreparams.parse_socket(text, params.get("port", 5060))
                except ValueError as e:
                    raise StartupError("-l %s: %s" % (text, e))
                socks.append(Socket("udp", host, port))
            s.sockets = socks
        if not s.sockets:
            s.sockets = [Socket("udp", "127.0.0.1", int(params.get("port", 5060)))]
        if o.children is not None:
            params["children"] = o.children
        if o.shm_mb is not None:
            params["shm_mem"] = o.shm_mb
        klog.setup(params, stderr=o.stderr or params.get("log_stderror") or o.foreground and o.stderr)
        rt = self.rt = Runtime(s)
        rt.rank = 0
        try:
            rt.init_modules()
        except Exception as e:
            raise StartupError("module initialisation failed: %s" % e)
        self.make_shared(rt)
        self.bind_udp(rt)
        self.bind_rpc(rt)

    def make_shared(self, rt):
        from . import shm
        mb = int(self.script.core_params.get("shm_mem", 64))
        if mb < 1:
            raise StartupError("shared memory size must be at least 1 MB (shm_mem / -m)")
        try:
            arena = shm.Arena(mb * 1024 * 1024)
        except (OSError, ValueError, shm.ShmError) as e:
            raise StartupError("cannot create %d MB of shared memory: %s" % (mb, e))
        rt.arena = arena
        nchildren = int(self.script.core_params.get("children", 8))
        nprocs = 1 + nchildren * len(self.script.sockets) + 2 + sum(len(m.procs) for m in rt.modules.values())
        self.nprocs = nprocs
        try:
            rt.proc_table = ProcTable(arena, nprocs)
            base = getattr(rt.counters, "base", rt.counters)
            counters = shm.Counters(arena, base.names(), nprocs)
            shv_table = shm.Table(arena, "shv", buckets=256, nlocks=8, heap_bytes=256 * 1024)
            from .timer import NamedTimers
            rt.timers = NamedTimers(shm.TimerWheel(arena), rt.timer_handlers)
        except shm.ShmError as e:
            raise StartupError("shared memory too small (shm_mem=%d MB): %s" % (mb, e))
        rt.counters = counters
        rt.wrap_counters()
        rt.shv = shm.SharedVars(shv_table)
        try:
            for mod in rt.modules.values():
                for t in mod.tables:
                    buckets, heap = t.size_fn(rt)
                    rt.tables[t.name] = shm.Table(arena, t.name, buckets=buckets, nlocks=t.nlocks,
                                                  heap_bytes=heap, header_fields=t.header_fields)
        except shm.ShmError as e:
            raise StartupError("shared memory too small (shm_mem=%d MB) for module tables: %s" % (mb, e))

    def bind_udp(self, rt):
        for sock in self.script.sockets:
            family = socket.AF_INET6 if ":" in sock.ip else socket.AF_INET
            host = "" if sock.ip in ("*", "0.0.0.0") else sock.ip
            if sock.ip == "*":
                sock.ip = "0.0.0.0"
            fd = socket.socket(family, socket.SOCK_DGRAM)
            try:
                fd.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            except OSError:
                pass
            try:
                fd.bind((host, sock.port))
            except OSError as e:
                fd.close()
                raise StartupError("cannot listen on %s: %s" % (sock, e.strerror or e))
            self.bound.append((sock, fd))
        from .worker import UdpTransport
        rt.transport = UdpTransport(self.bound)

    def rpc_socket_path(self):
        s = self.script
        path = None
        ctl = s.modules.get("ctl")
        if ctl is not None and ctl.params is not None and getattr(ctl.params, "binrpc", None):
            vals = ctl.params.binrpc
            path = vals[0] if isinstance(vals, list) and vals else vals
        if not path:
            path = s.core_params.get("rpc_socket") or "unix:/tmp/kampy_ctl"
        path = str(path)
        if path.startswith("unix:"):
            path = path[5:]
        elif ":" in path and not path.startswith("/"):
            raise StartupError("rpc socket %r: only unix:/path sockets are supported" % path)
        return path

    def bind_rpc(self, rt):
        from . import rpc
        path = self.rpc_socket_path()
        try:
            self.rpc_sock = rpc.bind_socket(path, 0o660)
        except Exception as e:
            raise StartupError("RPC socket: %s" % e)
        self.rpc_path = path
        reg = rpc.RpcRegistry()
        rpc.core_methods(reg)
        for mod in rt.modules.values():
            for r in mod.rpcs:
                reg.add(r.name, r.fn, r.doc or (r.fn.__doc__ or ""))
        rt.rpc = reg

    # --- children ----------------------------------------------------------------------
    def plan(self):
        rt = self.rt
        idx = 1
        rank = 1
        n = int(self.script.core_params.get("children", 8))
        for sock, fd in self.bound:
            for i in range(n):
                title = "kampy: udp receiver child=%d sock=%s" % (i, sock)
                self.children.append(Child(idx, "udp", title, _udp_target(sock, fd), rank))
                idx += 1
                rank += 1
        self.children.append(Child(idx, "timer", "kampy: timer", _timer_target, -1))
        idx += 1
        self.children.append(Child(idx, "ctl", "kampy: ctl handler", _ctl_target(self.rpc_sock), -2))
        idx += 1
        prank = -3
        for mod in rt.modules.values():
            for p in mod.procs:
                self.children.append(Child(idx, "module", p.title or "kampy: %s" % p.name,
                                           _module_target(p), prank))
                idx += 1
                prank -= 1

    def spawn(self, child):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                code = self.child_main(child)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        child.pid = pid
        child.started = time.time()
        self.rt.proc_table.set(child.idx, pid, child.title)

    def child_main(self, child) -> int:
        _die_with_parent(self.main_pid)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if self.pipe:
            for fd in self.pipe:
                os.close(fd)
        rt = self.rt
        rt.rank = child.idx
        rt.pid = os.getpid()
        rt.random.seed(os.urandom(16))
        rt.counters.set_slot(child.idx)
        set_title(child.title)
        try:
            for mod in rt.modules.values():
                if mod.child_init is not None:
                    mod.child_init(rt, child.rank)
        except Exception as e:
            rt.log(-3, "child_init failed in %s: %s" % (child.title, e))
            return BOOT_FAILED
        try:
            child.target(rt)
        except Exception as e:
            rt.log(-3, "%s died: %r" % (child.title, e))
            return 1
        return 0

    # --- the loop ---------------------------------------------------------------------
    def run(self) -> int:
        self.main_pid = os.getpid()
        self.pipe = os.pipe()
        for fd in self.pipe:
            os.set_blocking(fd, False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, self.on_signal)
        self.plan()
        self.rt.proc_table.set(0, os.getpid(), "kampy: main")
        gc.collect()
        gc.freeze()
        for child in self.children:
            self.spawn(child)
        self.rt.log(1, "kampy started: %d processes, listening on %s" % (
            len(self.children) + 1, ", ".join(str(s) for s, _ in self.bound)))
        while not self.stopping:
            try:
                select.select([self.pipe[0]], [], [], 1.0)
            except InterruptedError:
                pass
            try:
                os.read(self.pipe[0], 4096)
            except BlockingIOError:
                pass
            while self.signals:
                sig = self.signals.pop(0)
                if sig == signal.SIGCHLD:
                    self.handle_chld()
                elif sig in (signal.SIGTERM, signal.SIGINT):
                    self.stopping = True
                elif sig == signal.SIGHUP:
                    self.rt.log(1, "SIGHUP received and ignored")
            self.handle_chld()
        self.shutdown()
        return self.exit_code

    def on_signal(self, sig, frame):
        self.signals.append(sig)
        try:
            os.write(self.pipe[1], b"x")
        except OSError:
            pass

    def handle_chld(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = next((c for c in self.children if c.pid == pid), None)
            if child is None:
                continue
            try:
                n = self.rt.arena.recover(pid)
                if n:
                    self.rt.log(0, "released %d lock(s) held by dead process %d" % (n, pid))
            except Exception as e:
                self.rt.log(-1, "lock recovery for process %d failed: %r" % (pid, e))
            if self.stopping:
                continue
            if os.WIFEXITED(status):
                code = os.WEXITSTATUS(status)
                how = "exited with code %d" % code
            else:
                code = None
                how = "was killed by signal %d" % os.WTERMSIG(status)
            if code == BOOT_FAILED:
                self.rt.log(-3, "%s (pid %d) failed to boot; stopping" % (child.title, pid))
                self.exit_code = 1
                self.stopping = True
                continue
            self.rt.log(-1, "%s (pid %d) %s; restarting it" % (child.title, pid, how))
            self.spawn(child)

    def shutdown(self):
        for c in self.children:
            if c.pid:
                try:
                    os.kill(c.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + GRACE
        alive = {c.pid for c in self.children if c.pid}
        while alive and time.time() < deadline:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                alive.discard(pid)
            else:
                time.sleep(0.02)
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self.cleanup()
        self.rt.log(1, "kampy stopped")

    def cleanup_quiet(self):
        """After a failed start: close what was opened, remove the socket file."""
        for _s, fd in self.bound:
            fd.close()
        if self.rpc_sock is not None:
            self.rpc_sock.close()
            try:
                os.unlink(self.rpc_path)
            except (OSError, TypeError):
                pass

    def cleanup(self):
        if self.rpc_sock is not None:
            try:
                self.rpc_sock.close()
            except OSError:
                pass
        if self.rpc_path:
            try:
                os.unlink(self.rpc_path)
            except FileNotFoundError:
                pass
        for _s, fd in self.bound:
            fd.close()
        if self.opts.pidfile:
            try:
                os.unlink(self.opts.pidfile)
            except FileNotFoundError:
                pass
        mods = self.rt.modules.values() if self.rt else ()
        for mod in mods:
            if mod.destroy is not None:
                try:
                    mod.destroy(self.rt)
                except Exception:
                    pass


def _die_with_parent(main_pid):
    """Ask Linux to SIGTERM this child when the supervisor dies, even by
    SIGKILL, so no orphan keeps serving with stale shared state."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != main_pid:
        os._exit(0)


def _udp_target(sock, fd):
    def target(rt):
        from .worker import serve_udp
        serve_udp(rt, sock, fd, lambda: False)
    return target


def _timer_target(rt):
    from .timer import run_timer
    run_timer(rt)


def _ctl_target(listen_sock):
    def target(rt):
        from . import rpc
        rpc.serve_socket(listen_sock, rt.rpc, rt)
    return target


def _module_target(proc):
    def target(rt):
        proc.fn(rt, rt.rank)
    return target


def daemonize(pidfile):
    """Detach (double fork).  The first process exits 0 once the daemon says
    it is up, or 1 with the daemon's error line."""
    r, w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(w)
        msg = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            msg += chunk
        os._exit(0 if msg.startswith(b"ok") else 1)
    os.close(r)
    os.setsid()
    if os.fork():
        os._exit(0)
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    if pidfile:
        with open(pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    return w


def run(script, opts) -> int:
    """`kampy -f FILE [-D] ...`: start and serve until SIGTERM/SIGINT."""
    sup = Supervisor(script, opts)
    try:
        sup.prepare()
    except StartupError as e:
        sys.stderr.write("kampy: %s\n" % e)
        sup.cleanup_quiet()
        return 1
    notify = None
    if not opts.foreground:
        notify = daemonize(opts.pidfile)
    elif opts.pidfile:
        with open(opts.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    if notify is not None:
        os.write(notify, b"ok")
        os.close(notify)
        if not (opts.stderr or script.core_params.get("log_stderror")):
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
    return sup.run()
