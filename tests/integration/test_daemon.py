# SPDX-License-Identifier: GPL-2.0-or-later
"""The real daemon on loopback: OPTIONS with sipp, restarts, lock recovery,
clean shutdown, garbage storms, RPC through kampyctl, startup failures."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from harness import (ROOT, SCENARIOS, Kampy, free_udp_port, options, send_udp, sipp,
                     wait_for)
from kampy.sip import parse

OPTIONS_CFG = """
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "xlog.so"

request_route {
    if (!mf_process_maxfwd_header("10")) {
        sl_send_reply("483", "Too Many Hops");
        exit;
    }
    if (is_method("OPTIONS")) {
        $shv(seen) = $shv(seen) + 1;
        sl_send_reply("200", "OK");
        exit;
    }
    sl_send_reply("404", "Not here");
}
"""


@pytest.fixture
def daemon(tmp_path):
    started = []

    def start(cfg=OPTIONS_CFG, **kw):
        k = Kampy(tmp_path, cfg, **kw).start()
        started.append(k)
        return k
    yield start
    for k in started:
        k.stop()


@pytest.mark.parametrize("children", [1, 4])
def test_options_answered_by_sipp(daemon, tmp_path, children):
    k = daemon(children=children)
    sport = free_udp_port()
    r = sipp(["127.0.0.1:%d" % k.port, "-sf", SCENARIOS / "options_uac.xml", "-m", 200, "-r", 100,
              "-i", "127.0.0.1", "-p", sport, "-timeout", "30s", "-timeout_error", "-trace_stat",
              "-nostdin"], timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:] + k.output()[-2000:]
    assert len(k.worker_pids()) == children
    assert k.rpc("core.psx")[0]["DSC"] == "kampy: main"


def test_reply_headers_and_received(daemon):
    k = daemon()
    data = send_udp(k.port, options(k.port, local_port=5099))
    assert data is not None
    m = parse(data)
    assert m.status == 200
    assert m.via.received == b"127.0.0.1" and m.via.rport not in (None, b"")
    assert m.to.tag


def test_killed_worker_is_restarted_and_answers(daemon):
    k = daemon(children=2)
    before = k.worker_pids()
    os.kill(before[0], signal.SIGKILL)
    t0 = time.time()
    assert wait_for(lambda: before[0] not in k.worker_pids() and len(k.worker_pids()) == 2, 5)
    for i in range(20):
        assert send_udp(k.port, options(k.port, callid="k%d" % i, branch="z9hG4bKk%d" % i)) is not None
    assert time.time() - t0 < 5
    assert "restarting" in k.output()


def test_worker_killed_holding_a_lock_does_not_freeze_others(daemon, tmp_path):
    mod = tmp_path / "holdlock.py"
    mod.write_text(
        "from kampy.module import Func, Module\n"
        "import os, time\n"
        "def hold(ctx) -> int:\n"
        "    t = ctx.rt.shv.table\n"
        "    t.locks.acquire(t.lock_index('seen'))\n"
        "    open(%r, 'w').write(str(os.getpid()))\n"
        "    time.sleep(60)\n"
        "    return 1\n"
        "exports = Module(name='holdlock', functions=[Func('hold', hold)])\n" % str(tmp_path / "holder.pid"))
    cfg = OPTIONS_CFG.replace('loadmodule "xlog.so"', 'loadmodule "xlog.so"\nloadmodule "%s"' % mod)
    cfg = cfg.replace('    if (is_method("OPTIONS")) {', '    if ($rU == "hold") { hold(); }\n    if (is_method("OPTIONS")) {')
    k = daemon(cfg, children=2)
    hold = options(k.port, callid="hold").replace(b"sip:ping@", b"sip:hold@")
    send_udp(k.port, hold, expect_reply=False)
    pidfile = tmp_path / "holder.pid"
    assert wait_for(pidfile.exists, 5)
    time.sleep(0.1)
    os.kill(int(pidfile.read_text()), signal.SIGKILL)
    answered = 0
    for i in range(10):
        if send_udp(k.port, options(k.port, callid="after%d" % i, branch="z9hG4bKa%d" % i), timeout=3):
            answered += 1
    assert answered == 10, k.output()[-3000:]
    assert "released" in k.output()


def test_sigterm_leaves_nothing_behind(daemon):
    k = daemon(children=3)
    pids = k.pids()
    assert len(pids) == 3 + 3
    t0 = time.time()
    os.kill(k.proc.pid, signal.SIGTERM)
    k.proc.wait(5)
    assert time.time() - t0 < 2.5
    assert k.proc.returncode == 0
    assert not os.path.exists(k.ctl)
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"


def test_sighup_is_ignored(daemon):
    k = daemon()
    os.kill(k.proc.pid, signal.SIGHUP)
    time.sleep(0.3)
    assert k.proc.poll() is None
    assert send_udp(k.port, options(k.port)) is not None
    assert "SIGHUP" in k.output()


def test_garbage_storm_mixed_with_options(daemon):
    k = daemon(children=2)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    port = s.getsockname()[1]
    garbage = [b"", b"\x00" * 10, b"INVITE", b"SIP/2.0 200 OK\r\n\r\n", os.urandom(200),
               b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKg\r\nContent-Length: 99\r\n\r\n",
               b"INVITE sip:a@b SIP/2.0\r\nVia: bad via\r\nCSeq: x\r\n\r\n"]
    sent = 0
    for i in range(300):
        s.sendto(garbage[i % len(garbage)], ("127.0.0.1", k.port))
        if i % 10 == 0:
            s.sendto(options(k.port, callid="g%d" % i, branch="z9hG4bKg%d" % i, local_port=port),
                     ("127.0.0.1", k.port))
            sent += 1
    got = set()
    deadline = time.time() + 10
    while time.time() < deadline and len(got) < sent:
        try:
            data = s.recvfrom(65535)[0]
        except socket.timeout:
            break
        m = parse(data)
        if m.status == 200:
            got.add(m.call_id)
    s.close()
    assert len(got) == sent
    stats = k.rpc("stats.get_statistics", "core:")
    err = [x for x in stats if x.startswith("core:err_requests")]
    assert err and int(err[0].split("=")[1]) > 0


def test_bad_request_answered_400(daemon):
    k = daemon()
    bad = (b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKb\r\n"
           b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: bad1\r\nCSeq: 1 OPTIONS\r\n"
           b"Content-Length: 50\r\n\r\nshort")
    data = send_udp(k.port, bad)
    assert data is not None and data.startswith(b"SIP/2.0 400 ")
    assert b"Call-ID: bad1" in data


def test_rpc_through_kampyctl(daemon):
    k = daemon(children=2)
    send_udp(k.port, options(k.port))
    out = k.kampyctl("core.version")
    assert out.returncode == 0 and "kampy" in out.stdout
    out = k.kampyctl("core.psx")
    assert "kampy: udp receiver child=0 sock=udp:127.0.0.1:%d" % k.port in out.stdout
    assert "kampy: timer" in out.stdout and "kampy: ctl handler" in out.stdout
    assert wait_for(lambda: "sl:200_replies = 1" in k.kampyctl("stats.get_statistics", "all").stdout, 5)
    out = k.kampyctl("stats.get_statistics", "sl:")
    assert "sl:200_replies = 1" in out.stdout and "core:" not in out.stdout
    out = k.kampyctl("cnt.get", "sl", "200_replies")
    assert out.stdout.strip() == "1"
    out = k.kampyctl("cnt.grp_get_all", "sl")
    assert out.stdout.startswith("{") and "200_replies: 1" in out.stdout
    out = k.kampyctl("cnt.reset", "sl", "200_replies")
    assert out.returncode == 0
    assert k.kampyctl("cnt.get", "sl", "200_replies").stdout.strip() == "0"
    for m in ("core.uptime", "core.shmmem", "system.listMethods", "cnt.get_all"):
        out = k.kampyctl(m)
        assert out.returncode == 0, (m, out.stdout, out.stderr)
    out = k.kampyctl("core.echo", "s:12", "5", "x")
    assert out.stdout.split() == ["12", "5", "x"]
    out = k.kampyctl("no.such.method")
    assert out.returncode != 0 and out.stdout.startswith("error: ")
    out = k.kampyctl("--json", "core.psx")
    assert out.returncode == 0 and '"PID"' in out.stdout


def test_counters_move_and_shv_is_shared(daemon):
    k = daemon(children=4)
    for i in range(30):
        assert send_udp(k.port, options(k.port, callid="s%d" % i, branch="z9hG4bKs%d" % i))
    def stats():
        return {a: int(b) for a, b in (x.split(" = ") for x in k.rpc("stats.get_statistics", "all"))}
    # a worker counts a reply just after sending it: allow it a moment
    assert wait_for(lambda: stats()["sl:200_replies"] == 30, 5), stats()
    assert stats()["core:rcv_requests"] == 30
    k2 = k.kampyctl("stats.get_statistics", "rcv_requests")
    assert "core:rcv_requests = 30" in k2.stdout


def _start_fail(tmp_path, cfg, args=()):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = tmp_path / "f.cfg"
    p.write_text(cfg)
    t0 = time.time()
    r = subprocess.run([sys.executable, "-m", "kampy.cli", "-f", str(p), "-D", "-E"] + list(args),
                       capture_output=True, text=True, cwd=str(ROOT), env=env, timeout=20)
    return r, time.time() - t0


def test_startup_failures_are_one_clear_line(tmp_path):
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    port = busy.getsockname()[1]
    ctl = tmp_path / "ctl"
    try:
        r, dt = _start_fail(tmp_path, 'listen=udp:127.0.0.1:%d\nrpc_socket="unix:%s"\n'
                            'loadmodule "sl"\nrequest_route { sl_send_reply("200","OK"); }\n' % (port, ctl))
    finally:
        busy.close()
    assert r.returncode != 0
    assert "cannot listen on udp:127.0.0.1:%d" % port in r.stderr
    assert not ctl.exists()
    r, dt = _start_fail(tmp_path, 'request_route { nosuch(); }\n')
    assert r.returncode != 0 and "f.cfg:1:17: unknown function 'nosuch'" in r.stderr
    r, dt = _start_fail(tmp_path, 'listen=udp:127.0.0.1:%d\nrpc_socket="unix:%s"\nrequest_route { exit; }\n'
                        % (free_udp_port(), ctl), ["-m", "1"])
    assert r.returncode != 0 and "shared memory too small" in r.stderr, r.stderr
    assert dt < 5 and not ctl.exists()
    r, dt = _start_fail(tmp_path, 'request_route { exit; }\n', ["-m", "0"])
    assert r.returncode != 0 and "at least 1 MB" in r.stderr


def test_children_exit_when_the_supervisor_is_killed(daemon):
    k = daemon(children=2)
    pids = [p for p in k.pids() if p != k.proc.pid]
    os.kill(k.proc.pid, signal.SIGKILL)
    k.proc.wait(5)

    def gone():
        return all(not os.path.exists("/proc/%d" % p) or
                   open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()[0] == "Z" for p in pids)
    assert wait_for(gone, 5)


def test_daemonizes_with_pidfile(tmp_path):
    port = free_udp_port()
    ctl = tmp_path / "ctl"
    pidfile = tmp_path / "kampy.pid"
    cfg = tmp_path / "d.cfg"
    cfg.write_text('listen=udp:127.0.0.1:%d\nrpc_socket="unix:%s"\nchildren=1\nshm_mem=32\n'
                   'loadmodule "sl"\nrequest_route { sl_send_reply("200", "OK"); }\n' % (port, ctl))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(tmp_path / "out.log", "wb") as out:
        t0 = time.time()
        r = subprocess.run([sys.executable, "-m", "kampy.cli", "-f", str(cfg), "-P", str(pidfile), "-E"],
                           stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT), env=env, timeout=30)
    assert r.returncode == 0
    assert wait_for(pidfile.exists, 5)
    pid = int(pidfile.read_text())
    try:
        assert wait_for(ctl.exists, 10)
        assert send_udp(port, options(port)) is not None
        assert os.getsid(pid) != os.getsid(0)   # its own session: detached from the terminal
    finally:
        os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: not os.path.exists("/proc/%d" % pid), 5)
    assert not pidfile.exists() and not ctl.exists()


def test_command_line_overrides_listen_and_children(tmp_path):
    port = free_udp_port()
    k = Kampy(tmp_path, OPTIONS_CFG, children=1, extra_args=["-n", "3", "-l", "udp:127.0.0.1:%d" % port])
    k.start()
    try:
        assert len(k.worker_pids()) == 3
        assert send_udp(port, options(port)) is not None
        assert send_udp(k.port, options(k.port), timeout=0.5) is None   # the config's listen is replaced
    finally:
        k.stop()


def test_ipv6_listen(daemon, tmp_path):
    port = free_udp_port()
    k = daemon(OPTIONS_CFG.replace("request_route", "listen=udp:[::1]:%d\nrequest_route" % port))
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::1", 0))
    s.settimeout(3)
    try:
        req = (b"OPTIONS sip:ping@[::1]:%d SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:%d;branch=z9hG4bK6;rport\r\n"
               b"From: <sip:t@[::1]>;tag=1\r\nTo: <sip:ping@[::1]>\r\nCall-ID: v6\r\nCSeq: 1 OPTIONS\r\n"
               b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n" % (port, s.getsockname()[1]))
        s.sendto(req, ("::1", port))
        data = s.recvfrom(65535)[0]
    finally:
        s.close()
    m = parse(data)
    assert m.status == 200 and m.via.received == b"::1"


def test_child_that_fails_to_boot_stops_the_daemon(tmp_path):
    mod = tmp_path / "badboot.py"
    mod.write_text("from kampy.module import Module\n"
                   "def child_init(rt, rank):\n"
                   "    if rank == 1:\n"
                   "        raise RuntimeError('no database')\n"
                   "exports = Module(name='badboot', child_init=child_init)\n")
    k = Kampy(tmp_path, 'loadmodule "%s"\nrequest_route { exit; }\n' % mod, children=2)
    k.start(wait=False)
    try:
        k.proc.wait(10)
    finally:
        k.stop()
    assert k.proc.returncode != 0
    out = k.output()
    assert "child_init failed" in out and "failed to boot; stopping" in out
    assert not os.path.exists(k.ctl)


def test_shv_is_shared_between_workers(daemon):
    cfg = OPTIONS_CFG.replace('sl_send_reply("200", "OK");', 'sl_send_reply("200", "seen $shv(seen)");')
    k = daemon(cfg, children=4)
    reasons = []
    for i in range(12):
        data = send_udp(k.port, options(k.port, callid="shv%d" % i, branch="z9hG4bKshv%d" % i))
        reasons.append(parse(data).reason)
    assert reasons == [b"seen %d" % n for n in range(1, 13)]


def test_reply_forwarded_statelessly_by_second_via(daemon):
    k = daemon()
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.bind(("127.0.0.1", 0))
    up.settimeout(3)
    try:
        reply = (b"SIP/2.0 200 OK\r\n"
                 b"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKours\r\n"
                 b"Via: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKtheirs;received=127.0.0.1;rport=%d\r\n"
                 b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: fwd1\r\nCSeq: 1 OPTIONS\r\n"
                 b"Content-Length: 0\r\n\r\n" % (k.port, up.getsockname()[1]))
        send_udp(k.port, reply, expect_reply=False)
        data = up.recvfrom(65535)[0]
        # not ours on top: dropped
        send_udp(k.port, reply.replace(b"127.0.0.1:%d;branch=z9hG4bKours" % k.port,
                                       b"192.0.2.1:5060;branch=z9hG4bKx"), expect_reply=False)
        with pytest.raises(socket.timeout):
            up.settimeout(0.5)
            up.recvfrom(65535)
    finally:
        up.close()
    m = parse(data)
    assert [v.branch for v in m.vias] == [b"z9hG4bKtheirs"]
    assert m.call_id == b"fwd1"
    assert wait_for(lambda: "core:fwd_replies = 1" in k.rpc("stats.get_statistics", "core:"), 3)


def test_log_lines_look_like_kamailio(daemon):
    cfg = OPTIONS_CFG.replace('if (is_method("OPTIONS")) {', 'xnotice("options from $si\\n");\n    if (is_method("OPTIONS")) {')
    k = daemon(cfg, children=1)
    send_udp(k.port, options(k.port))
    pid = k.worker_pids()[0]
    assert wait_for(lambda: " 1(%d) NOTICE: <script>: options from 127.0.0.1" % pid in k.output(), 3), k.output()
