# SPDX-License-Identifier: GPL-2.0-or-later
"""Run the real daemon and real sipp on loopback, with bounded waits.

Every test picks free ports, and stops what it started even when it fails.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"


def free_udp_port() -> int:
    """A UDP port nobody uses on 127.0.0.1 (and whose TCP twin is free too,
    since sipp opens both)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            t.close()
            u.close()
        return port
    raise RuntimeError("no free port")


def stop_group(proc, timeout):
    """SIGTERM a daemon started in its own session, SIGKILL it after timeout,
    then SIGKILL whatever of its process group is left."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # nothing may be left
    except (ProcessLookupError, PermissionError):
        pass


def wait_for(pred, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Kampy:
    """A kampy daemon in the foreground (-D -E) with its own port and RPC socket."""

    def __init__(self, tmp_path, cfg_body, children=2, port=None, extra_args=(), defines=None):
        self.dir = pathlib.Path(tmp_path)
        self.port = port or free_udp_port()
        self.ctl = str(self.dir / "kampy_ctl")
        self.cfg = self.dir / "kampy.cfg"
        head = ("#!KAMAILIO\nlisten=udp:127.0.0.1:%d\nchildren=%d\nrpc_socket=\"unix:%s\"\n"
                "log_stderror=yes\ndebug=2\nshm_mem=64\n" % (self.port, children, self.ctl))
        self.cfg.write_text(head + cfg_body)
        self.log = self.dir / "kampy.log"
        self.args = list(extra_args)
        self.defines = defines or {}
        self.proc = None

    def start(self, wait=True):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        cmd = [sys.executable, "-m", "kampy.cli", "-f", str(self.cfg), "-D", "-E"] + self.args
        for k, v in self.defines.items():
            cmd += ["-A", k if v is None else "%s=%s" % (k, v)]
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if wait:
            ok = wait_for(lambda: self.proc.poll() is not None or self.ready(), 20)
            if self.proc.poll() is not None or not ok:
                self.stop()
                raise RuntimeError("kampy did not start:\n" + self.log.read_text(errors="replace"))
        return self

    def ready(self):
        if not os.path.exists(self.ctl):
            return False
        try:
            return len(self.rpc("core.psx")) >= 3
        except Exception:
            return False

    def rpc(self, method, *params, timeout=5):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.ctl)
            s.sendall(json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params),
                                  "id": 1}).encode() + b"\n")
            buf = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                try:
                    resp = json.loads(buf)
                    break
                except ValueError:
                    continue
        finally:
            s.close()
        if "error" in resp:
            raise RuntimeError("rpc error %s" % resp["error"])
        return resp.get("result")

    def kampyctl(self, *args, timeout=20):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.run([sys.executable, "-m", "kampy.ctl", "-s", "unix:" + self.ctl] + list(args),
                              capture_output=True, text=True, cwd=str(ROOT), env=env, timeout=timeout)

    def pids(self):
        return [p["PID"] for p in self.rpc("core.psx")]

    def worker_pids(self):
        return [p["PID"] for p in self.rpc("core.psx") if "udp receiver" in p["DSC"]]

    def stop(self, timeout=5):
        if self.proc is None:
            return None
        stop_group(self.proc, timeout)
        self.logf.close()
        return self.proc.returncode

    def output(self):
        return self.log.read_text(errors="replace")


def sipp(args, timeout=60, cwd=None):
    """Run sipp to completion (it must stop by itself: -m and -timeout)."""
    from toolcheck import require_tool
    exe = require_tool("sipp")
    cmd = [exe] + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def send_udp(port, data: bytes, timeout=2.0, expect_reply=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    try:
        s.sendto(data, ("127.0.0.1", port))
        if not expect_reply:
            return None
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None
    finally:
        s.close()


def options(port, callid="c1", branch="z9hG4bKt1", local_port=None):
    return (b"OPTIONS sip:ping@127.0.0.1:%d SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"
            b"From: <sip:tester@127.0.0.1>;tag=t1\r\n"
            b"To: <sip:ping@127.0.0.1>\r\n"
            b"Call-ID: %s\r\n"
            b"CSeq: 1 OPTIONS\r\n"
            b"Max-Forwards: 70\r\n"
            b"Content-Length: 0\r\n\r\n" % (port, local_port or 5060, branch.encode(), callid.encode()))
